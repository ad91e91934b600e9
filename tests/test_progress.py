"""Progress bars (`archivist.progress`): drawn on stderr when it is a terminal, nothing when it is not."""

from __future__ import annotations

import io
import os
import pty
import subprocess
import sys
import threading
from pathlib import Path

from conftest import ROOT

from archivist.progress import progress, progress_of


def _read_all(fd: int, into: list[bytes]) -> None:
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            return
        if not chunk:
            return
        into.append(chunk)


def test_nothing_is_drawn_when_the_stream_is_not_a_terminal() -> None:
    stream = io.StringIO()
    with progress("ingesting", 3, stream=stream) as advance:
        advance()
        advance(2)
        with progress_of("indexing", stream=stream)(10) as inner:
            inner(10)
    assert stream.getvalue() == ""


def test_a_terminal_gets_one_display_with_a_row_per_piece_of_work() -> None:
    master, slave = pty.openpty()
    got: list[bytes] = []
    reader = threading.Thread(target=_read_all, args=(master, got))
    reader.start()
    with os.fdopen(slave, "w", encoding="utf-8") as stream, progress("ingesting", 4, stream=stream) as advance:
        advance(3)
        with progress("importing", 2048, unit="bytes", stream=stream) as inner:  # inside: no LiveError
            inner(1024)
    reader.join(timeout=10)
    os.close(master)
    text = b"".join(got).decode("utf-8", "replace")
    assert "ingesting" in text and "3/4" in text
    assert "importing" in text and "/2.0 kB" in text  # sizes for bytes


def _cli_on_terminal(archive: Path, *args: str, tty: bool) -> tuple[int, str]:
    """Run the CLI with stderr on a pseudo-terminal (or a pipe): (exit code, what stderr got)."""
    env = {**os.environ, "ARCHIVIST_INDEX_CHUNK": "5", "COLUMNS": "100"}
    cmd = [sys.executable, "-m", "archivist.cli", "--archive", str(archive), *args]
    if not tty:
        proc = subprocess.run(cmd, capture_output=True, cwd=ROOT, env=env, timeout=300)
        return proc.returncode, proc.stderr.decode("utf-8", "replace")
    master, slave = pty.openpty()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=slave, cwd=ROOT, env=env)
    os.close(slave)
    got: list[bytes] = []
    _read_all(master, got)
    os.close(master)
    return p.wait(timeout=300), b"".join(got).decode("utf-8", "replace")


def test_long_commands_draw_bars_only_on_a_terminal(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for i in range(30):
        (inbox / f"a{i}.txt").write_text(f"Komunikat {i}\n\nPolicja ostrzega przed oszustami, numer {i}.\n",
                                         encoding="utf-8")
    archive = tmp_path / "a"
    code, err = _cli_on_terminal(archive, "ingest", str(inbox), tty=True)
    assert code == 0 and "ingesting" in err and "indexing" in err and "━" in err
    code, err = _cli_on_terminal(archive, "rebuild", tty=True)
    assert code == 0 and "rebuilding the index" in err
    code, err = _cli_on_terminal(archive, "export", "-o", str(tmp_path / "e.ndjson"), tty=False)
    assert code == 0
    code, err = _cli_on_terminal(tmp_path / "b", "import", str(tmp_path / "e.ndjson"), tty=True)
    assert code == 0 and "importing" in err and "indexing" in err

    # the same with stderr not a terminal: not a trace of a bar
    inbox2 = tmp_path / "inbox2"
    inbox2.mkdir()
    for i in range(30):
        (inbox2 / f"b{i}.txt").write_text(f"Inny komunikat {i}\n\nStraż ostrzega, numer {i}.\n", encoding="utf-8")
    for args, where in ((("ingest", str(inbox2)), archive), (("rebuild",), archive),
                        (("import", str(tmp_path / "e.ndjson")), tmp_path / "c")):
        code, err = _cli_on_terminal(where, *args, tty=False)
        assert code == 0, err
        assert "━" not in err and "\x1b" not in err and "indexing" not in err
