"""Page-text dumps (.txt): what a browser's "select all, copy" or a scraper leaves of a news page.

The page's chrome (menus, "A A A", breadcrumbs, share and print links, cookie notices, footers) is dropped
line by line; archive banners and relocation notices are facts about the article, so they are lifted out
of the body into `archived_reason` / `relocated_to`. Nothing is invented: no date unless the page prints
one as its publication date, no publisher unless a signature or the site names it.
"""

from __future__ import annotations

import datetime
import re
import unicodedata
from urllib.parse import urlsplit

from .dates import DATE, date_from_match
from .model import ParsedArticle, Rejected
from .urls import try_normalize_url

_CHROME = frozenset(
    s.casefold()
    for s in (
        "A A A", "AAA", "A+ A-", "Aktualności", "Informacja", "Informacje", "Komunikaty", "Wiadomości",
        "Powrót na górę strony", "Do góry", "Przejdź do treści", "Przejdź do menu", "Polska Policja",
        "Mapa serwisu", "Tagi", "Tagi:", "podziel się treścią", "podziel się treścią:", "Udostępnij",
        "Udostępnij:", "Metryczka", "Drukuj", "Zamknij", "Wróć", "Powrót", "Wstecz", "Strona główna",
        "Menu", "Szukaj", "Wyszukaj", "Pokaż", "Więcej", "Czytaj więcej", "Zobacz także", "Zobacz też",
        "Poprzedni", "Następny", "Poprzednia", "Następna", "Galeria", "Galeria zdjęć", "Zdjęcia",
        "Pliki do pobrania", "Do pobrania", "Facebook", "Twitter", "X", "Instagram", "YouTube", "RSS",
        "Wersja do druku", "Pobierz PDF", "Zapisz PDF", "Generuj PDF", "Kontakt", "Deklaracja dostępności",
        "Polityka prywatności", "Regulamin", "Akceptuję", "Rozumiem", "Zgadzam się", "Ok",
        "Wersja kontrastowa", "Kontrast", "Mapa strony", "BIP", "Biuletyn Informacji Publicznej",
        "Wyślij", "Wydrukuj", "Powiększ", "Pomniejsz",
    )
)
# Lines that start a metadata block ("Metryczka") or label a field, kept out of the body.
_META_LABEL = re.compile(
    r"^(?:Wytworzył|Wytworzyła|Udostępnił|Udostępniła|Opublikował|Opublikowała|Osoba udostępniająca"
    r"|Data (?:wytworzenia|udostępnienia|modyfikacji|aktualizacji|ostatniej modyfikacji)"
    r"|Ostatnia (?:aktualizacja|modyfikacja)|Liczba (?:odwiedzin|wyświetleń)|Rejestr zmian"
    r"|Ilość wyświetleń|Wyświetleń)\b.{0,120}$",
    re.IGNORECASE,
)
_COOKIES = re.compile(r"cookie|ciasteczk|pliki? cookies|polityk[aięy] prywatności", re.IGNORECASE)
_SHARE = re.compile(r"^(?:podziel się|udostępnij|wyślij znajomemu|drukuj|tagi)\b.{0,60}$", re.IGNORECASE)
_BREADCRUMB_SEP = re.compile(r"\s*(?:>|»|›|→|\|)\s*")
# The subject must be the page itself: "Dokumenty znajdują się w archiwum państwowym" is not a banner.
_ARCHIVE_BANNER = re.compile(
    r"(?:(?:Obecna|Ta|Niniejsza|Przeglądana|Poniższa)\s+)?(?:strona|treść|informacja|artykuł|materiał"
    r"|wiadomość|wersja|serwis|witryna)\s+(?:znajduje się w archiwum|jest (?:wersją |stroną )?archiwaln\w*"
    r"|została zarchiwizowana|została przeniesiona do archiwum)[^.!]*[.!]?"
    r"|(?:Strona|Serwis|Witryna) archiwaln\w*[^.!]*[.!]?|Archiwalna wersja (?:strony|serwisu)[^.!]*[.!]?",
    re.IGNORECASE,
)
# A relocation notice speaks of the page or portal having a new/current address, not of any link.
_RELOCATION_CONTEXT = re.compile(
    r"(?:aktualn\w*|now\w*|przeniesion\w*)\s+(?:\w+\s+){0,2}?(?:stron|portal|serwis|witryn|wersj|adres|informacj)"
    r"|(?:stron|portal|serwis|witryn)\w*\s+(?:\w+\s+){0,3}?(?:został\w*\s+)?przeniesion",
    re.IGNORECASE,
)
_RELOCATION = re.compile(
    r"(?:dostępn[aey]|przeniesion[aey]|znajdzie(?:sz|cie)?|znajduje się|zapraszamy)[^:]{0,80}?"
    r"(?:pod adres(?:em)?|na stron(?:ie|ę)|do serwisu|na portal[u]?)\s*:?\s*"
    r"(?P<url>(?:https?://)?(?:[\w-]+\.)+[a-z]{2,}(?:/[^\s,;\"'”)<>]*)?)",
    re.IGNORECASE,
)
# A notice that names the portal, site or service (or "current information" on the subject) says the whole
# site moved: its address is the new portal's home, not this article's new address.
_PORTAL_NOTICE = re.compile(r"\b(?:portal\w*|serwis\w*|witryn\w*|aktualne informacje)\b", re.IGNORECASE)
_ADDRESS = re.compile(r"^(?:adres strony|adres artykułu|adres|url|link do strony)\s*:\s*(?P<url>\S+)$", re.IGNORECASE)
_DATE_LABEL = re.compile(
    r"^(?:Data (?:publikacji|dodania|utworzenia)|Dodane dnia|Dodano|Opublikowano(?: dnia)?|Data"
    r"|Opublikowany|Opublikowane)\s*:?\s*" + DATE + r"(?:\s*r\.?)?(?:[\s,]+(?:godz\.?\s*)?\d{1,2}:\d{2}(?::\d{2})?)?\s*$",
    re.IGNORECASE,
)
_DATE_ONLY = re.compile(
    r"^" + DATE + r"(?:\s*r\.?)?(?:[\s,]+(?:godz\.?\s*)?\d{1,2}:\d{2}(?::\d{2})?)?\s*$", re.IGNORECASE
)
_BULLET = re.compile(r"^[\s•·▪◦●■\-–*]+")
_TAGS = re.compile(r"^Tagi\s*:\s*(?P<tags>.+)$", re.IGNORECASE)

# Signatures closing police and ministry news: "zespół prasowy KWP w Szczecinie / IK", "Źródło: …".
_SIGNATURE_LEAD = re.compile(
    r"^(?:zespół prasowy|zespół komunikacji społecznej|wydział komunikacji społecznej|rzecznik prasowy"
    r"|oficer prasowy|biuro prasowe|źródło|autor|opracowanie|opracował[a]?|tekst|oprac\.)\s*:?\s*",
    re.IGNORECASE,
)
_ORG = re.compile(
    r"(?P<org>(?:KWP|KMP|KPP|KRP|KGP|KSP|KP|CBŚP|CBZC|BSWP|SG|NOSG)\s+(?:w|we)\s+[A-ZĄĆĘŁŃÓŚŹŻ][\w.]*"
    r"(?:\s+[A-ZĄĆĘŁŃÓŚŹŻ][\w.]*)*"
    r"|Komenda (?:Wojewódzka|Miejska|Powiatowa|Rejonowa|Główna|Stołeczna) Policji(?:\s+(?:w|we)\s+[A-ZĄĆĘŁŃÓŚŹŻ]\w*"
    r"(?:\s+[A-ZĄĆĘŁŃÓŚŹŻ][\w.]*)*)?"
    r"|Ministerstwo (?:[A-ZĄĆĘŁŃÓŚŹŻ]\w*|i|ds\.)(?:\s+(?:[A-ZĄĆĘŁŃÓŚŹŻ]\w*|i))*"
    r"|Komenda Główna (?:Policji|Straży Granicznej|Państwowej Straży Pożarnej))"
)
# Function words allowed in lowercase inside an organisation's name; any other lowercase fragment
# after a capitalised word is a word split by a stray space ("Szczec inie") and is glued back.
_NAME_LOWER = frozenset(["w", "we", "i", "z", "ze", "ds.", "do", "na", "dla", "oraz", "pod", "przy", "nad", "od"])
_ABBREVIATIONS = frozenset(
    ["r.", "ok.", "np.", "ul.", "ds.", "tj.", "nt.", "pn.", "pt.", "dot.", "min.", "m.in.", "św.", "kom.", "asp.", "mł.", "st.", "podinsp.", "insp.", "nadkom.", "sierż.", "post.", "wlkp.", "gen.", "płk.", "ppłk.", "mjr.", "kpt.", "por.", "ppor.", "dr.", "prof.", "hab.", "inż.", "mgr.", "woj.", "pow.", "gm.", "tzw.", "itd.", "itp.", "al.", "pl.", "os.", "nr.", "godz.", "tel.", "wyd.", "red.", "ang.", "jw.", "zob.", "por.", "lit.", "mln.", "tys.", "mld.", "zł."]
)
_TITLE_MAX = 100


def parse_text(text: str, *, title: str | None = None, url: str | None = None,
               published: datetime.date | None = None, publisher: str | None = None,
               archived_reason: str | None = None, relocated_to: str | None = None,
               portal_moved_to: str | None = None) -> ParsedArticle:
    """Parse one page's text; keyword hints (from HTML metadata) win over what the text suggests."""
    lines = _normalise(text)
    moved = Notice(relocated_to, portal_moved_to)
    tags: list[str] = []
    kept: list[str] = []
    for line in lines:
        stripped = line.strip()
        banner = _ARCHIVE_BANNER.search(stripped) if len(stripped) < 600 else None
        reloc = _relocation(stripped)
        if banner or (reloc and len(stripped) < 300):
            if banner and archived_reason is None:
                archived_reason = _sentence_around(stripped, banner.start(), banner.end())
            if reloc:
                moved.take(stripped, reloc)
            continue
        m = _ADDRESS.match(stripped)
        if m:
            url = url or m.group("url")
            continue
        m = _TAGS.match(stripped)
        if m:
            tags.extend(t.strip() for t in re.split(r"[,;]", m.group("tags")) if t.strip())
            continue
        kept.append(line)
    kept = _cut_footer(kept)

    # Publication date: a labelled line anywhere, else a date-only line in the page's head.
    date_idx: int | None = None
    found_date: datetime.date | None = None
    for i, line in enumerate(kept):
        m = _DATE_LABEL.match(line.strip())
        if m and (d := date_from_match(m)):
            date_idx, found_date = i, d
            break
    if date_idx is None:
        nonblank = [i for i, line in enumerate(kept) if line.strip()][:6]
        for i in nonblank:
            m = _DATE_ONLY.match(kept[i].strip())
            if m and (d := date_from_match(m)):
                date_idx, found_date = i, d
                break
    # Every date/metadata line is dropped, the chosen one included (labels repeat in a "Metryczka").
    kept = [
        line for i, line in enumerate(kept)
        if i != date_idx and not _DATE_LABEL.match(line.strip()) and not _META_LABEL.match(line.strip())
    ]
    kept = [line for line in kept if not _is_chrome(line)]

    # Title: the first short single-sentence line, unless the caller knows better.
    found_title: str | None = None
    first = next((i for i, line in enumerate(kept) if line.strip()), None)
    if first is not None and _looks_like_title(kept[first].strip(), kept[first + 1:]):
        found_title = kept[first].strip()
        del kept[first]
    title = (title or "").strip() or found_title
    if title:
        key = _key(title)
        kept = [line for line in kept if _key(line) != key]
    kept = _drop_repeats(kept)

    sig_publisher, kept = _signature(kept)
    body = _join(kept)
    if not body:
        if title and found_title is None:
            body = title
        else:
            raise Rejected("no article text found (only page chrome, banners or a title)")
    if not title:
        title = derive_title(body)
    return ParsedArticle(
        title=title,
        body=body,
        url=try_normalize_url(url),
        published=published or found_date,
        publisher=(publisher or "").strip() or sig_publisher,
        tags=tuple(dict.fromkeys(tags)),
        archived_reason=archived_reason,
        relocated_to=moved.article,
        portal_moved_to=moved.portal,
    )


class Notice:
    """The first relocation notice of a page: this article's new address, or the whole portal's new home."""

    def __init__(self, article: str | None = None, portal: str | None = None) -> None:
        self.article, self.portal = article, portal

    def take(self, line: str, reloc: re.Match[str]) -> None:
        if self.article is not None or self.portal is not None:
            return
        target = try_normalize_url(reloc.group("url").rstrip(".,;:)"))
        if target is None:
            return
        sentence = _sentence_around(line[:reloc.start("url")], reloc.start(), reloc.start("url"))
        if _PORTAL_NOTICE.search(sentence) or urlsplit(target).path in ("", "/"):
            self.portal = target
        else:
            self.article = target


def find_notices(text: str) -> tuple[str | None, Notice]:
    """The archive banner sentence and the relocation notice anywhere in `text` (HTML: outside <article>)."""
    reason: str | None = None
    moved = Notice()
    for line in _normalise(text):
        s = line.strip()
        if len(s) >= 600:
            continue
        if reason is None and (banner := _ARCHIVE_BANNER.search(s)):
            reason = _sentence_around(s, banner.start(), banner.end())
        if reloc := _relocation(s):
            moved.take(s, reloc)
    return reason, moved


def _relocation(line: str) -> re.Match[str] | None:
    if len(line) >= 600 or not _RELOCATION_CONTEXT.search(line):
        return None
    return _RELOCATION.search(line)


def _normalise(text: str) -> list[str]:
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u00ad", "")
    text = unicodedata.normalize("NFC", text)
    text = re.sub(r"[\u00a0\u2000-\u200b\u202f\u205f\u3000\t]", " ", text)
    # A word broken at a line end by a hyphen, the next line going on in lowercase: "przeciw-\ndziałania".
    text = re.sub(r"(?<=[a-ząćęłńóśźż])-\n(?=[a-ząćęłńóśźż])", "", text)
    return [re.sub(r" {2,}", " ", line).rstrip() for line in text.split("\n")]


def _key(line: str) -> str:
    return " ".join(_BULLET.sub("", line).split()).casefold()


def _is_chrome(line: str) -> bool:
    s = line.strip()
    if not s:
        return False
    key = _key(s).rstrip(":")
    if key in _CHROME or key + ":" in _CHROME or _SHARE.match(s):
        return True
    if len(s) < 400 and _COOKIES.search(s):
        return True
    if len(s) <= 200 and not s.endswith((".", "!", "?")):
        parts = [p for p in _BREADCRUMB_SEP.split(s) if p]
        if len(parts) >= 3 and all(len(p) <= 50 for p in parts) or (
            len(parts) == 2 and _key(parts[0]) in ("strona główna", "start", "home")
        ):
            return True
    return False


def _cut_footer(lines: list[str]) -> list[str]:
    """Drop everything after a footer marker when what follows is only short link-like lines."""
    markers = ("powrót na górę strony", "mapa serwisu", "podziel się treścią", "do góry", "metryczka")
    for i, line in enumerate(lines):
        if _key(line).rstrip(":") in markers:
            rest = [r.strip() for r in lines[i + 1:] if r.strip()]
            if all(len(r) <= 80 and not r.endswith(".") for r in rest):
                return lines[:i]
    return lines


def _looks_like_title(line: str, rest: list[str]) -> bool:
    if not 3 <= len(line) <= 250 or line.endswith((":", ",", ";")):
        return False
    if not any(r.strip() for r in rest):
        return False
    if len(line) <= 160 and not line.endswith(".") and line.count(". ") <= 1 and not _DATE_LABEL.match(line):
        return True  # a headline may hold two short sentences ("Przygotuj się na powódź. Poradnik …")
    inner = line[:-1]
    return not any(_sentence_end(inner, m.start()) for m in re.finditer(r"[.!?](?=\s+\S)", inner))


def _sentence_end(text: str, pos: int) -> bool:
    """Is the punctuation at `pos` the end of a sentence (not an abbreviation or a date)?"""
    if text[pos] != ".":
        return True
    word = text[:pos + 1].rsplit(None, 1)[-1].casefold()
    if word in _ABBREVIATIONS or re.fullmatch(r"[\w]\.|\d+\.|.*\d\.\d+r?\.|\(?\d+r\.", word):
        return False
    nxt = text[pos + 1:].lstrip()[:1]
    return bool(nxt) and (nxt.isupper() or nxt.isdigit() or nxt in "„\"(")


def derive_title(body: str) -> str:
    """A title for a page that prints none: its first sentence, cut at a word boundary."""
    para = next((p.strip() for p in body.split("\n") if p.strip()), body.strip())
    end = len(para)
    for m in re.finditer(r"[.!?](?=\s)", para):
        if _sentence_end(para, m.start()):
            end = m.start() + (0 if para[m.start()] == "." else 1)
            break
    sentence = para[:end].strip()
    if len(sentence) <= _TITLE_MAX:
        return sentence
    cut = sentence[:_TITLE_MAX + 1].rsplit(" ", 1)[0]
    cut = re.sub(r"[\s,;:–—\-„\"(]+$", "", cut)
    cut = re.sub(r"\s+(?:w|we|z|ze|i|o|u|a|na|do|od|po|dla|oraz|przez)$", "", cut, flags=re.IGNORECASE)
    return cut + "…"


def _sentence_around(line: str, start: int, end: int) -> str:
    """The banner sentence containing the match, not the whole line (a relocation notice may follow)."""
    head = line[:start]
    begin = max(head.rfind(". "), head.rfind("! "))
    begin = 0 if begin < 0 else begin + 2
    tail = line[end - 1:]
    stop = re.search(r"[.!](?:\s|$)", tail)
    stop_at = end - 1 + stop.end() if stop else len(line)
    return line[begin:stop_at].strip()


def _drop_repeats(lines: list[str]) -> list[str]:
    """Photo captions repeated under a gallery: short lines that occur more than once, kept once at most."""
    counts: dict[str, int] = {}
    for line in lines:
        k = _key(line)
        if k and len(k) <= 200:
            counts[k] = counts.get(k, 0) + 1
    return [line for line in lines if counts.get(_key(line), 0) < 2]


def _signature(lines: list[str]) -> tuple[str | None, list[str]]:
    """Find the publisher in the closing signature lines and remove those lines from the body."""
    idx = [i for i, line in enumerate(lines) if line.strip()]
    tail = idx[-4:]
    publisher: str | None = None
    remove: set[int] = set()
    for i in reversed(tail):
        s = lines[i].strip()
        if len(s) > 120:
            break
        lead = _SIGNATURE_LEAD.match(s)
        org = _ORG.search(_glue_split_words(s))
        if lead or (org and len(s) <= 80 and not s.endswith(("?", "!"))):
            remove.add(i)
            if org and publisher is None:
                publisher = _clean_org(org.group("org"))
        else:
            break
    return publisher, [line for i, line in enumerate(lines) if i not in remove]


def _glue_split_words(s: str) -> str:
    s = re.sub(r"\s*/\s*[A-ZĄĆĘŁŃÓŚŹŻ]{1,4}\.?\s*$", "", s)  # "… / IK": the author's initials
    words = s.split()
    out: list[str] = []
    for w in words:
        if (out and w[:1].islower() and w.casefold() not in _NAME_LOWER and out[-1][:1].isupper()
                and not out[-1].endswith(".") and len(out) >= 2 and out[-2].casefold() in _NAME_LOWER):
            out[-1] += w
        else:
            out.append(w)
    return " ".join(out)


def _clean_org(org: str) -> str:
    words = org.split()
    while words and words[-1].casefold() in _NAME_LOWER:
        words.pop()
    return " ".join(words).rstrip(",;:")


def _join(lines: list[str]) -> str:
    out: list[str] = []
    blank = False
    for line in lines:
        s = line.strip()
        if not s:
            blank = bool(out)
            continue
        if blank:
            out.append("")
        out.append(_BULLET.sub("• ", s, count=1) if _BULLET.match(s) and s[:1] in "•·▪◦●■" else s)
        blank = False
    return "\n".join(out).strip()
