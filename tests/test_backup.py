"""Backup and restore: a seeded store with printed cards and a kept scan is backed up while
another writer keeps appending, into one encrypted file that shows nothing without the key,
restored into an empty data folder elsewhere with the key kept apart, and comes back equal
table by table, with its key and files, owner-only, its audit chain intact. A backup whose
names leave the data folder, whose manifest is unsigned or signed with another key, or a
restore by someone who is not the store's administrator, is refused before anything is written."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import stat
import tarfile
import threading
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from junkai import backup as B
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


@pytest.fixture
def key(source, tmp_path):
    """The backup key: its secret half outside the data folder (on another medium, in real life)."""
    ident = tmp_path / "usb" / "junkai-backup.key"
    ident.parent.mkdir()
    r = run("backup-key", str(ident))
    assert r.exit_code == 0, r.output
    return ident


def forged(tmp_path: Path, keys: B.Keys, members: dict[str, bytes], manifest_names: dict[str, bytes] | None = None,
           signature: bytes | None | str = "right") -> Path:
    """A backup made by hand: `members` in the tar, a manifest listing `manifest_names` (default the members)
    with their true SHA-256, signed with the right key, another key, or not at all; encrypted to the recipient."""
    import pyrage

    listed = {n: hashlib.sha256(d).hexdigest() for n, d in (manifest_names or members).items()}
    manifest = json.dumps(dict(format=B.FORMAT, created_at="2026-11-20T00:00:00", database="sqlite", rows={},
                               files=listed)).encode()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        extra = {B.MANIFEST: manifest}
        if signature == "right":
            extra[B.SIGNATURE] = B.sign(manifest, keys.manifest_key).encode()
        elif signature is not None:
            extra[B.SIGNATURE] = signature
        for name, data in {**members, **extra}.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    path = tmp_path / f"forged-{len(list(tmp_path.glob('forged-*')))}.age"
    path.write_bytes(pyrage.encrypt(buf.getvalue(), [pyrage.x25519.Recipient.from_str(keys.recipient)]))
    return path


@pytest.mark.slow
def test_backup_restores_an_equal_store_elsewhere(source, key, tmp_path, monkeypatch):
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
        r = run("backup", str(tmp_path / "bk.age"))
    finally:
        stop.set()
        thread.join()
        writer.close()
    assert r.exit_code == 0, r.output
    assert written, "the writer never ran during the backup"
    bk = tmp_path / "bk.age"
    assert stat.S_IMODE(bk.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".bk")] == []
    assert [p.name for p in source.iterdir() if p.name.startswith(".backup")] == []  # the plain snapshot is gone
    # encrypted: nothing of the store, the names inside or the key shows without the key
    data = bk.read_bytes()
    assert data.startswith(b"age-encryption.org/v1")
    for plain in (b"SQLite format", b"manifest", b"junkai.sqlite3", b"print.key", b"home_phone",
                  (source / "print.key").read_bytes()[:16]):
        assert plain not in data, plain
    # the backup's own row is written once it is complete
    store = Store(s.db_url)
    with store.transaction():
        backed = [e for e in store.audit_events(what="backup") if e["action"] == "backup"]
        assert len(backed) == 1 and str(bk) in str(backed[0]["detail"])
    store.close()
    # what is inside, checked as restore checks it: the snapshot is consistent although the writer kept going
    work = tmp_path / "unpacked"
    work.mkdir()
    manifest = B._unpack(bk, B.read_keys(key, secret=True), work)
    assert {"junkai.sqlite3", "print.key", "keys/audit.key", "audit-head.log"} <= set(manifest["files"])
    assert "backup.key" not in manifest["files"]
    assert any(n.startswith("scans/") for n in manifest["files"]) and "crops/X-1/home_phone.png" in manifest["files"]
    snap = Store(f"sqlite:///{work / 'junkai.sqlite3'}", work)  # with the backup's audit key and head file
    with snap.transaction():
        assert snap.verify_audit()[1] is None
    snap.close()
    expected = tables(f"sqlite:///{work / 'junkai.sqlite3'}")
    # restore elsewhere, with the key from where it is kept
    other = tmp_path / "elsewhere" / "data"
    monkeypatch.setenv("JUNKAI_HOME", str(other))
    r = run("restore", str(bk))
    assert r.exit_code != 0 and "--identity" in r.output  # no key, no restore
    r = run("restore", str(bk), "--identity", str(key))
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
            assert (other / name).read_bytes().startswith((work / name).read_bytes())
        elif name != "junkai.sqlite3":
            assert (other / name).read_bytes() == (source / name).read_bytes(), name
            assert stat.S_IMODE((other / name).stat().st_mode) == 0o600
    # and it works: a restored store prints with the restored key, and can be backed up again
    r = run("print", "cards", "--blank", "1", "--beat", "S01-P01-B1", "--out-dir", str(tmp_path / "out2"))
    assert r.exit_code == 0, r.output
    assert run("backup", str(tmp_path / "again.age")).exit_code == 0


@pytest.mark.slow
def test_restore_never_overwrites_and_refuses_a_damaged_backup_or_another_key(source, key, tmp_path, monkeypatch):
    bk = tmp_path / "bk.age"
    assert run("backup", str(bk)).exit_code == 0
    r = run("backup", str(bk))
    assert r.exit_code == 2 and "すでにあります" in r.output
    # into the data folder it came from: refused, and the store is untouched
    before = hashlib.sha256((source / "junkai.sqlite3").read_bytes()).hexdigest()
    r = run("restore", str(bk), "--identity", str(key))
    assert r.exit_code == 2 and "空ではありません" in r.output
    assert hashlib.sha256((source / "junkai.sqlite3").read_bytes()).hexdigest() == before
    monkeypatch.setenv("JUNKAI_HOME", str(tmp_path / "new"))
    # a changed byte in the backup: refused before anything is written
    damaged = tmp_path / "damaged.age"
    data = bytearray(bk.read_bytes())
    data[len(data) // 2] ^= 1
    damaged.write_bytes(bytes(data))
    r = run("restore", str(damaged), "--identity", str(key))
    assert r.exit_code == 2 and "復号できません" in r.output, r.output
    # another station's key
    other_home, other_key = tmp_path / "other-home", tmp_path / "other.key"
    B.make_keys(other_home, other_key)
    r = run("restore", str(bk), "--identity", str(other_key))
    assert r.exit_code == 2 and "復号できません" in r.output, r.output
    assert not (tmp_path / "new").exists()
    assert [p.name for p in tmp_path.iterdir() if ".restore-" in p.name] == []
    assert len(r.output.strip().splitlines()) == 1 and "Traceback" not in r.output


@pytest.mark.parametrize("name", ["../../escaped/pwned.txt", "/tmp/junkai-escaped-pwned.txt", "scans/../../pwned.txt"])
def test_restore_refuses_names_that_leave_the_data_folder(home, tmp_path, monkeypatch, name):
    """Even in a backup signed with the right key, with the file's true SHA-256 in the manifest."""
    ident = tmp_path / "key"
    keys = B.make_keys(tmp_path / "station", ident)
    bk = forged(tmp_path, keys, {name: b"pwned\n"})
    target = tmp_path / "a" / "b" / "data"
    monkeypatch.setenv("JUNKAI_HOME", str(target))
    r = run("restore", str(bk), "--identity", str(ident))
    assert r.exit_code == 2 and "不正な名前" in r.output, r.output
    assert not list(tmp_path.rglob("pwned.txt")) and not Path("/tmp/junkai-escaped-pwned.txt").exists()
    assert not target.exists()
    # named only in the manifest, not in the tar: refused too
    bk = forged(tmp_path, keys, {}, manifest_names={name: b"pwned\n"})
    r = run("restore", str(bk), "--identity", str(ident))
    assert r.exit_code == 2 and "不正な名前" in r.output, r.output


def test_restore_refuses_a_file_where_a_folder_is_named(home, tmp_path, monkeypatch):
    ident = tmp_path / "key"
    keys = B.make_keys(tmp_path / "station", ident)
    bk = forged(tmp_path, keys, {"scans": b"x", "scans/ab/cd.pdf": b"y"})
    monkeypatch.setenv("JUNKAI_HOME", str(tmp_path / "data"))
    r = run("restore", str(bk), "--identity", str(ident))
    assert r.exit_code == 2 and "展開できません" in r.output and "Traceback" not in r.output, r.output
    assert not (tmp_path / "data").exists()


def test_restore_refuses_a_link_in_the_backup(home, tmp_path, monkeypatch):
    import pyrage

    ident = tmp_path / "key"
    keys = B.make_keys(tmp_path / "station", ident)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo("print.key")
        info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tar.addfile(info)
    bk = tmp_path / "link.age"
    bk.write_bytes(pyrage.encrypt(buf.getvalue(), [pyrage.x25519.Recipient.from_str(keys.recipient)]))
    monkeypatch.setenv("JUNKAI_HOME", str(tmp_path / "data"))
    r = run("restore", str(bk), "--identity", str(ident))
    assert r.exit_code == 2 and "通常のファイルでない" in r.output, r.output
    assert not (tmp_path / "data").exists()


@pytest.mark.parametrize("signature", [None, b"0" * 64, "other key"], ids=["unsigned", "garbage", "other-key"])
def test_restore_refuses_an_unsigned_or_wrongly_signed_manifest(home, tmp_path, monkeypatch, signature):
    """Anyone with the public recipient can encrypt a backup; only the manifest key signs one."""
    ident = tmp_path / "key"
    keys = B.make_keys(tmp_path / "station", ident)
    if signature == "other key":
        signature = B.sign(b"anything", b"\1" * 32).encode()
    bk = forged(tmp_path, keys, {"print.key": b"00" * 32 + b"\n"}, signature=signature)
    monkeypatch.setenv("JUNKAI_HOME", str(tmp_path / "data"))
    r = run("restore", str(bk), "--identity", str(ident))
    assert r.exit_code == 2 and "署名" in r.output, r.output
    assert not (tmp_path / "data").exists()


@pytest.mark.slow
def test_restore_needs_the_administrator_of_the_store_restored(source, key, tmp_path, monkeypatch):
    from junkai import identity

    monkeypatch.setattr(identity, "os_account", lambda: "shiken")  # the OS account running the commands
    assert run("user", "add", "地域課 試験", "--role", "admin").exit_code == 0  # the first admin: bound to it
    r = run("user", "add", "地域課長 佐藤", "--role", "custodian", "--station", "S01")
    assert r.exit_code == 0, r.output
    assert run("user", "bind", "地域課長 佐藤", "sato").exit_code == 0
    bk = tmp_path / "bk.age"
    assert run("backup", str(bk)).exit_code == 0
    monkeypatch.setenv("JUNKAI_HOME", str(tmp_path / "restored"))
    monkeypatch.setattr(identity, "os_account", lambda: "sato")
    r = run("restore", str(bk), "--identity", str(key))
    assert r.exit_code == 2 and "地域課長 佐藤" in r.output, r.output
    assert not (tmp_path / "restored").exists()
    assert [p.name for p in tmp_path.iterdir() if ".restore-" in p.name] == []
    monkeypatch.setattr(identity, "os_account", lambda: "shiken")
    r = run("restore", str(bk), "--identity", str(key))
    assert r.exit_code == 0, r.output
    store = Store(settings.load().db_url, tmp_path / "restored")
    with store.transaction():
        assert [e["operator"] for e in store.audit_events(what="restore")] == ["地域課 試験"]
    store.close()


def test_the_backup_key_stays_out_of_the_data_folder_and_is_never_replaced(source, tmp_path):
    r = run("backup-key", str(source / "inside.key"))
    assert r.exit_code == 2 and "データフォルダの外" in r.output
    ident = tmp_path / "k"
    assert run("backup-key", str(ident)).exit_code == 0
    assert stat.S_IMODE(ident.stat().st_mode) == 0o600 and "AGE-SECRET-KEY-" in ident.read_text()
    assert "AGE-SECRET-KEY-" not in (source / "backup.key").read_text()  # only the public half and the signing key
    r = run("backup-key", str(tmp_path / "k2"))
    assert r.exit_code == 2 and "すでにあります" in r.output
    # no key in the data folder: no backup
    (source / "backup.key").unlink()
    r = run("backup", str(tmp_path / "bk.age"))
    assert r.exit_code == 2 and "backup-key" in r.output and not (tmp_path / "bk.age").exists()


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
    ident = tmp_path / "backup.key"
    assert run("backup-key", str(ident)).exit_code == 0
    r = run("backup", str(tmp_path / "bk.age"))
    assert r.exit_code == 0 and "pg_dump" in r.output, r.output
    work = tmp_path / "unpacked"
    work.mkdir()
    manifest = B._unpack(tmp_path / "bk.age", B.read_keys(ident, secret=True), work)
    assert manifest["database"] == "postgresql" and "print.key" in manifest["files"]
    assert "junkai.sqlite3" not in manifest["files"]
    target = new_pg_database(pg_server)
    subprocess.run([bindir / "pg_restore", "-d", target.replace("postgresql+psycopg", "postgresql"), dump],
                   check=True, capture_output=True)
    monkeypatch.setenv("JUNKAI_DB_URL", target)
    monkeypatch.setenv("JUNKAI_HOME", str(tmp_path / "elsewhere"))
    r = run("restore", str(tmp_path / "bk.age"), "--identity", str(ident))
    assert r.exit_code == 0, r.output
    got = tables(target)
    assert got.pop("audit")[:-1] == expected.pop("audit")
    got["audit_head"] = expected["audit_head"]
    assert got == expected
    assert (tmp_path / "elsewhere" / "print.key").read_bytes() == (home / "print.key").read_bytes()
    assert run("audit", "verify").exit_code == 0
