"""Files that carry personal data out of the store: PDFs, CSV and JSON exports, backups.

Every such file is written the same way, here: into a temporary name beside its final
name, owner-only (0600) from the first byte, synced, then renamed into place, so a
reader never sees half a file and a crash or a full disk leaves nothing under the
final name. A full disk becomes a one-line Japanese error instead of a traceback.
"""

from __future__ import annotations

import errno
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, Callable, Iterator, TypeVar

from junkai import JunkaiError

# The marking every output with residents' personal data carries (PDF pages, CSV, JSON).
CLASSIFICATION = "取扱注意"
# CSV: one comment line before the header. A column would repeat on every row and a
# spreadsheet shows this line in its first cell, where a person sees it; programs skip
# it (pandas: skiprows=1), as they already skip the definitions above the overdue lists.
CSV_MARK = f"# {CLASSIFICATION}: 個人情報を含みます。目的外に使わず、用が済んだら削除してください。"

MODE = 0o600
_FULL = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)

T = TypeVar("T")


def disk_error(exc: OSError, folder: Path) -> JunkaiError | OSError:
    """A full disk or quota as an error the operator can act on; other errors unchanged."""
    if exc.errno in _FULL:
        return JunkaiError(f"出力先 {folder} の空き容量が足りないため書き出せませんでした"
                           f" (書きかけのファイルは残していません): {os.strerror(exc.errno)}")
    return exc


def full_disk_message(exc: BaseException, home: Path | None = None) -> str | None:
    """One Japanese line for an error anywhere in `exc`'s chain that says a disk is full (an OSError, or
    SQLite's "database or disk is full"; or its "disk I/O error" while the data folder `home` has no room
    left, as when the store cannot make its WAL files), else None. Nothing was recorded: the transaction
    rolled back."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OSError) and exc.errno in _FULL:
            where = f" ({exc.filename})" if exc.filename else ""
            return f"ディスクの空き容量が足りないため中止しました{where}。何も記録していません: {os.strerror(exc.errno)}"
        if "database or disk is full" in str(exc) or ("disk I/O error" in str(exc) and home is not None
                                                     and _no_room(home)):
            return ("データフォルダ (ストア) のディスクの空き容量が足りないため中止しました。何も記録していません。"
                    "空きを作ってからやり直してください")
        exc = getattr(exc, "orig", None) or exc.__cause__ or exc.__context__
    return None


def out_file(path: Path | None) -> Path | None:
    """An --out naming a folder, or a file in a folder that is not there, as one clear error before any work."""
    if path is None:
        return None
    if path.is_dir():
        raise JunkaiError(f"--out はファイル名を指定してください ({path} はフォルダです)")
    if not path.parent.is_dir():
        raise JunkaiError(f"出力先のフォルダがありません: {path.parent}")
    return path


def _no_room(folder: Path) -> bool:
    import shutil

    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    try:
        return shutil.disk_usage(folder).free < (1 << 20)
    except OSError:
        return False


@contextmanager
def clear_disk_errors(folder: Path) -> Iterator[None]:
    try:
        yield
    except OSError as exc:
        clear = disk_error(exc, folder)
        if clear is exc:
            raise
        raise clear from exc


def write_temp(folder: Path, name: str, write: Callable[[BinaryIO], T]) -> tuple[Path, T]:
    """Write through `write` into a new owner-only temporary file in `folder`; the caller renames it.

    Returns the temporary path and what `write` returned. If anything fails the temporary
    file is removed, and a full disk is a JunkaiError."""
    with clear_disk_errors(folder):
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".tmp")
        try:
            os.fchmod(fd, MODE)  # before the first byte: never readable by others, even briefly
            with os.fdopen(fd, "wb") as fh:
                result = write(fh)
                fh.flush()
                os.fsync(fh.fileno())
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    return Path(tmp), result


def place(tmp: Path, final: Path) -> None:
    """Rename a finished temporary file into place (atomic on one file system)."""
    with clear_disk_errors(final.parent):
        try:
            if final.is_dir():
                raise JunkaiError(f"書き出し先はフォルダです。ファイル名を指定してください: {final}")
            os.replace(tmp, final)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise


def write_private(path: Path, data: bytes | Callable[[BinaryIO], object]) -> Path:
    """Write a whole file at `path`, owner-only, atomically."""
    if path.is_dir():  # before any byte: os.replace would fail only at the end
        raise JunkaiError(f"書き出し先はフォルダです。ファイル名を指定してください: {path}")
    write = data if callable(data) else (lambda fh: fh.write(data))
    tmp, _ = write_temp(path.parent, path.name, write)
    place(tmp, path)
    return path


def sha256_of(path: Path) -> str:
    """A file's SHA-256 in hex: how scans are named, backups checked and purged copies found."""
    import hashlib

    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()
