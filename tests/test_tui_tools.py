"""The everyday tools in the terminal UI (Pilot): the version in the help, saved searches in the sidebar and
the palette, and actions on every current result."""

from __future__ import annotations

import datetime as dt
from importlib.metadata import version
from pathlib import Path

import pytest
from test_tui import ARTICLES, SIZE, aio, build_archive, result_ids, settle
from textual.command import CommandPalette
from textual.containers import VerticalScroll
from textual.geometry import Region
from textual.widgets import Button, Input, OptionList, Static

from archivist.archive import Archive
from tui.app import ArchivistApp, make_app
from tui.screens.dialogs import ActionDialog, ChoiceDialog
from tui.screens.help import HelpScreen
from tui.screens.search import SearchScreen
from tui.widgets.facets import FacetList


@pytest.fixture
def built(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """test_tui's small archive: (its folder, title -> id)."""
    root = tmp_path / "archive"
    return root, build_archive(root)


@aio
async def test_help_names_the_version(tmp_path: Path) -> None:
    app = make_app(tmp_path / "archive")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        box = app.screen.query_one("#help", VerticalScroll)
        w, _ = box.outer_size
        top = box.render_lines(Region(0, 0, w, 1))[0].text
        assert f"archivist {version('archivist')}" in top


# --- saved searches ------------------------------------------------------------------------------------------

def _saved(root: Path) -> None:
    with Archive.open(root, actor="fixture:test") as a:
        a.save_search("ostrzezenia", "policja ostrzega")
        a.save_search("stare", "", until=dt.date(2015, 12, 31))


async def _palette(pilot, app: ArchivistApp, text: str) -> list[str]:  # type: ignore[no-untyped-def]
    """Open the command palette, type `text`: the commands offered, best first."""
    await pilot.press("ctrl+p")
    await pilot.pause()
    assert isinstance(app.screen, CommandPalette)
    await pilot.press(*text)
    await pilot.pause(0.5)
    options = app.screen.query_one("CommandList", OptionList)
    return [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]


def _sidebar(app: ArchivistApp) -> list[str]:
    facets = app.screen.query_one("#facets", FacetList)
    return [str(facets.get_option_at_index(i).prompt) for i in range(facets.option_count)]


@aio
async def test_saved_searches_are_in_the_sidebar_and_run_when_chosen(built: tuple[Path, dict[str, str]]) -> None:
    archive_root, ids = built
    _saved(archive_root)
    app = make_app(archive_root)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        listed = _sidebar(app)
        assert listed[:3] == ["Saved searches", "  @ostrzezenia", "  @stare"]
        facets = app.screen.query_one("#facets", FacetList)
        facets.focus()
        facets.highlighted = listed.index("  @stare")
        await pilot.press("enter")
        await settle(pilot, app)
        screen = app.screen
        assert isinstance(screen, SearchScreen) and screen.query_text == "@stare"
        assert result_ids(app) == [ids[ARTICLES[2]["title"]]]  # 2012: the only one until 2015
        assert "✓ @stare" in _sidebar(app)
        # a saved search added by someone else appears
        with Archive.open(archive_root, actor="cli:ola") as other:
            other.save_search("raporty", "raport")
        app.announce_change()
        await settle(pilot, app)
        assert "  @raporty" in _sidebar(app)


@aio
async def test_saved_searches_are_in_the_palette(built: tuple[Path, dict[str, str]]) -> None:
    archive_root, ids = built
    _saved(archive_root)
    app = make_app(archive_root)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        prompts = await _palette(pilot, app, "ostrzezenia")
        assert prompts and "Saved search @ostrzezenia" in prompts[0]
        await pilot.press("enter")
        await settle(pilot, app)
        assert isinstance(app.screen, SearchScreen) and app.screen.query_text == "@ostrzezenia"
        assert result_ids(app) == [ids[ARTICLES[1]["title"]]]


@aio
async def test_an_unknown_saved_search_is_explained_inline(built: tuple[Path, dict[str, str]]) -> None:
    archive_root, ids = built
    _saved(archive_root)
    app = make_app(archive_root)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press(*"@stary")
        await settle(pilot, app)
        error = app.screen.query_one("#query-error", Static)
        assert error.display and "no saved search @stary; did you mean @stare?" in str(error.render())


# --- actions on every result ---------------------------------------------------------------------------------

def _notes(app: ArchivistApp) -> list[str]:
    """Every notification's message (a toast may expire before a slow machine's test looks)."""
    notes: list[str] = []
    notify = app.notify

    def keep(message: str, **kw):  # type: ignore[no-untyped-def]
        notes.append(message)
        return notify(message, **kw)

    app.notify = keep  # type: ignore[method-assign]
    return notes


async def _search(pilot, app: ArchivistApp, text: str) -> SearchScreen:  # type: ignore[no-untyped-def]
    await pilot.press(*text)
    await settle(pilot, app)
    assert isinstance(app.screen, SearchScreen)
    return app.screen


def _tags_of(root: Path, aid: str) -> list[str]:
    with Archive.open(root) as a:
        return list(a.article(aid).tags)


@aio
async def test_tag_every_result_confirmed_with_the_count(built: tuple[Path, dict[str, str]]) -> None:
    archive_root, ids = built
    app = make_app(archive_root)
    notes = _notes(app)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        screen = await _search(pilot, app, "policj*")
        found = result_ids(app)
        assert len(found) == 2
        await pilot.press("ctrl+g")
        await pilot.pause()
        assert isinstance(app.screen, ChoiceDialog)
        assert "2 articles of this search" in str(app.screen.query_one("#question", Static).render())
        await pilot.press("enter")  # the first choice: Tag
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, ActionDialog) and dialog.dialog_title == "Tag"
        assert "the 2 articles of this search" in str(dialog.query_one("#question", Static).render())
        assert "Tag 2 articles" in str(dialog.query_one("#confirm", Button).label)
        await pilot.press(*"seniorzy, ostrzeżenia", "enter")
        await settle(pilot, app)
        assert app.screen is screen
        tagged = {i for i in ids.values() if _tags_of(archive_root, i) == ["seniorzy", "ostrzeżenia"]}
        assert tagged == set(found)
        assert any("Tagged: 2 articles" in m for m in notes)


@aio
async def test_archive_every_result_from_the_palette_skips_what_is_already_so(built: tuple[Path, dict[str, str]]) -> None:
    archive_root, ids = built
    app = make_app(archive_root)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await _search(pilot, app, "policj*")
        prompts = await _palette(pilot, app, "archive every")
        assert prompts and "Archive every result" in prompts[0]
        await pilot.press("enter")
        await settle(pilot, app)
        dialog = app.screen
        assert isinstance(dialog, ActionDialog) and dialog.dialog_title == "Archive"
        assert "(1 already archived: skipped)" in str(dialog.query_one("#question", Static).render())
        await pilot.press(*"baner", "enter")
        await settle(pilot, app)
        with Archive.open(archive_root) as a:
            assert a.search("policj*", status="archived").total == 2
            archived_before = a.article(ids[ARTICLES[1]["title"]])
            assert archived_before.status_reason != "baner" and archived_before.version == 2  # skipped


@aio
async def test_a_change_while_the_dialog_is_open_records_nothing(built: tuple[Path, dict[str, str]]) -> None:
    archive_root, ids = built
    app = make_app(archive_root, poll_seconds=0)
    notes = _notes(app)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        screen = await _search(pilot, app, "policj*")
        found = result_ids(app)
        for meanwhile in ("tag", "publish"):
            screen.act_on_results("tag")
            await settle(pilot, app)
            assert isinstance(app.screen, ActionDialog)
            with Archive.open(archive_root, actor="cli:ola") as other:  # someone else, meanwhile
                if meanwhile == "tag":  # one of the results changes: the count does not
                    other.tag(found[0], "pilne")
                else:  # a new article joins the results
                    other.publish(title="Policja ostrzega znowu", body="Policja ostrzega.")
                head = other.head()
            await pilot.press(*"seniorzy", "enter")
            await settle(pilot, app)
            assert app.screen is screen
            with Archive.open(archive_root) as a:
                assert a.head() == head  # nothing of the batch was written
            assert any("changed, appeared or left the results" in m for m in notes)
            notes.clear()
        assert len(result_ids(app)) == 3  # the results shown anew
        assert _tags_of(archive_root, found[0]) == ["pilne"]


@aio
async def test_every_result_is_refused_when_it_cannot_apply(built: tuple[Path, dict[str, str]]) -> None:
    archive_root, ids = built
    app = make_app(archive_root)
    notes = _notes(app)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        screen = await _search(pilot, app, "zzzyyyxxx")
        await pilot.press("ctrl+g")
        await pilot.pause()
        assert app.screen is screen  # nothing to act on: said, no dialog
        assert any("No results" in m for m in notes)
        screen.query_one("#query", Input).value = ""
        await settle(pilot, app)
        screen.set_as_of(dt.date(2020, 1, 1))
        await settle(pilot, app)
        await pilot.press("ctrl+g")
        await pilot.pause()
        assert app.screen is screen and any("past day" in m for m in notes)
