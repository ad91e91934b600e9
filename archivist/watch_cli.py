"""`archivist watch`: the command. The watcher itself (and watchdog) is imported only when it runs, so
`archivist --help` and every other command start without it.

Output is the one exception to "--json prints exactly one JSON document": the watcher runs until stopped, so
with `--json` it prints a stream — one JSON object per line (NDJSON) for each file it finished. Notices and
errors go to stderr as one structured line each (JSON with `--json`, `key=value` pairs otherwise).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from rich.text import Text

from archivist.cli_common import emit_json, json_encoder, open_archive, out
from archivist.textutil import crawl_report, plural, printable

if TYPE_CHECKING:  # the watcher (and watchdog) load only when `watch` runs
    from archivist.watch import WatchLog, WatchOutcome


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"not a usable number of seconds: {text!r}")
    return value


def _positive_seconds(text: str) -> float:
    value = _seconds(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be more than 0 seconds: {text!r}")
    return value


def cmd_watch(args: argparse.Namespace) -> int:
    from archivist.ingest.registry import MAX_BYTES
    from archivist.ingest.warc import MAX_WARC_BYTES
    from archivist.watch import Watcher, install_signal_handlers

    def report(o: WatchOutcome) -> None:
        try:
            if args.json:
                emit_json(o)
            else:
                out.print(_human(o))
        except BrokenPipeError:
            _silence_stdout()  # whoever read our output left; the watching goes on

    def log(line: WatchLog) -> None:
        text = json_encoder.encode(line).decode() if args.json else _logfmt(line)
        try:
            print(text, file=sys.stderr, flush=True)
        except (BrokenPipeError, OSError):
            pass

    with open_archive(args, via="watch", create=True, write=True) as a:
        inbox = Path(args.inbox) if args.inbox else a.inbox
        watcher = Watcher(a, inbox, settle=args.settle, rescan=args.rescan, poll=args.poll,
                          max_bytes=int(args.max_mb * 1024 * 1024) if args.max_mb else MAX_BYTES,
                          max_warc_bytes=int(args.max_warc_gb * 1024**3) if args.max_warc_gb else MAX_WARC_BYTES,
                          report=report, log=log)
        restore = install_signal_handlers(watcher)
        try:
            watcher.run()
        finally:
            restore()
    return 0


def _human(o: WatchOutcome) -> Text:
    what = {"ingested": f"{o.new} new" if o.new else "", "revised": f"{o.revised} revised"}.get(o.result, "")
    if o.relocations:
        what = ", ".join(x for x in (what, plural(o.relocations, "relocation")) if x)
    line = f"{o.result:<9} {o.file}"
    if o.pages or o.skipped:  # a WARC crawl
        what = crawl_report(o.pages, o.new, o.revised, o.relocations, o.duplicates, o.skipped)
    if what:
        line += f" ({what})"
    if o.reason:
        line += f": {o.reason}"
    if o.known and o.result != "duplicate":
        line += " (recorded before)"
    if o.moved_to:
        line += f" → {o.moved_to}"
    return Text(printable(line), style="red" if o.result == "rejected" else "")


def _logfmt(line: WatchLog) -> str:
    parts = [line.at.strftime("%Y-%m-%dT%H:%M:%SZ"), f"level={line.level}", f"event={line.event}"]
    if line.file is not None:
        parts.append(f"file={_quote(line.file)}")
    parts.append(f"msg={_quote(line.message)}")
    return " ".join(parts)


def _quote(value: str) -> str:
    value = printable(value)
    if value and not any(c in value for c in ' "=\\'):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except OSError:
        pass


HELP = ("watch a folder and ingest what is dropped into it, once, until interrupted "
        "(subfolders become tags; done files move to .done/, rejected ones to .rejected/)")
EPILOG = ("With --json the output is a stream, not one document: one JSON object per line (NDJSON) for each "
          "file, as it is finished. SIGINT or SIGTERM stops the watcher after the file in hand (exit 0).")


def arguments(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("inbox", nargs="?", metavar="INBOX", help="folder to watch (default ARCHIVE/inbox)")
    sp.add_argument("--poll", type=_positive_seconds, metavar="SECONDS",
                    help="poll every SECONDS instead of file-system events (network file systems)")
    sp.add_argument("--settle", type=_seconds, default=1.0, metavar="SECONDS",
                    help="take a file once its size and time are unchanged this long (default 1)")
    sp.add_argument("--rescan", type=_positive_seconds, default=30.0, metavar="SECONDS",
                    help="look through the whole inbox this often, for missed events (default 30)")
    sp.add_argument("--max-mb", type=float, default=None, help="size limit per file (default 20 MB)")
    sp.add_argument("--max-warc-gb", type=float, default=None,
                    help="size limit per WARC crawl, which is streamed (default 20 GB)")
    sp.add_argument("--actor", help=argparse.SUPPRESS)
