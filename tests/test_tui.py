"""The terminal UI, driven with Textual's Pilot against archives built in the test."""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import time
from pathlib import Path

import pytest
from rich.text import Text
from textual.geometry import Region
from textual.widgets import Button, Input, OptionList, Static
from textual.worker import WorkerCancelled

from archivist.archive import Archive, default_actor
from tui.app import ArchivistApp, make_app
from tui.screens.article import ArticleScreen
from tui.screens.dialogs import ActionDialog
from tui.screens.diff import FIRST_VERSION, DiffScreen
from tui.screens.help import HelpScreen
from tui.screens.search import SearchScreen
from tui.widgets.facets import FacetList, FilterChips, facet_option_id
from tui.widgets.results import ResultList

SIZE = (100, 30)


def aio(fn):  # type: ignore[no-untyped-def]
    """Run an async test on its own event loop (the project has no pytest async plugin)."""
    @functools.wraps(fn)
    def run(*args, **kwargs):  # type: ignore[no-untyped-def]
        return asyncio.run(fn(*args, **kwargs))
    return run
INJECTED_TITLE = "Uwaga [bold red]x[/] i \x1b[31mczerwony\x1b[0m tytuł"
INJECTED_BODY = "Treść z [bold red]x[/] oraz \x1b[31mESC\x1b[0m w środku, o handlu ludźmi."

ARTICLES = [
    dict(title="Handel ludźmi – nowy raport", url="https://mswia.example.pl/raport-handel-ludzmi",
         published=dt.date(2017, 8, 3), publisher="MSWiA",
         body="Raport opisuje handel ludźmi w Polsce. Ofiary handlu ludźmi otrzymują pomoc."),
    dict(title="Metoda na wnuczka – policja ostrzega", url="https://krakow.policja.example.pl/wnuczek",
         published=dt.date(2019, 3, 14), publisher="KWP w Krakowie",
         body="Oszuści dzwonią do seniorów i podają się za wnuczka. Policja apeluje o ostrożność."),
    dict(title="Bezpieczna droga do szkoły", url="https://wroclaw.policja.example.pl/szkola",
         published=dt.date(2012, 9, 3), publisher="KWP we Wrocławiu",
         body="Policjanci pilnują przejść dla pieszych przy szkołach na początku roku szkolnego."),
    dict(title="Fałszywe SMS-y o dopłacie", url="https://gdansk.policja.example.pl/sms",
         published=dt.date(2022, 11, 23), publisher="KWP w Gdańsku",
         body="Przestępcy wysyłają SMS-y z linkiem do fałszywej bramki płatności."),
]
FIXED_TIME = "2025-01-01 12:00"


def fixed_time(_: dt.datetime) -> str:
    return FIXED_TIME


def build_archive(root: Path, *, injected: bool = True) -> dict[str, str]:
    """A small archive with fixed content: title -> id. The second article is archived."""
    ids: dict[str, str] = {}
    with Archive.open(root, actor="fixture:test") as a:
        for art in ARTICLES:
            ids[art["title"]] = a.publish(**art)
        a.archive(ids[ARTICLES[1]["title"]], "banner: Strona znajduje się w archiwum")
        if injected:
            ids["injected"] = a.publish(title=INJECTED_TITLE, body=INJECTED_BODY, published=dt.date(2021, 10, 8),
                                        publisher="KWP w Krakowie", url="https://krakow.policja.example.pl/x")
    return ids


@pytest.fixture
def archive_root(tmp_path: Path) -> Path:
    return tmp_path / "archive"


@pytest.fixture
def ids(archive_root: Path) -> dict[str, str]:
    return build_archive(archive_root)


async def settle(pilot, app: ArchivistApp, delay: float = 0.0) -> None:  # type: ignore[no-untyped-def]
    """Let debounce timers fire and every worker report."""
    for _ in range(3):
        await pilot.pause(delay or 0.2)
        try:
            await app.workers.wait_for_complete()
        except WorkerCancelled:
            pass  # superseded by a newer request, as designed
        await pilot.pause()


def result_ids(app: ArchivistApp) -> list[str]:
    rl = app.screen.query_one("#results", ResultList)
    return [rl.get_option_at_index(i).id for i in range(rl.option_count)]  # type: ignore[misc]


def screen_text(widget) -> str:  # type: ignore[no-untyped-def]
    w, h = widget.outer_size
    return "\n".join(strip.text for strip in widget.render_lines(Region(0, 0, w, h)))


async def open_article(pilot, app: ArchivistApp, query: str, article_id: str) -> ArticleScreen:  # type: ignore[no-untyped-def]
    await pilot.press(*query)
    await settle(pilot, app)
    assert article_id in result_ids(app)
    rl = app.screen.query_one("#results", ResultList)
    rl.focus()
    rl.highlighted = result_ids(app).index(article_id)
    await pilot.press("enter")
    await settle(pilot, app)
    assert isinstance(app.screen, ArticleScreen)
    return app.screen


# --- search ---------------------------------------------------------------------------------------------------

@aio
async def test_empty_query_lists_newest_first(archive_root: Path, ids: dict[str, str]) -> None:
    app = make_app(archive_root)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        assert result_ids(app) == [ids[ARTICLES[3]["title"]], ids["injected"], ids[ARTICLES[1]["title"]],
                                   ids[ARTICLES[0]["title"]], ids[ARTICLES[2]["title"]]]
        summary = app.screen.query_one("#summary", Static)
        assert "5 articles" in screen_text(summary)


@aio
async def test_search_as_you_type(archive_root: Path, ids: dict[str, str]) -> None:
    app = make_app(archive_root)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press(*"handlu ludzmi")  # another form, no diacritics
        await settle(pilot, app)
        found = result_ids(app)
        assert found[0] == ids[ARTICLES[0]["title"]]
        assert ids[ARTICLES[1]["title"]] not in found
        # the snippet's matches are marked from the search's offsets, on literal text
        rl = app.screen.query_one("#results", ResultList)
        prompt = rl.get_option_at_index(0).prompt
        assert isinstance(prompt, Text)
        styled = {prompt.plain[s.start:s.end].lower() for s in prompt.spans if "reverse" in str(s.style)}
        assert {"handel", "ludźmi"} <= styled
        # typing fast ran fewer searches than keys, and the last answer is the one on screen
        screen = app.screen
        assert isinstance(screen, SearchScreen)
        assert screen._shown == screen._seq
        assert screen._seq < len("handlu ludzmi") + 1


@aio
async def test_stale_results_never_replace_newer(archive_root: Path, ids: dict[str, str]) -> None:
    from tui.messages import SearchDone, SearchRequest

    app = make_app(archive_root)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*"wnuczka")
        await settle(pilot, app)
        screen = app.screen
        assert isinstance(screen, SearchScreen)
        newest = result_ids(app)
        old = app.archive.search("szkoły")
        screen.post_message(SearchDone(SearchRequest(seq=1, text="szkoły", sort="relevance", filters={},
                                                     include_withdrawn=False, limit=40), old, None))
        await pilot.pause()
        assert result_ids(app) == newest == [ids[ARTICLES[1]["title"]]]


@aio
async def test_query_error_is_shown_inline(archive_root: Path, ids: dict[str, str]) -> None:
    app = make_app(archive_root)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*'"handel')
        await settle(pilot, app)
        error = app.screen.query_one("#query-error", Static)
        assert error.display
        assert "unclosed quote" in screen_text(error)
        assert app.is_running and isinstance(app.screen, SearchScreen)
        await pilot.press('"')
        await settle(pilot, app)
        assert not error.display
        assert result_ids(app)[0] == ids[ARTICLES[0]["title"]]


@aio
async def test_filter_by_facet_and_remove_chip(archive_root: Path, ids: dict[str, str]) -> None:
    app = make_app(archive_root)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        facets = app.screen.query_one("#facets", FacetList)
        option_ids = [facets.get_option_at_index(i).id for i in range(facets.option_count)]
        target = facet_option_id("status", "archived")
        assert target in option_ids and facet_option_id("year", "2019") in option_ids
        facets.focus()
        facets.highlighted = option_ids.index(target)
        await pilot.press("enter")
        await settle(pilot, app)
        assert result_ids(app) == [ids[ARTICLES[1]["title"]]]
        chips = app.screen.query_one("#chips", FilterChips)
        assert chips.display
        chip = chips.query_one(Button)
        assert "status: archived" in str(chip.label)
        # a second facet narrows further; the chip removes its filter
        chip.focus()
        await pilot.press("enter")
        await settle(pilot, app)
        assert len(result_ids(app)) == 5
        assert not chips.display


@aio
async def test_sort_toggle(archive_root: Path, ids: dict[str, str]) -> None:
    app = make_app(archive_root)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*"policja")
        await settle(pilot, app)
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        screen = app.screen
        assert isinstance(screen, SearchScreen) and screen.sort == "date"
        assert screen.results is not None and screen.results.sort == "date"
        dates = [h.published for h in screen.results.hits]
        assert dates == sorted(dates, reverse=True)


@aio
async def test_withdrawn_hidden_until_asked(archive_root: Path, ids: dict[str, str]) -> None:
    with Archive.open(archive_root) as other:
        other.withdraw(ids[ARTICLES[2]["title"]], "duplicate")
    app = make_app(archive_root)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        assert ids[ARTICLES[2]["title"]] not in result_ids(app)
        await pilot.press("ctrl+t")
        await settle(pilot, app)
        assert ids[ARTICLES[2]["title"]] in result_ids(app)


@aio
async def test_empty_archive_says_what_to_do(archive_root: Path) -> None:
    app = make_app(archive_root)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        empty = app.screen.query_one("#empty", Static)
        assert empty.display and not app.screen.query_one("#results").display
        text = screen_text(empty)
        assert "archive is empty" in text and "archivist watch" in text and "archivist ingest PATH" in text
        assert "inbox" in text


# --- the article ------------------------------------------------------------------------------------------------

@aio
async def test_open_article_shows_text_history_and_addresses(archive_root: Path, ids: dict[str, str]) -> None:
    aid = ids[ARTICLES[1]["title"]]
    with Archive.open(archive_root, actor="cli:ola") as other:
        other.relocate(aid, "https://krakow.policja.example.pl/seniorzy/wnuczek")
    app = make_app(archive_root, time_format=fixed_time)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_article(pilot, app, "wnuczka", aid)
        body = screen.query_one("#art-body", Static)
        assert "Oszuści dzwonią do seniorów" in str(body.visual)
        content = body.content if hasattr(body, "content") else None
        assert isinstance(content, Text)
        marked = {content.plain[s.start:s.end] for s in content.spans}
        assert marked == {"wnuczka"}
        history = screen_text(screen.query_one("#art-history", OptionList))
        assert screen.history[-1].actor == "cli:ola" and screen.history[-1].type == "ArticleRelocated"
        addresses = screen_text(screen.query_one("#art-addresses", Static))
        assert "https://krakow.policja.example.pl/wnuczek" in addresses
        assert "→ https://krakow.policja.example.pl/seniorzy/wnuczek" in addresses
        assert "Relocation chain" in addresses and "current address" in addresses
        del history
        scroll = screen.query_one("#article")
        await pilot.press("end")
        await pilot.pause()
        assert scroll.scroll_y == scroll.max_scroll_y
        await pilot.press("home", "j")
        await pilot.pause()
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, SearchScreen)


@aio
async def test_history_lists_every_event_with_actor_and_source(archive_root: Path, ids: dict[str, str]) -> None:
    aid = ids[ARTICLES[1]["title"]]
    app = make_app(archive_root, time_format=fixed_time)
    async with app.run_test(size=(120, 60)) as pilot:
        screen = await open_article(pilot, app, "wnuczka", aid)
        await pilot.press("e")
        await pilot.pause()
        text = screen_text(screen.query_one("#art-history", OptionList))
        assert "Published" in text and "Archived" in text and "fixture:test" in text
        assert "Strona znajduje się w archiwum" in text and FIXED_TIME in text


# --- actions --------------------------------------------------------------------------------------------------------

def listed(bindings: list) -> list:  # type: ignore[type-arg]
    """The bindings the help and the palette list: not the fallbacks saying why an action does not apply."""
    return [b for b in bindings if not b.action.startswith("why_not(")]


async def _dialog(pilot, app: ArchivistApp, key: str) -> ActionDialog:  # type: ignore[no-untyped-def]
    await pilot.press(key)
    await pilot.pause()
    assert isinstance(app.screen, ActionDialog)
    return app.screen


async def _type_and_confirm(pilot, app: ArchivistApp, text: str) -> None:  # type: ignore[no-untyped-def]
    if text:
        await pilot.press(*text)
    await pilot.press("enter")
    await settle(pilot, app)


def _events(root: Path, aid: str) -> list:  # type: ignore[type-arg]
    with Archive.open(root) as a:
        return a.history(aid)


@aio
async def test_archive_cancel_then_confirm(archive_root: Path, ids: dict[str, str]) -> None:
    aid = ids[ARTICLES[0]["title"]]
    before = len(_events(archive_root, aid))
    app = make_app(archive_root)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_article(pilot, app, "raport", aid)
        await _dialog(pilot, app, "a")
        await pilot.press("escape")
        await settle(pilot, app)
        assert app.screen is screen and len(_events(archive_root, aid)) == before
        dialog = await _dialog(pilot, app, "a")
        dialog.query_one("#cancel", Button).press()
        await settle(pilot, app)
        assert len(_events(archive_root, aid)) == before
        await _dialog(pilot, app, "a")
        await _type_and_confirm(pilot, app, "baner archiwalny")
        assert app.screen is screen
        assert screen.view is not None and screen.view.status == "archived"  # updated at once
        last = _events(archive_root, aid)[-1]
        assert (last.type, last.actor, last.summary) == ("ArticleArchived", default_actor("tui"), "baner archiwalny")
        assert "ARCHIVED" in screen_text(screen.query_one("#art-meta", Static))
        # the search screen underneath shows the new status too
        search = app.screen_stack[-2]
        assert isinstance(search, SearchScreen)
        assert search.results is not None
        assert next(h for h in search.results.hits if h.id == aid).status == "archived"
        await _dialog(pilot, app, "r")
        await _type_and_confirm(pilot, app, "")
        assert screen.view.status == "live"
        assert _events(archive_root, aid)[-1].type == "ArticleRestored"


@aio
async def test_relocate_bad_url_is_refused_in_the_dialog(archive_root: Path, ids: dict[str, str]) -> None:
    aid = ids[ARTICLES[0]["title"]]
    app = make_app(archive_root)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_article(pilot, app, "raport", aid)
        dialog = await _dialog(pilot, app, "m")
        field = dialog.query_one("#field", Input)
        assert field.value == ARTICLES[0]["url"]
        field.value = ""
        await _type_and_confirm(pilot, app, "nie adres")
        assert app.screen is dialog
        error = dialog.query_one("#dialog-error", Static)
        assert error.display and "not a web address" in screen_text(error)
        assert _events(archive_root, aid)[-1].type == "ArticleTagged" or \
            _events(archive_root, aid)[-1].type == "ArticlePublished"
        field.value = ""
        await _type_and_confirm(pilot, app, "https://www.gov.pl/web/mswia/raport")
        assert app.screen is screen
        assert screen.view is not None and screen.view.url == "https://www.gov.pl/web/mswia/raport"
        assert _events(archive_root, aid)[-1].type == "ArticleRelocated"


@aio
async def test_withdraw_needs_a_reason(archive_root: Path, ids: dict[str, str]) -> None:
    aid = ids[ARTICLES[0]["title"]]
    before = len(_events(archive_root, aid))
    app = make_app(archive_root)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_article(pilot, app, "raport", aid)
        dialog = await _dialog(pilot, app, "w")
        await _type_and_confirm(pilot, app, "   ")
        assert app.screen is dialog
        assert "needs a reason" in screen_text(dialog.query_one("#dialog-error", Static))
        assert len(_events(archive_root, aid)) == before
        await _type_and_confirm(pilot, app, "dane osobowe")
        assert app.screen is screen and screen.view is not None and screen.view.status == "withdrawn"
        last = _events(archive_root, aid)[-1]
        assert (last.type, last.summary) == ("ArticleWithdrawn", "dane osobowe")


@aio
async def test_tag_and_untag(archive_root: Path, ids: dict[str, str]) -> None:
    aid = ids[ARTICLES[0]["title"]]
    app = make_app(archive_root)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_article(pilot, app, "raport", aid)
        await _dialog(pilot, app, "t")
        await _type_and_confirm(pilot, app, "raporty, handel ludźmi")
        assert screen.view is not None and screen.view.tags == ["raporty", "handel ludźmi"]
        await _dialog(pilot, app, "u")
        await _type_and_confirm(pilot, app, "raporty")
        assert screen.view.tags == ["handel ludźmi"]
        types = [e.type for e in _events(archive_root, aid)][-3:]
        assert types == ["ArticleTagged", "ArticleTagged", "ArticleUntagged"]


@aio
async def test_a_reader_searches_and_reads_but_actions_are_disabled(archive_root: Path, ids: dict[str, str]) -> None:
    """A user who may only read the archive (a member of its group) uses the UI to read; recording is refused
    before any dialog opens."""
    aid = ids[ARTICLES[0]["title"]]
    before = len(_events(archive_root, aid))
    with Archive.open(archive_root, readonly=True) as reader:
        app = make_app(archive_root, archive=reader)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_article(pilot, app, "raport", aid)
            assert screen.view is not None and screen.view.id == aid
            for key in ("a", "t", "w"):
                await pilot.press(key)
                await settle(pilot, app)
                assert app.screen is screen, key
            assert any("not write to it" in n.message for n in app._notifications)
    assert len(_events(archive_root, aid)) == before


@aio
async def test_conflict_is_explained_and_the_view_refreshed(archive_root: Path, ids: dict[str, str]) -> None:
    aid = ids[ARTICLES[0]["title"]]
    app = make_app(archive_root)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_article(pilot, app, "raport", aid)
        shown = screen.view.version if screen.view else -1
        dialog = await _dialog(pilot, app, "a")
        with Archive.open(archive_root, actor="cli:kolega") as other:  # someone else, meanwhile
            other.tag(aid, "pilne")
        await _type_and_confirm(pilot, app, "mój powód")
        assert app.screen is screen
        notes = [n.message for n in app._notifications]
        assert any("changed this article" in m for m in notes)
        assert screen.view is not None and screen.view.version == shown + 1
        assert screen.view.tags == ["pilne"] and screen.view.status == "live"  # their change, nothing of ours
        events = _events(archive_root, aid)
        assert [e.type for e in events][-1] == "ArticleTagged" and events[-1].actor == "cli:kolega"
        # what was typed is kept for the next try, which now succeeds
        dialog = await _dialog(pilot, app, "a")
        assert dialog.query_one("#field", Input).value == "mój powód"
        await _type_and_confirm(pilot, app, "")
        assert screen.view.status == "archived"


# --- live, comfort ----------------------------------------------------------------------------------------------------

@aio
async def test_live_arrival_appears_without_restart(archive_root: Path, ids: dict[str, str]) -> None:
    app = make_app(archive_root)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        with Archive.open(archive_root, actor="watch:test") as other:
            new = other.publish(title="Nowy komunikat z inboxu", body="Świeżo przyjęty plik.",
                                published=dt.date(2030, 1, 1), publisher="KWP w Gdańsku")
        t0 = time.monotonic()
        while new not in result_ids(app) and time.monotonic() - t0 < 5:
            await asyncio.sleep(0.1)
            await pilot.pause()
        assert new in result_ids(app)
        assert time.monotonic() - t0 < 2.5
        assert result_ids(app)[0] == new  # newest first


@aio
async def test_help_lists_every_binding(archive_root: Path, ids: dict[str, str]) -> None:
    app = make_app(archive_root)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        text = screen_text(app.screen.query_one("#help-keys", Static))
        from importlib.metadata import version

        assert app.screen.query_one("#help").border_title == f"Keys · archivist {version('archivist')}"
        for b in SearchScreen.BINDINGS + ArchivistApp.BINDINGS:
            assert b.description and b.description in text, b  # type: ignore[union-attr]
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, SearchScreen)
        await open_article(pilot, app, "raport", ids[ARTICLES[0]["title"]])
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        text = screen_text(app.screen.query_one("#help-keys", Static))
        for b in listed(ArticleScreen.BINDINGS):
            assert b.description in text  # type: ignore[union-attr]
        assert "Why" not in text  # a key's "why not" fallback is no command of its own
        assert "revision N of M" in screen_text(app.screen.query_one("#help-numbers", Static))


def test_every_binding_has_a_description() -> None:
    from tui.screens.dialogs import ActionDialog

    for cls in (ArchivistApp, SearchScreen, ArticleScreen, ActionDialog, HelpScreen, DiffScreen):
        for b in cls.BINDINGS:
            assert b.description, (cls.__name__, b)  # type: ignore[union-attr]


@aio
async def test_command_palette_offers_the_actions(archive_root: Path, ids: dict[str, str]) -> None:
    from textual.command import CommandPalette

    app = make_app(archive_root)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_article(pilot, app, "raport", ids[ARTICLES[0]["title"]])
        await pilot.press("ctrl+p")
        await pilot.pause()
        assert isinstance(app.screen, CommandPalette)
        await pilot.press(*"withdraw")
        await pilot.pause(0.5)
        options = app.screen.query_one("CommandList", OptionList)
        prompts = [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]
        assert any("Withdraw" in p for p in prompts)
        await pilot.press("enter")
        await pilot.pause(0.3)
        assert isinstance(app.screen, ActionDialog) and app.screen.dialog_title == "Withdraw"
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is screen
        # and every key of the article screen is there by name
        from tui.commands import ActionsProvider

        provider = ActionsProvider(screen)
        names = [hit.text async for hit in provider.discover()]
        for b in listed(ArticleScreen.BINDINGS):
            if b.action not in ("restore", "untag"):
                assert b.description in names  # type: ignore[union-attr]
        assert "Restore" not in names and "Untag" not in names  # live, no tags: not offered


# --- the archive as it stood on a day; what changed between versions ------------------------------------------------

OLD_TITLE, NEW_TITLE = "Stary tytuł komunikatu", "Nowy tytuł komunikatu"
OLD_BODY = "Policja ostrzega przed oszustami. Dzwonią do seniorów wieczorem i proszą o pieniądze."
NEW_BODY = "Policja ostrzega przed oszustami. Dzwonią do seniorów rano i proszą o pieniądze."


def _at(*when: int):  # type: ignore[no-untyped-def]
    return lambda: dt.datetime(*when, tzinfo=dt.UTC)


def build_history(root: Path) -> dict[str, str]:
    """Recorded at fixed past times: A published 2016-01-10, B published and A revised 2016-03-05,
    A archived 2016-04-01."""
    with Archive.open(root, actor="fixture:test") as a:
        a.clock = _at(2016, 1, 10, 9, 0)
        first = a.publish(title=OLD_TITLE, body=OLD_BODY, url="https://krakow.policja.example.pl/komunikat",
                          published=dt.date(2016, 1, 10), publisher="KWP w Krakowie")
        a.clock = _at(2016, 3, 5, 9, 0)
        second = a.publish(title="Nowe zasady parkowania", body="Straż miejska przypomina o zasadach.",
                           url="https://krakow.example.pl/parkowanie", published=dt.date(2016, 3, 5),
                           publisher="UM Kraków")
        a.clock = _at(2016, 3, 5, 10, 0)
        a.revise(first, title=NEW_TITLE, body=NEW_BODY, actor="cli:ola")
        a.clock = _at(2016, 4, 1, 10, 0)
        a.archive(first, "banner: Strona znajduje się w archiwum")
    return {"A": first, "B": second}


async def _set_as_of(pilot, app: ArchivistApp, text: str) -> SearchScreen:  # type: ignore[no-untyped-def]
    screen = app.screen
    assert isinstance(screen, SearchScreen)
    if not screen.query_one("#asof-bar").display:
        await pilot.press("ctrl+d")
        await pilot.pause()
    field = screen.query_one("#asof", Input)
    assert app.focused is field
    field.value = ""
    await pilot.press(*text, "enter")
    await settle(pilot, app)
    return screen


@aio
async def test_as_of_date_shows_the_archive_as_it_stood(tmp_path: Path) -> None:
    ids = build_history(tmp_path / "a")
    app = make_app(tmp_path / "a")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        assert set(result_ids(app)) == {ids["A"], ids["B"]}
        screen = await _set_as_of(pilot, app, "2016-02")  # the first of February
        assert screen.as_of == dt.date(2016, 2, 1)
        assert result_ids(app) == [ids["A"]]
        assert screen.results is not None
        hit = screen.results.hits[0]
        assert (hit.title, hit.status) == (OLD_TITLE, "live")  # before the revision and the archiving
        chips = screen.query_one("#chips", FilterChips)
        assert chips.display and "as of 2016-02-01" in str(chips.query_one(Button).label)
        assert "as of 2016-02-01" in screen_text(screen.query_one("#summary", Static))
        assert not screen.query_one("#asof-bar").display and app.focused is screen.query_one("#query")
        # a search runs as of that day too
        await pilot.press(*"parkowania")
        await settle(pilot, app)
        assert result_ids(app) == []
        await pilot.press(*["backspace"] * len("parkowania"))
        screen = await _set_as_of(pilot, app, "2016-03-05")  # the end of that day: both, A revised
        assert set(result_ids(app)) == {ids["A"], ids["B"]}
        assert {h.title for h in screen.results.hits} == {NEW_TITLE, "Nowe zasady parkowania"}  # type: ignore[union-attr]
        assert {h.status for h in screen.results.hits} == {"live"}  # type: ignore[union-attr]
        # the live-update poll re-runs the search with the same day: it does not jump back to now
        app.announce_change()
        await settle(pilot, app)
        assert screen.as_of == dt.date(2016, 3, 5) and screen.results.as_of == dt.date(2016, 3, 5)  # type: ignore[union-attr]
        # clearing the field returns to now
        screen = await _set_as_of(pilot, app, "")
        assert screen.as_of is None and not chips.display
        assert next(h for h in screen.results.hits if h.id == ids["A"]).status == "archived"  # type: ignore[union-attr]
        # and so does pressing the chip
        screen = await _set_as_of(pilot, app, "2016")
        assert screen.as_of == dt.date(2016, 1, 1) and result_ids(app) == []
        assert "no articles yet on 2016-01-01" in screen_text(screen.query_one("#empty", Static))
        chips.query_one(Button).press()
        await settle(pilot, app)
        assert screen.as_of is None and len(result_ids(app)) == 2


@aio
async def test_bad_as_of_date_is_refused_inline(tmp_path: Path) -> None:
    build_history(tmp_path / "a")
    app = make_app(tmp_path / "a")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        for bad, says in (("2016-13-01", "no such day"), ("wczoraj", "not a date"),
                          ("2999-01-01", "has not come yet")):
            screen = await _set_as_of(pilot, app, bad)
            hint = screen.query_one("#asof-hint", Static)
            assert hint.has_class("-error") and says in screen_text(hint), bad
            assert screen.query_one("#asof-bar").display and app.focused is screen.query_one("#asof")
            assert screen.as_of is None and len(result_ids(app)) == 2  # nothing changed
        await pilot.press("backspace")  # typing again takes the complaint away
        assert not screen.query_one("#asof-hint", Static).has_class("-error")
        await pilot.press("ctrl+d")  # closes the field
        await pilot.pause()
        assert not screen.query_one("#asof-bar").display and app.focused is screen.query_one("#query")


@aio
async def test_article_as_of_shows_that_day_and_refuses_actions(tmp_path: Path) -> None:
    root = tmp_path / "a"
    ids = build_history(root)
    before = len(_events(root, ids["A"]))
    app = make_app(root, time_format=fixed_time)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await _set_as_of(pilot, app, "2016-02-01")
        screen = await open_article(pilot, app, "", ids["A"])
        assert screen.as_of == dt.date(2016, 2, 1)
        assert screen.view is not None and (screen.view.title, screen.view.status) == (OLD_TITLE, "live")
        assert OLD_TITLE in screen_text(screen.query_one("#art-title", Static))
        assert "wieczorem" in screen_text(screen.query_one("#art-body", Static))
        assert "LIVE" in screen_text(screen.query_one("#art-meta", Static))
        banner = screen.query_one("#art-asof", Static)
        assert banner.display
        assert "As of 2016-02-01 (recorded time) — actions disabled" in screen_text(banner)
        assert "2 later events, recorded after 2016-02-01, are not shown" in screen_text(
            screen.query_one("#art-history-head", Static))
        footer = _footer_fits(screen, SIZE[0])
        assert "Back" in footer and not any(w in footer for w in ("Archive", "Tag", "Relocate", "Withdraw"))
        for key in ("a", "w", "t", "u", "m", "r"):
            await pilot.press(key)
            await pilot.pause()
            assert app.screen is screen, key  # no dialog
        notes = [n.message for n in app._notifications]
        assert sum("nothing can be recorded in the past" in m for m in notes) == 6
        assert len(_events(root, ids["A"])) == before
        # the live-update reload keeps the past view
        app.announce_change()
        await settle(pilot, app)
        assert screen.view.title == OLD_TITLE and banner.display
        # back on the search screen, cleared: the article as it is now, with its actions
        await pilot.press("escape")
        await pilot.pause()
        await _set_as_of(pilot, app, "")
        screen = await open_article(pilot, app, "", ids["A"])
        assert screen.as_of is None and not screen.query_one("#art-asof").display
        assert screen.view is not None and (screen.view.title, screen.view.status) == (NEW_TITLE, "archived")
        await _dialog(pilot, app, "r")


def _styled(text: Text, style_word: str) -> set[str]:
    return {text.plain[s.start:s.end].strip() for s in text.spans if style_word in str(s.style)}


@aio
async def test_diff_from_the_timeline(tmp_path: Path) -> None:
    root = tmp_path / "a"
    ids = build_history(root)
    app = make_app(root, time_format=fixed_time)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        screen = await open_article(pilot, app, "komunikatu", ids["A"])
        await pilot.press("e")  # to the history, focused
        await pilot.pause()
        events = screen.query_one("#art-history", OptionList)
        assert app.focused is events and events.highlighted == 0
        assert "Revised   revision 2: " in screen_text(events)
        await pilot.press("down", "enter")  # the revision
        await settle(pilot, app)
        diff = app.screen
        assert isinstance(diff, DiffScreen) and diff.version == 2
        head = screen_text(diff.query_one("#diff-head", Static))
        assert f"revision 1 ({FIXED_TIME}, fixture:test) → revision 2 ({FIXED_TIME}, cli:ola)" in head
        body = diff.query_one("#diff-body", Static).content
        title = diff.query_one("#diff-title", Static).content
        assert isinstance(body, Text) and isinstance(title, Text)
        assert _styled(body, "strike") == {"wieczorem"} and _styled(body, "green") == {"rano"}
        assert _styled(title, "strike") == {"Stary"} and _styled(title, "green") == {"Nowy"}
        shown = screen_text(diff.query_one("#diff-body", Static))
        assert "seniorów wieczorem rano i proszą" in shown
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is screen and app.focused is events
        # the first version has nothing before it
        await pilot.press("up", "enter")
        await settle(pilot, app)
        assert isinstance(app.screen, DiffScreen) and app.screen.version == 1
        assert FIRST_VERSION in screen_text(app.screen.query_one("#diff-head", Static))
        assert OLD_TITLE in screen_text(app.screen.query_one("#diff-title", Static))
        await pilot.press("right")  # the next version, in place
        await settle(pilot, app)
        assert app.screen.version == 2  # type: ignore[attr-defined]
        await pilot.press("escape")
        await pilot.pause()
        # an event that did not change the text says so
        await pilot.press("end", "enter")
        await pilot.pause()
        assert app.screen is screen
        assert any("did not change the text" in n.message for n in app._notifications)
        # `d` from the article: the version on screen against the one before
        screen.query_one("#article").focus()
        await pilot.press("d")
        await settle(pilot, app)
        assert isinstance(app.screen, DiffScreen) and app.screen.version == 2


@aio
async def test_diff_is_in_help_and_the_palette(tmp_path: Path) -> None:
    from tui.commands import ActionsProvider

    ids = build_history(tmp_path / "a")
    app = make_app(tmp_path / "a")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        search = app.screen
        names = [hit.text async for hit in ActionsProvider(search).discover()]
        assert "As of date" in names
        screen = await open_article(pilot, app, "komunikatu", ids["A"])
        names = [hit.text async for hit in ActionsProvider(screen).discover()]
        assert "Diff" in names
        await pilot.press("d")
        await settle(pilot, app)
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        text = screen_text(app.screen.query_one("#help-keys", Static))
        for b in DiffScreen.BINDINGS:
            assert b.description in text  # type: ignore[union-attr]


# --- text from articles is shown literally -------------------------------------------------------------------------

@aio
async def test_markup_and_escape_bytes_are_shown_literally(archive_root: Path, ids: dict[str, str]) -> None:
    app = make_app(archive_root)
    async with app.run_test(size=(140, 40)) as pilot:
        await pilot.press(*"uwaga tytuł")
        await settle(pilot, app)
        assert result_ids(app) == [ids["injected"]]
        rl = app.screen.query_one("#results", ResultList)
        listing = screen_text(rl)
        assert "[bold red]x[/]" in listing and "\\x1b[31m" in listing and "\x1b" not in listing
        rl.focus()
        await pilot.press("enter")
        await settle(pilot, app)
        screen = app.screen
        assert isinstance(screen, ArticleScreen)
        for wid in ("#art-title", "#art-body"):
            widget = screen.query_one(wid, Static)
            lines = widget.render_lines(Region(0, 0, *widget.outer_size))
            text = "\n".join(s.text for s in lines)
            assert "[bold red]x[/]" in text and "\\x1b[31m" in text and "\x1b" not in text
            for strip in lines:
                for seg in strip:
                    assert "\x1b" not in seg.text
                    if "x[/]" in seg.text or seg.text.strip() == "x":
                        assert not (seg.style and seg.style.color and seg.style.color.name == "red")
        svg = app.export_screenshot()  # the whole screen, header included
        assert "\x1b" not in svg
        assert svg.count("[bold&#160;red]x[/]") >= 3  # header, title, body


# --- `archivist demo` / `archivist tui` -------------------------------------------------------------------------

def test_demo_builds_once_and_is_idempotent(tmp_path: Path) -> None:
    from conftest import run_cli

    root = tmp_path / "demo"
    first = run_cli(root, "demo", "--no-tui", "--json")
    assert first.code == 0, first.err
    stats = first.json()
    assert stats["articles"] >= 20 and stats["by_status"]["withdrawn"] >= 1
    again = run_cli(root, "demo", "--no-tui", "--json")
    assert again.code == 0 and again.json()["events"] == stats["events"]  # nothing appended twice
    with Archive.open(root) as a:
        actions = [e for x in a.articles() for e in a.history(x.id) if e.actor == "demo:archivist"
                   and e.type in ("ArticleTagged", "ArticleRelocated", "ArticleWithdrawn", "ArticleRevised")]
        assert {e.type for e in actions} == {"ArticleTagged", "ArticleRelocated", "ArticleWithdrawn",
                                            "ArticleRevised"}
        tags = {t for x in a.articles() for t in x.tags}
        assert {"policja", "krakow", "mswia"} <= tags  # folder names became tags
    helptext = run_cli(root, "--help").out
    assert "tui" in helptext and "demo" in helptext


# --- footer, refusals, snippets, plurals, numbers, diff navigation, typing (issue 11, defect 13) -------------------

def _footer_fits(screen, width: int) -> str:  # type: ignore[no-untyped-def]
    """The footer's text, after checking that no key is cut off at `width` columns."""
    from textual.widgets._footer import FooterKey

    keys = [k for k in screen.query(FooterKey) if k.display]
    assert keys and all(k.region.right <= width for k in keys), [(k.description, k.region) for k in keys]
    for k in keys:
        assert k.description in screen_text(k), k.description  # shown whole
    return " ".join(k.description for k in keys)


@pytest.mark.parametrize("width", [80, 120])
@aio
async def test_the_footer_fits_and_offers_only_what_applies(archive_root: Path, ids: dict[str, str],
                                                            width: int) -> None:
    app = make_app(archive_root)
    async with app.run_test(size=(width, 24)) as pilot:
        await settle(pilot, app)
        assert "Help" in _footer_fits(app.screen, width)
        live = await open_article(pilot, app, "raport", ids[ARTICLES[0]["title"]])
        text = _footer_fits(live, width)
        assert all(w in text for w in ("Back", "Archive", "Relocate", "Withdraw", "Tag", "Diff", "Help"))
        assert "Restore" not in text and "Untag" not in text  # live, and without tags
        await pilot.press("escape")
        await settle(pilot, app)
        app.screen.query_one("#query", Input).value = ""
        archived = await open_article(pilot, app, "wnuczka", ids[ARTICLES[1]["title"]])
        text = _footer_fits(archived, width)
        assert "Restore" in text and "Archive" not in text


@aio
async def test_a_on_an_archived_article_says_so_without_a_dialog(archive_root: Path, ids: dict[str, str]) -> None:
    aid = ids[ARTICLES[1]["title"]]  # archived by the fixture
    before = len(_events(archive_root, aid))
    app = make_app(archive_root)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_article(pilot, app, "wnuczka", aid)
        await pilot.press("a")
        await pilot.pause()
        assert app.screen is screen  # no dialog
        notes = [n.message for n in app._notifications]
        assert any("archived already: banner: Strona znajduje się w archiwum" in m for m in notes), notes
        await pilot.press("u")  # no tags either
        await pilot.pause()
        assert app.screen is screen and any("has no tags" in m for m in (n.message for n in app._notifications))
        await _dialog(pilot, app, "r")  # what applies still opens its dialog
        await pilot.press("escape")
        await pilot.pause()
        assert len(_events(archive_root, aid)) == before


def test_snippets_are_cut_at_word_boundaries() -> None:
    from tui.render import window

    text = ("W ubiegłym tygodniu zakończyły się ogólnopolskie ćwiczenia z reagowania na incydenty "
            "cyberbezpieczeństwa, w których udział wzięło szesnaście urzędów wojewódzkich oraz służby.")
    words = set(text.split())
    for width in range(20, len(text)):
        for marks in ([], [(text.index("udział"), text.index("udział") + 6)]):
            piece, shifted = window(text, marks, width)
            inner = piece.removeprefix("… ").removesuffix(" …")
            assert set(inner.split()) <= words, (width, piece)
            assert len(inner) <= width
            for a, b in shifted:
                assert piece[a:b] == "udział"


@aio
async def test_one_hit_is_one_article(archive_root: Path, ids: dict[str, str]) -> None:
    app = make_app(archive_root)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*"wnuczka")
        await settle(pilot, app)
        summary = screen_text(app.screen.query_one("#summary", Static))
        assert "1 article " in summary + " " and "1 articles" not in summary


@aio
async def test_an_article_names_its_revision_and_event(tmp_path: Path) -> None:
    ids = build_history(tmp_path / "a")
    app = make_app(tmp_path / "a", time_format=fixed_time)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_article(pilot, app, "komunikatu", ids["A"])
        meta = screen_text(screen.query_one("#art-meta", Static))
        assert f"{ids['A']} · revision 2 of 2 · event 3" in meta
        assert "version" not in meta


LONG_BODY = "\n\n".join(f"Akapit {i}: policjanci z komendy przypominają o zasadach bezpieczeństwa na drogach "
                        f"i w domu, sprawa numer {i} z wielu podobnych." for i in range(40))


@aio
async def test_the_diff_opens_at_the_first_change_and_walks_the_changes(tmp_path: Path) -> None:
    with Archive.open(tmp_path / "a", actor="fixture:test") as a:
        aid = a.publish(title="Długi komunikat", body=LONG_BODY, published=dt.date(2020, 1, 1))
        a.revise(aid, body=LONG_BODY.replace("sprawa numer 22 ", "sprawa numer 220 ")
                 .replace("sprawa numer 35 ", "sprawa numer 350 "))
    app = make_app(tmp_path / "a", time_format=fixed_time)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        await app.push_screen(DiffScreen(aid, 2))
        await settle(pilot, app)
        diff = app.screen
        assert isinstance(diff, DiffScreen) and len(diff.change_rows) == 2
        scroll = diff.query_one("#diff-scroll")

        def in_view(row: int) -> bool:
            return scroll.scroll_y <= row < scroll.scroll_y + scroll.scrollable_content_region.height

        assert scroll.scroll_y > 0 and in_view(diff.change_rows[0])  # opened at the first change
        await pilot.press("c")
        await pilot.pause()
        assert in_view(diff.change_rows[1]) and not in_view(diff.change_rows[0])
        await pilot.press("c")  # no third change: says so, stays
        await pilot.pause()
        assert in_view(diff.change_rows[1])
        await pilot.press("C")
        await pilot.pause()
        assert in_view(diff.change_rows[0])
        descriptions = {b.description for b in DiffScreen.BINDINGS}  # type: ignore[union-attr]
        assert {"Next change", "Previous change"} <= descriptions


@aio
async def test_typing_in_the_results_goes_on_with_the_query(archive_root: Path, ids: dict[str, str]) -> None:
    app = make_app(archive_root)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*"policja")
        await settle(pilot, app)
        await pilot.press("enter")  # to the results
        await pilot.pause()
        assert isinstance(app.focused, ResultList)
        await pilot.press(*" wnuczka")
        await settle(pilot, app)
        query = app.screen.query_one("#query", Input)
        assert app.focused is query and query.value == "policja wnuczka"
        assert result_ids(app) == [ids[ARTICLES[1]["title"]]]
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press("slash")  # a bound key keeps its meaning
        await pilot.pause()
        assert app.focused is query and query.value == "policja wnuczka"
