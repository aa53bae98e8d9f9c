"""Compose's habits, without an engine: its warnings read, file:line from the YAML, every label
error at once, near-miss label prefixes, quiet, names that do not override images."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bootstrap.backends.composecli import classify_failure, compose_warnings
from bootstrap.errors import ConfigError, ConfigErrors, EngineError
from bootstrap.locate import Locator, yaml_problem
from bootstrap.settings import Settings
from bootstrap.validate import Finding, Severity, compose_findings, silence

from .helpers import plan, svc


def test_compose_warnings_are_read_from_its_stderr() -> None:
    stderr = (
        'time="2026-12-01T11:25:04Z" level=warning msg="The \\"API_PORT\\" variable is not set. '
        'Defaulting to a blank string."\n'
        'time="2026-12-01T11:25:04Z" level=warning msg="/w/compose.yaml: the attribute `version` '
        'is obsolete, it will be ignored, please remove it to avoid potential confusion"\n'
        "some other line\n"
    )
    warnings = compose_warnings(stderr)
    assert warnings[0] == 'The "API_PORT" variable is not set. Defaulting to a blank string.'
    found = compose_findings(warnings)
    assert [f.rule for f in found] == ["variable-unset", "compose-obsolete"]
    assert found[0].location == "${API_PORT}" and "${API_PORT:-value}" in found[0].hint
    assert found[1].location == "/w/compose.yaml" and found[1].message.startswith("the attribute")


def test_a_missing_external_network_is_the_users_to_fix() -> None:
    error = classify_failure(
        "network shared declared as external, but could not be found", ["up"], lambda s: s
    )
    assert isinstance(error, ConfigError) and "docker network create shared" in error.hint


def test_any_other_compose_failure_says_how_to_see_it_whole() -> None:
    error = classify_failure("line one\nline two\nthe last", ["docker", "compose", "up"], str)
    assert isinstance(error, EngineError)
    assert "line two | the last" in error.message and "docker compose up" in error.hint


def test_locations_are_found_in_the_file_that_writes_them(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text(
        "services:\n  db:\n    image: postgres\n    ports:\n      - '5432:5432'\n"
        "    labels:\n      - bootstrap.probe=htpp\n"
    )
    (tmp_path / "compose.override.yaml").write_text(
        "services:\n  db:\n    labels:\n      bootstrap.phase: apps\n"
    )
    locator = Locator(tmp_path, ["compose.yaml", "compose.override.yaml"])
    assert locator.locate("services.db.ports[0]") == "compose.yaml:5"
    # compose merges labels: each is found in the file that writes it, the list form too.
    assert locator.locate("services.db.labels.bootstrap.probe") == "compose.yaml:7"
    assert locator.locate("services.db.labels.bootstrap.phase") == "compose.override.yaml:4"
    assert locator.locate("services.db.image") == "compose.yaml:3"
    assert locator.locate("services.nosuch") is None
    # a key no file writes is placed at the service that lacks it, in the file defining it
    assert locator.locate("services.db.volumes") == "compose.yaml:2"


def test_a_yaml_mistake_is_named_where_it_is(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text("services:\n  a:\n    image: x\n  b:\n   - [\n")
    where, _what = yaml_problem(tmp_path, ["compose.yaml"]) or ("", "")
    assert where.startswith("compose.yaml:6")


@pytest.mark.bad_input
def test_every_label_mistake_of_a_run_at_once() -> None:
    with pytest.raises(ConfigErrors) as caught:
        plan(
            {
                "a": svc(labels={"bootstrap.probe": "htpp", "bootstrap.phaze": "apps"}),
                "b": svc(labels={"bootstrap.probe.port": "eighty"}),
            }
        )
    locations = sorted(e.location for e in caught.value.errors)
    assert locations == [
        "services.a.labels.bootstrap.phaze",
        "services.a.labels.bootstrap.probe",
        "services.b.labels.bootstrap.probe.port",
    ]


def test_a_near_miss_prefix_is_a_warning() -> None:
    from bootstrap.validate import check_label_prefixes

    found = check_label_prefixes(
        plan({"a": svc(labels={"bootstap.phase": "apps", "Bootstrap.probe": "http", "app.x": "1"})})
    )
    assert sorted(f.location for f in found) == [
        "services.a.labels.Bootstrap.probe",
        "services.a.labels.bootstap.phase",
    ]
    assert all(f.severity is Severity.WARNING for f in found)


def test_quiet_silences_warnings_and_notices_never_errors() -> None:
    findings = [
        Finding(Severity.WARNING, "x", "w", rule="database-volume"),
        Finding(Severity.ERROR, "y", "e", rule="database-volume"),
        Finding(Severity.NOTICE, "z", "n", rule="volume-name"),
    ]
    kept = silence(findings, Settings(quiet=("database-volume", "volume-name", "databse-port")))
    assert [(f.severity, f.rule) for f in kept[:1]] == [(Severity.ERROR, "database-volume")]
    assert "did you mean 'database-port-public'" in kept[-1].hint


@pytest.mark.parametrize(
    ("name", "image", "phase"),
    [
        ("db", "nginx:stable", "apps"),
        ("postgres", "python:3.11-slim", "apps"),
        ("cache", "alpine", "apps"),
        ("db", "", "databases"),  # built here: the name is all there is
        ("db", "myorg/thing:1", "databases"),  # an image that says nothing
        ("web", "postgres:16", "databases"),
    ],
)
def test_a_name_speaks_only_where_the_image_says_nothing(name: str, image: str, phase: str) -> None:
    spec = svc(image) if image else {"build": {"context": "."}}
    assert plan({name: spec}).services[name].phase == phase


def test_many_warnings_of_one_rule_are_three_in_full_then_one_line_and_say_how_to_quiet(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from bootstrap.cli.context import CliContext
    from bootstrap.cli.findings import render_findings

    findings = [
        Finding(
            Severity.WARNING,
            f"services.s{n}.ports[0]",
            f"s{n}'s port 5{n} is published on all interfaces",
            f'publish it on loopback only: "127.0.0.1:5{n}:5{n}"',
            "database-port-public",
        )
        for n in range(6)
    ]
    findings.append(Finding(Severity.ERROR, "services.x", "broken", "mend it", "port-duplicate"))
    render_findings(findings, CliContext(Path("."), (), None, ()))
    said = capsys.readouterr().err.splitlines()
    full = [line for line in said if line.startswith("warning: services.")]
    assert [line.split(":")[1].strip() for line in full] == [
        f"services.s{n}.ports[0]" for n in range(3)
    ]
    assert sum("fix: publish it on loopback" in line for line in said) == 3
    rest = [line for line in said if line.startswith("warning: database-port-public x3 more")]
    assert len(rest) == 1 and "services.s3.ports[0]" in rest[0], said
    assert any("error: services.x: broken" in line for line in said)  # errors always in full
    assert 'quiet = ["database-port-public"] in bootstrap.toml' in "\n".join(said)


def test_the_locators_fast_parser_marks_every_node_where_pyyaml_does() -> None:
    """The locator composes with libyaml's parser where PyYAML has it (15x sooner): every
    node of every compose file of the repository's fixtures and of the corpus (where it is
    here) is marked on the same line as by the pure-Python parser."""
    import glob

    import yaml

    if not hasattr(yaml, "CSafeLoader"):
        pytest.skip("PyYAML without libyaml: the locator uses the pure parser")
    root = Path(__file__).resolve().parents[2]
    files = [
        *glob.glob(str(root / "tests" / "fixtures" / "**" / "*.y*ml"), recursive=True),
        *glob.glob(str(root.parent / "shared" / "corpus" / "**" / "*.y*ml"), recursive=True),
    ]
    nodes = 0

    def walk(pure: Any, fast: Any) -> None:
        nonlocal nodes
        nodes += 1
        assert type(pure) is type(fast) and pure.start_mark.line == fast.start_mark.line
        if isinstance(pure, yaml.MappingNode):
            for (k1, v1), (k2, v2) in zip(pure.value, fast.value, strict=True):
                walk(k1, k2)
                walk(v1, v2)
        elif isinstance(pure, yaml.SequenceNode):
            for a, b in zip(pure.value, fast.value, strict=True):
                walk(a, b)

    for name in files:
        text = Path(name).read_text(encoding="utf-8")
        try:
            pure = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.YAMLError:
            continue
        if pure is not None:
            walk(pure, yaml.compose(text, Loader=yaml.CSafeLoader))
    assert nodes > 1000


def _same_outline(fast: Any, pure: Any, where: str = "") -> None:
    """``fast`` (the outline) says what ``pure`` (PyYAML's nodes) says, where it says it: a
    flow collection it did not read is only placed."""
    from bootstrap.outline import Flow, Map, Seq

    assert fast.line == pure.line, where
    if isinstance(fast, Flow):
        return
    assert type(fast) is type(pure), where
    if isinstance(fast, Map):
        assert [(k, line) for k, line, _ in fast.pairs] == [(k, line) for k, line, _ in pure.pairs]
        for (key, _line, a), (_key, _l, b) in zip(fast.pairs, pure.pairs, strict=True):
            _same_outline(a, b, f"{where}.{key}")
    elif isinstance(fast, Seq):
        assert len(fast.items) == len(pure.items), where
        for n, (a, b) in enumerate(zip(fast.items, pure.items, strict=True)):
            _same_outline(a, b, f"{where}[{n}]")
    else:
        assert fast.text is None or fast.text == pure.text, where


def test_the_outline_says_what_pyyaml_says_of_every_file_it_reads() -> None:
    """The locator reads a file's outline without PyYAML (its import alone is about 20 ms of a
    `plan`): for every compose file of the fixtures and of the corpus (where it is here), and
    each as JSON too, the outline is None (PyYAML is asked) or has PyYAML's keys, items,
    texts and lines; and it reads nearly all of them."""
    import glob
    import json

    import yaml

    from bootstrap.locate import as_outline
    from bootstrap.outline import outline

    root = Path(__file__).resolve().parents[2]
    files = [
        *glob.glob(str(root / "tests" / "fixtures" / "**" / "*.y*ml"), recursive=True),
        *glob.glob(str(root.parent / "shared" / "corpus" / "**" / "*.y*ml"), recursive=True),
    ]
    texts = []
    for name in files:
        text = Path(name).read_text(encoding="utf-8")
        try:
            pure = yaml.compose(text, Loader=yaml.SafeLoader)
            data = yaml.safe_load(text)
        except yaml.YAMLError:
            continue
        if pure is not None:
            texts += [(name, text), (f"{name} as JSON", json.dumps(data, indent=1, default=str))]
    read = 0
    for name, text in texts:
        fast = outline(text)
        if fast is not None:
            read += 1
            _same_outline(fast, as_outline(yaml.compose(text, Loader=yaml.SafeLoader)), name)
    assert len(texts) > 100 and read >= 0.9 * len(texts), (read, len(texts))


def test_the_outline_reads_what_compose_files_use(tmp_path: Path) -> None:
    """Anchors on their own line and aliases, merge keys, block scalars, lists at their key's
    indent, flow lists over several lines, tags, JSON: where a finding is, without PyYAML."""
    import yaml

    from bootstrap.locate import as_outline
    from bootstrap.outline import Flow, Map, outline

    text = (
        "x-common:\n"
        "  &common\n"
        "  restart: always\n"
        "  environment: &env\n"
        "    A: b\n"
        "services:\n"
        "  db:\n"
        "    <<: *common\n"
        "    image: postgres  # the database\n"
        "    command: |\n"
        "      postgres\n"
        "        -c fsync=off\n"
        "    ports:\n"
        "    - '5432:5432'\n"
        '    - "5433:5432"\n'
        "    healthcheck:\n"
        "      test:\n"
        "        [\n"
        "          'CMD', # a comment\n"
        "          pg_isready\n"
        "    ]\n"
        "    environment: *env\n"
        "    labels: !override {a: b}\n"
        "    volumes: [data:/var/lib/postgresql/data, 'logs:/logs',]\n"
    )
    fast = outline(text)
    assert isinstance(fast, Map)
    _same_outline(fast, as_outline(yaml.compose(text, Loader=yaml.SafeLoader)))
    services = fast.pairs[1][2]
    assert isinstance(services, Map)
    db = services.pairs[0][2]
    assert isinstance(db, Map) and isinstance(db.pairs[-2][2], Flow)
    (tmp_path / "compose.yaml").write_text(text)
    (tmp_path / "compose.json").write_text('{\n "services": {\n  "db": {"ports": ["1:1"]}\n }\n}')
    locator = Locator(tmp_path, ["compose.yaml"])
    assert locator.locate("services.db.ports[1]") == "compose.yaml:15"
    assert locator.locate("services.db.environment.A") == "compose.yaml:5"  # the alias's node
    assert locator.locate("services.db.deploy.resources.limits.memory") == "compose.yaml:7"
    # into a flow mapping the outline did not read: PyYAML's nodes answer
    assert locator.locate("services.db.labels.a") == "compose.yaml:23"
    assert Locator(tmp_path, ["compose.json"]).locate("services.db.ports[0]") == "compose.json:3"
    for refused in ("a: b\n---\nc: d\n", "a: *nowhere\n", "a:\n  - b\n   c\n", "a: 'b\n  c'\n"):
        assert outline(refused) is None, refused
