"""Where in the compose files a model path is written: ``services.db.ports[0]`` ->
``compose.yaml:12``. Read from the files' outline (``bootstrap.outline``; PyYAML's nodes where
the outline cannot tell), in the file that has the value in effect (the last of the ``-f``
files that writes it, or the ``include:``d file that defines it).

Only asked when something is to be reported, so a clean run never parses YAML twice.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bootstrap.outline import Flow, Leaf, Map, Node, Seq, Unsure, outline

_STEP = re.compile(r"\[(\d+)\]$")
# The keys a compose file has at its top, where a model path begins.
_TOP_LEVEL = frozenset(
    {"services", "networks", "volumes", "configs", "secrets", "include", "name", "models"}
)


@dataclass
class Locator:
    """The compose files of a workspace, outlined on first use."""

    directory: Path
    files: Sequence[str]
    _parsed: list[tuple[Path, Node]] | None = field(default=None, repr=False)

    def _documents(self) -> list[tuple[Path, Node]]:
        if self._parsed is None:
            parsed: list[tuple[Path, Node]] = []
            seen: set[Path] = set()
            pending = [self.directory / f for f in self.files]
            while pending:
                path = pending.pop(0).resolve()
                if path in seen or not path.is_file():
                    continue
                seen.add(path)
                try:
                    text = path.read_text(encoding="utf-8")
                except (OSError, UnicodeDecodeError):
                    continue
                node = outline(text) or _by_pyyaml(text)
                if node is None:
                    continue
                parsed.append((path, node))
                if "include" in text or "extends" in text:
                    pending += [path.parent / p for p in referenced_files(text)]
            self._parsed = parsed
        return self._parsed

    def locate(self, location: str) -> str | None:
        """``file:line`` of the model path ``location``, or None where no file writes it; a
        key the files do not write (``services.db.volumes`` of a service without volumes) is
        placed at the nearest one they do (``services.db``), never at the top of a file."""
        if location.split(".", 1)[0].split("[", 1)[0] not in _TOP_LEVEL:
            return None  # not a model path (a file's name, a flag): no file writes it
        found = None
        path_ = location
        while found is None and "." in path_:
            for index, (path, outlined) in enumerate(self._documents()):
                try:
                    line = _find(outlined, path_)
                except Unsure:  # into what the outline did not read: PyYAML's nodes, then
                    node = _by_pyyaml(path.read_text(encoding="utf-8")) or Map(1, [])
                    self._documents()[index] = (path, node)
                    line = _find(node, path_)
                if line is not None and (found is None or path_ == location):
                    # a later file overrides a value: keep the last; a parent: the first
                    found = f"{self._shown(path)}:{line}"
            path_ = path_.rsplit(".", 1)[0]
        return found

    def _shown(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.directory.resolve()))
        except ValueError:
            return str(path)


def _by_pyyaml(text: str) -> Node | None:
    """PyYAML's nodes of ``text`` as an outline (libyaml's parser where PyYAML has it: the
    same nodes and marks, 15x sooner), or None where it cannot read it."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        node = yaml.compose(text, Loader=loader)
    except yaml.YAMLError:
        return None
    return None if node is None else as_outline(node)


def as_outline(node: Any) -> Node:
    """A PyYAML node as an outline: keys as text, lines 1-based."""
    import yaml

    line = int(node.start_mark.line) + 1
    if isinstance(node, yaml.MappingNode):
        return Map(
            line,
            [(str(k.value), int(k.start_mark.line) + 1, as_outline(v)) for k, v in node.value],
        )
    if isinstance(node, yaml.SequenceNode):
        return Seq(line, [as_outline(item) for item in node.value])
    return Leaf(line, str(node.value))


def _key_step(node: Map, rest: str) -> tuple[str, int, Node] | None:
    """The longest key of a mapping that ``rest`` starts with (a key may hold dots, as
    labels do): (key, its line, its value)."""
    best = None
    for key, line, value in node.pairs:
        fits = rest == key or rest.startswith((key + ".", key + "["))
        if fits and (best is None or len(key) > len(best[0])):
            best = (key, line, value)
    return best


def _in_list(node: Seq, rest: str) -> int | None:
    """A list form of a mapping (labels, environment): the line of ``- key=value``."""
    for item in node.items:
        if not isinstance(item, Leaf):
            continue
        if item.text is None:
            raise Unsure
        if item.text == rest or item.text.startswith(rest + "="):
            return item.line
    return None


def _find(node: Node, location: str) -> int | None:
    """The 1-based line of ``location`` under ``node``: dotted keys, ``[n]`` for list items,
    labels and environment in their list form too. Raises ``Unsure`` where the way leads into
    what the outline did not read."""
    rest, current = location, node
    while rest:
        if isinstance(current, Flow):
            raise Unsure
        if isinstance(current, Seq):
            return _in_list(current, rest)
        if not isinstance(current, Map):
            return None
        step = _key_step(current, rest)
        if step is None:
            return None
        key, key_line, current = step
        rest = rest[len(key) :].lstrip(".")
        index = _STEP.match(rest.split(".", 1)[0]) if rest.startswith("[") else None
        if index and isinstance(current, Flow):
            raise Unsure
        if index and isinstance(current, Seq):
            position = int(index.group(1))
            if position >= len(current.items):
                return key_line
            current = current.items[position]
            key_line = current.line
            rest = rest[len(index.group(0)) :].lstrip(".")
        if not rest:
            return key_line
    return None


def yaml_problem(directory: Path, files: Sequence[str]) -> tuple[str, str] | None:
    """(``file:line:column``, the problem) of the first compose file YAML cannot read, or
    None: compose names line 1 where the mistake is later in the file."""
    import yaml

    for name in files:
        path = directory / name
        try:
            yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark
            where = f"{name}:{mark.line + 1}:{mark.column + 1}" if mark else name
            return where, str(exc.problem or exc)
        except (yaml.YAMLError, OSError, UnicodeDecodeError):
            continue
    return None


def referenced_files(text: str) -> list[str]:
    """The files a compose text includes (``include:`` in its three forms) or extends from."""
    import yaml

    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError:
        return []  # compose reports the file's own error
    if not isinstance(document, dict):
        return []
    names: list[str] = []
    for entry in document.get("include") or []:
        if isinstance(entry, str):
            names.append(entry)
        elif isinstance(entry, dict):
            path = entry.get("path")
            names += (
                [path] if isinstance(path, str) else [p for p in path or [] if isinstance(p, str)]
            )
    for service in (document.get("services") or {}).values():
        extends = service.get("extends") if isinstance(service, dict) else None
        if isinstance(extends, dict) and isinstance(extends.get("file"), str):
            names.append(extends["file"])
    return names
