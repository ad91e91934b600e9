"""`archivist tui` and `archivist demo`: the one door from the CLI into the Textual UI (imported lazily)."""

from __future__ import annotations

import argparse
import sys

from rich.text import Text

from archivist import errors
from archivist.cli_common import emit_json, err, out
from archivist.textutil import plural


def cmd_tui(args: argparse.Namespace) -> int:
    from archivist.archive import Archive

    if not Archive.exists(args.archive) and not args.create:
        if not (sys.stdin.isatty() and sys.stdout.isatty()):
            raise errors.NotFound(f"no archive at {args.archive} (run `archivist init` first, or "
                                  "`archivist tui --create`)")
        err.print(Text(f"There is no archive at {args.archive}. Create one there? [y/N] "), end="")
        try:
            answer = input()
        except EOFError:
            answer = ""
        if answer.strip().lower() not in ("y", "yes", "t", "tak"):
            raise errors.NotFound(f"no archive at {args.archive}; nothing created")
    from tui.app import make_app

    make_app(args.archive).run()
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from archivist.demo import build_demo

    stats = build_demo(args.archive)
    if args.json:
        emit_json(stats)
    elif args.no_tui:
        out.print(Text(f"demo archive at {args.archive}: {plural(stats.articles, 'article')} "
                       f"({', '.join(f'{k} {v}' for k, v in stats.by_status.items())}), "
                       f"{plural(stats.events, 'event')}"))
    if args.no_tui or args.json:
        return 0
    from tui.app import make_app

    make_app(args.archive).run()
    return 0


def tui_arguments(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("--create", action="store_true",
                    help="create the archive when there is none (otherwise asked on a terminal, refused elsewhere)")


def demo_arguments(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("--no-tui", action="store_true", help="only build the demo archive and print its counts")
