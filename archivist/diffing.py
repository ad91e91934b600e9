"""Word-level differences between two versions of an article's title and text."""

from __future__ import annotations

import difflib
import re

import msgspec

_TOKENS = re.compile(r"\s+|[^\s]+")


class DiffOp(msgspec.Struct, array_like=False, kw_only=True):
    op: str  # equal / insert / delete
    text: str


def word_diff(old: str, new: str) -> list[DiffOp]:
    """Equal runs, deletions and insertions, word by word (whitespace kept so the text reads as written)."""
    a, b = _TOKENS.findall(old), _TOKENS.findall(new)
    ops: list[DiffOp] = []
    matcher = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            _push(ops, "equal", "".join(a[i1:i2]))
        else:
            if i2 > i1:
                _push(ops, "delete", "".join(a[i1:i2]))
            if j2 > j1:
                _push(ops, "insert", "".join(b[j1:j2]))
    return ops


def _push(ops: list[DiffOp], op: str, text: str) -> None:
    if not text:
        return
    if ops and ops[-1].op == op:
        ops[-1] = DiffOp(op=op, text=ops[-1].text + text)
    else:
        ops.append(DiffOp(op=op, text=text))


def changed(ops: list[DiffOp]) -> bool:
    return any(o.op != "equal" for o in ops)
