"""The blob store keeps original bytes with fixity: nothing partial is ever visible, faults lose nothing."""

from __future__ import annotations

import errno
import hashlib
import multiprocessing
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from store.blobs import BlobError, BlobNotFound, BlobProblem, BlobStore
from store.fileops import FileOps

REPO = Path(__file__).resolve().parents[1]


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def temp_files(root: Path) -> list[Path]:
    return list(root.rglob(".tmp-*"))


@pytest.fixture
def store(tmp_path: Path) -> BlobStore:
    return BlobStore(tmp_path / "blobs")


# --- basics -----------------------------------------------------------------------------------------------


def test_round_trip_and_layout(store: BlobStore) -> None:
    data = "Komunikat o handlu ludźmi".encode()
    digest = store.put(data)
    assert digest == sha(data)
    assert store.path(digest) == store.root / digest[:2] / digest[2:4] / digest
    assert store.get(digest) == data
    assert store.exists(digest) and digest in store
    assert store.verify(digest)
    assert list(store) == [digest]
    assert store.check() == []


def test_empty_blob(store: BlobStore) -> None:
    digest = store.put(b"")
    assert store.get(digest) == b""
    assert store.verify(digest)


@settings(max_examples=40, deadline=None)
@given(blobs=st.lists(st.binary(max_size=2048), max_size=6))
def test_round_trip_property(tmp_path_factory: pytest.TempPathFactory, blobs: list[bytes]) -> None:
    store = BlobStore(tmp_path_factory.mktemp("blobs"))
    digests = [store.put(b) for b in blobs]
    assert [store.get(d) for d in digests] == blobs
    assert sorted(store) == sorted(set(digests))


def test_iteration_is_sorted_and_skips_strays(store: BlobStore) -> None:
    digests = sorted(store.put(str(i).encode()) for i in range(20))
    first = store.path(digests[0])
    (first.parent / "README").write_text("not a blob")
    (store.root / "notes.txt").write_text("not a blob either")
    misplaced = store.root / "00" / "00" / digests[1]  # right name, wrong directory
    misplaced.parent.mkdir(parents=True, exist_ok=True)
    misplaced.write_bytes(b"1")
    assert list(store) == digests


def test_put_is_idempotent_and_writes_nothing_the_second_time(tmp_path: Path) -> None:
    class Counting(FileOps):
        writes = 0
        replaces = 0

        def write(self, fd: int, data: bytes | memoryview) -> int:
            Counting.writes += 1
            return super().write(fd, data)

        def replace(self, src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
            Counting.replaces += 1
            super().replace(src, dst)

    store = BlobStore(tmp_path, Counting())
    data = b"x" * 10_000
    d1 = store.put(data)
    assert (Counting.writes, Counting.replaces) == (1, 1)
    mtime = store.path(d1).stat().st_mtime_ns
    assert store.put(data) == d1
    assert (Counting.writes, Counting.replaces) == (1, 1)
    assert store.path(d1).stat().st_mtime_ns == mtime
    assert list(store) == [d1]


def test_truncated_existing_file_is_rewritten(store: BlobStore) -> None:
    data = os.urandom(5000)
    digest = store.put(data)
    with open(store.path(digest), "r+b") as f:
        f.truncate(100)
    assert not store.verify(digest)
    assert store.put(data) == digest
    assert store.verify(digest)
    assert store.get(digest) == data
    assert temp_files(store.root) == []


# --- fixity -----------------------------------------------------------------------------------------------


def test_flipped_byte_is_detected(store: BlobStore) -> None:
    good = store.put(b"dobry blob")
    digest = store.put(b"Data publikacji 12.03.2019, policja ostrzega")
    path = store.path(digest)
    raw = bytearray(path.read_bytes())
    raw[7] ^= 0x01
    path.write_bytes(bytes(raw))
    assert not store.verify(digest)
    assert store.verify(good)
    problems = store.check()
    assert [(p.digest, p.kind) for p in problems] == [(digest, "corrupt")]
    assert sha(bytes(raw)) in problems[0].detail


def test_missing_blob(store: BlobStore) -> None:
    present = store.put(b"jest")
    absent = sha(b"nie ma")
    with pytest.raises(BlobNotFound) as info:
        store.get(absent)
    assert isinstance(info.value, KeyError)
    assert absent in str(info.value)
    assert not store.exists(absent)
    assert absent not in store
    assert not store.verify(absent)
    assert store.check([present, absent]) == [BlobProblem(absent, "missing")]


def test_unreadable_blob_is_reported(store: BlobStore) -> None:
    digest = sha(b"katalog zamiast pliku")
    store.path(digest).mkdir(parents=True)
    assert not store.exists(digest)
    assert not store.verify(digest)
    (problem,) = store.check([digest])
    assert (problem.digest, problem.kind) == (digest, "unreadable")
    with pytest.raises(BlobError, match=digest):
        store.get(digest)


def test_store_on_missing_root_is_empty(tmp_path: Path) -> None:
    store = BlobStore(tmp_path / "nope")
    assert list(store) == []
    assert store.check() == []
    assert not (tmp_path / "nope").exists()  # opening does not create anything


@pytest.mark.parametrize(
    "bad",
    [
        "../../etc/passwd",
        "ab/../../../etc/passwd",
        "",
        "A" * 64,
        "0" * 63,
        "0" * 65,
        "0" * 64 + "\n",
        "g" * 64,
        "/" + "0" * 63,
    ],
)
def test_invalid_digest_is_rejected(store: BlobStore, bad: str) -> None:
    for call in (store.get, store.path, store.exists, store.verify):
        with pytest.raises(ValueError):
            call(bad)
    with pytest.raises(ValueError):
        store.check([bad])
    assert bad not in store


# --- fault injection --------------------------------------------------------------------------------------


class FailOnce(FileOps):
    """Fails the `nth` call of `method` (1-based) with EIO, once."""

    def __init__(self, method: str, nth: int = 1) -> None:
        self.method, self.nth, self.calls, self.fired = method, nth, 0, False

    def _maybe_fail(self, method: str) -> None:
        if method == self.method and not self.fired:
            self.calls += 1
            if self.calls == self.nth:
                self.fired = True
                raise OSError(errno.EIO, f"injected {method} failure")

    def write(self, fd: int, data: bytes | memoryview) -> int:
        self._maybe_fail("write")
        return super().write(fd, data)

    def fsync(self, fd: int) -> None:
        self._maybe_fail("fsync")
        super().fsync(fd)

    def replace(self, src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        self._maybe_fail("replace")
        super().replace(src, dst)


class ShortWrites(FileOps):
    """Writes at most 7 bytes per call, like a slow pipe: write_all must loop."""

    def write(self, fd: int, data: bytes | memoryview) -> int:
        return super().write(fd, data[:7])


def test_short_writes_are_completed(tmp_path: Path) -> None:
    store = BlobStore(tmp_path, ShortWrites())
    data = os.urandom(1000)
    assert store.get(store.put(data)) == data


@pytest.mark.parametrize(
    ("method", "nth", "fresh_dirs"),
    [
        ("write", 1, False),
        ("fsync", 1, False),  # the temp file's fsync
        ("replace", 1, False),
        ("fsync", 1, True),  # fsync of root's parent after creating root
        ("fsync", 2, True),  # fsync of root after creating ab/
        ("fsync", 3, True),  # fsync of ab/ after creating ab/cd/
        ("fsync", 4, True),  # the temp file's fsync
    ],
)
def test_failure_before_rename_leaves_nothing(
    tmp_path: Path, method: str, nth: int, fresh_dirs: bool
) -> None:
    ops = FailOnce(method, nth)
    store = BlobStore(tmp_path / "blobs", ops)
    data = "Powrót na górę strony".encode() * 1000
    digest = sha(data)
    if not fresh_dirs:
        store.path(digest).parent.mkdir(parents=True)
    with pytest.raises(BlobError) as info:
        store.put(data)
    assert ops.fired
    err = info.value
    assert isinstance(err, OSError) and err.errno == errno.EIO
    assert digest in str(err) and "injected" in str(err)
    assert err.digest == digest
    assert not store.path(digest).exists()
    assert temp_files(tmp_path) == []
    assert store.put(data) == digest
    assert store.verify(digest) and store.get(digest) == data
    assert temp_files(tmp_path) == []


def test_failure_after_rename_leaves_a_complete_blob_or_none(tmp_path: Path) -> None:
    """The directory fsync after the rename fails: the put reports it, and the visible file is whole."""
    store = BlobStore(tmp_path, FailOnce("fsync", 2))
    store.path(sha(b"z")).parent.mkdir(parents=True)
    with pytest.raises(BlobError):
        store.put(b"z")
    assert store.check() == []
    assert temp_files(tmp_path) == []
    assert store.get(store.put(b"z")) == b"z"


def test_failure_on_unwritable_directory(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root ignores directory permissions")
    store = BlobStore(tmp_path)
    store.put(b"a")
    os.chmod(tmp_path, 0o500)
    try:
        with pytest.raises(BlobError, match=sha(b"b")):
            store.put(b"b")
    finally:
        os.chmod(tmp_path, 0o700)


# --- stray temp files -------------------------------------------------------------------------------------


def test_stale_temp_files_are_swept_on_open_and_nothing_else(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    digest = store.put(b"blob")
    leaf = store.path(digest).parent
    old = time.time() - 2 * 3600
    stale = leaf / ".tmp-4242-0123456789abcdef"
    fresh = leaf / ".tmp-4243-0123456789abcdef"
    lookalikes = [leaf / ".tmp-foo", leaf / "notes.txt", tmp_path / ".tmp-1-0123456789abcdef"]
    for p in (stale, fresh, *lookalikes):
        p.write_bytes(b"partial")
    for p in (stale, *lookalikes):
        os.utime(p, (old, old))
    BlobStore(tmp_path)
    assert not stale.exists()
    assert fresh.exists()
    assert all(p.exists() for p in lookalikes)
    assert store.verify(digest)


# --- several processes ------------------------------------------------------------------------------------


def _put_same(root: str, seed: int, barrier: Any, results: Any) -> None:
    data = random.Random(seed).randbytes(2_000_000)
    barrier.wait(timeout=30)
    results.put(BlobStore(Path(root)).put(data))


def test_concurrent_puts_of_same_bytes(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    n = 4
    barrier, results = ctx.Barrier(n), ctx.Queue()
    procs = [ctx.Process(target=_put_same, args=(str(tmp_path), 7, barrier, results)) for _ in range(n)]
    for p in procs:
        p.start()
    digests = [results.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    assert [p.exitcode for p in procs] == [0] * n
    expected = sha(random.Random(7).randbytes(2_000_000))
    assert digests == [expected] * n
    store = BlobStore(tmp_path)
    assert list(store) == [expected]
    assert store.check() == []
    assert temp_files(tmp_path) == []


CHILD = textwrap.dedent(
    """
    import os, sys
    from store.blobs import BlobStore
    store = BlobStore(sys.argv[1])
    rng = __import__("random").Random(int(sys.argv[2]))
    print("ready", flush=True)
    while True:
        digest = store.put(rng.randbytes(rng.choice((10, 1000, 100_000, 400_000))))
        print(digest, flush=True)
    """
)


@pytest.mark.slow
def test_sigkill_never_loses_an_acknowledged_blob(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    rng = random.Random(1234)
    acknowledged: set[str] = set()
    for run in range(30):
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(tmp_path), str(run)],
            stdout=subprocess.PIPE,
            env=env,
        )
        assert child.stdout is not None
        assert child.stdout.readline() == b"ready\n"
        time.sleep(rng.uniform(0.005, 0.08))
        child.send_signal(signal.SIGKILL)
        out, _ = child.communicate(timeout=10)
        assert child.returncode == -signal.SIGKILL
        # A line cut by the kill is not an acknowledgement.
        acknowledged.update(line for line in out.decode().split("\n") if len(line) == 64)
    store = BlobStore(tmp_path)
    assert acknowledged
    assert [d for d in acknowledged if not store.verify(d)] == []
    assert store.check() == []  # nothing partial under any final name
    assert set(store) >= acknowledged


def test_deferred_puts_become_durable_with_one_sync(tmp_path: Path) -> None:
    calls: list[str] = []

    class Counting(FileOps):
        def fsync(self, fd: int) -> None:
            calls.append("fsync")
            super().fsync(fd)

        def syncfs(self, fd: int) -> None:
            calls.append("syncfs")
            super().syncfs(fd)

    store = BlobStore(tmp_path / "b", ops=Counting())
    digests = [store.put(f"blob {i}".encode(), sync=False) for i in range(20)]
    assert "fsync" not in calls and all(store.verify(d) for d in digests)
    store.sync()
    store.sync()  # nothing new: no second flush
    assert calls == ["syncfs"]


def test_a_failing_deferred_sync_is_a_blob_error(tmp_path: Path) -> None:
    class Failing(FileOps):
        def syncfs(self, fd: int) -> None:
            raise OSError(errno.EIO, "Input/output error")

    store = BlobStore(tmp_path / "b", ops=Failing())
    store.put(b"x", sync=False)
    with pytest.raises(BlobError, match="durable"):
        store.sync()
