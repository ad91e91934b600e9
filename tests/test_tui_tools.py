"""The everyday tools in the terminal UI (Pilot): the version in the help, saved searches in the sidebar and
the palette, and actions on every current result."""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path

from test_tui import SIZE, aio, settle
from textual.containers import VerticalScroll
from textual.geometry import Region

from tui.app import make_app
from tui.screens.help import HelpScreen


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
