"""Following relocations: from an address, through article moves and portal rules, to where it lives now."""

from __future__ import annotations

from archivist import errors
from archivist.addresses import AddressError, normalize_url, under_prefix, url_key
from archivist.results import Hop, MovedLink, Resolution
from archivist.state import ARCHIVED, ArchiveState, PortalRule


def resolve(st: ArchiveState, url: str) -> Resolution:
    """Follow article relocations and portal rules from `url` to the current address in the state `st`."""
    try:
        start = normalize_url(url)
    except AddressError as exc:
        raise errors.UsageError(str(exc)) from exc
    chain: list[Hop] = []
    seen = {url_key(start)}
    current = start
    article_id: str | None = None
    exact = True  # False once a portal rule dropped the path: the portal's home is not the article asked for
    while True:
        key = url_key(current)
        holders = st.by_url.get(key, []) if exact else []
        here = [i for i in holders if url_key(st.articles[i].url or "") == key]
        hop: Hop | None = None
        if here:
            # a live address: it is where these articles are now (a portal's landing page may hold many)
            if len(here) == 1:
                article_id = here[0]
                current = st.articles[article_id].url or current  # the address as the archive spells it
        elif len(holders) == 1:
            # the one article that lived here has moved on
            aid = holders[0]
            article_id = aid
            a = st.articles[aid]
            assert a.url is not None
            moved = [c for c in a.urls if url_key(c.url) == url_key(a.url)][-1]
            hop = Hop(from_url=current, to_url=a.url, kind="article", recorded_at=moved.recorded_at,
                      article_id=aid)
        if hop is None:
            rule = portal_rule(key, st)
            if rule is not None:
                target = rule.to_prefix
                if rule.keep_path:
                    rest = key[len(url_key(rule.from_prefix)):]
                    target = rule.to_prefix.rstrip("/") + rest
                if url_key(target) != key:
                    hop = Hop(from_url=current, to_url=target, kind="portal", recorded_at=rule.recorded_at)
                    exact = exact and rule.keep_path
        if hop is None:
            break
        chain.append(hop)
        current = hop.to_url
        nkey = url_key(current)
        if nkey in seen:
            raise errors.IntegrityError(
                "relocation loop: " + " -> ".join([start] + [h.to_url for h in chain]))
        seen.add(nkey)
    if not chain and article_id is None:
        raise errors.NotFound(f"unknown address {url!r}: no article and no portal rule covers it")
    status = st.articles[article_id].status if article_id else None
    return Resolution(url=start, current=current, article_id=article_id, status=status, chain=chain)


def portal_rule(key: str, st: ArchiveState) -> PortalRule | None:
    best = None
    for rule in st.portals:  # later rules win over earlier ones for the same prefix
        pk = url_key(rule.from_prefix)
        if under_prefix(key, pk) and (best is None or len(pk) >= len(url_key(best.from_prefix))):
            best = rule
    return best


def moved_links(st: ArchiveState) -> list[MovedLink]:
    """Archived articles whose recorded address has moved since, with where it lives now."""
    out: list[MovedLink] = []
    for a in st.articles.values():
        if a.status != ARCHIVED or not a.urls:
            continue
        recorded = a.urls[0].url
        try:
            r = resolve(st, recorded)
        except errors.ArchivistError:
            continue
        if r.chain and url_key(r.current) != url_key(recorded):
            out.append(MovedLink(id=a.id, title=a.title, status=a.status, recorded_url=recorded,
                                 current_url=r.current, chain=r.chain))
    return sorted(out, key=lambda m: m.title)
