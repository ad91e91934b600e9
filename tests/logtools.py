"""Helpers shared by the log's tests: event factories, fault-injecting file ops, log inspection."""

from __future__ import annotations

import errno
import os
from pathlib import Path

from store.events import ArticleTagged
from store.fileops import FileOps
from store.log import Log


def tagged(*tags: str) -> list[ArticleTagged]:
    return [ArticleTagged(tag=t) for t in tags]


def all_records(log: Log) -> list:
    return list(log.read())


def segment_files(root: Path) -> list[Path]:
    return sorted(p for p in Path(root).glob("*.seg") if p.stem.isdigit())


def flip_byte(path: Path, offset: int) -> None:
    """Change one byte of a file in place (a disk or an editor damaging the log)."""
    with open(path, "r+b") as f:
        f.seek(offset)
        b = f.read(1)
        f.seek(offset)
        f.write(bytes([b[0] ^ 0x5A]))


def torn_files(root: Path) -> list[Path]:
    torn = Path(root) / "torn"
    return sorted(torn.iterdir()) if torn.is_dir() else []


class FaultyOps(FileOps):
    """Fails the `at`-th call of `op` ("write" or "fsync"), once or every time from then on.

    `partial=True` makes the failing write first accept half of its bytes (a short write), and the following
    write call raise: the file then holds part of a batch, as after a disk filling up mid-write.
    """

    def __init__(self, op: str, at: int, *, always: bool = False, err: int = errno.EIO,
                 partial: bool = False) -> None:
        self.op, self.at, self.always, self.err, self.partial = op, at, always, err, partial
        self.calls = {"write": 0, "fsync": 0}
        self.failures = 0
        self.enabled = True
        self._short_done = False

    def _should_fail(self, op: str) -> bool:
        self.calls[op] += 1
        if not self.enabled or op != self.op:
            return False
        n = self.calls[op]
        return n == self.at or (self.always and n > self.at)

    def write(self, fd: int, data: bytes | memoryview) -> int:
        if self._should_fail("write"):
            if self.partial and not self._short_done and len(data) > 1:
                self._short_done = True
                self.calls["write"] -= 1  # the next write call is the one that raises
                return os.write(fd, bytes(data[: len(data) // 2]))
            self.failures += 1
            raise OSError(self.err, os.strerror(self.err))
        return os.write(fd, data)

    def fsync(self, fd: int) -> None:
        if self._should_fail("fsync"):
            self.failures += 1
            raise OSError(self.err, os.strerror(self.err))
        os.fsync(fd)
