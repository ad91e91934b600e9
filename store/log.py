"""The append-only event log: the archive's only source of truth.

On disk (`DIR/log/`): segment files named by the global position of their first record, each a 16-byte
header followed by frames::

    frame  = MAGIC(4) | length u32 | crc32 u32 | body
    body   = flags u8 | msgpack(Record)

`length` counts the body; the CRC covers it. The last frame of every batch carries the COMMIT flag: a batch
becomes visible, to this process and every other one, only once its committing frame is whole, so a batch
is all-or-nothing after a crash. Each record holds the SHA-256 of the previous record's msgpack bytes.

Writers serialise on an OS lock (`flock` on `DIR/log/LOCK`); under it they first catch up with whatever other
processes appended, cut a torn tail left by a crashed writer (the bytes are moved to `DIR/log/torn/`, never
just dropped), check expected versions, write the batch with one `write` and one `fsync`, then release.
Readers never lock: they scan frames up to the last whole committed one and stop there.

Damage anywhere but the tail — a bad frame with a good one after it, or in an earlier segment — is not
repaired: the log refuses appends and names the segment, byte offset and position (`CorruptionError`).

Summaries (`DIR/log/<first>.sum`) spare an open the frame-by-frame scan of a segment: what the scan would
learn of its first `end` bytes (each record's offset, the last version of each stream, the last record's
hash) plus what identifies those bytes (a CRC of them; the file's size, inode, ctime and mtime). They are a
cache, never the truth: written atomically by a writer from what it scanned or wrote itself, and checked at
open -- the first and last summarised frames must be whole with the recorded hash and chain link, and either
the file's identity is the recorded one of a *sealed* summary, or its first `end` bytes have the recorded CRC
(one C pass, no per-record work) -- and ignored, the segment scanned, on any mismatch. A summary is *sealed*
(trusted on identity alone, O(1) per segment) only when written for a segment that is no longer the last one,
whose bytes were verified and untouched for `SUMMARY_MIN_AGE_NS`: any later change to the file then moves its
ctime past the recorded one even on a coarse clock. The active segment and fresh ones get CRC-checked
summaries (of a prefix, for the active one: the open then scans only what follows). A change made behind the
filesystem's back (bit rot) keeps the ctime: `verify_log` never uses summaries and reads every frame.
"""

from __future__ import annotations

import bisect
import contextlib
import datetime as dt
import fcntl
import hashlib
import itertools
import os
import struct
import sys
import threading
import time
import zlib
from abc import ABC, abstractmethod
from array import array
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final, NamedTuple

import msgspec

from store.events import GENESIS_HASH, Envelope, Event, Record, utcnow
from store.fileops import DEFAULT_OPS, FileOps

ANY: Final = -1
"""Expected version: append whatever the stream's version."""
NO_STREAM: Final = 0
"""Expected version: the stream must not exist yet."""

MAGIC: Final = b"\xa7ARL"
SEGMENT_MAGIC: Final = b"ARCVLOG1"
SEGMENT_HEADER = struct.Struct("<8sQ")  # magic, first position
FRAME_HEADER = struct.Struct("<4sII")  # magic, body length, crc32(body)
FLAG_COMMIT: Final = 0x01
MAX_RECORD_BYTES: Final = 64 * 1024 * 1024
DEFAULT_SEGMENT_BYTES: Final = 64 * 1024 * 1024
SUMMARY_MAGIC: Final = b"ARCVSUM2"
SUMMARY_HEADER = struct.Struct("<8sI")  # magic, crc32(body)
SUMMARY_MIN_AGE_NS = 2_000_000_000
"""A sealed segment is summarised once its ctime and mtime are this old (a cache entry must outlive the
filesystem clock's granularity, or an edit in the same tick would leave the recorded ctime unchanged)."""
READ_CHUNK: Final = 128
"""Records decoded by one msgspec call in `FileLog.read` (measured best among 64..1024)."""


class LogError(Exception):
    """Base of the log's own errors."""


class ConflictError(LogError):
    """An expected version was stale. Nothing of the batch was written."""

    def __init__(self, stream: str, expected: int, actual: int) -> None:
        self.stream, self.expected, self.actual = stream, expected, actual
        want = {ANY: "any", NO_STREAM: "no stream"}.get(expected, f"version {expected}")
        super().__init__(f"conflict on {stream!r}: expected {want}, but it is at version {actual}")


class CorruptionError(LogError):
    """Damage before the tail. Appends are refused until an operator restores the segment."""

    def __init__(self, segment: str, offset: int, position: int, detail: str) -> None:
        self.segment, self.offset, self.position, self.detail = segment, offset, position, detail
        super().__init__(
            f"log corrupted in {segment} at byte {offset} (record position {position}): {detail}; "
            "appends are refused"
        )


class AppendError(LogError):
    """The append failed (I/O error); nothing of the batch was acknowledged."""


class StoreUnavailable(AppendError):
    """A server-backed log could not be reached, or lost its connection: nothing unconfirmed was acknowledged,
    and the next call connects again."""


class StoreReadOnly(LogError):
    """A server-backed log's role may read the archive's store but not record in it."""

    def __init__(self, user: str) -> None:
        self.user = user
        super().__init__(f"this archive's store does not let {user} record events")


class AppendRequest(NamedTuple):
    stream: str
    events: Sequence[Event]
    expected_version: int = ANY
    actor: str | None = None  # overrides the batch's actor (import keeps each record's own)
    recorded_at: dt.datetime | None = None  # overrides the batch's time (import only)


_encoder = msgspec.msgpack.Encoder()
_record_decoder = msgspec.msgpack.Decoder(Record)
_records_decoder = msgspec.msgpack.Decoder(list[Record])
_envelope_decoder = msgspec.msgpack.Decoder(Envelope)


def encode_record(record: Record) -> bytes:
    return _encoder.encode(record)


def decode_record(data: bytes | memoryview) -> Record:
    """Decode one record's msgpack bytes; any malformed input raises `msgspec.DecodeError` (or ValidationError)."""
    try:
        return _record_decoder.decode(data)
    except UnicodeDecodeError as exc:  # msgspec lets this one through for a bad union tag
        raise msgspec.DecodeError(f"invalid UTF-8 in record: {exc}") from exc


def record_hash(payload: bytes | memoryview) -> bytes:
    return hashlib.sha256(payload).digest()


def decode_records(payloads: Sequence[bytes | memoryview], first_position: int) -> list[Record] | Iterator[Record]:
    """Decode consecutive records (positions from `first_position`) with one msgspec call.

    The payloads are joined under one msgpack array header. Should that fail, or the result not be exactly
    the expected records, they are decoded one by one instead: the same records, then the same error, as
    `decode_record` gives for each.
    """
    records = decode_joined(b"".join(payloads), len(payloads), first_position)
    if records is not None:
        return records
    return (decode_record(p) for p in payloads)


def decode_joined(joined: bytes, n: int, first_position: int) -> list[Record] | None:
    """`n` consecutive records' msgpack bytes, concatenated, decoded by one msgspec call; None unless that gives
    exactly the records at positions `first_position`.. (the caller then decodes them one by one)."""
    try:
        records = _records_decoder.decode(b"".join([b"\xdd", n.to_bytes(4, "big"), joined]))
    except (msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError):
        return None
    if (len(records) == n and n
            and records[0].position == first_position and records[-1].position == first_position + n - 1):
        return records
    return None


_FLAG_BYTE = (b"\x00", bytes([FLAG_COMMIT]))
_FLAG_CRC = (zlib.crc32(_FLAG_BYTE[0]), zlib.crc32(_FLAG_BYTE[1]))


def frame(payload: bytes, commit: bool) -> bytes:
    flag = 1 if commit else 0
    return b"".join((FRAME_HEADER.pack(MAGIC, len(payload) + 1, zlib.crc32(payload, _FLAG_CRC[flag])),
                     _FLAG_BYTE[flag], payload))


class Log(ABC):
    """The short interface every log implements (file, in-memory; a server-backed one later)."""

    @abstractmethod
    def append_batch(
        self, requests: Sequence[AppendRequest], *, actor: str = "system",
        recorded_at: dt.datetime | None = None,
    ) -> list[Record]:
        """Append several streams' events atomically: all are committed, or none (on conflict or error)."""

    def append(
        self, stream: str, events: Sequence[Event], expected_version: int = ANY, *,
        actor: str = "system", recorded_at: dt.datetime | None = None,
    ) -> list[Record]:
        return self.append_batch([AppendRequest(stream, events, expected_version)],
                                 actor=actor, recorded_at=recorded_at)

    @abstractmethod
    def read(self, after: int = 0, until: int | None = None) -> Iterator[Record]:
        """Records with `after < position <= until` (default: up to the head seen when called), in order."""

    @abstractmethod
    def read_raw(self, after: int = 0, until: int | None = None) -> Iterator[tuple[int, bytes | memoryview]]:
        """(position, encoded record) pairs: for verification and fast scans."""

    @abstractmethod
    def get(self, position: int) -> Record: ...

    @abstractmethod
    def head(self) -> int:
        """The position of the last committed record (0 when empty), as committed by any process."""

    @abstractmethod
    def stream_version(self, stream: str) -> int: ...

    def wait(self, after: int, timeout: float) -> int:
        """Block until the head passes `after` or `timeout` runs out; return the head. Tailing without locks."""
        deadline = time.monotonic() + timeout
        while True:
            head = self.head()
            if head > after or time.monotonic() >= deadline:
                return head
            time.sleep(0.02)

    def stored_bytes(self) -> int:
        """What a server-backed log takes on its server; 0 when the log is not on a server."""
        return 0

    def stored_problems(self) -> list[LogProblem]:
        """Damage the store itself can name beyond what `read_raw` shows (a server-side log checks each row's
        bytes against the hash stored beside them); `verify_log` adds them to its own findings."""
        return []

    def close(self) -> None:  # noqa: B027 - optional hook
        pass

    def __enter__(self) -> Log:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _check_expected(stream: str, expected: int, actual: int) -> None:
    if expected == ANY:
        return
    if expected != actual:
        raise ConflictError(stream, expected, actual)


def _plan(
    requests: Sequence[AppendRequest], versions: dict[str, int], head: int, prev_hash: bytes,
    actor: str, recorded_at: dt.datetime,
) -> tuple[list[Record], list[bytes], bytes, dict[str, int]]:
    """Check every expectation, then assign positions, versions and the hash chain (shared by all logs)."""
    if not requests or not any(r.events for r in requests):
        raise ValueError("nothing to append")
    if recorded_at.tzinfo is None:
        raise ValueError("recorded_at must be timezone-aware (UTC)")
    new_versions: dict[str, int] = {}
    for r in requests:
        if not r.stream:
            raise ValueError("stream id must not be empty")
        actual = new_versions.get(r.stream, versions.get(r.stream, 0))
        _check_expected(r.stream, r.expected_version, actual)
        new_versions[r.stream] = actual + len(r.events)
    records: list[Record] = []
    payloads: list[bytes] = []
    position = head
    running: dict[str, int] = {}
    encode = _encoder.encode
    sha256 = hashlib.sha256
    for r in requests:
        stream = r.stream
        version = running.get(stream)
        if version is None:
            version = versions.get(stream, 0)
        at, who = r.recorded_at or recorded_at, r.actor or actor
        for event in r.events:
            if not isinstance(event, Event):
                raise TypeError(f"not an event: {event!r}")
            position += 1
            version += 1
            rec = Record(position, stream, version, at, who, prev_hash, event)  # type: ignore[arg-type]
            payload = encode(rec)
            if len(payload) > MAX_RECORD_BYTES:
                raise ValueError(f"record for {stream!r} is {len(payload)} bytes; the limit is {MAX_RECORD_BYTES}")
            prev_hash = sha256(payload).digest()
            records.append(rec)
            payloads.append(payload)
        running[stream] = version
    return records, payloads, prev_hash, new_versions


class MemoryLog(Log):
    """The same contract in memory: for tests and for projections that need no durability."""

    def __init__(self) -> None:
        self._records: list[Record] = []
        self._versions: dict[str, int] = {}
        self._last_hash = GENESIS_HASH
        self._lock = threading.Lock()

    def append_batch(self, requests, *, actor="system", recorded_at=None):  # type: ignore[no-untyped-def]
        with self._lock:
            records, _, last_hash, new_versions = _plan(
                requests, self._versions, len(self._records), self._last_hash, actor, recorded_at or utcnow())
            self._records.extend(records)
            self._versions.update(new_versions)
            self._last_hash = last_hash
            return records

    def read_raw(self, after: int = 0, until: int | None = None) -> Iterator[tuple[int, bytes]]:
        for rec in self.read(after, until):
            yield rec.position, _encoder.encode(rec)

    def read(self, after: int = 0, until: int | None = None) -> Iterator[Record]:
        end = len(self._records) if until is None else min(until, len(self._records))
        for i in range(max(after, 0), end):
            yield self._records[i]

    def get(self, position: int) -> Record:
        if not 1 <= position <= len(self._records):
            raise KeyError(position)
        return self._records[position - 1]

    def head(self) -> int:
        return len(self._records)

    def stream_version(self, stream: str) -> int:
        return self._versions.get(stream, 0)


@dataclass
class _Segment:
    path: Path
    first: int  # position of its first record
    offsets: array  # file offset of each committed record's frame, index = position - first
    end: int  # file offset just past the last committed frame
    crc: int = 0  # crc32 of the file's bytes [0, end), as scanned or written by this process
    last_hash: bytes = GENESIS_HASH  # hash of its last record (of the one before it while it has none)
    versions: dict[str, int] | None = None  # the last version of each stream in it; None once summarised
    summarised: bool = False  # has a sealed summary (or was given up on): nothing more to do
    summary_end: int = 0  # `end` of the summary known to be on disk
    verified: tuple[int, int, int, int] | None = None  # identity of the file when its bytes were known good

    @property
    def count(self) -> int:
        return len(self.offsets)


class _Summary(msgspec.Struct, frozen=True, array_like=True):
    """What an open needs of a segment's first `end` bytes, and what identifies them."""

    first: int
    count: int
    end: int  # = the file size
    ino: int
    ctime_ns: int
    mtime_ns: int
    crc: int  # crc32 of the segment's bytes [0, end)
    last_hash: bytes
    offsets: bytes  # array("Q"), little-endian
    versions: msgspec.Raw  # dict[str, int]: the last version of each stream in the segment
    sealed: bool  # the identity may vouch for the bytes; otherwise only their CRC may


_summary_decoder = msgspec.msgpack.Decoder(_Summary)
_versions_decoder = msgspec.msgpack.Decoder(dict[str, int])


def _merge_versions(into: dict[str, int], versions: dict[str, int]) -> None:
    """A stream's version only grows along the log, so merging segments in any order keeps the highest."""
    if not into:
        into.update(versions)
        return
    get = into.get
    into.update({k: v for k, v in versions.items() if v > get(k, 0)})


def summary_path(segment: Path) -> Path:
    return segment.with_suffix(".sum")


def _identity(st: os.stat_result) -> tuple[int, int, int, int]:
    return st.st_size, st.st_ino, st.st_ctime_ns, st.st_mtime_ns


def _aged(ident: tuple[int, int, int, int]) -> bool:
    """Untouched long enough that any later change will show in the ctime (see SUMMARY_MIN_AGE_NS)."""
    return time.time_ns() - max(ident[2], ident[3]) >= SUMMARY_MIN_AGE_NS


def _crc_of(fd: int, end: int) -> int:
    crc, pos = 0, 0
    while pos < end:
        chunk = os.pread(fd, min(8 << 20, end - pos), pos)
        if not chunk:
            return -1
        crc = zlib.crc32(chunk, crc)
        pos += len(chunk)
    return crc


def _offsets_bytes(offsets: array) -> bytes:
    if sys.byteorder == "little":
        return offsets.tobytes()
    swapped = array("Q", offsets)
    swapped.byteswap()
    return swapped.tobytes()


class _Stop(NamedTuple):
    offset: int
    reason: str  # "eof": clean end; otherwise what is wrong at `offset`


class FileLog(Log):
    """The embedded, durable log. Safe for many threads and many processes on one machine."""

    def __init__(self, root: str | os.PathLike[str], *, ops: FileOps = DEFAULT_OPS,
                 segment_bytes: int = DEFAULT_SEGMENT_BYTES, readonly: bool = False,
                 summaries: bool = True) -> None:
        """`summaries=False` reads every frame of every segment and writes no summary (what `verify` uses)."""
        self.root = Path(root)
        self.ops = ops
        self.segment_bytes = segment_bytes
        self.readonly = readonly
        self.summaries = summaries
        self._next_summary_try = 0.0
        self._mutex = threading.RLock()
        self._segments: list[_Segment] = []
        self._versions: dict[str, int] = {}
        self._unmerged: list[msgspec.Raw] = []  # summaries' stream versions, decoded when first needed
        self._head = 0
        self._last_hash = GENESIS_HASH
        self._corruption: CorruptionError | None = None
        self._tail_pending: _Stop | None = None
        self._pending_segment: Path | None = None
        self._read_fds: dict[Path, int] = {}
        self._lock_fd: int | None = None
        if not readonly:
            self.root.mkdir(parents=True, exist_ok=True)
            (self.root / "torn").mkdir(exist_ok=True)
            self._lock_fd = os.open(self.root / "LOCK", os.O_RDWR | os.O_CREAT, 0o644)
        elif not self.root.is_dir():
            raise FileNotFoundError(f"no log at {self.root}")
        with self._mutex:
            self._refresh()
            if self._tail_pending is not None and not readonly:
                with self._write_lock():
                    pass  # the lock's catch-up cuts the torn tail
            self._summarise()

    # --- reading ------------------------------------------------------------------------------------------

    def head(self) -> int:
        with self._mutex:
            self._refresh()
            return self._head

    def stream_version(self, stream: str) -> int:
        with self._mutex:
            self._refresh()
            return self._merged_versions().get(stream, 0)

    @property
    def corruption(self) -> CorruptionError | None:
        return self._corruption

    def read(self, after: int = 0, until: int | None = None) -> Iterator[Record]:
        # Replay speed is per-record Python overhead: records are decoded READ_CHUNK at a time by one msgspec
        # call, and handed out by `chain` (C) rather than by resuming a generator for each one.
        return itertools.chain.from_iterable(self._read_chunks(after, until))

    def _read_chunks(self, after: int, until: int | None) -> Iterator[Iterable[Record]]:
        # Frames are contiguous, so a payload runs from its frame's header to the next frame.
        skip = FRAME_HEADER.size + 1
        for seg, start_pos, stop_pos, view, base in self._ranges(after, until):
            a, b = start_pos - seg.first, stop_pos - seg.first
            starts = seg.offsets[a: b + 1].tolist()
            ends = starts[1:]
            ends.append(self._frame_end(seg, stop_pos))
            for i in range(0, len(starts), READ_CHUNK):
                payloads = [view[s - base + skip: e - base]
                            for s, e in zip(starts[i: i + READ_CHUNK], ends[i: i + READ_CHUNK], strict=True)]
                yield decode_records(payloads, start_pos + i)

    def read_raw(self, after: int = 0, until: int | None = None) -> Iterator[tuple[int, memoryview]]:
        """(position, msgpack bytes) of each record: what `verify` and fast scans need."""
        for seg, start_pos, stop_pos, view, base in self._ranges(after, until):
            for pos in range(start_pos, stop_pos + 1):
                off = seg.offsets[pos - seg.first] - base
                _, length, _ = FRAME_HEADER.unpack_from(view, off)
                body = off + FRAME_HEADER.size
                yield pos, view[body + 1: body + length]

    def _ranges(self, after: int, until: int | None) -> Iterator[tuple[_Segment, int, int, memoryview, int]]:
        """(segment, first and last position, their bytes, file offset of those bytes) up to the head now."""
        with self._mutex:
            self._refresh()
            end = self._head if until is None else min(until, self._head)
            segments = list(self._segments)
        if after >= end:
            return
        firsts = [s.first for s in segments]
        i = max(bisect.bisect_right(firsts, after + 1) - 1, 0)
        for seg in segments[i:]:
            if seg.first > end:
                break
            start_pos = max(after + 1, seg.first)
            stop_pos = min(end, seg.first + seg.count - 1)
            if start_pos > stop_pos:
                continue
            data = self._read_range(seg, seg.offsets[start_pos - seg.first],
                                    self._frame_end(seg, stop_pos))
            yield seg, start_pos, stop_pos, memoryview(data), seg.offsets[start_pos - seg.first]

    def get(self, position: int) -> Record:
        # A position this view already holds is read without scanning the folder (a search reads ten bodies
        # for its snippets): only an undone append -- the last segment shorter than the view -- needs one.
        with self._mutex:
            segments = self._segments
            if 0 < position <= self._head and segments and \
                    os.fstat(self._read_fds[segments[-1].path]).st_size >= segments[-1].end:
                seg = segments[bisect.bisect_right([s.first for s in segments], position) - 1]
                start = seg.offsets[position - seg.first]
                data = self._read_range(seg, start, self._frame_end(seg, position))
                return decode_record(memoryview(data)[FRAME_HEADER.size + 1:])
        for _, payload in self.read_raw(position - 1, position):
            return decode_record(payload)
        raise KeyError(position)

    def segments(self) -> list[tuple[Path, int, int]]:
        """(path, first position, record count) of each segment."""
        with self._mutex:
            self._refresh()
            return [(s.path, s.first, s.count) for s in self._segments]

    def _frame_end(self, seg: _Segment, position: int) -> int:
        idx = position - seg.first
        return seg.offsets[idx + 1] if idx + 1 < seg.count else seg.end

    def _read_range(self, seg: _Segment, start: int, end: int) -> bytes:
        if seg.path not in self._read_fds:
            self._read_fds[seg.path] = os.open(seg.path, os.O_RDONLY)
        return os.pread(self._read_fds[seg.path], end - start, start)

    # --- scanning (lock-free) -----------------------------------------------------------------------------

    def _segment_paths(self) -> list[Path]:
        return sorted(p for p in self.root.glob("*.seg") if p.stem.isdigit())

    def _refresh(self) -> None:
        """Bring the in-memory view up to the log's committed end. Lock-free: safe beside a live writer."""
        # The tail's state is re-derived by every scan: a stale one could cut what another writer committed.
        self._tail_pending = None
        self._pending_segment = None
        paths = self._segment_paths()
        known = {s.path for s in self._segments}
        if self._segments:
            last = self._segments[-1]
            if os.fstat(self._read_fds[last.path]).st_size < last.end:
                # A failed append was undone after this process saw it: forget the view and scan again.
                self._reset()
                known = set()
            elif not self._scan(last) or not paths or paths[-1] == last.path:
                return
        for path in paths:
            if path in known:
                continue
            # Not a known segment: open it afresh (an fd kept from a removed torn segment of the same name
            # would show the old file).
            old = self._read_fds.pop(path, None)
            if old is not None:
                os.close(old)
            try:
                self._read_fds[path] = fd = os.open(path, os.O_RDONLY)
            except FileNotFoundError:
                return
            header = os.pread(fd, SEGMENT_HEADER.size, 0)
            if len(header) < SEGMENT_HEADER.size:
                if path != paths[-1]:
                    self._set_corrupt(path, 0, self._head + 1, "segment header incomplete")
                    return
                # A segment torn at creation: nothing committed in it yet.
                self._tail_pending = _Stop(0, "segment header incomplete")
                self._pending_segment = path
                return
            magic, first = SEGMENT_HEADER.unpack(header)
            if magic != SEGMENT_MAGIC or first != self._head + 1:
                self._set_corrupt(path, 0, self._head + 1,
                                  "bad segment header" if magic != SEGMENT_MAGIC
                                  else f"segment starts at position {first}, expected {self._head + 1}")
                return
            seg = self._load_summary(path, fd, first) if self.summaries else None
            if seg is None:
                ident = _identity(os.fstat(fd))
                aged = _aged(ident)  # before reading: a change after the read must then move the ctime
                seg = _Segment(path, first, array("Q"), SEGMENT_HEADER.size, crc=zlib.crc32(header),
                               versions={} if self.summaries and not self.readonly else None)
                self._segments.append(seg)
                if not self._scan(seg):
                    return
                if aged and seg.end == ident[0]:
                    seg.verified = ident  # scanned whole; while the identity stays, so do the bytes
                continue
            self._segments.append(seg)
            if not self._scan(seg):  # what follows a summarised prefix
                return

    def _load_summary(self, path: Path, fd: int, first: int) -> _Segment | None:
        """The segment's state from its summary when the summary matches the file (see the module's
        docstring), with the view's head, hash and versions advanced past it; None: scan the segment."""
        try:
            raw = summary_path(path).read_bytes()
        except OSError:
            return None
        if len(raw) < SUMMARY_HEADER.size:
            return None
        magic, crc = SUMMARY_HEADER.unpack_from(raw)
        body = memoryview(raw)[SUMMARY_HEADER.size:]
        if magic != SUMMARY_MAGIC or zlib.crc32(body) != crc:
            return None
        try:
            s = _summary_decoder.decode(body)
        except (msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError):
            return None
        ident = _identity(os.fstat(fd))
        if s.first != first or s.count < 1 or len(s.offsets) != 8 * s.count or s.end > ident[0]:
            return None
        offsets = array("Q")
        offsets.frombytes(s.offsets)
        if sys.byteorder != "little":
            offsets.byteswap()
        if offsets[0] != SEGMENT_HEADER.size or not offsets[-1] < s.end:
            return None
        verified = None
        if not (s.sealed and ident == (s.end, s.ino, s.ctime_ns, s.mtime_ns)):
            aged = _aged(ident)  # before reading: a change after the read must then move the ctime
            if _crc_of(fd, s.end) != s.crc:
                return None
            verified = ident if aged and ident[0] == s.end else None
        # The ends of the summarised range must be what the file holds: the first record continues the chain
        # from the previous segment, the last one is a whole committed frame with the recorded hash.
        first_payload = self._frame_payload(fd, offsets[0], offsets[1] if s.count > 1 else s.end)
        last_payload = self._frame_payload(fd, offsets[-1], s.end)
        if first_payload is None or last_payload is None or not last_payload[0] & FLAG_COMMIT:
            return None
        try:
            head_rec = decode_record(first_payload[1:])
            last_env = _envelope_decoder.decode(last_payload[1:])
        except (msgspec.DecodeError, msgspec.ValidationError):
            return None
        if (head_rec.position != first or head_rec.prev_hash != self._last_hash
                or last_env.position != first + s.count - 1 or record_hash(last_payload[1:]) != s.last_hash):
            return None
        trusted = s.sealed and ident == (s.end, s.ino, s.ctime_ns, s.mtime_ns)
        versions = None
        if trusted:
            self._unmerged.append(s.versions)  # a search never needs them: decode on the first append
        else:
            try:
                versions = _versions_decoder.decode(s.versions)
            except (msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError):
                return None
            _merge_versions(self._versions, versions)
        seg = _Segment(path, first, offsets, s.end, crc=s.crc, last_hash=s.last_hash, versions=versions,
                       summarised=trusted, summary_end=s.end, verified=verified)
        self._head = first + s.count - 1
        self._last_hash = s.last_hash
        return seg

    @staticmethod
    def _frame_payload(fd: int, start: int, end: int) -> bytes | None:
        """flags + record bytes of the one whole frame in [start, end) with a good CRC, else None."""
        data = os.pread(fd, end - start, start)
        if len(data) != end - start or len(data) < FRAME_HEADER.size + 2:
            return None
        magic, length, crc = FRAME_HEADER.unpack_from(data)
        body = data[FRAME_HEADER.size:]
        if magic != MAGIC or length != len(body) or zlib.crc32(body) != crc:
            return None
        return body

    def _summarise(self, closing: bool = False) -> None:
        """Write the summaries this writer can vouch for (see the module's docstring): sealed ones for old
        segments, CRC-checked ones for fresh segments and for the active one once it grew by an eighth of a
        segment (a 64th at close: a one-event CLI command need not rewrite it). A cache, so any failure just
        leaves a segment to be scanned by the next open.
        Plain `os` calls: injected faults are for what the log promises, and a summary promises nothing."""
        if self.readonly or not self.summaries or self._corruption is not None or self._lock_fd is None:
            return
        self._next_summary_try = time.monotonic() + 1.0
        if not self._summaries_due(closing):
            return
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return  # another process is appending: never wait for a cache, try again later
        try:
            self._refresh()  # what others appended, or undid, since this view was taken
            if self._corruption is not None:
                return
            for seg in self._summaries_due(closing):
                try:
                    self._write_summary(seg, sealed=seg is not self._segments[-1])
                except OSError:
                    seg.summarised = True  # do not retry in this process; the next open scans it
        finally:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)

    def _summaries_due(self, closing: bool) -> list[_Segment]:
        todo = [s for s in self._segments[:-1] if not s.summarised]
        if self._segments:
            last = self._segments[-1]
            step = max(self.segment_bytes // (64 if closing else 8), 1)
            if last.versions is not None and last.count and last.end - last.summary_end >= step:
                todo.append(last)
        return todo

    def _write_summary(self, seg: _Segment, *, sealed: bool) -> None:
        fd = self._read_fds.get(seg.path)
        if fd is None or seg.versions is None or not seg.count:
            return
        ident = _identity(os.fstat(fd))
        if ident[0] < seg.end:
            seg.summarised = True  # cut shorter than what was scanned: leave it to the scan
            return
        sealed = sealed and ident[0] == seg.end and _aged(ident)
        if sealed and seg.verified != ident:
            if _crc_of(fd, seg.end) != seg.crc or _identity(os.fstat(fd)) != ident:
                seg.summarised = True  # no longer what was scanned: only a full scan may speak for it
                return
        elif not sealed and seg.summary_end == seg.end:
            return  # a CRC-checked summary of these bytes is there already
        body = _encoder.encode(_Summary(seg.first, seg.count, seg.end, ident[1], ident[2], ident[3], seg.crc,
                                        seg.last_hash, _offsets_bytes(seg.offsets),
                                        msgspec.Raw(_encoder.encode(seg.versions)), sealed))
        dest = summary_path(seg.path)
        tmp = dest.with_name(f".{dest.name}.tmp")
        out = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            DEFAULT_OPS.write_all(out, SUMMARY_HEADER.pack(SUMMARY_MAGIC, zlib.crc32(body)) + body)
        finally:
            os.close(out)
        os.replace(tmp, dest)  # no fsync: a summary lost or torn by a crash fails its checks and is rebuilt
        seg.summary_end = seg.end
        if sealed:
            seg.summarised = True
            seg.versions = None

    def _merged_versions(self) -> dict[str, int]:
        """Every stream's version, with what summaries hold merged in (under the mutex)."""
        for raw in self._unmerged:
            _merge_versions(self._versions, _versions_decoder.decode(raw))
        self._unmerged.clear()
        return self._versions

    def _reset(self) -> None:
        for fd in self._read_fds.values():
            with contextlib.suppress(OSError):
                os.close(fd)
        self._read_fds.clear()
        self._segments.clear()
        self._versions.clear()
        self._unmerged.clear()
        self._head = 0
        self._last_hash = GENESIS_HASH

    def _scan(self, seg: _Segment) -> bool:
        """Scan new committed frames of `seg`; True when it ended cleanly (a later segment may follow)."""
        fd = self._read_fds[seg.path]
        size = os.fstat(fd).st_size
        if size == seg.end:
            self._tail_pending = None
            return True
        data = os.pread(fd, size - seg.end, seg.end)
        view = memoryview(data)
        base = seg.end
        off = 0
        n = len(data)
        pending: list[tuple[int, memoryview]] = []  # frames of a batch whose commit we have not seen yet
        hdr = FRAME_HEADER.size
        unpack = FRAME_HEADER.unpack_from
        crc32 = zlib.crc32
        decode_env = _envelope_decoder.decode
        versions = self._versions
        seg_versions = seg.versions if seg.versions is not None else {}
        stop: _Stop | None = None
        last_payload: memoryview | None = None
        while off < n:
            if n - off < hdr:
                stop = _Stop(base + off, "incomplete frame header")
                break
            magic, length, crc = unpack(view, off)
            if magic != MAGIC:
                stop = _Stop(base + off, "bad frame marker")
                break
            if length < 2 or length > MAX_RECORD_BYTES + 1:
                stop = _Stop(base + off, f"impossible frame length {length}")
                break
            end = off + hdr + length
            if end > n:
                stop = _Stop(base + off, "incomplete frame")
                break
            body = view[off + hdr: end]
            if crc32(body) != crc:
                stop = _Stop(base + off, "checksum mismatch")
                break
            pending.append((off, body))
            if body[0] & FLAG_COMMIT:
                expected = self._head + 1
                envs = []
                for f_off, f_body in pending:
                    try:
                        env = decode_env(f_body[1:])
                    except (msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError) as exc:
                        self._set_corrupt(seg.path, base + f_off, expected, f"undecodable record: {exc}")
                        return False
                    if env.position != expected:
                        self._set_corrupt(seg.path, base + f_off, expected,
                                          f"record says position {env.position}")
                        return False
                    envs.append(env)
                    expected += 1
                # Only a whole, valid batch enters the view (a rescan must not index its first frames twice).
                for (f_off, _), env in zip(pending, envs, strict=True):
                    versions[env.stream] = seg_versions[env.stream] = env.version
                    seg.offsets.append(base + f_off)
                last_payload = pending[-1][1][1:]
                self._head = expected - 1
                seg.end = base + end
                pending.clear()
            off = end
        if last_payload is not None:
            self._last_hash = seg.last_hash = record_hash(last_payload)
            seg.crc = crc32(view[: seg.end - base], seg.crc)
        if stop is None and not pending:
            self._tail_pending = None
            return True
        scanned_to = off  # relative offset where scanning stopped
        damaged = stop  # the first bad frame, if any: what a corruption report must name
        damaged_position = self._head + 1 + len(pending)
        if stop is None:
            stop = _Stop(seg.end, "batch without its commit frame")
        elif pending:
            stop = _Stop(seg.end, f"batch without its commit frame, then {stop.reason}")
        # Damage followed by a good frame cannot be a torn tail; nor can damage in a segment that has a
        # successor -- unless the segment was still being written when we read it (a lock-free reader can
        # see a batch half copied, then the segment that followed it).
        corrupt = self._valid_frame_after(view, scanned_to + 1)
        if not corrupt and seg.path != self._segment_paths()[-1]:
            corrupt = os.fstat(fd).st_size == size and os.pread(fd, n, base) == data
        if corrupt:
            if damaged is None:
                self._set_corrupt(seg.path, stop.offset, self._head + 1, stop.reason)
            else:
                self._set_corrupt(seg.path, damaged.offset, damaged_position, damaged.reason)
        else:
            self._tail_pending = stop
        return False

    @staticmethod
    def _valid_frame_after(view: memoryview, start: int) -> bool:
        data = view.obj if isinstance(view.obj, bytes) else bytes(view)
        i = data.find(MAGIC, max(start, 0))
        while i != -1:
            if len(data) - i >= FRAME_HEADER.size:
                _, length, crc = FRAME_HEADER.unpack_from(data, i)
                end = i + FRAME_HEADER.size + length
                if length >= 2 and end <= len(data) and zlib.crc32(view[i + FRAME_HEADER.size: end]) == crc:
                    return True
            i = data.find(MAGIC, i + 1)
        return False

    def _set_corrupt(self, path: Path, offset: int, position: int, detail: str) -> None:
        if self._corruption is None:
            self._corruption = CorruptionError(path.name, offset, position, detail)

    # --- writing ------------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _write_lock(self) -> Iterator[None]:
        if self.readonly or self._lock_fd is None:
            raise LogError("log opened read-only")
        with self._mutex:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
            try:
                self._refresh()
                if self._corruption is not None:
                    raise self._corruption
                if self._tail_pending is not None:
                    try:
                        self._cut_torn_tail()
                    except OSError as exc:
                        raise AppendError(f"could not repair the log's torn tail: {exc.strerror or exc}") from exc
                yield
            finally:
                fcntl.flock(self._lock_fd, fcntl.LOCK_UN)

    def _cut_torn_tail(self) -> None:
        """Under the lock, garbage past the last commit is a crashed writer's: keep it aside, then cut it."""
        pending_seg = self._pending_segment
        if pending_seg is not None and pending_seg.exists() and (
                not self._segments or self._segments[-1].path != pending_seg):
            cut = pending_seg.read_bytes()
            self._keep_torn(pending_seg.name, 0, cut)
            fd = self._read_fds.pop(pending_seg, None)
            if fd is not None:
                os.close(fd)
            pending_seg.unlink()
            self.ops.fsync_dir(self.root)
            self._pending_segment = None
            self._tail_pending = None
            self._refresh()
            if self._tail_pending is None:
                return
        seg = self._segments[-1]
        fd = os.open(seg.path, os.O_RDWR)
        try:
            size = os.fstat(fd).st_size
            cut = os.pread(fd, size - seg.end, seg.end)
            self._keep_torn(seg.path.name, seg.end, cut)
            self.ops.ftruncate(fd, seg.end)
            self.ops.fsync(fd)
        finally:
            os.close(fd)
        self._tail_pending = None

    def _keep_torn(self, name: str, offset: int, data: bytes) -> None:
        torn = self.root / "torn"
        torn.mkdir(exist_ok=True)
        dest = torn / f"{name}.{offset}.{time.time_ns()}.bin"
        fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            self.ops.write_all(fd, data)
            self.ops.fsync(fd)
        finally:
            os.close(fd)
        self.ops.fsync_dir(torn)

    def append_batch(self, requests, *, actor="system", recorded_at=None):  # type: ignore[no-untyped-def]
        with self._write_lock():
            records, payloads, last_hash, new_versions = _plan(
                requests, self._merged_versions(), self._head, self._last_hash, actor, recorded_at or utcnow())
            frames = [frame(p, commit=(i == len(payloads) - 1)) for i, p in enumerate(payloads)]
            seg = self._write(records[0].position, frames)
            self._versions.update(new_versions)
            if seg.versions is not None:
                seg.versions.update(new_versions)
            self._last_hash = seg.last_hash = last_hash
        if time.monotonic() >= self._next_summary_try:
            with self._mutex:
                self._summarise()
        return records

    def _write(self, first_position: int, frames: list[bytes]) -> _Segment:
        seg = self._segments[-1] if self._segments else None
        if seg is None or (seg.end >= self.segment_bytes and seg.count):
            seg = self._new_segment(first_position)
        data = b"".join(frames)
        fd = os.open(seg.path, os.O_WRONLY | os.O_APPEND)
        try:
            try:
                self.ops.write_all(fd, data)
                self.ops.fsync(fd)
            except OSError as exc:
                # Undo what may have reached the file so no half batch lingers; should this fail too,
                # the next writer sees an uncommitted tail and cuts it.
                with contextlib.suppress(OSError):
                    self.ops.ftruncate(fd, seg.end)
                    self.ops.fsync(fd)
                raise AppendError(f"append failed, nothing was written: {exc.strerror or exc}") from exc
        finally:
            os.close(fd)
        offset = seg.end
        for f in frames:
            seg.offsets.append(offset)
            offset += len(f)
        seg.end = offset
        seg.crc = zlib.crc32(data, seg.crc)
        self._head = first_position + len(frames) - 1
        return seg

    def _new_segment(self, first_position: int) -> _Segment:
        path = self.root / f"{first_position:020d}.seg"
        tmp = self.root / f".{path.name}.tmp"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            try:
                self.ops.write_all(fd, SEGMENT_HEADER.pack(SEGMENT_MAGIC, first_position))
                self.ops.fsync(fd)
            finally:
                os.close(fd)
            self.ops.replace(tmp, path)
            self.ops.fsync_dir(self.root)
        except OSError as exc:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise AppendError(f"could not create log segment {path.name}: {exc.strerror or exc}") from exc
        self._read_fds[path] = os.open(path, os.O_RDONLY)
        seg = _Segment(path, first_position, array("Q"), SEGMENT_HEADER.size,
                       crc=zlib.crc32(SEGMENT_HEADER.pack(SEGMENT_MAGIC, first_position)),
                       last_hash=self._last_hash, versions={})
        self._segments.append(seg)
        return seg

    def close(self) -> None:
        with self._mutex:
            if self._lock_fd is not None:
                with contextlib.suppress(OSError):
                    self._summarise(closing=True)
            for fd in self._read_fds.values():
                with contextlib.suppress(OSError):
                    os.close(fd)
            self._read_fds.clear()
            if self._lock_fd is not None:
                os.close(self._lock_fd)
                self._lock_fd = None

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.close()


class LogProblem(msgspec.Struct, frozen=True):
    position: int
    detail: str
    segment: str | None = None
    offset: int | None = None

    def __str__(self) -> str:
        where = f" ({self.segment} byte {self.offset})" if self.segment else ""
        return f"position {self.position}{where}: {self.detail}"


def verify_log(log: Log) -> tuple[int, list[LogProblem]]:
    """Recompute framing, positions, per-stream versions and the hash chain; (records checked, problems).

    Stops at the first broken link: everything after it is suspect, and the first position is what an
    operator needs.
    """
    problems: list[LogProblem] = []
    full: FileLog | None = None
    if isinstance(log, FileLog):
        # Never through summaries: verification reads and checks every frame of every segment.
        log = full = FileLog(log.root, readonly=True, summaries=False)
        if log.corruption is not None:
            c = log.corruption
            problems.append(LogProblem(c.position, c.detail, c.segment, c.offset))
    try:
        problems.extend(log.stored_problems())
        checked = _verify_records(log, problems)
    finally:
        if full is not None:
            full.close()
    problems.sort(key=lambda p: p.position)
    return checked, problems[:1] + [p for p in problems[1:] if p.position != problems[0].position]


def _verify_records(log: Log, problems: list[LogProblem]) -> int:
    prev = GENESIS_HASH
    versions: dict[str, int] = {}
    checked = 0
    expected_pos = 1
    for pos, payload in log.read_raw():
        try:
            rec = decode_record(payload)
        except (msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError) as exc:
            problems.append(LogProblem(pos, f"undecodable record: {exc}"))
            break
        if rec.position != pos or pos != expected_pos:
            problems.append(LogProblem(pos, f"position gap: record says {rec.position}, expected {expected_pos}"))
            break
        if rec.prev_hash != prev:
            problems.append(LogProblem(pos, "hash chain broken: the previous record was altered"))
            break
        if rec.version != versions.get(rec.stream, 0) + 1:
            problems.append(LogProblem(pos, f"stream {rec.stream!r} version {rec.version} out of order"))
            break
        versions[rec.stream] = rec.version
        prev = record_hash(payload)
        expected_pos += 1
        checked += 1
    return checked
