"""Fixtures: a store on SQLite and on a real PostgreSQL server started from the
installed binaries (never a mock)."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

from junkai.store import Store


def _pg_bindir() -> Path:
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if Path(candidate, "pg_ctl").exists():
            return Path(candidate)
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).resolve().parent
    raise RuntimeError("PostgreSQL server binaries not found; run `make test` to install them")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def pg_server():
    """A throw-away PostgreSQL server; as root it runs as the postgres user, which initdb requires."""
    bindir = _pg_bindir()
    root = Path(tempfile.mkdtemp(prefix="junkai-pg-"))
    data, sock = root / "data", root / "sock"
    sock.mkdir()
    prefix: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(sock, "postgres")
        prefix = ["runuser", "-u", "postgres", "--"]
    port = _free_port()
    subprocess.run(prefix + [str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres",
                             "-E", "UTF8", "--no-locale"], check=True, capture_output=True)
    opts = f"-p {port} -k {sock} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off"
    subprocess.run(prefix + [str(bindir / "pg_ctl"), "-D", str(data), "-o", opts, "-l", str(root / "log"),
                             "-w", "-t", "60", "start"], check=True, capture_output=True)
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}"
    finally:
        subprocess.run(prefix + [str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


def new_pg_database(server_url: str) -> str:
    from tests.station import new_database

    return new_database(server_url)


@pytest.fixture(scope="session")
def printed_station(tmp_path_factory):
    """The printed-and-scanned station of tests/station.py, built once; copy it before changing it."""
    from tests import station

    return station.build(tmp_path_factory.mktemp("station") / "station")


@pytest.fixture(scope="session")
def printed_station_pg(printed_station, pg_server) -> str:
    """The same station's store on PostgreSQL: a database name to use as a template, never to change."""
    from tests import station

    return station.on_postgresql(printed_station, pg_server)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'junkai.sqlite3'}"
    return new_pg_database(request.getfixturevalue("pg_server"))


@pytest.fixture
def store(db_url, tmp_path):
    s = Store(db_url, tmp_path)  # the data folder holds the audit key and head file
    s.migrate()
    yield s
    s.close()


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A data folder for CLI tests; the operator is the OS account running them."""
    h = tmp_path / "home"
    monkeypatch.setenv("JUNKAI_HOME", str(h))
    monkeypatch.delenv("JUNKAI_DB_URL", raising=False)
    monkeypatch.delenv("JUNKAI_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    return h
