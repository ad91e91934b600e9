"""`archivist` — the command line, per DESIGN.md's contract.

Every read command takes `--json` and then prints exactly one JSON document on stdout; human output uses
rich; errors go to stderr as one line (and with `--json` also as `{"error": …, "code": N}` on stdout). Exit
codes: 0 ok, 1 not found, 2 usage, query or permission error (a command that would record something, run by
a user who may only read the archive, included), 3 input rejected, 4 integrity problem, 5 conflict (someone
else changed the article first; nothing was written). Text that comes from articles is always printed
literally: never interpreted as Rich markup.

The commands are the table `COMMANDS` at the end of this file; those defined beside their subsystems (search,
ingest, watch, the UI) are imported here by name.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, NamedTuple, NoReturn

import msgspec
from rich.table import Table
from rich.text import Text

from archivist import cli_ingest, cli_saved, cli_search, cli_tui, errors, watch_cli
from archivist.addresses import AddressError, normalize_url
from archivist.batch import PAST
from archivist.charts import bar
from archivist.cli_common import emit_json, err, lit, open_archive, out, parse_date
from archivist.progress import progress, progress_of
from archivist.textutil import VERSION_WORDS, plural, printable, revision

if TYPE_CHECKING:
    from archivist.archive import Archive


def _fmt_time(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


# --- commands -------------------------------------------------------------------------------------------------

def cmd_init(args: argparse.Namespace) -> int:
    from archivist.archive import Archive

    with Archive.open(args.archive, group=args.group, store=args.store) as a:
        if args.json:
            emit_json({"archive": str(a.root.resolve()), "head": a.head(), "group": a.group,
                       "writable": not (a.readonly or a.store_readonly), "store": a.store})
        else:
            shared = f", shared with group {a.group}" if a.group else ", private to you"
            out.print(Text(f"Archive ready at {a.root.resolve()} ({plural(a.head(), 'event')}{shared})."))
            if a.store:
                out.print(Text(f"Its events and original bytes live in the store {a.store}; this folder keeps "
                               "this machine's index and state."))
            if a.readonly or a.store_readonly:
                out.print(Text("You may read it (search, show, history, export, tui …) but not write to it."))
            else:
                out.print(Text(f"Drop files into {a.inbox.resolve()} and run `archivist watch`, "
                               "or `archivist ingest PATH`."))
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    with open_archive(args) as a:
        view = a.show(args.id, as_of=args.as_of)
        if args.json:
            emit_json(view)
            return 0
        meta = Table.grid(padding=(0, 2))
        meta.add_column(style="bold")
        meta.add_column()
        meta.add_row("id", lit(view.id))
        meta.add_row("status", lit(view.status + (f" — {view.status_reason}" if view.status_reason else "")))
        meta.add_row("published", lit(view.published or "unknown"))
        meta.add_row("publisher", lit(view.publisher or "unknown"))
        meta.add_row("address", lit(view.url or "none"))
        for change in view.urls[:-1]:
            meta.add_row("earlier", lit(f"{change.url} (until {_fmt_time(view.urls[view.urls.index(change) + 1].recorded_at)})"))
        meta.add_row("tags", lit(", ".join(view.tags) or "none"))
        meta.add_row("revision", lit(f"{revision(view.versions, view.versions)} · event {view.version} "
                                     f"(last change {_fmt_time(view.changed_at)})"))
        out.print(Text(printable(view.title), style="bold"))
        out.print(meta)
        out.print()
        out.print(lit(view.body))
    return 0


def cmd_history(args: argparse.Namespace) -> int:
    with open_archive(args) as a:
        entries = a.history(args.id)
        if args.json:
            emit_json({"id": a.article(args.id).id, "events": entries})
            return 0
        revisions = {v.position: v.version for v in a.versions(args.id)}
        table = Table(title=Text(f"History of {a.article(args.id).id}"),
                      caption=Text(VERSION_WORDS, style="dim", justify="left"))
        for col in ("event", "log #", "recorded", "by", "type", "what", "source file"):
            table.add_column(col)
        for e in entries:
            what = (f"revision {revisions[e.position]}: " if e.position in revisions else "") + e.summary
            table.add_row(lit(e.version), lit(e.position), lit(_fmt_time(e.recorded_at)), lit(e.actor),
                          lit(e.type.removeprefix("Article")), lit(what), lit(e.source_file or ""))
        out.print(table)
    return 0


def cmd_resolve(args: argparse.Namespace) -> int:
    with open_archive(args) as a:
        r = a.resolve(args.url, as_of=args.as_of)
        if args.json:
            emit_json(r)
            return 0
        out.print(lit(r.url))
        for hop in r.chain:
            how = f"article {hop.article_id} moved" if hop.kind == "article" else "portal moved"
            out.print(Text(f"  → {hop.to_url}   ({how}, recorded {_fmt_time(hop.recorded_at)})"))
        if not r.chain:
            out.print(Text("  (has not moved)"))
        if r.article_id:
            out.print(Text(f"article {r.article_id}, {r.status}"))
    return 0


# --- actions: each records what happened (or says there is nothing to record) -----------------------------

class Recorded(NamedTuple):
    position: int  # 0: nothing recorded, it was already so
    id: str | None  # the article's full id (None for a portal rule)
    done: str  # what was recorded, for people
    already: str  # what was already so, for people
    extra: dict[str, Any] = {}


def _on_article(verb: str, state: str,
                call: Callable[[Archive, argparse.Namespace], int]) -> Callable[[Archive, argparse.Namespace], Recorded]:
    def act(a: Archive, x: argparse.Namespace) -> Recorded:
        aid = a.article(x.id).id  # a unique prefix becomes the full id; an ambiguous one is refused
        position = call(a, x)
        return Recorded(position, aid, f"{verb} {aid}", f"{aid} is already {state}")
    return act


def _tags(verb: str, call: Callable[[Archive, argparse.Namespace], int]) -> Callable[[Archive, argparse.Namespace], Recorded]:
    def act(a: Archive, x: argparse.Namespace) -> Recorded:
        aid = a.article(x.id).id
        position = call(a, x)
        tags = ", ".join(x.tags)
        return Recorded(position, aid, f"{verb} {aid}: {tags}", f"{aid} is already so ({verb}: {tags})")
    return act


def _relocate(a: Archive, x: argparse.Namespace) -> Recorded:
    if x.portal:
        position = a.relocate_portal(x.id, x.to_url, keep_path=x.keep_path, actor=x.actor)
        old, new = _address(x.id), _address(x.to_url)
        rest = " (the rest of each address kept)" if x.keep_path else ""
        return Recorded(position, None, f"portal moved: every address under {old} now leads to {new}{rest}",
                        f"the portal rule {old} → {new} is already recorded",
                        {"from_prefix": old, "to_prefix": new, "keep_path": x.keep_path})
    article = a.article(x.id)
    aid, old_url = article.id, article.url
    position = a.relocate(aid, x.to_url, expected_version=x.expect_version, actor=x.actor)
    new = _address(x.to_url)
    return Recorded(position, aid, f"relocated {aid}: {old_url or '(no address)'} → {new}",
                    f"{aid} is already at {new}", {"from_url": old_url, "to_url": new})


def _address(text: str) -> str:
    try:
        return normalize_url(text)
    except AddressError as exc:
        raise errors.UsageError(str(exc)) from exc


def _action(act: Callable[[Archive, argparse.Namespace], Recorded]) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        with open_archive(args, write=True) as a:
            r = act(a, args)
        if args.json:
            emit_json({"id": r.id, "recorded": bool(r.position), "position": r.position or None, **r.extra})
        elif r.position:
            out.print(Text(f"{printable(r.done)} (log #{r.position})"))
        else:
            out.print(Text(f"nothing to record: {printable(r.already)}"))
        return 0
    return run


def _on_one_or_a_query(action: str, one: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """`archivist ACTION ID …` records it for one article; `archivist ACTION --query Q …` for every article the
    query (and the search filters) finds, in one atomic batch."""
    def run(args: argparse.Namespace) -> int:
        tagging = action in ("tag", "untag")
        if args.query is None:
            if args.id is None:
                raise errors.UsageError(f"{action}: name an article (ID) or the articles of a query (--query QUERY)")
            if args.dry_run or cli_search.filters_given(args):
                given = ", ".join(cli_search.filters_given(args) + (["--dry-run"] if args.dry_run else []))
                raise errors.UsageError(f"{given}: only with --query (they choose and preview a query's articles)")
            if tagging and not args.tags:
                raise errors.UsageError(f"{action}: give at least one tag after the article id")
            return one(args)
        if args.expect_version is not None:
            raise errors.UsageError("--expect-version is for one article; with --query each article is expected at "
                                    "the version the query read")
        if tagging:
            args.tags = [args.id, *args.tags] if args.id is not None else args.tags
        elif args.id is not None:
            raise errors.UsageError(f"{action}: an article id or --query, not both")
        return _batch(action, args)
    return run


def _batch(action: str, args: argparse.Namespace) -> int:
    with open_archive(args, write=not args.dry_run) as a:
        plan = a.plan_batch(action, args.query, tags=getattr(args, "tags", ()), reason=args.reason or "",
                            **cli_search.filter_options(args))
        r = msgspec.structs.replace(plan.result, dry_run=True) if args.dry_run else a.apply_batch(plan)
    if args.json:
        emit_json(r)
        return 0
    what = PAST[action] + (f" {', '.join(r.tags)}" if r.tags else "")
    skipped = f"; {plural(len(r.unchanged), 'article')} already so, skipped" if r.unchanged else ""
    if not r.matched:
        out.print(Text(f"No articles match {printable(r.query)!r}: nothing to record."))
    elif args.dry_run:
        out.print(Text(f"would record {plural(len(r.changed), 'article')} as {what}{skipped} "
                       "(a dry run: nothing recorded)", style="bold"))
        for item in r.changed:
            out.print(Text(f"  {item.id}  {printable(item.title)}"))
    elif r.changed:
        where = f"log #{r.first_position}" + (f"–#{r.last_position}" if r.last_position != r.first_position else "")
        out.print(Text(f"{what}: {plural(len(r.changed), 'article')} ({where}){skipped}"))
    else:
        out.print(Text(f"nothing to record: all {plural(r.matched, 'matching article')} are already so ({what})"))
    return 0


cmd_archive = _on_one_or_a_query("archive", _action(_on_article("archived", "archived", lambda a, x: a.archive(
    x.id, x.reason, expected_version=x.expect_version, actor=x.actor))))
cmd_restore = _on_one_or_a_query("restore", _action(_on_article("restored", "live", lambda a, x: a.restore(
    x.id, x.reason, expected_version=x.expect_version, actor=x.actor))))
cmd_withdraw = _on_one_or_a_query("withdraw", _action(_on_article("withdrawn", "withdrawn", lambda a, x: a.withdraw(
    x.id, x.reason, expected_version=x.expect_version, actor=x.actor))))
cmd_relocate = _action(_relocate)
cmd_tag = _on_one_or_a_query("tag", _action(_tags("tagged", lambda a, x: a.tag(
    x.id, *x.tags, expected_version=x.expect_version, actor=x.actor))))
cmd_untag = _on_one_or_a_query("untag", _action(_tags("untagged", lambda a, x: a.untag(
    x.id, *x.tags, expected_version=x.expect_version, actor=x.actor))))


# --- reading ------------------------------------------------------------------------------------------------

def version_or_date(text: str) -> int | dt.date:
    return int(text) if text.strip().isdigit() and len(text.strip()) < 4 else parse_date(text)


def cmd_diff(args: argparse.Namespace) -> int:
    with open_archive(args) as a:
        d = a.diff(args.id, args.from_, args.to)
        if args.json:
            emit_json(d)
            return 0
        fv, tv = d.from_version, d.to_version
        out.print(Text(f"{d.id}: version {fv.version} ({_fmt_time(fv.recorded_at)}, {fv.actor}) → "
                       f"version {tv.version} ({_fmt_time(tv.recorded_at)}, {tv.actor})", style="bold"))
        if not d.changed:
            out.print(Text("no change in title or text"))
            return 0
        for label, ops in (("title", d.title), ("text", d.body)):
            if not any(o.op != "equal" for o in ops):
                continue
            t = Text(f"{label}: ", style="bold")
            for o in ops:
                piece = printable(o.text)
                if o.op == "equal":
                    t.append(piece if label == "title" or len(piece) < 160 else piece[:70] + " … " + piece[-70:])
                elif o.op == "delete":
                    t.append("[-" + piece + "-]", style="red strike")
                else:
                    t.append("{+" + piece + "+}", style="green")
            out.print(t)
    return 0


def cmd_source(args: argparse.Namespace) -> int:
    """The exact bytes dropped for an article version: to a file (-o, written whole or not at all), to a pipe
    as they are, or to a terminal as the text ingest decoded (control characters shown, never obeyed);
    bytes that are not text are not written to a terminal."""
    with open_archive(args) as a:
        o = a.original(args.id, args.version)
        if args.output and args.output != "-":
            _write_file(args.output, lambda f: a.write_original(o, f))
            if args.json:
                emit_json({**msgspec.to_builtins(o), "output": args.output})
            else:
                err.print(lit(f"wrote {o.file_name} ({plural(o.size, 'byte')}, sha256 {o.digest}; version "
                              f"{o.version} of {o.versions} of article {o.id}) to {args.output}"))
        elif args.json:
            emit_json(o)  # what the original is; its bytes go to a file (-o) or a pipe
        elif sys.stdout.isatty():
            try:
                text = a.original_text(o)
            except errors.InputRejected as exc:
                raise errors.UsageError(f"not writing the original to a terminal: {exc}; use -o FILE "
                                        "(or pipe it)") from None
            out.print(lit(text), end="" if text.endswith("\n") else "\n")
        else:
            a.write_original(o, sys.stdout.buffer)
            sys.stdout.flush()
    return 0


def _write_file(name: str, write: Callable[[IO[bytes]], object]) -> None:
    """Write a file whole or not at all: a temp file beside it, fsynced, renamed over it."""
    tmp = Path(name + ".part")
    try:
        with open(tmp, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, name)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise errors.UsageError(f"cannot write {name}: {exc.strerror or exc}") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def cmd_links(args: argparse.Namespace) -> int:
    with open_archive(args) as a:
        moved = a.links(as_of=args.as_of)
        if args.json:
            emit_json({"links": moved})
            return 0
        if not moved:
            out.print(Text("No archived article's address has moved."))
        for m in moved:
            out.print(Text(printable(m.title), style="bold"))
            out.print(Text(f"  {printable(m.recorded_url)}\n  → {printable(m.current_url)}   ({m.id})"))
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    with open_archive(args) as a:
        report = a.verify()
        if args.json:
            emit_json(report)
        else:
            for w in report.warnings:
                err.print(Text(f"warning: {printable(w)}"))
            if report.ok:
                out.print(Text(f"OK: {plural(report.records, 'record')}, hash chain intact; "
                               f"{plural(report.blobs, 'source')} re-hashed."))
            else:
                for p in report.problems:
                    err.print(Text(f"{p.kind}: {p.detail}"))
                err.print(Text(f"{plural(len(report.problems), 'problem')} found."))
        return 0 if report.ok else errors.IntegrityError.exit_code


def cmd_stats(args: argparse.Namespace) -> int:
    with open_archive(args) as a:
        s = a.stats(as_of=args.as_of)
        if args.json:
            emit_json(s)
            return 0
        t = Table.grid(padding=(0, 2))
        t.add_column(style="bold")
        t.add_column()
        t.add_row("articles", lit(f"{s.articles} ({', '.join(f'{k} {v}' for k, v in s.by_status.items())})"))
        t.add_row("events", lit(s.events))
        t.add_row("sources", lit(f"{s.sources} ({s.rejected_sources} rejected)"))
        t.add_row("portal rules", lit(s.portal_rules))
        t.add_row("log size", lit(f"{s.log_bytes / 1e6:.1f} MB"))
        out.print(t)
        undated = s.articles - sum(s.years.values())
        _bars("Articles per year", list(s.years.items()),
              f"and {plural(undated, 'article')} without a date" if undated else "")
        others = s.articles - sum(s.publishers.values())
        _bars("Articles per publisher" + (f" (the {len(s.publishers)} largest)" if others else ""),
              list(s.publishers.items()), f"and {plural(others, 'article')} from other or unknown publishers"
              if others else "")
    return 0


def _bars(title: str, rows: list[tuple[str, int]], note: str) -> None:
    """Counts as horizontal bars (`archivist.charts`); on a terminal in colour, else plain text."""
    out.print()
    out.print(Text(title, style="bold"))
    if not rows:
        out.print(Text("  none", style="dim"))
        return
    peak = max(n for _, n in rows)
    label_w = min(max(len(printable(k)) for k, _ in rows), 40)
    count_w = len(str(peak))
    width = max(min(50, out.width - label_w - count_w - 6), 10)
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True, width=label_w + 1, overflow="ellipsis")
    grid.add_column(no_wrap=True, style="cyan")
    grid.add_column(justify="right", no_wrap=True)
    for key, n in rows:
        grid.add_row(Text(" " + printable(key)), Text(bar(n, peak, width)), Text(str(n)))
    out.print(grid)
    if note:
        out.print(Text("  " + note, style="dim"))


def cmd_export(args: argparse.Namespace) -> int:
    with open_archive(args) as a:
        if args.output and args.output != "-":
            counted: list[int] = []
            _write_file(args.output, lambda f: counted.append(a.export(f, blobs=not args.no_blobs)))
            err.print(Text(f"exported {counted[0]} records to {args.output}"))
        else:
            a.export(sys.stdout.buffer, blobs=not args.no_blobs)
            sys.stdout.flush()
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from archivist.archive import Archive

    indexing = progress_of("indexing")
    if args.file == "-":
        with progress("importing", None, unit="bytes") as advance:
            n = Archive.import_new(args.archive, sys.stdin.buffer, progress=advance, index_progress=indexing)
    elif not os.path.isfile(args.file):
        raise errors.UsageError(f"no such file: {args.file}")
    else:
        with open(args.file, "rb") as f, progress("importing", os.fstat(f.fileno()).st_size, unit="bytes") as advance:
            n = Archive.import_new(args.archive, f, progress=advance, index_progress=indexing)
    if args.json:
        emit_json({"imported": n})
    else:
        out.print(Text(f"imported {n} records"))
    return 0


def cmd_help(args: argparse.Namespace) -> int:
    parsers: dict[str, argparse.ArgumentParser] = args.parsers
    if args.topic is None:
        parsers[""].print_help()
    elif args.topic in parsers:
        parsers[args.topic].print_help()
    else:
        raise errors.UsageError(f"no command {args.topic!r}; the commands: {', '.join(sorted(n for n in parsers if n))}")
    return 0


# --- the table of commands ------------------------------------------------------------------------------------

def _no_arguments(sp: argparse.ArgumentParser) -> None:
    pass


class Command(NamedTuple):
    name: str
    run: Callable[[argparse.Namespace], int]
    help: str
    options: frozenset[str] = frozenset()  # shared options: "json", "as_of", "act" (--json --actor --expect-version)
    arguments: Callable[[argparse.ArgumentParser], None] = _no_arguments
    epilog: str | None = None


def _init_arguments(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("--group", metavar="GROUP",
                    help="share the archive with this group (folders 2750, files 0640); by default an archive "
                         "is private to its owner (folders 0700, files 0600)")
    sp.add_argument("--store", metavar="URL",
                    help="team mode: keep the events and original bytes in this PostgreSQL database "
                         "(postgresql://USER@HOST:PORT/DB; no password in it: libpq's PGPASSWORD, ~/.pgpass, "
                         "service files and sslmode apply); this folder keeps only this machine's projections")


def _id(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("id", help="article id, or a unique start of it (at least 4 characters)")


def _on_query(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("--query", metavar="QUERY",
                    help="instead of one article: every article this search finds (with the filters below), in one "
                         "atomic batch; articles already so are counted and skipped")
    sp.add_argument("--dry-run", action="store_true",
                    help="with --query: print how many articles and which, record nothing")
    cli_search.filter_arguments(sp)


def _id_reason(sp: argparse.ArgumentParser, required: bool = False) -> None:
    sp.add_argument("id", nargs="?", help="article id, or a unique start of it (at least 4 characters)")
    sp.add_argument("--reason", required=required, default="",
                    help="why it is withdrawn (required; kept in its history)" if required
                    else "why (kept in the article's history)")
    _on_query(sp)
    sp.usage = "%(prog)s [options] ID\n       %(prog)s [options] --query QUERY [--dry-run] [filters]"
    if required:
        sp.usage = sp.usage.replace("[options]", "--reason REASON [options]")


def _withdraw_arguments(sp: argparse.ArgumentParser) -> None:
    _id_reason(sp, required=True)


def _relocate_arguments(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("id", help="article id, or with --portal the old address prefix")
    sp.add_argument("to_url", metavar="NEW_URL")
    sp.add_argument("--portal", action="store_true", help="a whole URL prefix moved (PortalRelocated)")
    sp.add_argument("--keep-path", action="store_true", help="with --portal: the rest of each address is kept")


def _tags_arguments(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("id", nargs="?", metavar="ID",
                    help="article id, or a unique start of it (at least 4 characters); not with --query")
    sp.add_argument("tags", nargs="*", metavar="TAG")
    _on_query(sp)
    sp.set_defaults(reason="")
    sp.usage = "%(prog)s [options] ID TAG [TAG ...]\n       %(prog)s [options] --query QUERY [--dry-run] [filters] TAG [TAG ...]"


def _resolve_arguments(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("url")


def _diff_arguments(sp: argparse.ArgumentParser) -> None:
    _id(sp)
    sp.add_argument("--from", dest="from_", type=version_or_date, metavar="VERSION|DATE",
                    help="a content version number, or the version current at the end of a day "
                         "(default: the one before --to)")
    sp.add_argument("--to", type=version_or_date, metavar="VERSION|DATE", help="(default: the latest)")


def _source_arguments(sp: argparse.ArgumentParser) -> None:
    _id(sp)
    sp.add_argument("--version", type=int, metavar="N",
                    help="the content version (1 = as first published; default: the latest)")
    sp.add_argument("-o", "--output", metavar="FILE",
                    help="write the bytes to FILE (default: stdout; binary bytes are not written to a terminal)")


def _export_arguments(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("-o", "--output", help="file to write (default stdout)")
    sp.add_argument("--no-blobs", action="store_true", help="records only, without the original bytes")


def _import_arguments(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("file", help="NDJSON export file, or - for stdin")


def _help_arguments(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("topic", nargs="?", metavar="COMMAND", help="e.g. search (its query syntax)")


JSON, AS_OF, ACT = frozenset({"json"}), frozenset({"json", "as_of"}), frozenset({"act"})

COMMANDS: tuple[Command, ...] = (
    Command("init", cmd_init, "create an archive (idempotent)", JSON, _init_arguments),
    Command("ingest", cli_ingest.cmd_ingest, "ingest files or folders (subfolders become tags)", JSON,
            cli_ingest.arguments),
    Command("watch", watch_cli.cmd_watch, watch_cli.HELP, JSON, watch_cli.arguments, watch_cli.EPILOG),
    Command("search", cli_search.cmd_search, "search articles (Polish-aware; the query syntax is below)", JSON,
            cli_search.arguments, cli_search.QUERY_SYNTAX),
    Command("count", cli_search.cmd_count, "how many articles a search matches (the filters of search)", JSON,
            cli_search.count_arguments),
    Command("saved", cli_saved.cmd_saved, cli_saved.HELP, JSON, cli_saved.arguments, cli_saved.EPILOG),
    Command("show", cmd_show, "one article", AS_OF, _id),
    Command("history", cmd_history, "an article's events, oldest first", JSON, _id),
    Command("resolve", cmd_resolve, "follow relocations to the current address, with the chain", AS_OF,
            _resolve_arguments),
    Command("diff", cmd_diff, "what changed between two versions of an article (word by word)", JSON,
            _diff_arguments),
    Command("source", cmd_source, "the original file an article version was read from, byte for byte "
            "(digest checked); --json: what it is", JSON, _source_arguments),
    Command("links", cmd_links, "archived articles whose recorded address has moved, with the current one",
            AS_OF),
    Command("archive", cmd_archive, "record that an article (or every article a --query finds) was archived", ACT, _id_reason),
    Command("restore", cmd_restore, "record that an archived or withdrawn article (or every article a --query "
            "finds) is live again", ACT, _id_reason),
    Command("withdraw", cmd_withdraw, "hide an article (or every article a --query finds) from search (kept in "
            "history)", ACT, _withdraw_arguments),
    Command("relocate", cmd_relocate,
            "record that an article (or with --portal, every address under a prefix) moved", ACT,
            _relocate_arguments),
    Command("tag", cmd_tag, "tag an article, or every article a --query finds (to remove tags: `archivist untag`)", ACT, _tags_arguments),
    Command("untag", cmd_untag, "remove tags from an article, or from every article a --query finds", ACT, _tags_arguments),
    Command("verify", cmd_verify, "check log framing, hash chain, blob fixity, the index and who may read the "
            "archive's files", JSON),
    Command("rebuild", cli_search.cmd_rebuild, "rebuild the search index from the log", JSON),
    Command("stats", cmd_stats, "counts", AS_OF),
    Command("export", cmd_export, "the log as NDJSON (lossless), with each source's bytes",
            arguments=_export_arguments),
    Command("import", cmd_import, "load an export into a new, empty archive (a failed import leaves nothing)",
            JSON, _import_arguments),
    Command("tui", cli_tui.cmd_tui, "the terminal UI: search, read, follow history, record what happened",
            arguments=cli_tui.tui_arguments),
    Command("demo", cli_tui.cmd_demo, "fill the archive with the bundled samples and some history, then open "
            "the UI", JSON, cli_tui.demo_arguments),
    Command("help", cmd_help, "explain a command (`archivist help search`: the query syntax)",
            arguments=_help_arguments),
)


# --- the parser -----------------------------------------------------------------------------------------------

class UsageFailure(Exception):
    """argparse refused the command line; `prog` is the (sub)command whose `--help` explains it."""

    def __init__(self, message: str, prog: str) -> None:
        super().__init__(message)
        self.prog = prog


class _Version(argparse.Action):
    """`--version`: argparse's own action, except that the version is looked up only when asked for."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, help=None):  # type: ignore[no-untyped-def]
        super().__init__(option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser, namespace, values, option_string=None):  # type: ignore[no-untyped-def]
        import archivist

        parser._print_message(f"archivist {archivist.__version__}\n", sys.stdout)
        parser.exit()


class Parser(argparse.ArgumentParser):
    """Usage errors are one line with a hint, not argparse's whole usage text."""

    def error(self, message: str) -> NoReturn:
        if message.startswith("argument COMMAND: invalid choice: "):
            message = "unknown command " + message.removeprefix("argument COMMAND: invalid choice: ").split(" (")[0]
        raise UsageFailure(message, self.prog)

    def parse_args(self, args: Sequence[str] | None = None,  # type: ignore[override]
                   namespace: argparse.Namespace | None = None) -> argparse.Namespace:
        parsed, extra = self.parse_known_args(args, namespace)
        if extra:
            command = getattr(parsed, "command", None)
            raise UsageFailure(f"unrecognized arguments: {' '.join(extra)}",
                               f"{self.prog} {command}" if command else self.prog)
        return parsed


def build_parser() -> Parser:
    common = Parser(add_help=False)
    common.add_argument("--archive", metavar="DIR", default=argparse.SUPPRESS,
                        help="archive folder (env ARCHIVIST_ARCHIVE; default ~/.local/share/archivist)")
    shared: dict[str, Parser] = {name: Parser(add_help=False) for name in ("json", "as_of", "act")}
    shared["json"].add_argument("--json", action="store_true", help="print one JSON document on stdout")
    shared["as_of"].add_argument("--as-of", type=parse_date, metavar="DATE",
                                 help="the archive as it stood at the end of that day (recorded time, UTC)")
    act = shared["act"]
    act.add_argument("--json", action="store_true", help="print one JSON document on stdout")
    act.add_argument("--actor", help="who records this (default cli:$USER)")
    act.add_argument("--expect-version", type=int, metavar="N",
                     help="fail with exit 5 unless the article is at version N (optimistic concurrency), "
                          "even when there would be nothing to record")

    p = Parser(prog="archivist", parents=[common],
               description="Event-sourced archive of Polish news and government articles.",
               epilog="`archivist help COMMAND` or `archivist COMMAND --help` explains a command. Exit codes: "
                      "0 ok, 1 not found, 2 usage, query or permission error (e.g. recording in an archive you may "
                      "only read), 3 input rejected, 4 integrity problem, "
                      "5 conflict.")
    p.add_argument("--version", action=_Version, help="print the version and exit")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True, parser_class=Parser)
    parsers: dict[str, argparse.ArgumentParser] = {"": p}
    for c in COMMANDS:
        parents = [common, *(shared[o] for o in sorted(c.options))]
        sp = sub.add_parser(c.name, help=c.help, description=c.help, epilog=c.epilog, parents=parents,
                            formatter_class=argparse.RawDescriptionHelpFormatter if c.epilog else
                            argparse.HelpFormatter)
        c.arguments(sp)
        sp.set_defaults(func=c.run)
        parsers[c.name] = sp
    parsers["help"].set_defaults(parsers=parsers)
    return p


def _fail(message: str, code: int, as_json: bool, **extra: Any) -> int:
    err.print(Text(f"error: {printable(message)}"))
    if as_json:
        emit_json({"error": message, "code": code, **extra})
    return code


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    as_json = "--json" in argv
    try:
        args = build_parser().parse_args(argv)
    except UsageFailure as exc:
        return _fail(f"{exc} (see `{exc.prog} --help`)", errors.UsageError.exit_code, as_json)
    if getattr(args, "archive", None) is None:
        from archivist.archive import default_archive_path

        args.archive = str(default_archive_path())
    try:
        return int(args.func(args) or 0)
    except errors.ArchivistError as exc:
        return _fail(str(exc), exc.exit_code, as_json, **exc.details())
    except PermissionError as exc:
        return _fail(f"permission denied: {exc.filename or exc}", errors.UsageError.exit_code, as_json)
    except KeyboardInterrupt:
        err.print(Text("interrupted"))
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:
        # The log's own errors (team mode: the store's server went away, or refused, in the middle of a
        # read) as one line; the facade, which a command that reached the log has loaded, maps them.
        from archivist.archive import user_error

        e = user_error(exc)
        if e is None:
            raise
        return _fail(str(e), e.exit_code, as_json)


if __name__ == "__main__":
    sys.exit(main())
