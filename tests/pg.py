"""A throwaway PostgreSQL cluster for the team-mode tests (`bench.pgserver`), one per session (one per xdist
worker), stopped at the end. Where no binaries are installed the tests skip and say so -- except in CI
(`CI=true`), where a skipped team suite would hide a broken one, so they fail instead.

The test cluster runs with `fsync=off`: no test crashes the machine (a server stopped with `-m immediate`
still leaves its writes in the OS cache), and the suite must stay fast on two shared cores. `bench.log` starts
its own cluster with the defaults (fsync on).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import time
from collections.abc import Iterator

import pytest

from bench.pgserver import Cluster, unavailable

__all__ = ["Cluster", "pg_cluster", "pg_db", "team_database", "wait_until"]


_names = itertools.count(1)


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster]:
    why = unavailable()
    if why is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"team-mode tests cannot run in CI: {why}")
        pytest.skip(why)
    cluster = Cluster(fsync=False)
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
