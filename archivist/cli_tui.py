"""`archivist tui` and `archivist demo`: the one door from the CLI into the Textual UI (imported lazily)."""

from __future__ import annotations

import argparse
from typing import Any

from rich.text import Text

from archivist.cli import emit_json, out
from archivist.textutil import plural


def cmd_tui(args: argparse.Namespace) -> int:
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


def register(add: Any, read: argparse.ArgumentParser, act: argparse.ArgumentParser) -> None:
    add("tui", cmd_tui, "the terminal UI: search, read, follow history, record what happened")
    sp = add("demo", cmd_demo, "fill the archive with the bundled samples and some history, then open the UI",
             [read])
    sp.add_argument("--no-tui", action="store_true", help="only build the demo archive and print its counts")
