"""Whatever bytes the log meets, it fails in the ways it documents and no other.

- `decode_record` on random bytes only raises msgspec's DecodeError/ValidationError;
- a segment file made of random bytes (after a valid header, instead of it, or as damaged real frames):
  FileLog opens, treating it as a torn tail or reporting CorruptionError, never another exception, and the
  log stays usable (appends verify) whenever it is not reported corrupt.
"""

from __future__ import annotations

import shutil
import tempfile
import zlib
from pathlib import Path

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from logtools import tagged

from store.log import (
    FRAME_HEADER,
    MAGIC,
    SEGMENT_HEADER,
    SEGMENT_MAGIC,
    CorruptionError,
    FileLog,
    decode_record,
    encode_record,
    frame,
    verify_log,
)

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(st.binary(max_size=2048))
def test_decode_record_only_raises_msgspec_errors(data: bytes) -> None:
    try:
        decode_record(data)
    except (msgspec.DecodeError, msgspec.ValidationError):
        pass


@FUZZ
@given(st.data())
def test_decode_record_on_mutated_records(data: st.DataObject) -> None:
    log_recs = _sample_records()
    raw = bytearray(encode_record(data.draw(st.sampled_from(log_recs))))
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(raw) - 1))
        raw[i] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(raw)))
    try:
        decode_record(bytes(raw[:cut]))
    except (msgspec.DecodeError, msgspec.ValidationError):
        pass


_RECS: list = []


def _sample_records() -> list:
    if not _RECS:
        from store.log import MemoryLog
        log = MemoryLog()
        log.append("a", tagged("x", "yy"))
        log.append("b", tagged("z" * 40))
        _RECS.extend(log.read())
    return _RECS


def _open_and_check(root: Path) -> None:
    try:
        log = FileLog(root)
    except CorruptionError:
        return
    try:
        head = log.head()
        checked, problems = verify_log(log)
        if log.corruption is not None:
            assert problems
            try:
                log.append("after", tagged("refused"))
            except CorruptionError:
                return
            raise AssertionError("append accepted on a corrupt log")
        if problems:  # framing intact but the records inside are not ours: reported, never a crash
            return
        assert checked == head
        [rec] = log.append("after", tagged("ok"))
        assert rec.position == head + 1
        assert verify_log(FileLog(root)) == (head + 1, [])
    except msgspec.DecodeError:
        # a frame with a good CRC whose body is not a record: readers say so with msgspec's error
        return
    finally:
        log.close()


def _with_segment(content: bytes, prefix: list[bytes] | None = None) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="logfuzz"))
    try:
        root = tmp / "log"
        root.mkdir()
        (root / f"{1:020d}.seg").write_bytes(content)
        _open_and_check(root)
    finally:
        shutil.rmtree(tmp)


HEADER = SEGMENT_HEADER.pack(SEGMENT_MAGIC, 1)


@FUZZ
@given(st.binary(max_size=600))
def test_random_segment_content_instead_of_header(data: bytes) -> None:
    _with_segment(data)


@FUZZ
@given(st.binary(max_size=600))
def test_random_bytes_after_a_valid_header(data: bytes) -> None:
    _with_segment(HEADER + data)


@FUZZ
@given(st.binary(max_size=300), st.booleans())
def test_random_bodies_in_well_formed_frames(body: bytes, commit: bool) -> None:
    """Frames whose CRC is right but whose record is garbage must not slip past as log records."""
    if not body:
        body = b"\x00"
    framed = FRAME_HEADER.pack(MAGIC, len(body) + 1, zlib.crc32(bytes([int(commit)]) + body)) + bytes([int(commit)]) + body
    _with_segment(HEADER + framed)


@FUZZ
@given(st.data())
def test_real_frames_with_random_damage(data: st.DataObject) -> None:
    recs = _sample_records()
    frames = b"".join(frame(encode_record(r), commit=(i % 2 == 1 or i == len(recs) - 1)) for i, r in enumerate(recs))
    content = bytearray(HEADER + frames)
    for _ in range(data.draw(st.integers(1, 3))):
        i = data.draw(st.integers(0, len(content) - 1))
        content[i] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(content)))
    extra = data.draw(st.binary(max_size=40))
    _with_segment(bytes(content[:cut]) + extra)
