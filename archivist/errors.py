"""Errors that reach users, each with the CLI exit code of DESIGN.md's contract."""

from __future__ import annotations


class ArchivistError(Exception):
    exit_code = 2


class NotFound(ArchivistError):
    """An unknown article id or address."""

    exit_code = 1


class UsageError(ArchivistError):
    exit_code = 2


class QueryError(UsageError):
    """A malformed query: one line saying what is wrong and where."""


class InputRejected(ArchivistError):
    exit_code = 3


class IntegrityError(ArchivistError):
    exit_code = 4


class ConflictError(ArchivistError):
    """Someone else changed the article since it was read; nothing was written."""

    exit_code = 5
