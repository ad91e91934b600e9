"""One spelling per address, so that identities and relocations compare equal.

Decisions: scheme and host are lowercased, a missing scheme becomes https:// (every portal we archive is
served over TLS today), an explicit http:// is kept as given (the resolver compares http/https and www.
leniently, and the original scheme is a fact worth keeping), default ports and the fragment are dropped,
an empty path becomes "/", path and query are kept byte for byte.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")
_HOST = re.compile(r"^[\w.-]+$")
_DEFAULT_PORTS = {"http": "80", "https": "443"}


def normalize_url(s: str) -> str:
    """Return the normalised address; raise ValueError when `s` is not a web address."""
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
