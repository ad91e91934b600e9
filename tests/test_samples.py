"""The demo samples are ours, well-formed, and cover the awkward cases they promise to cover."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "archivist" / "samples"
SEEDS = REPO.parent / "shared" / "corpus" / "seeds"

CP1250_SAMPLE = "policja/wroclaw/2012-09-03-bezpieczna-droga-do-szkoly.txt"
MARKUP_SAMPLE = "policja/krakow/2021-10-08-bezpieczni-w-sieci.txt"
ANSI_SAMPLE = "policja/gdansk/2022-11-23-falszywe-sms-o-doplacie.txt"
WINDOW = 60

ARCHIVED = re.compile(r"Strona znajduje się w archiwum|Obecna strona jest wersją archiwalną")
RELOCATED = re.compile(r"dostępn[aey]( są| jest)? pod adresem: (www\.gov\.pl/web/\S+)")
DATE = re.compile(
    r"(?:Data publikacji|Dodane dnia) (\d\d)\.(\d\d)\.(\d{4})"
    r"|^(\d{1,2}) (stycznia|lutego|marca|kwietnia|maja|czerwca|lipca|sierpnia|września|października"
    r"|listopada|grudnia) (\d{4})$",
    re.M,
)


def sample_files() -> list[Path]:
    return sorted(p for p in SAMPLES.rglob("*") if p.is_file())


def rel(p: Path) -> str:
    return p.relative_to(SAMPLES).as_posix()


def text_of(p: Path) -> str:
    return p.read_bytes().decode("cp1250" if rel(p) == CP1250_SAMPLE else "utf-8")


def txt_samples() -> list[Path]:
    return [p for p in sample_files() if p.suffix == ".txt"]


def normalise(s: str) -> str:
    return " ".join(s.split()).casefold()


def test_the_expected_shapes_are_there() -> None:
    by_suffix: dict[str, int] = {}
    for p in sample_files():
        by_suffix[p.suffix] = by_suffix.get(p.suffix, 0) + 1
    assert by_suffix.get(".txt", 0) >= 15
    assert by_suffix.get(".html", 0) >= 3
    assert by_suffix.get(".jsonl", 0) >= 1
    assert (SAMPLES / "portal-archiwalny" / "portal.redirects.csv").is_file()
    assert (SAMPLES / "README.md").is_file()
    assert all(p.parent != SAMPLES for p in sample_files() if p.name != "README.md"), "folders are tags"


@pytest.mark.parametrize("path", sample_files(), ids=rel)
def test_encoding(path: Path) -> None:
    data = path.read_bytes()
    assert b"\r" not in data and b"\x00" not in data
    if rel(path) == CP1250_SAMPLE:
        with pytest.raises(UnicodeDecodeError):
            data.decode("utf-8")
        assert set("ąęłńóśźż") <= set(data.decode("cp1250"))
    else:
        assert not data.startswith(b"\xef\xbb\xbf")
        data.decode("utf-8")


@pytest.mark.parametrize("path", txt_samples(), ids=rel)
def test_page_dumps_look_like_page_dumps(path: Path) -> None:
    text = text_of(path)
    words = len(re.findall(r"\w+", text))
    assert 150 <= words <= 700, words
    match = DATE.search(text)
    assert match, "a publication date line"
    year = int(match.group(3) or match.group(6))
    assert 2012 <= year <= 2025
    assert path.name.startswith(str(year))
    assert any(c in text for c in "ąęłńóśźż")
    chrome = ("A A A", "Aktualności", "Informacja", "Powrót na górę strony", "Mapa serwisu", "Tagi:")
    assert any(line.strip() in chrome for line in text.splitlines())


def test_archived_and_relocated_pages() -> None:
    texts = {rel(p): text_of(p) for p in sample_files() if p.suffix in (".txt", ".html")}
    archived = [name for name, t in texts.items() if ARCHIVED.search(t)]
    relocated = {name: m.group(2) for name, t in texts.items() if (m := RELOCATED.search(t))}
    assert len(archived) >= 4
    assert len(relocated) >= 2
    assert set(relocated.values()) == {"www.gov.pl/web/przyklad-portalu"}
    assert all(name.startswith("portal-archiwalny/") for name in relocated)


def test_dates_spread_over_the_years() -> None:
    years = {int(p.name[:4]) for p in sample_files() if p.name[:4].isdigit()}
    assert min(years) == 2012 and max(years) == 2025
    assert len(years) >= 10


def test_html_pages_carry_their_metadata() -> None:
    pages = [p for p in sample_files() if p.suffix == ".html"]
    for p in pages:
        html = p.read_text(encoding="utf-8")
        assert re.search(r'<link rel="canonical" href="https?://[^"]+">', html), p
        assert 'property="og:title"' in html, p
        assert re.search(r'property="article:published_time" content="\d{4}-\d\d-\d\dT', html), p
        assert "<nav" in html and "<footer" in html, p
    assert sum("Strona znajduje się w archiwum" in p.read_text(encoding="utf-8") for p in pages) >= 1


def test_jsonl_records() -> None:
    (path,) = [p for p in sample_files() if p.suffix == ".jsonl"]
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert len(records) == 3
    for r in records:
        assert set(r) == {"url", "title", "body", "published", "publisher", "tags", "status"}
        assert re.fullmatch(r"\d{4}-\d\d-\d\d", r["published"])
        assert isinstance(r["tags"], list) and r["status"] in {"live", "archived", "withdrawn"}
    assert [r["status"] for r in records].count("withdrawn") == 1


def test_redirects_csv() -> None:
    text = (SAMPLES / "portal-archiwalny" / "portal.redirects.csv").read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert text.startswith("old_url,new_url\n")
    prefix = [r for r in rows if r["old_url"].endswith("*")]
    assert prefix == [
        {
            "old_url": "http://www.przeciwdzialanie-handlowi.example.pl/*",
            "new_url": "https://www.gov.pl/web/przyklad-portalu",
        }
    ]
    assert len(rows) - len(prefix) == 2


def test_markup_and_control_samples() -> None:
    assert "[bold red]uwaga[/]" in text_of(SAMPLES / MARKUP_SAMPLE)
    assert "\x1b[31m" in text_of(SAMPLES / ANSI_SAMPLE)
    others = [p for p in sample_files() if rel(p) != ANSI_SAMPLE]
    assert not any("\x1b" in text_of(p) for p in others)


def test_invented_hosts_only() -> None:
    allowed = re.compile(r"(?:[\w-]+\.)*example\.pl|www\.gov\.pl")
    for p in sample_files():
        for host in re.findall(r"https?://([^/\s\"'<>\],]+)", text_of(p)):
            assert allowed.fullmatch(host), (rel(p), host)


@pytest.mark.skipif(not SEEDS.is_dir(), reason="the shared seed corpus is not checked out next to the repo")
def test_no_text_copied_from_the_seeds() -> None:
    windows: set[str] = set()
    for seed in SEEDS.iterdir():
        for line in seed.read_text(encoding="utf-8", errors="replace").splitlines():
            line = normalise(line)
            windows.update(line[i : i + WINDOW] for i in range(len(line) - WINDOW + 1))
    assert windows, "the seeds have lines of 60 characters or more"
    for p in sample_files():
        text = normalise(text_of(p))
        copied = {text[i : i + WINDOW] for i in range(len(text) - WINDOW + 1)} & windows
        assert not copied, (rel(p), sorted(copied)[:3])
