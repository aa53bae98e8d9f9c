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
