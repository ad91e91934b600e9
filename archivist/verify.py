"""`verify`: the log's framing and hash chain, every source's bytes against its digest, the index against the
log; and a warning when the archive's files are open wider than its permission rule."""

from __future__ import annotations

from typing import TYPE_CHECKING

from archivist.permissions import wider_open
from archivist.results import Problem, VerifyReport
from store.log import verify_log

if TYPE_CHECKING:
    from archivist.archive import Archive


def verify(archive: Archive) -> VerifyReport:
    checked, log_problems = verify_log(archive.log)
    problems = [Problem(kind="log", detail=str(p), position=p.position) for p in log_problems]
    st = archive.refresh()
    blobs = 0
    for digest, src in sorted(st.sources.items(), key=lambda kv: kv[1].position):
        blobs += 1
        if not archive.blobs.exists(digest):
            problems.append(Problem(kind="blob", position=src.position,
                                    detail=f"blob {digest} ({src.file_name}) is missing"))
        elif not archive.blobs.verify(digest):
            problems.append(Problem(kind="blob", position=src.position,
                                    detail=f"blob {digest} ({src.file_name}) does not match its digest"))
    problems.extend(_verify_index(archive))
    return VerifyReport(ok=not problems, records=checked, blobs=blobs, problems=problems,
                        warnings=wider_open(archive.root))


def _verify_index(archive: Archive) -> list[Problem]:
    """The index must hold exactly one current document per article, agreeing with the log."""
    ix = archive.index
    ix.catch_up()
    st = archive.state
    problems: list[Problem] = []
    seen: dict[str, tuple[str, int]] = {}
    s = ix.searcher()
    from whoosh.query import Term

    for hit in s.search(Term("current", "1"), limit=None, scored=False):
        f = hit.fields()
        if f["id"] in seen:
            problems.append(Problem(kind="index", detail=f"article {f['id']} has two current documents"))
        seen[f["id"]] = (f.get("status", ""), f.get("version", 0))
    for aid, a in st.articles.items():
        got = seen.pop(aid, None)
        if got is None:
            problems.append(Problem(kind="index", detail=f"article {aid} is missing from the index"))
        elif got != (a.status, a.version):
            problems.append(Problem(kind="index", detail=f"article {aid}: index has {got}, log says "
                                                         f"{(a.status, a.version)}"))
        if len(problems) > 20:
            break
    for aid in list(seen)[:5]:
        problems.append(Problem(kind="index", detail=f"index has article {aid} that the log does not"))
    if problems:
        problems.append(Problem(kind="index", detail="run `archivist rebuild` to rebuild the index from the log"))
    return problems
