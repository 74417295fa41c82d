"""Backup and restore of a data folder.

A backup is a folder: the SQLite store as one self-contained file (taken with SQLite's
online backup API, so it is consistent while ingests and the nightly batch keep
writing), the kept scans, crops and quarantined pages, the station key, and a manifest
with the SHA-256 of every file. Everything in it is owner-only (files 0600, folders
0700); it appears under its final name only when complete.

With PostgreSQL the database is backed up with pg_dump and restored with pg_restore
(see README); `junkai backup` then copies the files and the key only.

Restore goes into an empty data folder only: it never overwrites a store.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from junkai import JunkaiError, files, qr
from junkai.settings import Settings
from junkai.store import Store, snapshot_row_counts
from junkai.store.audit import HEAD_FILE, KEY_FILE as AUDIT_KEY, trim_head

FORMAT = 1
MANIFEST = "manifest.json"
DB = "junkai.sqlite3"
# The data folder's own records. inbox/ holds copies of what scans/ keeps, output/ is
# temporary by design (junkai purge --output), prefect/ is rebuilt by Prefect.
FOLDERS = ("scans", "crops", "quarantine")
CHUNK = 1 << 20


@dataclass
class Summary:
    path: Path
    database: str
    files: int
    bytes: int
    rows: dict[str, int]


def _private_dir(path: Path) -> None:
    """Create `path` and any missing parents owner-only (mkdir's parents follow the umask)."""
    missing = []
    while not path.exists():
        missing.append(path)
        path = path.parent
    for d in reversed(missing):
        d.mkdir(mode=0o700, exist_ok=True)
        os.chmod(d, 0o700)


def _copy(src: Path, dest: Path) -> None:
    """Copy one file owner-only, whole or not at all."""
    _private_dir(dest.parent)
    with open(src, "rb") as fh:
        tmp, _ = files.write_temp(dest.parent, dest.name, lambda out: shutil.copyfileobj(fh, out, CHUNK))
    files.place(tmp, dest)


def _snapshot(store: Store, dest: Path) -> None:
    """A consistent copy of the live SQLite store as one owner-only file, on disk before we go on."""
    fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.close(fd)
    store.snapshot(dest)
    with open(dest, "rb+") as fh:
        os.fsync(fh.fileno())


def backup(s: Settings, store: Store, out: Path, operator: str) -> Summary:
    out = out.resolve()
    if out.exists():
        raise JunkaiError(f"バックアップ先がすでにあります (上書きしません): {out}")
    if not out.parent.is_dir():
        raise JunkaiError(f"バックアップ先のフォルダがありません: {out.parent}")
    home = s.home.resolve()
    if out == home or home in out.parents:
        raise JunkaiError(f"バックアップはデータフォルダの外に作ってください: {out}")
    database = store.dialect
    work = out.parent / f".{out.name}.partial-{os.getpid()}"
    _private_dir(work)
    try:
        # recorded before the snapshot, so the backup holds its own event
        with store.transaction():
            store.audit(operator, "backup", "store", None, path=str(out), database=database)
        with files.clear_disk_errors(out.parent):
            # the audit head file before the snapshot: every row it anchors is in the snapshot
            if (home / HEAD_FILE).is_file():
                _copy(home / HEAD_FILE, work / HEAD_FILE)
            if database == "sqlite":
                _snapshot(store, work / DB)
            # after the snapshot: a file recorded in it was kept before its row was written
            for key in (qr.KEY_FILE, AUDIT_KEY):
                if (home / key).is_file():
                    _copy(home / key, work / key)
            for folder in FOLDERS:
                root = home / folder
                if not root.is_dir():
                    continue
                for p in sorted(root.rglob("*")):
                    if p.is_file() and not p.is_symlink() and not p.name.endswith((".part", ".tmp")):
                        _copy(p, work / p.relative_to(home))
            rows = snapshot_row_counts(work / DB) if database == "sqlite" else {}
            listed = {str(p.relative_to(work)): files.sha256_of(p) for p in sorted(work.rglob("*")) if p.is_file()}
            manifest = dict(format=FORMAT, created_at=datetime.now().isoformat(timespec="seconds"),
                            database=database, rows=rows, files=listed)
            files.write_private(work / MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=1).encode())
            os.replace(work, out)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    size = sum((out / name).stat().st_size for name in listed)
    return Summary(out, database, len(listed), size, rows)


def read_manifest(path: Path) -> dict:
    try:
        manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise JunkaiError(f"バックアップではありません ({MANIFEST} を読めません): {path} ({exc})")
    if manifest.get("format") != FORMAT:
        raise JunkaiError(f"このバックアップの形式 ({manifest.get('format')!r}) には対応していません: {path}")
    return manifest


def verify(path: Path) -> dict:
    """Every file the manifest lists is there with its content; returns the manifest."""
    manifest = read_manifest(path)
    for name, digest in manifest["files"].items():
        p = path / name
        if not p.is_file():
            raise JunkaiError(f"バックアップのファイルがありません: {name}")
        if files.sha256_of(p) != digest:
            raise JunkaiError(f"バックアップのファイルが作成時と異なります (壊れているか改ざんされています): {name}")
    return manifest


def restore(path: Path, s: Settings, operator: str) -> Summary:
    path = path.resolve()
    manifest = verify(path)
    home = s.home.resolve()
    if home.exists() and (not home.is_dir() or any(home.iterdir())):
        raise JunkaiError(f"データフォルダが空ではありません (既存のストアは上書きしません): {home}")
    sqlite_here = s.db_url == f"sqlite:///{home / DB}"
    if manifest["database"] == "sqlite" and not sqlite_here:
        raise JunkaiError("このバックアップは SQLite のストアです。JUNKAI_DB_URL を外し、データフォルダへ戻してください")
    if manifest["database"] != "sqlite" and sqlite_here:
        raise JunkaiError("このバックアップのデータベースは PostgreSQL です。JUNKAI_DB_URL を指定し、"
                          "データベースは pg_restore で戻してください")
    work = home.parent / f".{home.name}.restore-{os.getpid()}"
    _private_dir(work)
    try:
        with files.clear_disk_errors(home.parent):
            for name in manifest["files"]:
                _copy(path / name, work / name)
            if home.exists():
                home.rmdir()  # empty, checked above
            os.replace(work, home)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    store = Store(s.db_url, s.home)
    try:
        store.check_ready()
        with store.transaction():
            if manifest["database"] != "sqlite":  # pg_dump came first: rows after it are not in the database
                trim_head(s.home, store.audit_rows())
            n, problem = store.verify_audit()
            if problem:
                raise JunkaiError(f"戻したストアの監査ログが正しくありません: {problem}")
            store.audit(operator, "restore", "store", None, backup=str(path), created_at=manifest["created_at"],
                        files=len(manifest["files"]))
        rows = store.row_counts()
    finally:
        store.close()
    return Summary(home, manifest["database"], len(manifest["files"]),
                   sum((home / n).stat().st_size for n in manifest["files"]), rows)
