"""An article's content versions (publication, then each revision) and what changed between two of them."""

from __future__ import annotations

import datetime as dt

from archivist import errors
from archivist.diffing import changed, word_diff
from archivist.results import ArticleDiff, VersionRef
from archivist.state import ArticleState
from store import events as ev
from store.log import Log


def versions(log: Log, a: ArticleState) -> list[VersionRef]:
    """Every content version of an article (publication and revisions), oldest first."""
    out: list[VersionRef] = []
    for pos in a.positions:
        r = log.get(pos)
        if isinstance(r.event, ev.ArticlePublished | ev.ArticleRevised):
            out.append(VersionRef(version=len(out) + 1, position=pos, recorded_at=r.recorded_at,
                                  actor=r.actor, title=r.event.title))
    return out


def diff(log: Log, a: ArticleState, from_: int | dt.datetime | None = None,
         to: int | dt.datetime | None = None) -> ArticleDiff:
    """What changed in title and text between two content versions (numbers, or the version current at a
    moment). Defaults: the previous version against the latest."""
    article_id = a.id
    all_versions = versions(log, a)

    def pick(ref: int | dt.datetime | None, default: int) -> VersionRef:
        if ref is None:
            return all_versions[default]
        if isinstance(ref, int):
            if not 1 <= ref <= len(all_versions):
                raise errors.NotFound(f"article {article_id} has versions 1–{len(all_versions)}, not {ref}")
            return all_versions[ref - 1]
        known = [v for v in all_versions if v.recorded_at <= ref]
        if not known:
            raise errors.NotFound(f"article {article_id} was not in the archive yet on {ref.date()}")
        return known[-1]

    old = pick(from_, max(len(all_versions) - 2, 0))
    new = pick(to, len(all_versions) - 1)
    a_ev, b_ev = log.get(old.position).event, log.get(new.position).event
    title = word_diff(getattr(a_ev, "title", ""), getattr(b_ev, "title", ""))
    body = word_diff(getattr(a_ev, "body", ""), getattr(b_ev, "body", ""))
    return ArticleDiff(id=article_id, from_version=old, to_version=new, title=title,
                       body=body, changed=changed(title) or changed(body))
