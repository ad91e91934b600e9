"""`archivist demo`: an archive with the bundled samples and a little history, to try the UI on.

The samples alone only show what ingest records; the demo also records what an archivist would do next (a
tag, a relocation, a withdrawal with its reason, a revision), so the article screen has a timeline worth
reading. Running it again changes nothing: the samples are only ingested into an empty archive and every
archivist action is skipped once recorded.

The history is simulated on the recorded clock: each sample is recorded a few days after the date in its
file name, and the archivist's actions on later days, so as-of views (`--as-of`, the TUI's date field) and
diffs have a past to show. Real archives record the time of the append, always.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path

from archivist import errors
from archivist.archive import Archive, Stats
from store.events import utcnow as ev_now

SAMPLES = Path(__file__).with_name("samples")
ACTOR = "demo:archivist"

# (sample address, what the archivist does); each action is recorded once (see `_done`).
_RELOCATE = ("https://gdansk.policja.example.pl/aktualnosci/2022/falszywe-sms.html",
             "https://gdansk.policja.example.pl/archiwum/2022/falszywe-sms.html")


def sample_files() -> list[tuple[Path, tuple[str, ...]]]:
    """Every sample but the README, each with its folder names as tags."""
    from archivist.ingest.service import walk

    return [(p, tags) for p, tags in walk([SAMPLES]) if p.name != "README.md"]


_UNDATED = dt.date(2019, 1, 7)  # when the demo "receives" samples whose file name carries no date
_NAMED_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})-")


def _recorded_day(path: Path) -> dt.date:
    m = _NAMED_DATE.match(path.name)
    return dt.date(*map(int, m.groups())) + dt.timedelta(days=3) if m else _UNDATED


def _on(a: Archive, day: dt.date) -> None:
    a.clock = lambda: dt.datetime(day.year, day.month, day.day, 10, 30, tzinfo=dt.UTC)


def build_demo(archive_path: str | os.PathLike[str]) -> Stats:
    """Fill an empty archive with the samples, then record a few archivist actions (idempotent)."""
    with Archive.open(archive_path, actor=ACTOR) as a:
        if not a.refresh().articles:
            files = sorted(sample_files(), key=lambda f: (_recorded_day(f[0]), str(f[0])))
            for path, tags in files:
                _on(a, _recorded_day(path))
                a.ingest_files([(path, tags)], via="demo", actor=ACTOR)
        _record_actions(a)
        a.clock = ev_now
        return a.stats()


def _record_actions(a: Archive) -> None:
    arts = {x.id: x for x in a.articles()}
    by_title = {x.title: x.id for x in arts.values()}

    def find(fragment: str) -> str | None:
        return next((aid for title, aid in by_title.items() if fragment.casefold() in title.casefold()), None)

    def done(aid: str, kind: str) -> bool:
        return any(e.actor == ACTOR and e.type == kind for e in a.history(aid))

    def attempt(fn, *args, **kw) -> None:  # type: ignore[no-untyped-def]
        try:
            fn(*args, actor=ACTOR, **kw)
        except errors.ArchivistError:
            pass  # the samples changed under the demo: skip that action rather than fail the demo

    if (aid := find("wnuczka")) and not done(aid, "ArticleTagged"):
        _on(a, dt.date(2021, 5, 4))
        attempt(a.tag, aid, "seniorzy", "oszustwa")
    if (aid := find("powódź") or find("powodz")) and not done(aid, "ArticleRevised"):
        _on(a, dt.date(2023, 6, 15))
        view = a.show(aid)
        attempt(a.revise, aid, body=view.body.rstrip() + "\n\n(Aktualizacja: dodano numer alarmowy 112.)")
    if (aid := find("sms")) and not done(aid, "ArticleRelocated"):
        _on(a, dt.date(2024, 2, 1))
        cur = a.show(aid).url
        attempt(a.relocate, aid, _RELOCATE[1] if cur != _RELOCATE[1] else _RELOCATE[0])
    if (aid := find("rekrutacyjna")) and not done(aid, "ArticleWithdrawn"):
        _on(a, dt.date(2024, 9, 2))
        attempt(a.withdraw, aid, "nabór zakończony; ogłoszenie nieaktualne")
