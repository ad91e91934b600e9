"""What every `archivist` command shares: the consoles, JSON output, argument types and the archive handle."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import msgspec
from rich.console import Console
from rich.text import Text

from archivist.textutil import printable
from store import days

if TYPE_CHECKING:  # imported when a command runs: `archivist --help` starts without Whoosh
    from archivist.archive import Archive

json_encoder = msgspec.json.Encoder()

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def emit_json(value: Any) -> None:
    sys.stdout.buffer.write(json_encoder.encode(value) + b"\n")
    sys.stdout.flush()


def write_lines(chunks: Iterable[bytes]) -> None:
    """Write to stdout as the chunks come, each flushed at once (a script reads them while the rest is made).
    A reader that stops early (`| head`) raises BrokenPipeError: `main` ends such a command quietly, exit 0."""
    stdout = sys.stdout.buffer
    for chunk in chunks:
        stdout.write(chunk)
        stdout.flush()


def lit(value: object) -> Text:
    """Text from an article printed literally: never interpreted as Rich markup, control characters shown."""
    return Text(printable("" if value is None else str(value)))


def parse_date(text: str) -> dt.date:
    """YYYY, YYYY-MM or YYYY-MM-DD: the first day it names (for --since and --as-of; see `store.days`)."""
    try:
        return days.first_day(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def parse_last_date(text: str) -> dt.date:
    """YYYY, YYYY-MM or YYYY-MM-DD: the last day it names (for --until: `--until 2015` takes in all of 2015)."""
    try:
        return days.last_day(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def count(text: str) -> int:
    """A whole number, 0 or more (for --limit, --offset)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more: {text!r}")
    return value


def open_archive(args: argparse.Namespace, via: str = "cli", create: bool = False, write: bool = False) -> Archive:
    """The archive named by `--archive` (or the default), opened as `via:$USER` unless `--actor` says who.
    `write`: the command records something, so a user who may only read the archive is refused (exit 2)
    before anything is read."""
    from archivist.archive import Archive, default_actor

    actor: str | None = getattr(args, "actor", None)
    archive = Archive.open(args.archive, actor=actor or default_actor(via), create=create)
    if write:
        try:
            archive.require_writable()
        except BaseException:
            archive.close()
            raise
    return archive
