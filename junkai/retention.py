"""Retention: personal data is kept only as long as its purpose needs it (個人情報保護法
第66条 safe management, 第69条 no use beyond the purpose).

- Output files (PDFs, CSVs, JSON exports) are removed after `[retention] output_days`.
- Premises that ceased (moved out, closed) keep their history for `[retention] ceased_years`
  years, then the premises and all that belongs only to it are deleted: the one sanctioned
  deletion from the append-only store (Store.purge_premises), in one transaction, audited
  with counts only. Audit rows are never deleted, so `junkai audit verify` still passes.

A dry run performs the same deletion inside the transaction and rolls it back, so what
it shows is exactly what a real run would do.
"""

from __future__ import annotations

from collections import defaultdict
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Callable

from dateutil.relativedelta import relativedelta

from junkai.files import sha256_of
from junkai.store import Store

# What junkai writes into output folders, and the temporary files of an interrupted write.
OUTPUT_SUFFIXES = (".pdf", ".csv", ".json", ".tmp")


@dataclass
class OutputPurge:
    days: int
    files: int = 0
    bytes: int = 0
    failed: int = 0


@dataclass
class CeasedPurge:
    years: int
    ceased_before: date
    stations: dict[str, dict[str, int]] = field(default_factory=dict)
    files: int = 0  # kept scans and crops that belonged only to the purged premises
    files_removed: int = 0
    archive_removed: int = 0  # copies of removed scans that the inbox kept in archive/ or quarantine/
    failed: int = 0

    @property
    def premises(self) -> int:
        return sum(c["premises"] for c in self.stations.values())


class _Rollback(Exception):
    """Raised inside the transaction of a dry run: everything it did is undone."""


def old_outputs(folders: list[Path], days: int, now: datetime) -> list[Path]:
    """Output files last written more than `days` days ago."""
    cutoff = now.timestamp() - days * 86400
    found = []
    for folder in folders:
        if not folder.is_dir():
            continue
        for p in folder.rglob("*"):
            if (p.suffix.lower() in OUTPUT_SUFFIXES and p.is_file() and not p.is_symlink()
                    and p.stat().st_mtime < cutoff):
                found.append(p)
    return sorted(found)


def purge_output(store: Store, folders: list[Path], days: int, operator: str, dry_run: bool = False,
                 now: datetime | None = None) -> OutputPurge:
    result = OutputPurge(days)
    for p in old_outputs(folders, days, now or datetime.now()):
        size = p.stat().st_size
        if not dry_run:
            try:
                p.unlink()
            except OSError:
                result.failed += 1
                continue
        result.files += 1
        result.bytes += size
    if not dry_run:
        for folder in folders:
            _remove_empty_folders(folder)
        with store.transaction():
            # counts only: the names of output files can say whose card was printed
            store.audit(operator, "purge.output", "output", None, days=days, files=result.files,
                        bytes=result.bytes, failed=result.failed)
    return result


def ceased_cutoff(today: date, years: int) -> date:
    return today - relativedelta(years=years)


def purge_ceased(store: Store, home: Path, years: int, operator: str, dry_run: bool = False,
                 today: date | None = None, inbox_of: Callable[[str], Path] | None = None) -> CeasedPurge:
    """Delete the premises that ceased more than `years` years ago, with their history.

    `inbox_of` gives a station's scan inbox (Settings.inbox_of), whose archive/ and
    quarantine/ keep the files as they came in: copies of removed scans go too."""
    cutoff = ceased_cutoff(today or date.today(), years)
    result = CeasedPurge(years, cutoff)
    files: list[str] = []
    try:
        with store.transaction():
            by_station: dict[str, list[int]] = defaultdict(list)
            for row in store.ceased_before(cutoff):
                by_station[row["station_id"]].append(row["id"])
            for station, ids in sorted(by_station.items()):
                counts, station_files = store.purge_premises(ids)
                result.stations[station] = counts
                files += station_files
            result.files = len(set(files))
            if dry_run:
                raise _Rollback
            store.audit(operator, "purge.ceased", "store", None, years=years, ceased_before=cutoff.isoformat(),
                        stations=result.stations, files=result.files)
    except _Rollback:
        return result
    # after the commit: a file whose rows are gone is only an orphan; rows pointing at a
    # missing file would be worse
    root = home.resolve()
    folders = set()
    removed_scans: dict[int, set[str]] = defaultdict(set)  # size -> sha256 of the kept scans removed
    for name in sorted(set(files)):
        p = _in_home(root, Path(name))
        if p is None:  # never delete outside the data folder
            result.failed += 1
            continue
        try:
            if root / "scans" in p.parents:
                removed_scans[p.stat().st_size].add(p.stem)  # kept under its SHA-256
            p.unlink()
            result.files_removed += 1
            folders.add(p.parent)
        except FileNotFoundError:
            pass
        except OSError:
            result.failed += 1
    for folder in sorted(folders, key=lambda f: len(f.parts), reverse=True):
        with suppress(OSError):
            if folder != root and not any(folder.iterdir()):
                folder.rmdir()
    if removed_scans:
        inbox_of = inbox_of or (lambda station: root / "inbox" / station)
        for station in result.stations:
            for kept in ("archive", "quarantine"):
                _remove_copies(Path(inbox_of(station)) / kept, removed_scans, result)
    return result


def _remove_copies(folder: Path, removed: dict[int, set[str]], result: CeasedPurge) -> None:
    """Files in `folder` with the content of a removed scan (size first, then SHA-256)."""
    if not folder.is_dir():
        return
    for p in folder.rglob("*"):
        try:
            if p.is_file() and not p.is_symlink() and p.stat().st_size in removed \
                    and sha256_of(p) in removed[p.stat().st_size]:
                p.unlink()
                result.archive_removed += 1
        except OSError:
            result.failed += 1


def _in_home(root: Path, path: Path) -> Path | None:
    """Where a recorded file is now: paths are recorded absolute, and a store restored into
    another data folder (junkai restore) keeps them under the same scans/ or crops/."""
    p = (path if path.is_absolute() else root / path).resolve()
    if root in p.parents:
        return p
    parts = p.parts
    for i in range(len(parts) - 1, -1, -1):
        if parts[i] in ("scans", "crops"):
            return root.joinpath(*parts[i:])
    return None


def _remove_empty_folders(folder: Path) -> None:
    if not folder.is_dir():
        return
    for d in sorted((p for p in folder.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
        with suppress(OSError):
            if not any(d.iterdir()):
                d.rmdir()


def describe_counts() -> dict[str, str]:
    """Japanese column names for the counts of Store.purge_premises, in display order."""
    return {"premises": "各戸", "card": "カード", "card_event": "変更履歴", "visit": "訪問", "night_approval": "夜間承認",
            "opinion": "意見・要望", "review_item": "確認待ち", "review_item_scrubbed": "候補から外した確認待ち",
            "printed_card": "印刷したカード", "scan_page": "走査頁",
            "scan_file": "走査ファイル", "scan_file_shared": "他の各戸と共有の走査ファイル (残す)"}
