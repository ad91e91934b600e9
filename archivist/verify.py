"""`verify`: the log's framing and hash chain, every source's bytes against its digest, the index against the
log; and a warning when the archive's files are open wider than its permission rule."""

from __future__ import annotations

from typing import TYPE_CHECKING

from archivist.consistency import index_divergences
from archivist.permissions import wider_open
from archivist.results import Problem, VerifyReport
from archivist.state import ArchiveState
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
    warnings = wider_open(archive.root)
    lag = archive.index_lag() if archive.readonly else 0
    if lag:
        warnings.append(f"the search index is {lag} events behind the log (you may only read this archive; a "
                        "writer's next command catches it up): it was checked against the log up to where it is")
    return VerifyReport(ok=not problems, records=checked, blobs=blobs, problems=problems, warnings=warnings)


def _verify_index(archive: Archive) -> list[Problem]:
    """The index must hold exactly one current document per article, each the article the state holds,
    field for field (`archivist.consistency`)."""
    ix = archive.index
    ix.catch_up()
    st = archive.refresh()
    if ix.checkpoint() < st.position:
        ix.catch_up(st.position)
    if ix.checkpoint() < st.position:  # read-only: compare the index with the state at the event it reached
        st = ArchiveState()
        st.apply_all(archive.log.read(until=ix.checkpoint()))
    problems = [Problem(kind="index", detail=d.detail, position=d.position)
                for d in index_divergences(st, ix)]
    if problems:
        problems.append(Problem(kind="index", detail="run `archivist rebuild` to rebuild the index from the log"))
    return problems
