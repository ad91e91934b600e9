"""The few file-system calls whose failure the store must survive, behind one object.

Production code uses `FileOps()` (plain `os`); fault-injection tests pass a subclass that fails the Nth
write, fsync or rename, which is how the log and the blob store prove they lose nothing acknowledged.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os

_libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
_syncfs = getattr(_libc, "syncfs", None)


class FileOps:
    def write(self, fd: int, data: bytes | memoryview) -> int:
        return os.write(fd, data)

    def write_all(self, fd: int, data: bytes) -> None:
        view = memoryview(data)
        while view:
            n = self.write(fd, view)
            view = view[n:]

    def fsync(self, fd: int) -> None:
        os.fsync(fd)

    def syncfs(self, fd: int) -> None:
        """Flush everything written to the filesystem holding `fd` (one call instead of one fsync per file)."""
        if _syncfs is None:
            os.sync()
            return
        if _syncfs(fd) != 0:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err))

    def ftruncate(self, fd: int, size: int) -> None:
        os.ftruncate(fd, size)

    def replace(self, src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        os.replace(src, dst)

    def fsync_dir(self, path: str | os.PathLike[str]) -> None:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
        try:
            self.fsync(fd)
        finally:
            os.close(fd)


DEFAULT_OPS = FileOps()
