"""The everyday tools through the command line (a real subprocess against a temp archive): the version,
saved searches and actions on every result of a query."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest
from conftest import ROOT, run_cli

from archivist.archive import Archive


def test_version_is_the_package_version(cli) -> None:  # type: ignore[no-untyped-def]
    r = cli("--version")
    assert r.code == 0 and r.out == f"archivist {version('archivist')}\n" and not r.err
    assert "--version" in cli("--help").out


# --- actions on every result of a query -------------------------------------------------------------------------

@pytest.fixture
def news(archive_dir: Path) -> dict[str, str]:
    """Four articles: three about the police (one archived, one already tagged `seniorzy`), one not."""
    with Archive.open(archive_dir, actor="test:seed") as a:
        ids = {
            "wnuczek": a.publish(title="Metoda na wnuczka", body="Policja ostrzega seniorów przed oszustami.",
                                 url="https://policja.example.pl/wnuczek", published=dt.date(2019, 3, 14),
                                 publisher="KWP w Krakowie"),
            "sms": a.publish(title="Fałszywe SMS-y", body="Policja ostrzega przed fałszywymi SMS-ami.",
                             url="https://policja.example.pl/sms", published=dt.date(2022, 11, 23),
                             publisher="KWP w Gdańsku", tags=["seniorzy"]),
            "szkola": a.publish(title="Bezpieczna droga do szkoły", body="Policja pilnuje przejść dla pieszych.",
                                url="https://policja.example.pl/szkola", published=dt.date(2012, 9, 3),
                                publisher="KWP we Wrocławiu"),
            "raport": a.publish(title="Raport o handlu ludźmi", body="Ministerstwo publikuje raport.",
                                url="https://mswia.example.pl/raport", published=dt.date(2017, 8, 3),
                                publisher="MSWiA"),
        }
        a.archive(ids["szkola"], "banner")
    return ids


def _events(cli, aid: str) -> list[str]:  # type: ignore[no-untyped-def]
    return [e["type"] for e in cli("history", aid, "--json").json()["events"]]


def _head(cli) -> int:  # type: ignore[no-untyped-def]
    return int(cli("stats", "--json").json()["head"])


def test_tag_a_query_dry_run_then_for_real(cli, news: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    head = _head(cli)
    dry = cli("tag", "--query", "policja", "--dry-run", "seniorzy", "--json")
    assert dry.code == 0, dry.err
    doc = dry.json()
    assert doc["dry_run"] and doc["matched"] == 3
    assert {x["id"] for x in doc["changed"]} == {news["wnuczek"], news["szkola"]}
    assert [x["id"] for x in doc["unchanged"]] == [news["sms"]]  # already tagged: counted and skipped
    assert doc["first_position"] is None and _head(cli) == head  # a dry run records nothing
    human = cli("tag", "--query", "policja", "--dry-run", "seniorzy")
    assert "would record 2 articles" in human.out and "1 article already so, skipped" in human.out
    assert "Metoda na wnuczka" in human.out and "Raport" not in human.out

    done = cli("tag", "--query", "policja", "seniorzy", "oszustwa", "--json").json()
    assert not done["dry_run"] and len(done["changed"]) == 3 and done["unchanged"] == []
    assert done["first_position"] == head + 1 and done["last_position"] == head + 5  # 2 + 2 + 1 new tags
    assert _head(cli) == head + 5
    assert cli("search", "tag:oszustwa", "--json").json()["total"] == 3
    again = cli("tag", "--query", "policja", "seniorzy")
    assert again.code == 0 and "nothing to record: all 3 matching articles are already so" in again.out
    assert _head(cli) == head + 5
    gone = cli("untag", "--query", "tag:oszustwa", "--since", "2019", "oszustwa", "--json").json()
    assert gone["matched"] == 2 and {x["id"] for x in gone["changed"]} == {news["wnuczek"], news["sms"]}
    assert _events(cli, news["szkola"])[-1] == "ArticleTagged"  # before --since 2019: untouched


def test_archive_restore_withdraw_a_query(cli, news: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    r = cli("archive", "--query", "policja", "--reason", "banner", "--json").json()
    assert len(r["changed"]) == 2 and [x["id"] for x in r["unchanged"]] == [news["szkola"]]
    assert cli("search", "policja", "--status", "archived", "--json").json()["total"] == 3
    w = cli("withdraw", "--query", "publisher:mswia")
    assert w.code == 2 and "--reason" in w.err  # required, as for one article
    w = cli("withdraw", "--query", "ministerstwo", "--reason", "duplikat", "--json").json()
    assert [x["id"] for x in w["changed"]] == [news["raport"]]
    assert cli("search", "ministerstwo", "--json").json()["total"] == 0  # withdrawn: hidden from search
    # a restore finds withdrawn articles only when asked, as `search` does
    assert cli("restore", "--query", "", "--status", "withdrawn", "--dry-run", "--json").json()["matched"] == 1
    back = cli("restore", "--query", "", "--all", "--json").json()
    assert back["matched"] == 4 and len(back["changed"]) == 4
    assert cli("search", "", "--status", "live", "--json").json()["total"] == 4
    assert _events(cli, news["raport"])[-2:] == ["ArticleWithdrawn", "ArticleRestored"]


def test_query_actions_refuse_what_does_not_fit(cli, news: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    head = _head(cli)
    for args, says in ((("archive", news["raport"], "--query", "x"), "not both"),
                       (("archive",), "--query QUERY"),
                       (("archive", news["raport"], "--status", "live"), "--status: only with --query"),
                       (("tag", news["raport"], "x", "--dry-run"), "--dry-run: only with --query"),
                       (("tag", "--query", "policja"), "at least one tag"),
                       (("tag", news["raport"]), "at least one tag"),
                       (("archive", "--query", "policja", "--expect-version", "2"), "--expect-version"),
                       (("archive", "--query", "\"policja"), "unclosed"),
                       (("archive", "--query", "policja", "--since", "2020", "--until", "2019"), "after")):
        r = cli(*args)
        assert r.code == 2 and says in r.err and "Traceback" not in r.err, (args, r.err)
    nothing = cli("archive", "--query", "zzzyyyxxx")
    assert nothing.code == 0 and "No articles match" in nothing.out
    assert _head(cli) == head
    assert "--query QUERY" in cli("tag", "--help").out and "--dry-run" in cli("archive", "--help").out


# A real concurrent change between the batch's read and its write: the batch process, once it has planned (read
# every article), runs another `archivist tag` process on one of them before it appends.
RACE = """
import subprocess, sys
from archivist import cli
from archivist.archive import Archive

archive, victim = sys.argv[1], sys.argv[2]
apply_batch = Archive.apply_batch

def after_someone_else(self, plan, **kw):
    subprocess.run([sys.executable, "-m", "archivist.cli", "--archive", archive, "tag", victim, "concurrent"],
                   check=True, capture_output=True)
    return apply_batch(self, plan, **kw)

Archive.apply_batch = after_someone_else
sys.exit(cli.main(["--archive", archive, "tag", "--query", "policja", "seniorzy", "--json"]))
"""


def test_a_concurrent_change_fails_the_whole_batch(cli, news: dict[str, str], archive_dir: Path) -> None:  # type: ignore[no-untyped-def]
    head = _head(cli)
    proc = subprocess.run([sys.executable, "-c", RACE, str(archive_dir), news["wnuczek"]], capture_output=True,
                          cwd=ROOT, timeout=120)
    assert proc.returncode == 5, proc.stderr.decode()
    assert "conflict" in proc.stderr.decode() and "nothing was recorded" in proc.stderr.decode()
    assert json.loads(proc.stdout)["code"] == 5
    assert _head(cli) == head + 1  # only the other process's tag
    assert _events(cli, news["wnuczek"])[-1] == "ArticleTagged"
    tags = {n: cli("show", aid, "--json").json()["tags"] for n, aid in news.items()}
    assert tags == {"wnuczek": ["concurrent"], "sms": ["seniorzy"], "szkola": [], "raport": []}
    # run again: the batch now reads the new version and goes through
    assert len(cli("tag", "--query", "policja", "seniorzy", "--json").json()["changed"]) == 2


# --- saved searches -------------------------------------------------------------------------------------------

def _ids(cli, *args: str) -> list[str]:  # type: ignore[no-untyped-def]
    r = cli("search", *args, "--limit", "100", "--sort", "date", "--json")
    assert r.code == 0, r.err
    return [h["id"] for h in r.json()["hits"]]


def test_saved_search_stands_for_its_query_and_filters(cli, news: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    r = cli("saved", "add", "ostrzezenia", "policja ostrzega", "--since", "2015", "--json")
    assert r.code == 0, r.err
    doc = r.json()
    assert doc["recorded"] and doc["saved"]["since"] == "2015-01-01" and doc["saved"]["query"] == "policja ostrzega"
    assert _ids(cli, "@ostrzezenia") == _ids(cli, "policja ostrzega", "--since", "2015") == [news["sms"], news["wnuczek"]]
    # combined with the rest of a query, and with the command's own filters
    assert _ids(cli, "@ostrzezenia published:2019") == [news["wnuczek"]]
    assert _ids(cli, "@ostrzezenia", "--tag", "seniorzy") == [news["sms"]]
    assert _ids(cli, "policja -@ostrzezenia") == [news["szkola"]]  # 2012: before the saved --since
    assert cli("search", "@OSTRZEZENIA", "--json").json()["query"] == "@OSTRZEZENIA"  # names ignore case
    # statuses, tags and a publisher are kept too; a saved search may use another
    assert cli("saved", "add", "stare", "", "--status", "archived,live", "--until", "2018").code == 0
    assert cli("saved", "add", "krakow", "@ostrzezenia", "--publisher", "KWP w Krakowie").code == 0
    assert _ids(cli, "@stare") == _ids(cli, "", "--status", "archived,live", "--until", "2018") \
        == [news["raport"], news["szkola"]]
    assert _ids(cli, "@krakow") == [news["wnuczek"]]
    assert _ids(cli, "@krakow OR @stare") == [news["wnuczek"], news["raport"], news["szkola"]]
    # an address or a mail is not a saved search; inside a phrase it is a word
    assert cli("search", "jan@policja.pl", "--json").code == 0 and cli("search", '"@nic"', "--json").code == 0

    listed = cli("saved", "list", "--json").json()["saved"]
    assert [s["name"] for s in listed] == ["krakow", "ostrzezenia", "stare"]
    assert listed[2]["statuses"] == ["archived", "live"] and listed[2]["until"] == "2018-12-31"
    assert listed[1]["actor"].startswith("cli:") and listed[1]["position"] > 0
    human = cli("saved", "list").out
    assert "@ostrzezenia" in human and "policja ostrzega" in human and "published 2015-01-01.." in human


def test_saved_search_changes_and_removal(cli, news: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    assert cli("saved", "add", "raporty", "raport").code == 0
    head = _head(cli)
    again = cli("saved", "add", "raporty", "ministerstwo")
    assert again.code == 2 and "already a saved search @raporty" in again.err and "--replace" in again.err
    same = cli("saved", "add", "raporty", "raport", "--replace")
    assert same.code == 0 and "nothing to record" in same.out and _head(cli) == head
    assert cli("saved", "add", "raporty", "policja", "--replace").code == 0
    assert _ids(cli, "@raporty") == _ids(cli, "policja")  # a changed saved search is a new question
    assert cli("saved", "rm", "raporty").code == 0
    gone = cli("search", "@raporty")
    assert gone.code == 2 and "no saved search @raporty" in gone.err
    assert cli("saved", "add", "raporty", "raport").code == 0  # the name can be saved again
    assert _ids(cli, "@raporty") == [news["raport"]]
    assert [e["type"] for e in _exported(cli)] == [
        "SearchSaved", "SearchSaved", "SavedSearchRemoved", "SearchSaved"]


def _exported(cli) -> list[dict[str, object]]:  # type: ignore[no-untyped-def]
    lines = [json.loads(line) for line in cli("export", "--no-blobs").out.splitlines()]
    return [ln["event"] for ln in lines if ln.get("stream", "").startswith("saved:")]


def test_saved_search_errors_are_clear(cli, news: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    assert cli("saved", "add", "archiwalne", "", "--status", "archived").code == 0
    head = _head(cli)
    for args, says in (
            (("search", "@archiwalen"), "no saved search @archiwalen; did you mean @archiwalne?"),
            (("tag", "--query", "@archiwalen", "x"), "did you mean @archiwalne?"),
            (("saved", "add", "dwa słowa", "x"), "one simple word"),
            (("saved", "add", "@", "x"), "one simple word"),
            (("saved", "add", "pusty", ""), "needs a query or a filter"),
            (("saved", "add", "zly", '"policja'), "unclosed quote"),
            (("saved", "add", "sam", "@sam"), "@sam refers to itself (@sam → @sam)"),
            (("saved", "add", "nowy", "@brak"), "no saved search @brak"),
            (("saved", "add", "x", "y", "--status", "gone"), "status is one of"),
            (("saved", "rm", "brak"), "no saved search @brak"),
            (("saved", "list", "extra"), "takes no name"),
            (("saved", "rm"), "NAME"),
            (("saved", "add", "bez"), "QUERY")):
        r = cli(*args)
        assert r.code in (1, 2) and says in r.err and "Traceback" not in r.err, (args, r.err)
    # a cycle through others is found when it would be made
    assert cli("saved", "add", "a", "@archiwalne OR policja").code == 0
    assert cli("saved", "add", "b", "@a raport").code == 0
    cycle = cli("saved", "add", "a", "@b", "--replace")
    assert cycle.code == 2 and "@a refers to itself (@a → @b → @a)" in cycle.err
    used = cli("saved", "rm", "a")
    assert used.code == 2 and "@a is used by @b" in used.err
    assert _head(cli) == head + 2


def test_saved_searches_travel_with_export_and_import(cli, news: dict[str, str], tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert cli("saved", "add", "ostrzezenia", "policja ostrzega", "--tag", "seniorzy").code == 0
    assert cli("saved", "add", "stare", "", "--status", "archived").code == 0
    assert cli("saved", "rm", "stare").code == 0
    dump = tmp_path / "dump.ndjson"
    assert cli("export", "-o", str(dump)).code == 0
    other = tmp_path / "other"
    assert run_cli(other, "import", str(dump)).code == 0
    mine, theirs = cli("saved", "list", "--json").json(), run_cli(other, "saved", "list", "--json").json()
    assert mine == theirs and [s["name"] for s in theirs["saved"]] == ["ostrzezenia"]
    assert run_cli(other, "search", "@ostrzezenia", "--json").json()["total"] == 1


def test_actions_on_a_saved_search(cli, news: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    assert cli("saved", "add", "ostrzezenia", "policja ostrzega").code == 0
    r = cli("archive", "--query", "@ostrzezenia", "--dry-run", "--json").json()
    assert r["query"] == "@ostrzezenia" and {x["id"] for x in r["changed"]} == {news["wnuczek"], news["sms"]}


def test_saved_searches_survive_the_state_snapshot(archive_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import archivist.archive as archive_mod

    monkeypatch.setattr(archive_mod, "SNAPSHOT_TAIL", 1)
    with Archive.open(archive_dir) as a:
        a.publish(title="Raport", body="Treść raportu.")
        a.save_search("raz", "raport", tag="t")
        a.save_search("dwa", "treść")
        a.remove_saved_search("dwa")
    with Archive.open(archive_dir) as a:
        a.saved_searches()  # the first load replays the log and keeps a snapshot
    assert (archive_dir / "state" / "articles.snapshot").exists()
    with Archive.open(archive_dir) as a:
        assert [(s.name, s.tags) for s in a.saved_searches()] == [("raz", ["t"])]
        assert a._snapshot_at == a.head()  # loaded from the snapshot, nothing replayed
        assert a.save_search("dwa", "raport") > 0  # expects the removed stream's version: kept by the snapshot
