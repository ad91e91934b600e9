"""Hostile input (`bench/hostile.py`, ~200 files) dropped into a running watcher: every file ingested or
rejected with a reason, the watcher alive, nothing outside the inbox and the archive read or written,
`verify` clean."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bench import hostile
from bench.soak import WatchProc


@pytest.mark.slow
def test_two_hundred_hostile_files(tmp_path: Path) -> None:
    lines: list[str] = []
    f = hostile.run(tmp_path, 200, max_mb=1.0)
    hostile.report(f, out=lines.append)
    print("\n".join(lines))
    assert f["alive"] and f["verify"] == 0
    assert f["problems"] == [], "\n".join(lines)


def test_a_rejected_file_with_a_name_near_the_limit_gets_its_reason_and_leaves_the_inbox(tmp_path: Path) -> None:
    """Bug: `Watcher._move` writes `.rejected/NAME.reason.txt`; for a NAME of 245-255 bytes that name is over
    the file system's 255-byte limit (ENAMETOOLONG), so the rejected file is never moved: it stays in the
    inbox, an error is logged at every rescan, and no reason file exists."""
    archive = tmp_path / "archive"
    inbox = archive / "inbox"
    inbox.mkdir(parents=True)
    name = "x" * 246 + ".txt"  # 250 bytes: a legal name; + ".reason.txt" is not
    (inbox / name).write_bytes(b"")  # empty: rejected
    w = WatchProc(archive, settle=0.1, rescan=1.0).started()
    try:
        assert w.wait_for(lambda: any(o["file"] == name for o in w.outcomes), 30)
    finally:
        rc = w.stop()
    assert rc == 0
    out = next(o for o in w.outcomes if o["file"] == name)
    assert out["result"] == "rejected"
    assert not os.path.lexists(inbox / name), "the rejected file stays in the inbox"
    assert out["moved_to"], "it was never moved to .rejected"
    assert (inbox / (out["moved_to"] + ".reason.txt")).is_file() or any(
        p.name.endswith(".reason.txt") for p in (inbox / ".rejected").iterdir())
    assert not [x for x in w.logs if x.get("level") == "error"], w.logs


def test_a_utf8_file_cut_inside_its_last_character_is_still_read_as_utf8() -> None:
    """A download cut mid-character leaves valid UTF-8 with an incomplete last sequence. Bug: `decode_text`
    then fell back to Windows-1250 for the WHOLE file, so the article was recorded as mojibake
    ("AktualnoĹ›ci" as its title, every Polish letter garbled)."""
    from archivist.ingest.registry import parse

    text = hostile._article(5)
    data = text.encode() + "ż".encode()[:1]  # the last character cut after its first byte
    article = parse("uciety.txt", data).articles[0]
    assert article.title.startswith("Komunikat"), article.title
    assert "wyjaśniana" in article.body
    assert "Ĺ" not in article.title + article.body
