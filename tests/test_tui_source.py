"""The TUI's view of an article version's original file (`s` on the article screen)."""

from __future__ import annotations

from pathlib import Path

from test_source import build
from test_tui import SIZE, aio, open_article, settle
from textual.widgets import OptionList, Static, TextArea

from tui.app import make_app
from tui.screens.article import ArticleScreen
from tui.screens.source import SourceScreen


@aio
async def test_s_shows_the_original_of_the_version_on_screen(tmp_path: Path) -> None:
    ids = build(tmp_path / "a", tmp_path)
    app = make_app(tmp_path / "a", poll_seconds=0)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        article = await open_article(pilot, app, "wnuczka", ids["page"])
        await pilot.press("s")
        await settle(pilot, app)
        assert isinstance(app.screen, SourceScreen) and app.screen.version == 2
        text = app.screen.query_one("#source-text", TextArea).text
        assert "metodą na wnuczka" in text and "Zażółć gęślą jaźń" in text  # decoded from ISO-8859-2
        assert "\\x1b[31m" in text and "\x1b" not in text and "\r" not in text
        head = str(app.screen.query_one("#source-head", Static).render())
        assert "komunikat.html" in head and "revision 2 of 2" in head
        await pilot.press("pagedown", "down")  # scrollable, read-only
        assert app.screen.query_one("#source-text", TextArea).text == text
        await pilot.press("escape")
        await settle(pilot, app)
        assert app.screen is article

        # from the history: the highlighted revision's own file
        await pilot.press("e")
        events = article.query_one("#art-history", OptionList)
        events.highlighted = next(i for i in range(events.option_count)
                                  if article.content_versions.get(int(events.get_option_at_index(i).id or 0)) == 1)
        await pilot.press("s")
        await settle(pilot, app)
        assert isinstance(app.screen, SourceScreen) and app.screen.version == 1
        text = app.screen.query_one("#source-text", TextArea).text
        assert "oszustami" in text and "wnuczka" not in text
        await pilot.press("escape")
        await settle(pilot, app)


@aio
async def test_an_article_without_a_file_says_so(tmp_path: Path) -> None:
    ids = build(tmp_path / "a", tmp_path)
    app = make_app(tmp_path / "a", poll_seconds=0)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await app.push_screen(ArticleScreen(ids["api"]))
        await settle(pilot, app)
        await pilot.press("s")
        await settle(pilot, app)
        assert isinstance(app.screen, SourceScreen)
        head = str(app.screen.query_one("#source-head", Static).render())
        assert "no original" in head
        assert not app.screen.query_one("#source-text", TextArea).display
        await app.push_screen(ArticleScreen(ids["binary"]))
        await settle(pilot, app)
        await pilot.press("s")
        await settle(pilot, app)
        head = str(app.screen.query_one("#source-head", Static).render())
        assert "crawl.warc.gz" in head and "not text" in head
