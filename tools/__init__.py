"""Tools of the repository (not of the package): the README's reliability counts, the soak
report, the release workflow's lint. Run with ``python -m tools.NAME`` (nox does)."""
