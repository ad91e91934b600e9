"""`archivist ingest` end to end, as archivists and scripts run it: a real process on a temp archive, the
log read back afterwards. Per-format parsing is tests/test_parsers.py's business; this is about what lands in
the log — once, with its bytes — and what the command says."""

from __future__ import annotations

import csv
import hashlib
import io
import os
import shutil
import time
from collections import Counter
from pathlib import Path

import pytest
from conftest import shared_path

from archivist.archive import Archive
from store import events as ev

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "archivist" / "samples"
FIXTURES = ROOT / "tests" / "fixtures" / "ingest"

SEEDS_EXPECTED = {  # file prefix -> title, published, status, url
    "001": ("Wspólnie przeciwko handlowi ludźmi", "2017-06-29", "archived", None),
    "002": ("Współpraca polsko-ukraińska w zakresie zwalczania i zapobiegania handlowi ludźmi", "2013-12-18",
            "archived", None),
    "003": ("Spotkanie Grupy Zadaniowej ds. Handlu Ludźmi", "2015-10-17", "archived", None),
    "004": ("Integracja dla bezpieczeństwa – współpraca międzynarodowa w zakresie praw podstawowych",
            "2025-05-14", "live", None),
}


def records(archive_dir: Path) -> list[ev.Record]:
    with Archive.open(archive_dir, create=False) as a:
        return list(a.log.read())


def head(cli) -> int:  # type: ignore[no-untyped-def]
    return cli("stats", "--json").json()["head"]


def article(n: int, *, extra: str = "") -> bytes:
    return (f"Aktualności\n\nKomunikat numer {n} komendy powiatowej\n\nData publikacji 0{1 + n % 9}.03.2021\n\n"
            f"Policjanci z komendy powiatowej przypominają o zasadach bezpieczeństwa, sprawa {n}.{extra}\n"
            ).encode()


# --- the seeds ----------------------------------------------------------------------------------------------

def test_seeds_end_to_end(cli) -> None:  # type: ignore[no-untyped-def]
    seeds = shared_path("corpus", "seeds")
    r = cli("ingest", str(seeds), "--json")
    assert r.code == 0, r.err
    summary = r.json()
    assert (summary["files"], summary["ingested"], summary["rejected"], summary["duplicate"]) == (5, 5, 0, 0)
    ids = {o["file"][:3]: o["articles"][0] for o in summary["outcomes"]}
    for prefix, (title, published, status, url) in SEEDS_EXPECTED.items():
        shown = cli("show", ids[prefix], "--json").json()
        assert (shown["title"], shown["published"], shown["status"]) == (title, published, status), prefix
        assert shown["url"] == url, prefix
        assert "Strona znajduje się w archiwum" not in shown["body"]
    # Seed 002 says its *portal* moved to www.gov.pl/web/handel-ludzmi: not an address of this article, and
    # the old portal's address is not in the dump, so no relocation is recorded (see the test below).
    archived = cli("history", ids["002"], "--json").json()["events"]
    assert [e["type"] for e in archived] == ["ArticlePublished", "ArticleArchived"]
    untitled = cli("show", ids["000"], "--json").json()
    assert untitled["publisher"] == "KWP w Szczecinie" and untitled["published"] is None
    assert untitled["status"] == "live"
    assert cli("verify").code == 0


def test_the_same_bytes_twice_append_nothing(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    seeds = shared_path("corpus", "seeds")
    assert cli("ingest", str(seeds)).code == 0
    before = head(cli)
    again = cli("ingest", str(seeds), "--json")
    assert again.code == 0
    s = again.json()
    assert (s["files"], s["duplicate"], s["ingested"], s["revised"]) == (5, 5, 0, 0)
    renamed = tmp_path / "inna-nazwa.txt"  # the same bytes under another name are the same source
    shutil.copy(next(seeds.glob("001_*.txt")), renamed)
    r = cli("ingest", str(renamed), "--json")
    assert r.json()["duplicate"] == 1
    assert head(cli) == before
    human = cli("ingest", str(seeds))
    assert human.code == 0 and "5 duplicate" in human.out


def test_a_changed_version_of_a_known_article_is_a_revision(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    original = next(shared_path("corpus", "seeds").glob("003_*.txt")).read_bytes()
    first, second = tmp_path / "v1" / "spotkanie.txt", tmp_path / "v2" / "spotkanie.txt"
    first.parent.mkdir()
    second.parent.mkdir()
    first.write_bytes(original)
    second.write_bytes(original.replace(b"Kolejne spotkanie Grupy", b"Nastepne spotkanie Grupy"))
    aid = cli("ingest", str(first), "--json").json()["outcomes"][0]["articles"][0]
    r = cli("ingest", str(second), "--json")
    assert r.code == 0
    s = r.json()
    assert (s["revised"], s["ingested"]) == (1, 0) and s["outcomes"][0]["result"] == "revised"
    events = cli("history", aid, "--json").json()["events"]
    assert [e["type"] for e in events].count("ArticlePublished") == 1
    revised = [e for e in events if e["type"] == "ArticleRevised"]
    assert len(revised) == 1 and revised[0]["source"] == hashlib.sha256(second.read_bytes()).hexdigest()
    assert "Nastepne spotkanie" in cli("show", aid, "--json").json()["body"]
    assert cli("ingest", str(second), "--json").json()["duplicate"] == 1  # and again: nothing new


def test_every_article_event_points_to_a_received_source_whose_bytes_are_kept(cli, archive_dir: Path) -> None:  # type: ignore[no-untyped-def]
    assert cli("ingest", str(shared_path("corpus", "seeds"))).code == 0
    cli("ingest", str(SAMPLES))
    assert cli("ingest", str(FIXTURES / "artykuly.json"), str(FIXTURES / "portal.redirects.csv")).code == 0
    recs = records(archive_dir)
    received = {r.event.digest for r in recs if isinstance(r.event, ev.SourceReceived)}
    with Archive.open(archive_dir, create=False) as a:
        for digest in received:
            assert a.blobs.exists(digest) and a.blobs.verify(digest)
    sourced = [r for r in recs if r.stream != ev.source_stream(getattr(r.event, "digest", ""))]
    assert sourced
    for r in sourced:
        source = getattr(r.event, "source", None)
        assert source in received, (r.position, type(r.event).__name__)


# --- bad input ----------------------------------------------------------------------------------------------

BAD = {
    "empty": ("pusty.txt", b"", [], "empty"),
    "binary": ("obraz.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", [], "binary"),
    "undecodable": ("krzaki.txt", bytes(range(0x80, 0x100)) * 8, [], "not UTF-8"),
    "junk after a UTF-16 byte-order mark": (
        "smieci.txt", b"\xff\xfe" + ("鯏럴䝯䞐耰鹋┲딳ꇞ藢ܟ찯粪\n" * 20).encode("utf-16-le"), [], "UTF-16"),
    "too large": ("duzy.txt", article(1, extra=" Bardzo długi tekst." * 200), ["--max-mb", "0.001"], "limit"),
    "unknown type": ("notatka.docx", b"PK\x03\x04 word document", [], "unsupported file type"),
    "json with wrong types": ("rekordy.json", b'[{"title": 5, "body": ["nie"]}]', [], "title"),
    "csv without the needed columns": ("tabela.csv", b"foo,bar\n1,2\n", [], "column"),
}


@pytest.mark.parametrize("kind", list(BAD))
def test_bad_input_is_rejected_recorded_and_kept(kind: str, cli, archive_dir: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    name, data, options, reason_word = BAD[kind]
    path = tmp_path / name
    path.write_bytes(data)
    r = cli("ingest", str(path), *options)
    assert r.code == 3, (r.out, r.err)
    assert name in r.err and reason_word.lower() in r.err.lower() and "Traceback" not in r.err
    assert "1 rejected" in r.out
    recs = records(archive_dir)
    rejected = [x.event for x in recs if isinstance(x.event, ev.SourceRejected)]
    assert len(rejected) == 1 and rejected[0].file_name == name
    assert rejected[0].digest == hashlib.sha256(data).hexdigest() and rejected[0].size == len(data)
    assert reason_word.lower() in rejected[0].reason.lower()
    assert not any(isinstance(x.event, ev.ArticlePublished) for x in recs)
    with Archive.open(archive_dir, create=False) as a:
        assert a.blobs.get(rejected[0].digest) == data
    # Re-dropping it records nothing more, and it stays rejected, with its first reason: a script retrying
    # learns why (not "duplicate", exit 0).
    again = cli("ingest", str(path), *options, "--json")
    assert again.code == 3, (again.out, again.err)
    (o,) = again.json()["outcomes"]
    assert (o["result"], o["reason"], o["known"]) == ("rejected", rejected[0].reason, True)
    assert (again.json()["rejected"], again.json()["duplicate"]) == (1, 0)
    human = cli("ingest", str(path), *options)
    assert human.code == 3 and "1 rejected" in human.out and rejected[0].reason in human.err
    assert len(records(archive_dir)) == len(recs)
    assert cli("verify").code == 0


def test_a_rejected_file_twice_in_one_run_is_rejected_twice(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "in" / "b").mkdir(parents=True)
    (tmp_path / "in" / "a").mkdir()
    for sub in ("a", "b"):
        (tmp_path / "in" / sub / "pusty.txt").write_bytes(b"   \n")
    s = cli("ingest", str(tmp_path / "in"), "--json").json()
    assert sorted((o["result"], o["known"]) for o in s["outcomes"]) == [("rejected", False), ("rejected", True)]
    assert (s["rejected"], s["duplicate"]) == (2, 0)
    assert s["outcomes"][0]["reason"] == s["outcomes"][1]["reason"] and "empty" in s["outcomes"][0]["reason"]


def test_fifos_devices_and_links_are_refused_unread(cli, archive_dir: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Reading a FIFO blocks for ever; a link may lead out of the folder. Each is rejected (exit 3) with its
    reason and without a record (there are no bytes to keep); the good files beside them go in."""
    outside = tmp_path / "poza"
    outside.mkdir()
    (outside / "tajny.txt").write_bytes(article(8))
    drop = tmp_path / "wrzut"
    (drop / "dzial").mkdir(parents=True)
    (drop / "dobry.txt").write_bytes(article(9))
    os.mkfifo(drop / "dzial" / "potok.txt")
    os.symlink(outside / "tajny.txt", drop / "link.txt")
    os.symlink(outside, drop / "katalog")
    r = cli("ingest", str(drop), "--json", timeout=30)
    assert r.code == 3, (r.out, r.err)
    s = r.json()
    by_name = {Path(o["file"]).name: o for o in s["outcomes"]}
    assert set(by_name) == {"dobry.txt", "potok.txt", "link.txt", "katalog"}
    assert by_name["dobry.txt"]["result"] == "ingested"
    assert "FIFO" in by_name["potok.txt"]["reason"] and "regular file" in by_name["potok.txt"]["reason"]
    assert "link" in by_name["link.txt"]["reason"] and "link" in by_name["katalog"]["reason"]
    assert all(by_name[n]["result"] == "rejected" for n in ("potok.txt", "link.txt", "katalog"))
    assert (s["ingested"], s["rejected"]) == (1, 3)
    recs = records(archive_dir)
    assert not any(isinstance(x.event, ev.SourceRejected) for x in recs)
    assert [x.event.title for x in recs if isinstance(x.event, ev.ArticlePublished)] == [
        "Komunikat numer 9 komendy powiatowej"]
    for path in (drop / "dzial" / "potok.txt", Path("/dev/null")):  # named on their own, twice
        for _ in range(2):
            alone = cli("ingest", str(path), timeout=30)
            assert alone.code == 3 and "not a regular file" in alone.err and "1 rejected" in alone.out, alone.err
    assert len(records(archive_dir)) == len(recs)


def test_utf16_files_with_and_without_a_byte_order_mark_are_ingested(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    text = (FIXTURES / "komunikat_archiwalny.txt").read_text(encoding="utf-8")
    for i, enc in enumerate(("utf-16", "utf-16-le", "utf-16-be")):
        (tmp_path / f"u{i}.txt").write_bytes(text.replace("KWP", f"KWP{i}").encode(enc))
    r = cli("ingest", str(tmp_path), "--json")
    assert r.code == 0, r.out
    titles = {cli("show", o["articles"][0], "--json").json()["title"] for o in r.json()["outcomes"]}
    assert titles == {"Ślady źródeł: ćwiczenia służb na Śląsku"}


def test_a_folder_with_good_and_bad_files(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "in" / "sub").mkdir(parents=True)
    (tmp_path / "in" / "dobry.txt").write_bytes(article(2))
    (tmp_path / "in" / "sub" / "zly.json").write_bytes(b"{nie json")
    r = cli("ingest", str(tmp_path / "in"), "--json")
    assert r.code == 3
    s = r.json()
    assert (s["files"], s["ingested"], s["rejected"]) == (2, 1, 1)
    bad = next(o for o in s["outcomes"] if o["result"] == "rejected")
    assert bad["file"] == "zly.json" and bad["reason"]


def test_subfolders_become_tags(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    drop = tmp_path / "wrzut"
    (drop / "policja" / "szczecin").mkdir(parents=True)
    (drop / "Straz_Graniczna").mkdir()
    (drop / "policja" / "szczecin" / "a.txt").write_bytes(article(3))
    (drop / "Straz_Graniczna" / "b.txt").write_bytes(article(4))
    (drop / "c.txt").write_bytes(article(5))
    (drop / ".ukryte").mkdir()
    (drop / ".ukryte" / "d.txt").write_bytes(article(6))
    (drop / "e.txt.part").write_bytes(article(7))
    s = cli("ingest", str(drop), "--json").json()
    assert s["files"] == 3, "hidden folders and partial files are left alone"
    tags = {o["file"]: cli("show", o["articles"][0], "--json").json()["tags"] for o in s["outcomes"]}
    assert tags == {"a.txt": ["policja", "szczecin"], "b.txt": ["straz graniczna"], "c.txt": []}


# --- the samples and the redirects --------------------------------------------------------------------------

def test_the_samples_folder(cli, archive_dir: Path) -> None:  # type: ignore[no-untyped-def]
    r = cli("ingest", str(SAMPLES), "--json")
    s = r.json()
    # README.md sits among the samples; an unknown type is rejected, which makes the exit code 3.
    assert [o["file"] for o in s["outcomes"] if o["result"] == "rejected"] == ["README.md"]
    assert r.code == 3
    stats = cli("stats", "--json").json()
    assert stats["articles"] == 22
    assert stats["by_status"] == {"live": 13, "archived": 8, "withdrawn": 1}
    recs = records(archive_dir)
    kinds = Counter(type(x.event).__name__ for x in recs)
    # The two portal notices say the old portal moved (one prefix rule, recorded with the first page that
    # says so); the redirect map moves two articles and repeats the same prefix rule (recorded once).
    assert kinds["ArticleRelocated"] == 2 and kinds["PortalRelocated"] == 1
    csv_digest = next(o["digest"] for o in s["outcomes"] if o["file"] == "portal.redirects.csv")
    from_csv = [x for x in recs if getattr(x.event, "source", None) == csv_digest]
    assert Counter(type(x.event).__name__ for x in from_csv) == {"ArticleRelocated": 2}
    (rule,) = [x.event for x in recs if isinstance(x.event, ev.PortalRelocated)]
    assert (rule.from_prefix, rule.to_prefix) == ("http://www.przeciwdzialanie-handlowi.example.pl/",
                                                  "https://www.gov.pl/web/przyklad-portalu")
    # A redirect of a known article moves the article; the prefix rule covers the rest of the old portal.
    krakow = cli("resolve", "https://krakow.policja.example.pl/aktualnosci/2019/na-wnuczka.html", "--json").json()
    assert krakow["current"] == "https://krakow.policja.example.pl/seniorzy/na-wnuczka.html"
    assert krakow["chain"][0]["kind"] == "article"
    old = cli("resolve", "http://www.przeciwdzialanie-handlowi.example.pl/nieznana/strona.html", "--json").json()
    assert old["current"] == "https://www.gov.pl/web/przyklad-portalu" and old["chain"][0]["kind"] == "portal"
    tagged = cli("show", krakow["article_id"], "--json").json()
    assert tagged["tags"] == ["policja", "krakow"]
    assert cli("verify").code == 0


def test_a_portal_notice_moves_the_portal_not_the_article(cli, archive_dir: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Seed 002's notice ("Aktualna strona Portalu … dostępna jest pod adresem: www.gov.pl/web/handel-ludzmi")
    was recorded as the article moving to the portal's home page; after a portal rule, any address of the
    old portal the archive never saw then resolved to that unrelated 2013 article."""
    seeds = shared_path("corpus", "seeds")
    s = cli("ingest", str(seeds), "--json").json()
    seed002 = next(o["articles"][0] for o in s["outcomes"] if o["file"].startswith("002"))
    assert s["relocations"] == 0
    assert cli("relocate", "--portal", "http://www.handelludzmi.eu", "https://www.gov.pl/web/handel-ludzmi").code == 0
    r = cli("resolve", "http://www.handelludzmi.eu/aktualnosci/1", "--json")
    assert r.code == 0
    assert r.json()["current"] == "https://www.gov.pl/web/handel-ludzmi"
    assert r.json()["article_id"] is None and r.json()["status"] is None
    human = cli("resolve", "http://www.handelludzmi.eu/aktualnosci/1")
    assert seed002 not in human.out and "gov.pl/web/handel-ludzmi" in human.out
    # An archive recorded before the fix holds the article "relocated" to the home page: still no match.
    assert cli("relocate", seed002, "https://www.gov.pl/web/handel-ludzmi").code == 0
    assert cli("resolve", "http://www.handelludzmi.eu/aktualnosci/2", "--json").json()["article_id"] is None
    assert cli("resolve", "https://www.gov.pl/web/handel-ludzmi", "--json").json()["article_id"] == seed002
    # A page whose own address is known: its notice records the old site's prefix rule, once.
    page = (SAMPLES / "portal-archiwalny" / "2017-08-03-raport-o-handlu-ludzmi-2016.txt").read_bytes()
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "a.txt").write_bytes(page)
    (drop / "b.txt").write_bytes(page.replace(b"raport-2016.html", b"raport-2016-b.html")
                                 .replace(b"za 2016 rok", b"za rok 2016"))
    s = cli("ingest", str(drop), "--json").json()
    assert [o["relocations"] for o in s["outcomes"]] == [1, 0]
    rules = [x.event for x in records(archive_dir) if isinstance(x.event, ev.PortalRelocated)]
    assert [(r.from_prefix, r.to_prefix) for r in rules][-1] == (
        "http://www.przeciwdzialanie-handlowi.example.pl/", "https://www.gov.pl/web/przyklad-portalu")
    assert not any(isinstance(x.event, ev.ArticleRelocated) and x.event.to_url.endswith("przyklad-portalu")
                   for x in records(archive_dir))
    unseen = cli("resolve", "http://www.przeciwdzialanie-handlowi.example.pl/nigdy/widziana.html", "--json").json()
    assert unseen["current"] == "https://www.gov.pl/web/przyklad-portalu" and unseen["article_id"] is None
    own = cli("resolve", "http://www.przeciwdzialanie-handlowi.example.pl/publikacje/raport-2016.html", "--json")
    assert own.json()["article_id"] == s["outcomes"][0]["articles"][0]
    assert cli("verify").code == 0


def test_a_redirects_csv_alone_records_relocations(cli, archive_dir: Path) -> None:  # type: ignore[no-untyped-def]
    r = cli("ingest", str(FIXTURES / "portal.redirects.csv"), "--json")
    assert r.code == 0
    s = r.json()
    assert s["relocations"] == 2 and s["outcomes"][0]["result"] == "ingested"
    rules = [x.event for x in records(archive_dir) if isinstance(x.event, ev.PortalRelocated)]
    assert len(rules) == 2
    hop = cli("resolve", "http://www.handel-przyklad.eu/aktualnosci/1", "--json").json()
    assert hop["current"] == "https://www.gov.pl/web/przyklad"
    assert cli("ingest", str(FIXTURES / "portal.redirects.csv"), "--json").json()["duplicate"] == 1


# --- output and scale ---------------------------------------------------------------------------------------

def test_json_output_shape(cli) -> None:  # type: ignore[no-untyped-def]
    r = cli("ingest", str(FIXTURES / "artykuly.json"), "--json")
    assert r.code == 0 and r.out.count("\n") == 1, "exactly one JSON document"
    s = r.json()
    assert set(s) == {"files", "ingested", "revised", "duplicate", "rejected", "relocations", "outcomes"}
    (o,) = s["outcomes"]
    assert set(o) == {"file", "digest", "result", "articles", "new", "revised", "unchanged", "relocations",
                      "reason", "known", "pages", "duplicates", "skipped"}  # the last three: WARC crawls
    assert (o["pages"], o["duplicates"], o["skipped"]) == (0, 0, {})
    assert o["file"] == "artykuly.json" and o["result"] == "ingested" and o["new"] == 2 and len(o["articles"]) == 2
    assert len(o["digest"]) == 64 and o["reason"] is None
    missing = cli("ingest", "/nie/ma/takiego/pliku")
    assert missing.code == 2 and "no such file" in missing.err


def test_polsatnews_csv_in_one_go(cli, archive_dir: Path) -> None:  # type: ignore[no-untyped-def]
    corpus = shared_path("corpus", "polsatnews.csv")
    t0 = time.perf_counter()
    r = cli("ingest", str(corpus), "--json", timeout=300)
    elapsed = time.perf_counter() - t0
    assert r.code == 0, r.err
    s = r.json()
    assert (s["files"], s["ingested"], s["rejected"]) == (1, 726, 0)
    with open(corpus, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(io.StringIO(f.read())))
    assert len(rows) == 726
    stats = cli("stats", "--json").json()
    assert stats["articles"] == 726 and stats["sources"] == 1
    assert stats["publishers"] == {} or sum(stats["publishers"].values()) <= 726
    recs = records(archive_dir)
    assert Counter(type(x.event).__name__ for x in recs)["ArticlePublished"] == 726
    titles = {x.event.title for x in recs if isinstance(x.event, ev.ArticlePublished)}
    assert rows[0]["title"] in titles
    assert cli("ingest", str(corpus), "--json").json()["duplicate"] == 1
    print(f"polsatnews.csv: 726 articles in {elapsed:.1f} s (one process, index included)")
