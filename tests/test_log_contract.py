"""The log's contract, run against every implementation (eventsourcing's AggregateRecorderTestCase pattern).

One abstract case states what any `Log` promises — gapless positions from 1, per-stream versions, optimistic
concurrency that writes nothing on conflict (even for one stale expectation in a multi-stream batch), ranged
reads, an intact hash chain, lock-free tailing — and each implementation subclasses it with a factory.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from abc import ABC, abstractmethod
from pathlib import Path

import pytest
from logtools import segment_files, tagged

from store.events import GENESIS_HASH, ArticleArchived, ArticlePublished, Record
from store.log import (
    ANY,
    NO_STREAM,
    AppendRequest,
    ConflictError,
    FileLog,
    Log,
    LogError,
    MemoryLog,
    decode_record,
    encode_record,
    record_hash,
    verify_log,
)


class LogContract(ABC):
    """Subclasses provide `make_log()`; `reopen(log)` returns a fresh view of the same log when durable."""

    @pytest.fixture(autouse=True)
    def _tmp(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path

    @abstractmethod
    def make_log(self) -> Log: ...

    def reopen(self, log: Log) -> Log:
        return log

    # --- append / read / get / head ------------------------------------------------------------------

    def test_empty_log(self) -> None:
        log = self.make_log()
        assert log.head() == 0
        assert list(log.read()) == []
        assert log.stream_version("a") == 0
        with pytest.raises(KeyError):
            log.get(1)
        assert verify_log(log) == (0, [])

    def test_append_assigns_gapless_positions_from_one(self) -> None:
        log = self.make_log()
        r1 = log.append("a", tagged("x", "y"))
        r2 = log.append("b", tagged("z"))
        r3 = log.append("a", tagged("w"))
        assert [r.position for r in r1 + r2 + r3] == [1, 2, 3, 4]
        assert log.head() == 4
        assert [r.position for r in log.read()] == [1, 2, 3, 4]
        assert list(log.read()) == r1 + r2 + r3

    def test_records_round_trip(self) -> None:
        log = self.make_log()
        when = dt.datetime(2024, 5, 1, 12, 30, 15, 123456, tzinfo=dt.UTC)
        ev = ArticlePublished(title="Handel ludźmi", body="Treść…", url="https://www.gov.pl/web/handel-ludzmi",
                              published=dt.date(2019, 1, 2), publisher="MSWiA")
        [rec] = log.append("art-1", [ev], NO_STREAM, actor="ala", recorded_at=when)
        assert rec == Record(1, "art-1", 1, when, "ala", GENESIS_HASH, ev)
        log = self.reopen(log)
        assert log.get(1) == rec
        assert decode_record(encode_record(rec)) == rec

    def test_get(self) -> None:
        log = self.make_log()
        recs = log.append("a", tagged(*"abcde"))
        for r in recs:
            assert log.get(r.position) == r
        for bad in (0, -1, 6, 100):
            with pytest.raises(KeyError):
                log.get(bad)

    def test_per_stream_versions(self) -> None:
        log = self.make_log()
        log.append("a", tagged("1", "2"))
        log.append("b", tagged("1"))
        [r] = log.append("a", tagged("3"))
        assert (r.stream, r.version, r.position) == ("a", 3, 4)
        log = self.reopen(log)
        assert log.stream_version("a") == 3
        assert log.stream_version("b") == 1
        assert log.stream_version("c") == 0
        assert [(r.stream, r.version) for r in log.read()] == [("a", 1), ("a", 2), ("b", 1), ("a", 3)]

    def test_defaults_actor_and_timestamp(self) -> None:
        log = self.make_log()
        before = dt.datetime.now(dt.UTC)
        [r] = log.append("a", tagged("x"))
        assert r.actor == "system"
        assert r.recorded_at.tzinfo is not None
        assert before - dt.timedelta(seconds=1) <= r.recorded_at <= dt.datetime.now(dt.UTC)
        with pytest.raises(ValueError):
            log.append("a", tagged("x"), recorded_at=dt.datetime(2024, 1, 1))  # naive
        assert log.head() == 1

    # --- expected versions -----------------------------------------------------------------------------

    def test_expected_any(self) -> None:
        log = self.make_log()
        log.append("a", tagged("1"), ANY)
        log.append("a", tagged("2"), ANY)
        assert log.stream_version("a") == 2

    def test_expected_no_stream(self) -> None:
        log = self.make_log()
        log.append("a", tagged("1"), NO_STREAM)
        with pytest.raises(ConflictError) as info:
            log.append("a", tagged("2"), NO_STREAM)
        assert (info.value.stream, info.value.expected, info.value.actual) == ("a", NO_STREAM, 1)
        assert "no stream" in str(info.value)
        assert log.head() == 1
        assert self.reopen(log).head() == 1

    def test_expected_exact(self) -> None:
        log = self.make_log()
        log.append("a", tagged("1", "2"))
        log.append("a", tagged("3"), 2)
        for stale in (1, 2, 4, 0):
            with pytest.raises(ConflictError) as info:
                log.append("a", tagged("x"), stale)
            assert info.value.actual == 3
        assert log.head() == 3
        assert [r.event.tag for r in self.reopen(log).read()] == ["1", "2", "3"]

    def test_conflict_writes_nothing_then_next_append_continues(self) -> None:
        log = self.make_log()
        log.append("a", tagged("1"))
        with pytest.raises(ConflictError):
            log.append("a", tagged("x", "y"), 5)
        [r] = log.append("b", tagged("2"))
        assert (r.position, r.version) == (2, 1)
        assert verify_log(self.reopen(log)) == (2, [])

    def test_batch_is_atomic_on_one_stale_expectation(self) -> None:
        log = self.make_log()
        log.append("a", tagged("a1"))
        log.append("b", tagged("b1", "b2"))
        batch = [
            AppendRequest("a", tagged("a2"), 1),
            AppendRequest("c", tagged("c1"), NO_STREAM),
            AppendRequest("b", tagged("b3"), 1),  # stale: b is at 2
        ]
        with pytest.raises(ConflictError) as info:
            log.append_batch(batch)
        assert info.value.stream == "b"
        log = self.reopen(log)
        assert log.head() == 3
        assert (log.stream_version("a"), log.stream_version("b"), log.stream_version("c")) == (1, 2, 0)
        assert [r.event.tag for r in log.read()] == ["a1", "b1", "b2"]

    def test_batch_commits_every_stream(self) -> None:
        log = self.make_log()
        log.append("a", tagged("a1"))
        recs = log.append_batch([
            AppendRequest("a", tagged("a2", "a3"), 1),
            AppendRequest("c", tagged("c1"), NO_STREAM),
            AppendRequest("a", tagged("a4"), 3),  # the same stream twice: expectations chain
        ], actor="bot")
        assert [(r.position, r.stream, r.version) for r in recs] == [
            (2, "a", 2), (3, "a", 3), (4, "c", 1), (5, "a", 4)]
        assert all(r.actor == "bot" for r in recs)
        log = self.reopen(log)
        assert list(log.read(after=1)) == recs
        assert log.stream_version("a") == 4

    def test_batch_chained_expectation_conflicts(self) -> None:
        log = self.make_log()
        with pytest.raises(ConflictError):
            log.append_batch([AppendRequest("a", tagged("1"), NO_STREAM),
                              AppendRequest("a", tagged("2"), NO_STREAM)])
        assert log.head() == 0

    def test_empty_batches_are_errors(self) -> None:
        log = self.make_log()
        with pytest.raises(ValueError):
            log.append_batch([])
        with pytest.raises(ValueError):
            log.append("a", [])
        with pytest.raises(ValueError):
            log.append_batch([AppendRequest("a", []), AppendRequest("b", [])])
        with pytest.raises(ValueError):
            log.append("", tagged("x"))
        with pytest.raises(TypeError):
            log.append("a", ["not an event"])  # type: ignore[list-item]
        assert log.head() == 0
        assert list(self.reopen(log).read()) == []

    # --- ranged reads ----------------------------------------------------------------------------------

    def test_read_after_until(self) -> None:
        log = self.make_log()
        for i in range(12):
            log.append(f"s{i % 3}", tagged(*(f"{i}.{j}" for j in range(i % 4 + 1))))
        head = log.head()
        everything = list(log.read())
        assert [r.position for r in everything] == list(range(1, head + 1))
        for after in (0, 1, 5, head - 1, head, head + 3):
            for until in (None, 0, 1, 6, head - 1, head, head + 10):
                got = [r.position for r in log.read(after=after, until=until)]
                end = head if until is None else min(until, head)
                assert got == list(range(after + 1, end + 1)), (after, until)
        assert [p for p, _ in log.read_raw(after=3, until=5)] == [4, 5]

    def test_read_stops_at_head_seen_when_called(self) -> None:
        log = self.make_log()
        log.append("a", tagged("1", "2"))
        it = log.read()
        first = next(it)
        log.append("a", tagged("3"))
        rest = list(it)
        assert [first.position] + [r.position for r in rest] in ([1, 2], [1, 2, 3])
        assert [r.position for r in log.read()] == [1, 2, 3]

    # --- hash chain ------------------------------------------------------------------------------------

    def test_hash_chain(self) -> None:
        log = self.make_log()
        log.append("a", tagged("1", "2"))
        log.append_batch([AppendRequest("b", [ArticleArchived(reason="r")]), AppendRequest("a", tagged("3"))])
        log = self.reopen(log)
        prev = GENESIS_HASH
        for pos, raw in log.read_raw():
            rec = decode_record(raw)
            assert rec.position == pos
            assert rec.prev_hash == prev
            assert bytes(raw) == encode_record(rec)
            prev = record_hash(raw)
        assert verify_log(log) == (4, [])

    def test_hash_chain_continues_after_reopen(self) -> None:
        log = self.make_log()
        log.append("a", tagged("1"))
        log = self.reopen(log)
        log.append("a", tagged("2"))
        log = self.reopen(log)
        assert verify_log(log) == (2, [])

    # --- tailing ---------------------------------------------------------------------------------------

    def test_wait_returns_when_head_passes(self) -> None:
        log = self.make_log()
        log.append("a", tagged("1"))
        t = threading.Timer(0.15, lambda: log.append("a", tagged("2")))
        t.start()
        try:
            start = time.monotonic()
            assert log.wait(after=1, timeout=10) == 2
            assert time.monotonic() - start < 5
        finally:
            t.join()

    def test_wait_times_out(self) -> None:
        log = self.make_log()
        log.append("a", tagged("1"))
        start = time.monotonic()
        assert log.wait(after=1, timeout=0.1) == 1
        assert 0.09 <= time.monotonic() - start < 2
        assert log.wait(after=0, timeout=0) == 1

    def test_many_appends_from_threads(self) -> None:
        log = self.make_log()

        def work(n: int) -> None:
            for i in range(25):
                log.append(f"t{n}", tagged(f"{n}.{i}"))

        threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        log = self.reopen(log)
        assert [r.position for r in log.read()] == list(range(1, 101))
        for n in range(4):
            assert [r.event.tag for r in log.read() if r.stream == f"t{n}"] == [f"{n}.{i}" for i in range(25)]
        assert verify_log(log) == (100, [])


class DurableContract(LogContract):
    """What a log shared by processes promises: another instance (another process, another machine) tails it
    without locks, appends after it, and one opened read-only refuses to append."""

    @abstractmethod
    def open_other(self, readonly: bool) -> Log: ...

    def test_tailing_from_another_instance(self) -> None:
        writer = self.make_log()
        reader = self.open_other(readonly=True)
        assert reader.head() == 0
        writer.append("a", tagged("1"))
        assert reader.wait(after=0, timeout=5) == 1
        assert [r.event.tag for r in reader.read()] == ["1"]
        writer.append("a", tagged("2", "3"))
        assert reader.head() == 3
        assert reader.stream_version("a") == 3
        # another writer's instance also appends correctly after others did
        other = self.open_other(readonly=False)
        [r] = other.append("a", tagged("4"), 3)
        assert (r.position, r.version) == (4, 4)
        [r] = writer.append("a", tagged("5"), 4)
        assert r.position == 5
        assert verify_log(reader) == (5, [])

    def test_readonly_refuses_appends(self) -> None:
        self.make_log().append("a", tagged("1"))
        ro = self.open_other(readonly=True)
        with pytest.raises(Exception, match="read-only"):
            ro.append("a", tagged("2"))
        assert ro.head() == 1


class TestMemoryLog(LogContract):
    def make_log(self) -> Log:
        return MemoryLog()


class TestFileLog(DurableContract):
    segment_bytes: int | None = None

    def make_log(self) -> Log:
        kw = {} if self.segment_bytes is None else {"segment_bytes": self.segment_bytes}
        self._kw = kw
        return FileLog(self.tmp_path / "log", **kw)

    def reopen(self, log: Log) -> Log:
        log.close()
        return FileLog(self.tmp_path / "log", **self._kw)

    def open_other(self, readonly: bool) -> Log:
        return FileLog(self.tmp_path / "log", readonly=readonly, **({} if readonly else self._kw))

    def test_segments_are_files(self) -> None:
        log = self.make_log()
        for i in range(30):
            log.append(f"s{i}", tagged("x" * 20, "y"))
        files = segment_files(self.tmp_path / "log")
        assert files
        assert files[0].name == f"{1:020d}.seg"
        if self.segment_bytes is not None:
            assert len(files) > 5
        assert verify_log(self.reopen(log)) == (60, [])


class TestFileLogTinySegments(TestFileLog):
    """Every append after a few hundred bytes rolls over to a new segment: rollover is on every path."""

    segment_bytes = 300


class TestPgLog(DurableContract):
    """The same contract on a PostgreSQL server (team mode): a fresh database per test."""

    @pytest.fixture(autouse=True)
    def _db(self, pg_db: str) -> None:
        from store.pglog import create_schema

        create_schema(pg_db)
        self.url = pg_db

    def make_log(self) -> Log:
        from store.pglog import PgLog

        return PgLog(self.url)

    def reopen(self, log: Log) -> Log:
        log.close()
        return self.make_log()

    def open_other(self, readonly: bool) -> Log:
        from store.pglog import PgLog

        return PgLog(self.url, readonly=readonly)

    def test_a_failed_insert_writes_nothing_and_the_next_append_continues(self) -> None:
        """Past the version checks, the database's own refusal (here a trigger an operator added) rolls the
        whole batch back, small (one INSERT with its COMMIT) or large (COPY), and the connection goes on."""
        import psycopg

        from store.pglog import SMALL_BATCH

        log = self.make_log()
        log.append("a", tagged("1"))
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute("CREATE FUNCTION refuse_b() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                         "IF NEW.stream = 'b' THEN RAISE EXCEPTION 'no b here'; END IF; RETURN NEW; END $$")
            conn.execute("CREATE TRIGGER refuse_b BEFORE INSERT ON archivist_log FOR EACH ROW "
                         "EXECUTE FUNCTION refuse_b()")
        for n in (1, SMALL_BATCH + 5):
            with pytest.raises(LogError, match="nothing was written.*no b here"):
                log.append_batch([AppendRequest("a", tagged("x")), AppendRequest("b", tagged(*map(str, range(n))))])
            assert (log.head(), log.stream_version("a"), log.stream_version("b")) == (1, 1, 0)
            [r] = log.append("a", tagged("ok"), 1)  # the same instance, its versions cache and connection
            assert (r.position, r.version) == (2, 2)
            log = self.reopen(log) if n == 1 else log
            with psycopg.connect(self.url, autocommit=True) as conn:
                conn.execute("SET session_replication_role = replica")
                conn.execute("DELETE FROM archivist_log WHERE position = 2")
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute("DROP TRIGGER refuse_b ON archivist_log")
        [r] = log.append("b", tagged("ok"))
        assert r.position == 2 and verify_log(log) == (2, [])

    @pytest.mark.parametrize("lost", ["before", "after"])
    def test_a_connection_lost_around_commit_is_settled_by_asking_the_server(
            self, lost: str, monkeypatch: pytest.MonkeyPatch) -> None:
        """The reply to COMMIT never arrives: the writer asks, under the append lock on a new connection,
        whether the batch is there -- acknowledged if it is, run again if it is not; never twice, never lost."""
        import psycopg

        from store.pglog import PgLog

        log = self.make_log()
        log.append("a", tagged("1"))
        send = PgLog._send
        calls = []

        def flaky(self, conn, cur, records, payloads, before):  # type: ignore[no-untyped-def]
            calls.append(len(records))
            if len(calls) == 1:
                if lost == "after":
                    send(self, conn, cur, records, payloads, before)
                self._sent = (list(records), record_hash(payloads[0]))  # what `_send` notes before sending
                self._committing = True
                conn.close()
                raise psycopg.OperationalError("server closed the connection unexpectedly")
            send(self, conn, cur, records, payloads, before)

        monkeypatch.setattr(PgLog, "_send", flaky)
        recs = log.append("a", tagged("2", "3"), 1)
        assert [r.position for r in recs] == [2, 3]
        assert len(calls) == (1 if lost == "after" else 2)
        monkeypatch.undo()
        log = self.reopen(log)
        assert [r.event.tag for r in log.read()] == ["1", "2", "3"]
        assert verify_log(log) == (3, [])
