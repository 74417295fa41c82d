"""Backup and restore: a seeded store with printed cards and a kept scan is backed up while
another writer keeps appending, restored into an empty data folder elsewhere, and comes
back equal table by table, with its key and files, owner-only, its audit chain intact."""

from __future__ import annotations

import hashlib
import json
import shutil
import stat
import threading
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from junkai import settings
from junkai.cli import app
from junkai.store import Store, metadata

runner = CliRunner()


def run(*args):
    return runner.invoke(app, list(args))


def tables(url: str) -> dict[str, list[tuple]]:
    store = Store(url)
    try:
        with store.transaction():
            out = {}
            for t in metadata.sorted_tables:
                out[t.name] = [tuple(r) for r in store.conn.execute(sa.select(t).order_by(*t.primary_key.columns))]
            out["alembic_version"] = [tuple(r) for r in store.conn.execute(sa.text("SELECT * FROM alembic_version"))]
        return out
    finally:
        store.close()


@pytest.fixture
def source(home, tmp_path):
    r = run("seed", "--premises", "40", "--seed", "3", "--until", "2026-11-20")
    assert r.exit_code == 0, r.output
    r = run("print", "cards", "--beat", "S01-P01-B1", "--out-dir", str(tmp_path / "out"))
    assert r.exit_code == 0, r.output
    from junkai.ingest import keep, sha256_of

    scan = tmp_path / "scan.pdf"
    scan.write_bytes(b"%PDF-1.7 a returned card")
    sha = sha256_of(scan)
    kept = keep(home, scan, sha)
    crop = home / "crops" / "X-1" / "home_phone.png"
    crop.parent.mkdir(parents=True)
    crop.write_bytes(b"png")
    s = settings.load()
    store = Store(s.db_url)
    with store.transaction():
        store.add_scan_file(sha, scan.name, scan.stat().st_size, str(kept), datetime.now(), "試験")
    store.close()
    return home


@pytest.mark.slow
def test_backup_restores_an_equal_store_elsewhere(source, tmp_path, monkeypatch):
    s = settings.load()
    writer = Store(s.db_url)
    stop, written = threading.Event(), []

    def keep_writing():  # another process of the station at work during the backup
        while not stop.is_set():
            with writer.transaction():
                writer.audit("夜間処理", "history", "premises", "1")
            written.append(1)

    thread = threading.Thread(target=keep_writing)
    thread.start()
    try:
        r = run("backup", str(tmp_path / "bk"))
    finally:
        stop.set()
        thread.join()
        writer.close()
    assert r.exit_code == 0, r.output
    assert written, "the writer never ran during the backup"
    bk = tmp_path / "bk"
    # owner-only throughout, nothing half-written beside it
    for p in [bk, *bk.rglob("*")]:
        mode = stat.S_IMODE(p.stat().st_mode)
        assert mode == (0o700 if p.is_dir() else 0o600), (p, oct(mode))
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".bk")] == []
    manifest = json.loads((bk / "manifest.json").read_text(encoding="utf-8"))
    assert {"junkai.sqlite3", "print.key", "keys/audit.key", "audit-head.log"} <= set(manifest["files"])
    assert any(n.startswith("scans/") for n in manifest["files"]) and "crops/X-1/home_phone.png" in manifest["files"]
    # the snapshot is consistent although the writer kept going: its own chain verifies
    # (a copy: opening a store switches it to WAL, which would change the backed-up file)
    shutil.copyfile(bk / "junkai.sqlite3", tmp_path / "snap.sqlite3")
    snap = Store(f"sqlite:///{tmp_path / 'snap.sqlite3'}", bk)  # with the backup's audit key and head file
    with snap.transaction():
        assert snap.verify_audit()[1] is None
        backed = snap.audit_events(what="backup")
    snap.close()
    assert len(backed) == 1
    # restore elsewhere
    expected = tables(f"sqlite:///{tmp_path / 'snap.sqlite3'}")
    other = tmp_path / "elsewhere" / "data"
    monkeypatch.setenv("JUNKAI_HOME", str(other))
    r = run("restore", str(bk))
    assert r.exit_code == 0, r.output
    got = tables(settings.load().db_url)
    restored_audit = got.pop("audit")
    assert restored_audit[:-1] == expected.pop("audit")
    assert restored_audit[-1][3] == "restore"  # the restore itself is the one new row
    got["audit_head"] = expected["audit_head"]  # moved on by that row
    assert got == expected
    assert run("audit", "verify").exit_code == 0
    assert (other / "print.key").read_bytes() == (source / "print.key").read_bytes()
    for name in manifest["files"]:
        if name == "audit-head.log":  # both went on: the source's writer, the restore's own row
            assert (other / name).read_bytes().startswith((bk / name).read_bytes())
        elif name != "junkai.sqlite3":
            assert (other / name).read_bytes() == (source / name).read_bytes(), name
            assert stat.S_IMODE((other / name).stat().st_mode) == 0o600
    # and it works: a restored store prints with the restored key
    r = run("print", "cards", "--blank", "1", "--beat", "S01-P01-B1", "--out-dir", str(tmp_path / "out2"))
    assert r.exit_code == 0, r.output


@pytest.mark.slow
def test_restore_never_overwrites_and_refuses_a_damaged_backup(source, tmp_path, monkeypatch):
    bk = tmp_path / "bk"
    assert run("backup", str(bk)).exit_code == 0
    r = run("backup", str(bk))
    assert r.exit_code == 2 and "すでにあります" in r.output
    # into the data folder it came from: refused, and the store is untouched
    before = hashlib.sha256((source / "junkai.sqlite3").read_bytes()).hexdigest()
    r = run("restore", str(bk))
    assert r.exit_code == 2 and "空ではありません" in r.output
    assert hashlib.sha256((source / "junkai.sqlite3").read_bytes()).hexdigest() == before
    # a changed file in the backup: refused before anything is written
    key = bk / "print.key"
    key.write_text("00" * 32 + "\n")
    monkeypatch.setenv("JUNKAI_HOME", str(tmp_path / "new"))
    r = run("restore", str(bk))
    assert r.exit_code == 2 and "print.key" in r.output and "異なります" in r.output
    assert not (tmp_path / "new").exists()


@pytest.mark.slow
def test_postgresql_is_backed_up_with_pg_dump_beside_the_files(pg_server, home, tmp_path, monkeypatch):
    """The procedure of the README: pg_dump, junkai backup; then pg_restore into a new database
    and junkai restore into an empty data folder."""
    import subprocess

    from tests.conftest import _pg_bindir, new_pg_database

    url = new_pg_database(pg_server)
    monkeypatch.setenv("JUNKAI_DB_URL", url)
    assert run("seed", "--premises", "30", "--seed", "4", "--until", "2026-11-20").exit_code == 0
    assert run("print", "cards", "--beat", "S01-P01-B1", "--out-dir", str(tmp_path / "out")).exit_code == 0
    bindir = _pg_bindir()
    dump = tmp_path / "junkai.dump"
    subprocess.run([bindir / "pg_dump", "-Fc", "-f", dump, url.replace("postgresql+psycopg", "postgresql")],
                   check=True, capture_output=True)
    expected = tables(url)
    r = run("backup", str(tmp_path / "bk"))
    assert r.exit_code == 0 and "pg_dump" in r.output, r.output
    manifest = json.loads((tmp_path / "bk" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["database"] == "postgresql" and "print.key" in manifest["files"]
    assert "junkai.sqlite3" not in manifest["files"]
    target = new_pg_database(pg_server)
    subprocess.run([bindir / "pg_restore", "-d", target.replace("postgresql+psycopg", "postgresql"), dump],
                   check=True, capture_output=True)
    monkeypatch.setenv("JUNKAI_DB_URL", target)
    monkeypatch.setenv("JUNKAI_HOME", str(tmp_path / "elsewhere"))
    r = run("restore", str(tmp_path / "bk"))
    assert r.exit_code == 0, r.output
    got = tables(target)
    assert got.pop("audit")[:-1] == expected.pop("audit")
    got["audit_head"] = expected["audit_head"]
    assert got == expected
    assert (tmp_path / "elsewhere" / "print.key").read_bytes() == (home / "print.key").read_bytes()
    assert run("audit", "verify").exit_code == 0
