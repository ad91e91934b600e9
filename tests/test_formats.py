"""Script formats through the real command line: `archivist count` and `search --format ids|csv|ndjson`."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

from archivist.archive import Archive

TAGS = ["handel, ludźmi", 'cytat "w cudzysłowie"', "policja"]


@pytest.fixture
def many(archive_dir: Path) -> list[str]:
    """40 articles about the police (more than a page), some archived, one withdrawn, tags with commas."""
    ids = []
    with Archive.open(archive_dir, actor="test:formats") as a, a.bulk():
        for i in range(40):
            ids.append(a.publish(
                title=f"Policja ostrzega {i}", body=f"Policja ostrzega przed oszustami. Numer {i}. " * (1 + i % 5),
                url=f"https://policja.example.pl/a/{i}" if i % 7 else None,
                published=dt.date(2010 + i % 12, 1 + i % 12, 1 + i % 28) if i % 9 else None,
                publisher="KWP w Łodzi" if i % 2 else "MSWiA", tags=TAGS if i % 4 == 0 else []))
        for i in range(0, 40, 5):
            a.archive(ids[i], "baner")
        a.withdraw(ids[1], "dane osobowe")
    return ids


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


def test_count_is_the_total_of_the_same_search(cli, many: list[str]) -> None:  # type: ignore[no-untyped-def]
    for args in ([], ["--status", "archived"], ["--since", "2015", "--publisher", "mswia"], ["--all"],
                 ["--tag", "policja"], ["--until", "2012"]):
        total = cli("search", "policja", "--json", *args).json()["total"]
        r = cli("count", "policja", *args)
        assert r.code == 0 and r.out == f"{total}\n", args
        assert cli("count", "policja", "--json", *args).json() == {"query": "policja", "total": total}
    assert cli("count", "").out == "39\n"  # every article but the withdrawn one
    assert cli("count", "kradzież").out == "0\n"
    bad = cli("count", "title:(policja")
    assert bad.code == 2 and bad.out == "" and len(bad.err.strip().splitlines()) == 1


@pytest.mark.parametrize("sort", ["relevance", "date", "oldest"])
def test_ids_stream_every_match_in_the_order_of_search(cli, many: list[str], sort: str) -> None:  # type: ignore[no-untyped-def]
    page = cli("search", "policja oszustami", "--sort", sort, "--limit", "100", "--json").json()
    assert page["total"] == 39
    r = cli("search", "policja oszustami", "--sort", sort, "--format", "ids")
    assert r.code == 0 and r.err == ""
    assert r.out.splitlines() == [h["id"] for h in page["hits"]]
    sliced = cli("search", "policja oszustami", "--sort", sort, "--format", "ids", "--offset", "5", "--limit", "3")
    assert sliced.out.splitlines() == [h["id"] for h in page["hits"]][5:8]


def test_csv_has_a_header_and_tags_with_commas_survive(cli, many: list[str]) -> None:  # type: ignore[no-untyped-def]
    r = cli("search", "", "--format", "csv", "--status", "live,archived,withdrawn")
    assert r.code == 0
    assert r.out.splitlines()[0] == "id,title,url,published,status,publisher,tags"
    rows = _rows(r.out)
    assert len(rows) == 40 and {row["id"] for row in rows} == set(many)
    shown = {h["id"]: h for h in cli("search", "", "--all", "--limit", "100", "--json").json()["hits"]}
    for row in rows:
        h = shown[row["id"]]
        assert row["title"] == h["title"] and row["status"] == h["status"]
        assert row["url"] == (h["url"] or "") and row["published"] == (h["published"] or "")
        assert row["publisher"] == (h["publisher"] or "")
        assert (next(csv.reader([row["tags"]])) if row["tags"] else []) == h["tags"]
    tagged = [row for row in rows if row["id"] == many[0]][0]
    assert next(csv.reader([tagged["tags"]])) == sorted(TAGS) or \
        set(next(csv.reader([tagged["tags"]]))) == set(TAGS)


def test_ndjson_lines_are_the_hits_of_json(cli, many: list[str]) -> None:  # type: ignore[no-untyped-def]
    page = cli("search", "ostrzega", "--limit", "100", "--json").json()
    r = cli("search", "ostrzega", "--format", "ndjson")
    assert r.code == 0
    lines = [json.loads(x) for x in r.out.splitlines()]
    assert lines == page["hits"] and len(lines) == 39
    lean = [json.loads(x) for x in cli("search", "ostrzega", "--format", "ndjson", "--no-snippets").out.splitlines()]
    assert [h["id"] for h in lean] == [h["id"] for h in lines] and all(h["snippet"] == "" for h in lean)


def test_format_refuses_json_and_bad_queries_in_one_line(cli, many: list[str]) -> None:  # type: ignore[no-untyped-def]
    r = cli("search", "policja", "--format", "ids", "--json")
    assert r.code == 2 and r.json()["code"] == 2
    r = cli("search", "policja AND", "--format", "csv")
    assert r.code == 2 and r.out == "" and len(r.err.strip().splitlines()) == 1
    r = cli("search", "policja", "--format", "xml")
    assert r.code == 2 and "xml" in r.err


def test_a_reader_that_stops_early_ends_the_stream_quietly(archive_dir: Path) -> None:
    """`archivist search policja --format csv | head -1`: exit 0 and nothing on stderr. The output is far
    more than a pipe holds (checked), so the writer meets the closed pipe."""
    with Archive.open(archive_dir, actor="test:formats") as a, a.bulk():
        for i in range(250):
            a.publish(title=f"Policja ostrzega {i} " + "bardzo długi tytuł " * 20, body="Policja ostrzega.",
                      url=f"https://policja.example.pl/a/{i}")
    cmd = [sys.executable, "-m", "archivist.cli", "--archive", str(archive_dir), "search", "policja", "--format",
           "csv"]
    whole = subprocess.run(cmd, capture_output=True, cwd=ROOT, timeout=120)
    assert whole.returncode == 0 and len(whole.stdout) > 64 * 1024
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read()
    assert proc.wait(timeout=120) == 0
    assert first == b"id,title,url,published,status,publisher,tags\n"
    assert err == b""
