"""Backup and restore of a data folder, encrypted and signed.

A backup is one file: an age-encrypted (pyrage) tar of the SQLite store (taken with
SQLite's online backup API, so it is consistent while ingests and the nightly batch
keep writing), the kept scans, crops and quarantined pages, the station key, and a
manifest with the SHA-256 of every file, signed with HMAC-SHA256. Without the backup
key the file reveals nothing, not even the names inside; it appears under its final
name only when complete.

The backup key is made once (`junkai backup-key FILE`): FILE, kept apart from the data
folder and the backups (a USB key in the custodian's safe), holds the age identity and
the manifest key; the data folder keeps only what making a backup needs (`backup.key`:
the age recipient, a public key, and the manifest key). So a stolen backup cannot be
read, and a backup made or edited by someone without the manifest key (with only the
public recipient anyone can encrypt) is refused at restore.

With PostgreSQL the database is backed up with pg_dump and restored with pg_restore
(see README); `junkai backup` then holds the files and the key only.

Restore goes into an empty data folder only: it never overwrites a store. Every name in
the backup is checked (no absolute path, no `..`, regular files only) and every file
against the signed manifest before anything is moved into place.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import os
import shutil
import tarfile
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Callable

from junkai import JunkaiError, files, qr
from junkai.settings import Settings
from junkai.store import Store, snapshot_row_counts
from junkai.store.audit import HEAD_FILE, KEY_FILE as AUDIT_KEY, trim_head

FORMAT = 2
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
DB = "junkai.sqlite3"
KEY_FILE = "backup.key"  # in the data folder: recipient and manifest key, never in a backup
# The data folder's own records. inbox/ holds copies of what scans/ keeps, output/ is
# temporary by design (junkai purge --output), prefect/ is rebuilt by Prefect.
FOLDERS = ("scans", "crops", "quarantine")
CHUNK = 1 << 20
MAX_MANIFEST = 64 << 20


@dataclass
class Summary:
    path: Path
    database: str
    files: int
    bytes: int
    rows: dict[str, int]


@dataclass(frozen=True)
class Keys:
    recipient: str  # age public key
    manifest_key: bytes
    identity: str | None = None  # age secret key: only in the file kept apart


def _private_dir(path: Path) -> None:
    """Create `path` and any missing parents owner-only (mkdir's parents follow the umask)."""
    missing = []
    while not path.exists():
        missing.append(path)
        path = path.parent
    for d in reversed(missing):
        d.mkdir(mode=0o700, exist_ok=True)
        os.chmod(d, 0o700)


# --- keys -----------------------------------------------------------------------------------


def _key_text(keys: Keys, secret: bool) -> str:
    lines = ["# junkai のバックアップ鍵" + (" (秘密鍵: データフォルダやバックアップとは別の場所に保管すること)"
                                       if secret else " (暗号化用の公開鍵と署名鍵)"),
             f"# created: {datetime.now().isoformat(timespec='seconds')}",
             f"# recipient: {keys.recipient}",
             f"# manifest-key: {keys.manifest_key.hex()}"]
    if secret:
        lines.append(keys.identity or "")
    return "\n".join(lines) + "\n"


def _parse_keys(text: str, where: Path) -> Keys:
    fields, identity = {}, None
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("AGE-SECRET-KEY-"):
            identity = line
        elif line.startswith("# ") and ": " in line:
            k, _, v = line[2:].partition(": ")
            fields[k.strip()] = v.strip()
    try:
        manifest_key = bytes.fromhex(fields["manifest-key"])
        recipient = fields["recipient"]
    except (KeyError, ValueError):
        raise JunkaiError(f"junkai のバックアップ鍵のファイルではありません: {where}")
    if len(manifest_key) != 32 or not recipient.startswith("age1"):
        raise JunkaiError(f"バックアップ鍵のファイルが壊れています: {where}")
    return Keys(recipient, manifest_key, identity)


def make_keys(home: Path, identity_file: Path) -> Keys:
    """A new backup key: the secret half into `identity_file` (kept apart), what backing up needs into
    the data folder. Refuses to replace either, and to put the secret half inside the data folder."""
    from pyrage import x25519

    identity_file = identity_file.resolve()
    home = home.resolve()
    if home == identity_file or home in identity_file.parents:
        raise JunkaiError(f"バックアップ鍵はデータフォルダの外 (別の媒体) に保管してください: {identity_file}")
    if identity_file.exists() or identity_file.is_symlink():
        raise JunkaiError(f"ファイルがすでにあります (上書きしません): {identity_file}")
    if identity_file.is_dir() or not identity_file.parent.is_dir():
        raise JunkaiError(f"保存先のフォルダがありません: {identity_file.parent}")
    if (home / KEY_FILE).exists():
        raise JunkaiError(f"このデータフォルダにはバックアップ鍵がすでにあります (置き換えません): {home / KEY_FILE}")
    ident = x25519.Identity.generate()
    keys = Keys(str(ident.to_public()), os.urandom(32), str(ident))
    files.write_private(identity_file, _key_text(keys, secret=True).encode())
    _private_dir(home)
    files.write_private(home / KEY_FILE, _key_text(keys, secret=False).encode())
    return keys


def read_keys(path: Path, secret: bool) -> Keys:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise JunkaiError(f"バックアップ鍵を読めません: {path} ({getattr(exc, 'strerror', None) or exc})")
    keys = _parse_keys(text, path)
    if secret and not keys.identity:
        raise JunkaiError(f"秘密鍵がありません (junkai backup-key で作ったファイルを指定してください): {path}")
    return keys


def sign(manifest: bytes, key: bytes) -> str:
    return hmac.new(key, manifest, hashlib.sha256).hexdigest()


# --- backup ---------------------------------------------------------------------------------


class _Sink(io.RawIOBase):
    """The output file, remembering the OSError (a full disk) that the encryptor turns into its own."""

    def __init__(self, fh):
        self.fh, self.error = fh, None

    def writable(self) -> bool:
        return True

    def write(self, b) -> int:
        try:
            return self.fh.write(b)
        except OSError as exc:
            self.error = exc
            raise


def _encrypting(recipient: str, out, produce: Callable[[io.BufferedWriter], None]) -> None:
    """`produce` writes plain bytes into a pipe; a thread encrypts them into `out` as they come."""
    import pyrage

    rfd, wfd = os.pipe()
    failure: list[BaseException] = []

    def encrypt():
        with os.fdopen(rfd, "rb") as src:
            try:
                pyrage.encrypt_io(src, out, [pyrage.x25519.Recipient.from_str(recipient)])
            except BaseException as exc:
                failure.append(exc)

    thread = threading.Thread(target=encrypt)
    thread.start()
    try:
        with os.fdopen(wfd, "wb") as pipe:
            produce(pipe)
    except BrokenPipeError:
        pass  # the encryptor stopped: its own error is below
    finally:
        thread.join()
    if failure:
        raise failure[0]


def backup(s: Settings, store: Store, out: Path, operator: str,
           on_files: Callable[[int, int], None] | None = None) -> Summary:
    """Write the encrypted backup file `out`; the `backup` audit row is written only once it is complete.
    `on_files(done, total)` follows the files written into it."""
    on_files = on_files or (lambda done, total: None)
    out = out.resolve()
    home = s.home.resolve()
    if out.exists() or out.is_symlink():
        raise JunkaiError(f"バックアップ先がすでにあります (上書きしません): {out}")
    if not out.parent.is_dir():
        raise JunkaiError(f"バックアップ先のフォルダがありません: {out.parent}")
    if out == home or home in out.parents:
        raise JunkaiError(f"バックアップはデータフォルダの外に作ってください: {out}")
    if not (home / KEY_FILE).is_file():
        raise JunkaiError("バックアップ鍵がありません。先に junkai backup-key で鍵を作り、秘密鍵のファイルを"
                          "データフォルダとは別の場所に保管してください")
    keys = read_keys(home / KEY_FILE, secret=False)
    database = store.dialect
    snap = home / f".backup-{os.getpid()}.sqlite3"  # plain copies only inside the data folder, removed after
    head = home / f".backup-{os.getpid()}.head"
    listed: dict[str, str] = {}
    total = 0
    try:
        with files.clear_disk_errors(home):
            # the audit head file before the snapshot: every row it anchors is in the snapshot
            if (home / HEAD_FILE).is_file():
                fd = os.open(head, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                os.close(fd)
                shutil.copyfile(home / HEAD_FILE, head)
            if database == "sqlite":
                fd = os.open(snap, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                os.close(fd)
                store.snapshot(snap)
        # after the snapshot: a file recorded in it was kept before its row was written
        sources = [(DB, snap)] if database == "sqlite" else []
        if head.is_file():
            sources.append((HEAD_FILE, head))
        for key in (qr.KEY_FILE, AUDIT_KEY):
            if (home / key).is_file():
                sources.append((str(key), home / key))
        for folder in FOLDERS:
            root = home / folder
            if root.is_dir() and not root.is_symlink():
                for p in sorted(root.rglob("*")):
                    if p.is_file() and not p.is_symlink() and not p.name.endswith((".part", ".tmp")):
                        sources.append((str(p.relative_to(home)), p))
        rows = snapshot_row_counts(snap) if database == "sqlite" else {}

        def produce(pipe) -> None:
            nonlocal total
            with tarfile.open(fileobj=pipe, mode="w|", format=tarfile.PAX_FORMAT) as tar:
                on_files(0, len(sources))
                for name, p in sources:
                    with open(p, "rb") as fh:
                        digest = hashlib.file_digest(fh, "sha256").hexdigest()
                        size = fh.seek(0, os.SEEK_END)
                        fh.seek(0)
                        info = tarfile.TarInfo(name)
                        info.size, info.mode, info.mtime = size, 0o600, int(p.stat().st_mtime)
                        tar.addfile(info, fh)
                    listed[name], total = digest, total + size
                    on_files(len(listed), len(sources))
                manifest = json.dumps(dict(format=FORMAT, created_at=datetime.now().isoformat(timespec="seconds"),
                                           database=database, rows=rows, files=listed),
                                      ensure_ascii=False, indent=1).encode()
                for name, data in ((MANIFEST, manifest), (SIGNATURE, sign(manifest, keys.manifest_key).encode())):
                    info = tarfile.TarInfo(name)
                    info.size, info.mode = len(data), 0o600
                    tar.addfile(info, io.BytesIO(data))

        def write(fh) -> None:
            sink = _Sink(fh)
            try:
                _encrypting(keys.recipient, sink, produce)
            except Exception as exc:
                if sink.error is not None:
                    raise sink.error from exc
                raise

        files.write_private(out, write)
    finally:
        snap.unlink(missing_ok=True)
        head.unlink(missing_ok=True)
    # only now, with the file complete under its name: no row claims a backup that is not there
    with store.transaction():
        store.audit(operator, "backup", "store", None, path=str(out), database=database, files=len(listed))
    return Summary(out, database, len(listed), total, rows)


# --- restore --------------------------------------------------------------------------------


def safe_name(name: str) -> str:
    """A member name that stays inside the folder it is restored into; JunkaiError otherwise."""
    p = PurePosixPath(name)
    if (not name or "\\" in name or "\0" in name or p.is_absolute() or any(part in ("", ".", "..") for part in name.split("/"))):
        raise JunkaiError(f"バックアップに不正な名前があります (絶対パスや .. は戻しません): {name!r}")
    return name


class _Counted(io.RawIOBase):
    """The backup file as the decryptor reads it, telling `on_read(done, total)` the bytes read so far:
    how far a restore is (the number of files is known only at the end, from the manifest)."""

    def __init__(self, fh, on_read: Callable[[int, int], None]):
        self.fh, self.on_read, self.done = fh, on_read, 0
        self.total = os.fstat(fh.fileno()).st_size

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        n = self.fh.readinto(b)
        self.done += n or 0
        self.on_read(self.done, self.total)
        return n


def _decrypting(path: Path, identity: str, consume: Callable[[io.BufferedReader], None],
                on_read: Callable[[int, int], None] | None = None) -> None:
    import pyrage

    rfd, wfd = os.pipe()
    failure: list[BaseException] = []

    def decrypt():
        try:
            with open(path, "rb") as raw, os.fdopen(wfd, "wb") as dst:
                src = io.BufferedReader(_Counted(raw, on_read)) if on_read else raw
                pyrage.decrypt_io(src, dst, [pyrage.x25519.Identity.from_str(identity)])
        except BrokenPipeError:
            pass
        except BaseException as exc:
            failure.append(exc)

    thread = threading.Thread(target=decrypt)
    thread.start()
    broken: BaseException | None = None
    try:
        with os.fdopen(rfd, "rb") as pipe:  # closed before the join: a decryptor still writing gets a broken pipe
            try:
                consume(pipe)
                while pipe.read(CHUNK):  # the tar's padding: the whole file is decrypted, so all of it is checked
                    pass
            except (tarfile.TarError, EOFError) as exc:
                broken = exc
    finally:
        thread.join()
    if failure:  # the decryptor's reason comes first: a wrong key or a changed byte also breaks the tar
        raise JunkaiError("バックアップを復号できません (鍵が違うか、ファイルが壊れているか書き換えられています): "
                          f"{failure[0]}")
    if broken is not None:
        raise JunkaiError(f"バックアップの中身が壊れています: {broken}")


def _unpack(path: Path, keys: Keys, work: Path, on_read: Callable[[int, int], None] | None = None) -> dict:
    """Decrypt and unpack into `work`; returns the manifest once its signature and every file are checked."""
    got: dict[str, str] = {}
    meta: dict[str, bytes] = {}

    def consume(pipe) -> None:
        with tarfile.open(fileobj=pipe, mode="r|") as tar:
            for member in tar:
                name = safe_name(member.name)
                if not member.isfile():
                    raise JunkaiError(f"バックアップに通常のファイルでないものがあります (戻しません): {name}")
                src = tar.extractfile(member)
                if name in (MANIFEST, SIGNATURE):
                    if member.size > MAX_MANIFEST:
                        raise JunkaiError(f"バックアップの {name} が大きすぎます")
                    meta[name] = src.read()
                    continue
                if name in got:
                    raise JunkaiError(f"バックアップに同じ名前が二つあります: {name}")
                dest = work / name
                h = hashlib.sha256()
                try:
                    _private_dir(dest.parent)
                    with open(dest, "xb") as out:
                        while chunk := src.read(CHUNK):
                            h.update(chunk)
                            out.write(chunk)
                except OSError as exc:
                    if files.disk_error(exc, work.parent) is not exc:
                        raise
                    # a name that is also a folder's, and the like: not a backup junkai made
                    raise JunkaiError(f"バックアップの {name} を展開できません: {exc.strerror or exc}")
                got[name] = h.hexdigest()

    _decrypting(path, keys.identity, consume, on_read)
    if MANIFEST not in meta or SIGNATURE not in meta:
        raise JunkaiError(f"バックアップに署名された {MANIFEST} がありません (戻しません)")
    if not hmac.compare_digest(meta[SIGNATURE].decode("ascii", "replace").strip(), sign(meta[MANIFEST], keys.manifest_key)):
        raise JunkaiError(f"{MANIFEST} の署名が合いません (別の鍵で作られたか、書き換えられています。戻しません)")
    try:
        manifest = json.loads(meta[MANIFEST])
    except ValueError as exc:
        raise JunkaiError(f"{MANIFEST} を読めません: {exc}")
    if manifest.get("format") != FORMAT:
        raise JunkaiError(f"このバックアップの形式 ({manifest.get('format')!r}) には対応していません: {path}")
    listed = manifest.get("files")
    if not isinstance(listed, dict):
        raise JunkaiError(f"{MANIFEST} に files がありません")
    for name in listed:
        safe_name(name)
    for name, digest in listed.items():
        if name not in got:
            raise JunkaiError(f"バックアップのファイルがありません: {name}")
        if got[name] != digest:
            raise JunkaiError(f"バックアップのファイルが作成時と異なります (壊れているか改ざんされています): {name}")
    extra = sorted(set(got) - set(listed))
    if extra:
        raise JunkaiError(f"バックアップに {MANIFEST} にないファイルがあります (戻しません): {extra[0]}")
    return manifest


def restore(path: Path, s: Settings, identity_file: Path, allow: Callable[[Store], None],
            audit: Callable[[Store, dict], None], on_read: Callable[[int, int], None] | None = None) -> Summary:
    """Into an empty data folder: unpack and check everything beside it, let `allow(store)` refuse (the
    operator must hold the administrator right in the restored store, or in the database restored first),
    then move it into place, check the audit chain and `audit(store, detail)`."""
    path = path.resolve()
    if not path.is_file():
        raise JunkaiError(f"バックアップのファイルがありません: {path}")
    keys = read_keys(identity_file, secret=True)
    home = s.home.resolve()
    if home.exists() and (not home.is_dir() or any(home.iterdir())):
        raise JunkaiError(f"データフォルダが空ではありません (既存のストアは上書きしません): {home}")
    sqlite_here = s.db_url == f"sqlite:///{home / DB}"
    work = home.parent / f".{home.name}.restore-{os.getpid()}"
    _private_dir(work)
    try:
        with files.clear_disk_errors(home.parent):
            manifest = _unpack(path, keys, work, on_read)
        if manifest["database"] == "sqlite" and not sqlite_here:
            raise JunkaiError("このバックアップは SQLite のストアです。JUNKAI_DB_URL を外し、データフォルダへ戻してください")
        if manifest["database"] != "sqlite" and sqlite_here:
            raise JunkaiError("このバックアップのデータベースは PostgreSQL です。JUNKAI_DB_URL を指定し、"
                              "データベースは pg_restore で戻してください")
        # who may restore is decided by the users of the store being restored
        check = Store(f"sqlite:///{work / DB}" if sqlite_here else s.db_url)
        try:
            check.check_ready()
            allow(check)
        finally:
            check.close()
        for leftover in work.glob(f"{DB}-*"):  # -wal, -shm of the check: not part of the backup
            leftover.unlink()
        with files.clear_disk_errors(home.parent):
            # what backing up again needs (the secret half stays where it was)
            files.write_private(work / KEY_FILE, _key_text(Keys(keys.recipient, keys.manifest_key), secret=False).encode())
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
            audit(store, dict(backup=str(path), created_at=manifest["created_at"], files=len(manifest["files"])))
        rows = store.row_counts()
    finally:
        store.close()
    return Summary(home, manifest["database"], len(manifest["files"]),
                   sum((home / n).stat().st_size for n in manifest["files"]), rows)
