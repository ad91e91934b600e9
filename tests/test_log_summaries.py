"""Segment summaries are a cache of what an open learns by scanning a segment, never the truth.

What each test proves:
- a writer summarises segments (sealed summaries for old segments that are no longer the last one, CRC-checked
  ones for fresh segments and for a prefix of the active one; a read-only open writes nothing); an open
  through the summaries has exactly the state of a full scan, scans only what no summary covers, and appends
  continue the chain;
- a deleted, corrupt, stale or forged summary, or one whose segment was truncated, edited or replaced, is
  ignored: the segment is scanned (damage is reported exactly as without summaries) and a writer rewrites it;
  a copied segment with intact bytes is taken on its CRC;
- `verify_log` never trusts a summary: a change the filesystem did not record (bit rot) is still found;
- `FileLog.read` decodes in bulk and gives the same records, then the same error, as decoding one by one.
"""

from __future__ import annotations

import os
import shutil
import struct
import time
import zlib
from pathlib import Path

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from logtools import flip_byte, segment_files, tagged

import store.log as store_log
from store.events import ArticleTagged
from store.log import (
    FRAME_HEADER,
    SEGMENT_HEADER,
    SUMMARY_HEADER,
    SUMMARY_MAGIC,
    AppendRequest,
    CorruptionError,
    FileLog,
    decode_record,
    decode_records,
    encode_record,
    frame,
    summary_path,
    verify_log,
)

AGE_NS = 50_000_000  # well above the filesystem clock's tick, well below a test's patience


@pytest.fixture(autouse=True)
def _short_age(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store_log, "SUMMARY_MIN_AGE_NS", AGE_NS)


def _age() -> None:
    time.sleep(2 * AGE_NS / 1e9)


def _build(root: Path, batches: list[int], segment_bytes: int = 400, prefix: str = "b") -> None:
    log = FileLog(root, segment_bytes=segment_bytes, summaries=False)
    for k, n in enumerate(batches):
        log.append_batch([AppendRequest(f"s{k % 3}", [ArticleTagged(tag=f"{prefix}{k}:{i}") for i in range(n)]),
                          AppendRequest(f"t{k % 5}", tagged(f"{prefix}{k}:x"))])
    log.close()


def _read_summary(path: Path) -> store_log._Summary:
    return msgspec.msgpack.decode(path.read_bytes()[SUMMARY_HEADER.size:], type=store_log._Summary)


def _summarised(root: Path, batches: list[int] | None = None, segment_bytes: int = 400) -> list[Path]:
    """A log whose segments all have summaries (written by a writer's open, once they are old): sealed ones
    but for the active segment's."""
    _build(root, batches or [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5], segment_bytes)
    _age()
    FileLog(root, segment_bytes=segment_bytes).close()
    segs = segment_files(root)
    assert len(segs) >= 4
    assert [_read_summary(summary_path(s)).sealed for s in segs] == [True] * (len(segs) - 1) + [False]
    return segs


def _state(log: FileLog) -> tuple:
    return (log.head(), dict(log._merged_versions()), log._last_hash, log.corruption and str(log.corruption),
            [(p.name, first, count) for p, first, count in log.segments()],
            [(s.end, s.offsets.tolist()) for s in log._segments], list(log.read()))


def _full_state(root: Path) -> tuple:
    log = FileLog(root, readonly=True, summaries=False)
    try:
        return _state(log)
    finally:
        log.close()


@pytest.fixture
def scans(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Names of the segments scanned frame by frame (first scans: not the re-scans of the active tail)."""
    seen: list[str] = []
    real = FileLog._scan

    def spy(self: FileLog, seg):  # type: ignore[no-untyped-def]
        if seg.end == SEGMENT_HEADER.size:
            seen.append(seg.path.name)
        return real(self, seg)

    monkeypatch.setattr(FileLog, "_scan", spy)
    return seen


_flip = flip_byte


def _rewrite_summary(path: Path, **changes: object) -> None:
    """Edit a summary's fields and give it a valid checksum again (a forged or stale summary)."""
    body = msgspec.msgpack.encode(msgspec.structs.replace(_read_summary(path), **changes))
    path.write_bytes(SUMMARY_HEADER.pack(SUMMARY_MAGIC, zlib.crc32(body)) + body)


# --- written, used, equal ----------------------------------------------------------------------------------


@pytest.mark.parametrize("segment_bytes", [120, 400, 2000])
def test_open_through_summaries_equals_a_full_scan(tmp_path: Path, segment_bytes: int,
                                                   scans: list[str]) -> None:
    root = tmp_path / "log"
    _summarised(root, [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9], segment_bytes)
    full = _full_state(root)
    scans.clear()
    log = FileLog(root, segment_bytes=segment_bytes)
    assert scans == []  # no segment is read frame by frame
    assert _state(log) == full
    for s in ("s0", "s1", "s2", "t0", "t4", "nope"):
        assert log.stream_version(s) == FileLog(root, readonly=True, summaries=False).stream_version(s)
    [rec] = log.append("s1", tagged("after"), full[1]["s1"])
    assert rec.position == full[0] + 1
    assert rec.prev_hash == full[2]
    assert verify_log(log) == (full[0] + 1, [])
    log.close()
    assert verify_log(FileLog(root, readonly=True)) == (full[0] + 1, [])


def test_a_log_without_summaries_opens_as_before_and_a_writer_adds_them(tmp_path: Path, scans: list[str]) -> None:
    root = tmp_path / "log"
    _build(root, [3, 1, 4, 1, 5, 9, 2, 6])
    segs = segment_files(root)
    assert not list(root.glob("*.sum"))
    _age()
    ro = FileLog(root, readonly=True)
    assert scans == [s.name for s in segs]
    assert _state(ro) == _full_state(root)
    ro.close()
    assert not list(root.glob("*.sum"))  # a read-only open writes nothing
    FileLog(root).close()
    # the active segment is smaller than what is worth summarising at close (a 64th of a segment)
    assert sorted(root.glob("*.sum")) == [summary_path(s) for s in segs[:-1]]
    FileLog(root, segment_bytes=400).close()
    assert sorted(root.glob("*.sum")) == [summary_path(s) for s in segs]
    assert not list(root.glob(".*"))  # no temporary file left behind
    scans.clear()
    assert _state(FileLog(root, readonly=True)) == _full_state(root)
    assert scans == [s.name for s in segs]  # (_full_state's)


def test_fresh_segments_get_crc_checked_summaries(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  scans: list[str]) -> None:
    """Too fresh for their identity to vouch for them: their bytes are checked, so even an edit in the same
    clock tick as the last write is found at open."""
    monkeypatch.setattr(store_log, "SUMMARY_MIN_AGE_NS", 60 * 10**9)
    root = tmp_path / "log"
    _build(root, [3, 1, 4, 1, 5, 9, 2, 6])
    FileLog(root, segment_bytes=400).close()
    segs = segment_files(root)
    assert [_read_summary(summary_path(s)).sealed for s in segs] == [False] * len(segs)
    full = _full_state(root)
    scans.clear()
    assert _state(FileLog(root, readonly=True)) == full
    assert scans == []
    _flip(segs[1], segs[1].stat().st_size // 2)
    _same_damage_report(root)


def test_a_long_running_writer_summarises_what_it_sealed(tmp_path: Path, scans: list[str]) -> None:
    root = tmp_path / "log"
    log = FileLog(root, segment_bytes=300)
    for k in range(12):
        log.append(f"s{k % 4}", tagged(f"a{k}", f"b{k}"))
    assert not list(root.glob("*.sum"))
    _age()
    log._next_summary_try = 0.0  # the once-a-second rate limit
    log.append("s0", tagged("late"))
    segs = segment_files(root)
    assert len(segs) > 3
    assert [_read_summary(summary_path(s)).sealed for s in segs] == [True] * (len(segs) - 1) + [False]
    full = _full_state(root)
    scans.clear()
    again = FileLog(root, readonly=True)
    assert scans == []
    assert _state(again) == _state(log) == full


def test_the_active_segment_is_scanned_only_past_its_summary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                            scans: list[str]) -> None:
    root = tmp_path / "log"
    log = FileLog(root, segment_bytes=100_000)
    for k in range(40):
        log.append(f"s{k % 4}", tagged(f"a{k}", f"b{k}"))
    log._next_summary_try = 0.0
    log._summarise(closing=True)
    [seg] = segment_files(root)
    covered = _read_summary(summary_path(seg))
    assert covered.count == 80
    for k in range(5):
        log.append(f"t{k}", tagged(f"late{k}"))  # not summarised yet (rate limit, and not an eighth)
    assert _read_summary(summary_path(seg)).count == 80
    read_from: list[int] = []
    real = FileLog._scan

    def spy(self: FileLog, s):  # type: ignore[no-untyped-def]
        read_from.append(s.end)
        return real(self, s)

    monkeypatch.setattr(FileLog, "_scan", spy)
    again = FileLog(root, readonly=True)
    assert read_from == [covered.end]
    assert _state(again) == _full_state(root)
    assert again.head() == 85
    # cut back below the summarised end (as an operator restoring an older copy would): the summary is ignored
    log.close()
    with open(seg, "r+b") as f:
        f.truncate(covered.end - 1)
    plain = _full_state(root)
    assert _state(FileLog(root, readonly=True)) == plain


# --- deleted, corrupt, stale, forged -----------------------------------------------------------------------


def test_deleted_summary_is_scanned_then_rewritten(tmp_path: Path, scans: list[str]) -> None:
    root = tmp_path / "log"
    segs = _summarised(root)
    full = _full_state(root)
    victim = summary_path(segs[2])
    original = victim.read_bytes()
    victim.unlink()
    scans.clear()
    log = FileLog(root)
    assert scans == [segs[2].name]
    assert _state(log) == full
    log.close()
    assert victim.read_bytes() == original


@pytest.mark.parametrize("damage", ["magic", "checksum", "body start", "body middle", "body end", "truncated",
                                    "empty", "garbage", "valid msgpack, wrong shape"])
def test_corrupt_summary_is_ignored_then_rewritten(tmp_path: Path, damage: str, scans: list[str]) -> None:
    root = tmp_path / "log"
    segs = _summarised(root)
    full = _full_state(root)
    victim = summary_path(segs[1])
    original = victim.read_bytes()
    n = len(original)
    if damage in ("magic", "checksum", "body start", "body middle", "body end"):
        _flip(victim, {"magic": 3, "checksum": 9, "body start": SUMMARY_HEADER.size, "body middle": n // 2,
                       "body end": n - 1}[damage])
    elif damage == "truncated":
        victim.write_bytes(original[: n - 7])
    elif damage == "empty":
        victim.write_bytes(b"")
    elif damage == "garbage":
        victim.write_bytes(os.urandom(n))
    else:
        body = msgspec.msgpack.encode([1, 2, 3])
        victim.write_bytes(SUMMARY_HEADER.pack(SUMMARY_MAGIC, zlib.crc32(body)) + body)
    scans.clear()
    log = FileLog(root)
    assert scans == [segs[1].name]
    assert _state(log) == full
    log.close()
    assert victim.read_bytes() == original


@pytest.mark.parametrize("field", ["first", "count", "end", "crc", "last_hash", "offsets", "first offset",
                                   "last offset", "count and offsets", "end and crc"])
@pytest.mark.parametrize("seg_index", [2, -1])
def test_summary_that_does_not_match_its_segment_is_ignored(tmp_path: Path, field: str, seg_index: int,
                                                             scans: list[str]) -> None:
    root = tmp_path / "log"
    segs = _summarised(root)
    full = _full_state(root)
    victim = summary_path(segs[seg_index])
    s = _read_summary(victim)
    offs = list(struct.unpack(f"<{s.count}Q", s.offsets))
    data = segs[seg_index].read_bytes()
    change: dict[str, object] = {
        "first": {"first": s.first + 1}, "count": {"count": s.count - 1}, "end": {"end": s.end - 1},
        "crc": {"crc": s.crc ^ 1}, "last_hash": {"last_hash": bytes(32)}, "offsets": {"offsets": s.offsets[:-8]},
        "first offset": {"offsets": struct.pack(f"<{s.count}Q", offs[0] + 1, *offs[1:])},
        "last offset": {"offsets": struct.pack(f"<{s.count}Q", *offs[:-1], offs[-1] - 1)},
        # a summary that claims a shorter segment, consistently but for its last record
        "count and offsets": {"count": s.count - 1, "offsets": s.offsets[:-8]},
        "end and crc": {"end": offs[-1], "crc": zlib.crc32(data[: offs[-1]])},
    }[field]
    _rewrite_summary(victim, **change)
    scans.clear()
    log = FileLog(root, readonly=True)
    if field == "crc" and s.sealed:
        assert scans == []  # a sealed summary that matches on identity is not re-read: its CRC is not used
    else:
        assert scans == [segs[seg_index].name]
    assert _state(log) == full


@pytest.mark.parametrize("field", ["ino", "ctime_ns", "mtime_ns", "sealed"])
def test_a_summary_whose_identity_does_not_match_is_checked_by_crc(tmp_path: Path, field: str,
                                                                   scans: list[str]) -> None:
    root = tmp_path / "log"
    segs = _summarised(root)
    full = _full_state(root)
    victim = summary_path(segs[2])
    s = _read_summary(victim)
    _rewrite_summary(victim, **{field: (not s.sealed) if field == "sealed" else getattr(s, field) + 1})
    crcs: list[int] = []
    real = store_log._crc_of

    def spy(fd: int, end: int) -> int:
        crcs.append(end)
        return real(fd, end)

    store_log._crc_of = spy  # type: ignore[assignment]
    try:
        scans.clear()
        log = FileLog(root, readonly=True)
    finally:
        store_log._crc_of = real  # type: ignore[assignment]
    assert crcs == [s.end, _read_summary(summary_path(segs[-1])).end]
    assert scans == []
    assert _state(log) == full


def test_summaries_of_another_log_are_ignored(tmp_path: Path, scans: list[str]) -> None:
    """A stale summary: same segment names and sizes, other bytes (another log, or an older copy)."""
    a, b = tmp_path / "a", tmp_path / "b"
    segs_a = _summarised(a)
    _build(b, [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5], prefix="c")  # same shape, other tags: same sizes
    segs_b = segment_files(b)
    assert [s.stat().st_size for s in segs_a] == [s.stat().st_size for s in segs_b]
    for s in segs_a:
        shutil.copy(summary_path(s), summary_path(b / s.name))
    full = _full_state(b)
    scans.clear()
    log = FileLog(b, readonly=True)
    assert scans == [s.name for s in segs_b]
    assert _state(log) == full
    # even with the identity of b's files forged in, the content does not match
    for s in segs_b[:-1]:
        st_ = s.stat()
        _rewrite_summary(summary_path(s), ino=st_.st_ino, ctime_ns=st_.st_ctime_ns, mtime_ns=st_.st_mtime_ns,
                         sealed=True)
    scans.clear()
    log = FileLog(b, readonly=True)
    assert scans == [s.name for s in segs_b]
    assert _state(log) == full


def test_a_copied_log_is_taken_on_its_crcs_then_sealed_again(tmp_path: Path, scans: list[str]) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    segs = _summarised(a)
    shutil.copytree(a, b)  # new inodes and ctimes: the summaries' identities do not match the copies
    scans.clear()
    log = FileLog(b)
    assert scans == []
    assert _state(log) == _full_state(a)
    log.close()
    _age()
    FileLog(b).close()
    for s in segs[:-1]:
        summary = _read_summary(summary_path(b / s.name))
        assert summary.sealed and summary.ino == (b / s.name).stat().st_ino


# --- damage to summarised segments ---------------------------------------------------------------------------


def _same_damage_report(root: Path) -> None:
    """An open through (rejected) summaries reports what a summary-free open reports, and refuses appends."""
    plain = FileLog(root, readonly=True, summaries=False)
    log = FileLog(root)
    assert plain.corruption is not None
    assert log.corruption is not None
    assert (log.corruption.segment, log.corruption.offset, log.corruption.position, log.corruption.detail) == (
        plain.corruption.segment, plain.corruption.offset, plain.corruption.position, plain.corruption.detail)
    assert _state(log) == _state(plain)
    checked, problems = verify_log(log)
    assert checked == log.head()
    assert problems and problems[0].position == plain.corruption.position
    with pytest.raises(CorruptionError):
        log.append("x", tagged("refused"))


@pytest.mark.parametrize("cut", [1, FRAME_HEADER.size, 40])
def test_truncated_summarised_segment_is_reported(tmp_path: Path, cut: int) -> None:
    root = tmp_path / "log"
    segs = _summarised(root)
    seg = segs[2]
    with open(seg, "r+b") as f:
        f.truncate(seg.stat().st_size - cut)
    _same_damage_report(root)


@pytest.mark.parametrize("where", ["first frame", "middle", "last byte"])
def test_flipped_byte_in_a_summarised_segment_is_reported_at_open(tmp_path: Path, where: str) -> None:
    root = tmp_path / "log"
    segs = _summarised(root)
    seg = segs[2]
    size = seg.stat().st_size
    _flip(seg, {"first frame": SEGMENT_HEADER.size + 2, "middle": size // 2, "last byte": size - 1}[where])
    _same_damage_report(root)


def test_rewritten_record_in_a_summarised_segment_breaks_the_chain(tmp_path: Path) -> None:
    root = tmp_path / "log"
    segs = _summarised(root)
    seg = segs[1]
    log = FileLog(root, readonly=True)
    first = log.segments()[1][1]
    target = log.get(first)
    log.close()
    data = bytearray(seg.read_bytes())
    payload = encode_record(target)
    forged_rec = msgspec.structs.replace(target, event=ArticleTagged(tag=target.event.tag[::-1]))
    forged = encode_record(forged_rec)
    assert len(forged) == len(payload) and forged != payload
    start = SEGMENT_HEADER.size
    old = frame(payload, commit=bool(data[start + FRAME_HEADER.size] & 1))
    new = frame(forged, commit=bool(data[start + FRAME_HEADER.size] & 1))
    assert bytes(data[start: start + len(old)]) == old
    data[start: start + len(new)] = new
    seg.write_bytes(bytes(data))
    log = FileLog(root)
    assert log.corruption is None  # framing is intact: only the chain can tell
    assert log.get(first) == forged_rec
    checked, problems = verify_log(log)
    assert problems and problems[0].position == first + 1
    assert "hash chain" in problems[0].detail
    assert checked == first


def test_bit_rot_the_filesystem_did_not_record_is_found_by_verify(tmp_path: Path) -> None:
    """A changed byte whose segment keeps its recorded identity passes the open's cheap checks (documented);
    `verify_log` reads every frame and finds it all the same."""
    root = tmp_path / "log"
    segs = _summarised(root)
    seg = segs[2]
    plain_before = _full_state(root)
    _flip(seg, seg.stat().st_size // 2)
    st_ = seg.stat()
    _rewrite_summary(summary_path(seg), ctime_ns=st_.st_ctime_ns, mtime_ns=st_.st_mtime_ns)
    log = FileLog(root, readonly=True)
    assert log.corruption is None
    assert log.head() == plain_before[0]
    plain = FileLog(root, readonly=True, summaries=False)
    assert plain.corruption is not None
    checked, problems = verify_log(log)
    assert problems and problems[0].position == plain.corruption.position
    assert problems[0].segment == seg.name
    assert checked < log.head()


# --- bulk decoding is the same as one by one ------------------------------------------------------------------


def _one_by_one(payloads: list[bytes]) -> tuple[list, str | None]:
    out = []
    for p in payloads:
        try:
            out.append(decode_record(p))
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            return out, type(exc).__name__ + str(exc)
    return out, None


def _bulk(payloads: list[bytes], first: int) -> tuple[list, str | None]:
    out = []
    try:
        for r in decode_records([memoryview(p) for p in payloads], first):
            out.append(r)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        return out, type(exc).__name__ + str(exc)
    return out, None


_BASE: list = []


def _base_payloads() -> list[bytes]:
    if not _BASE:
        log = store_log.MemoryLog()
        for k in range(6):
            log.append(f"s{k % 2}", tagged(*(f"tag{k}.{i}" * (i + 1) for i in range(3))))
        _BASE.extend(encode_record(r) for r in log.read())
    return _BASE


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_bulk_decoding_equals_one_by_one(data: st.DataObject) -> None:
    base = _base_payloads()
    start = data.draw(st.integers(0, len(base) - 1))
    payloads = [bytearray(p) for p in base[start: start + data.draw(st.integers(1, len(base) - start))]]
    for _ in range(data.draw(st.integers(0, 3))):
        k = data.draw(st.integers(0, len(payloads) - 1))
        action = data.draw(st.sampled_from(["flip", "cut", "extend", "swap"]))
        p = payloads[k]
        if action in ("flip", "cut") and not p:
            continue
        if action == "flip":
            i = data.draw(st.integers(0, len(p) - 1))
            p[i] = data.draw(st.integers(0, 255))
        elif action == "cut":
            del p[data.draw(st.integers(0, len(p) - 1)):]
        elif action == "extend":
            p += data.draw(st.binary(min_size=1, max_size=20))
        else:
            j = data.draw(st.integers(0, len(payloads) - 1))
            payloads[k], payloads[j] = payloads[j], payloads[k]
    raw = [bytes(p) for p in payloads]
    assert _bulk(raw, start + 1) == _one_by_one(raw)


@pytest.mark.parametrize("n", [1, 255, 256, 257, 700])
def test_read_decodes_in_chunks_with_the_same_records(tmp_path: Path, n: int) -> None:
    log = FileLog(tmp_path / "log", segment_bytes=20_000)
    for k in range(0, n, 50):
        log.append_batch([AppendRequest(f"s{(k + i) % 7}", tagged(f"e{k + i}")) for i in range(min(50, n - k))])
    expected = [decode_record(p) for _, p in log.read_raw()]
    assert [r.position for r in expected] == list(range(1, n + 1))
    assert list(log.read()) == expected
    for after, until in [(0, 1), (3, 300), (255, 257), (n - 1, None), (100, 99)]:
        assert list(log.read(after, until)) == expected[after: until]


def test_read_of_an_undecodable_record_yields_those_before_it_then_fails(tmp_path: Path) -> None:
    root = tmp_path / "log"
    log = FileLog(root)
    log.append_batch([AppendRequest(f"s{i % 3}", tagged(f"e{i}")) for i in range(300)])
    log.close()
    seg = segment_files(root)[0]
    data = bytearray(seg.read_bytes())
    off = SEGMENT_HEADER.size
    for _ in range(99):  # to position 100
        _, length, _ = FRAME_HEADER.unpack_from(data, off)
        off += FRAME_HEADER.size + length
    _, length, _ = FRAME_HEADER.unpack_from(data, off)
    body = bytearray(data[off + FRAME_HEADER.size: off + FRAME_HEADER.size + length])
    body[:] = body.replace(b"ArticleTagged", b"ArticleTaggeX")  # an unknown event type
    data[off: off + FRAME_HEADER.size + length] = FRAME_HEADER.pack(store_log.MAGIC, length, zlib.crc32(body)) + body
    seg.write_bytes(bytes(data))
    got = []
    with pytest.raises(msgspec.ValidationError):
        for r in FileLog(root, readonly=True, summaries=False).read():
            got.append(r)
    assert [r.position for r in got] == list(range(1, 100))


def test_records_and_events_can_stay_out_of_the_cyclic_gc() -> None:
    """`gc=False` on events and records is safe only while they hold nothing that could point back at them."""
    import datetime as dt
    import gc
    import typing

    from store.events import EVENT_TYPES, Record

    scalars = {str, int, bool, bytes, float, dt.date, dt.datetime, type(None)}

    def ok(tp: object) -> bool:
        args = typing.get_args(tp)
        if args:  # a union
            return all(ok(a) for a in args)
        return tp in scalars or tp in EVENT_TYPES.values()

    for cls in [Record, *EVENT_TYPES.values()]:
        for f in msgspec.structs.fields(cls):
            assert ok(f.type), (cls.__name__, f.name, f.type)
    rec = decode_record(_base_payloads()[0])
    assert not gc.is_tracked(rec) and not gc.is_tracked(rec.event)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(st.lists(st.integers(1, 6), min_size=1, max_size=25), st.sampled_from([150, 400, 1500]),
       st.lists(st.booleans(), max_size=30), st.lists(st.integers(1, 4), max_size=6))
def test_any_mix_of_summaries_gives_the_state_of_a_full_scan(tmp_path_factory: pytest.TempPathFactory,
                                                             batches: list[int], segment_bytes: int,
                                                             keep: list[bool], more: list[int]) -> None:
    root = tmp_path_factory.mktemp("mix") / "log"
    _build(root, batches, segment_bytes)
    _age()
    FileLog(root, segment_bytes=segment_bytes).close()  # sealed summaries, and the active one's
    log = FileLog(root, segment_bytes=segment_bytes)
    for k, n in enumerate(more):  # grow past the active summary, maybe into new segments
        log.append_batch([AppendRequest(f"s{k % 3}", tagged(*(f"m{k}.{i}" for i in range(n))))])
    log.close()  # CRC-checked summaries for what was just written
    for seg, kept in zip(segment_files(root), keep, strict=False):
        if not kept:
            summary_path(seg).unlink(missing_ok=True)
    full = _full_state(root)
    assert _state(FileLog(root, readonly=True)) == full
    writer = FileLog(root, segment_bytes=segment_bytes)
    assert _state(writer) == full
    [rec] = writer.append("s0", tagged("last"), full[1].get("s0", 0))
    assert rec.position == full[0] + 1 and rec.prev_hash == full[2]
    writer.close()
    assert verify_log(FileLog(root, readonly=True)) == (full[0] + 1, [])
