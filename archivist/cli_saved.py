"""`archivist saved`: saved searches (notmuch's named queries), used as `@NAME` inside any query."""

from __future__ import annotations

import argparse

from rich.table import Table
from rich.text import Text

from archivist import cli_search, errors
from archivist.cli_common import emit_json, lit, open_archive, out
from archivist.saved import describe
from archivist.textutil import printable

HELP = "saved searches: `saved add NAME QUERY`, `saved list`, `saved rm NAME`; then @NAME in any query"
EPILOG = """\
A saved search is a query with its filters under a name. @NAME inside any query stands for it: the saved
query AND its filters must match, like +word, and the rest of the query keeps its meaning. Saved searches are
events in the log: they travel with export and import, and everyone sharing the archive sees them.

examples:
  archivist saved add archiwalne 'handel ludźmi' --status archived
  archivist search '@archiwalne published:2017'
  archivist tag --query '@archiwalne' --dry-run do-przejrzenia
  archivist saved add archiwalne 'handel ludźmi' --status archived --since 2015 --replace
  archivist saved list --json
  archivist saved rm archiwalne"""


def arguments(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("verb", choices=("add", "list", "rm"), metavar="add|list|rm")
    sp.add_argument("name", nargs="?", metavar="NAME", help="one simple word (letters, digits, - and _)")
    sp.add_argument("query", nargs="?", metavar="QUERY", help="with add: the query ('' with filters only)")
    sp.add_argument("--replace", action="store_true", help="with add: change the saved search of that name")
    cli_search.filter_arguments(sp)
    sp.usage = ("%(prog)s add NAME QUERY [filters] [--replace]\n       %(prog)s list [--json]\n"
                "       %(prog)s rm NAME")


def cmd_saved(args: argparse.Namespace) -> int:
    given = cli_search.filters_given(args) + (["--replace"] if args.replace else [])
    if args.verb == "list":
        if args.name is not None or given:
            raise errors.UsageError("saved list takes no name, query or filters")
        with open_archive(args) as a:
            saved = a.saved_searches()
        if args.json:
            emit_json({"saved": saved})
            return 0
        if not saved:
            out.print(Text("No saved searches yet: `archivist saved add NAME QUERY [filters]`."))
            return 0
        table = Table("name", "query", "filters", "saved")
        for s in saved:
            when = s.recorded_at.strftime("%Y-%m-%d") if s.recorded_at else ""
            table.add_row(lit("@" + s.name), lit(s.query), lit(describe(s)), lit(f"{when} {s.actor}"))
        out.print(table)
        return 0
    if args.name is None:
        raise errors.UsageError(f"saved {args.verb}: give the saved search's NAME")
    if args.verb == "rm":
        if args.query is not None or given:
            raise errors.UsageError("saved rm takes only the NAME")
        with open_archive(args, write=True) as a:
            name = a.saved_search(args.name).name
            position = a.remove_saved_search(name)
        if args.json:
            emit_json({"name": name, "removed": True, "position": position})
        else:
            out.print(Text(f"removed @{name} (log #{position})"))
        return 0
    if args.query is None:
        raise errors.UsageError("saved add: give the NAME and the QUERY ('' for filters only)")
    with open_archive(args, write=True) as a:
        position = a.save_search(args.name, args.query, replace=args.replace, **cli_search.filter_options(args))
        s = a.saved_search(args.name)
    if args.json:
        emit_json({"name": s.name, "recorded": bool(position), "position": position or None, "saved": s})
    elif position:
        out.print(Text(f"saved @{s.name} (log #{position}): use it as @{s.name} in any query"))
    else:
        out.print(Text(f"nothing to record: @{s.name} is already saved so ({printable(s.query)!r})"))
    return 0
