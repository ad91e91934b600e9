"""Errors that reach users, each with the CLI exit code of DESIGN.md's contract."""

from __future__ import annotations


class ArchivistError(Exception):
    exit_code = 2

    def details(self) -> dict[str, object]:
        """More than the message, for scripts (the CLI's JSON error document)."""
        return {}


class NotFound(ArchivistError):
    """An unknown article id or address."""

    exit_code = 1


class UsageError(ArchivistError):
    exit_code = 2


class AmbiguousId(UsageError):
    """An id prefix that starts more than one article's id."""

    def __init__(self, prefix: str, candidates: list[tuple[str, str]]) -> None:
        shown = "; ".join(f"{aid} ({title[:60]})" for aid, title in candidates[:10])
        more = f"; and {len(candidates) - 10} more" if len(candidates) > 10 else ""
        super().__init__(f"{prefix!r} is ambiguous: it starts {len(candidates)} article ids: {shown}{more}. "
                         "Give more characters")
        self.candidates = candidates

    def details(self) -> dict[str, object]:
        return {"candidates": [{"id": aid, "title": title} for aid, title in self.candidates]}


class ReadOnlyArchive(UsageError):
    """A command that would record something, run by a user who may only read the archive (a member of the
    group it is shared with: `init --group`). Exit 2, like every other permission refusal."""

    def __init__(self, root: object) -> None:
        super().__init__(f"you may read the archive at {root} but not write to it (only its owner and users "
                         "who may write its files can ingest, record, watch, import or rebuild)")


class StoreReadOnly(UsageError):
    """Team mode: a command that would record an event, run as a database role that may only read the
    archive's store. Exit 2, like the folder's read-only refusal (`ReadOnlyArchive`)."""

    def __init__(self, user: str) -> None:
        super().__init__(f"this archive's store does not let {user} record events")


class QueryError(UsageError):
    """A malformed query: one line saying what is wrong and where."""


class InputRejected(ArchivistError):
    exit_code = 3


class IntegrityError(ArchivistError):
    exit_code = 4


class StoreUnavailable(ArchivistError):
    """Team mode: the store's server could not be reached or dropped the connection. Nothing unconfirmed was
    acknowledged; running the command again is safe. Exit 4, as for a log that cannot be written."""

    exit_code = 4


class ConflictError(ArchivistError):
    """Someone else changed the article since it was read; nothing was written."""

    exit_code = 5
