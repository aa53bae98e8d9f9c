from __future__ import annotations

from pathlib import Path

import pytest
import tomli_w
from hypothesis import given
from hypothesis import strategies as st

from bootstrap.errors import ConfigError
from bootstrap.ranges import IntRange, parse_range
from bootstrap.settings import (
    POLICIES,
    Settings,
    load_settings,
    seed_settings,
    settings_document,
    settings_from_mapping,
)


def test_defaults_fit_any_workspace() -> None:
    """No network, subnet, tiers, port ranges or policy of this repository's: a foreign
    workspace gets compose's own conventions and nothing else."""
    s = Settings()
    assert (s.project, s.network, s.subnet) == ("", "", "")
    assert (s.tiers, s.port_ranges, s.enforce, s.compose_files) == ((), (), (), ())
    assert s.phases == ("databases", "discovery", "apps", "monitoring")
    assert s.cache_volume("uv") == "bootstrap-uv-cache"  # shared by every workspace


def test_the_seed_is_asked_for() -> None:
    s = seed_settings("react_scuba")
    assert (s.network, s.subnet) == ("mcp-cluster", "172.28.0.0/24")
    assert s.enforce == POLICIES
    assert [str(r.ports) for r in s.port_ranges] == [
        "3000-3099",
        "3100-3199",
        "7000-7099",
        "9000-9199",
        "9400-9499",
    ]
    assert (s.tiers[0].name, str(s.tiers[0].hosts)) == ("databases", "20-29")


def test_the_reference_stack_keeps_the_seed_in_its_own_pyproject() -> None:
    here = load_settings(Path(__file__).resolve().parents[2])
    seed = seed_settings("react_scuba")
    assert (here.network, here.subnet, here.tiers, here.port_ranges) == (
        seed.network,
        seed.subnet,
        seed.tiers,
        seed.port_ranges,
    )
    assert set(here.enforce) == set(POLICIES)
    assert here.compose_files == ("docker-compose.yml", "docker-compose.mcp-persistent.yml")


def test_pyproject_table_and_own_file(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.bootstrap]\nproject = "from_pyproject"\n')
    assert load_settings(tmp_path).project == "from_pyproject"
    (tmp_path / "bootstrap.toml").write_text('project = "own"\nprobe_timeout = 30\n')
    loaded = load_settings(tmp_path)
    assert loaded.project == "own" and loaded.probe_timeout == 30.0


@pytest.mark.parametrize("settings", [Settings(), seed_settings("x")])
def test_document_round_trips(settings: Settings) -> None:
    text = tomli_w.dumps(settings_document(settings))
    import tomllib

    back = settings_from_mapping(tomllib.loads(text))
    assert (back.tiers, back.port_ranges, back.network, back.enforce) == (
        settings.tiers,
        settings.port_ranges,
        settings.network,
        settings.enforce,
    )


@pytest.mark.bad_input
@pytest.mark.parametrize(
    ("data", "location", "message"),
    [
        ({"cache_uid": "1000"}, "cache_uid", "expected an integer, got str"),
        ({"project": 3}, "project", "expected a string"),
        ({"phases": "databases"}, "phases", "expected a list of strings"),
        ({"subnet": "172.28.0.0/33"}, "subnet", "is not a subnet"),
        (
            {"tiers": {"db": {"range": "29-20", "phase": "databases"}}},
            "tiers.db.range",
            "starts after it ends",
        ),
        ({"tiers": {"db": {"range": "20-29", "phase": "dbs"}}}, "tiers.db.phase", "unknown phase"),
        ({"projekt": "x"}, "projekt", "unknown setting"),
    ],
)
def test_wrong_types_name_the_key(data: dict[str, object], location: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        settings_from_mapping(data, source="bootstrap.toml")
    assert caught.value.location == f"bootstrap.toml: {location}"
    assert message in caught.value.message


def test_unknown_key_suggests() -> None:
    with pytest.raises(ConfigError) as caught:
        settings_from_mapping({"projekt": "x"})
    assert "did you mean 'project'" in caught.value.hint


@given(st.integers(0, 65535), st.integers(0, 65535))
def test_range_parser(a: int, b: int) -> None:
    text = f"{a}-{b}"
    if a <= b:
        parsed = parse_range(text, lowest=0, highest=65535)
        assert parsed == IntRange(a, b) and a in parsed and b in parsed and str(parsed) == text
    else:
        with pytest.raises(ValueError):
            parse_range(text, lowest=0, highest=65535)


@given(st.text(max_size=12))
def test_range_parser_never_crashes(text: str) -> None:
    try:
        parsed = parse_range(text, lowest=1, highest=100)
    except ValueError:
        return
    assert 1 <= parsed.first <= parsed.last <= 100
