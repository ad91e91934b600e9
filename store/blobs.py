"""Content-addressed store for the original bytes handed to the archive (fixity by SHA-256).

A blob lives at `root/ab/cd/<64 hex>`. It only ever appears under that name complete and fsynced: the bytes
go to a temp file in the same directory, which is fsynced and renamed into place, then the directory is
fsynced. A crash can leave a temp file behind but never a partial blob; stale temp files are swept on open.
All file-system calls that can fail mid-way go through `FileOps`, so tests can inject faults.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal

from store.fileops import DEFAULT_OPS, FileOps

_DIGEST = re.compile(r"[0-9a-f]{64}")
_FANOUT = re.compile(r"[0-9a-f]{2}")
_TEMP = re.compile(r"\.tmp-\d+-[0-9a-f]{16}")
INCOMING = "incoming"  # `put_file`'s temp files, before their digest is known
TEMP_MAX_AGE = 3600.0  # seconds; a put never takes this long, so an older temp file is a crash leftover


class BlobError(OSError):
    """Storing or reading a blob failed; the message names the digest and the cause."""

    digest: str = ""


class BlobNotFound(KeyError):
    """No blob with this digest is stored."""

    def __str__(self) -> str:
        return f"no blob {self.args[0]}" if self.args else "no blob"


@dataclass(frozen=True, slots=True)
class BlobProblem:
    digest: str
    kind: Literal["missing", "corrupt", "unreadable"]
    detail: str = ""


def validate_digest(digest: object) -> str:
    """Return `digest` if it is 64 lowercase hex characters, else raise ValueError (no path games)."""
    if not isinstance(digest, str) or _DIGEST.fullmatch(digest) is None:
        raise ValueError(f"not a SHA-256 hex digest: {digest!r}")
    return digest


def _blob_error(digest: str, action: str, cause: OSError) -> BlobError:
    message = f"cannot {action} blob {digest}: {cause.strerror or cause}"
    err = BlobError(cause.errno, message) if cause.errno is not None else BlobError(message)
    err.digest = digest
    return err


class BlobChecks:
    """Fixity, the same for every blob store (folder, database): re-hash what is stored against its name."""

    def __iter__(self) -> Iterator[str]:
        raise NotImplementedError

    def _problem(self, digest: str) -> BlobProblem | None:
        raise NotImplementedError

    def verify(self, digest: str) -> bool:
        """Re-hash the stored bytes; False if they are missing, unreadable or do not match their name."""
        return self._problem(digest) is None

    def check(self, digests: Iterable[str] | None = None) -> list[BlobProblem]:
        """Re-hash every stored blob (or just `digests`, reporting those missing) and list what is wrong."""
        targets = list(self) if digests is None else [validate_digest(d) for d in digests]
        return [p for d in targets if (p := self._problem(d)) is not None]

    def reader(self, digest: str) -> BinaryIO:
        """The stored bytes as a file to read (a source may be large: read it in pieces). Not re-hashed."""
        raise NotImplementedError


class BlobStore(BlobChecks):
    def __init__(self, root: Path | str, ops: FileOps = DEFAULT_OPS) -> None:
        self.root = Path(root)
        self.ops = ops
        self._unsynced = False  # puts with sync=False await `sync()`
        self._sweep_temp_files()

    def close(self) -> None:
        """Nothing to release (a file is opened per call); the store's interface has it for server stores."""

    # --- addressing -------------------------------------------------------------------------------------

    def reader(self, digest: str) -> BinaryIO:
        try:
            return open(self.path(digest), "rb")  # noqa: SIM115 - the caller closes it
        except FileNotFoundError:
            raise BlobNotFound(digest) from None

    def path(self, digest: str) -> Path:
        validate_digest(digest)
        return self.root / digest[:2] / digest[2:4] / digest

    def exists(self, digest: str) -> bool:
        return self.path(digest).is_file()

    def __contains__(self, digest: object) -> bool:
        return isinstance(digest, str) and _DIGEST.fullmatch(digest) is not None and self.exists(digest)

    def __iter__(self) -> Iterator[str]:
        """Stored digests in sorted order; files that are not blobs at their proper place are skipped."""
        for top in self._subdirs(self.root):
            for sub in self._subdirs(top):
                try:
                    names = sorted(e.name for e in os.scandir(sub) if e.is_file(follow_symlinks=False))
                except FileNotFoundError:
                    continue
                prefix = top.name + sub.name
                for name in names:
                    if _DIGEST.fullmatch(name) and name.startswith(prefix):
                        yield name

    # --- reading ----------------------------------------------------------------------------------------

    def get(self, digest: str) -> bytes:
        path = self.path(digest)
        try:
            return path.read_bytes()
        except FileNotFoundError:
            raise BlobNotFound(digest) from None
        except OSError as exc:
            raise _blob_error(digest, "read", exc) from exc

    def _problem(self, digest: str) -> BlobProblem | None:
        path = self.path(digest)
        try:
            with open(path, "rb") as f:
                actual = hashlib.file_digest(f, "sha256").hexdigest()
        except FileNotFoundError:
            return BlobProblem(digest, "missing")
        except OSError as exc:
            return BlobProblem(digest, "unreadable", str(exc))
        if actual != digest:
            return BlobProblem(digest, "corrupt", f"content hashes to {actual}")
        return None

    # --- writing ----------------------------------------------------------------------------------------

    def put(self, data: bytes, *, sync: bool = True) -> str:
        """Store `data` and return its digest. Storing the same bytes again writes nothing.

        With `sync=False` the blob is complete under its name but durable only after the next `sync()`:
        a batch of puts then costs one filesystem flush instead of two or three fsyncs each.
        """
        digest = hashlib.sha256(data).hexdigest()
        final = self.path(digest)
        tmp: Path | None = None
        try:
            try:
                if final.stat().st_size == len(data):
                    # Another put may have renamed it in without having fsynced the directory yet.
                    self._durable(final.parent, sync)
                    return digest
            except FileNotFoundError:
                pass
            self._make_dirs(final.parent, sync)
            tmp = final.parent / f".tmp-{os.getpid()}-{secrets.token_hex(8)}"
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
            try:
                self.ops.write_all(fd, data)
                if sync:
                    self.ops.fsync(fd)
            finally:
                os.close(fd)
            self.ops.replace(tmp, final)
            tmp = None
            self._durable(final.parent, sync)
        except OSError as exc:
            if tmp is not None:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass
            raise _blob_error(digest, "store", exc) from exc
        return digest

    def put_file(self, f: BinaryIO, *, sync: bool = True, chunk: int = 1 << 20,
                 progress: Callable[[int], None] | None = None) -> tuple[str, int]:
        """Store the rest of the open file `f` and return (digest, size), never holding more than `chunk`
        bytes: the digest is computed while the bytes are copied to a temp file in `INCOMING` (the digest, and
        so the blob's folder, is known only at the end), which is then renamed into place (or dropped, when
        that blob is already stored). `progress(bytes copied)`."""
        incoming = self.root / INCOMING
        incoming.mkdir(parents=True, exist_ok=True)
        tmp = incoming / f".tmp-{os.getpid()}-{secrets.token_hex(8)}"
        placed = False
        h = hashlib.sha256()
        size = 0
        digest = "?"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
            try:
                while data := f.read(chunk):
                    h.update(data)
                    self.ops.write_all(fd, data)
                    size += len(data)
                    if progress is not None:
                        progress(size)
                if sync:
                    self.ops.fsync(fd)
            finally:
                os.close(fd)
            digest = h.hexdigest()
            final = self.path(digest)
            try:
                if final.stat().st_size == size:  # already stored: the temp file goes (in `finally`)
                    self._durable(final.parent, sync)
                    return digest, size
            except FileNotFoundError:
                pass
            self._make_dirs(final.parent, sync)
            self.ops.replace(tmp, final)
            placed = True
            self._durable(final.parent, sync)
        except OSError as exc:
            raise _blob_error(digest, "store", exc) from exc
        finally:
            if not placed:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass
        return digest, size

    def _durable(self, folder: Path, sync: bool) -> None:
        """A new entry in `folder` is made durable now, or (`sync=False`) by the next `sync()`."""
        if sync:
            self.ops.fsync_dir(folder)
        else:
            self._unsynced = True

    def sync(self) -> None:
        """Make every `put(sync=False)` since the last call durable (files, renames and new folders)."""
        if not self._unsynced:
            return
        try:
            fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY)
            try:
                self.ops.syncfs(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            raise BlobError(exc.errno, f"cannot make stored blobs durable: {exc.strerror or exc}") from exc
        self._unsynced = False

    def _make_dirs(self, leaf: Path, sync: bool = True) -> None:
        """Create root/ab/cd as needed, fsyncing each parent whose entries changed."""
        missing: list[Path] = []
        d = leaf
        while not d.is_dir():
            missing.append(d)
            if d.parent == d:
                break
            d = d.parent
        for d in reversed(missing):
            try:
                os.mkdir(d)
            except FileExistsError:
                continue
            if sync:
                self.ops.fsync_dir(d.parent)

    # --- housekeeping -----------------------------------------------------------------------------------

    def _sweep_temp_files(self) -> None:
        """Remove temp files older than TEMP_MAX_AGE left by crashed puts; touch nothing else."""
        cutoff = time.time() - TEMP_MAX_AGE
        folders = [self.root / INCOMING]
        for top in self._subdirs(self.root):
            folders += self._subdirs(top)
        for sub in folders:
            try:
                entries = list(os.scandir(sub))
            except FileNotFoundError:
                continue
            for entry in entries:
                if not _TEMP.fullmatch(entry.name):
                    continue
                try:
                    if entry.is_file(follow_symlinks=False) and entry.stat().st_mtime < cutoff:
                        os.unlink(entry.path)
                except OSError:
                    pass

    @staticmethod
    def _subdirs(parent: Path) -> list[Path]:
        try:
            return sorted(
                Path(e.path)
                for e in os.scandir(parent)
                if _FANOUT.fullmatch(e.name) and e.is_dir(follow_symlinks=False)
            )
        except (FileNotFoundError, NotADirectoryError):
            return []
