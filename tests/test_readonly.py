"""A member of the group an archive is shared with (`init --group`) may read it but not write to it: every
reading command works for that user, every recording one is refused in one line (exit 2), and nothing in the
archive changes. Run as a real unprivileged user: root ignores file permissions."""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import REAL_CACHE, ROOT, CLIResult, run_cli

from archivist import errors
from archivist.archive import Archive

PACKAGES = ("archivist", "store", "index", "tui")


def _tree(root: Path) -> dict[str, tuple[int, int, int]]:
    """Every file and folder of the archive with its size, mtime and mode: what a reader must leave alone."""
    out = {}
    for path in [root, *root.rglob("*")]:
        st = path.lstat()
        out[path.relative_to(root).as_posix()] = (st.st_size if not path.is_dir() else 0, st.st_mtime_ns,
                                                  st.st_mode)
    return out


class Reader:
    """A throwaway user in a throwaway group, running this worktree's CLI."""

    def __init__(self, base: Path, user: str, python: str, pythonpath: str) -> None:
        self.base, self.user, self.python, self.pythonpath = base, user, python, pythonpath
        self.home = base / "home"

    def env(self) -> dict[str, str]:
        return {"PATH": "/usr/bin:/bin", "HOME": str(self.home), "USER": self.user, "LANG": "C.UTF-8",
                "XDG_DATA_HOME": str(self.home / "data"), "XDG_CACHE_HOME": str(self.home / "cache"),
                "XDG_CONFIG_HOME": str(self.home / "config"), "ARCHIVIST_CACHE_DIR": str(self.home / "lemmas"),
                "PYTHONPATH": self.pythonpath, "PYTHONDONTWRITEBYTECODE": "1", "COLUMNS": "120"}

    def run(self, *args: str, input: bytes | None = None) -> CLIResult:
        cmd = [shutil.which("runuser") or "runuser", "-u", self.user, "--", self.python, *args]
        return CLIResult(subprocess.run(cmd, input=input, capture_output=True, timeout=180, env=self.env(),
                                        cwd=self.home))

    def cli(self, archive: Path, *args: str) -> CLIResult:
        return self.run("-m", "archivist.cli", "--archive", str(archive), *args)


def _interpreters() -> list[tuple[str, str]]:
    """(python, PYTHONPATH suffix) to try: ours, then the system's of the same version with our packages
    (ours may sit under a folder the user cannot enter, e.g. pyenv in /root)."""
    site = [sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]]
    found = [(sys.executable, "")]
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    for folder in ("/usr/bin", "/usr/local/bin", "/bin"):
        cand = Path(folder) / version
        if cand.exists() and cand.resolve() != Path(sys.executable).resolve():
            found.append((str(cand), os.pathsep.join(dict.fromkeys(site))))
    return found


@pytest.fixture
def reader() -> Iterator[Reader]:
    tools = [t for t in ("useradd", "groupadd", "userdel", "groupdel", "runuser") if shutil.which(t) is None]
    if os.geteuid() != 0 or tools:
        pytest.skip("needs root and useradd/groupadd/runuser to run the CLI as another user "
                    f"({'not root' if os.geteuid() else 'missing ' + ', '.join(tools)})")
    name = f"arcro{os.getpid() % 100000}"
    base = Path(tempfile.mkdtemp(prefix="archivist-readonly-", dir="/tmp"))
    base.chmod(0o755)  # the user must reach the archive and its own home in here
    made: list[list[str]] = []
    try:
        subprocess.run(["groupadd", name], check=True, capture_output=True)
        made.append(["groupdel", name])
        subprocess.run(["useradd", "--no-create-home", "--home-dir", str(base / "home"), "-g", name,
                        "--shell", "/bin/sh", name], check=True, capture_output=True)
        made.insert(0, ["userdel", name])
        # This worktree's packages, copied where the user may read them (the worktree may be private);
        # the lemma table's cache too (built once per machine; rebuilding it takes ~30 s).
        code = base / "code"
        for pkg in PACKAGES:
            shutil.copytree(ROOT / pkg, code / pkg)
        home = base / "home"
        shutil.copytree(REAL_CACHE, home / "lemmas", ignore=shutil.ignore_patterns("*.lock"))
        for path in [code, *code.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
        subprocess.run(["chown", "-R", f"{name}:{name}", str(home)], check=True)
        tried = []
        for python, site in _interpreters():
            r = Reader(base, name, python, os.pathsep.join(p for p in (str(code), site) if p))
            probe = r.run("-c", "import archivist.cli, index.projection, whoosh, msgspec, numpy, textual")
            if probe.code == 0:
                break
            tried.append(f"{python}: {probe.err.strip().splitlines()[-1] if probe.err.strip() else probe.code}")
        else:
            pytest.skip(f"no Python the user {name} may run with this project's packages ({'; '.join(tried)})")
        yield r
    finally:
        for cmd in made:
            subprocess.run(cmd, capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


def _one_line_refusal(r: CLIResult) -> str:
    assert r.code == 2, (r.code, r.err)
    assert "Traceback" not in r.err
    lines = r.err.strip().splitlines()
    assert len(lines) == 1, r.err
    assert "may read the archive" in lines[0] and "not write to it" in lines[0], lines[0]
    return lines[0]


def test_a_reader_takes_no_lock_and_writes_nothing(tmp_path: Path) -> None:
    """DESIGN: readers tail the log without locks. With a writer holding the log's and the index's locks, a
    read-only archive still opens, searches and shows; recording is refused; not a byte of the archive moves."""
    root = tmp_path / "archive"
    with Archive.open(root) as a:
        aid = a.publish(title="Komunikat policji", body="Treść komunikatu.", url="https://example.pl/k")
    before = _tree(root)
    locks = [os.open(root / "log" / "LOCK", os.O_RDWR), os.open(root / "index.lock", os.O_RDWR)]
    for fd in locks:
        fcntl.flock(fd, fcntl.LOCK_EX)  # a writer in the middle of an append
    answers: dict[str, object] = {}

    def read() -> None:
        with Archive.open(root, readonly=True) as r:
            answers["hits"] = [h.id for h in r.search("komunikat").hits]
            answers["title"] = r.show(aid).title
            answers["lag"] = r.index_lag()
            with pytest.raises(errors.ReadOnlyArchive) as refused:
                r.tag(aid, "x")
            answers["refused"] = refused.value.exit_code

    try:
        t = threading.Thread(target=read, daemon=True)
        t.start()
        t.join(60)
        assert not t.is_alive(), "the reader waited for a writer's lock"
    finally:
        for fd in locks:
            os.close(fd)
    assert answers == {"hits": [aid], "title": "Komunikat policji", "lag": 0, "refused": 2}
    assert _tree(root) == before


@pytest.mark.slow  # ~30 CLI runs as another user (about a minute here)
def test_a_group_member_reads_a_shared_archive_and_may_not_write(reader: Reader) -> None:
    root = reader.base / "archive"
    assert run_cli(root, "init", "--group", reader.user).code == 0
    ingested = run_cli(root, "ingest", str(ROOT / "archivist" / "samples" / "policja"), "--json")
    assert ingested.code == 0, ingested.err
    hits = run_cli(root, "search", "policja", "--json").json()
    assert hits["total"] > 0
    aid, url = hits["hits"][0]["id"], hits["hits"][0]["url"]
    before = _tree(root)

    # Reading: every command works, and the answers are the owner's.
    r = reader.cli(root, "search", "policja", "--json")
    assert r.code == 0 and r.json() == {**hits, "took_ms": r.json()["took_ms"]}, r.err
    assert r.err == ""  # the index is not behind: nothing to say
    for args in (("show", aid, "--json"), ("history", aid, "--json"), ("stats", "--json"), ("links", "--json"),
                 ("diff", aid, "--json")):
        mine, theirs = run_cli(root, *args), reader.cli(root, *args)
        assert (theirs.code, theirs.out) == (mine.code, mine.out) and "Traceback" not in theirs.err, (args, theirs.err)
    assert reader.cli(root, "resolve", url, "--json").json()["article_id"] == aid
    v = reader.cli(root, "verify", "--json")
    assert v.code == 0 and v.json()["ok"] and v.json()["warnings"] == [], v.out + v.err
    ui = reader.run("-c", "import sys; from tui.app import make_app; app = make_app(sys.argv[1]); "
                          "print(app.archive.readonly, app.archive.search('policja').total)", str(root))
    assert ui.code == 0 and ui.out.split() == ["True", str(hits["total"])], ui.err  # what `archivist tui` opens
    exported = reader.home / "export.ndjson"
    assert reader.cli(root, "export", "-o", str(exported)).code == 0
    assert exported.read_bytes() == run_cli(root, "export").out.encode()

    init = reader.cli(root, "init", "--json")  # idempotent, and says what this user may do
    assert init.code == 0 and init.json()["writable"] is False and init.json()["group"] == reader.user

    # Recording: refused in one line, exit 2 (the CLI's usage and permission code), before any work.
    inbox = reader.home / "in"
    shutil.copytree(ROOT / "archivist" / "samples" / "mswia", inbox)
    subprocess.run(["chown", "-R", f"{reader.user}:{reader.user}", str(inbox)], check=True)
    for args in (("ingest", str(inbox)), ("tag", aid, "x"), ("withdraw", aid, "--reason", "r"),
                 ("archive", aid), ("relocate", aid, "https://example.pl/nowy"), ("rebuild",),
                 ("watch", str(inbox)), ("import", str(exported))):
        _one_line_refusal(reader.cli(root, *args))
    assert reader.cli(root, "tag", aid, "x", "--json").json()["code"] == 2
    assert _tree(root) == before  # nothing written, no lock file, snapshot, sidecar or summary made

    # The index behind the log (a writer's deferred catch-up): searched as it is, and said so on stderr.
    with Archive.open(root) as a:
        a.defer_index = True
        new = a.publish(title="Nowy komunikat policji", body="Treść nowego komunikatu.",
                        url="https://example.pl/nowy-komunikat")
        a.withdraw(aid, "błąd")
    before = _tree(root)
    r = reader.cli(root, "search", "komunikat", "--json")
    assert r.code == 0 and new not in {h["id"] for h in r.json()["hits"]}
    assert "2 events behind the log" in r.err and len(r.err.strip().splitlines()) == 1, r.err
    v = reader.cli(root, "verify", "--json")
    assert v.code == 0 and v.json()["ok"], v.out + v.err
    assert any("2 events behind" in w for w in v.json()["warnings"])
    assert reader.cli(root, "show", new, "--json").json()["id"] == new  # the state reads the log itself
    assert _tree(root) == before

    # No index on disk: the reader searches one built in memory from the log (everything, nothing lags).
    shutil.rmtree(root / "index")
    before = _tree(root)
    r = reader.cli(root, "search", "komunikat", "--json")
    assert r.code == 0 and new in {h["id"] for h in r.json()["hits"]} and r.err == "", r.err
    assert aid not in {h["id"] for h in reader.cli(root, "search", "", "--json", "--limit", "1000").json()["hits"]}
    assert _tree(root) == before

    # The owner's next command catches the index up (read-your-writes unchanged for writers).
    assert run_cli(root, "search", "komunikat", "--json").json()["total"] >= 1
