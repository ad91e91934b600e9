"""`archivist source`: the exact bytes dropped for an article version, through the real command line."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

from archivist.archive import Archive
from archivist.ingest.model import ParsedArticle, ParseResult
from archivist.recording import SourceFile

URL = "https://lodz.policja.example.pl/komunikat"


def page(title: str, body: str) -> bytes:
    """An HTML page in ISO-8859-2, as its <meta> declares, with a terminal escape in its text."""
    html = (f'<html><head><meta charset="iso-8859-2"><title>{title}</title>'
            f'<link rel="canonical" href="{URL}"></head>'
            f"<body><article><h1>{title}</h1><p>{body}</p>\x1b[31m<p>Łódź, żółć.</p></article></body></html>\r\n")
    return html.encode("iso-8859-2")


V1 = page("Zażółć gęślą jaźń", "Policja w Łodzi ostrzega przed oszustami. " * 5)
V2 = page("Zażółć gęślą jaźń", "Policja w Łodzi ostrzega przed oszustami metodą na wnuczka. " * 5)
BINARY = b"WARC/1.0\r\n\x00\x01\x02\xff\xfe" + bytes(range(256)) * 4


def build(root: Path, tmp: Path) -> dict[str, str]:
    """A page ingested, then a changed version of it (two versions with their files), an article recorded
    through the Python API (no file), and one whose source is a binary file (a crawl)."""
    ids: dict[str, str] = {}
    with Archive.open(root, actor="test:source") as a:
        for n, data in (("v1", V1), ("v2", V2)):
            (tmp / n).mkdir()
            f = tmp / n / "komunikat.html"
            f.write_bytes(data)
            summary = a.ingest_files([(f, [])])
            assert summary.ingested + summary.revised == 1
        ids["page"] = a.search("oszustami").hits[0].id
        ids["api"] = a.publish(title="Bez pliku", body="Zapisane przez API.", published=dt.date(2020, 1, 1))
        digest = a.keep_bytes(BINARY)
        a.record_sources([SourceFile(name="crawl.warc.gz", digest=digest, size=len(BINARY), via="api",
                                     result=ParseResult(articles=(ParsedArticle(title="Strona z archiwum",
                                                                                body="Treść strony."),)))])
        ids["binary"] = a.search("archiwum").hits[0].id
    return ids


@pytest.fixture
def ids(archive_dir: Path, tmp_path: Path) -> dict[str, str]:
    return build(archive_dir, tmp_path)


def test_the_exact_bytes_of_each_version(cli, ids: dict[str, str], tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    latest = subprocess.run([sys.executable, "-m", "archivist.cli", "--archive", str(tmp_path / "archive"),
                             "source", ids["page"]], capture_output=True, cwd=ROOT)
    assert latest.returncode == 0 and latest.stdout == V2
    first = subprocess.run([sys.executable, "-m", "archivist.cli", "--archive", str(tmp_path / "archive"),
                            "source", ids["page"][:6], "--version", "1"], capture_output=True, cwd=ROOT)
    assert first.returncode == 0 and first.stdout == V1
    out = tmp_path / "out.html"
    r = cli("source", ids["page"], "--version", "1", "-o", str(out), "--json")
    assert r.code == 0 and out.read_bytes() == V1
    doc = r.json()
    assert doc["digest"] == hashlib.sha256(V1).hexdigest() and doc["file_name"] == "komunikat.html"
    assert (doc["version"], doc["versions"], doc["size"], doc["output"]) == (1, 2, len(V1), str(out))
    meta = cli("source", ids["page"], "--json").json()
    assert meta["version"] == 2 and meta["digest"] == hashlib.sha256(V2).hexdigest()
    binary = tmp_path / "crawl.warc.gz"
    assert cli("source", ids["binary"], "-o", str(binary)).code == 0 and binary.read_bytes() == BINARY


def test_no_file_or_no_such_version_is_not_found(cli, ids: dict[str, str], tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    r = cli("source", ids["api"])
    assert r.code == 1 and "no original" in r.err and r.out == ""
    r = cli("source", ids["page"], "--version", "3")
    assert r.code == 1 and "versions 1–2" in r.err
    assert cli("source", "ffffffffffff").code == 1


@pytest.mark.parametrize("damage", ["missing", "corrupt"])
def test_a_missing_or_damaged_blob_is_one_line_and_writes_nothing(cli, ids: dict[str, str], archive_dir: Path,  # type: ignore[no-untyped-def]
                                                                  tmp_path: Path, damage: str) -> None:
    blob = next(p for p in (archive_dir / "blobs").rglob(hashlib.sha256(V1).hexdigest()))
    if damage == "missing":
        blob.unlink()
    else:
        data = bytearray(blob.read_bytes())
        data[100] ^= 0x20
        os.chmod(blob, 0o600)
        blob.write_bytes(bytes(data))
    out = tmp_path / "out.html"
    for args in ([], ["-o", str(out)]):
        r = cli("source", ids["page"], "--version", "1", *args)
        assert r.code == 4, r.err
        assert r.out == "" and len(r.err.strip().splitlines()) == 1 and "Traceback" not in r.err
        assert ("missing" if damage == "missing" else "damaged") in r.err
    assert not out.exists() and not Path(str(out) + ".part").exists()
    assert cli("source", ids["page"]).code == 0  # the other version's file is intact


def _on_a_terminal(archive: Path, *args: str) -> tuple[int, bytes, bytes]:
    """Run the CLI with stdout on a pseudo-terminal: (exit code, what the terminal got, stderr)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "archivist.cli", "--archive", str(archive), *args],
                            stdout=slave, stderr=subprocess.PIPE, cwd=ROOT,
                            env={**os.environ, "COLUMNS": "100", "TERM": "xterm"})
    os.close(slave)
    got = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        got += chunk
    os.close(master)
    assert proc.stderr is not None
    err = proc.stderr.read()
    return proc.wait(timeout=60), got, err


def test_a_terminal_gets_text_never_binary_or_escapes(ids: dict[str, str], archive_dir: Path) -> None:
    code, shown, err = _on_a_terminal(archive_dir, "source", ids["binary"])
    assert code == 2 and b"-o FILE" in err and b"WARC" not in shown
    code, shown, err = _on_a_terminal(archive_dir, "source", ids["page"])
    assert code == 0, err
    text = shown.decode("utf-8")
    assert "Zażółć gęślą jaźń" in text  # decoded from ISO-8859-2 as ingest decoded it
    assert "\\x1b[31m" in text and "\x1b[31m" not in text  # the page's escape shown, not obeyed
