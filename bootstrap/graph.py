"""Topological layering of a dependency graph. Generic over hashable nodes; pure."""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from typing import TypeVar

from bootstrap.errors import CycleError

N = TypeVar("N", bound=Hashable)


def find_cycle(edges: Mapping[N, Iterable[N]]) -> list[N] | None:
    """Return one cycle (in dependency order) or None."""
    white, grey, black = 0, 1, 2
    colour: dict[N, int] = dict.fromkeys(edges, white)
    stack: list[N] = []

    def visit(node: N) -> list[N] | None:
        colour[node] = grey
        stack.append(node)
        for dep in edges.get(node, ()):
            if dep not in colour:
                continue
            if colour[dep] == grey:
                return stack[stack.index(dep) :]
            if colour[dep] == white:
                found = visit(dep)
                if found:
                    return found
        stack.pop()
        colour[node] = black
        return None

    for node in sorted(edges, key=str):
        if colour[node] == white:
            found = visit(node)
            if found:
                return found
    return None


def waves(nodes: Iterable[N], edges: Mapping[N, Iterable[N]]) -> list[list[N]]:
    """Layer ``nodes`` so each node comes after every dependency in ``edges`` among ``nodes``.

    Edges to nodes outside ``nodes`` are ignored (they are satisfied elsewhere). Each wave is
    sorted for a stable output. Raises ``CycleError`` naming the cycle.
    """
    members = list(dict.fromkeys(nodes))
    inside = set(members)
    deps = {n: {d for d in edges.get(n, ()) if d in inside and d != n} for n in members}
    for node in members:
        if node in set(edges.get(node, ())):
            raise CycleError([str(node)])
    done: set[N] = set()
    layers: list[list[N]] = []
    while len(done) < len(members):
        ready = [n for n in members if n not in done and deps[n] <= done]
        if not ready:
            rest = {n: deps[n] for n in members if n not in done}
            cycle = find_cycle(rest) or sorted(rest, key=str)
            raise CycleError([str(n) for n in cycle])
        layers.append(sorted(ready, key=str))
        done.update(ready)
    return layers
