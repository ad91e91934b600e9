"""Fault campaign (`bench/faults.py`, bounded): SIGKILL to the watcher, `ingest` and actions at random
moments, and ENOSPC/EIO at the Nth write/fsync/rename of the log, the blob store and the index; after each,
a restart must have lost nothing acknowledged, doubled nothing, left no half article, caught the index up
and pass `verify`."""

from __future__ import annotations

import errno
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import run_cli

from bench import faults


@pytest.mark.slow
def test_bounded_fault_campaign_loses_nothing(tmp_path: Path) -> None:
    lines: list[str] = []
    results = faults.campaign(tmp_path, runs=40, seed=20261125, log=lines.append, budget_s=100)
    print(faults.table(results))
    assert len(results) >= 20, "the campaign ran too few runs in its time budget"
    assert {r.kind for r in results} == set(faults.KINDS)
    assert sum(len(r.losses) for r in results) == 0, "\n".join(lines)
    assert all(r.recovered for r in results), "\n".join(lines)
    assert sum(len(r.problems) for r in results) == 0, "\n".join(lines)


@pytest.mark.parametrize("op", ["fsync", "write", "replace"])  # "fsync" = a file created by whoosh
def test_one_index_io_error_does_not_wedge_the_index_for_the_process(tmp_path: Path, op: str) -> None:
    """A single ENOSPC while the index catches up must not leave Whoosh's write lock held by this process:
    once the disk has room again, the next catch-up (a watcher's next append, a search) must work.
    Bug: `whoosh.writing.SegmentWriter.__init__` takes WRITELOCK, then creates the segment's files; when a
    creation fails, no writer exists to release the lock, so every later catch-up in the process raises
    `whoosh.index.LockError`, and so does every other process that finds the index behind (an
    `archivist search` exits with a traceback) -- until the process that failed exits."""
    from archivist.archive import Archive

    with Archive.open(tmp_path / "a") as a:
        a.publish(title="Pierwszy artykuł", body="Treść o handlu ludźmi.", publisher="P")
        a.defer_index = True
        a.publish(title="Drugi artykuł", body="Treść o szkoleniu.", publisher="P")
        a.defer_index = False
        with faults.index_faults(faults.FaultOps(op, 1, errno.ENOSPC)), pytest.raises(OSError):
            a.catch_up_index()
        # while this process lives (a watcher runs for weeks), another process can still catch up and search
        other = run_cli(tmp_path / "a", "search", "szkolenie", "--json")
        assert other.code == 0 and other.json()["total"] == 1, other.err[-800:]
        assert a.catch_up_index() == a.log.head()  # the disk has room again
        assert a.search("szkolenie").total == 1
        a.tag(a.search("szkolenie").hits[0].id, "po-awarii")
        assert a.verify().ok


def test_an_action_in_the_log_is_not_reported_as_failed_because_the_index_could_not_follow(tmp_path: Path) -> None:
    """The log is the truth and the index a projection: once `tag` is durably appended it is done. Bug:
    `Archive.append` let the index catch-up's OSError (a full disk under `index/`) escape after the
    append, so `archivist tag` died with a traceback (exit 1, "not found") although the tag was recorded --
    the user retries, and an `--expect-version` retry then fails with a conflict."""
    from archivist.archive import Archive

    root = tmp_path / "a"
    with Archive.open(root) as a:
        aid = a.publish(title="Pierwszy artykuł", body="Treść o handlu ludźmi.", publisher="P")
    # `archivist tag` in a process of its own (a failed catch-up may leave whoosh's lock held: see above)
    script = ("import errno, sys\n"
              "from bench import faults\n"
              "from archivist.cli import main\n"
              "with faults.index_faults(faults.FaultOps('write', 1, errno.ENOSPC, always=True)):\n"
              f"    sys.exit(main(['--archive', {str(root)!r}, 'tag', {aid!r}, 'nowy']))\n")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, cwd=faults.ROOT)
    assert proc.returncode == 0, proc.stderr.decode()
    assert b"Traceback" not in proc.stderr
    with Archive.open(root) as a:
        assert a.article(aid).tags == ["nowy"]
    found = run_cli(root, "search", "tag:nowy", "--json")
    assert found.code == 0 and found.json()["total"] == 1, found.err
    verify = run_cli(root, "verify")
    assert verify.code == 0, verify.out + verify.err


def test_an_ingest_in_the_log_is_not_reported_as_failed_because_the_index_could_not_follow(tmp_path: Path) -> None:
    """Same for `archivist ingest`: `Ingestor.run` brings the index up to date once at the end, after every
    file is durably recorded; an OSError there escaped as a traceback (exit 1) although nothing was lost."""
    from archivist.archive import Archive

    root, src = tmp_path / "a", tmp_path / "src"
    files = faults.make_files(src, 4, salt="idx")
    script = ("import errno, sys\n"
              "from bench import faults\n"
              "from archivist.cli import main\n"
              "with faults.index_faults(faults.FaultOps('write', 1, errno.ENOSPC, always=True)):\n"
              f"    sys.exit(main(['--archive', {str(root)!r}, 'ingest', {str(src)!r}, '--json']))\n")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, cwd=faults.ROOT)
    assert b"Traceback" not in proc.stderr, proc.stderr.decode()[-1500:]
    assert proc.returncode == 0
    with Archive.open(root) as a:
        assert len(a.refresh().sources) == len(files)
    found = run_cli(root, "search", "komunikat", "--json")
    assert found.code == 0 and found.json()["total"] == len(files), found.err
    assert run_cli(root, "verify").code == 0
