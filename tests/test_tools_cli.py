"""The everyday tools through the command line (a real subprocess against a temp archive): the version,
saved searches and actions on every result of a query."""

from __future__ import annotations

from importlib.metadata import version


def test_version_is_the_package_version(cli) -> None:  # type: ignore[no-untyped-def]
    r = cli("--version")
    assert r.code == 0 and r.out == f"archivist {version('archivist')}\n" and not r.err
    assert "--version" in cli("--help").out
