"""A throwaway PostgreSQL cluster for the team-mode tests: the system's own binaries, a temp folder, 127.0.0.1
on a free port, stopped at the end of the session (one cluster per xdist worker).

`initdb` refuses to run as root: as root, the cluster's folder belongs to the `postgres` user and every
server binary runs as it (`runuser`). Where no binaries are installed the tests skip and say so -- except in
CI (`CI=true`), where a skipped team suite would hide a broken one, so they fail instead.

The test cluster runs with `fsync=off`: no test crashes the machine (a server killed with `-m immediate` still
leaves its writes in the OS cache), and the suite must stay fast on two shared cores. `bench.log` starts its
own cluster with the defaults (fsync on).
"""

from __future__ import annotations

import contextlib
import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest


def _bindir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def unavailable() -> str | None:
    """Why the team tests cannot run here, or None."""
    if _bindir() is None:
        return "no PostgreSQL server binaries (/usr/lib/postgresql/*/bin/initdb) on this machine"
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg is not installed"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no `postgres` user to run initdb as"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Cluster:
    """One running server. `url(user, db)` gives a connection URL (trust authentication on 127.0.0.1)."""

    def __init__(self, *, fsync: bool = False) -> None:
        bindir = _bindir()
        assert bindir is not None
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="archivist-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self.superuser = "postgres"
        self._as_root = os.geteuid() == 0
        if self._as_root:
            pw = pwd.getpwnam("postgres")
            os.chown(self.root, pw.pw_uid, pw.pw_gid)
        os.chmod(self.root, 0o755)
        self._run("initdb", "-D", str(self.data), "-U", self.superuser, "-A", "trust", "-E", "UTF8",
                  "--no-locale", "--no-sync")
        conf = [
            "listen_addresses = '127.0.0.1'", f"port = {self.port}", f"unix_socket_directories = '{self.root}'",
            f"fsync = {'on' if fsync else 'off'}", "max_connections = 60", "shared_buffers = 64MB",
            "logging_collector = off",
        ]
        with open(self.data / "postgresql.conf", "a") as f:
            f.write("\n".join(conf) + "\n")
        self.start()

    def _run(self, binary: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
        cmd = [str(self.bindir / binary), *args]
        if self._as_root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        proc = subprocess.run(cmd, capture_output=True, timeout=120, cwd=self.root)
        if check and proc.returncode != 0:
            raise RuntimeError(f"{binary} failed ({proc.returncode}): {proc.stderr.decode(errors='replace')}"
                               f"{proc.stdout.decode(errors='replace')}")
        return proc

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "server.log"), "-w", "-t", "60", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop", check=False)

    def restart(self, mode: str = "fast") -> None:
        self.stop(mode)
        self.start()

    def url(self, user: str = "postgres", db: str = "postgres") -> str:
        return f"postgresql://{user}@127.0.0.1:{self.port}/{db}"

    def sql(self, statement: str, *, db: str = "postgres", user: str = "postgres") -> list[tuple]:  # type: ignore[type-arg]
        import psycopg

        with psycopg.connect(self.url(user, db), autocommit=True) as conn:
            cur = conn.execute(statement)  # type: ignore[arg-type]
            return cur.fetchall() if cur.description else []

    def destroy(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


_names = itertools.count(1)


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster]:
    why = unavailable()
    if why is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"team-mode tests cannot run in CI: {why}")
        pytest.skip(why)
    cluster = Cluster()
    try:
        yield cluster
    finally:
        cluster.destroy()


@pytest.fixture
def pg_db(pg_cluster: Cluster) -> Iterator[str]:
    """A fresh, empty database for one test; its URL (as the superuser)."""
    name = f"t{os.getpid()}_{next(_names)}"
    pg_cluster.sql(f"CREATE DATABASE {name}")
    try:
        yield pg_cluster.url(db=name)
    finally:
        with contextlib.suppress(Exception):
            pg_cluster.sql(f"DROP DATABASE {name} WITH (FORCE)")


def wait_until(predicate, timeout: float = 10.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return bool(predicate())


WRITER, READER = "archivist_writer", "archivist_reader"


def team_database(cluster: Cluster, db_url: str) -> dict[str, str]:
    """Set a fresh database up as README's "Team mode" says: the archive's tables created by the database's
    owner, a writer role (SELECT, INSERT) and a reader role (SELECT). The URL of each."""
    from store.pglog import BLOB_TABLE, LOG_TABLE, create_schema

    db = db_url.rsplit("/", 1)[1]
    for role in (WRITER, READER):
        cluster.sql(f"DO $$ BEGIN CREATE ROLE {role} LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$")
    create_schema(db_url)
    cluster.sql(f"GRANT SELECT, INSERT ON {LOG_TABLE}, {BLOB_TABLE} TO {WRITER}; "
                f"GRANT SELECT ON {LOG_TABLE}, {BLOB_TABLE} TO {READER}", db=db)
    return {"owner": db_url, "writer": cluster.url(WRITER, db), "reader": cluster.url(READER, db)}
