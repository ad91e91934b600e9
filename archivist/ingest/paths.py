"""Which dropped paths may be read, and reading them: one rule for `archivist ingest` and the watcher.

Only regular files are read. A FIFO would block the reader for ever, a device or socket is no document, and a
symbolic link is never followed (it could lead out of the folder being ingested, to files nobody dropped): each
is refused with a reason, before a byte is read. The check is made on the open file itself too, so a path
swapped for a FIFO between the look and the read is still refused.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path

TEMP_SUFFIXES = (".part", ".crdownload", ".tmp", ".partial", ".swp", ".download")


class Refused(Exception):
    """The path is not a file we may read; `reason` is one sentence for the archivist."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def is_candidate(path: Path) -> bool:
    """Not a partial download, an editor's temp file or a hidden file."""
    name = path.name
    return not (name.startswith(".") or name.startswith("~$") or name.lower().endswith(TEMP_SUFFIXES))


def folder_tag(name: str) -> str:
    return " ".join(name.replace("_", " ").split()).lower()


def files_under(top: Path) -> Iterator[Path]:
    """Candidate paths under the folder `top`, never descending into a link. Links (to files or folders),
    FIFOs and devices are listed too: they are for `open_dropped` to refuse, with a reason, not to skip."""
    for dirpath, dirnames, filenames in os.walk(top, followlinks=False):
        here = Path(dirpath)
        keep = []
        for d in sorted(dirnames):
            if d.startswith("."):
                continue
            if (here / d).is_symlink():
                yield here / d  # a link to a folder: refused, never followed
            else:
                keep.append(d)
        dirnames[:] = keep
        for name in sorted(filenames):
            if is_candidate(here / name):
                yield here / name


def walk(paths: Iterable[Path]) -> Iterator[tuple[Path, tuple[str, ...]]]:
    """Files under `paths`, each with the tags its subfolders give it (`policja/szczecin/a.txt`)."""
    for root in paths:
        if root.is_dir():  # a folder named on the command line is read even through a link
            for p in files_under(root):
                rel = p.parent.relative_to(root).parts
                yield p, tuple(folder_tag(x) for x in rel)
        else:
            yield root, ()


def _kind(mode: int) -> str | None:
    """What a non-regular file is, or None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    for test, name in ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISDIR, "a folder"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "a special file"


def _refuse(mode: int) -> None:
    kind = _kind(mode)
    if kind is not None:
        raise Refused(f"not a regular file ({kind}); only regular files are read")


def open_dropped(path: Path, within: Path | None = None) -> tuple[int, os.stat_result]:
    """Open `path` for reading if it is a regular file (not a link) inside `within` (when given): returns the
    descriptor and its status. Raises `Refused` with the reason otherwise, `OSError` when it cannot be opened."""
    st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode):
        try:
            target = os.readlink(path)
        except OSError:
            target = "?"
        raise Refused(f"a symbolic link (to {target}); links are not followed, name the file itself")
    _refuse(st.st_mode)
    if within is not None and not path.resolve(strict=True).is_relative_to(within.resolve()):
        raise Refused("reached through a link out of the folder; links are not followed")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENXIO):  # became a link or a socket since the look
            raise Refused("changed into a link or a special file while being read; not read") from None
        raise
    try:
        st = os.fstat(fd)
        _refuse(st.st_mode)
    except BaseException:
        os.close(fd)
        raise
    return fd, st


def read_all(fd: int) -> bytes:
    """Every byte of the open regular file `fd`, closing it."""
    with os.fdopen(fd, "rb") as f:
        return f.read()
