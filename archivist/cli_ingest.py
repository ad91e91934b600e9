"""`archivist ingest`: files in, events out."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.text import Text

from archivist import errors
from archivist.cli_common import emit_json, err, open_archive, out
from archivist.progress import progress, progress_of, progress_of_totals
from archivist.textutil import crawl_report, plural, printable


def cmd_ingest(args: argparse.Namespace) -> int:
    from archivist.ingest.registry import MAX_BYTES
    from archivist.ingest.service import walk
    from archivist.ingest.warc import is_warc

    paths = [Path(p) for p in args.paths]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise errors.UsageError(f"no such file or folder: {', '.join(missing)}")
    files = list(walk(paths))
    max_bytes = int(args.max_mb * 1024 * 1024) if args.max_mb else MAX_BYTES
    max_warc_bytes = int(args.max_warc_gb * 1024**3) if args.max_warc_gb else None
    with open_archive(args, create=True, write=True) as a:
        a.index_progress = progress_of("indexing")
        with progress("ingesting", len(files)) as advance, \
                progress_of_totals("reading the crawl", unit="bytes") as crawl:
            summary = a.ingest_files(files, via="cli", max_bytes=max_bytes, progress=lambda o: advance(),
                                     max_warc_bytes=max_warc_bytes, warc_progress=crawl)
    if args.json:
        emit_json(summary)
    else:
        for o in summary.outcomes:
            if o.result == "rejected":
                err.print(Text(f"rejected {printable(o.file)}: {printable(o.reason or '')}"
                               + (" (recorded before)" if o.known else "")))
            elif is_warc(o.file) and not o.known:
                out.print(Text(printable(f"{o.file}: " + crawl_report(o.pages, o.new, o.revised, o.relocations,
                                                                       o.duplicates, o.skipped)
                                         + (f" ({o.reason})" if o.reason else ""))))
        out.print(Text(f"{plural(summary.files, 'file')}: {summary.ingested} ingested, {summary.revised} revised, "
                       f"{summary.duplicate} duplicate, {summary.rejected} rejected"
                       + (f", {plural(summary.relocations, 'relocation')}" if summary.relocations else "")))
    return errors.InputRejected.exit_code if summary.rejected else 0


def arguments(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("paths", nargs="+", metavar="PATH")
    sp.add_argument("--max-mb", type=float, default=None, help="size limit per file (default 20 MB)")
    sp.add_argument("--max-warc-gb", type=float, default=None,
                    help="size limit per WARC crawl, which is streamed (default 20 GB)")
    sp.add_argument("--actor", help=argparse.SUPPRESS)
