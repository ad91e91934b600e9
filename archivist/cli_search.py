"""`archivist search` and `archivist rebuild`."""

from __future__ import annotations

import argparse
import time
from typing import Any

from rich.text import Text

from archivist.cli import _open, emit_json, out, parse_date
from archivist.textutil import plural, printable


def _marked(text: str, marks: list[tuple[int, int]], style: str = "bold yellow") -> Text:
    t = Text(printable(text))
    if printable(text) == text:  # offsets hold only when nothing was escaped
        for start, end in marks:
            t.stylize(style, start, end)
    return t


def cmd_search(args: argparse.Namespace) -> int:
    with _open(args) as a:
        statuses = [s.strip() for s in (args.status or "").split(",") if s.strip()]
        sort = "date" if not args.query.strip() and args.sort == "relevance" else args.sort  # nothing to rank
        res = a.search(
            args.query, limit=args.limit, offset=args.offset, status=statuses or None, since=args.since,
            until=args.until, publisher=args.publisher, tag=args.tag, as_of=args.as_of, sort=sort,
            include_withdrawn=args.all,
        )
        if args.json:
            emit_json(res)
            return 0
        if not res.hits:
            out.print(Text(f"No articles match {printable(res.query)!r}."))
        for i, h in enumerate(res.hits, 1 + args.offset):
            head = Text(f"{i:>3}. ")
            head.append(_marked(h.title, h.title_marks, "bold"))
            meta = " · ".join(x for x in (str(h.published or "undated"), h.status, h.publisher or "", h.id) if x)
            out.print(head)
            out.print(Text("     " + printable(meta), style="dim"))
            if h.snippet:
                out.print(Text("     ") + _marked(h.snippet, h.marks))
        shown = f"{args.offset + 1}–{args.offset + len(res.hits)} of " if res.hits else ""
        out.print(Text(f"\n{shown}{plural(res.total, 'article')} ({res.took_ms:.0f} ms)", style="bold"))
        if res.facets:
            for name, counts in res.facets.items():
                if counts:
                    out.print(Text(f"  {name}: " + ", ".join(f"{printable(k)} {v}" for k, v in list(counts.items())[:8]),
                                   style="dim"))
        if res.suggestion:
            out.print(Text(f"Did you mean: {printable(res.suggestion)}", style="italic"))
    return 0


def cmd_rebuild(args: argparse.Namespace) -> int:
    with _open(args) as a:
        t = time.perf_counter()
        cp = a.rebuild_index()
        took = time.perf_counter() - t
        n = a.index.doc_count()
        if args.json:
            emit_json({"checkpoint": cp, "articles": n, "seconds": round(took, 2)})
        else:
            out.print(Text(f"index rebuilt from the log: {plural(n, 'article')}, log #{cp}, {took:.1f} s"))
    return 0


def register(add: Any, read: argparse.ArgumentParser, act: argparse.ArgumentParser) -> None:
    sp = add("search", cmd_search, "search articles (Polish-aware; see README for the query language)", [read])
    sp.add_argument("query", help='e.g. handel ludźmi, "handel ludźmi", title:policja published:2015..2017')
    sp.add_argument("--limit", type=int, default=10)
    sp.add_argument("--offset", type=int, default=0)
    sp.add_argument("--status", help="live, archived, withdrawn (comma-separated)")
    sp.add_argument("--since", type=parse_date, help="published on or after (YYYY[-MM[-DD]])")
    sp.add_argument("--until", type=parse_date, help="published on or before")
    sp.add_argument("--publisher")
    sp.add_argument("--tag", action="append", help="repeat for several tags (all must match)")
    sp.add_argument("--as-of", type=parse_date, help="the archive as it stood at the end of that day")
    sp.add_argument("--sort", choices=("relevance", "date", "oldest"), default="relevance")
    sp.add_argument("--all", action="store_true", help="include withdrawn articles")
    add("rebuild", cmd_rebuild, "rebuild the search index from the log", [read])
