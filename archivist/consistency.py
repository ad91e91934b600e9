"""Do the two projections agree? The article state and the search index each fold the log into articles
(`store.article.fold`); here every current article of one is compared with the other's, field for field.
`archivist verify` reports what this finds."""

from __future__ import annotations

from typing import Any

import msgspec
from whoosh.query import Term

from archivist.state import ArchiveState
from index.projection import SearchIndex, decode_article, document_differences
from store.article import differences


class Divergence(msgspec.Struct, frozen=True, kw_only=True):
    detail: str
    article: str | None = None
    position: int | None = None


def index_divergences(state: ArchiveState, index: SearchIndex, *, most: int = 20) -> list[Divergence]:
    """Where the index's current documents differ from the state's articles (at most `most`, articles in
    log order): an article missing or twice, a document field that is not its article's, an article that is
    not the state's (the first differing field named), an article the state does not have."""
    out: list[Divergence] = []
    current: dict[str, dict[str, Any]] = {}
    for hit in index.searcher().search(Term("current", "1"), limit=None, scored=False):
        f = hit.fields()
        if f["id"] in current:
            out.append(Divergence(article=f["id"], detail=f"article {f['id']} has two current documents"))
        current[f["id"]] = f
    for aid, a in state.articles.items():
        if len(out) >= most:
            return out
        f = current.pop(aid, None)
        if f is None:
            out.append(Divergence(article=aid, detail=f"article {aid} is missing from the index"))
        elif diffs := document_differences(f):
            name, got, want = diffs[0]
            out.append(Divergence(article=aid, detail=f"article {aid}: the index document's {name} is {got!r}, "
                                                      f"its article says {want!r}"))
        elif diffs2 := differences(a, decode_article(f["article"])):
            name, want2, got2 = diffs2[0]
            out.append(Divergence(article=aid, position=a.positions[-1] if a.positions else None,
                                  detail=f"article {aid}: {', '.join(d[0] for d in diffs2)} differ between the "
                                         f"state and the index (first, {name}: the log says {want2!r}, the index "
                                         f"{got2!r})"))
    for aid in list(current)[:5]:
        out.append(Divergence(article=aid, detail=f"index has article {aid} that the log does not"))
    return out
