"""`archivist` — the command line, per DESIGN.md's contract.

Every read command takes `--json` and then prints exactly one JSON document on stdout; human output uses
rich; errors go to stderr as one line. Exit codes: 0 ok, 1 not found, 2 usage or query error, 3 input
rejected, 4 integrity problem, 5 conflict (someone else changed the article first; nothing was written).
Text that comes from articles is always printed literally: never interpreted as Rich markup.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import msgspec
from rich.console import Console
from rich.table import Table
from rich.text import Text

from archivist import errors
from archivist.textutil import VERSION_WORDS, plural, printable, revision

_json = msgspec.json.Encoder()

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def emit_json(value: Any) -> None:
    sys.stdout.buffer.write(_json.encode(value) + b"\n")
    sys.stdout.flush()


def parse_date(text: str) -> dt.date:
    """YYYY, YYYY-MM or YYYY-MM-DD (for --since/--until/--as-of)."""
    s = text.strip()
    try:
        if len(s) == 4 and s.isdigit():
            return dt.date(int(s), 1, 1)
        if len(s) == 7:
            return dt.date.fromisoformat(s + "-01")
        return dt.date.fromisoformat(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def _lit(value: object) -> Text:
    return Text(printable("" if value is None else str(value)))


def _fmt_time(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


# --- commands -------------------------------------------------------------------------------------------------

def cmd_init(args: argparse.Namespace) -> int:
    from archivist.archive import Archive

    with Archive.open(args.archive) as a:
        if args.json:
            emit_json({"archive": str(a.root.resolve()), "head": a.log.head()})
        else:
            out.print(Text(f"Archive ready at {a.root.resolve()} ({plural(a.log.head(), 'event')})."))
            out.print(Text(f"Drop files into {a.root.resolve() / 'inbox'} and run `archivist watch`, "
                           "or `archivist ingest PATH`."))
    return 0


def _open(args: argparse.Namespace, via: str = "cli", create: bool = False) -> Any:
    from archivist.archive import Archive, default_actor

    return Archive.open(args.archive, actor=getattr(args, "actor", None) or default_actor(via), create=create)


def cmd_show(args: argparse.Namespace) -> int:
    with _open(args) as a:
        view = a.show(args.id, as_of=args.as_of)
        if args.json:
            emit_json(view)
            return 0
        meta = Table.grid(padding=(0, 2))
        meta.add_column(style="bold")
        meta.add_column()
        meta.add_row("id", _lit(view.id))
        meta.add_row("status", _lit(view.status + (f" — {view.status_reason}" if view.status_reason else "")))
        meta.add_row("published", _lit(view.published or "unknown"))
        meta.add_row("publisher", _lit(view.publisher or "unknown"))
        meta.add_row("address", _lit(view.url or "none"))
        for change in view.urls[:-1]:
            meta.add_row("earlier", _lit(f"{change.url} (until {_fmt_time(view.urls[view.urls.index(change) + 1].recorded_at)})"))
        meta.add_row("tags", _lit(", ".join(view.tags) or "none"))
        meta.add_row("revision", _lit(f"{revision(view.versions, view.versions)} · event {view.version} "
                                      f"(last change {_fmt_time(view.changed_at)})"))
        out.print(Text(printable(view.title), style="bold"))
        out.print(meta)
        out.print()
        out.print(_lit(view.body))
    return 0


def cmd_history(args: argparse.Namespace) -> int:
    with _open(args) as a:
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
            table.add_row(_lit(e.version), _lit(e.position), _lit(_fmt_time(e.recorded_at)), _lit(e.actor),
                          _lit(e.type.removeprefix("Article")), _lit(what), _lit(e.source_file or ""))
        out.print(table)
    return 0


def cmd_resolve(args: argparse.Namespace) -> int:
    with _open(args) as a:
        r = a.resolve(args.url, as_of=args.as_of)
        if args.json:
            emit_json(r)
            return 0
        out.print(_lit(r.url))
        for hop in r.chain:
            how = f"article {hop.article_id} moved" if hop.kind == "article" else "portal moved"
            out.print(Text(f"  → {hop.to_url}   ({how}, recorded {_fmt_time(hop.recorded_at)})"))
        if not r.chain:
            out.print(Text("  (has not moved)"))
        if r.article_id:
            out.print(Text(f"article {r.article_id}, {r.status}"))
    return 0


def _action(fn: Callable[[Any, argparse.Namespace], int], verb: str) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        with _open(args) as a:
            position = fn(a, args)
            aid = a.article(args.id).id if getattr(args, "id", None) else None
            if args.json:
                emit_json({"id": aid, "recorded": bool(position), "position": position or None})
            elif position:
                out.print(Text(f"{verb}: {aid or ''} (event {position})".replace(":  (", ": (")))
            else:
                out.print(Text(f"nothing to record: {aid or 'the rule'} is already so"))
        return 0
    return run


def version_or_date(text: str) -> int | dt.date:
    return int(text) if text.strip().isdigit() and len(text.strip()) < 4 else parse_date(text)


def cmd_diff(args: argparse.Namespace) -> int:
    with _open(args) as a:
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


def cmd_links(args: argparse.Namespace) -> int:
    with _open(args) as a:
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
    with _open(args) as a:
        report = a.verify()
        if args.json:
            emit_json(report)
        elif report.ok:
            out.print(Text(f"OK: {plural(report.records, 'record')}, hash chain intact; "
                           f"{plural(report.blobs, 'source')} re-hashed."))
        else:
            for p in report.problems:
                err.print(Text(f"{p.kind}: {p.detail}"))
            err.print(Text(f"{plural(len(report.problems), 'problem')} found."))
        return 0 if report.ok else errors.IntegrityError.exit_code


def cmd_stats(args: argparse.Namespace) -> int:
    with _open(args) as a:
        s = a.stats(as_of=args.as_of)
        if args.json:
            emit_json(s)
            return 0
        t = Table.grid(padding=(0, 2))
        t.add_column(style="bold")
        t.add_column()
        t.add_row("articles", _lit(f"{s.articles} ({', '.join(f'{k} {v}' for k, v in s.by_status.items())})"))
        t.add_row("events", _lit(s.events))
        t.add_row("sources", _lit(f"{s.sources} ({s.rejected_sources} rejected)"))
        t.add_row("portal rules", _lit(s.portal_rules))
        t.add_row("log size", _lit(f"{s.log_bytes / 1e6:.1f} MB"))
        t.add_row("years", _lit(", ".join(f"{y}: {n}" for y, n in s.years.items()) or "—"))
        t.add_row("publishers", _lit(", ".join(f"{p}: {n}" for p, n in list(s.publishers.items())[:8]) or "—"))
        out.print(t)
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    with _open(args) as a:
        if args.output and args.output != "-":
            tmp = Path(args.output + ".part")
            with open(tmp, "wb") as f:
                n = a.export(f, blobs=not args.no_blobs)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, args.output)
            err.print(Text(f"exported {n} records to {args.output}"))
        else:
            a.export(sys.stdout.buffer, blobs=not args.no_blobs)
            sys.stdout.flush()
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from archivist.archive import Archive

    with Archive.open(args.archive) as a:
        if args.file == "-":
            n = a.import_(sys.stdin.buffer)
        else:
            with open(args.file, "rb") as f:
                n = a.import_(f)
        if args.json:
            emit_json({"imported": n})
        else:
            out.print(Text(f"imported {n} records"))
    return 0


# --- parser ---------------------------------------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--archive", metavar="DIR", default=argparse.SUPPRESS,
                        help="archive folder (env ARCHIVIST_ARCHIVE; default ~/.local/share/archivist)")
    read = argparse.ArgumentParser(add_help=False)
    read.add_argument("--json", action="store_true", help="print one JSON document on stdout")
    act = argparse.ArgumentParser(add_help=False)
    act.add_argument("--json", action="store_true", help="print one JSON document on stdout")
    act.add_argument("--actor", help="who records this (default cli:$USER)")
    act.add_argument("--expect-version", type=int, metavar="N",
                     help="fail with exit 5 unless the article is at version N (optimistic concurrency)")

    p = argparse.ArgumentParser(prog="archivist", parents=[common],
                                description="Event-sourced archive of Polish news and government articles.")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def add(name: str, fn: Callable[[argparse.Namespace], int], help: str, parents: Sequence[Any] = ()) -> Any:
        sp = sub.add_parser(name, help=help, description=help, parents=[common, *parents])
        sp.set_defaults(func=fn)
        return sp

    add("init", cmd_init, "create an archive (idempotent)", [read])
    as_of = argparse.ArgumentParser(add_help=False)
    as_of.add_argument("--as-of", type=parse_date, metavar="DATE",
                       help="the archive as it stood at the end of that day (recorded time, UTC)")
    add("show", cmd_show, "one article", [read, as_of]).add_argument("id")
    add("history", cmd_history, "an article's events, oldest first", [read]).add_argument("id")
    add("resolve", cmd_resolve, "follow relocations to the current address, with the chain",
        [read, as_of]).add_argument("url")
    sp = add("diff", cmd_diff, "what changed between two versions of an article (word by word)", [read])
    sp.add_argument("id")
    sp.add_argument("--from", dest="from_", type=version_or_date, metavar="VERSION|DATE")
    sp.add_argument("--to", type=version_or_date, metavar="VERSION|DATE")
    add("links", cmd_links, "archived articles whose recorded address has moved, with the current one",
        [read, as_of])

    sp = add("archive", _action(lambda a, x: a.archive(x.id, x.reason or "", expected_version=x.expect_version,
                                                         actor=x.actor), "archived"),
             "record that an article was archived", [act])
    sp.add_argument("id")
    sp.add_argument("--reason", default="")
    sp = add("restore", _action(lambda a, x: a.restore(x.id, x.reason or "", expected_version=x.expect_version,
                                                         actor=x.actor), "restored"),
             "record that an archived or withdrawn article is live again", [act])
    sp.add_argument("id")
    sp.add_argument("--reason", default="")
    sp = add("withdraw", _action(lambda a, x: a.withdraw(x.id, x.reason, expected_version=x.expect_version,
                                                           actor=x.actor), "withdrawn"),
             "hide an article from search (kept in history)", [act])
    sp.add_argument("id")
    sp.add_argument("--reason", required=True)
    sp = add("relocate", _action(_relocate, "relocated"),
             "record that an article (or with --portal, every address under a prefix) moved", [act])
    sp.add_argument("id", help="article id, or with --portal the old address prefix")
    sp.add_argument("to_url", metavar="NEW_URL")
    sp.add_argument("--portal", action="store_true", help="a whole URL prefix moved (PortalRelocated)")
    sp.add_argument("--keep-path", action="store_true", help="with --portal: the rest of each address is kept")
    sp = add("tag", _action(lambda a, x: (a.untag if x.remove else a.tag)(
        x.id, *x.tags, expected_version=x.expect_version, actor=x.actor), "tags recorded"),
        "tag an article (or --remove tags)", [act])
    sp.add_argument("id")
    sp.add_argument("tags", nargs="+", metavar="TAG")
    sp.add_argument("--remove", action="store_true")
    sp = add("untag", _action(lambda a, x: a.untag(x.id, *x.tags, expected_version=x.expect_version,
                                                     actor=x.actor), "tags removed"), "remove tags", [act])
    sp.add_argument("id")
    sp.add_argument("tags", nargs="+", metavar="TAG")

    add("verify", cmd_verify, "check log framing, hash chain, blob fixity and the index", [read])
    add("stats", cmd_stats, "counts", [read, as_of])
    sp = add("export", cmd_export, "the log as NDJSON (lossless), with each source's bytes")
    sp.add_argument("-o", "--output", help="file to write (default stdout)")
    sp.add_argument("--no-blobs", action="store_true", help="records only, without the original bytes")
    sp = add("import", cmd_import, "load an export into an empty archive", [read])
    sp.add_argument("file", help="NDJSON export file, or - for stdin")

    for register in _extensions():
        register(add, read, act)
    return p


def _relocate(a: Any, x: argparse.Namespace) -> int:
    if x.portal:
        x.id = None
        return a.relocate_portal(x.id_or_prefix, x.to_url, keep_path=x.keep_path, actor=x.actor)
    return a.relocate(x.id, x.to_url, expected_version=x.expect_version, actor=x.actor)


def _extensions() -> list[Callable[..., None]]:
    """Commands defined beside their subsystems (search, ingest, watch, tui)."""
    found = []
    for mod_name in ("archivist.cli_search", "archivist.cli_ingest", "archivist.cli_tui"):
        try:
            mod = __import__(mod_name, fromlist=["register"])
        except ModuleNotFoundError as exc:
            if exc.name != mod_name:
                raise
            continue
        found.append(mod.register)
    return found


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "portal", False):
        args.id_or_prefix = args.id
    if getattr(args, "archive", None) is None:
        from archivist.archive import default_archive_path

        args.archive = str(default_archive_path())
    try:
        return int(args.func(args) or 0)
    except errors.ArchivistError as exc:
        err.print(Text(f"error: {exc}"))
        return exc.exit_code
    except KeyboardInterrupt:
        err.print(Text("interrupted"))
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
