"""The floor plan, checked: imports point one way (no cycle, function-local imports
included), the click layer parses and renders while the library owns the verbs, every
backend folder has the same files, a probe kind is asked of the registry (never compared as a
string), and docs/architecture.md names every module."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "bootstrap"


def modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def imported(tree: ast.AST, module: str, known: dict[str, Path]) -> Iterator[str]:
    """Every module of the package ``module`` imports, wherever the import stands."""
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = module.split(".")
                if known[module].name != "__init__.py":
                    package = package[:-1]
                package = package[: len(package) - node.level + 1]
                base = ".".join([*package, base] if base else package)
            names = [f"{base}.{alias.name}" for alias in node.names] + [base]
        for written in names:
            name = written
            while name and name not in known and "." in name:
                name = name.rsplit(".", 1)[0]
            if name in known and name != module:
                yield name


def graph() -> dict[str, set[str]]:
    known = modules()
    return {
        name: set(imported(ast.parse(path.read_text()), name, known))
        for name, path in known.items()
    }


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in edges[node]:
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in edges:
        if node not in index:
            visit(node)
    return found


def test_no_import_cycle_hidden_or_not() -> None:
    assert cycles(graph()) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


# What `up`, `down` and `supervise` need that is orchestration: the library's to use.
ORCHESTRATION = {
    "bootstrap.runrecord",
    "bootstrap.caches",
    "bootstrap.frozen",
    "bootstrap.lock",
    "bootstrap.otel",
    "bootstrap.scheduler",
    "bootstrap.discovery.client",
    "bootstrap.backends.docker",
}
VERBS = {
    "bootstrap.cli.lifecycle": ("up", "down"),
    "bootstrap.cli.supervise": (
        "supervise",
        "supervise_stack",
        "supervise_until",
        "supervise_in_stack",
    ),
}


@pytest.mark.parametrize("module", sorted(VERBS))
def test_the_click_layer_calls_the_library_for_its_verbs(module: str) -> None:
    known = modules()
    tree = ast.parse(known[module].read_text())
    runtime_level = [
        node
        for node in tree.body
        if isinstance(node, (ast.Import, ast.ImportFrom))  # not under TYPE_CHECKING
    ]
    verbs = [
        node
        for node in tree.body
        if isinstance(node, ast.FunctionDef) and node.name in VERBS[module]
    ]
    assert len(verbs) == len(VERBS[module])
    used: set[str] = set()
    for node in [*runtime_level, *verbs]:
        used |= set(imported(ast.Module(body=[node], type_ignores=[]), module, known))
    wrong = {
        name
        for name in used
        if name in ORCHESTRATION
        or name.startswith(("bootstrap.backends.compose", "bootstrap.backends.swarm"))
    }
    assert wrong == set(), f"{module} orchestrates with {sorted(wrong)}: move it to lifecycle"
    assert "bootstrap.lifecycle" in used


BACKEND_FILES = {
    "__init__.py",
    "backend.py",
    "driver.py",
    "labels.py",
    "states.py",
    "status.py",
    "supervision.py",
    "teardown.py",
}


@pytest.mark.parametrize("backend", ["compose", "swarm"])
def test_every_backend_folder_has_the_same_files(backend: str) -> None:
    folder = PACKAGE / "backends" / backend
    assert {p.name for p in folder.glob("*.py")} >= BACKEND_FILES


def kind_compared_to_a_string(node: ast.AST) -> bool:
    if not isinstance(node, ast.Compare):
        return False
    left = node.left  # a service's probe kind (x.probe.kind) or a spec's (spec.kind)
    if not (isinstance(left, ast.Attribute) and left.attr == "kind"):
        return False
    owner = left.value
    probe = isinstance(owner, ast.Attribute) and owner.attr == "probe"
    if not (probe or (isinstance(owner, ast.Name) and owner.id in ("spec", "probe"))):
        return False
    for right in node.comparators:
        items = right.elts if isinstance(right, (ast.Tuple, ast.List, ast.Set)) else [right]
        if any(isinstance(item, ast.Constant) and isinstance(item.value, str) for item in items):
            return True
    return False


def test_a_probe_kind_is_asked_of_the_registry_never_compared_as_a_string() -> None:
    found = []
    for name, path in modules().items():
        if name.startswith("bootstrap.probes"):
            continue  # the kinds themselves
        tree = ast.parse(path.read_text())
        found += [
            f"{path.relative_to(ROOT)}:{node.lineno}"
            for node in ast.walk(tree)
            if isinstance(node, ast.Compare) and kind_compared_to_a_string(node)
        ]
    assert found == []


# The engine's container states and health verdicts, and Swarm's task and node states: each
# vocabulary is written in one module (runtime.State and .Health; backends/swarm/states.py).
STATE_WORDS = frozenset(
    {"created", "running", "restarting", "paused", "exited", "removing", "dead", "healthy",
     "unhealthy", "complete", "shutdown", "rejected", "orphaned", "assigned", "preparing"}
)  # fmt: skip
STATE_MODULES = {"bootstrap.runtime", "bootstrap.backends.swarm.states"}


def compared_state_words(node: ast.Compare) -> list[str]:
    words = []
    for side in [node.left, *node.comparators]:
        items = side.elts if isinstance(side, (ast.Tuple, ast.List, ast.Set)) else [side]
        words += [
            item.value
            for item in items
            if isinstance(item, ast.Constant) and item.value in STATE_WORDS
        ]
    return words


def test_state_literals_live_in_one_module_each() -> None:
    found = []
    for name, path in modules().items():
        if name in STATE_MODULES:
            continue
        tree = ast.parse(path.read_text())
        found += [
            f"{path.relative_to(ROOT)}:{node.lineno} {compared_state_words(node)}"
            for node in ast.walk(tree)
            if isinstance(node, ast.Compare) and compared_state_words(node)
        ]
    assert found == []


def test_the_state_finder_finds_a_literal() -> None:
    node = ast.parse('info.state in ("running", "restarting")').body[0].value  # type: ignore[attr-defined]
    assert compared_state_words(node) == ["running", "restarting"]


def test_the_map_names_every_module() -> None:
    page = (ROOT / "docs" / "architecture.md").read_text()
    missing = [
        str(path.relative_to(PACKAGE))
        for path in sorted(PACKAGE.rglob("*.py"))
        if f"`{path.relative_to(PACKAGE)}`" not in page
    ]
    missing += [
        str(path.relative_to(ROOT))
        for path in sorted((ROOT / "tools").glob("*.py"))
        if f"`{path.relative_to(ROOT)}`" not in page
    ]
    assert missing == [], "docs/architecture.md does not name these"


# Every line the commands print goes through cli.context.show (printable, then coloured); the
# exceptions write what is not the workspace's text, each for its one reason.
WRITERS_ALLOWED = {
    "bootstrap.cli.context": "show itself",
    "bootstrap.backends.helper": "JSON on the helper container's stdout, read by bootstrap",
    "bootstrap.backends.swarm.backend": "the containers' own log lines, as `docker compose logs`",
    "bootstrap.discovery.socketproxy": "its one start line, in its own container",
}


WRITERS = {
    "print",
    "click.echo",
    "click.secho",
    "click.style",
    "sys.stdout.write",
    "sys.stderr.write",
}


def terminal_writes(tree: ast.AST) -> list[int]:
    """Lines that call click.echo/secho/style, print, or write to sys.stdout/sys.stderr."""
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        if ast.unparse(node.func) in WRITERS:
            found.append(node.lineno)
    return found


def test_every_printed_line_goes_through_show() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{line}"
        for name, path in modules().items()
        if name not in WRITERS_ALLOWED
        for line in terminal_writes(ast.parse(path.read_text()))
    ]
    assert found == []


def test_the_writer_finder_finds_an_echo() -> None:
    tree = ast.parse("import click\nclick.echo(label)\nprint(x)\nsys.stderr.write(y)\n")
    assert terminal_writes(tree) == [2, 3, 4]
