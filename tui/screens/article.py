"""One article: its text with the query's words marked, metadata, addresses, relocations and timeline;
and the actions an archivist records on it, each behind a confirmation dialog."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, OptionList, Static
from textual.widgets.option_list import Option

from archivist import errors
from archivist.archive import end_of_day
from archivist.textutil import plural, printable, revision
from tui.messages import ArchiveChanged, ArticleLoaded
from tui.render import badge, highlight_words, lit, query_stems, typed_tags
from tui.screens.dialogs import ActionDialog, Outcome


class ArticleScreen(Screen[None]):
    BINDINGS = [
        Binding("escape,q", "back", "Back"),
        Binding("j", "scroll_down", "Down", show=False),
        Binding("k", "scroll_up", "Up", show=False),
        Binding("space", "page_down", "Page down", show=False),
        Binding("b", "page_up", "Page up", show=False),
        Binding("home,g", "top", "Top", show=False),
        Binding("end,G", "bottom", "Bottom", show=False),
        Binding("e", "events", "History", show=False),
        # The footer shows only the actions that apply (`check_action`); the same key when one does not
        # apply (archived already, an as-of view…) says why instead of doing nothing.
        Binding("a", "archive", "Archive"),
        Binding("r", "restore", "Restore"),
        Binding("m", "relocate", "Relocate"),
        Binding("w", "withdraw", "Withdraw"),
        Binding("t", "tag", "Tag"),
        Binding("u", "untag", "Untag"),
        Binding("d", "diff", "Diff"),
        Binding("s", "source", "Original source file", show=False),
        Binding("ctrl+r", "reload", "Reload", show=False),
        *(Binding(key, f"why_not('{action}')", f"Why {action} is not offered", show=False)
          for key, action in (("a", "archive"), ("r", "restore"), ("m", "relocate"), ("w", "withdraw"),
                              ("t", "tag"), ("u", "untag"))),
    ]
    RECORDING = frozenset({"archive", "restore", "relocate", "withdraw", "tag", "untag"})

    def __init__(self, article_id: str, *, query: str = "", as_of: dt.date | None = None) -> None:
        super().__init__()
        self.article_id = article_id
        self.search_text = query
        self.as_of = as_of  # shown as it stood at the end of that day (recorded time); read-only then
        self.view: Any | None = None
        self.history: list[Any] = []
        self.content_versions: dict[int, int] = {}  # log position of a Published/Revised event -> version
        self._drafts: dict[str, str] = {}  # what was typed into a dialog whose action hit a conflict

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(Text(f"As of {self.as_of} (recorded time) — actions disabled", style="bold")
                     if self.as_of else "", id="art-asof")
        with VerticalScroll(id="article"):
            yield Static(Text("Loading…", style="dim"), id="art-title")
            yield Static("", id="art-meta")
            yield Static("", id="art-body")
            yield Static("", id="art-addresses", classes="section")
            yield Static(Text("History (oldest first)", style="bold underline"), id="art-history-head",
                         classes="section")
            yield OptionList(id="art-history", compact=True)
        yield Footer(compact=True, show_command_palette=False)  # fits 80 columns; f1 lists ctrl+p

    def on_mount(self) -> None:
        self.query_one("#art-asof").display = self.as_of is not None
        self.query_one("#article").focus()
        self.load()

    # --- loading ------------------------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="article")
    def load(self) -> None:
        app: Any = self.app
        view = resolution = resolve_error = None
        history: list[Any] = []
        versions: list[Any] = []
        later = 0
        try:
            with app.archive_lock:
                a = app.archive
                view = a.show(self.article_id, as_of=self.as_of)
                history = a.history(self.article_id)
                versions = a.versions(self.article_id)
                if self.as_of is not None:
                    moment = end_of_day(self.as_of)
                    shown = [e for e in history if e.recorded_at <= moment]
                    later, history = len(history) - len(shown), shown
                first = view.urls[0].url if view.urls else view.url
                if first:
                    try:
                        resolution = a.resolve(first, as_of=self.as_of)
                    except errors.ArchivistError as exc:
                        resolve_error = str(exc)
        except Exception as exc:  # shown, never swallowed
            self.post_message(ArticleLoaded(self.article_id, None, [], None, None, f"{type(exc).__name__}: {exc}"
                                            if not isinstance(exc, errors.ArchivistError) else str(exc)))
            return
        self.post_message(ArticleLoaded(self.article_id, view, history, resolution, resolve_error, None,
                                        versions=versions, later=later))

    def on_article_loaded(self, msg: ArticleLoaded) -> None:
        if msg.error is not None:
            self.query_one("#art-title", Static).update(lit(msg.error, "bold red"))
            self.notify(msg.error, title="Cannot show the article", severity="error", markup=False)
            return
        before = self._applicable()
        self.view, self.history = msg.view, msg.history
        if self._applicable() != before:
            self.refresh_bindings()  # the footer offers what applies: it follows the status and the tags
        self.content_versions = {v.position: v.version for v in msg.versions}
        self.render_article(msg.view, msg.history, msg.resolution, msg.resolve_error)
        self.render_history(msg.history, msg.later)

    def render_article(self, v: Any, history: list[Any], resolution: Any, resolve_error: str | None) -> None:
        fmt: Callable[[Any], str] = self.app.time_format  # type: ignore[attr-defined]
        stems = query_stems(self.search_text)
        title = lit(v.title, "bold")
        highlight_words(title, stems)
        self.query_one("#art-title", Static).update(title)
        self.sub_title = printable(v.title)

        meta = Table.grid(padding=(0, 2))
        meta.add_column(style="bold", no_wrap=True)
        meta.add_column()
        status = badge(v.status)
        if v.status_reason:
            status.append_text(lit(" " + v.status_reason))
        meta.add_row("status", status)
        meta.add_row("published", lit(v.published or "unknown"))
        meta.add_row("publisher", lit(v.publisher or "unknown"))
        meta.add_row("address", lit(v.url or "none"))
        meta.add_row("tags", lit(", ".join(v.tags) or "none"))
        meta.add_row("id", lit(f"{v.id} · {revision(v.versions, v.versions)} · event {v.version}"))
        meta.add_row("changed", lit(fmt(v.changed_at)))
        self.query_one("#art-meta", Static).update(meta)

        body = lit(v.body.strip())
        marked = highlight_words(body, stems)
        self.query_one("#art-body", Static).update(body)
        if stems and not marked:
            self.query_one("#art-body", Static).border_subtitle = "no words of the query in the text"

        addresses: list[Any] = [Text("Addresses", style="bold underline")]
        if not v.urls:
            addresses.append(Text("This article has no address.", style="dim"))
        for i, change in enumerate(v.urls):
            line = Text("→ " if i == len(v.urls) - 1 else "  ")
            line.append_text(lit(change.url))
            line.append(f"  (from {fmt(change.recorded_at)})", style="dim")
            addresses.append(line)
        if resolution is not None and resolution.chain:
            addresses.append(Text("\nRelocation chain", style="bold underline"))
            addresses.append(lit(resolution.url))
            for hop in resolution.chain:
                how = "article moved" if hop.kind == "article" else "portal moved"
                line = Text("  → ")
                line.append_text(lit(hop.to_url))
                line.append(f"  ({how}, {fmt(hop.recorded_at)})", style="dim")
                addresses.append(line)
            current = Text(f"address on {self.as_of}: " if self.as_of else "current address: ", style="bold")
            current.append_text(lit(resolution.current))
            addresses.append(current)
        elif resolve_error:
            addresses.append(lit(f"relocation chain: {resolve_error}", "red"))
        self.query_one("#art-addresses", Static).update(Group(*addresses))

    def render_history(self, history: list[Any], later: int) -> None:
        """One line per event; the revisions of the text (Published / Revised) open their diff with enter."""
        fmt: Callable[[Any], str] = self.app.time_format  # type: ignore[attr-defined]
        events = self.query_one("#art-history", OptionList)
        keep = None
        if events.highlighted is not None and events.option_count:
            keep = events.get_option_at_index(events.highlighted).id
        kinds = [e.type.removeprefix("Article") for e in history]
        when_w = max((len(fmt(e.recorded_at)) for e in history), default=16)
        by_w = min(max((len(printable(e.actor)) for e in history), default=4), 20)
        kind_w = max((len(k) for k in kinds), default=5)

        def grid() -> Table:
            row = Table.grid(padding=(0, 1), expand=True)
            row.add_column(no_wrap=True, width=when_w, style="dim")
            row.add_column(width=by_w, overflow="fold")
            row.add_column(no_wrap=True, width=kind_w)
            row.add_column(ratio=1, overflow="fold")
            return row

        options: list[Option] = []
        for e, kind in zip(history, kinds, strict=True):
            row = grid()
            rev = self.content_versions.get(e.position)
            what = lit((f"revision {rev}: " if rev else "") + e.summary)
            if e.source_file:
                what.append_text(lit(f"  [from {e.source_file}]", "dim"))
            row.add_row(lit(fmt(e.recorded_at)), lit(e.actor),
                        Text(kind, style="bold" if e.position in self.content_versions else ""), what)
            options.append(Option(row, id=str(e.position)))
        events.clear_options()
        events.add_options(options)
        ids = [o.id for o in options]
        if keep in ids:
            events.highlighted = ids.index(keep)
        head = Text("History (oldest first)", style="bold underline")
        if self.content_versions:
            head.append("  · enter or d: what changed · s: original file", style="dim")
        if later:
            head.append(f"\n{plural(later, 'later event')}, recorded after {self.as_of}, "
                        f"{'is' if later == 1 else 'are'} not shown.", style="dim")
        columns = grid()
        columns.add_row(*(Text(c, style="bold dim") for c in ("when", "by", "type", "what")))
        self.query_one("#art-history-head", Static).update(Group(head, columns))

    def on_archive_changed(self, msg: ArchiveChanged) -> None:
        self.load()  # cheap, and keeps the view honest when another process changed the article

    # --- scrolling ------------------------------------------------------------------------------------------

    @property
    def _scroll(self) -> VerticalScroll:
        return self.query_one("#article", VerticalScroll)

    def action_scroll_down(self) -> None:
        self._scroll.scroll_down(animate=False)

    def action_scroll_up(self) -> None:
        self._scroll.scroll_up(animate=False)

    def action_page_down(self) -> None:
        self._scroll.scroll_page_down(animate=False)

    def action_page_up(self) -> None:
        self._scroll.scroll_page_up(animate=False)

    def action_top(self) -> None:
        self._scroll.scroll_home(animate=False)

    def action_bottom(self) -> None:
        self._scroll.scroll_end(animate=False)

    def action_events(self) -> None:
        events = self.query_one("#art-history", OptionList)
        self._scroll.scroll_to_widget(self.query_one("#art-history-head"), animate=False, top=True)
        if events.option_count:
            events.focus(scroll_visible=False)
            if events.highlighted is None:
                events.highlighted = 0

    # --- what changed between revisions -----------------------------------------------------------------------

    @on(OptionList.OptionSelected, "#art-history")
    def _event_chosen(self, event: OptionList.OptionSelected) -> None:
        position = int(event.option.id or 0)
        version = self.content_versions.get(position)
        if version is None:
            self.notify("This event did not change the text: only Published and Revised lines have a revision "
                        "to compare.", severity="warning", timeout=4)
            return
        self.open_diff(version)

    def action_diff(self) -> None:
        """The highlighted revision when the history has focus; else the revision on screen."""
        version = self._highlighted_version()
        if version is not None:
            self.open_diff(version)
            return
        if self.view is None:
            self.notify("The article is still loading.", severity="warning")
            return
        self.open_diff(self.view.versions)

    def action_source(self) -> None:
        """The original file of the highlighted revision when the history has focus; else of the one shown."""
        version = self._highlighted_version()
        if version is None:
            if self.view is None:
                self.notify("The article is still loading.", severity="warning")
                return
            version = self.view.versions
        from tui.screens.source import SourceScreen

        self.app.push_screen(SourceScreen(self.article_id, version))

    def _highlighted_version(self) -> int | None:
        """The revision of the history line under the cursor, when the history has focus and it is one."""
        events = self.query_one("#art-history", OptionList)
        if events.has_focus and events.highlighted is not None:
            return self.content_versions.get(int(events.get_option_at_index(events.highlighted).id or 0))
        return None

    def open_diff(self, version: int) -> None:
        from tui.screens.diff import DiffScreen

        self.app.push_screen(DiffScreen(self.article_id, version))

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_reload(self) -> None:
        self.load()

    # --- recording what happened ------------------------------------------------------------------------------

    def why_not(self, action: str) -> str | None:
        """Why `action` cannot be recorded on the article as shown, or None when it can."""
        app: Any = self.app
        if app.archive.readonly:
            return ("You may read this archive but not write to it: nothing can be recorded here. Ask its "
                    "owner (or a user who may write its files) to record this.")
        if self.as_of is not None:
            return (f"This is the article as it stood on {self.as_of}: nothing can be recorded in the past. "
                    "Clear the as-of date on the search screen (ctrl+d) to act on it as it is now.")
        v = self.view
        if v is None:
            return "The article is still loading."
        if action == "archive" and v.status == "archived":
            return "This article is archived already" + (f": {v.status_reason}" if v.status_reason else ".")
        if action == "restore" and v.status == "live":
            return "This article is live: there is nothing to restore."
        if action == "withdraw" and v.status == "withdrawn":
            return "This article is withdrawn already" + (f": {v.status_reason}" if v.status_reason else ".")
        if action == "untag" and not v.tags:
            return "This article has no tags."
        return None

    def _applicable(self) -> frozenset[str]:
        return frozenset(a for a in self.RECORDING if self.why_not(a) is None)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return action not in self.RECORDING or self.why_not(action) is None

    async def action_why_not(self, action: str) -> None:
        if not self._refused(action):  # it applies again (the view changed since the key was looked up)
            await self.run_action(action)

    def _refused(self, action: str) -> bool:
        """Say why `action` does not apply, if it does not."""
        reason = self.why_not(action)
        if reason is not None:
            self.notify(reason, title=action.capitalize(), severity="warning", timeout=6, markup=False)
        return reason is not None

    def _ask(self, action: str, title: str, question: Text, perform: Callable[[Any, str, int], int], *,
             label: str, placeholder: str = "", value: str = "", required: str | None = None,
             confirm: str = "Confirm", variant: str = "primary") -> None:
        if self._refused(action):
            return
        v = self.view
        assert v is not None
        version = v.version  # what the screen showed: a change by anyone else since then is a conflict
        app: Any = self.app

        def run(text: str) -> int:
            with app.archive_lock:
                return perform(app.archive, text, version)

        dialog = ActionDialog(title, question, label=label, placeholder=placeholder,
                              value=self._drafts.pop(action, value), required=required, confirm=confirm,
                              variant=variant, perform=run)
        self.app.push_screen(dialog, lambda outcome: self._recorded(action, v, outcome))

    def _recorded(self, action: str, v: Any, outcome: Outcome | None) -> None:
        if outcome is None:
            return
        if outcome.conflict is not None:
            self._drafts[action] = outcome.value
            self.notify(
                f"Someone else changed this article after you opened it ({outcome.conflict}). Your {action} "
                "was not recorded and nothing was lost: the view now shows their change; check it and try "
                "again (what you typed is kept).",
                title="Changed meanwhile", severity="warning", timeout=10, markup=False)
        elif outcome.position:
            self.notify(f"{action.capitalize()} recorded (log #{outcome.position}).", timeout=3, markup=False)
        else:
            self.notify(f"Nothing to record: the article is already so ({action}).", severity="warning",
                        timeout=4, markup=False)
        self.load()
        app: Any = self.app
        app.announce_change()

    def _quote(self, verb: str) -> Text:
        assert self.view is not None
        q = Text(f"{verb} ")
        q.append_text(lit(self.view.title, "bold"))
        q.append("?")
        return q

    def action_archive(self) -> None:
        self._ask("archive", "Archive", self._quote("Record that this article was archived:"),
                  lambda a, text, ver: a.archive(self.article_id, text, expected_version=ver,
                                                 actor=self.app.actor),  # type: ignore[attr-defined]
                  label="Reason (optional)", placeholder="e.g. banner 'Strona znajduje się w archiwum'",
                  confirm="Archive")

    def action_restore(self) -> None:
        self._ask("restore", "Restore", self._quote("Record that this article is live again:"),
                  lambda a, text, ver: a.restore(self.article_id, text, expected_version=ver,
                                                 actor=self.app.actor),  # type: ignore[attr-defined]
                  label="Reason (optional)", confirm="Restore")

    def action_withdraw(self) -> None:
        self._ask("withdraw", "Withdraw", self._quote("Hide this article from search (it stays in history):"),
                  lambda a, text, ver: a.withdraw(self.article_id, text, expected_version=ver,
                                                  actor=self.app.actor),  # type: ignore[attr-defined]
                  label="Reason (required)", placeholder="why it is withdrawn",
                  required="A withdrawal needs a reason: it stays in the article's history.",
                  confirm="Withdraw", variant="error")

    def action_relocate(self) -> None:
        self._ask("relocate", "Relocate", self._quote("Record the new address of"),
                  lambda a, text, ver: a.relocate(self.article_id, text, expected_version=ver,
                                                  actor=self.app.actor),  # type: ignore[attr-defined]
                  label="New address", placeholder="https://…", value=(self.view.url or "") if self.view else "",
                  required="Type the new address (https://…).", confirm="Relocate")

    def action_tag(self) -> None:
        self._ask("tag", "Tag", self._quote("Add tags (comma-separated) to"),
                  lambda a, text, ver: a.tag(self.article_id, *typed_tags(text), expected_version=ver,
                                             actor=self.app.actor),  # type: ignore[attr-defined]
                  label="Tags", placeholder="e.g. seniorzy, oszustwa", required="Type at least one tag.",
                  confirm="Tag")

    def action_untag(self) -> None:
        if self._refused("untag"):
            return
        current = ", ".join(self.view.tags) if self.view else ""
        question = self._quote("Remove tags from")
        question.append("\nIts tags: ")
        question.append_text(lit(current))
        self._ask("untag", "Untag", question,
                  lambda a, text, ver: a.untag(self.article_id, *typed_tags(text), expected_version=ver,
                                               actor=self.app.actor),  # type: ignore[attr-defined]
                  label="Tags to remove", placeholder=current, required="Type at least one tag to remove.",
                  confirm="Untag", variant="warning")
