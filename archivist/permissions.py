"""Who may read an archive. By default only its owner (folders 0700, files 0600): it keeps the original bytes
of every source, withdrawn articles' included. `archivist init --group GROUP` shares it with one group
(folders 2750 — setgid, so every folder and file made later belongs to the group too — files 0640).

The rule is the process umask while an archive is open: every file the log, the blob store, the snapshots
and the index (Whoosh) create takes its mode from it, so it lives here once, not in each writer.
"""

from __future__ import annotations

import grp
import os
import stat
import threading
from pathlib import Path

from archivist import errors

PRIVATE_UMASK = 0o077  # folders 0700, files 0600
GROUP_UMASK = 0o027  # folders 2750, files 0640
_SHOWN = 5  # paths named by a warning; the rest are counted

_lock = threading.Lock()
_open: list[int] = []  # the umask of each archive open in this process, in the order they were opened
_saved: int | None = None  # the process umask before the first of them


def group_of(root: Path) -> str | None:
    """The group an archive is shared with (its root folder is setgid), or None when it is private."""
    st = root.stat()
    if not st.st_mode & stat.S_ISGID:
        return None
    try:
        return grp.getgrgid(st.st_gid).gr_name
    except KeyError:
        return str(st.st_gid)


def make_root(root: Path, group: str | None) -> None:
    """Create an archive's folder private to its owner, or shared with `group`; an existing folder (an
    archive, or an empty folder made for one) gets the same rule, applied to everything in it."""
    new = not root.exists()
    root.mkdir(parents=True, exist_ok=True)
    if group is None:
        if new or not any(root.iterdir()):
            os.chmod(root, 0o700)
        return
    try:
        gid = grp.getgrnam(group).gr_gid
    except KeyError:
        raise errors.UsageError(f"no group {group!r} on this machine") from None
    try:
        for path in [root, *root.rglob("*")]:
            if path.is_symlink():
                continue
            os.chown(path, -1, gid)
            os.chmod(path, 0o2750 if path.is_dir() else 0o640)
    except PermissionError as exc:
        raise errors.UsageError(f"cannot give {exc.filename} to group {group!r} (you must own it and be a "
                                "member of the group)") from None


def may_write(root: Path) -> bool:
    """Whether this process may record in the archive at `root`: write its folder (snapshots, the index's
    lock), its log folder (new segments) and the log's LOCK. A member of the group an archive is shared with
    may only read (folders 2750, files 0640): it opens the archive read-only (`Archive.readonly`)."""
    ids = os.access in os.supports_effective_ids
    lock = root / "log" / "LOCK"
    if not (root / "log").exists():  # team mode: the log is on the server; the folder holds projections
        return os.access(root, os.W_OK, effective_ids=ids)
    return all(os.access(p, os.W_OK, effective_ids=ids) for p in (root, root / "log")) and (
        not lock.exists() or os.access(lock, os.W_OK, effective_ids=ids))


def enter(root: Path) -> None:
    """The archive at `root` is being opened: files created from now on follow its rule."""
    global _saved
    mask = GROUP_UMASK if root.stat().st_mode & stat.S_ISGID else PRIVATE_UMASK
    with _lock:
        previous = os.umask(mask)
        if not _open:
            _saved = previous
        _open.append(mask)


def leave(root: Path) -> None:
    """The archive is closed: back to the umask of the archive opened last, or the process's own."""
    global _saved
    mask = GROUP_UMASK if root.exists() and root.stat().st_mode & stat.S_ISGID else PRIVATE_UMASK
    with _lock:
        if mask in _open:
            _open.remove(mask)
        if _open:
            os.umask(max(_open))  # several open: the strictest of them
        elif _saved is not None:
            os.umask(_saved)
            _saved = None


def wider_open(root: Path) -> list[str]:
    """Warnings for files and folders of the archive that others may read (or its group write) beyond its
    rule: left by older versions, or changed by hand."""
    group = root.stat().st_mode & stat.S_ISGID
    too_wide = 0o027 if group else 0o077
    found: list[str] = []
    for dirpath, _, filenames in os.walk(root):
        for path in [Path(dirpath), *(Path(dirpath) / name for name in filenames)]:
            try:
                st = os.lstat(path)
            except OSError:
                continue
            if stat.S_ISLNK(st.st_mode):
                continue
            if st.st_mode & too_wide:
                found.append(f"{path.relative_to(root).as_posix() if path != root else '.'} "
                             f"({stat.filemode(st.st_mode)})")
    if not found:
        return []
    rule = "its group may read it, others nothing" if group else "only its owner may read it"
    more = f" and {len(found) - _SHOWN} more" if len(found) > _SHOWN else ""
    fix = (f"chmod -R o-rwx,g-w {root}" if group else f"chmod -R go-rwx {root}")
    return [f"{len(found)} of the archive's files and folders are open wider than its rule ({rule}): "
            f"{', '.join(found[:_SHOWN])}{more}; to close them: {fix}"]
