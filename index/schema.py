"""The Whoosh schema of the search index.

One document per article *version*: the article as it stood between two commits that changed it, with the
interval in which it was current (`valid_from`/`valid_to`, recorded time). Current documents have
`current=1`; as-of queries pick the versions whose interval holds the day asked about, straight from the
index. Bodies are not stored (the log has them; highlights read them from there): the index stays small.
"""

from __future__ import annotations

import datetime as dt

from whoosh import fields
from whoosh.analysis import RegexTokenizer

from index.analysis import polish_analyzer

FOREVER = dt.datetime(9999, 12, 31)
CHECKPOINT_DOC = "__checkpoint__"
# The index's on-disk meaning; an index written under another format is rebuilt from the log on open.
# 2: the checkpoint is anchored to the log (the hash of its last record); each document stores the
#    model's article; tags are one term each, whatever characters they hold (a comma too).
# 3: Morfeusz 2 lemmas (every common reading's) instead of simplemma's one (issue 13): other terms.
INDEX_FORMAT = 3
TAG_SEPARATOR = "\n"  # a normalised tag never holds a line break (`store.article.normalize_tag`)
TEXT_FIELDS = ("title", "body")
TITLE_BOOST = 2.0


def build_schema() -> fields.Schema:
    text = polish_analyzer()
    return fields.Schema(
        docid=fields.ID(stored=True, unique=True),  # "<article id>@<first position>", or CHECKPOINT_DOC
        id=fields.ID(stored=True),
        title=fields.TEXT(analyzer=text, stored=True, field_boost=TITLE_BOOST),
        body=fields.TEXT(analyzer=text, stored=False),
        url=fields.TEXT(analyzer=text, stored=False, phrase=True),  # every address the article had
        url_current=fields.STORED(),
        urls_all=fields.STORED(),
        publisher=fields.TEXT(analyzer=text, stored=True, phrase=True),
        publisher_facet=fields.ID(sortable=True),
        status=fields.ID(stored=True, sortable=True),
        tag=fields.KEYWORD(stored=True, sortable=True, analyzer=RegexTokenizer(r"[^\n]+")),
        published=fields.DATETIME(stored=True, sortable=True),
        year=fields.ID(sortable=True),
        event_date=fields.DATETIME(sortable=True),  # the published date, or the recorded time when unknown
        current=fields.ID(),
        valid_from=fields.DATETIME(stored=True, sortable=True),
        valid_to=fields.DATETIME(stored=True),
        first_position=fields.NUMERIC(stored=True, bits=64, signed=False),
        content_position=fields.NUMERIC(stored=True, bits=64, signed=False),
        version=fields.NUMERIC(stored=True),
        article=fields.STORED(),  # the model's article (msgpack): what this version was, field for field
        checkpoint=fields.NUMERIC(stored=True, bits=64, signed=False),
        anchor=fields.STORED(),  # hex SHA-256 of the log record at `checkpoint`
        format=fields.STORED(),  # INDEX_FORMAT of the index that wrote the checkpoint
        spell=fields.KEYWORD(lowercase=True, scorable=False),  # surface words, for "did you mean"
    )


def join_tags(tags: list[str]) -> str:
    return TAG_SEPARATOR.join(tags)


def split_tags(stored: str | None) -> list[str]:
    return [t for t in (stored or "").split(TAG_SEPARATOR) if t]


# The facets a search counts: name shown -> the sortable field whose column holds the value.
FACETS = {"status": "status", "year": "year", "publisher": "publisher_facet"}
