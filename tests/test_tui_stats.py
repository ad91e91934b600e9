"""The statistics screen (f2, or "Statistics" in the command palette) and the year facet's bar chart."""

from __future__ import annotations

from pathlib import Path

from test_tui import ARTICLES, SIZE, aio, build_archive, screen_text, settle
from textual.widgets import Input

from archivist.archive import Archive
from tui.app import make_app
from tui.screens.search import SearchScreen
from tui.screens.stats import StatsScreen
from tui.widgets.charts import Histogram, Shares
from tui.widgets.facets import FacetList, facet_option_id


@aio
async def test_f2_shows_years_statuses_and_publishers(tmp_path: Path) -> None:
    build_archive(tmp_path / "a")
    with Archive.open(tmp_path / "a") as a:
        want = a.stats()
    app = make_app(tmp_path / "a", poll_seconds=0)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("f2")
        await settle(pilot, app)
        screen = app.screen
        assert isinstance(screen, StatsScreen)
        hist = screen.query_one("#stats-years", Histogram)
        assert hist.counts == list(want.years.items())
        drawn = screen_text(hist)
        for year in want.years:
            assert year in drawn
        assert "█" in drawn
        status = screen.query_one("#stats-status", Shares)
        assert dict(status.rows) == want.by_status and status.total == want.articles == 5
        text = screen_text(status)
        assert "archived" in text and "20 %" in text and "80 %" in text  # 1 and 4 of 5
        publishers = screen.query_one("#stats-publishers", Shares)
        assert dict(publishers.rows) == want.publishers
        assert "KWP w Krakowie" in screen_text(publishers) and "40 %" in screen_text(publishers)
        await pilot.press("escape")
        await settle(pilot, app)
        assert isinstance(app.screen, SearchScreen)


@aio
async def test_statistics_are_in_the_command_palette(tmp_path: Path) -> None:
    build_archive(tmp_path / "a")
    app = make_app(tmp_path / "a", poll_seconds=0)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("ctrl+p")
        await settle(pilot, app)
        await pilot.press(*"statistics")
        await settle(pilot, app)
        await pilot.press("enter")
        await settle(pilot, app)
        assert isinstance(app.screen, StatsScreen)


@aio
async def test_the_year_facet_is_a_bar_chart(tmp_path: Path) -> None:
    build_archive(tmp_path / "a")
    with Archive.open(tmp_path / "a") as a:
        a.publish(title="Drugi raport 2017", body="Handel ludźmi raz jeszcze.", published=ARTICLES[0]["published"])
    app = make_app(tmp_path / "a", poll_seconds=0)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        facets = app.screen.query_one("#facets", FacetList)
        ids = [facets.get_option_at_index(i).id for i in range(facets.option_count)]
        lines = {i: str(facets.get_option_at_index(k).prompt) for k, i in enumerate(ids) if i}
        two = lines[facet_option_id("year", "2017")]
        one = lines[facet_option_id("year", "2019")]
        assert two.count("█") == 10 and two.rstrip().endswith("2")  # the tallest: the whole bar
        assert one.count("█") == 5 and one.rstrip().endswith("1")
        # choosing a year still filters by it
        facets.focus()
        facets.highlighted = ids.index(facet_option_id("year", "2017"))
        await pilot.press("enter")
        await settle(pilot, app)
        assert app.screen.query_one("#query", Input).value == ""
        assert app.screen.results.total == 2  # type: ignore[attr-defined]
