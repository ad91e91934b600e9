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
from conftest import ROOT

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
