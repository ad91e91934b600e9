"""The words the CLI and the UI share (issue 11, defect 13): counts with their plurals right, and one name for
each of the three numbers an article carries — revision N of M (its text), event N (its own events, what
`--expect-version` checks), log #P (a position in the archive's log)."""

from __future__ import annotations

from pathlib import Path

from archivist.archive import Archive


def test_plural() -> None:
    from archivist.textutil import plural

    assert [plural(n, "article") for n in (0, 1, 2)] == ["0 articles", "1 article", "2 articles"]
    assert plural(1, "match") == "1 match" and plural(3, "match") == "3 matches"
    assert plural(2, "later event") == "2 later events"
    assert plural(1, "child", "children") == "1 child" and plural(2, "child", "children") == "2 children"


def _one_revised_article(archive_dir: Path) -> str:
    with Archive.open(archive_dir, actor="test:ola") as a:
        aid = a.publish(title="Komunikat policji", body="Policjanci ostrzegają przed oszustami.",
                        url="https://policja.example.pl/k/1")
        a.tag(aid, "oszustwa")
        a.revise(aid, body="Policjanci ostrzegają przed oszustami dzwoniącymi do seniorów.")
        return aid


def test_show_and_history_name_revision_event_and_log_position(cli, archive_dir: Path) -> None:  # type: ignore[no-untyped-def]
    aid = _one_revised_article(archive_dir)
    explained = "revision N of M: the article's text"  # archivist.textutil.VERSION_WORDS
    show = cli("show", aid)
    assert show.code == 0
    assert "revision 2 of 2 · event 3" in show.out and "versions" not in show.out
    history = cli("history", aid, env={"COLUMNS": "200"})
    assert history.code == 0
    header = next(line for line in history.out.splitlines() if "recorded" in line)
    assert "event" in header and "log #" in header and " # " not in header.replace("log #", "")
    assert "revision 1: " in history.out and "revision 2: " in history.out
    assert explained in " ".join(history.out.split())  # the caption explains them
    entries = cli("history", aid, "--json").json()["events"]
    assert [e["version"] for e in entries] == [1, 2, 3]


def test_counts_in_human_output(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "a.txt").write_bytes("Tytuł komunikatu\n\nTreść komunikatu policji o wnuczku.\n".encode())
    r = cli("ingest", str(tmp_path / "a.txt"))
    assert r.code == 0 and r.out.startswith("1 file:"), r.out
    found = cli("search", "wnuczku")
    assert "1 article (" in found.out and "1 articles" not in found.out
