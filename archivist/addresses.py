"""Web addresses as archivists mean them: `http://handelludzmi.eu/x/` and `https://www.handelludzmi.eu/x`
are one page. `normalize_url` makes the form we store; `url_key` the form we compare.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")


class AddressError(ValueError):
    pass


def normalize_url(text: str) -> str:
    """A stored address: scheme and host lowercased, `https://` added when none was given, no fragment."""
    s = text.strip()
    if not s:
        raise AddressError("empty address")
    if any(c.isspace() for c in s):
        raise AddressError(f"an address has no spaces: {text!r}")
    if s.startswith("//"):
        s = "https:" + s
    elif not _SCHEME.match(s):
        s = "https://" + s
    parts = urlsplit(s)
    if parts.scheme.lower() not in ("http", "https"):
        raise AddressError(f"not a web address (http/https): {text!r}")
    host = (parts.hostname or "").lower()
    if not host or "." not in host and host != "localhost":
        raise AddressError(f"no host name in address: {text!r}")
    netloc = host + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme.lower(), netloc, parts.path or "/", parts.query, ""))


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
