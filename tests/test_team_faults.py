"""Team mode under faults: the server restarting mid-ingest and mid-action, a writer killed with SIGKILL mid-batch,
four writers on four machines (folders) at once, a tailing connection that is cut."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import psycopg
import pytest
from conftest import ROOT, run_cli
from logtools import tagged
from pg import Cluster, team_database, wait_until

from archivist import errors
from archivist.archive import Archive
from store import events as ev
from store.log import StoreUnavailable, verify_log
from store.pglog import PgLog

PAGE = (ROOT / "archivist" / "samples" / "mswia" / "2023-04-12-przygotuj-sie-na-powodz.txt").read_text()


@pytest.fixture
def team(pg_cluster: Cluster, pg_db: str) -> dict[str, str]:
    return team_database(pg_cluster, pg_db)


def _drop(folder: Path, n: int, start: int = 0) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(start, start + n):
        title = f"Przygotuj się na powódź, część {i}. Poradnik dla mieszkańców"
        (folder / f"p{i:05d}.txt").write_text(PAGE.replace(
            "Przygotuj się na powódź. Poradnik dla mieszkańców terenów zalewowych", title))
    return folder


def _counts(url: str) -> tuple[int, int, int]:
    """(records, SourceReceived records, ArticlePublished records) in the server's log."""
    with PgLog(url) as log:
        recs = list(log.read())
    return (len(recs), sum(isinstance(r.event, ev.SourceReceived) for r in recs),
            sum(isinstance(r.event, ev.ArticlePublished) for r in recs))


def _head(url: str) -> int:
    try:
        with psycopg.connect(url, autocommit=True, connect_timeout=2) as conn:
            return int(conn.execute("SELECT coalesce(max(position), 0) FROM archivist_log").fetchone()[0])  # type: ignore[index]
    except psycopg.OperationalError:
        return -1


@pytest.mark.slow
def test_server_restart_mid_ingest(pg_cluster: Cluster, team: dict[str, str], tmp_path: Path) -> None:
    drop = _drop(tmp_path / "drop", 1200)
    machine = tmp_path / "m"
    assert run_cli(machine, "init", "--store", team["writer"]).code == 0
    cmd = [sys.executable, "-m", "archivist.cli", "--archive", str(machine), "ingest", str(drop)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
    assert wait_until(lambda: _head(team["owner"]) > 0, timeout=120)  # the first batch is in
    pg_cluster.restart("fast")  # terminates every session, then comes back
    out, err = proc.communicate(timeout=300)
    text = err.decode()
    if proc.returncode == 0:
        pytest.skip("the ingest finished before the server went down (machine too fast for this test)")
    assert proc.returncode == 4 and "Traceback" not in text, text
    assert "unavailable" in text or "could not store the files durably" in text, text
    records, sources, articles = _counts(team["owner"])
    assert 0 < sources < 1200 and sources == articles  # whole batches only: each file's source with its article
    assert run_cli(machine, "verify").code == 0
    again = run_cli(machine, "ingest", str(drop), "--json", timeout=600)
    assert again.code == 0, again.err
    assert again.json()["duplicate"] == sources and again.json()["ingested"] == 1200 - sources
    assert _counts(team["owner"])[1:] == (1200, 1200)
    assert run_cli(machine, "search", "część", "--json").json()["total"] == 1200


def test_server_restart_between_actions(pg_cluster: Cluster, team: dict[str, str], tmp_path: Path) -> None:
    root = tmp_path / "m"
    with Archive.open(root, store=team["writer"]) as a:
        aid = a.publish(title="Powódź", body="Treść.")
        pg_cluster.restart("fast")
        assert a.tag(aid, "po-restarcie") > 0  # the dead connection is replaced: nothing had been sent on it
        pg_cluster.stop("fast")
        try:
            # the read before it (the article's version) or the append itself meets the dead server
            with pytest.raises((errors.StoreUnavailable, StoreUnavailable), match="unavailable"):
                a.tag(aid, "bez-serwera")
            for args in (("tag", aid, "x"), ("search", "powódź")):
                r = run_cli(root, *args)
                assert r.code == 4 and "unavailable" in r.err and "Traceback" not in r.err, r.err
                assert len(r.err.strip().splitlines()) == 1
        finally:
            pg_cluster.start()
        assert a.tag(aid, "bez-serwera") > 0  # the retry succeeds
        assert [r.event.tag for r in a.log.read() if isinstance(r.event, ev.ArticleTagged)] == [
            "po-restarcie", "bez-serwera"]
        assert verify_log(a.log) == (3, [])


_WRITER = textwrap.dedent("""
    import sys
    from logtools import tagged
    from store.pglog import PgLog
    log = PgLog(sys.argv[1])
    for i in range(10_000):
        recs = log.append(f"s{i % 7}", tagged(*[f"{i}.{j}" for j in range(50)]))
        print(recs[-1].position, flush=True)
""")


def test_kill_9_of_a_writer_mid_batch_loses_nothing_acknowledged(team: dict[str, str]) -> None:
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'tests'}"}
    proc = subprocess.Popen([sys.executable, "-c", _WRITER, team["writer"]], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, cwd=ROOT, env=env, text=True)
    acked: list[int] = []
    assert proc.stdout is not None
    for line in proc.stdout:
        acked.append(int(line))
        if len(acked) >= 20:
            break
    time.sleep(0.05)  # let it be inside a batch
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    acked += [int(x) for x in proc.stdout.read().split()]
    with PgLog(team["reader"]) as log:
        head = log.head()
        assert head >= acked[-1] and head % 50 == 0  # every acknowledged batch, and whole batches only
        assert verify_log(log) == (head, [])
        assert [r.position for r in log.read()] == list(range(1, head + 1))


_MACHINE = textwrap.dedent("""
    import json, sys
    from archivist import errors
    from archivist.archive import Archive
    root, url, aid, me, n = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
    done = conflicts = 0
    with Archive.open(root, store=url, actor=f"machine:{me}") as a:
        while done < n:
            version = a.article(aid).version
            try:
                a.tag(aid, f"{me}-{done}", expected_version=version)
                done += 1
            except errors.ConflictError:
                conflicts += 1
        mine = a.publish(title=f"Artykuł maszyny {me}", body="Treść.")
    print(json.dumps({"done": done, "conflicts": conflicts, "mine": mine}))
""")


@pytest.mark.slow
def test_four_machines_write_at_once(team: dict[str, str], tmp_path: Path) -> None:
    with Archive.open(tmp_path / "seed", store=team["writer"]) as a:
        aid = a.publish(title="Wspólny artykuł", body="Treść.")
    n = 15
    procs = [subprocess.Popen([sys.executable, "-c", _MACHINE, str(tmp_path / f"m{i}"), team["writer"], aid, str(i),
                               str(n)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT, text=True)
             for i in range(4)]
    results = []
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
        results.append(json.loads(out))
    with PgLog(team["reader"]) as log:
        recs = list(log.read())
        assert verify_log(log) == (len(recs), [])
    assert [r.position for r in recs] == list(range(1, len(recs) + 1))
    shared = [r for r in recs if r.stream == aid]
    assert [r.version for r in shared] == list(range(1, 1 + 4 * n + 1))  # one event per success, none lost
    tags = sorted(r.event.tag for r in shared if isinstance(r.event, ev.ArticleTagged))
    assert tags == sorted(f"{i}-{k}" for i in range(4) for k in range(n))
    assert all(any(r.stream == res["mine"] for r in recs) for res in results)
    # every machine's own index sees every other machine's articles
    for i in range(4):
        hits = run_cli(tmp_path / f"m{i}", "search", "maszyny", "--json").json()
        assert hits["total"] == 4


def test_a_tailing_connection_that_drops_reconnects(pg_cluster: Cluster, team: dict[str, str]) -> None:
    writer, reader = PgLog(team["writer"]), PgLog(team["reader"])
    writer.append("a", tagged("1"))
    assert reader.wait(after=0, timeout=5) == 1
    assert reader.wait(after=1, timeout=0.05) == 1  # listening now
    pid = reader._listen.get().info.backend_pid
    pg_cluster.sql(f"SELECT pg_terminate_backend({pid})")
    t = threading.Timer(0.3, lambda: writer.append("a", tagged("2")))
    t.start()
    try:
        start = time.monotonic()
        assert reader.wait(after=1, timeout=20) == 2
        assert time.monotonic() - start < 10
    finally:
        t.join()
    assert reader._listen.get().info.backend_pid != pid
    # woken by NOTIFY, not by polling: a wait with nothing appended sleeps its whole timeout
    start = time.monotonic()
    assert reader.wait(after=2, timeout=0.5) == 2
    assert time.monotonic() - start >= 0.45
    writer.close()
    reader.close()
