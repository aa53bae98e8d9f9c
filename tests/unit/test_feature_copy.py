"""The repository's dev container uses a committed copy of the feature: it must not drift."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_local_feature_is_an_exact_copy_of_the_source() -> None:
    source, copy = ROOT / "features" / "src" / "bootstrap", ROOT / ".devcontainer" / "bootstrap"
    names = sorted(p.name for p in source.iterdir() if p.is_file())
    assert sorted(p.name for p in copy.iterdir() if p.is_file()) == names
    for name in names:
        assert (copy / name).read_bytes() == (source / name).read_bytes(), (
            f".devcontainer/bootstrap/{name} differs: run `uv run nox -s package`"
        )
    assert not list(copy.glob("dist/*.whl")), "a fresh clone must install the workspace"


def test_one_version_everywhere() -> None:
    """bootstrap/__init__.py is the version's one place: the distribution reads it (hatch's
    dynamic version), `bootstrap --version` prints it, and the feature that bundles the wheel
    carries the same, so its semver tags follow the package's."""
    import json
    import tomllib

    from click.testing import CliRunner

    from bootstrap import __version__
    from bootstrap.cli import cli

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert "version" not in project and "version" in project["dynamic"]
    assert project["name"] == "compose-bootstrap"
    manifest = json.loads((ROOT / "features/src/bootstrap/devcontainer-feature.json").read_text())
    assert manifest["version"] == __version__
    assert (
        CliRunner().invoke(cli, ["--version"]).output.strip() == f"bootstrap, version {__version__}"
    )
    assert "compose-bootstrap==$VERSION" in (ROOT / "features/src/bootstrap/install.sh").read_text()
