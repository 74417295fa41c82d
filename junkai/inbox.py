"""The scan inbox of a station: the folder its scanner writes into.

A file is taken only once it has stopped changing (a scanner may still be writing
it). After ingest it moves to `archive/<date>/`; a file that could not be read, or
of which a page could not be read, moves to `quarantine/` with a `.reason.txt`
beside it saying why. Nothing is ever deleted, and a name already taken is never
overwritten. One pass at a time per folder: a lock file keeps a scheduled check
and the nightly batch from taking the same files.
"""

from __future__ import annotations

import errno
import fcntl
import os
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Iterator

from junkai import JunkaiError

ARCHIVE, QUARANTINE = "archive", "quarantine"
LOCK = ".junkai.lock"
# names a scanner or a copy uses while it still writes
PARTIAL_SUFFIXES = (".part", ".tmp", ".partial", ".crdownload", ".filepart")


class Busy(JunkaiError):
    """Another pass is taking files from this folder."""


@dataclass
class FileOutcome:
    """What ingest made of one file of the inbox."""
    name: str
    pages: list[int] = field(default_factory=list)  # pages recorded (1-based)
    failures: list[str] = field(default_factory=list)  # "3 頁: why" for pages that could not be read
    error: str | None = None  # the file itself could not be ingested

    @property
    def failed(self) -> bool:
        return bool(self.error or self.failures)


def waiting(folder: Path, settle_seconds: float, now: float | None = None) -> list[Path]:
    """Files at the top of the folder that have not changed for `settle_seconds`, oldest first."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    now = time.time() if now is None else now
    ready = []
    for entry in os.scandir(folder):
        name = entry.name
        if name.startswith((".", "~")) or name.lower().endswith(PARTIAL_SUFFIXES):
            continue
        try:
            st = entry.stat(follow_symlinks=False)
        except FileNotFoundError:
            continue  # moved away meanwhile
        if entry.is_dir(follow_symlinks=False):
            continue  # archive/, quarantine/
        if not entry.is_file(follow_symlinks=False):
            # a link, a FIFO, a device: taken at once, so that ingest refuses it and it goes to quarantine
            # with its reason (moved as it is: a link is never followed)
            ready.append((st.st_mtime, name, Path(entry.path)))
            continue
        if now - st.st_mtime >= settle_seconds:  # every write moves it; a file moved in whole keeps its own
            ready.append((st.st_mtime, name, Path(entry.path)))
    return [p for _, _, p in sorted(ready)]


def unchanged(paths: list[Path], seconds: float = 1.0) -> list[Path]:
    """Those files whose size and time are the same after `seconds` (a last look before taking them)."""
    def look(p: Path):
        try:
            st = p.lstat()  # a link is looked at, never followed
        except FileNotFoundError:
            return None
        return st.st_size, st.st_mtime_ns

    before = {p: look(p) for p in paths}
    if paths and seconds:
        time.sleep(seconds)
    return [p for p in paths if before[p] is not None and look(p) == before[p]]


@contextmanager
def lock(folder: Path) -> Iterator[None]:
    """Hold the folder for one pass; Busy when another pass holds it (released if that process dies)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / LOCK, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno in (errno.EAGAIN, errno.EACCES):
                raise Busy(f"受付フォルダは別の処理が使用中です: {folder}")
            raise
        yield
    finally:
        os.close(fd)


def _free(dest: Path) -> Path:
    """`dest`, or `name-2.ext`, `name-3.ext`... if that name is taken."""
    if not dest.exists() and not Path(str(dest) + ".reason.txt").exists():
        return dest
    stem, suffix = dest.name[: len(dest.name) - len(dest.suffix)], dest.suffix
    n = 2
    while True:
        candidate = dest.with_name(f"{stem}-{n}{suffix}")
        if not candidate.exists() and not Path(str(candidate) + ".reason.txt").exists():
            return candidate
        n += 1


def _move(src: Path, dest_dir: Path) -> Path:
    dest_dir.mkdir(parents=True, exist_ok=True)
    dest = _free(dest_dir / src.name)
    os.rename(src, dest)  # same file system: atomic, and never overwrites under the lock
    return dest


def archive(folder: Path, path: Path, day: date) -> Path:
    """Move a processed file to `archive/<day>/`."""
    return _move(Path(path), Path(folder) / ARCHIVE / day.isoformat())


def quarantine(folder: Path, path: Path, reason: str) -> Path:
    """Move a failed file to `quarantine/` and write why beside it (`<name>.reason.txt`)."""
    dest = _move(Path(path), Path(folder) / QUARANTINE)
    note = Path(str(dest) + ".reason.txt")
    note.write_text(reason if reason.endswith("\n") else reason + "\n", encoding="utf-8")
    return dest


def reason_text(outcome: FileOutcome, at: datetime) -> str:
    """Why a file went to quarantine, for the person who rescans it (Japanese)."""
    lines = [f"{outcome.name}  ({at:%Y-%m-%d %H:%M} に受付)"]
    if outcome.error:
        lines.append(f"取り込めませんでした: {outcome.error}")
    if outcome.failures:
        lines.append("読み取れなかった頁:")
        lines += [f"  {f}" for f in outcome.failures]
    if outcome.pages:
        lines.append(f"ほかの頁 ({', '.join(str(p) for p in sorted(outcome.pages))} 頁) は取り込み済みです。"
                     "読み取れなかった頁だけを走査し直して受付フォルダに置いてください。")
    return "\n".join(lines) + "\n"


def settle(folder: Path, path: Path, outcome: FileOutcome, at: datetime) -> tuple[str, Path]:
    """Archive or quarantine one ingested file; returns ("archive" | "quarantine", where it went)."""
    if outcome.failed:
        return QUARANTINE, quarantine(folder, path, reason_text(outcome, at))
    return ARCHIVE, archive(folder, path, at.date())
