"""A throwaway PostgreSQL server from the system's binaries (`/usr/lib/postgresql/*/bin`): a temp folder,
127.0.0.1 on a free port, trust authentication. For the team-mode tests (tests/pg.py) and `bench.log`.

`initdb` refuses to run as root: as root, the cluster's folder belongs to the `postgres` user and every
server binary runs as it (`runuser`).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path


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

    def __init__(self, *, fsync: bool = True) -> None:
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
