"""The log keeps its promises through crashes, torn writes, flipped bytes, rival writers and I/O errors.

What each test proves:
- SIGKILL at random moments of batch appends (200+ kills on one growing archive): every acknowledged batch
  survives, no batch is ever half there, the hash chain verifies.
- a torn tail cut at every byte of the last records: open repairs it, keeps the cut bytes, appends go on.
- one flipped byte before the tail: readers work up to it, verify names it, appends refuse with its position;
  a rewritten record with a fixed CRC is caught by the hash chain.
- four processes appending at once: one gapless order, real conflicts, nothing lost or duplicated.
- injected EIO/ENOSPC at the Nth write or fsync (once, always, short write): a clear AppendError, nothing
  acknowledged lost, the log reopens and takes appends again.
"""

from __future__ import annotations

import errno
import json
import multiprocessing
import os
import random
import shutil
import signal
import struct
import time
import zlib
from collections import defaultdict
from pathlib import Path

import pytest
from logtools import FaultyOps, flip_byte, segment_files, tagged, torn_files

from store.events import ArticleTagged
from store.log import (
    FRAME_HEADER,
    SEGMENT_HEADER,
    AppendError,
    AppendRequest,
    ConflictError,
    CorruptionError,
    FileLog,
    encode_record,
    record_hash,
    verify_log,
)

# --- helpers ------------------------------------------------------------------------------------------


def batch_events(batch: str, n: int) -> list[ArticleTagged]:
    return [ArticleTagged(tag=f"{batch}:{i}:{n}") for i in range(n)]


def check_batches(records: list) -> dict[str, list[int]]:
    """Every batch in the log is whole, in order and contiguous; returns batch id -> positions."""
    by_batch: dict[str, list[tuple[int, int, int]]] = defaultdict(list)
    for r in records:
        batch, i, n = r.event.tag.rsplit(":", 2)
        by_batch[batch].append((r.position, int(i), int(n)))
    out = {}
    for batch, items in by_batch.items():
        n = items[0][2]
        assert len(items) == n, f"batch {batch} is half there: {len(items)} of {n} events"
        assert [i for _, i, _ in items] == list(range(n)), f"batch {batch} out of order"
        positions = [p for p, _, _ in items]
        assert positions == list(range(positions[0], positions[0] + n)), f"batch {batch} not contiguous"
        out[batch] = positions
    return out


def frame_offsets(path: Path) -> list[tuple[int, int]]:
    """(offset, frame length incl. header) of each frame in a healthy segment file."""
    data = path.read_bytes()
    off, out = SEGMENT_HEADER.size, []
    while off < len(data):
        _, length, _ = FRAME_HEADER.unpack_from(data, off)
        out.append((off, FRAME_HEADER.size + length))
        off += FRAME_HEADER.size + length
    return out


# --- SIGKILL campaign -----------------------------------------------------------------------------------


def _writer_child(root: Path, seed: int, round_no: int, ack_fd: int) -> None:
    """Runs in a forked child until killed: writes batches and acknowledges each one after append returns."""
    rng = random.Random(seed)
    log = FileLog(root, segment_bytes=64 * 1024)
    os.write(ack_fd, b"ready\n")
    k = 0
    while True:
        n = rng.randint(1, 50)
        batch = f"r{round_no}b{k}"
        events = batch_events(batch, n)
        requests, i = [], 0
        while i < n:  # spread the batch over one to three streams
            j = min(n, i + rng.randint(1, n))
            requests.append(AppendRequest(f"art-{rng.randrange(20)}", events[i:j]))
            i = j
        recs = log.append_batch(requests)
        os.write(ack_fd, f"{batch} {recs[0].position} {recs[-1].position} {n}\n".encode())
        k += 1


@pytest.mark.slow
def test_sigkill_during_batch_appends_loses_nothing_acknowledged(tmp_path: Path) -> None:
    """Forked writers (fork is cheap, so 200+ kills fit in seconds) killed at random points, one archive.

    After each kill a fresh FileLog opens (repairing the torn tail) and the records new since the last round
    are checked against what the child acknowledged; every tenth round and the last re-check the whole log.
    """
    root = tmp_path / "log"
    FileLog(root).close()
    rng = random.Random(20240501)
    acked: dict[str, tuple[int, int, int]] = {}
    kills = 0
    rounds = 210
    last_head, last_record = 0, None
    for round_no in range(rounds):
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:  # child
            try:
                os.close(r)
                _writer_child(root, rng.randrange(2**32), round_no, w)
            finally:
                os._exit(0)
        os.close(w)
        new_acks: dict[str, tuple[int, int, int]] = {}
        with os.fdopen(r, "rb") as pipe:
            if rng.random() < 0.1:
                time.sleep(rng.uniform(0, 0.01))  # kill while opening / repairing
            else:
                assert pipe.readline() == b"ready\n"
                time.sleep(rng.uniform(0, 0.025))
            os.kill(pid, signal.SIGKILL)
            _, status = os.waitpid(pid, 0)
            assert os.WIFSIGNALED(status), f"child exited on its own: {status}"
            kills += 1
            for line in pipe.read().decode().splitlines():
                if line != "ready":
                    batch, first, last, n = line.split()
                    new_acks[batch] = (int(first), int(last), int(n))
        acked.update(new_acks)

        log = FileLog(root)
        try:
            head = log.head()
            assert head >= last_head, "committed records vanished"
            full = round_no % 10 == 9 or round_no == rounds - 1
            after = 0 if full else last_head
            records = list(log.read(after=after))
            assert [r.position for r in records] == list(range(after + 1, head + 1))
            if not full and last_record is not None:
                assert log.get(last_head) == last_record
                if records:
                    assert records[0].prev_hash == record_hash(encode_record(last_record))
            batches = check_batches(records)
            for batch, (first, last, _n) in (acked if full else new_acks).items():
                assert batch in batches, f"acknowledged batch {batch} lost"
                assert batches[batch] == list(range(first, last + 1))
            if full:
                assert verify_log(log) == (head, [])
            last_head = head
            last_record = log.get(head) if head else None
        finally:
            log.close()
    assert kills >= 200
    assert len(acked) > kills  # the kills did land in the middle of real work
    assert len(segment_files(root)) > 1
    # (a batch is one write() call, so SIGKILL rarely tears one: torn tails are proven byte by byte below)


# --- torn tail at every byte ------------------------------------------------------------------------------


def _build(root: Path, batches: list[int], segment_bytes: int) -> None:
    log = FileLog(root, segment_bytes=segment_bytes)
    for k, n in enumerate(batches):
        log.append_batch([AppendRequest(f"s{k % 2}", batch_events(f"b{k}", n))])
    log.close()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("batches", "segment_bytes"),
    [
        ([2, 3, 1, 3], 64 * 1024),  # the last three records are one batch
        ([2, 3, 1, 1, 1], 64 * 1024),  # the last three records are three batches
        ([2, 2, 1, 2], 200),  # tiny segments: the last segment holds only the cut batch (header cut too)
    ],
)
def test_torn_tail_at_every_byte_is_repaired(tmp_path: Path, batches: list[int], segment_bytes: int) -> None:
    pristine = tmp_path / "pristine"
    _build(pristine, batches, segment_bytes)
    last_seg = segment_files(pristine)[-1]
    original = last_seg.read_bytes()
    frames = frame_offsets(last_seg)
    ref = FileLog(pristine, readonly=True)
    all_recs = list(ref.read())
    total = len(all_recs)
    seg_first = total - len(frames) + 1
    # batch boundaries inside the last segment: file offset just past each committing frame -> head there
    ends = {SEGMENT_HEADER.size: seg_first - 1}
    pos = seg_first - 1
    for off, length in frames:
        pos += 1
        rec = all_recs[pos - 1]
        if rec.event.tag.endswith(f":{int(rec.event.tag.split(':')[2]) - 1}:{rec.event.tag.split(':')[2]}"):
            ends[off + length] = pos
    start = frames[-3][0] if segment_bytes > 1000 else 0
    for cut in range(start, len(original)):
        work = tmp_path / f"cut{cut}"
        shutil.copytree(pristine, work)
        seg = work / last_seg.name
        with open(seg, "r+b") as f:
            f.truncate(cut)
        log = FileLog(work, segment_bytes=segment_bytes)
        committed_end = max(e for e in ends if e <= max(cut, SEGMENT_HEADER.size))
        expected_head = ends[committed_end]
        assert log.head() == expected_head, cut
        assert list(log.read()) == all_recs[:expected_head]
        torn = torn_files(work)
        if cut < SEGMENT_HEADER.size:
            assert not seg.exists()
            assert [t.read_bytes() for t in torn] == [original[:cut]]
        elif cut > committed_end:
            assert seg.stat().st_size == committed_end
            assert [t.read_bytes() for t in torn] == [original[committed_end:cut]]
        else:
            assert torn == []
        [rec] = log.append("after", tagged("ok"))
        assert rec.position == expected_head + 1
        assert verify_log(log) == (expected_head + 1, [])
        log.close()
        again = FileLog(work, segment_bytes=segment_bytes)
        assert verify_log(again) == (expected_head + 1, [])
        again.close()
        shutil.rmtree(work)


# --- flipped bytes --------------------------------------------------------------------------------------


_flip = flip_byte


def _damaged_log_checks(root: Path, all_recs: list, bad_pos: int, segment_bytes: int) -> None:
    log = FileLog(root, segment_bytes=segment_bytes)  # opening succeeds
    assert log.corruption is not None
    assert log.corruption.position == bad_pos
    first_of_batch = bad_pos
    while first_of_batch > 1 and not all_recs[first_of_batch - 2].event.tag.endswith(
            ":" + str(int(all_recs[first_of_batch - 2].event.tag.split(":")[2]) - 1) + ":"
            + all_recs[first_of_batch - 2].event.tag.split(":")[2]):
        first_of_batch -= 1
    assert log.head() == first_of_batch - 1  # readers work up to the damaged batch
    assert list(log.read()) == all_recs[: first_of_batch - 1]
    checked, problems = verify_log(log)
    assert checked == first_of_batch - 1
    assert problems and problems[0].position == bad_pos
    assert f"position {bad_pos}" in str(problems[0])
    with pytest.raises(CorruptionError, match=f"position {bad_pos}") as info:
        log.append("x", tagged("refused"))
    assert info.value.position == bad_pos
    with pytest.raises(CorruptionError):
        log.append("x", tagged("refused again"))
    log.close()
    assert FileLog(root, readonly=True).head() == first_of_batch - 1


@pytest.mark.parametrize("where", ["frame magic", "frame length", "frame crc", "flag byte", "payload",
                                   "payload last byte"])
@pytest.mark.parametrize("segment_bytes", [64 * 1024, 600])
def test_flipped_byte_before_the_tail_is_reported(tmp_path: Path, where: str, segment_bytes: int) -> None:
    root = tmp_path / "log"
    _build(root, [3, 2, 4, 1, 3, 2, 3, 2, 3, 1, 2, 3], segment_bytes)
    all_recs = list(FileLog(root, readonly=True).read())
    segs = segment_files(root)
    # damage record 2 of a 4-record batch in a middle segment (or in the middle of the only one)
    seg = segs[len(segs) // 2] if len(segs) > 2 else segs[0]
    first = struct.unpack_from("<Q", seg.read_bytes(), 8)[0]
    frames = frame_offsets(seg)
    idx = len(frames) // 2 if len(segs) > 2 else 6  # position 7 is the 2nd of batch [6..9]
    off, length = frames[idx]
    bad_pos = first + idx
    delta = {"frame magic": 1, "frame length": 5, "frame crc": 9, "flag byte": 12, "payload": 12 + length // 3,
             "payload last byte": length - 1}[where]
    _flip(seg, off + delta)
    _damaged_log_checks(root, all_recs, bad_pos, segment_bytes)


@pytest.mark.parametrize("where", [0, 7, 8, 15])
def test_flipped_byte_in_a_middle_segment_header(tmp_path: Path, where: int) -> None:
    root = tmp_path / "log"
    _build(root, [2, 1, 2, 3, 1, 2, 2, 1, 3, 2], 150)
    all_recs = list(FileLog(root, readonly=True).read())
    segs = segment_files(root)
    assert len(segs) >= 4
    seg = segs[len(segs) // 2]
    first = struct.unpack_from("<Q", seg.read_bytes(), 8)[0]
    _flip(seg, where)
    _damaged_log_checks(root, all_recs, first, 150)


def test_rewritten_record_with_fixed_crc_breaks_the_hash_chain(tmp_path: Path) -> None:
    root = tmp_path / "log"
    log = FileLog(root)
    for k in range(6):
        log.append(f"s{k}", tagged(f"tag-{k}"))
    log.close()
    seg = segment_files(root)[0]
    data = bytearray(seg.read_bytes())
    off, length = frame_offsets(seg)[2]  # position 3
    body = bytes(data[off + FRAME_HEADER.size: off + length])
    forged = body.replace(b"tag-2", b"tag-X")
    assert forged != body and len(forged) == len(body)
    data[off: off + length] = FRAME_HEADER.pack(b"\xa7ARL", len(forged), zlib.crc32(forged)) + forged
    seg.write_bytes(bytes(data))
    log = FileLog(root)
    assert log.corruption is None  # framing is intact: only the chain can tell
    assert log.get(3).event.tag == "tag-X"
    checked, problems = verify_log(log)
    assert problems and problems[0].position == 4
    assert "hash chain" in problems[0].detail
    assert checked == 3


# --- four writers at once -------------------------------------------------------------------------------


def _rival_writer(root: str, wid: int, rounds: int, out: str) -> None:
    rng = random.Random(wid)
    log = FileLog(root, segment_bytes=8 * 1024)
    acked: list[tuple[str, int]] = []
    conflicts = 0
    for k in range(rounds):
        if rng.random() < 0.6:  # read-then-append on the shared article, exact expected version
            v = log.stream_version("shared")
            time.sleep(rng.uniform(0, 0.003))
            tag = f"w{wid}:{k}"
            try:
                [rec] = log.append("shared", tagged(tag), v)
            except ConflictError:
                conflicts += 1
                continue
            assert rec.version == v + 1
            acked.append((tag, rec.position))
        else:
            n = rng.randint(1, 20)
            recs = log.append_batch([AppendRequest(f"own-{wid}", tagged(*(f"w{wid}:{k}.{i}" for i in range(n)))),
                                     AppendRequest("shared-any", tagged(f"w{wid}:{k}.any"))])
            acked += [(r.event.tag, r.position) for r in recs]
    Path(out).write_text(json.dumps({"acked": acked, "conflicts": conflicts}))


@pytest.mark.slow
def test_four_processes_append_at_once(tmp_path: Path) -> None:
    root = tmp_path / "log"
    FileLog(root).close()
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_rival_writer, args=(str(root), w, 120, str(tmp_path / f"w{w}.json")))
             for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    results = [json.loads((tmp_path / f"w{w}.json").read_text()) for w in range(4)]
    assert sum(r["conflicts"] for r in results) > 0
    acked = {tag: pos for r in results for tag, pos in r["acked"]}
    assert len(acked) == sum(len(r["acked"]) for r in results)  # no tag acknowledged twice
    log = FileLog(root)
    records = list(log.read())
    assert [r.position for r in records] == list(range(1, log.head() + 1))
    assert {r.event.tag: r.position for r in records} == acked  # nothing lost, nothing extra
    assert len({r.event.tag for r in records}) == len(records)  # nothing duplicated
    shared = [r.version for r in records if r.stream == "shared"]
    assert shared == list(range(1, len(shared) + 1))
    assert verify_log(log) == (len(records), [])
    assert len(segment_files(root)) > 1


# --- injected I/O errors ------------------------------------------------------------------------------------


FAULTS = [
    pytest.param(op, at, always, err, partial, id=f"{op}{at}-{'always' if always else 'once'}-{errno.errorcode[err]}"
                 + ("-short" if partial else ""))
    for op, at, always, err, partial in [
        ("write", 1, False, errno.EIO, False),
        ("write", 4, False, errno.ENOSPC, False),
        ("write", 7, False, errno.EIO, True),
        ("write", 3, True, errno.ENOSPC, False),
        ("write", 5, True, errno.ENOSPC, True),
        ("fsync", 1, False, errno.EIO, False),
        ("fsync", 4, False, errno.EIO, False),
        ("fsync", 6, False, errno.ENOSPC, False),
        ("fsync", 2, True, errno.EIO, False),
        ("fsync", 9, True, errno.EIO, False),
    ]
]


@pytest.mark.parametrize(("op", "at", "always", "err", "partial"), FAULTS)
def test_io_errors_lose_nothing_acknowledged(tmp_path: Path, op: str, at: int, always: bool, err: int,
                                             partial: bool) -> None:
    root = tmp_path / "log"
    seed = FileLog(root, segment_bytes=700)
    seed.append("seed", tagged("s0", "s1"))
    seed.close()
    ops = FaultyOps(op, at, always=always, err=err, partial=partial)
    log = FileLog(root, ops=ops, segment_bytes=700)
    acked = [r.event.tag for r in FileLog(root, readonly=True).read()]
    failed = 0
    first_failure: int | None = None
    for k in range(12):
        tags = [f"{k}.{i}" for i in range(1 + k % 5)]
        try:
            log.append_batch([AppendRequest(f"s{k % 3}", tagged(*tags[:2])),
                              AppendRequest("other", tagged(*tags[2:]) or tagged(f"{k}.x"))])
        except AppendError as exc:
            failed += 1
            if first_failure is None:
                first_failure = k
            msg = str(exc)
            assert os.strerror(err) in msg, msg
            assert "append failed" in msg or "could not" in msg
            assert isinstance(exc.__cause__, OSError) and exc.__cause__.errno == err
            fresh = FileLog(root, segment_bytes=700)  # still openable; nothing acknowledged lost
            assert [r.event.tag for r in fresh.read()] == acked
            assert verify_log(fresh) == (len(acked), [])
            fresh.close()
            continue
        acked += tags if len(tags) > 2 else tags + [f"{k}.x"]
    assert failed >= 1
    if always:
        assert first_failure is not None and failed == 12 - first_failure  # it keeps failing, cleanly
        ops.enabled = False
        log.close()
        log = FileLog(root, segment_bytes=700)
    else:
        assert failed == 1
    [rec] = log.append("final", tagged("final"))
    acked.append("final")
    reopened = FileLog(root, segment_bytes=700)
    assert [r.event.tag for r in reopened.read()] == acked
    assert verify_log(reopened) == (len(acked), [])
    assert rec.position == len(acked)


# --- lock-free readers beside a live writer ---------------------------------------------------------------


def _busy_writer(root: str, seconds: float) -> None:
    log = FileLog(root, segment_bytes=400)
    rng = random.Random(7)
    end = time.monotonic() + seconds
    k = 0
    while time.monotonic() < end:
        log.append_batch([AppendRequest(f"s{k % 5}", batch_events(f"b{k}", rng.randint(1, 40)))])
        k += 1


@pytest.mark.slow
def test_readers_beside_a_rolling_writer_never_see_corruption(tmp_path: Path) -> None:
    """A reader may catch a batch half copied and, a moment later, the segment after it: that is no damage."""
    root = tmp_path / "log"
    FileLog(root).close()
    ctx = multiprocessing.get_context("spawn")
    writer = ctx.Process(target=_busy_writer, args=(str(root), 2.0))
    writer.start()
    reader = FileLog(root, readonly=True)
    heads = []
    while writer.is_alive():
        heads.append(reader.head())
        assert reader.corruption is None, reader.corruption
    writer.join()
    assert writer.exitcode == 0
    assert heads == sorted(heads) and heads[-1] > 0
    records = list(reader.read())
    check_batches(records)
    assert verify_log(reader) == (FileLog(root).head(), [])


def test_get_reads_what_read_reads_and_never_an_undone_record(tmp_path: Path) -> None:
    """`get` of a position the view holds skips the folder scan; an undone tail must still be noticed."""
    root = tmp_path / "log"
    _build(root, [2, 1, 3, 1, 2], 150)
    reader = FileLog(root, readonly=True)
    records = list(reader.read())
    assert len(reader.segments()) >= 3
    assert [reader.get(r.position) for r in records] == records
    last = records[-1].position
    path, first, _ = reader.segments()[-1]
    assert first < last
    # The writer's last append (a batch of two) is undone (its fsync failed) after this reader saw it.
    os.truncate(path, reader._frame_end(reader._segments[-1], last - 2))  # noqa: SLF001
    for gone in (last, last - 1):
        with pytest.raises(KeyError):
            reader.get(gone)
    assert reader.get(last - 2) == records[-3]
    writer = FileLog(root)
    [new] = writer.append("again", tagged("nowy"))
    assert new.position == last - 1
    assert reader.get(last - 1).event.tag == "nowy"
