"""The log and the original bytes on a PostgreSQL server: team mode, one truth for several machines.

The same contract as `FileLog` (DESIGN.md "The log: promises"), kept by the database:

- a batch is one transaction: all of it is committed, or nothing;
- appends are serialised by a transaction-scoped advisory lock, taken before the head is read (in one round
  trip with BEGIN: `archivist_lock_head()`), so positions are gapless and their order is the commit order
  (the lock is released only once the commit is visible);
- expected versions are checked under that lock; a stale one raises `ConflictError` and the transaction is
  rolled back, so nothing is written;
- each row holds the very msgpack bytes `FileLog` frames (`encode_record`), the record's SHA-256 and, inside
  the record, the previous record's hash: `verify` recomputes the chain, and names a row whose bytes no longer
  match their hash;
- append-only is the database's own rule: a trigger refuses UPDATE, DELETE and TRUNCATE on both tables
  (whoever asks), and the archive's roles are granted SELECT (readers) or SELECT and INSERT (writers) only;
- readers take no lock a writer waits for (plain snapshots), and `wait` sleeps on LISTEN/NOTIFY: a trigger
  notifies `archivist_log` for every insert, delivered when the batch commits.

A lost connection (a server restart, a network cut) raises `StoreUnavailable`, a `LogError`; the next call
connects again. An append whose COMMIT was not confirmed is not acknowledged: retrying it is safe, since the
archive recognises what it already holds (a source by its digest, an action by the article's version).

psycopg is imported here only: a folder archive never loads it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import io
import itertools
import struct
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, BinaryIO, Final

import psycopg
from psycopg import sql
from psycopg.pq import TransactionStatus

from store.blobs import BlobChecks, BlobError, BlobNotFound, BlobProblem, validate_digest
from store.events import GENESIS_HASH, Record, utcnow
from store.log import (
    AppendError,
    AppendRequest,
    ConflictError,
    Log,
    LogError,
    LogProblem,
    StoreReadOnly,
    StoreUnavailable,
    _plan,
    decode_joined,
    decode_record,
    decode_records,
)

if TYPE_CHECKING:
    from psycopg.cursor import Cursor

LOG_TABLE: Final = "archivist_log"
BLOB_TABLE: Final = "archivist_blobs"
CHANNEL: Final = "archivist_log"
LOCK_KEY: Final = 0x61726368_6C6F67  # "archlog": the advisory lock that serialises appends
PAGE: Final = 4096  # records fetched by one query of a read
SMALL_BATCH: Final = 16  # records sent as one INSERT with its COMMIT; larger batches go by COPY
VERSIONS_CATCH_UP: Final = 50_000  # appended by others since this writer looked: beyond it, ask per stream
CONNECT_TIMEOUT: Final = 10  # seconds
BLOB_BUFFER_BYTES: Final = 32 << 20  # unsynced blobs held before they are written anyway

SCHEMA_SQL: Final = f"""
CREATE TABLE IF NOT EXISTS {LOG_TABLE} (
    position bigint PRIMARY KEY CHECK (position > 0),
    stream text NOT NULL,
    version integer NOT NULL CHECK (version > 0),
    hash bytea NOT NULL,
    record bytea NOT NULL,
    UNIQUE (stream, version)
);
CREATE TABLE IF NOT EXISTS {BLOB_TABLE} (
    digest text PRIMARY KEY CHECK (digest ~ '^[0-9a-f]{{64}}$'),
    data bytea NOT NULL
);
CREATE OR REPLACE FUNCTION archivist_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'archivist: % is append-only (% refused)', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE OR REPLACE FUNCTION archivist_lock_head(OUT head bigint, OUT hash bytea) LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    -- Serialise appends; then read the head in a new snapshot (a VOLATILE function takes one per query), so
    -- it sees every batch committed before the lock was granted.
    PERFORM pg_advisory_xact_lock({LOCK_KEY});
    SELECT l.position, l.hash INTO head, hash FROM {LOG_TABLE} AS l ORDER BY l.position DESC LIMIT 1;
END $$;
CREATE OR REPLACE FUNCTION archivist_lock_head_at(expected bigint) RETURNS void LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    -- The one-round-trip append: serialise, then refuse unless nobody appended since this writer last did.
    PERFORM pg_advisory_xact_lock({LOCK_KEY});
    IF coalesce((SELECT max(position) FROM {LOG_TABLE}), 0) <> expected THEN
        RAISE EXCEPTION 'archivist: the head moved' USING ERRCODE = 'serialization_failure';
    END IF;
END $$;
CREATE OR REPLACE FUNCTION archivist_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('{CHANNEL}', '');  -- delivered at commit: wakes every `wait`
    RETURN NULL;
END $$;
CREATE OR REPLACE TRIGGER archivist_log_notify AFTER INSERT ON {LOG_TABLE}
    FOR EACH STATEMENT EXECUTE FUNCTION archivist_notify();
CREATE OR REPLACE TRIGGER archivist_log_no_change BEFORE UPDATE OR DELETE ON {LOG_TABLE}
    FOR EACH ROW EXECUTE FUNCTION archivist_append_only();
CREATE OR REPLACE TRIGGER archivist_log_no_truncate BEFORE TRUNCATE ON {LOG_TABLE}
    FOR EACH STATEMENT EXECUTE FUNCTION archivist_append_only();
CREATE OR REPLACE TRIGGER archivist_blobs_no_change BEFORE UPDATE OR DELETE ON {BLOB_TABLE}
    FOR EACH ROW EXECUTE FUNCTION archivist_append_only();
CREATE OR REPLACE TRIGGER archivist_blobs_no_truncate BEFORE TRUNCATE ON {BLOB_TABLE}
    FOR EACH STATEMENT EXECUTE FUNCTION archivist_append_only();
"""


class StoreMissing(LogError):
    """The database has no archive (no log table): `init --store` has not been run against it."""


class StoreRefused(LogError):
    """The server refused a read (e.g. a role without SELECT on the archive's tables)."""


def has_password(url: str) -> bool:
    """Whether a connection string carries a password (it must not be recorded in an archive folder)."""
    from psycopg.conninfo import conninfo_to_dict

    return bool(conninfo_to_dict(url).get("password"))


def describe(url: str) -> str:
    """user@host:port/db of a connection string, for messages (never a password)."""
    from psycopg.conninfo import conninfo_to_dict

    d = conninfo_to_dict(url)
    who = f"{d['user']}@" if d.get("user") else ""
    port = f":{d['port']}" if d.get("port") else ""
    return f"{who}{d.get('host', 'localhost')}{port}/{d.get('dbname', '')}"


def _unavailable(exc: Exception, doing: str) -> StoreUnavailable:
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return StoreUnavailable(f"the archive's store (PostgreSQL) is unavailable while {doing}: {detail}")


class _Connection:
    """One lazily (re)opened autocommit connection, used by one thread at a time."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.lock = threading.RLock()
        self._conn: psycopg.Connection[Any] | None = None

    def get(self) -> psycopg.Connection[Any]:
        conn = self._conn
        if conn is None or conn.closed or conn.broken:
            if conn is not None:
                with contextlib.suppress(Exception):
                    conn.close()
            self._conn = None
            self._conn = conn = psycopg.connect(self.url, autocommit=True, connect_timeout=CONNECT_TIMEOUT)
        return conn

    def drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()

    def query(self, statement: str, params: Sequence[Any] = (), *, doing: str) -> list[tuple[Any, ...]]:
        """Run one read-only statement; a connection lost before or during it is reopened once (a read
        changes nothing, so it can simply run again)."""
        with self.lock:
            for attempt in (0, 1):
                try:
                    cur = self.get().cursor(binary=True)
                    cur.execute(statement, params)  # type: ignore[arg-type]
                    return cur.fetchall()
                except psycopg.OperationalError as exc:
                    self.drop()
                    if attempt:
                        raise _unavailable(exc, doing) from exc
                except psycopg.errors.UndefinedTable as exc:
                    raise StoreMissing("the database holds no archive (run `archivist init --store URL`)") from exc
                except psycopg.Error as exc:
                    raise StoreRefused(f"the archive's store refused {doing}: {str(exc).strip()}") from exc
        raise AssertionError("unreachable")


def create_schema(url: str) -> bool:
    """Create the archive's tables and triggers unless they exist (several machines may run it at once);
    True when this call created them. Needs a role that may create tables (the database's owner)."""
    conn = _Connection(url)
    exists = f"SELECT to_regclass('{LOG_TABLE}') IS NOT NULL AND to_regclass('{BLOB_TABLE}') IS NOT NULL"
    try:
        if conn.query(exists, doing="looking for the archive")[0][0]:
            return False
        with conn.lock:
            c = conn.get()
            with c.transaction():
                c.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))
                if c.execute(exists).fetchone()[0]:  # type: ignore[index]
                    return False
                c.execute(SCHEMA_SQL)  # type: ignore[arg-type]
                return True
    except psycopg.errors.InsufficientPrivilege as exc:
        raise StoreMissing(f"the database {describe(url)} holds no archive yet, and {_user_of(conn)} may not "
                           "create one: run `archivist init --store URL` once as the database's owner") from exc
    except psycopg.OperationalError as exc:
        raise _unavailable(exc, "creating the archive") from exc
    finally:
        conn.drop()


def _user_of(conn: _Connection) -> str:
    try:
        return str(conn.query("SELECT current_user", doing="asking who we are")[0][0])
    except LogError:
        return "this role"


_COPY_HEADER: Final = b"PGCOPY\n\xff\r\n\x00" + struct.pack("!ii", 0, 0)
_COPY_TRAILER: Final = struct.pack("!h", -1)
_ROW_START = struct.Struct("!hiqi")  # 5 fields; int8 position; the stream's length
_ROW_MIDDLE = struct.Struct("!iii")  # int4 version; the hash's length (32)
_LENGTH = struct.Struct("!i")


def _copy_data(records: Sequence[Record], payloads: Sequence[bytes]) -> bytes:
    """The rows of a batch in COPY's binary format, built in one pass (`write_row` costs 4x as much)."""
    parts = [_COPY_HEADER]
    add = parts.extend
    sha256 = hashlib.sha256
    start, middle, length = _ROW_START.pack, _ROW_MIDDLE.pack, _LENGTH.pack
    for rec, payload in zip(records, payloads, strict=True):
        stream = rec.stream.encode()
        add((start(5, 8, rec.position, len(stream)), stream, middle(4, rec.version, 32),
             sha256(payload).digest(), length(len(payload)), payload))
    parts.append(_COPY_TRAILER)
    return b"".join(parts)


class PgLog(Log):
    """The log in a PostgreSQL database (see the module docstring). Safe for many threads and processes."""

    def __init__(self, url: str, *, readonly: bool = False) -> None:
        self.url = url
        self.readonly = readonly
        self._main = _Connection(url)
        self._listen = _Connection(url)
        self._listening = False
        self._user: str | None = None
        self._versions: dict[str, int] = {}  # stream versions at `_versions_head` (see `_versions_at`)
        self._versions_head = 0
        # An archive that does not exist is an error at once, not at the first read.
        if not self._main.query("SELECT to_regclass(%s) IS NOT NULL", (LOG_TABLE,), doing="opening the log")[0][0]:
            self._main.drop()
            raise StoreMissing(f"the database {describe(url)} holds no archive (run `archivist init --store URL`)")

    # --- who may do what ------------------------------------------------------------------------------

    @property
    def user(self) -> str:
        """The database role this log connects as."""
        if self._user is None:
            self._user = str(self._main.query("SELECT current_user", doing="asking who we are")[0][0])
        return self._user

    def may_record(self) -> bool:
        """Whether the role may append events and store original bytes."""
        row = self._main.query(
            "SELECT has_table_privilege(%s, 'INSERT') AND has_table_privilege(%s, 'INSERT')",
            (LOG_TABLE, BLOB_TABLE), doing="checking the role's privileges")
        return bool(row[0][0])

    # --- reading ----------------------------------------------------------------------------------------

    def head(self) -> int:
        return int(self._main.query(f"SELECT coalesce(max(position), 0) FROM {LOG_TABLE}",
                                    doing="reading the log's head")[0][0])

    def stream_version(self, stream: str) -> int:
        return int(self._main.query(f"SELECT coalesce(max(version), 0) FROM {LOG_TABLE} WHERE stream = %s",
                                    (stream,), doing="reading a stream's version")[0][0])

    def _end(self, until: int | None) -> int:
        head = self.head()
        return head if until is None else min(until, head)

    def _pages(self, after: int, end: int) -> Iterator[list[tuple[int, bytes]]]:
        # Pages are ranges of positions, not LIMITs: positions are gapless, and a range is an index range scan
        # whatever the planner's statistics say.
        pos = max(after, 0)
        while pos < end:
            stop = min(pos + PAGE, end)
            rows = self._main.query(
                f"SELECT position, record FROM {LOG_TABLE} WHERE position > %s AND position <= %s "
                "ORDER BY position", (pos, stop), doing="reading the log")
            if rows:
                yield rows  # type: ignore[misc]
            pos = stop

    def read(self, after: int = 0, until: int | None = None) -> Iterator[Record]:
        # Replay speed is per-row overhead: the server concatenates a page of records into one value, and
        # msgspec decodes it in one call (`decode_joined`); a page that does not decode to exactly its
        # records is fetched again row by row, and decoded (or refused) record by record.
        return itertools.chain.from_iterable(self._joined_pages(after, self._end(until)))

    def _joined_pages(self, after: int, end: int) -> Iterator[Iterable[Record]]:
        pos = max(after, 0)
        while pos < end:
            stop = min(pos + PAGE, end)
            n, joined = self._main.query(
                f"SELECT count(*), string_agg(record, ''::bytea ORDER BY position) FROM {LOG_TABLE} "
                "WHERE position > %s AND position <= %s", (pos, stop), doing="reading the log")[0]
            records = decode_joined(joined, stop - pos, pos + 1) if n == stop - pos else None
            if records is not None:
                yield records
            else:
                for page in self._pages(pos, stop):
                    yield decode_records([r[1] for r in page], page[0][0])
            pos = stop

    def read_raw(self, after: int = 0, until: int | None = None) -> Iterator[tuple[int, bytes]]:
        pages = self._pages(after, self._end(until))
        return itertools.chain.from_iterable(pages)

    def get(self, position: int) -> Record:
        if position < 1:
            raise KeyError(position)
        rows = self._main.query(f"SELECT record FROM {LOG_TABLE} WHERE position = %s", (position,),
                                doing="reading a record")
        if not rows:
            raise KeyError(position)
        return decode_record(rows[0][0])

    def stored_bytes(self) -> int:
        """What the log takes on the server (table, indexes, TOAST)."""
        return int(self._main.query("SELECT pg_total_relation_size(%s)", (LOG_TABLE,),
                                    doing="measuring the log")[0][0])

    def stored_problems(self) -> list[LogProblem]:
        """Rows whose record bytes no longer hash to the hash stored beside them: an edit behind the log's
        back (only a superuser can, past the append-only trigger). Checked by the server, in one scan."""
        rows = self._main.query(f"SELECT position FROM {LOG_TABLE} WHERE hash <> sha256(record) ORDER BY position",
                                doing="verifying the log")
        return [LogProblem(int(p), "record altered in the database: its bytes no longer match their hash")
                for (p,) in rows]

    # --- tailing ----------------------------------------------------------------------------------------

    def wait(self, after: int, timeout: float) -> int:
        """Sleep on LISTEN until an append notifies (or `timeout`); a dropped connection is reopened."""
        deadline = time.monotonic() + timeout
        error: LogError | None = None
        while True:
            remaining = deadline - time.monotonic()
            try:
                with self._listen.lock:
                    conn = self._listen.get()
                    if not self._listening or conn is not self._listened_on:
                        conn.execute(f"LISTEN {CHANNEL}")  # type: ignore[arg-type]
                        self._listening, self._listened_on = True, conn
                    head = self.head()  # after LISTEN: an append committed from now on wakes us
                    if head > after or remaining <= 0:
                        return head
                    for _ in conn.notifies(timeout=min(remaining, 5.0), stop_after=1):
                        pass
                error = None
            except psycopg.OperationalError as exc:
                self._listen.drop()
                self._listening = False
                error = _unavailable(exc, "waiting for new events")
            except StoreUnavailable as exc:
                error = exc
            if error is not None:
                if time.monotonic() >= deadline:
                    raise error
                time.sleep(min(0.2, max(deadline - time.monotonic(), 0)))

    _listened_on: Any = None

    # --- writing ----------------------------------------------------------------------------------------

    def append_batch(self, requests: Sequence[AppendRequest], *, actor: str = "system",
                     recorded_at: dt.datetime | None = None) -> list[Record]:
        if self.readonly:
            raise LogError("log opened read-only")
        if not requests or not any(r.events for r in requests):
            raise ValueError("nothing to append")
        at = recorded_at or utcnow()
        with self._main.lock:
            for attempt in (0, 1):
                self._committing, self._sent = False, None
                try:
                    conn = self._main.get()
                    try:
                        records, written, last_hash = self._append(conn, requests, actor, at)
                    except BaseException:
                        if not conn.broken and conn.info.transaction_status != TransactionStatus.IDLE:
                            with contextlib.suppress(psycopg.Error):
                                conn.execute("ROLLBACK")
                        # Rolled back, or not known to be committed: the cached versions may be wrong.
                        self._forget()
                        raise
                    self._versions.update(written)
                    self._versions_head = records[-1].position
                    self._last_hash = last_hash
                    return records
                except psycopg.errors.InsufficientPrivilege as exc:
                    raise StoreReadOnly(self.user) from exc
                except psycopg.OperationalError as exc:
                    self._main.drop()
                    if self._committing and (landed := self._landed()) is not None:
                        return landed  # committed before the connection went: acknowledged after all
                    # Not committed (the server said so, under the lock): nothing was written.
                    if attempt:
                        raise _unavailable(exc, "appending (nothing was written)") from exc
                    # Lost before the COMMIT took (a server restarted since the last call): the server rolled
                    # the transaction back, so it is simply run again on a new connection.
                except psycopg.Error as exc:
                    raise AppendError(f"append failed, nothing was written: {str(exc).strip()}") from exc
        raise AssertionError("unreachable")

    _committing = False  # COMMIT was sent: from then on a lost connection leaves the outcome unknown
    _sent: tuple[list[Record], bytes] | None = None  # the batch whose COMMIT was sent, its first payload's hash
    _last_hash: bytes | None = None  # the hash of the record at `_versions_head`, when this writer appended it

    def _forget(self) -> None:
        self._versions.clear()
        self._versions_head = 0
        self._last_hash = None

    def _landed(self) -> list[Record] | None:
        """After a connection lost with COMMIT in flight: the batch, if the server committed it, else None.
        Asked on a new connection under the append lock, so a COMMIT still running on the old one has ended
        either way; a batch is all or nothing, so its first row (with its hash) tells. Raises
        `StoreUnavailable` when the server cannot say."""
        if self._sent is None:
            return None
        records, first_hash = self._sent
        try:
            conn = self._main.get()
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))
                row = conn.execute(f"SELECT hash FROM {LOG_TABLE} WHERE position = %s",  # type: ignore[arg-type]
                                   (records[0].position,)).fetchone()
        except psycopg.Error as exc:
            self._main.drop()
            raise _unavailable(exc, "checking whether an append was committed (it was not acknowledged; "
                                    "running the command again is safe)") from exc
        return records if row is not None and bytes(row[0]) == first_hash else None

    def _append(self, conn: psycopg.Connection[Any], requests: Sequence[AppendRequest], actor: str,
                at: dt.datetime) -> tuple[list[Record], dict[str, int], bytes]:
        """One transaction; the records, the stream versions they leave and the last one's hash, once
        committed."""
        cur = conn.cursor()
        fast = self._append_fast(conn, cur, requests, actor, at)
        if fast is not None:
            return fast
        # BEGIN, the lock and the head in one round trip (the simple protocol takes both statements).
        cur.execute("BEGIN; SELECT head, hash FROM archivist_lock_head()")
        cur.nextset()
        row = cur.fetchone()
        head, last_hash = (int(row[0]), bytes(row[1])) if row and row[0] is not None else (0, GENESIS_HASH)
        versions = self._versions_at(cur, head, {r.stream for r in requests})
        records, payloads, new_hash, written = _plan(requests, versions, head, last_hash, actor, at)
        if len(records) <= SMALL_BATCH:
            # The rows and COMMIT in one round trip. Should the INSERT fail, the server skips the COMMIT.
            self._send(conn, cur, records, payloads, "")
        else:
            with cur.copy(f"COPY {LOG_TABLE} (position, stream, version, hash, record) FROM STDIN "  # type: ignore[arg-type]
                          "(FORMAT BINARY)") as copy:
                copy.write(_copy_data(records, payloads))
            self._sent = (records, hashlib.sha256(payloads[0]).digest())
            self._committing = True
            cur.execute("COMMIT")
        return records, written, new_hash

    def _append_fast(self, conn: psycopg.Connection[Any], cur: Cursor[Any], requests: Sequence[AppendRequest],
                     actor: str, at: dt.datetime) -> tuple[list[Record], dict[str, int], bytes] | None:
        """A small batch from a writer that made the last append it knows of, planned on what it knows, and
        sent with BEGIN, the lock, a check that the head has not moved, and COMMIT in one round trip. None
        when it does not apply, or the head had moved (rolled back): the caller takes the general path."""
        head, prev = self._versions_head, self._last_hash
        if prev is None or not all(r.stream in self._versions for r in requests):
            return None
        try:
            records, payloads, new_hash, written = _plan(requests, self._versions, head, prev, actor, at)
        except ConflictError:
            return None  # perhaps only against what it knew: the general path decides on the log as it is
        if len(records) > SMALL_BATCH:
            return None
        try:
            self._send(conn, cur, records, payloads, f"BEGIN; SELECT archivist_lock_head_at({int(head)}); ")
        except psycopg.errors.SerializationFailure:
            self._committing = False
            conn.execute("ROLLBACK")
            self._forget()
            return None
        return records, written, new_hash

    def _send(self, conn: psycopg.Connection[Any], cur: Cursor[Any], records: Sequence[Record],
              payloads: Sequence[bytes], before: str) -> None:
        """`before`, the rows as one INSERT of literals, and COMMIT: one round trip."""
        rows = sql.SQL(", ").join(
            sql.SQL("({}, {}, {}, {}, {})").format(rec.position, rec.stream, rec.version,
                                                   hashlib.sha256(p).digest(), p)
            for rec, p in zip(records, payloads, strict=True))
        statement = sql.SQL("INSERT INTO {} (position, stream, version, hash, record) VALUES {}; COMMIT").format(
            sql.Identifier(LOG_TABLE), rows).as_string(conn)
        self._sent = (list(records), hashlib.sha256(payloads[0]).digest())
        self._committing = True
        cur.execute(before + statement)  # type: ignore[arg-type]

    def _versions_at(self, cur: Cursor[Any], head: int, streams: set[str]) -> dict[str, int]:
        """The versions of `streams` at `head` (under the append lock). Kept between appends: only what other
        writers appended since this one last looked is read, and the streams it has never seen."""
        cache = self._versions
        if head < self._versions_head or head - self._versions_head > VERSIONS_CATCH_UP:
            cache.clear()
        elif head > self._versions_head:
            cur.execute(f"SELECT stream, version FROM {LOG_TABLE} WHERE position > %s AND position <= %s "
                        "ORDER BY position", (self._versions_head, head))
            cache.update(cur.fetchall())  # in position order: the last version of each stream wins
        self._versions_head = head
        missing = sorted(streams.difference(cache))
        if missing:
            cur.execute(f"SELECT stream, max(version) FROM {LOG_TABLE} WHERE stream = ANY(%s) GROUP BY stream",
                        (missing,))
            found = dict(cur.fetchall())
            cache.update({s: int(found.get(s, 0)) for s in missing})
        return cache

    def close(self) -> None:
        self._main.drop()
        self._listen.drop()
        self._listening = False


MAX_BLOB_BYTES = (1 << 30) - 1  # PostgreSQL's largest bytea value


class PgBlobStore(BlobChecks):
    """The original bytes in the same database, content-addressed by SHA-256, behind `BlobStore`'s interface.

    A `put(sync=False)` is held in memory until `sync()` writes the batch in one transaction (the ingest calls
    `sync()` before the append that points at the bytes); `get` and `verify` re-hash what the server returns.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self._conn = _Connection(url)
        self._pending: dict[str, bytes] = {}
        self._pending_bytes = 0
        self.root = None  # no folder: the bytes live in the database

    def close(self) -> None:
        self._conn.drop()

    # --- reading ----------------------------------------------------------------------------------------

    def exists(self, digest: str) -> bool:
        validate_digest(digest)
        if digest in self._pending:
            return True
        return bool(self._conn.query(f"SELECT EXISTS (SELECT 1 FROM {BLOB_TABLE} WHERE digest = %s)", (digest,),
                                     doing="looking up a blob")[0][0])

    def __contains__(self, digest: object) -> bool:
        try:
            return isinstance(digest, str) and self.exists(validate_digest(digest))
        except ValueError:
            return False

    def __iter__(self) -> Iterator[str]:
        rows = self._conn.query(f"SELECT digest FROM {BLOB_TABLE} ORDER BY digest", doing="listing blobs")
        return iter(sorted({str(r[0]) for r in rows} | set(self._pending)))

    def _fetch(self, digest: str) -> bytes | None:
        validate_digest(digest)
        if digest in self._pending:
            return self._pending[digest]
        try:
            rows = self._conn.query(f"SELECT data FROM {BLOB_TABLE} WHERE digest = %s", (digest,),
                                    doing=f"reading blob {digest}")
        except LogError as exc:
            err = BlobError(f"cannot read blob {digest}: {exc}")
            err.digest = digest
            raise err from exc
        return bytes(rows[0][0]) if rows else None

    def get(self, digest: str) -> bytes:
        data = self._fetch(digest)
        if data is None:
            raise BlobNotFound(digest)
        actual = hashlib.sha256(data).hexdigest()
        if actual != digest:
            err = BlobError(f"cannot read blob {digest}: its bytes in the store hash to {actual}")
            err.digest = digest
            raise err
        return data

    def reader(self, digest: str) -> BinaryIO:
        return io.BytesIO(self.get(digest))  # a row is read whole anyway

    def _problem(self, digest: str) -> BlobProblem | None:
        try:
            data = self._fetch(digest)
        except BlobError as exc:
            return BlobProblem(digest, "unreadable", str(exc))
        if data is None:
            return BlobProblem(digest, "missing")
        actual = hashlib.sha256(data).hexdigest()
        if actual != digest:
            return BlobProblem(digest, "corrupt", f"content hashes to {actual}")
        return None

    # --- writing ----------------------------------------------------------------------------------------

    def put(self, data: bytes, *, sync: bool = True) -> str:
        digest = hashlib.sha256(data).hexdigest()
        if digest not in self._pending:
            self._pending[digest] = bytes(data)
            self._pending_bytes += len(data)
        if sync or self._pending_bytes >= BLOB_BUFFER_BYTES:
            self.sync()
        return digest

    def put_file(self, f: BinaryIO, *, sync: bool = True, chunk: int = 1 << 20,
                 progress: Callable[[int], None] | None = None) -> tuple[str, int]:
        """`BlobStore.put_file`: the rest of the open file `f`, (digest, size). A row holds its bytes whole, so
        they are read whole: at most 1 GB, PostgreSQL's limit for one value (a larger crawl is refused)."""
        parts: list[bytes] = []
        size = 0
        while data := f.read(chunk):
            size += len(data)
            if size > MAX_BLOB_BYTES:
                raise BlobError("a team archive keeps originals of at most 1 GB (PostgreSQL's limit for one "
                                "value): split the file, or ingest it into a folder archive")
            parts.append(data)
            if progress is not None:
                progress(size)
        return self.put(b"".join(parts), sync=sync), size

    def sync(self) -> None:
        """Write every held blob in one transaction; they are durable when it returns."""
        if not self._pending:
            return
        with self._conn.lock:
            try:
                conn = self._conn.get()
                with conn.transaction(), conn.cursor(binary=True) as cur:
                    cur.executemany(f"INSERT INTO {BLOB_TABLE} (digest, data) VALUES (%s, %s) "  # type: ignore[arg-type]
                                    "ON CONFLICT (digest) DO NOTHING", list(self._pending.items()))
            except psycopg.errors.InsufficientPrivilege as exc:
                raise BlobError(f"cannot store blobs: {str(exc).strip()}") from exc
            except psycopg.OperationalError as exc:
                self._conn.drop()
                raise BlobError(str(_unavailable(exc, "storing original bytes"))) from exc
            except psycopg.Error as exc:
                raise BlobError(f"cannot store blobs: {str(exc).strip()}") from exc
        self._pending.clear()
        self._pending_bytes = 0


__all__ = ["PgBlobStore", "PgLog", "StoreMissing", "StoreRefused", "StoreReadOnly", "StoreUnavailable", "create_schema",
           "describe", "has_password"]
