"""The search screen: a query box that searches as you type, the hits, facet counts and filter chips."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import msgspec
from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Header, Input, Label, OptionList, Static
from textual.worker import get_current_worker

from archivist import errors
from archivist.batch import ACTIONS, PAST
from archivist.saved import describe as describe_saved
from archivist.textutil import plural
from tui.messages import ArchiveChanged, ResultsShown, SavedSearchesLoaded, SearchDone, SearchRequest
from tui.render import lit, parse_day, typed_tags
from tui.screens.dialogs import ActionDialog, ChoiceDialog, Outcome
from tui.widgets.facets import AS_OF, SAVED, FacetList, FilterChips, parse_facet_option_id, search_options
from tui.widgets.results import ResultList

DEBOUNCE = 0.15
AS_OF_HINT = "YYYY-MM-DD (or YYYY-MM, YYYY) · empty = now · esc closes"
PAGE = 15  # snippets cost ~2 ms a hit; a screen shows 4-8 hits, more load on the way down
BATCH_LABELS = {"tag": "Tag", "untag": "Untag", "archive": "Archive", "restore": "Restore", "withdraw": "Withdraw"}
BATCH_STATUS = {"archive": "archived", "restore": "live", "withdraw": "withdrawn"}  # already so: skipped


class SearchScreen(Screen[None]):
    """Searches as you type: the first key after a pause searches at once; keys typed within the next
    `DEBOUNCE` seconds are gathered into one search at the end of it."""

    BINDINGS = [
        Binding("ctrl+s", "toggle_sort", "Sort"),
        Binding("ctrl+t", "toggle_withdrawn", "Withdrawn"),
        Binding("ctrl+l", "clear_filters", "Clear filters"),
        # priority: the search box (an Input) would take ctrl+d as "delete right"
        Binding("ctrl+d", "toggle_as_of", "As of date", priority=True),
        Binding("ctrl+o", "open_article", "Open", show=False),
        Binding("ctrl+r", "refresh", "Refresh", show=False),
        Binding("slash", "focus_query", "Search box", show=False),
        Binding("escape", "focus_query", "Back to the search box", show=False),
        Binding("down", "focus_results", "Go to the results", show=False),
        Binding("ctrl+n", "more", "More results", show=False),
        Binding("ctrl+g", "act_on_results", "Act on every result (tag, archive, …)", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.sort = "relevance"
        self.include_withdrawn = False
        self.as_of: dt.date | None = None  # None: the archive as it is now
        self.filters: dict[str, str] = {}
        self.limit = PAGE
        self.results: Any | None = None
        self.shown: SearchRequest | None = None  # the request whose results are on screen
        self._seq = 0  # the newest request
        self._shown = 0  # the request whose answer is on screen
        self._last_fire = 0.0
        self._pending: Timer | None = None
        self._question: tuple[Any, ...] = ()
        self.requested_at: dict[int, float] = {}  # seq -> when its key was pressed (for the bench)
        self.saved: list[Any] = []  # the archive's saved searches (sidebar, palette)
        self._saved_stale = True  # read them again after the next search (off the first paint's path)

    def compose(self) -> ComposeResult:
        yield Header()
        # Not select_on_focus: typing in a list goes on with the query (`on_key`); `/` and esc select it all.
        yield Input(placeholder="Search: handel ludźmi, \"metoda na wnuczka\", title:policja published:2015..2017",
                    id="query", select_on_focus=False)
        with Horizontal(id="asof-bar"):
            yield Label("As of", id="asof-label")
            yield Input(placeholder="YYYY-MM-DD", id="asof", compact=True, max_length=10,
                        select_on_focus=True)
            yield Static(Text(AS_OF_HINT, style="dim"), id="asof-hint")
        yield Static("", id="query-error")
        yield FilterChips(id="chips")
        yield Static("", id="summary")
        with Horizontal(id="main"):
            with Vertical(id="results-pane"):
                yield ResultList(id="results")
                yield Static("", id="empty")
            yield FacetList(id="facets")
        yield Footer(compact=True, show_command_palette=False)  # fits 80 columns; f1 lists ctrl+p

    def on_mount(self) -> None:
        self.query_one("#chips", FilterChips).display = False
        self.query_one("#query-error").display = False
        self.query_one("#asof-bar").display = False
        self.query_one("#empty").display = False
        self.query_one("#facets", FacetList).border_title = "Filter"
        self.query_one("#results", ResultList).border_title = "Articles"
        self.query_one("#query", Input).focus()
        self.request_search()

    # --- running searches -------------------------------------------------------------------------------

    @property
    def query_text(self) -> str:
        return self.query_one("#query", Input).value

    @on(Input.Changed, "#query")
    def _typed(self, event: Input.Changed) -> None:
        self.limit = PAGE
        self.schedule_search()

    def schedule_search(self) -> None:
        """Leading edge at once, then at most one search per `DEBOUNCE` while keys keep coming."""
        now = time.monotonic()
        self.requested_at[self._seq + 1] = time.perf_counter()
        if self._pending is not None:
            return  # the pending trailing search will pick up the newest text
        wait = self._last_fire + DEBOUNCE - now
        if wait <= 0:
            self.request_search()
        else:
            self._pending = self.set_timer(wait, self._fire_pending)

    def _fire_pending(self) -> None:
        self._pending = None
        self.request_search()

    def request_search(self) -> None:
        self._last_fire = time.monotonic()
        self._seq += 1
        self.requested_at.setdefault(self._seq, time.perf_counter())
        self.run_search(SearchRequest(seq=self._seq, text=self.query_text, sort=self.sort,
                                      filters=dict(self.filters), include_withdrawn=self.include_withdrawn,
                                      limit=self.limit, as_of=self.as_of))

    @work(thread=True, exclusive=True, group="search")
    def run_search(self, req: SearchRequest) -> None:
        worker = get_current_worker()
        app: Any = self.app
        with app.archive_lock:
            if worker.is_cancelled or req.seq != self._seq:
                return  # a newer request superseded this one before it started
            try:
                a = app.archive
                head = a.head()
                sort = "date" if not req.text.strip() and req.sort == "relevance" else req.sort
                res = a.search(req.text, limit=req.limit, sort=sort, include_withdrawn=req.include_withdrawn,
                               as_of=req.as_of, suggest=False, **search_options(req.filters))
                empty = res.total == 0 and not a.refresh().articles
                inbox = str(a.inbox.resolve())
            except errors.QueryError as exc:
                self.post_message(SearchDone(req, None, str(exc), query_error=True))
                return
            except Exception as exc:  # shown, never swallowed
                self.post_message(SearchDone(req, None, f"{type(exc).__name__}: {exc}"))
                return
        app.saw_head(head)
        self.post_message(SearchDone(req, res, None, empty_archive=empty, inbox=inbox))
        if res.total >= 3 or not req.text.strip():
            return
        # "Did you mean" costs more than the search: only once the results are shown and typing has paused.
        time.sleep(0.4)
        with app.archive_lock:
            if worker.is_cancelled or req.seq != self._seq:
                return
            try:
                hint = a.suggest(req.text)
            except errors.ArchivistError:
                return
        if hint and not worker.is_cancelled and req.seq == self._seq:
            self.post_message(SearchDone(req, msgspec.structs.replace(res, suggestion=hint), None,
                                         empty_archive=empty, inbox=inbox))

    def on_search_done(self, msg: SearchDone) -> None:
        if msg.request.seq < self._shown:
            return  # an older answer arriving late never replaces a newer one
        self._shown = msg.request.seq
        error = self.query_one("#query-error", Static)
        if msg.error is not None:
            error.update(Text(f"⚠ {msg.error}"))  # built as Text: the message may quote the query
            error.display = True
            if not msg.query_error:
                self.app.notify(msg.error, title="Search failed", severity="error", markup=False)
            return
        error.display = False
        self.results = res = msg.results
        self.shown = msg.request
        assert res is not None  # no error: an answer
        results = self.query_one("#results", ResultList)
        empty = self.query_one("#empty", Static)
        question = (msg.request.text, msg.request.sort, tuple(sorted(msg.request.filters.items())),
                    msg.request.include_withdrawn, msg.request.as_of)
        results.show(res, same_question=question == self._question)
        self._question = question
        facets = self.query_one("#facets", FacetList)
        facets.show(res.facets, self.filters)
        facets.show_saved([x.name for x in self.saved], msg.request.text)
        if self._saved_stale:
            self._saved_stale = False
            self.load_saved()
        self.query_one("#chips", FilterChips).show(self.filters, msg.request.as_of)
        if msg.empty_archive:
            empty.update(Text.assemble(
                ("The archive is empty.\n\n", "bold"),
                "Drop files into ", (msg.inbox, "bold"), " and run ", ("archivist watch", "bold"),
                ",\nor run ", ("archivist ingest PATH", "bold"), " (or ", ("archivist demo", "bold"),
                " for sample articles).\n\nNew articles appear here as they arrive."))
        elif not res.hits and msg.request.as_of and not msg.request.text.strip() and not self.filters:
            empty.update(Text.assemble(
                (f"The archive held no articles yet on {msg.request.as_of} ", "bold"), "(recorded time).\n\n",
                "Press ctrl+d to pick a later day, or clear the date to see the archive as it is now."))
        elif not res.hits:
            text = Text("No articles match.")
            if msg.request.as_of:
                text.append(f"\nThe archive is shown as it stood on {msg.request.as_of}: ctrl+d changes or "
                            "clears the date.")
            if res.suggestion:
                text.append("  Did you mean: ")
                text.append_text(lit(res.suggestion, "bold"))
            if self.filters:
                text.append("\nRemove a filter (the chips above, or ctrl+l) to widen the search.")
            empty.update(text)
        empty.display = not res.hits
        results.display = bool(res.hits)
        self.query_one("#summary", Static).update(self._summary(res, msg.request.as_of))
        started = self.requested_at.pop(msg.request.seq, None)
        for old in [s for s in self.requested_at if s < msg.request.seq]:
            self.requested_at.pop(old, None)
        if started is not None:
            self.app.post_message(ResultsShown(msg.request.seq, time.perf_counter() - started))

    def _summary(self, res: Any, as_of: dt.date | None = None) -> Text:
        shown = f"{len(res.hits)} of " if len(res.hits) < res.total else ""
        sort = "newest first" if res.sort == "date" else "by relevance"
        out = Text(f"{shown}{plural(res.total, 'article')}", style="bold")
        out.append(f" · {sort}", style="dim")
        out.append(" · withdrawn shown" if self.include_withdrawn else "", style="dim")
        if as_of:
            out.append(f" · as of {as_of}", style="bold yellow")
        if res.suggestion and res.hits:
            out.append(" · did you mean: ", style="dim")
            out.append_text(lit(res.suggestion, "italic"))
        return out

    def on_archive_changed(self, msg: ArchiveChanged) -> None:
        self._saved_stale = True
        self.request_search()

    # --- saved searches: `@name` in the query ---------------------------------------------------------

    @work(thread=True, exclusive=True, group="saved")
    def load_saved(self) -> None:
        app: Any = self.app
        try:
            with app.archive_lock:
                saved = app.archive.saved_searches()
        except Exception as exc:  # shown, never swallowed
            self.app.call_from_thread(self.app.notify, f"Cannot read the saved searches: {exc}",
                                      severity="error", markup=False)
            return
        self.post_message(SavedSearchesLoaded(saved))

    def on_saved_searches_loaded(self, msg: SavedSearchesLoaded) -> None:
        self.saved = msg.saved
        self.query_one("#facets", FacetList).show_saved([x.name for x in self.saved], self.query_text)

    def run_saved(self, name: str) -> None:
        """Run the saved search `@name` (the query box shows it, to refine or change)."""
        query = self.query_one("#query", Input)
        query.value = f"@{name}"
        query.cursor_position = len(query.value)
        query.focus()

    def palette_commands(self) -> list[tuple[str, str, Callable[[], object]]]:
        """The command palette's entries beyond the keys: each saved search, each action on every result."""
        out: list[tuple[str, str, Callable[[], object]]] = [
            (f"Saved search @{x.name}", " · ".join(filter(None, [x.query, describe_saved(x)])) or "every article",
             partial(self.run_saved, x.name)) for x in self.saved]
        out += [(f"{BATCH_LABELS[a]} every result…", "Search · on the current results", partial(self.act_on_results, a))
                for a in ACTIONS]
        return out

    # --- choosing -------------------------------------------------------------------------------------

    @on(OptionList.OptionSelected, "#results")
    def _open(self, event: OptionList.OptionSelected) -> None:
        if event.option.id:
            self.open_article(event.option.id)

    def open_article(self, article_id: str) -> None:
        from tui.screens.article import ArticleScreen

        self.app.push_screen(ArticleScreen(article_id, query=self.query_text, as_of=self.as_of))

    @on(OptionList.OptionHighlighted, "#results")
    def _near_the_end(self, event: OptionList.OptionHighlighted) -> None:
        res = self.results
        if res is not None and event.option_index >= len(res.hits) - 2 and len(res.hits) < res.total \
                and self.limit <= len(res.hits):
            self.action_more()

    @on(OptionList.OptionSelected, "#facets")
    def _facet_chosen(self, event: OptionList.OptionSelected) -> None:
        if not event.option.id:
            return
        facet, value = parse_facet_option_id(event.option.id)
        if facet == SAVED:
            self.run_saved(value)
            return
        if self.filters.get(facet) == value:
            del self.filters[facet]
        else:
            self.filters[facet] = value
        self.limit = PAGE
        self.request_search()

    @on(FilterChips.Removed)
    def _chip_removed(self, event: FilterChips.Removed) -> None:
        if event.facet == AS_OF:
            self.set_as_of(None)
        else:
            self.filters.pop(event.facet, None)
            self.request_search()
        self.query_one("#query", Input).focus()

    @on(Input.Submitted, "#query")
    def _submitted(self) -> None:
        self.action_focus_results()

    def on_key(self, event: events.Key) -> None:
        """Typing while the hits or the facets have focus goes on with the query (keys bound to something, such
        as `/`, keep their meaning)."""
        query = self.query_one("#query", Input)
        if (not event.is_printable or not event.character or isinstance(self.focused, Input)
                or event.key in self.active_bindings):
            return
        event.stop()
        event.prevent_default()
        query.focus()
        query.cursor_position = len(query.value)
        query.insert_text_at_cursor(event.character)

    # --- actions ----------------------------------------------------------------------------------------

    def action_toggle_sort(self) -> None:
        self.sort = "date" if self.sort == "relevance" else "relevance"
        self.notify(f"Sorted by {'date (newest first)' if self.sort == 'date' else 'relevance'}", timeout=2)
        self.request_search()

    def action_toggle_withdrawn(self) -> None:
        self.include_withdrawn = not self.include_withdrawn
        self.request_search()

    def action_clear_filters(self) -> None:
        self.filters.clear()
        self.request_search()

    def action_refresh(self) -> None:
        self.request_search()

    def action_more(self) -> None:
        self.limit += PAGE
        self.request_search()

    def action_focus_query(self) -> None:
        self.query_one("#asof-bar").display = False
        query = self.query_one("#query", Input)
        query.focus()
        query.select_all()  # back in the box: typing starts a new query, arrows keep this one

    # --- actions on every result ------------------------------------------------------------------------

    def action_act_on_results(self) -> None:
        if self._refuse_batch():
            return
        assert self.results is not None
        question = Text(f"What to record for the {plural(self.results.total, 'article')} of this search?")
        choices = [(a, f"{BATCH_LABELS[a]} every result") for a in ACTIONS]
        self.app.push_screen(ChoiceDialog("Every result", question, choices),
                             lambda action: self.act_on_results(action) if action else None)

    def _refuse_batch(self) -> bool:
        """Say why an action on every result does not apply now, if it does not."""
        app: Any = self.app
        why = None
        if self.as_of is not None or (self.shown is not None and self.shown.as_of is not None):
            why = "The archive is shown as it stood on a past day: clear the date (ctrl+d) to record anything."
        elif self.results is None or not self.results.total:
            why = "No results to act on."
        elif app.archive.readonly:
            why = "You may read this archive but not record anything in it."
        if why:
            self.notify(why, title="Every result", severity="warning", timeout=6, markup=False)
        return why is not None

    def act_on_results(self, action: str) -> None:
        """Record `action` for every article of the current search: the articles are read (with their
        versions) now, then a dialog shows the count; confirmed, one atomic batch expects each article at the
        version read here (a change by anyone meanwhile: a conflict, nothing written)."""
        if not self._refuse_batch():
            self._read_results(action)

    @work(thread=True, exclusive=True, group="batch")
    def _read_results(self, action: str) -> None:
        app: Any = self.app
        req = self.shown
        assert req is not None
        options = {**search_options(req.filters), "include_withdrawn": req.include_withdrawn}
        try:
            with app.archive_lock:
                expected = app.archive.batch_versions(req.text, **options)
        except Exception as exc:  # shown, never swallowed
            self.app.call_from_thread(self.notify, f"Cannot read the results: {exc}", severity="error",
                                      markup=False)
            return
        self.app.call_from_thread(self._ask_batch, action, req.text, options, expected)

    def _ask_batch(self, action: str, text: str, options: dict[str, Any], expected: dict[str, int]) -> None:
        res = self.results
        assert res is not None
        app: Any = self.app
        n = plural(len(expected), "article")
        already = (res.facets.get("status") or {}).get(BATCH_STATUS.get(action, ""), 0)
        skipped = f" ({already} already {BATCH_STATUS[action]}: skipped)" if already else ""
        asks = {
            "tag": (f"Add tags (comma-separated) to the {n} of this search?", "Tags", "Type at least one tag."),
            "untag": (f"Remove tags from the {n} of this search?", "Tags to remove",
                      "Type at least one tag to remove."),
            "archive": (f"Record that the {n} of this search were archived{skipped}?", "Reason (optional)", None),
            "restore": (f"Record that the {n} of this search are live again{skipped}?", "Reason (optional)", None),
            "withdraw": (f"Hide the {n} of this search from search (they stay in history){skipped}?",
                         "Reason (required)", "A withdrawal needs a reason: it stays in each article's history."),
        }
        question, label, required = asks[action]
        shown = Text(question + "\n")
        shown.append_text(lit(f"Query: {text or '(every article)'}", "dim"))

        def perform(typed: str) -> object:
            tags = typed_tags(typed) if action in ("tag", "untag") else []
            with app.archive_lock:
                a = app.archive
                plan = a.plan_batch(action, text, tags=tags, reason="" if tags else typed, expected=expected,
                                    **options)
                return a.apply_batch(plan, actor=app.actor)

        dialog = ActionDialog(BATCH_LABELS[action], shown, label=label, perform=perform, required=required,
                              confirm=f"{BATCH_LABELS[action]} {n}",
                              variant="error" if action == "withdraw" else "primary")
        self.app.push_screen(dialog, lambda outcome: self._batch_done(action, outcome))

    def _batch_done(self, action: str, outcome: Outcome | None) -> None:
        if outcome is None:
            return
        app: Any = self.app
        if outcome.conflict is not None:
            self.notify(f"Someone else changed one of these articles meanwhile ({outcome.conflict}). Nothing was "
                        "recorded: the results are shown anew; try again.", title="Changed meanwhile",
                        severity="warning", timeout=10, markup=False)
        else:
            r: Any = outcome.result
            skipped = f"; {plural(len(r.unchanged), 'article')} already so, skipped" if r.unchanged else ""
            if r.changed:
                self.notify(f"{PAST[action].capitalize()}: {plural(len(r.changed), 'article')}{skipped} "
                            f"(log #{r.first_position}–#{r.last_position}).", timeout=5, markup=False)
            else:
                self.notify(f"Nothing to record: all {plural(r.matched, 'article')} are already so ({PAST[action]}).",
                            severity="warning", timeout=5, markup=False)
        app.announce_change()

    # --- the archive as it stood on a day -----------------------------------------------------------------

    def action_toggle_as_of(self) -> None:
        bar = self.query_one("#asof-bar")
        field = self.query_one("#asof", Input)
        if bar.display and field.has_focus:
            self.action_focus_query()
            return
        field.value = self.as_of.isoformat() if self.as_of else ""
        self._as_of_message(None)
        bar.display = True
        field.focus()

    @on(Input.Submitted, "#asof")
    def _as_of_submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        if not text:
            self.set_as_of(None)
            return
        try:
            day = parse_day(text)
        except ValueError as exc:
            self._as_of_message(str(exc))
            return
        self.set_as_of(day)

    @on(Input.Changed, "#asof")
    def _as_of_typed(self) -> None:
        self._as_of_message(None)  # the old complaint is about what was there before

    def _as_of_message(self, error: str | None) -> None:
        hint = self.query_one("#asof-hint", Static)
        hint.set_class(error is not None, "-error")
        hint.update(Text(f"⚠ {error}") if error else Text(AS_OF_HINT, style="dim"))

    def set_as_of(self, day: dt.date | None) -> None:
        """Search the archive as it stood at the end of `day` (UTC, recorded time); None: as it is now."""
        changed = day != self.as_of
        self.as_of = day
        self.action_focus_query()
        if changed:
            self.limit = PAGE
            self.notify(f"Showing the archive as it stood on {day} (recorded time)." if day
                        else "Showing the archive as it is now.", timeout=3)
            self.request_search()

    def action_focus_results(self) -> None:
        results = self.query_one("#results", ResultList)
        if results.display and results.option_count:
            results.focus()

    def action_open_article(self) -> None:
        aid = self.query_one("#results", ResultList).highlighted_id
        if aid:
            self.open_article(aid)
        else:
            self.notify("No article is highlighted.", severity="warning")

