"""A short soak (`bench/soak.py` at a small size): a watcher ingesting dropped files while a CLI searcher, an
API searcher (checking read-your-writes) and an archivist recording actions run as separate processes.
Nothing lost, nothing twice, every action logged, `verify` clean, the index equal to a rebuild."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import soak


@pytest.mark.slow
def test_watcher_searchers_and_actions_at_once(tmp_path: Path) -> None:
    from bench.corpus_gen import CORPUS

    if not CORPUS.is_file():
        pytest.skip(f"the shared news corpus is absent ({CORPUS})")
    lines: list[str] = []
    figures = soak.soak(tmp_path, articles=300, files=300, burst=10, pause=0.3, log=lines.append)
    soak.report(figures, out=lines.append)
    print("\n".join(lines))
    assert figures["problems"] == [], "\n".join(lines)
    assert figures["cli_search"] and figures["api_search"], "the searchers ran under load"
    assert figures["ryw"].get("own", 0) > 0
    assert figures["actions"] > 0


def test_the_first_small_commit_after_a_bulk_load_does_not_merge_the_bulk_segments(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Found by the soak at 100k articles: the bulk catch-up commits a segment whenever its posting pool is
    about to spill (~3,000 articles of 2.3 KB at the default 256 MB), but `_merge_small` calls every segment
    under SMALL_SEGMENT (then 5,000) documents small -- so the first ordinary commit after a bulk load (one tag,
    one dropped file) merges the WHOLE index (re-pooling every posting: minutes at 100k) under the catch-up
    lock, and every process that appends or searches waits (the watcher ingested nothing for minutes).
    `_merge_small` promises "never touch the large ones a bulk catch-up wrote". Scaled down here: a tiny pool
    and chunk make the bulk segments small."""
    import index.projection as projection
    from archivist.archive import Archive

    monkeypatch.setattr(projection, "CHUNK", 20)
    monkeypatch.setattr(projection, "LIMITMB", 1)
    # scaled down with the pool: a bulk segment holds more than SMALL_SEGMENT documents
    monkeypatch.setattr(projection, "SMALL_SEGMENT", 10)
    monkeypatch.setattr(projection, "MERGE_BUDGET", 10)
    with Archive.open(tmp_path / "a") as a:
        a.defer_index = True
        ids = [a.publish(title=f"Komunikat {soak.letters(i)}", body=soak.article_text(i).decode() * 3,
                         publisher="Soak", tags=["soak"]) for i in range(120)]
        a.defer_index = False
        a.catch_up_index()
        bulk = {s.segment_id() for s in a.index.ix._read_toc().segments}
        assert len(bulk) >= 3, "the scaled-down bulk load wrote several segments"
        for aid in ids[:3]:
            a.tag(aid, "po-zaladunku")  # three ordinary commits
        after = {s.segment_id() for s in a.index.ix._read_toc().segments}
        assert bulk <= after, f"{len(bulk - after)} of {len(bulk)} bulk segments were merged by small commits"
        assert a.verify().ok
