"""`archivist search` and `archivist rebuild`."""

from __future__ import annotations

import argparse
import csv
import io
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from rich.text import Text

from archivist import errors
from archivist.cli_common import (
    count,
    emit_json,
    err,
    json_encoder,
    open_archive,
    out,
    parse_date,
    parse_last_date,
    write_lines,
)
from archivist.progress import progress_of
from archivist.textutil import plural, printable

if TYPE_CHECKING:
    from archivist.archive import Archive
    from index.searching import SearchHit

LIMIT = 10

QUERY_SYNTAX = """\
query syntax:
  handel ludźmi                words: diacritics optional (ludzmi finds ludźmi), any inflection (handlu finds
                               handel); articles with every word rank first
  "handel ludźmi"  "…"~3       a phrase (~N: its words up to N apart)
  title:policja                one field: title body url publisher tag status id year
                               (or in Polish: tytuł treść adres wydawca tagi data rok)
  published:2015..2017         dates: YYYY, YYYY-MM or YYYY-MM-DD, a range A..B or [A TO B]
  policja AND NOT kradzież     boolean: AND OR NOT, -word (must not), +word (must), ( … )
  handl*  ludzmi~  ludzmi~2    a prefix; fuzzy words (one or two letters off)
  @archiwalne                  a saved search: its query and filters must match (`archivist saved --help`)
  ''                           an empty query lists every article, newest first

examples:
  archivist search 'handlu ludźmi' --since 2015 --status archived
  archivist search 'title:"grupa zadaniowa"' --sort date --limit 20 --offset 20
  archivist search policja --json          (one JSON document: query, total, hits, facets)

A malformed query is refused with one line saying what is wrong and where (exit 2)."""


def _marked(text: str, marks: list[tuple[int, int]], style: str = "bold yellow") -> Text:
    t = Text(printable(text))
    if printable(text) == text:  # offsets hold only when nothing was escaped
        for start, end in marks:
            t.stylize(style, start, end)
    return t


def _filters(args: argparse.Namespace) -> dict[str, Any]:
    """The search options the command line gives (`search`, `count`): the filters and the day."""
    return {**filter_options(args), "as_of": args.as_of}


def _sort(args: argparse.Namespace) -> str:
    return "date" if not args.query.strip() and args.sort == "relevance" else args.sort  # nothing to rank


def _note_lag(a: Archive) -> None:
    # Only a user who may only read the archive searches a lagging index (a writer's search caught it up;
    # what was appended since is another process's news, not a lag).
    lag = a.index_lag() if a.readonly else 0
    if lag:
        err.print(Text(f"note: the search index is {plural(lag, 'event')} behind the log (a writer's next "
                       "command catches it up); these results leave out what those events changed"))


def cmd_count(args: argparse.Namespace) -> int:
    with open_archive(args) as a:
        total = a.count(args.query, **_filters(args))
        _note_lag(a)
    if args.json:
        emit_json({"query": args.query, "total": total})
    else:
        write_lines([f"{total}\n".encode()])
    return 0


CSV_COLUMNS = ("id", "title", "url", "published", "status", "publisher", "tags")


def csv_tags(tags: list[str]) -> str:
    """An article's tags in one CSV cell: themselves a CSV record, so a tag holding a comma or a quote
    survives (`next(csv.reader([cell]))` gives the list back)."""
    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow(tags)
    return buf.getvalue()


def _ids(hits: Iterable[SearchHit]) -> Iterator[bytes]:
    for h in hits:
        yield (h.id + "\n").encode()


def _csv(hits: Iterable[SearchHit]) -> Iterator[bytes]:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")

    def line(row: Sequence[str]) -> bytes:
        w.writerow(row)
        text = buf.getvalue()
        buf.seek(0)
        buf.truncate()
        return text.encode("utf-8")
    yield line(CSV_COLUMNS)
    for h in hits:
        yield line([h.id, h.title, h.url or "", h.published.isoformat() if h.published else "", h.status,
                    h.publisher or "", csv_tags(h.tags)])


def _ndjson(hits: Iterable[SearchHit]) -> Iterator[bytes]:
    for h in hits:
        yield json_encoder.encode(h) + b"\n"


FORMATS: dict[str, Callable[[Iterable[SearchHit]], Iterator[bytes]]] = {"ids": _ids, "csv": _csv, "ndjson": _ndjson}


def cmd_search(args: argparse.Namespace) -> int:
    if args.format and args.json:
        raise errors.UsageError("--json and --format are two ways to print results: choose one")
    with open_archive(args) as a:
        if args.format:
            # the whole answer, streamed: hits are built and printed a page at a time
            _, hits = a.search_all(args.query, sort=_sort(args), offset=args.offset, limit=args.limit,
                                   snippets=args.format == "ndjson" and not args.no_snippets, **_filters(args))
            _note_lag(a)
            write_lines(FORMATS[args.format](hits))
            return 0
        res = a.search(args.query, limit=LIMIT if args.limit is None else args.limit, offset=args.offset,
                       sort=_sort(args), **_filters(args))
        _note_lag(a)
        if args.json:
            emit_json(res)
            return 0
        if not res.total:
            out.print(Text(f"No articles match {printable(res.query)!r}."))
        for i, h in enumerate(res.hits, 1 + args.offset):
            head = Text(f"{i:>3}. ")
            head.append(_marked(h.title, h.title_marks, "bold"))
            meta = " · ".join(x for x in (str(h.published or "undated"), h.status, h.publisher or "", h.id) if x)
            out.print(head)
            out.print(Text("     " + printable(meta), style="dim"))
            if h.snippet:
                out.print(Text("     ") + _marked(h.snippet, h.marks))
        total = plural(res.total, "article")
        match = f"{total} {'matches' if res.total == 1 else 'match'}"
        if res.hits:
            summary = f"{args.offset + 1}–{args.offset + len(res.hits)} of {total}"
        elif res.total and args.limit == 0:
            summary = f"{match}; none shown (--limit 0)"
        elif res.total:
            summary = f"{match}; none shown at offset {args.offset} (the last is number {res.total})"
        if res.total:
            out.print(Text(f"\n{summary} ({res.took_ms:.0f} ms)", style="bold"))
        if res.facets and res.total:
            for name, counts in res.facets.items():
                if counts:
                    out.print(Text(f"  {name}: " + ", ".join(f"{printable(k)} {v}" for k, v in list(counts.items())[:8]),
                                   style="dim"))
        if res.suggestion:
            out.print(Text(f"Did you mean: {printable(res.suggestion)}", style="italic"))
    return 0


def cmd_rebuild(args: argparse.Namespace) -> int:
    with open_archive(args, write=True) as a:
        a.index_progress = progress_of("rebuilding the index")
        t = time.perf_counter()
        cp = a.rebuild_index()
        took = time.perf_counter() - t
        n = a.index.doc_count()
        if args.json:
            emit_json({"checkpoint": cp, "articles": n, "seconds": round(took, 2)})
        else:
            out.print(Text(f"index rebuilt from the log: {plural(n, 'article')}, log #{cp}, {took:.1f} s"))
    return 0


def arguments(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("query", help="what to look for (see the query syntax below; '' lists every article)")
    sp.add_argument("--limit", type=count, default=None, metavar="N",
                    help=f"show at most N articles (default {LIMIT}, with --format every match; 0 prints only "
                         "how many match)")
    sp.add_argument("--offset", type=count, default=0, metavar="N",
                    help="skip the first N matches, to page through them (default 0)")
    sp.add_argument("--format", choices=tuple(FORMATS), default=None,
                    help="for scripts, every match streamed (not a page): ids (one a line, for xargs), csv "
                         f"(a header, then {','.join(CSV_COLUMNS)}; the tags cell is itself a CSV record), "
                         "ndjson (one hit a line, the fields of --json's hits)")
    sp.add_argument("--no-snippets", action="store_true",
                    help="with --format ndjson: leave snippet and marks empty (each snippet reads the article's "
                         "text: ~2 ms a hit)")
    sp.add_argument("--sort", choices=("relevance", "date", "oldest"), default="relevance",
                    help="relevance (the default; newest first for an empty query), date (newest first) or "
                         "oldest")
    filter_arguments(sp)
    sp.add_argument("--as-of", type=parse_date, metavar="DATE",
                    help="the archive as it stood at the end of that day (recorded time, UTC)")


def count_arguments(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("query", help="what to look for (the query syntax of `archivist help search`; '' counts "
                                  "every article)")
    filter_arguments(sp)
    sp.add_argument("--as-of", type=parse_date, metavar="DATE",
                    help="the archive as it stood at the end of that day (recorded time, UTC)")


FILTERS = ("status", "since", "until", "publisher", "tag", "all")


def filter_arguments(sp: argparse.ArgumentParser) -> None:
    """The filters of a search, for every command that works on a query's results (`filter_options`)."""
    sp.add_argument("--status", metavar="S[,S]",
                    help="only these statuses: live, archived, withdrawn (comma-separated; default: every "
                         "status but withdrawn)")
    sp.add_argument("--since", type=parse_date, metavar="DATE", help="published on or after (YYYY[-MM[-DD]])")
    sp.add_argument("--until", type=parse_last_date, metavar="DATE",
                    help="published on or before (YYYY[-MM[-DD]]: its last day, so --until 2015 takes in all of 2015)")
    sp.add_argument("--publisher", metavar="NAME",
                    help="only articles from this publisher: the words of its name, in order, diacritics "
                         "optional (`archivist stats` lists the publishers)")
    sp.add_argument("--tag", action="append", metavar="TAG", help="only articles with this tag; repeat for "
                                                                  "several (all must match)")
    sp.add_argument("--all", action="store_true", help="include withdrawn articles")


def filter_options(args: argparse.Namespace) -> dict[str, Any]:
    """The search options the filter arguments ask for (`Archive.search`'s keywords)."""
    statuses = [s.strip() for s in (args.status or "").split(",") if s.strip()]
    return {"status": statuses or None, "since": args.since, "until": args.until, "publisher": args.publisher,
            "tag": args.tag, "include_withdrawn": args.all}


def filters_given(args: argparse.Namespace) -> list[str]:
    """The filter options on the command line, as typed (`--status`, …)."""
    return [f"--{name}" for name in FILTERS if getattr(args, name, None)]
