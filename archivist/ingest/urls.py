"""One spelling per address, so that identities and relocations compare equal: the rule is the article
model's (`store.article.normalize_url`, which documents its decisions)."""

from __future__ import annotations

from store.article import normalize_url, try_normalize_url

__all__ = ["normalize_url", "try_normalize_url"]
