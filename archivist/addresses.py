"""Web addresses as archivists mean them: `http://handelludzmi.eu/x/` and `https://www.handelludzmi.eu/x`
are one page. `normalize_url` makes the form we store; `url_key` the form we compare.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from archivist.ingest import urls


class AddressError(ValueError):
    pass


def normalize_url(text: str) -> str:
    """A stored address (see `archivist.ingest.urls`); raises AddressError for anything but a web address."""
    try:
        return urls.normalize_url(text)
    except ValueError as exc:
        raise AddressError(str(exc)) from None


def url_key(text: str) -> str:
    """The comparison key: no scheme, no `www.`, no trailing slash, no fragment; the query kept."""
    try:
        parts = urlsplit(normalize_url(text))
    except AddressError:
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
