"""Parsers for dropped files: the real seeds, our own fixtures in every encoding, every way to reject."""

from __future__ import annotations

import codecs
import datetime as dt
import json
import random
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archivist.ingest import (
    SUPPORTED_SUFFIXES,
    ParsedArticle,
    ParsedRelocation,
    ParseResult,
    Rejected,
    normalize_url,
    parse,
)

FIXTURES = Path(__file__).parent / "fixtures" / "ingest"
SHARED = Path(__file__).resolve().parents[1].parent / "shared"
SEEDS = SHARED / "corpus" / "seeds"
CHROME = ("A A A", "Aktualności", "Informacja", "Powrót na górę strony", "Polska Policja", "Mapa serwisu",
          "Tagi:", "podziel się treścią", "Drukuj", "Zamknij", "cookies")


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def one(name: str, data: bytes | None = None) -> ParsedArticle:
    result = parse(name, fixture(name) if data is None else data)
    assert len(result.articles) == 1
    return result.articles[0]


def reason_of(name: str, data: bytes, **kw: int) -> str:
    with pytest.raises(Rejected) as exc:
        parse(name, data, **kw)
    return exc.value.reason


def assert_no_chrome(body: str) -> None:
    lines = {line.strip() for line in body.splitlines()}
    for chrome in CHROME:
        assert chrome not in lines, chrome
    assert "cookies" not in body
    assert "archiwum" not in body and "archiwaln" not in body


# --- the real seeds (read from ../shared, never copied) ---------------------------------------------------

def seed(prefix: str) -> ParsedArticle:
    if not SEEDS.is_dir():
        pytest.skip(f"real seeds not present at {SEEDS} (../shared is absent)")
    path = next(SEEDS.glob(f"{prefix}_*.txt"))
    return one(path.name, path.read_bytes())


def test_seed_001_archived_with_date() -> None:
    a = seed("001")
    assert a.title == "Wspólnie przeciwko handlowi ludźmi"
    assert a.published == dt.date(2017, 6, 29)
    assert a.archived_reason == "Strona znajduje się w archiwum."
    assert a.relocated_to is None
    assert a.publisher == "KWP w Gorzowie Wlkp."
    assert a.body.startswith("W poniedziałek (26 czerwca)")
    assert "Wojewódzki Zespół ds. Przeciwdziałania Handlowi Ludźmi" in a.body
    assert "Źródło" not in a.body and "Data publikacji" not in a.body
    assert_no_chrome(a.body)


def test_seed_002_archived_and_relocated() -> None:
    a = seed("002")
    assert a.title == "Współpraca polsko-ukraińska w zakresie zwalczania i zapobiegania handlowi ludźmi"
    assert a.published == dt.date(2013, 12, 18)
    assert a.archived_reason == "Obecna strona jest wersją archiwalną."
    assert a.relocated_to is None  # "Aktualna strona Portalu … dostępna jest pod adresem": the portal moved
    assert a.portal_moved_to == "https://www.gov.pl/web/handel-ludzmi"
    assert parse(next(SEEDS.glob("002_*.txt")).name, next(SEEDS.glob("002_*.txt")).read_bytes()).relocations == ()
    assert a.body.startswith("Projekt został zrealizowany")
    assert "Ukraiński system zwalczania" in a.body
    assert "www.gov.pl" not in a.body and "Dodane dnia" not in a.body
    assert_no_chrome(a.body)


def test_seed_003_archived_month_in_body_is_not_the_date() -> None:
    a = seed("003")
    assert a.title == "Spotkanie Grupy Zadaniowej ds. Handlu Ludźmi"
    assert a.published == dt.date(2015, 10, 17)
    assert a.archived_reason == "Strona znajduje się w archiwum."
    assert a.body.startswith("W dniach 14-15 października 2015 roku")
    assert a.body.rstrip().endswith("Kolejne spotkanie Grupy zostało zaplanowane na marzec przyszłego roku.")
    assert a.title not in a.body.split("\n")[-1]  # gallery captions are gone
    assert_no_chrome(a.body)


def test_seed_004_live() -> None:
    a = seed("004")
    assert a.title == "Integracja dla bezpieczeństwa – współpraca międzynarodowa w zakresie praw podstawowych"
    assert a.published == dt.date(2025, 5, 14)
    assert a.archived_reason is None and a.relocated_to is None
    assert "Cele szczegółowe:" in a.body and "Norweskiego Mechanizmu Finansowego 2014-2021" in a.body
    assert not a.body.startswith("Integracja dla bezpieczeństwa –")  # the repeated title is dropped
    assert_no_chrome(a.body)


def test_seed_000_no_title_line() -> None:
    a = seed("000")
    assert a.title.startswith("W dniach od 30.112022")
    assert len(a.title) <= 101 and a.title.endswith("…")
    assert " " not in a.title[-2:]  # cut at a word boundary
    assert a.publisher == "KWP w Szczecinie"
    assert a.published is None
    assert a.archived_reason is None
    assert a.body.startswith("W dniach od 30.112022")
    assert "zespół prasowy" not in a.body
    assert a.body.rstrip().endswith("pomiędzy partnerami.")


# --- our own page-text fixtures ---------------------------------------------------------------------------

def test_text_fixture_archived_police_news() -> None:
    a = one("komunikat_archiwalny.txt")
    assert a.title == "Ślady źródeł: ćwiczenia służb na Śląsku"
    assert a.published == dt.date(2016, 2, 3)
    assert a.archived_reason == "Strona znajduje się w archiwum."
    assert a.publisher == "KWP w Katowicach"
    assert "Wojewódzki Zespół ds. Ćwiczeń Źródłowych" in a.body
    assert "Źródło: asp." not in a.body
    assert_no_chrome(a.body)


def test_text_fixture_relocated_portal_with_tags() -> None:
    a = one("portal_przeniesiony.txt")
    assert a.title == "Szkolenie dla konsulów w zakresie pomocy obywatelom"
    assert a.published == dt.date(2012, 3, 5)
    assert a.archived_reason == "Obecna strona jest wersją archiwalną."
    assert a.relocated_to is None and a.portal_moved_to == "https://www.gov.pl/web/przyklad-portalu"
    assert a.tags == ("szkolenia", "konsulowie")
    assert_no_chrome(a.body)


def test_text_fixture_month_name_date_breadcrumbs_cookies_captions() -> None:
    a = one("miesiac_slownie.txt")
    assert a.title == "Narada przedstawicieli województw ds. pomocy ofiarom"
    assert a.published == dt.date(2019, 11, 3)
    assert a.archived_reason == "Strona znajduje się w archiwum."
    assert "Strona główna" not in a.body and "zdjęcie z sali obrad" not in a.body
    assert a.body.count("Narada przedstawicieli") == 0
    assert a.body.endswith("Kolejne spotkanie zaplanowano na wiosnę.")
    assert_no_chrome(a.body)


def test_text_fixture_without_title_split_signature() -> None:
    a = one("bez_tytulu.txt")
    assert a.publisher == "KWP w Olsztynie"  # "Olszty nie / AB": split word glued, initials dropped
    assert a.published is None
    assert a.title.startswith("W dniach 4-6.10.2021r. w ramach projektu") and len(a.title) <= 101
    assert "zespół prasowy" not in a.body


@pytest.mark.parametrize("name", ["komunikat_archiwalny.txt", "miesiac_slownie.txt", "portal_przeniesiony.txt"])
def test_encodings_and_line_ends_give_identical_results(name: str) -> None:
    text = fixture(name).decode("utf-8")
    expected = one(name)
    variants = {
        "utf-8": text.encode("utf-8"),
        "utf-8-bom": b"\xef\xbb\xbf" + text.encode("utf-8"),
        "cp1250": text.encode("cp1250"),
        "iso-8859-2": text.encode("iso-8859-2"),
        "crlf-cp1250": text.replace("\n", "\r\n").encode("cp1250"),
        "crlf-iso": text.replace("\n", "\r\n").encode("iso-8859-2"),
        "crlf-utf-8-bom": b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode("utf-8"),
        # What Windows' Notepad and Excel save as "Unicode": UTF-16, with or without a byte-order mark.
        "utf-16-le-bom": codecs.BOM_UTF16_LE + text.encode("utf-16-le"),
        "utf-16-be-bom": codecs.BOM_UTF16_BE + text.encode("utf-16-be"),
        "utf-16-le": text.encode("utf-16-le"),
        "utf-16-be": text.encode("utf-16-be"),
        "crlf-utf-16-le": text.replace("\n", "\r\n").encode("utf-16-le"),
    }
    for label, data in variants.items():
        assert one(name, data) == expected, label


@pytest.mark.parametrize("word", ["ś", "ź", "Ś", "Ź", "ą", "Ą", "źródło", "Świat", "Ąą"])
def test_cp1250_and_iso_8859_2_told_apart_on_the_letters_they_differ_on(word: str) -> None:
    text = f"Tytuł próbny\n\nZdanie o tym, że {word} jest w tekście, i nic więcej.\n"
    for enc in ("cp1250", "iso-8859-2"):
        a = one("x.txt", text.encode(enc))
        assert word in a.body, enc


def test_soft_hyphen_and_broken_line_hyphenation() -> None:
    data = "Tytuł\n\nPrzeciw\u00addziałanie i współ-\npraca służb polsko-ukraińskich.\n".encode()
    a = one("x.txt", data)
    assert a.body == "Przeciwdziałanie i współpraca służb polsko-ukraińskich."


def test_ordinary_links_and_archives_in_the_body_are_not_notices() -> None:
    text = ("Raport roczny\n\nRaport dostępny jest pod adresem: www.przyklad.pl/raport.pdf\n"
            "Dokumenty z tamtych lat znajdują się w archiwum państwowym.\n")
    a = one("x.txt", text.encode())
    assert a.archived_reason is None and a.relocated_to is None
    assert "www.przyklad.pl/raport.pdf" in a.body and "archiwum państwowym" in a.body


def test_relocation_notice_with_explicit_scheme() -> None:
    text = ("Serwis został przeniesiony. Nowa strona serwisu znajduje się pod adresem http://nowy.przyklad.pl/start.\n"
            "\nTytuł strony\n\nTreść strony o przeprowadzce serwisu.\n")
    a = one("x.txt", text.encode())
    assert a.portal_moved_to == "http://nowy.przyklad.pl/start" and a.relocated_to is None
    assert a.title == "Tytuł strony" and a.body == "Treść strony o przeprowadzce serwisu."


@pytest.mark.parametrize(("notice", "article", "portal"), [
    ("Ten artykuł został przeniesiony pod adres: https://www.gov.pl/web/przyklad-portalu/artykul-1",
     "https://www.gov.pl/web/przyklad-portalu/artykul-1", None),
    ("Aktualna wersja tej informacji dostępna jest pod adresem: policja.example.pl/aktualnosci/7.html",
     "https://policja.example.pl/aktualnosci/7.html", None),
    ("Aktualne informacje o naborze dostępne są pod adresem: www.gov.pl/web/nabor", None,
     "https://www.gov.pl/web/nabor"),
    ("Aktualna strona dostępna jest pod adresem: https://nowa.example.pl/", None, "https://nowa.example.pl/"),
])
def test_article_and_portal_notices_told_apart(notice: str, article: str | None, portal: str | None) -> None:
    a = one("x.txt", f"{notice}\n\nTytuł strony\n\nTreść strony o przeprowadzce.\n".encode())
    assert (a.relocated_to, a.portal_moved_to) == (article, portal)


def test_a_portal_notice_on_a_page_with_an_address_is_a_prefix_rule_of_its_site() -> None:
    text = ("Obecna strona jest wersją archiwalną. Aktualna wersja serwisu dostępna jest pod adresem: "
            "www.gov.pl/web/przyklad\n\nTytuł\n\nTreść strony.\n\nAdres strony: http://www.stary.example.pl/a/1.html\n")
    result = parse("x.txt", text.encode())
    assert result.relocations == (ParsedRelocation("http://www.stary.example.pl/", "https://www.gov.pl/web/przyklad",
                                                   prefix=True),)
    same_host = text.replace("http://www.stary.example.pl", "https://www.gov.pl/web/stary")
    assert parse("x.txt", same_host.encode()).relocations == ()  # moved within one host: prefix unknown


# --- HTML -------------------------------------------------------------------------------------------------

def test_html_metadata_main_text_and_banner() -> None:
    a = one("artykul.html")
    assert a.title == "Ćwiczenia służb na granicy"
    assert a.url == "http://www.przyklad.gov.pl/aktualnosci/cwiczenia"
    assert a.published == dt.date(2024, 3, 7)
    assert a.archived_reason == "Strona znajduje się w archiwum."
    assert "dwa dni & objęły" in a.body and "poszukiwanie osoby zaginionej" in a.body
    for junk in ("tracking", "color", "Kontakt", "Zobacz także", "Szukaj", "prawa zastrzeżone", "Strona główna"):
        assert junk not in a.body, junk


@pytest.mark.parametrize("enc", ["cp1250", "iso-8859-2", "utf-8"])
def test_html_charset_from_meta_and_visible_polish_date(enc: str) -> None:
    source = fixture("artykul_bez_meta.htm").decode("utf-8").replace("windows-1250", enc)
    a = one("strona.HTM", source.encode(enc))
    assert a.title == "Świąteczna zbiórka darów"
    assert a.published == dt.date(2022, 12, 14)
    assert a.body.startswith("Policjanci przyłączyli się do świątecznej zbiórki")
    assert "Komunikaty" not in a.body and "Data publikacji" not in a.body


def test_html_title_from_title_tag_without_site_suffix() -> None:
    html = ("<html><head><title>Nowe zasady zgłoszeń | Komenda Powiatowa Policji</title></head><body>"
            "<p>Od poniedziałku zgłoszenia przyjmuje dyżurny jednostki przez całą dobę, także w święta.</p>"
            "</body></html>")
    assert one("a.html", html.encode()).title == "Nowe zasady zgłoszeń"


# --- records ----------------------------------------------------------------------------------------------

def test_json_array_of_records() -> None:
    arts = parse("artykuly.json", fixture("artykuly.json")).articles
    assert [a.title for a in arts] == ["Pierwszy artykuł", "Drugi artykuł"]
    assert arts[0].url == "https://www.przyklad.pl/a/1" and arts[1].url == "https://www.przyklad.pl/a/2"
    assert arts[0].tags == ("policja", "szkolenia") and arts[0].status == "live"
    assert arts[1].body == "Treść drugiego artykułu." and arts[1].published == dt.date(2024, 1, 16)
    assert arts[1].status == "archived"


def test_json_single_object_and_jsonl() -> None:
    obj = {"title": "Jeden", "body": "Treść jednego.", "published": "12.03.2020"}
    assert parse("x.json", json.dumps(obj).encode()).articles[0].published == dt.date(2020, 3, 12)
    arts = parse("artykuly.jsonl", fixture("artykuly.jsonl")).articles
    assert arts[0].published == dt.date(2023, 5, 2)
    assert arts[1].tags == ("ogłoszenia", "komunikaty") and arts[1].status == "withdrawn"
    assert parse("a.NDJSON", fixture("artykuly.jsonl")).articles == arts


def test_csv_semicolon_bom_crlf_quoted_newlines_and_aliases() -> None:
    arts = parse("artykuly.csv", fixture("artykuly.csv")).articles
    assert [a.title for a in arts] == ["Pierwszy wpis", 'Drugi "wpis"']
    assert arts[0].body == "Treść wpisu\nw dwóch liniach; ze średnikiem."
    assert arts[0].published == dt.date(2025, 12, 4) and arts[1].published == dt.date(2025, 12, 1)
    assert arts[0].tags == ("Polska",) and arts[1].tags == ("Świat",)
    assert arts[1].url is None


def test_csv_tab_delimited_and_huge_field() -> None:
    body = "słowo " * 60_000  # ~400 KB in one field: above the csv module's default limit
    data = f"title\ttext\nDługi\t{body}\n".encode()
    a = parse("long.tsv", data).articles[0]
    assert a.title == "Długi" and len(a.body) > 300_000


def test_polsatnews_csv() -> None:
    path = SHARED / "corpus" / "polsatnews.csv"
    if not path.is_file():
        pytest.skip(f"{path} not present (../shared is absent)")
    data = path.read_bytes()
    start = time.perf_counter()
    arts = parse(path.name, data).articles
    elapsed = time.perf_counter() - start
    print(f"polsatnews.csv: {len(arts)} articles in {elapsed:.3f} s")
    assert len(arts) == 726
    assert all(a.title and a.body and a.published and a.url for a in arts)
    assert {a.published.year for a in arts if a.published} >= {2025}
    assert elapsed < 5


# --- redirect maps ----------------------------------------------------------------------------------------

def test_redirect_map_by_name_with_prefix_rule() -> None:
    result = parse("portal.redirects.csv", fixture("portal.redirects.csv"))
    assert result.articles == ()
    assert result.relocations == (
        ParsedRelocation("http://www.handel-przyklad.eu/", "https://www.gov.pl/web/przyklad", prefix=True),
        ParsedRelocation("https://www.przyklad.pl/stara-strona", "https://www.przyklad.pl/nowa-strona"),
    )


def test_redirect_map_by_header() -> None:
    assert parse("mapa.tsv", fixture("mapa.tsv")).relocations == (
        ParsedRelocation("https://przyklad.pl/a", "https://przyklad.pl/b"),
    )
    data = b"old_url;new_url\nwww.a.pl/x;www.b.pl/y\n"
    assert parse("zmiany.csv", data).relocations[0].to_url == "https://www.b.pl/y"


def test_redirect_file_without_header() -> None:
    data = b"www.a.pl/x*,https://www.b.pl/\n"
    assert parse("lista.redirects.csv", data).relocations == (
        ParsedRelocation("https://www.a.pl/x", "https://www.b.pl/", prefix=True),
    )


# --- URL normalisation ------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("www.gov.pl/web/handel-ludzmi", "https://www.gov.pl/web/handel-ludzmi"),
        ("HTTPS://WWW.Gov.PL/web/Handel?x=1#frag", "https://www.gov.pl/web/Handel?x=1"),
        ("http://example.pl", "http://example.pl/"),
        ("https://example.pl:443/a", "https://example.pl/a"),
        ("//cdn.example.pl/a", "https://cdn.example.pl/a"),
        (" example.pl:8080/a ", "https://example.pl:8080/a"),
    ],
)
def test_normalize_url(raw: str, expected: str) -> None:
    assert normalize_url(raw) == expected


@pytest.mark.parametrize("raw", ["", "not an address", "ftp://x.pl/a", "http://[::1", "javascript:alert(1)"])
def test_normalize_url_rejects(raw: str) -> None:
    with pytest.raises(ValueError):
        normalize_url(raw)


# --- every way to reject ----------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("name", "data", "words"),
    [
        ("a.txt", b"", ["empty"]),
        ("a.txt", b" \r\n\t \n", ["empty", "whitespace"]),
        ("a.csv", b"\xef\xbb\xbf\n\n", ["empty"]),
        ("a.txt", b"Tytu\x00\x01\x02 binarny", ["binary", "NUL"]),
        ("a.html", bytes(range(1, 32)) * 40, ["binary", "control"]),
        ("a.txt", bytes(range(0x80, 0xA0)) * 30, ["not UTF-8", "Windows-1250", "ISO-8859-2"]),
        ("a.pdf", b"%PDF-1.4", ["unsupported", ".pdf", ".txt", ".html", ".csv"]),
        ("README", b"tekst", ["unsupported", "without a suffix"]),
        ("a.json", b'{"title": 5, "body": "x"}', ["title", "expected", "str"]),
        ("a.json", b'[{"title": "a", "body": "b"}, {"title": "c", "body": ["d"]}]', ["record 2", "body"]),
        ("a.json", b'[{"title": "a", "body": "b"}, 7]', ["record 2", "object"]),
        ("a.json", b'"tekst"', ["object", "array"]),
        ("a.json", b'{"title": "a", "body": ', ["not valid JSON"]),
        ("a.json", b'{"title": "a", "body": "b", "published": "wczoraj"}', ["published", "not a date"]),
        ("a.json", b'{"title": "a", "body": "b", "status": "deleted"}', ["status", "live", "withdrawn"]),
        ("a.json", b'{"title": "a", "body": "b", "url": "nie adres"}', ["url", "web address"]),
        ("a.json", b'{"title": "", "body": "b"}', ["record 1", "title", "empty"]),
        ("a.json", b'[{"title": "t", "text": "   "}]', ["record 1", "body"]),
        ("a.json", b"[]", ["no records"]),
        ("a.jsonl", b'{"title": "a", "body": "b"}\n{"title": 3}\n', ["line 2", "title"]),
        ("a.jsonl", b'{"title": "a", "body": "b"}\nnie json\n', ["line 2", "JSON"]),
        ("a.csv", b"title,url\nA,https://a.pl\n", ["lacks", "body"]),
        ("a.csv", b"name;value\nA;B\n", ["lacks", "title", "body"]),
        ("a.csv", b"title,text\n", ["no rows"]),
        ("a.csv", b"title,text\nA,\n", ["row 2", "body"]),
        ("a.csv", b"title,text,published\nA,B,nigdy\n", ["row 2", "published"]),
        ("a.redirects.csv", b"old_url,new_url\nwww.a.pl/x\n", ["row 2", "old and a new"]),
        ("a.redirects.csv", b"old_url,new_url\n", ["no redirects"]),
        ("a.txt", "Aktualności\n\nA A A\n\nPowrót na górę strony\n".encode(), ["no article"]),
        ("a.html", b"<html><head><script>x()</script></head><body><nav>Menu</nav></body></html>", ["no article"]),
    ],
)
def test_rejections_have_meaningful_reasons(name: str, data: bytes, words: list[str]) -> None:
    reason = reason_of(name, data)
    for word in words:
        assert word.lower() in reason.lower(), (word, reason)
    assert "unexpectedly" not in reason


def _junk(seed: int, size: int) -> bytes:
    rng = random.Random(seed)
    return bytes(rng.randrange(256) for _ in range(size))


@pytest.mark.parametrize("bom", [codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE], ids=["le", "be"])
def test_a_utf16_byte_order_mark_before_junk_is_not_text(bom: bytes) -> None:
    """Random bytes after a UTF-16 BOM decode without error, into CJK and Hangul: that was an article
    titled in CJK characters. The decoding must read as text Polish sources hold, whatever the encoding."""
    for seed in range(40):
        data = bom + _junk(seed, 400)
        try:
            reason = reason_of("a.txt", data)
        except pytest.fail.Exception:
            raise AssertionError(f"junk after a BOM became {parse('a.txt', data).articles[0].title!r}") from None
        assert "not text" in reason or "not valid UTF-16" in reason or "binary" in reason, reason
    assert "UTF-16" in reason_of("a.txt", codecs.BOM_UTF16_LE + "鯏럴䝯䞐耰鹋┲딳ꇞ藢ܟ찯粪".encode("utf-16-le"))


@pytest.mark.parametrize("suffix", [".txt", ".html", ".json", ".csv"])
def test_random_bytes_are_never_an_article(suffix: str) -> None:
    """Plausibility holds for every encoding tried: junk of any length from 60 bytes, with or without a
    byte-order mark, is rejected (one-byte code pages decode every byte, UTF-16 nearly every pair)."""
    for seed in range(150):
        head = (b"", codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF8)[seed % 4]
        data = head + _junk(seed, 60 + seed * 20)
        with pytest.raises(Rejected):
            parse("a" + suffix, data)


def test_utf16_polish_text_in_every_form_reads_the_same() -> None:
    text = "Zażółć gęślą jaźń – „cytat”\n\nPolicjanci z komendy ostrzegają przed oszustami. Źródło: KWP.\n"
    expected = one("a.txt", text.encode())
    for data in (text.encode("utf-16"), text.encode("utf-16-le"), text.encode("utf-16-be"),
                 codecs.BOM_UTF16_BE + text.encode("utf-16-be")):
        assert one("a.txt", data) == expected, data[:8]
    rows = "title,text\nŁódź i Gdańsk,Współpraca służb.\n"
    assert parse("a.csv", rows.encode("utf-16-le")).articles[0].title == "Łódź i Gdańsk"


def test_rejects_over_the_size_limit() -> None:
    reason = reason_of("a.txt", b"Tytul\n\n" + b"tekst " * 400, max_bytes=1000)
    assert "limit" in reason and "1000 bytes" in reason


def test_rejects_deeply_nested_json_cleanly() -> None:
    deep = b'{"title": "a", "body": "b", "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    assert "nested" in reason_of("a.json", deep)
    assert "record 1" in reason_of("a.json", b"[" * 100_000 + b"]" * 100_000)
    assert "nested" in reason_of("a.jsonl", b'{"x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}")
    html = b"<div>" * 50_000 + "<p>Treść głęboko zagnieżdżona w stronie.</p>".encode()
    assert one("a.html", html).body == "Treść głęboko zagnieżdżona w stronie."


def test_suffix_is_case_insensitive_and_all_listed() -> None:
    assert parse("NOTATKA.TXT", "Tytuł\n\nTreść notatki jest tutaj.\n".encode()).articles[0].title == "Tytuł"
    assert set(SUPPORTED_SUFFIXES) >= {".txt", ".html", ".htm", ".json", ".jsonl", ".ndjson", ".csv"}


# --- nothing but ParseResult or Rejected, whatever the bytes ------------------------------------------------

_SAMPLES = [fixture(p.name) for p in sorted(FIXTURES.iterdir())]


def _mutations() -> st.SearchStrategy[bytes]:
    raw = st.binary(max_size=600)
    mutated = st.tuples(st.sampled_from(_SAMPLES), st.integers(0, 2000), st.binary(max_size=40)).map(
        lambda t: t[0][: t[1]] + t[2] + t[0][t[1]:]
    )
    texty = st.text(alphabet=st.characters(codec="utf-8"), max_size=300).map(lambda s: s.encode())
    structured = st.sampled_from([b"{", b"[", b'{"title":', b"title,text\n", b"old_url,new_url\n", b"<html>",
                                  b"<article>", b"\xef\xbb\xbf"]).flatmap(
        lambda head: st.binary(max_size=200).map(lambda tail: head + tail))
    return st.one_of(raw, mutated, texty, structured)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(suffix=st.sampled_from([*SUPPORTED_SUFFIXES, ".redirects.csv", ".bin"]), data=_mutations())
def test_fuzz_only_parse_result_or_rejected(suffix: str, data: bytes) -> None:
    try:
        result = parse("plik" + suffix, data)
    except Rejected as e:
        assert e.reason and "unexpectedly" not in e.reason, e.reason
    else:
        assert isinstance(result, ParseResult)
        assert result.articles or result.relocations
        for a in result.articles:
            assert a.title.strip() and a.body.strip()
