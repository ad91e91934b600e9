"""A deterministic archive-sized corpus from real Polish text: `python -m bench.corpus_gen --articles N --out DIR`.

Sentences of `shared/corpus/polsatnews.csv` (726 news articles, ~16.7k sentences) are recombined into ~2.3 KB
articles with titles, dates spread over 2010-2025, ~40 Polish police/ministry publishers, statuses (~85 % live,
12 % archived, 3 % withdrawn), tags and addresses. Everything comes from one seeded `random.Random`: the same
arguments give the same bytes.

Two generators (`--vocab`):

* ``recombine``: sentences as they are. Each sentence recurs ~N/140 times (~120x at 100k), so posting lists
  and co-occurrences are denser than in a real archive (NOTES-performance.md: latencies are pessimistic).
* ``varied`` (default): the same, plus vocabulary variation so posting lists look like a real archive's --
  capitalised words inside a sentence (names, places, institutions) are replaced by names drawn Zipf-like from
  a seeded pool of ~20k capitalised Polish forms, every number by a random number of the same length, and
  ~15 % of the other words of 4+ letters by forms drawn Zipf-like (s=1.05) from a seeded pool of 200k real
  Polish word forms (the keys of the lemma table `index.analysis` builds from simplemma's dictionary).
  A real archive has a long tail of rare words, names and numbers; this gives one.

Output: JSON lines of `{url,title,body,published,publisher,tags,status}` -- what `archivist ingest` accepts --
written as shards of `--shard` records (`corpus-00000.jsonl`, ...; ingest refuses files over 20 MB, and one
file is one atomic append), streamed: one article is held in memory at a time.
"""

from __future__ import annotations

import argparse
import bisect
import csv
import datetime as dt
import itertools
import json
import random
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "polsatnews.csv"

PUBLISHERS = [
    ("Komenda Główna Policji", "policja.pl"),
    ("Komenda Stołeczna Policji", "policja.waw.pl"),
    ("Komenda Wojewódzka Policji w Krakowie", "malopolska.policja.gov.pl"),
    ("Komenda Wojewódzka Policji w Gdańsku", "pomorska.policja.gov.pl"),
    ("Komenda Wojewódzka Policji w Poznaniu", "wielkopolska.policja.gov.pl"),
    ("Komenda Wojewódzka Policji we Wrocławiu", "dolnoslaska.policja.gov.pl"),
    ("Komenda Wojewódzka Policji w Katowicach", "slaska.policja.gov.pl"),
    ("Komenda Wojewódzka Policji w Łodzi", "lodzka.policja.gov.pl"),
    ("Komenda Wojewódzka Policji w Lublinie", "lubelska.policja.gov.pl"),
    ("Komenda Wojewódzka Policji w Białymstoku", "podlaska.policja.gov.pl"),
    ("Komenda Wojewódzka Policji w Szczecinie", "zachodniopomorska.policja.gov.pl"),
    ("Komenda Wojewódzka Policji w Bydgoszczy", "kujawsko-pomorska.policja.gov.pl"),
    ("Komenda Wojewódzka Policji w Olsztynie", "warminsko-mazurska.policja.gov.pl"),
    ("Komenda Wojewódzka Policji w Rzeszowie", "podkarpacka.policja.gov.pl"),
    ("Komenda Wojewódzka Policji w Kielcach", "swietokrzyska.policja.gov.pl"),
    ("Komenda Wojewódzka Policji w Opolu", "opolska.policja.gov.pl"),
    ("Komenda Wojewódzka Policji w Gorzowie Wielkopolskim", "lubuska.policja.gov.pl"),
    ("Komenda Wojewódzka Policji z siedzibą w Radomiu", "mazowiecka.policja.gov.pl"),
    ("Komenda Miejska Policji w Gdyni", "gdynia.policja.gov.pl"),
    ("Komenda Miejska Policji w Toruniu", "torun.policja.gov.pl"),
    ("Komenda Miejska Policji w Częstochowie", "czestochowa.policja.gov.pl"),
    ("Komenda Powiatowa Policji w Zakopanem", "zakopane.policja.gov.pl"),
    ("Komenda Powiatowa Policji w Sopocie", "sopot.policja.gov.pl"),
    ("Centralne Biuro Śledcze Policji", "cbsp.policja.pl"),
    ("Biuro Spraw Wewnętrznych Policji", "bswp.policja.pl"),
    ("Wyższa Szkoła Policji w Szczytnie", "wspol.edu.pl"),
    ("Ministerstwo Spraw Wewnętrznych i Administracji", "gov.pl/web/mswia"),
    ("Ministerstwo Sprawiedliwości", "gov.pl/web/sprawiedliwosc"),
    ("Ministerstwo Cyfryzacji", "gov.pl/web/cyfryzacja"),
    ("Ministerstwo Zdrowia", "gov.pl/web/zdrowie"),
    ("Ministerstwo Spraw Zagranicznych", "gov.pl/web/dyplomacja"),
    ("Ministerstwo Rodziny i Polityki Społecznej", "gov.pl/web/rodzina"),
    ("Ministerstwo Edukacji Narodowej", "gov.pl/web/edukacja"),
    ("Straż Graniczna", "strazgraniczna.pl"),
    ("Nadwiślański Oddział Straży Granicznej", "nadwislanski.strazgraniczna.pl"),
    ("Państwowa Straż Pożarna", "gov.pl/web/kgpsp"),
    ("Rządowe Centrum Bezpieczeństwa", "gov.pl/web/rcb"),
    ("Krajowe Centrum Informacji Kryminalnych", "kcik.policja.pl"),
    ("Służba Ochrony Państwa", "sop.gov.pl"),
    ("Krajowa Administracja Skarbowa", "gov.pl/web/kas"),
    ("Żandarmeria Wojskowa", "zw.wp.mil.pl"),
]

TAGS = ["bezpieczeństwo", "handel ludźmi", "cyberprzestępczość", "ruch drogowy", "oszustwa", "narkotyki",
        "prewencja", "komunikat", "apel", "poszukiwani", "zaginieni", "seniorzy", "dzieci", "szkolenia",
        "rekrutacja", "współpraca międzynarodowa", "granica", "kampania", "statystyki", "konferencja",
        "wypadki", "przemoc domowa", "kradzieże", "pożary", "powódź", "ćwiczenia", "profilaktyka",
        "sport", "wydarzenia", "ogłoszenia"]

STATUSES = [("live", 85), ("archived", 12), ("withdrawn", 3)]
ARTICLE_CHARS = 2300
VARY_WORD = 0.15  # share of plain words of 4+ letters replaced by a drawn form
WORD_POOL = 200_000
NAME_POOL = 20_000
ZIPF_S = 1.05

_SENT_SPLIT = re.compile(r"(?<=[.!?])\s+(?=[A-ZĄĆĘŁŃÓŚŹŻ„\"-])")
_TOKEN = re.compile(r"\d+|[^\W\d_]+")
_SLUG = str.maketrans("ąćęłńóśźż", "acelnoszz")


def load_corpus(path: Path = CORPUS) -> tuple[list[str], list[str]]:
    """(titles, sentences) of the source CSV."""
    csv.field_size_limit(1 << 27)
    titles: list[str] = []
    sentences: list[str] = []
    with open(path, encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            title = " ".join((row.get("title") or "").split())
            if title:
                titles.append(title)
            for s in _SENT_SPLIT.split(" ".join((row.get("text") or "").split())):
                if len(s) >= 20:
                    sentences.append(s)
    return titles, sentences


def _zipf_cum(n: int, s: float = ZIPF_S) -> list[float]:
    return list(itertools.accumulate(1.0 / (r ** s) for r in range(1, n + 1)))


class Vocabulary:
    """Seeded pools of real Polish word forms and capitalised names, drawn Zipf-like."""

    def __init__(self, rng: random.Random) -> None:
        from bench.simplemma_lemmas import ensure_lemma_table

        table = ensure_lemma_table()
        words: list[str] = []
        names: list[str] = []
        # a deterministic sample: every key in the DAWG's (sorted) order, kept with a seeded probability
        keep_w, keep_n = 0.06, 0.02
        for k in table.iterkeys():
            c = k[:1]
            if not c.isalpha():
                continue
            if c.isupper():
                if len(k) >= 4 and k.isalpha() and rng.random() < keep_n:
                    names.append(k)
            elif len(k) >= 4 and k.isalpha() and rng.random() < keep_w:
                words.append(k)
        rng.shuffle(words)
        rng.shuffle(names)
        self.words = words[:WORD_POOL]
        self.names = names[:NAME_POOL]
        self.words_cum = _zipf_cum(len(self.words))
        self.names_cum = _zipf_cum(len(self.names))

    def word(self, rng: random.Random) -> str:
        return self.words[bisect.bisect(self.words_cum, rng.random() * self.words_cum[-1])]

    def name(self, rng: random.Random) -> str:
        return self.names[bisect.bisect(self.names_cum, rng.random() * self.names_cum[-1])]


def vary(text: str, rng: random.Random, vocab: Vocabulary) -> str:
    """Substitute names, numbers and a share of the words (see the module doc)."""
    out: list[str] = []
    last = 0
    first = True
    for m in _TOKEN.finditer(text):
        tok = m.group()
        out.append(text[last:m.start()])
        last = m.end()
        if tok.isdigit():
            tok = str(rng.randrange(10 ** (len(tok) - 1) if len(tok) > 1 else 0, 10 ** len(tok)))
        elif tok[0].isupper():
            if not first and len(tok) >= 3 and not tok.isupper() and rng.random() < 0.7:
                tok = vocab.name(rng)
        elif len(tok) >= 4 and rng.random() < VARY_WORD:
            tok = vocab.word(rng)
        first = False
        out.append(tok)
    out.append(text[last:])
    return "".join(out)


def articles(n: int, *, seed: int = 2026, vocab: str = "varied", corpus: Path = CORPUS) -> Iterator[dict]:
    """The corpus, one record at a time."""
    rng = random.Random(seed)
    titles, sentences = load_corpus(corpus)
    voc = Vocabulary(random.Random(seed + 1)) if vocab == "varied" else None
    start = dt.date(2010, 1, 1).toordinal()
    span = dt.date(2025, 12, 31).toordinal() - start
    status_names = [s for s, _ in STATUSES]
    status_cum = list(itertools.accumulate(w for _, w in STATUSES))
    for i in range(n):
        title = rng.choice(titles)
        parts: list[str] = []
        size = 0
        target = int(rng.gauss(ARTICLE_CHARS, 350))
        j = rng.randrange(len(sentences))
        while size < target:
            # runs of consecutive sentences, like real paragraphs, from random places
            if rng.random() < 0.35:
                j = rng.randrange(len(sentences))
            s = sentences[j % len(sentences)]
            j += 1
            parts.append(s)
            size += len(s) + 1
        if voc is not None:
            title = vary(title, rng, voc)
            parts = [vary(s, rng, voc) for s in parts]
        paragraphs = []
        k = 0
        while k < len(parts):
            step = rng.randint(2, 5)
            paragraphs.append(" ".join(parts[k:k + step]))
            k += step
        body = "\n\n".join(paragraphs)
        publisher, domain = PUBLISHERS[rng.randrange(len(PUBLISHERS))]
        published = dt.date.fromordinal(start + rng.randrange(span + 1))
        slug = "-".join(re.findall(r"\w+", title.lower().translate(_SLUG), re.ASCII)[:8]) or "artykul"
        tags = rng.sample(TAGS, rng.choice((0, 1, 1, 2, 2, 3)))
        status = status_names[bisect.bisect(status_cum, rng.random() * status_cum[-1])]
        yield {
            "url": f"https://{domain}/aktualnosci/{published.year}/{i + 1}-{slug}",
            "title": title,
            "body": body,
            "published": published.isoformat(),
            "publisher": publisher,
            "tags": tags,
            "status": status,
        }


def write(out: Path, n: int, *, shard: int = 1000, seed: int = 2026, vocab: str = "varied") -> list[Path]:
    """Write the corpus as JSON-lines shards of `shard` records; returns the files (in order)."""
    out.mkdir(parents=True, exist_ok=True)
    files: list[Path] = []
    f = None
    try:
        for i, rec in enumerate(articles(n, seed=seed, vocab=vocab)):
            if i % shard == 0:
                if f is not None:
                    f.close()
                path = out / f"corpus-{i // shard:05d}.jsonl"
                files.append(path)
                f = open(path, "w", encoding="utf-8")  # noqa: SIM115 - one shard open at a time, closed below
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")
    finally:
        if f is not None:
            f.close()
    return files


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--articles", type=int, default=100_000)
    ap.add_argument("--out", type=Path, required=True, help="folder for the corpus-NNNNN.jsonl shards")
    ap.add_argument("--shard", type=int, default=1000, help="records per file")
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--vocab", choices=("varied", "recombine"), default="varied")
    a = ap.parse_args(argv)
    t0 = time.perf_counter()
    files = write(a.out, a.articles, shard=a.shard, seed=a.seed, vocab=a.vocab)
    size = sum(p.stat().st_size for p in files)
    print(f"{a.articles} articles ({a.vocab}) in {len(files)} files, {size / 1e6:.1f} MB, "
          f"{time.perf_counter() - t0:.1f} s -> {a.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
