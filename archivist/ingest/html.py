"""Saved HTML pages (.html, .htm): metadata from the head, main text from <article>/<main>, then the
same line rules as page-text dumps (chrome, banners, dates, signatures)."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from .dates import find_date, parse_date
from .decode import decode_text
from .model import ParsedArticle
from .text import find_notices, parse_text

_SKIP = frozenset(
    ["script", "style", "nav", "header", "footer", "aside", "form", "noscript", "template", "svg", "button", "select", "iframe", "object", "canvas", "dialog", "menu"]
)
_VOID = frozenset(["area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track", "wbr"])
_BLOCK = frozenset(
    ["p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "table", "section", "article", "main", "blockquote", "pre", "dd", "dt", "dl", "figure", "figcaption", "hr", "address", "time"]
)
_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([\w.:-]+)""", re.IGNORECASE)
_SKIP_CLASS = re.compile(
    r"\b(?:breadcrumbs?|cookies?|share|social|menu|navbar|nav|sidebar|footer|related|print|skip|sr-only"
    r"|visually-hidden|pagination|tags?-list)\b",
    re.IGNORECASE,
)


class _Extractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.meta: dict[str, str] = {}
        self.canonical: str | None = None
        self.title_parts: list[str] = []
        self.h1: list[str] = []
        self.time_dt: str | None = None
        self.stack: list[tuple[str, bool]] = []  # (tag, skipping because of this element)
        self.skip = 0
        self.in_title = False
        self.in_h1 = 0
        self.zones: dict[str, list[str]] = {"article": [], "main": [], "body": []}
        self.depth = {"article": 0, "main": 0}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k.lower(): (v or "") for k, v in attrs}
        if tag == "meta":
            key = (a.get("property") or a.get("name") or a.get("itemprop") or "").lower()
            if key and "content" in a:
                self.meta.setdefault(key, a["content"])
            return
        if tag == "link":
            if "canonical" in a.get("rel", "").lower().split() and self.canonical is None:
                self.canonical = a.get("href")
            return
        if tag == "time" and self.time_dt is None and a.get("datetime"):
            self.time_dt = a["datetime"]
        if a.get("itemprop", "").lower() == "datepublished" and a.get("datetime"):
            self.meta.setdefault("datepublished", a["datetime"])
        if tag in _VOID:
            if tag in ("br", "hr"):
                self._text("\n")
            return
        hidden = "hidden" in a or a.get("aria-hidden") == "true" or "display:none" in a.get("style", "").replace(" ", "")
        skipping = tag in _SKIP or hidden or bool(_SKIP_CLASS.search(a.get("class", "") + " " + a.get("id", "")))
        if tag in ("article", "main") and not self.skip:
            skipping = False
        if len(self.stack) > 2000:  # pathological nesting: stop tracking, keep text flat
            return
        self.stack.append((tag, skipping))
        if skipping:
            self.skip += 1
        if tag == "title":
            self.in_title = True
        if tag == "h1":
            self.in_h1 += 1
        if tag in self.depth:
            self.depth[tag] += 1
        if tag in _BLOCK:
            self._text("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _VOID or not any(t == tag for t, _ in self.stack):
            return
        while self.stack:
            t, skipping = self.stack.pop()
            if skipping:
                self.skip -= 1
            if t == "title":
                self.in_title = False
            if t == "h1":
                self.in_h1 -= 1
            if t in self.depth:
                self.depth[t] -= 1
            if t in _BLOCK:
                self._text("\n")
            if t == tag:
                break

    def handle_data(self, data: str) -> None:
        if self.in_title:
            self.title_parts.append(data)
            return
        if self.skip:
            return
        if self.in_h1 > 0:
            self.h1.append(data)
        self._text(data)

    def _text(self, s: str) -> None:
        if self.skip:
            return
        self.zones["body"].append(s)
        for zone, d in self.depth.items():
            if d > 0:
                self.zones[zone].append(s)


def html_text(data: bytes, charset: str | None = None) -> str:
    """A page's text: its bytes decoded by the charset its `<meta>` declares, else by `charset` (what the server
    said: a crawled page's HTTP header), else as `decode_text` finds."""
    m = _CHARSET.search(data[:4096])
    declared = m.group(1).decode("ascii", "replace") if m else charset
    return decode_text(data, declared)


def parse_html(data: bytes, charset: str | None = None) -> ParsedArticle:
    """`charset`: what the server said (a crawled page's HTTP header); the page's own <meta> wins over it."""
    text = html_text(data, charset)
    ex = _Extractor()
    ex.feed(text)
    ex.close()

    chosen = ""
    for zone in ("article", "main", "body"):
        candidate = "".join(ex.zones[zone])
        if len(candidate.split()) >= 20 or (zone == "body" and not chosen):
            chosen = candidate
            break
    meta = ex.meta
    title = meta.get("og:title") or " ".join("".join(ex.h1).split()) or _strip_site(
        " ".join("".join(ex.title_parts).split()), meta.get("og:site_name")
    )
    published = None
    for value in (meta.get("article:published_time"), meta.get("datepublished"), meta.get("date"),
                  meta.get("dc.date"), meta.get("dcterms.date"), meta.get("dcterms.created"), ex.time_dt):
        if value and (published := parse_date(value) or find_date(value)):
            break
    publisher = meta.get("article:publisher") or meta.get("publisher") or meta.get("og:site_name")
    if publisher and publisher.startswith(("http://", "https://")):
        publisher = None
    url = ex.canonical or meta.get("og:url")
    reason, moved = find_notices("".join(ex.zones["body"]))
    return parse_text(chosen, title=" ".join(title.split()) or None, url=url, published=published,
                      publisher=publisher, archived_reason=reason, relocated_to=moved.article,
                      portal_moved_to=moved.portal)


def _strip_site(title: str, site: str | None) -> str:
    if site and title.endswith(site) and len(title) > len(site):
        return re.sub(r"[\s|:–—-]+$", "", title[: -len(site)])
    parts = re.split(r"\s+(?:\||::|—|»)\s+", title)
    title = parts[0]
    m = re.match(r"^(.*\S)\s+[-–]\s+(\S+(?:\s+\S+){0,4})$", title)
    if m and len(m.group(2)) <= 40:
        return m.group(1)
    return title
