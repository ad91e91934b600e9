"""The article: the one fold of article events into an article, with its rules.

Both projections stand on this module: the article state (`archivist.state`) keeps the `Article` each
stream folds to, and the search index (`index.projection`) writes each article version it indexes from
the same `Article`. What an event does to an article (its status, addresses, tags, content) is decided
here and nowhere else, so the two cannot disagree; `differences` compares two folds field by field
(`archivist verify` uses it on the state and the index).

Rules:
- statuses: `live`, `archived`, `withdrawn` (the one vocabulary);
- addresses: `normalize_url` is the form stored, `url_key` the form compared (`http://www.x.pl/a/` and
  `https://x.pl/a` are one page). A revision that carries an address equal under `url_key` keeps the
  article's address as it was; a relocation always records the address it names;
- identity: the canonical address when known, else publisher + title + publication date, else the
  content digest (DESIGN.md); `article_id_for` turns that key into the 12-hex-digit id;
- tags: lower case with single spaces, at most `TAG_MAX_CHARS`; any other character (a comma too) is
  part of the tag. The fold normalises the tags of old events too;
- titles: single spaces.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from urllib.parse import urlsplit, urlunsplit

import msgspec

from store import events as ev

# --- statuses -----------------------------------------------------------------------------------------------

LIVE, ARCHIVED, WITHDRAWN = "live", "archived", "withdrawn"
STATUSES = (LIVE, ARCHIVED, WITHDRAWN)


# --- addresses ----------------------------------------------------------------------------------------------
# Decisions: scheme and host are lowercased, a missing scheme becomes https:// (every portal we archive is
# served over TLS today), an explicit http:// is kept as given (the original scheme is a fact worth keeping;
# `url_key` compares http/https and www. leniently), default ports and the fragment are dropped, an empty path
# becomes "/", path and query are kept byte for byte.

_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")
_HOST = re.compile(r"^[\w.-]+$")
_DEFAULT_PORTS = {"http": "80", "https": "443"}
# An address already in its stored form (lower-case http(s) scheme and host, no port, user, fragment or empty
# query; a path; printable ASCII only): `normalize_url` returns it as it is, without splitting it.
_NORMAL = re.compile(r'https?://([a-z0-9.-]+)/[!"$->@-~]*(?:\?[!"$-~]+)?')


def normalize_url(s: str) -> str:
    """The stored form of a web address; ValueError when `s` is not one."""
    m = _NORMAL.fullmatch(s)
    if m is not None and "." in m[1].strip("."):
        return s  # already normal: `_normalized` would return it unchanged (tests/test_model.py)
    return _normalized(s)


def _normalized(s: str) -> str:
    s = s.strip()
    if not s or any(c.isspace() for c in s):
        raise ValueError(f"not a web address: {s!r}")
    if s.startswith("//"):
        s = "https:" + s
    elif not _SCHEME.match(s):
        s = "https://" + s
    try:
        parts = urlsplit(s)
        port = parts.port
    except ValueError as e:
        raise ValueError(f"not a web address: {s!r}") from e
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise ValueError(f"not a web address: {s!r}")
    host = (parts.hostname or "").lower()
    if not host or "." not in host.strip(".") or not _HOST.match(host):
        raise ValueError(f"not a web address: {s!r}")
    netloc = host
    if port is not None and str(port) != _DEFAULT_PORTS[scheme]:
        netloc = f"{host}:{port}"
    return urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))


def try_normalize_url(s: str | None) -> str | None:
    if not s:
        return None
    try:
        return normalize_url(s)
    except ValueError:
        return None


def url_key(text: str) -> str:
    """The comparison key: no scheme, no `www.`, no trailing slash, no fragment; the query kept."""
    try:
        parts = urlsplit(normalize_url(text))
    except ValueError:
        return text.strip().lower()
    host = parts.netloc
    if host.startswith("www."):
        host = host[4:]
    path = parts.path.rstrip("/")
    return host + path + (f"?{parts.query}" if parts.query else "")


def under_prefix(key: str, prefix_key: str) -> bool:
    """Is the address with `key` under the portal prefix with `prefix_key` (at a path boundary)?"""
    if not prefix_key:
        return False
    return key == prefix_key or key.startswith(prefix_key + "/") or key.startswith(prefix_key + "?") \
        or (prefix_key.endswith("/") and key.startswith(prefix_key))


# --- titles, tags, identity ---------------------------------------------------------------------------------

TAG_MAX_CHARS = 100


def normalize_title(title: str) -> str:
    return " ".join(title.split())


def normalize_tag(tag: str) -> str:
    """Lower case, single spaces. Empty means no tag; callers refuse or drop it, and tags longer than
    TAG_MAX_CHARS (the CLI refuses them; ingest cuts them)."""
    return " ".join(tag.split()).lower()


def identity_key(*, url: str | None, title: str, published: dt.date | None, publisher: str | None,
                 body: str) -> str:
    """DESIGN.md's identity: the canonical URL, else publisher + title + date, else the content digest."""
    if url:
        return "url:" + url_key(url)
    if title.strip() and (publisher or published):
        return f"meta:{(publisher or '').strip().casefold()}|{normalize_title(title).casefold()}|{published or ''}"
    return "content:" + hashlib.sha256(f"{title}\n{body}".encode()).hexdigest()


def article_id_for(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:12]


# --- the article and its fold -------------------------------------------------------------------------------

class UrlChange(msgspec.Struct, frozen=True):
    url: str
    position: int
    recorded_at: dt.datetime


class Article(msgspec.Struct, kw_only=True):
    """An article as its events leave it. Bodies stay in the log (`content_position` points at the event
    holding the current title and body), so a projection of 100,000 articles stays small."""

    id: str
    title: str
    url: str | None
    published: dt.date | None
    publisher: str | None
    status: str = LIVE
    tags: list[str] = []
    urls: list[UrlChange] = []  # every address it had, oldest first; the last is the current one
    versions: int = 1  # content versions (published + revisions)
    version: int = 0  # stream version: the number of events on the article
    content_position: int = 0  # where the current title/body live in the log
    positions: list[int] = []  # every event of the article
    sources: list[str] = []
    created_at: dt.datetime
    changed_at: dt.datetime
    status_reason: str = ""

    def copy(self) -> Article:
        """A copy whose lists can be changed without touching this one."""
        return msgspec.structs.replace(self, tags=list(self.tags), urls=list(self.urls),
                                       positions=list(self.positions), sources=list(self.sources))

    def addresses(self) -> list[str]:
        """Every address it had, each once, oldest first."""
        return list(dict.fromkeys(u.url for u in self.urls))


def fold(a: Article | None, r: ev.Record) -> Article | None:
    """The article after record `r` of its stream: `a` changed in place (or a new one for a publication).
    None when `r` says nothing about an article (another stream's event, or an event for an article the log
    never published)."""
    e = r.event
    if isinstance(e, ev.ArticlePublished):
        a = Article(id=r.stream, title=e.title, url=None, published=e.published, publisher=e.publisher,
                    created_at=r.recorded_at, changed_at=r.recorded_at, content_position=r.position)
        if e.url:
            _add_url(a, e.url, r)
        if e.source:
            a.sources.append(e.source)
    elif a is None or not isinstance(e, ev.ARTICLE_EVENTS):
        return None
    else:
        match e:
            case ev.ArticleRevised():
                a.title, a.published, a.publisher = e.title, e.published, e.publisher
                a.versions += 1
                a.content_position = r.position
                if e.url and (a.url is None or url_key(e.url) != url_key(a.url)):
                    _add_url(a, e.url, r)
                if e.source and e.source not in a.sources:
                    a.sources.append(e.source)
            case ev.ArticleArchived():
                a.status, a.status_reason = ARCHIVED, e.reason
            case ev.ArticleRestored():
                a.status, a.status_reason = LIVE, e.reason
            case ev.ArticleWithdrawn():
                a.status, a.status_reason = WITHDRAWN, e.reason
            case ev.ArticleRelocated():
                _add_url(a, e.to_url, r)
            case ev.ArticleTagged():
                t = normalize_tag(e.tag)
                if t and t not in a.tags:
                    a.tags.append(t)
            case ev.ArticleUntagged():
                t = normalize_tag(e.tag)
                if t in a.tags:
                    a.tags.remove(t)
    a.version = r.version
    a.positions.append(r.position)
    a.changed_at = r.recorded_at
    return a


def _add_url(a: Article, url: str, r: ev.Record) -> None:
    a.url = url
    a.urls.append(UrlChange(url, r.position, r.recorded_at))


# --- comparing two folds ------------------------------------------------------------------------------------

FIELDS: tuple[str, ...] = Article.__struct_fields__


def differences(a: Article, b: Article) -> list[tuple[str, object, object]]:
    """(field, value in a, value in b) for every field of the article that differs, in field order."""
    return [(f, getattr(a, f), getattr(b, f)) for f in FIELDS if getattr(a, f) != getattr(b, f)]
