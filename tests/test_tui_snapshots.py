"""How the main screens look at 80x24 (pytest-textual-snapshot; `--snapshot-update` after a deliberate
change). Archives are built in the test with fixed content and times are shown through a fixed formatter,
so the pictures do not move."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_tui import ARTICLES, build_archive, build_history, fixed_time
from textual.widgets import Input
from textual.worker import WorkerCancelled

from tui.app import make_app
from tui.screens.article import ArticleScreen
from tui.screens.diff import DiffScreen


async def _settle(pilot) -> None:  # type: ignore[no-untyped-def]
    for _ in range(3):
        await pilot.pause(0.2)
        try:
            await pilot.app.workers.wait_for_complete()
        except WorkerCancelled:
            pass
        await pilot.pause()
    for field in pilot.app.screen.query(Input):
        field.cursor_blink = False


@pytest.fixture
def archive(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    root = tmp_path / "archive"
    return root, build_archive(root, injected=False)


def _app(root: Path):  # type: ignore[no-untyped-def]
    # a fixed path in the header, whatever the temporary folder is called
    app = make_app(root, time_format=fixed_time, poll_seconds=0)
    app.sub_title = "/srv/archiwum"
    return app


def test_search_screen(snap_compare, archive) -> None:  # type: ignore[no-untyped-def]
    root, _ = archive

    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        await _settle(pilot)
        await pilot.press(*"handel ludźmi")
        await _settle(pilot)

    assert snap_compare(_app(root), terminal_size=(80, 24), run_before=run_before)


def test_article_screen(snap_compare, archive) -> None:  # type: ignore[no-untyped-def]
    root, ids = archive

    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        await _settle(pilot)
        await pilot.app.push_screen(ArticleScreen(ids[ARTICLES[1]["title"]], query="wnuczka"))
        await _settle(pilot)

    assert snap_compare(_app(root), terminal_size=(80, 24), run_before=run_before)


def test_withdraw_dialog(snap_compare, archive) -> None:  # type: ignore[no-untyped-def]
    root, ids = archive

    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        await _settle(pilot)
        await pilot.app.push_screen(ArticleScreen(ids[ARTICLES[0]["title"]], query="raport"))
        await _settle(pilot)
        await pilot.press("w")
        await pilot.press("enter")  # no reason: refused in place
        await _settle(pilot)

    assert snap_compare(_app(root), terminal_size=(80, 24), run_before=run_before)


def test_diff_screen(snap_compare, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    root = tmp_path / "archive"
    ids = build_history(root)  # recorded at fixed past times

    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        await _settle(pilot)
        await pilot.app.push_screen(ArticleScreen(ids["A"]))
        await _settle(pilot)
        await pilot.app.push_screen(DiffScreen(ids["A"], 2))
        await _settle(pilot)

    assert snap_compare(_app(root), terminal_size=(80, 24), run_before=run_before)


def test_stats_screen(snap_compare, archive) -> None:  # type: ignore[no-untyped-def]
    root, _ = archive

    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        await _settle(pilot)
        await pilot.press("f2")
        await _settle(pilot)

    assert snap_compare(_app(root), terminal_size=(80, 24), run_before=run_before)
