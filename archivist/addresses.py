"""Web addresses for the facade: the rules live in the article model (`store.article`); here a bad address
becomes the AddressError the CLI and the API report."""

from __future__ import annotations

from store import article as model
from store.article import under_prefix, url_key

__all__ = ["AddressError", "normalize_url", "under_prefix", "url_key"]


class AddressError(ValueError):
    pass


def normalize_url(text: str) -> str:
    """A stored address (see `store.article.normalize_url`); raises AddressError for anything but a web address."""
    try:
        return model.normalize_url(text)
    except ValueError as exc:
        raise AddressError(str(exc)) from None
