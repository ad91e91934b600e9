"""Team mode: the log and the original bytes on a PostgreSQL server, each folder a machine with its own
projections. A real, throwaway server (tests/pg.py); the command line in subprocesses, as on real machines."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import msgspec
import psycopg
import pytest
from conftest import ROOT, run_cli
from pg import READER, WRITER, Cluster, team_database

from archivist.archive import Archive
from store.log import decode_record, encode_record, verify_log

SAMPLES = ROOT / "archivist" / "samples" / "mswia"


@pytest.fixture
def team(pg_cluster: Cluster, pg_db: str) -> dict[str, str]:
    return team_database(pg_cluster, pg_db)


def _machine(tmp_path: Path, name: str, url: str) -> Path:
    root = tmp_path / name
    r = run_cli(root, "init", "--store", url, "--json")
    assert r.code == 0, r.err
    return root


def test_no_psycopg_for_a_folder_archive(tmp_path: Path) -> None:
    code = ("import sys; from archivist.archive import Archive; "
            f"a = Archive.open({str(tmp_path / 'a')!r}); a.head(); a.close(); "
            "import archivist.cli; print('psycopg' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert out.stdout.strip() == "False", out.stderr


def test_init_records_the_url_and_keeps_only_projections(team: dict[str, str], tmp_path: Path) -> None:
    root = tmp_path / "a"
    r = run_cli(root, "init", "--store", team["writer"], "--json")
    assert r.code == 0, r.err
    doc = r.json()
    assert doc["writable"] is True and doc["store"].startswith(f"{WRITER}@127.0.0.1:")
    assert (root / "store.url").read_text().strip() == team["writer"]
    assert (root / "store.url").stat().st_mode & 0o777 == 0o600
    assert not (root / "log").exists() and not (root / "blobs").exists()
    assert run_cli(root, "init", "--store", team["writer"]).code == 0  # idempotent
    other = run_cli(root, "init", "--store", team["reader"])
    assert other.code == 2 and "already a working copy" in other.err
    with_password = run_cli(tmp_path / "b", "init", "--store", team["writer"].replace(WRITER, f"{WRITER}:secret"))
    assert with_password.code == 2 and "password" in with_password.err and not (tmp_path / "b").exists()
    folder = tmp_path / "folder"
    assert run_cli(folder, "init").code == 0
    assert run_cli(folder, "init", "--store", team["writer"]).code == 2


def test_a_role_that_may_not_create_the_archive_says_so(pg_cluster: Cluster, pg_db: str, tmp_path: Path) -> None:
    pg_cluster.sql(f"DO $$ BEGIN CREATE ROLE {READER} LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$")
    r = run_cli(tmp_path / "a", "init", "--store", pg_cluster.url(READER, pg_db.rsplit("/", 1)[1]))
    assert r.code == 1 and "database's owner" in r.err and "Traceback" not in r.err


@pytest.mark.slow
def test_two_machines_share_one_archive(team: dict[str, str], tmp_path: Path) -> None:
    a, b = _machine(tmp_path, "a", team["writer"]), _machine(tmp_path, "b", team["writer"])
    assert run_cli(b, "search", "powódź", "--json").json()["total"] == 0  # B's index exists, empty
    r = run_cli(a, "ingest", str(SAMPLES), "--json")
    assert r.code == 0, r.err
    hits = run_cli(b, "search", "powódź", "--json").json()["hits"]  # B's index catches up from the server
    assert len(hits) == 1
    aid = hits[0]["id"]
    assert run_cli(b, "tag", aid, "powodz").code == 0
    assert run_cli(a, "search", "tag:powodz", "--json").json()["hits"][0]["id"] == aid
    assert run_cli(a, "ingest", str(SAMPLES), "--json").json()["duplicate"] == len(list(SAMPLES.iterdir()))
    assert run_cli(b, "verify").code == 0
    with Archive.open(a) as arc:
        assert [r.stream for r in arc.log.read()][-1] == aid
        assert arc.blobs.check() == []


@pytest.mark.slow
def test_a_reader_role_reads_and_is_refused_recording(team: dict[str, str], tmp_path: Path) -> None:
    w = _machine(tmp_path, "w", team["writer"])
    assert run_cli(w, "ingest", str(SAMPLES)).code == 0
    ro = tmp_path / "ro"
    r = run_cli(ro, "init", "--store", team["reader"], "--json")
    assert r.code == 0 and r.json()["writable"] is False
    hit = run_cli(ro, "search", "powódź", "--json").json()["hits"][0]
    assert run_cli(ro, "show", hit["id"], "--json").json()["id"] == hit["id"]
    assert run_cli(ro, "export").code == 0
    assert run_cli(ro, "verify").code == 0
    want = f"error: this archive's store does not let {READER} record events"
    for args in (("tag", hit["id"], "x"), ("ingest", str(SAMPLES)), ("archive", hit["id"])):
        r = run_cli(ro, *args)
        assert r.code == 2 and r.err.strip() == want and "Traceback" not in r.err, args
    with psycopg.connect(team["reader"], autocommit=True) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("INSERT INTO archivist_blobs VALUES (repeat('0', 64), '')")


def test_append_only_is_the_databases_rule(team: dict[str, str], tmp_path: Path) -> None:
    w = _machine(tmp_path, "w", team["writer"])
    assert run_cli(w, "ingest", str(SAMPLES)).code == 0
    for url in (team["writer"], team["owner"]):  # the writer lacks the grant; even the owner meets the trigger
        with psycopg.connect(url, autocommit=True) as conn:
            for statement in ("UPDATE archivist_log SET stream = 'x' WHERE position = 1",
                              "DELETE FROM archivist_log WHERE position = 1",
                              "TRUNCATE archivist_log", "DELETE FROM archivist_blobs",
                              "UPDATE archivist_blobs SET data = ''"):
                with pytest.raises(psycopg.errors.InsufficientPrivilege):
                    conn.execute(statement)  # type: ignore[arg-type]
    assert run_cli(w, "verify").code == 0


def _edit_record(owner_url: str, position: int, *, keep_hash: bool) -> None:
    """What a superuser can do past the trigger: rewrite one record (a valid one, its title changed)."""
    with psycopg.connect(owner_url, autocommit=True) as conn:
        conn.execute("SET session_replication_role = replica")
        raw = conn.execute("SELECT record FROM archivist_log WHERE position = %s", (position,)).fetchone()[0]  # type: ignore[index]
        rec = decode_record(raw)
        forged = msgspec.structs.replace(rec, actor=rec.actor + " (forged)")
        conn.execute("UPDATE archivist_log SET record = %s WHERE position = %s", (encode_record(forged), position))
        if keep_hash:  # the stored hash rewritten too: only the chain is left to tell
            conn.execute("UPDATE archivist_log SET hash = sha256(record) WHERE position = %s", (position,))


def test_a_superuser_edit_is_caught_by_verify(team: dict[str, str], tmp_path: Path) -> None:
    w = _machine(tmp_path, "w", team["writer"])
    assert run_cli(w, "ingest", str(SAMPLES)).code == 0
    _edit_record(team["owner"], 4, keep_hash=False)
    r = run_cli(w, "verify", "--json")
    assert r.code == 4
    problems = r.json()["problems"]
    assert problems[0]["position"] == 4 and "altered" in problems[0]["detail"], problems
    assert "position 4" in run_cli(w, "verify").out + run_cli(w, "verify").err
    _edit_record(team["owner"], 4, keep_hash=True)
    from store.pglog import PgLog

    with PgLog(team["reader"]) as log:
        _, found = verify_log(log)
    assert found[0].position == 5 and "hash chain" in found[0].detail


def test_a_blob_edited_on_the_server_is_caught_on_read_and_by_verify(team: dict[str, str], tmp_path: Path) -> None:
    w = _machine(tmp_path, "w", team["writer"])
    assert run_cli(w, "ingest", str(SAMPLES)).code == 0
    with psycopg.connect(team["owner"], autocommit=True) as conn:
        conn.execute("SET session_replication_role = replica")
        digest = conn.execute("UPDATE archivist_blobs SET data = data || 'x'::bytea WHERE digest = "
                              "(SELECT min(digest) FROM archivist_blobs) RETURNING digest").fetchone()[0]  # type: ignore[index]
    r = run_cli(w, "verify", "--json")
    assert r.code == 4 and any(p["kind"] == "blob" and digest in p["detail"] for p in r.json()["problems"])
    from store.blobs import BlobError
    from store.pglog import PgBlobStore

    store = PgBlobStore(team["reader"])
    with pytest.raises(BlobError, match="hash to"):
        store.get(digest)
    assert [p.kind for p in store.check()] == ["corrupt"]
    store.close()


@pytest.mark.slow
def test_migration_folder_to_server_and_back_is_byte_for_byte(team: dict[str, str], tmp_path: Path) -> None:
    folder = tmp_path / "folder"
    assert run_cli(folder, "ingest", str(ROOT / "archivist" / "samples")).code in (0, 3)  # README.md is rejected
    hit = run_cli(folder, "search", "powódź", "--json").json()["hits"][0]
    assert run_cli(folder, "archive", hit["id"], "--reason", "Strona znajduje się w archiwum").code == 0
    first = tmp_path / "first.ndjson"
    assert run_cli(folder, "export", "--output", str(first)).code == 0
    server = _machine(tmp_path, "server", team["writer"])
    r = run_cli(server, "import", str(first))
    assert r.code == 0, r.err
    second = tmp_path / "second.ndjson"
    assert run_cli(server, "export", "--output", str(second)).code == 0
    assert second.read_bytes() == first.read_bytes()
    assert run_cli(server, "verify").code == 0
    assert run_cli(server, "search", "powódź", "--json").json()["hits"][0]["status"] == "archived"
    back, third = tmp_path / "back", tmp_path / "third.ndjson"
    assert run_cli(back, "import", str(second)).code == 0
    assert run_cli(back, "export", "--output", str(third)).code == 0
    assert third.read_bytes() == first.read_bytes()
    assert run_cli(back, "verify").code == 0


def test_watch_on_one_machine_search_on_another(team: dict[str, str], tmp_path: Path) -> None:
    from test_watch import Watch, polish_article, put

    a, b = _machine(tmp_path, "a", team["writer"]), _machine(tmp_path, "b", team["writer"])
    w = Watch(a, rescan=600).started()
    try:
        put(a / "inbox" / "komunikat.txt", polish_article(7))
        assert w.outcome("komunikat.txt")["result"] == "ingested"
        hits = run_cli(b, "search", "Komunikat nr 7", "--json").json()["hits"]  # read-your-writes across machines
        assert [h["title"] for h in hits][:1] == [polish_article(7).decode().splitlines()[2]]
    finally:
        assert w.stop() == 0
    assert not w.errors() and not w.stray


def test_a_role_without_grants_is_refused_in_one_line(pg_cluster: Cluster, team: dict[str, str], tmp_path: Path) -> None:
    pg_cluster.sql("DO $$ BEGIN CREATE ROLE archivist_nobody LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$")
    url = team["reader"].replace(READER, "archivist_nobody")
    r = run_cli(tmp_path / "n", "init", "--store", url)
    assert r.code == 2 and "refused" in r.err and "permission denied" in r.err and "Traceback" not in r.err, r.err


def test_the_tui_shows_another_machines_arrival_within_seconds(team: dict[str, str], tmp_path: Path) -> None:
    """Issue 12: an archivist's TUI on one machine shows what another machine records, without a restart."""
    import asyncio
    import datetime as dt
    import time

    from test_tui import SIZE, result_ids, settle

    from tui.app import make_app

    a, b = _machine(tmp_path, "a", team["writer"]), _machine(tmp_path, "b", team["writer"])
    with Archive.open(b, actor="test:b") as other:
        other.publish(title="Pierwszy komunikat", body="Treść pierwsza.", published=dt.date(2020, 1, 1))

    async def run() -> None:
        app = make_app(a)
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot, app)
            assert len(result_ids(app)) == 1
            with Archive.open(b, actor="watch:b") as other:
                new = other.publish(title="Nowy komunikat z drugiej maszyny", body="Świeżo przyjęty plik.",
                                    published=dt.date(2030, 1, 1))
            t0 = time.monotonic()
            while new not in result_ids(app) and time.monotonic() - t0 < 10:
                await asyncio.sleep(0.1)
                await pilot.pause()
            assert result_ids(app)[0] == new, "the other machine's article never appeared"
            assert time.monotonic() - t0 < 5  # polled each second; generous for a shared CI machine

    asyncio.run(run())
