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
    assert cli("untag", seeded, "mswia").code == 0
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


# --- issue 11: what a new user hit ------------------------------------------------------------------------------

def _one_line_error(r) -> str:  # type: ignore[no-untyped-def]
    lines = r.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in r.err, r.err
    return lines[0]


def test_init_on_a_file_is_a_one_line_error(tmp_path: Path) -> None:
    from conftest import run_cli

    a_file = tmp_path / "notes.txt"
    a_file.write_text("not an archive")
    for args in (("init",), ("init", "--json"), ("stats",), ("ingest", str(a_file))):
        r = run_cli(a_file, *args)
        assert r.code == 2 and "is a file" in _one_line_error(r)
    assert a_file.read_text() == "not an archive"
    r = run_cli(a_file / "below", "init")
    assert r.code == 2 and "a file" in _one_line_error(r)


def _ids_sharing_a_prefix() -> tuple[str, str, str]:
    from archivist.archive import article_id_for, identity_key

    seen: dict[str, str] = {}
    for i in range(100_000):
        url = f"https://policja.example.pl/aktualnosci/{i}"
        prefix = article_id_for(identity_key(url=url, title="", published=None, publisher=None, body=""))[:4]
        if prefix in seen:
            return prefix, seen[prefix], url
        seen[prefix] = url
    raise AssertionError("no two ids share a prefix")


def test_an_ambiguous_id_prefix_lists_the_candidates(cli, archive_dir: Path) -> None:  # type: ignore[no-untyped-def]
    prefix, url1, url2 = _ids_sharing_a_prefix()
    with Archive.open(archive_dir) as a:
        ids = sorted([a.publish(title="Pierwszy", body="a", url=url1), a.publish(title="Drugi", body="b", url=url2)])
    for command in (("show", prefix), ("history", prefix), ("archive", prefix), ("tag", prefix, "x"),
                    ("diff", prefix), ("relocate", prefix, "https://example.pl/n")):
        r = cli(*command)
        line = _one_line_error(r)
        assert r.code == 2 and "ambiguous" in line and ids[0] in line and ids[1] in line, (command, line)
    doc = cli("show", prefix, "--json")
    assert doc.code == 2 and [c["id"] for c in doc.json()["candidates"]] == ids
    assert cli("show", ids[0][:8]).code == 0  # a unique prefix still works


def test_search_says_when_the_matches_are_not_shown(cli, seeded: str) -> None:  # type: ignore[no-untyped-def]
    r = cli("search", "", "--limit", "0")
    assert r.code == 0 and "No articles match" not in r.out
    assert "1 article matches; none shown (--limit 0)" in r.out
    r = cli("search", "", "--offset", "5")
    assert r.code == 0 and "No articles match" not in r.out and "none shown at offset 5" in r.out
    r = cli("search", "zzzqqqxxx")
    assert "No articles match" in r.out and "0 articles" not in r.out
    assert cli("search", "", "--limit", "-1").code == 2


def test_relocating_a_portal_says_what_was_recorded(cli, seeded: str) -> None:  # type: ignore[no-untyped-def]
    r = cli("relocate", "--portal", "handelludzmi.eu", "https://www.gov.pl/web/handel-ludzmi")
    assert r.code == 0
    assert "handelludzmi.eu" in r.out and "https://www.gov.pl/web/handel-ludzmi" in r.out and "(log #2)" in r.out
    again = cli("relocate", "--portal", "handelludzmi.eu", "https://www.gov.pl/web/handel-ludzmi", "--json").json()
    assert again["recorded"] is False and again["to_prefix"] == "https://www.gov.pl/web/handel-ludzmi"
    moved = cli("relocate", seeded[:6], "https://www.gov.pl/web/handel-ludzmi/7")
    assert f"relocated {seeded}: http://www.handelludzmi.eu/aktualnosci/7" in moved.out
    assert "→ https://www.gov.pl/web/handel-ludzmi/7 (log #3)" in moved.out


def test_a_stale_expected_version_is_a_conflict_even_when_nothing_would_change(cli, seeded: str) -> None:  # type: ignore[no-untyped-def]
    assert cli("archive", seeded).code == 0  # now at version 2
    assert cli("tag", seeded, "praca").code == 0  # version 3
    for action in (("archive", seeded), ("tag", seeded, "praca"), ("untag", seeded, "nic"),
                   ("restore", seeded), ("withdraw", seeded, "--reason", "x"),
                   ("relocate", seeded, "http://www.handelludzmi.eu/aktualnosci/7/")):
        r = cli(*action, "--expect-version", "1")
        assert r.code == 5 and "version 3, not 1" in _one_line_error(r), action
    assert cli("archive", seeded, "--expect-version", "3").code == 0  # current: nothing to record, exit 0
    assert len(cli("history", seeded, "--json").json()["events"]) == 3


def test_usage_errors_are_one_line_with_a_hint(cli, archive_dir: Path) -> None:  # type: ignore[no-untyped-def]
    for args, hint in ((("search",), "archivist search --help"), (("search", "x", "--bogus"), "archivist search --help"),
                       (("frobnicate",), "archivist --help"), (("tag", "abcd", "x", "--remove"), "archivist tag --help"),
                       (("search", "x", "--since", "wczoraj"), "archivist search --help")):
        r = cli(*args)
        assert r.code == 2 and hint in _one_line_error(r) and "usage:" not in r.err, args
    r = cli("search", "x", "--since", "wczoraj", "--json")
    assert r.json() == {"error": r.err.strip().removeprefix("error: "), "code": 2}


def test_errors_with_json_are_a_json_document(cli, seeded: str) -> None:  # type: ignore[no-untyped-def]
    for args, code in ((("show", "ffffffffffff", "--json"), 1), (("search", '"otwarty', "--json"), 2),
                       (("archive", seeded, "--expect-version", "9", "--json"), 5)):
        r = cli(*args)
        doc = r.json()
        assert r.code == code and doc["code"] == code and doc["error"] in r.err, args
    r = cli("show", "ffffffffffff")
    assert r.out == ""  # without --json, stdout stays empty


def test_tui_does_not_create_an_archive_unasked(tmp_path: Path) -> None:
    from conftest import run_cli

    missing = tmp_path / "typo"
    r = run_cli(missing, "tui", input=b"")
    assert r.code == 1 and "archivist init" in _one_line_error(r) and "--create" in r.err
    assert not missing.exists()


def test_a_failed_import_leaves_nothing_behind(cli, seeded: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from conftest import run_cli

    good = cli("export").out.encode()
    for target, data in ((tmp_path / "new", b"garbage\n"), (tmp_path / "half", good + b"garbage\n")):
        r = run_cli(target, "import", "-", input=data)
        assert r.code == 3 and not target.exists(), r.err
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "keep.txt").write_text("mine")
    assert run_cli(empty, "import", "-", input=b"garbage\n").code == 3
    assert [p.name for p in empty.iterdir()] == ["keep.txt"]
    assert run_cli(tmp_path / "new", "import", "-", input=good).code == 0


def test_search_help_explains_its_options_and_the_query_syntax(cli) -> None:  # type: ignore[no-untyped-def]
    for r in (cli("search", "--help"), cli("help", "search")):
        assert r.code == 0
        text = " ".join(r.out.split())
        for phrase in ("--limit N show at most N articles (default 10", "--offset N skip the first N",
                       "--publisher NAME only articles from this publisher", "query syntax:",
                       "published:2015..2017", "title:policja", "ludzmi~", "diacritics optional"):
            assert phrase in text, phrase
        assert "README" not in r.out
    assert "archivist untag" in cli("tag", "--help").out


def _modes(root: Path) -> dict[str, int]:
    import stat

    return {p.relative_to(root).as_posix() or ".": stat.S_IMODE(p.lstat().st_mode)
            for p in [root, *root.rglob("*")] if not p.is_symlink()}


def test_a_new_archive_is_private_to_its_owner(cli, archive_dir: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.txt").write_text("Tytuł artykułu\n\nTreść artykułu o handlu ludźmi, dość długa, by ją przyjąć. " * 3)
    assert cli("init").code == 0
    assert cli("ingest", str(src)).code == 0
    aid = cli("search", "", "--json").json()["hits"][0]["id"]
    assert cli("withdraw", aid, "--reason", "prośba autora").code == 0
    assert cli("rebuild").code == 0
    modes = _modes(archive_dir)
    assert any(k.startswith("blobs/") for k in modes) and any(k.startswith("index/") for k in modes)
    assert any(k.startswith("log/") and k.endswith(".seg") for k in modes)
    open_wide = {k: oct(m) for k, m in modes.items() if m & 0o077}
    assert not open_wide
    v = cli("verify", "--json").json()
    assert v["ok"] and v["warnings"] == []


def test_verify_warns_when_files_are_open_wider(cli, seeded: str, archive_dir: Path) -> None:  # type: ignore[no-untyped-def]
    seg = sorted((archive_dir / "log").glob("*.seg"))[0]
    seg.chmod(0o644)
    r = cli("verify")
    assert r.code == 0 and "warning:" in r.err and "log/" in r.err and "chmod" in r.err
    assert cli("verify", "--json").json()["warnings"]


def test_init_group_shares_the_archive_with_a_group(tmp_path: Path) -> None:
    import grp
    import os
    import stat

    from conftest import run_cli

    group = grp.getgrgid(os.getgid()).gr_name
    root = tmp_path / "shared"
    r = run_cli(root, "init", "--group", group, "--json")
    assert r.code == 0 and r.json()["group"] == group
    with Archive.open(root) as a:
        a.publish(title="Wspólny", body="treść", url="https://example.pl/w")
    modes = _modes(root)
    assert modes["."] == 0o2750 and modes["log"] & 0o2750 == 0o2750
    assert all(m & 0o027 == 0 for m in modes.values()), modes
    seg = next(k for k in modes if k.endswith(".seg"))
    assert modes[seg] == 0o640 and (root / seg).stat().st_gid == os.getgid()
    assert stat.S_ISDIR((root / "log").stat().st_mode)
    assert run_cli(root, "verify", "--json").json()["warnings"] == []
    bad = run_cli(tmp_path / "x", "init", "--group", "no-such-group-here")
    assert bad.code == 2 and "no group" in _one_line_error(bad)
