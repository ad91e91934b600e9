"""Shared fixtures. Every test runs with its own HOME and XDG dirs, so nothing touches the user's archive."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
# The lemma table is built once per machine (~30 s): every test shares the real cache, read before any
# fixture moves HOME.
REAL_CACHE = os.environ.get("ARCHIVIST_CACHE_DIR") or str(
    Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "archivist")
os.environ["ARCHIVIST_CACHE_DIR"] = REAL_CACHE


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.delenv("ARCHIVIST_ARCHIVE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    monkeypatch.setenv("ARCHIVIST_CACHE_DIR", REAL_CACHE)


@pytest.fixture
def archive_dir(tmp_path: Path) -> Path:
    return tmp_path / "archive"


def shared_path(*parts: str) -> Path:
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is absent (the shared data sits beside the project, at ../shared)")
    return path


class CLIResult:
    def __init__(self, proc: subprocess.CompletedProcess[bytes]) -> None:
        self.code = proc.returncode
        self.out = proc.stdout.decode("utf-8", "replace")
        self.err = proc.stderr.decode("utf-8", "replace")

    def json(self):  # type: ignore[no-untyped-def]
        import json

        return json.loads(self.out)


def run_cli(archive: Path, *args: str, input: bytes | None = None, env: dict[str, str] | None = None,
            timeout: float = 120) -> CLIResult:
    """Drive the real command line in a subprocess, as scripts do."""
    cmd = [sys.executable, "-m", "archivist.cli", "--archive", str(archive), *args]
    proc = subprocess.run(cmd, input=input, capture_output=True, timeout=timeout,
                          env={**os.environ, "COLUMNS": "120", **(env or {})}, cwd=ROOT)
    return CLIResult(proc)


@pytest.fixture
def cli(archive_dir: Path):  # type: ignore[no-untyped-def]
    def run(*args: str, **kw):  # type: ignore[no-untyped-def]
        return run_cli(archive_dir, *args, **kw)
    return run


from pg import pg_cluster, pg_db  # noqa: E402,F401  (team mode: a throwaway PostgreSQL server)
