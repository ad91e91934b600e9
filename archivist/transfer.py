"""`export` and `import`: the log as NDJSON, lossless (every record with its hashes, every source's bytes)."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from typing import IO, TYPE_CHECKING

import msgspec

from archivist import errors
from store import events as ev
from store.log import AppendRequest, decode_record, encode_record, record_hash

if TYPE_CHECKING:
    from archivist.archive import Archive


class ExportLine(msgspec.Struct, kw_only=True, omit_defaults=True):
    """One NDJSON line of `export`: a record with its hashes, or a blob (`blob` + base64 `data`)."""

    position: int | None = None
    stream: str | None = None
    version: int | None = None
    recorded_at: dt.datetime | None = None
    actor: str | None = None
    prev_hash: str | None = None
    hash: str | None = None
    event: ev.AnyEvent | None = None
    blob: str | None = None
    data: bytes | None = None


_export_encoder = msgspec.json.Encoder()
_export_decoder = msgspec.json.Decoder(ExportLine)


def export(archive: Archive, out: IO[bytes], *, blobs: bool = True) -> int:
    """Write the log as NDJSON, each record with its hashes, each source's bytes after its record."""
    n = 0
    for _, payload in archive.log.read_raw():
        r = decode_record(payload)
        line = ExportLine(position=r.position, stream=r.stream, version=r.version,
                          recorded_at=r.recorded_at, actor=r.actor, prev_hash=r.prev_hash.hex(),
                          hash=record_hash(payload).hex(), event=r.event)
        out.write(_export_encoder.encode(line) + b"\n")
        n += 1
        if blobs and isinstance(r.event, ev.SourceReceived | ev.SourceRejected) \
                and archive.blobs.exists(r.event.digest):
            out.write(_export_encoder.encode(ExportLine(blob=r.event.digest,
                                                        data=archive.blobs.get(r.event.digest))) + b"\n")
    return n


def import_(archive: Archive, lines: IO[bytes], *, batch: int = 1000,
            progress: Callable[[int], None] | None = None) -> int:
    """Load an export into an empty archive; every record keeps its position, time, actor and hash.
    `progress(n)`: n more bytes read."""
    if archive.log.head() != 0:
        raise errors.UsageError("import needs an empty archive (it keeps every record's position)")
    pending: list[tuple[AppendRequest, str]] = []
    n = 0

    def flush() -> None:
        nonlocal n
        if not pending:
            return
        records = archive.log.append_batch([req for req, _ in pending])
        for rec, (_, want) in zip(records, pending, strict=True):
            if record_hash(encode_record(rec)).hex() != want:
                raise errors.IntegrityError(f"record {rec.position} does not re-hash to its exported hash")
        n += len(records)
        pending.clear()

    for lineno, raw in enumerate(lines, 1):
        if progress is not None:
            progress(len(raw))
        if not raw.strip():
            continue
        try:
            line = _export_decoder.decode(raw)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise errors.InputRejected(f"line {lineno}: not an export line: {exc}") from exc
        if line.blob is not None:
            if line.data is None or hashlib.sha256(line.data).hexdigest() != line.blob:
                raise errors.InputRejected(f"line {lineno}: blob {line.blob} does not match its bytes")
            archive.blobs.put(line.data)
            continue
        if None in (line.position, line.stream, line.version, line.recorded_at, line.actor, line.event,
                    line.hash):
            raise errors.InputRejected(f"line {lineno}: a record needs position, stream, version, "
                                       "recorded_at, actor, hash and event")
        if line.position != n + len(pending) + 1:
            raise errors.InputRejected(f"line {lineno}: position {line.position} out of order")
        assert line.event is not None and line.stream is not None
        pending.append((AppendRequest(line.stream, [line.event], line.version - 1,  # type: ignore[operator]
                                      actor=line.actor, recorded_at=line.recorded_at), line.hash or ""))
        if len(pending) >= batch:
            flush()
    flush()
    archive.refresh()
    archive.index.catch_up()
    return n
