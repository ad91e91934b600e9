"""The command line as scripts use it: a real subprocess against a temp archive."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from archivist.archive import Archive


@pytest.fixture
def seeded(archive_dir: Path) -> str:
    with Archive.open(archive_dir, actor="test:seed") as a:
        return a.publish(title="Spotkanie [bold red]Grupy[/] Zadaniowej", body="Treść \x1b[31m artykułu.",
                         url="http://www.handelludzmi.eu/aktualnosci/7/", published=dt.date(2015, 10, 17),
                         publisher="MSWiA")


def test_init_is_idempotent(cli, archive_dir: Path) -> None:  # type: ignore[no-untyped-def]
    assert cli("init").code == 0
    r = cli("init", "--json")
    assert r.code == 0 and r.json()["head"] == 0
    assert (archive_dir / "log").is_dir() and (archive_dir / "inbox").is_dir()


def test_read_commands_need_an_archive(cli) -> None:  # type: ignore[no-untyped-def]
    r = cli("stats")
    assert r.code == 1 and "archivist init" in r.err and "Traceback" not in r.err


def test_show_history_json_and_literal_text(cli, seeded: str) -> None:  # type: ignore[no-untyped-def]
    r = cli("show", seeded, "--json")
    assert r.code == 0
    doc = r.json()
    assert doc["id"] == seeded and doc["status"] == "live" and doc["published"] == "2015-10-17"
    human = cli("show", seeded[:6])
    assert human.code == 0
    assert "[bold red]Grupy[/]" in human.out  # markup shown, not interpreted
    assert "\x1b" not in human.out and "\\x1b[31m" in human.out
    h = cli("history", seeded, "--json").json()
    assert [e["type"] for e in h["events"]] == ["ArticlePublished"] and h["events"][0]["actor"] == "test:seed"


def test_exit_codes(cli, seeded: str) -> None:  # type: ignore[no-untyped-def]
    assert cli("show", "ffffffffffff").code == 1
    assert cli("history", "nope").code == 1
    assert cli("resolve", "https://example.org/nothing").code == 1
    assert cli("resolve", "not an address").code == 2
    assert cli("relocate", seeded, "bad url with spaces").code == 2
    assert cli("frobnicate").code == 2
    assert cli("withdraw", seeded).code == 2  # --reason is required
    r = cli("archive", seeded, "--expect-version", "5")
    assert r.code == 5 and "conflict" in r.err


def test_actions_record_events_with_the_cli_actor(cli, seeded: str) -> None:  # type: ignore[no-untyped-def]
    assert cli("archive", seeded, "--reason", "Strona znajduje się w archiwum").code == 0
    r = cli("archive", seeded, "--json")
    assert r.code == 0 and r.json()["recorded"] is False
    assert cli("relocate", seeded, "www.gov.pl/web/handel-ludzmi/7").code == 0
    assert cli("relocate", "--portal", "handelludzmi.eu", "https://www.gov.pl/web/handel-ludzmi").code == 0
    assert cli("tag", seeded, "Policja", "mswia").code == 0
    assert cli("tag", seeded, "--remove", "mswia").code == 0
    assert cli("withdraw", seeded, "--reason", "błąd").code == 0
    assert cli("restore", seeded, "--actor", "cli:kasia").code == 0
    doc = cli("show", seeded, "--json").json()
    assert doc["status"] == "live" and doc["tags"] == ["policja"]
    assert doc["url"] == "https://www.gov.pl/web/handel-ludzmi/7"
    events = cli("history", seeded, "--json").json()["events"]
    assert events[-1]["actor"] == "cli:kasia"
    assert events[1]["actor"].startswith("cli:")
    res = cli("resolve", "http://handelludzmi.eu/aktualnosci/7", "--json").json()
    assert res["current"] == "https://www.gov.pl/web/handel-ludzmi/7" and res["article_id"] == seeded
    res = cli("resolve", "handelludzmi.eu/inne/strony", "--json").json()
    assert res["current"] == "https://www.gov.pl/web/handel-ludzmi" and res["chain"][0]["kind"] == "portal"


def test_stats_and_verify(cli, seeded: str) -> None:  # type: ignore[no-untyped-def]
    s = cli("stats", "--json").json()
    assert s["articles"] == 1 and s["by_status"]["live"] == 1 and s["years"] == {"2015": 1}
    v = cli("verify", "--json")
    assert v.code == 0 and v.json()["ok"] is True


def test_verify_exits_4_and_names_the_position_of_a_flipped_byte(cli, archive_dir: Path) -> None:  # type: ignore[no-untyped-def]
    with Archive.open(archive_dir) as a:
        for i in range(20):
            a.publish(title=f"Artykuł {i}", body="treść " * 30, url=f"https://policja.pl/a/{i}")
    seg = sorted((archive_dir / "log").glob("*.seg"))[0]
    data = bytearray(seg.read_bytes())
    data[len(data) // 2] ^= 0x01
    seg.write_bytes(bytes(data))
    r = cli("verify")
    assert r.code == 4
    assert "position" in r.err and "Traceback" not in r.err
    doc = cli("verify", "--json").json()
    assert doc["ok"] is False and 5 <= doc["problems"][0]["position"] <= 15
    w = cli("tag", "ffff", "x")
    assert w.code in (1, 4)
    with Archive.open(archive_dir) as a:
        aid = next(a.articles()).id
    r = cli("tag", aid, "x")
    assert r.code == 4 and "corrupt" in r.err


def test_export_import_round_trip_through_the_cli(cli, seeded: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from conftest import run_cli

    cli("archive", seeded)
    cli("relocate", "--portal", "handelludzmi.eu", "https://www.gov.pl/web/handel-ludzmi")
    exported = cli("export")
    assert exported.code == 0
    lines = [json.loads(x) for x in exported.out.splitlines()]
    assert [x["position"] for x in lines] == [1, 2, 3]
    copy = tmp_path / "copy"
    assert run_cli(copy, "import", "-", input=exported.out.encode()).code == 0
    again = run_cli(copy, "export")
    assert again.out == exported.out
    out_file = tmp_path / "e.ndjson"
    assert cli("export", "-o", str(out_file)).code == 0
    assert out_file.read_text() == exported.out
    bad = run_cli(tmp_path / "bad", "import", "-", input=b"garbage\n")
    assert bad.code == 3 and "line 1" in bad.err
