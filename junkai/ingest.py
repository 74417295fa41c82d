"""Ingest: scan files → kept by content → pages read → reconciled → the store.

Crash-safe by construction: the original file is copied into the data folder
(temporary name, then rename) before anything is recorded; each page is recorded
together with everything reconciling it did, in one transaction; a page already
recorded is never read again. Killing it at any moment and running it again ends
with the same store as one clean run.
"""

from __future__ import annotations

import shutil
import threading
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Iterator

from junkai import files
from junkai.files import sha256_of
from junkai.reconcile import reconcile_page
from junkai.store import Store

CHUNK = 1 << 20


@dataclass
class Summary:
    files: int = 0
    files_seen_before: int = 0
    pages: int = 0
    pages_seen_before: int = 0
    states: Counter = field(default_factory=Counter)
    applied: int = 0
    review: int = 0
    conflicts: int = 0
    matched: int = 0
    failures: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, page_id: str, source: str, page: int, out, read_status: str) -> None:
        self.pages += 1
        self.states[out.state] += 1
        self.applied += len(out.applied)
        self.review += out.review
        self.conflicts += out.conflicts
        self.matched += out.premises_id is not None
        if out.state == "failed":
            self.failures.append(f"{Path(source).name} {page} 頁: {' / '.join(out.messages) or read_status}")
        elif out.state == "duplicate":
            self.notes.append(f"{Path(source).name} {page} 頁: {' / '.join(out.messages)}")

    def as_dict(self) -> dict:
        d = asdict(self)
        d["states"] = dict(self.states)
        return d


def keep(home: Path, path: Path, sha: str) -> Path:
    """The original, kept by its content under the data folder; written whole or not at all."""
    dest = home / "scans" / sha[:2] / f"{sha}{path.suffix.lower()}"
    if dest.exists():
        return dest
    with open(path, "rb") as src:
        return files.write_private(dest, lambda out: shutil.copyfileobj(src, out, CHUNK))


def receive(store: Store, home: Path, path: Path, operator: str) -> tuple[str, Path, bool]:
    """Keep one file and record it; returns its hash, where it is kept, and whether it is new."""
    sha = sha256_of(path)
    kept = keep(home, path, sha)
    with store.transaction():
        new = store.add_scan_file(sha, path.name, path.stat().st_size, str(kept.relative_to(home)), datetime.now(),
                                  operator)
    return sha, kept, new


def pages_to_read(store: Store, sha: str, kept: Path) -> Iterator:
    """The pages of a kept file not yet recorded, one at a time."""
    from ocr import pages as P

    with store.transaction():
        done = {p["page"] for p in store.scan_pages(sha)}
    for page in P.iter_pages(kept):
        if page.index + 1 not in done:
            yield page


def unread_pages(store: Store, sha: str, kept: Path) -> list[int]:
    """0-based indexes of the pages of a kept file not yet recorded (no page is decoded)."""
    from ocr import pages as P

    with store.transaction():
        done = {p["page"] for p in store.scan_pages(sha)}
    return [i for i in range(P.page_count(kept)) if i + 1 not in done]


def record_empty(store: Store, sha: str, kept: Path, source: str, indexes: list[int], operator: str,
                 thresholds: dict, today: date) -> list[tuple[dict, object]]:
    """Those of the pages not yet recorded that have nothing drawn on them (found without rasterising),
    recorded as skipped in one transaction: a file of thousands of empty pages must not cost a read and
    a commit each. Returns (result, outcome) of each page recorded."""
    from ocr import pages as P
    from ocr.read import Reader

    wanted = set(indexes)
    empty = [i for i in P.empty_pages(kept) if i in wanted]
    if not empty:
        return []
    reader = Reader(None)
    done, rows = [], []
    with store.transaction():
        for i in empty:
            result = asdict(reader.read(P.Page(str(kept), i, None, None, None, "blank_page")))
            result["source"] = source
            page_id = f"{sha}:{result['page']}"
            out = reconcile_page(store, page_id, result, operator, thresholds, today)
            rows.append(dict(id=page_id, file_sha256=sha, page=result["page"], read_status=result["status"],
                             state=out.state, print_id=None, sheet=None, premises_id=None, result=result,
                             summary=asdict(out)))
            done.append((result, out))
        store.add_scan_pages(rows)
        store.audit(operator, "ingest.empty_pages", "scan_file", sha, pages=len(empty))
    return done


@dataclass(frozen=True)
class PageJob:
    """One page to read, as sent to a worker that may be another process or machine: a path
    and an index rather than an image, and the key itself rather than the data folder."""
    path: str  # the kept copy
    index: int  # 0-based
    source: str  # the name the file came in with
    key: bytes | None
    crops_dir: str | None = None
    quarantine_dir: str | None = None
    db_url: str | None = None  # to check a print id read off the page when its QR is unreadable


def page_jobs(home: Path, kept: Path, source: str, indexes: list[int], key: bytes | None,
              db_url: str | None = None) -> list[PageJob]:
    return [PageJob(str(kept), i, source, key, str(home / "crops"), str(home / "quarantine"), db_url)
            for i in indexes]


_worker = threading.local()  # a worker thread's own store: Store is one connection at a time


def read_job(job: PageJob) -> dict:
    """Read one page of a job, on whatever worker runs it (never raises for a bad page: the result
    says what is wrong)."""
    from ocr import pages as P
    from ocr.read import Reader

    reader = Reader(job.key, Path(job.crops_dir) if job.crops_dir else None,
                    Path(job.quarantine_dir) if job.quarantine_dir else None)
    page = next(iter(P.iter_pages(Path(job.path), only={job.index})), None)
    if page is None:  # the file has fewer pages than it had when counted
        page = P.Page(job.path, job.index, None, None, f"{job.index + 1} 頁目がありません", "missing_page")
    if job.db_url:
        stores = _worker.__dict__.setdefault("stores", {})
        store = stores.get(job.db_url) or stores.setdefault(job.db_url, Store(job.db_url))
        result = read_page(reader, page, store)
    else:
        result = asdict(reader.read(page))
    result["source"] = job.source
    return result


def read_page(reader, page, store: Store) -> dict:
    """Read one page into plain data; a pre-filled card whose QR cannot be read is identified by
    the print id printed beside it, when exactly one id it could be was printed here."""
    from dataclasses import asdict as plain

    from ocr.printed_id import read_print_id

    result = plain(reader.read(page))
    if result.get("identity") or result["status"] in ("failed", "skipped") or page.image is None:
        return result
    from junkai import JunkaiError

    printed_cards = []
    with store.transaction():
        for candidate in read_print_id(page.image, page.dpi or 200):
            try:
                printed_cards.append(store.printed_card(candidate))
            except JunkaiError:
                pass  # not an id this station printed: a misreading
    if len(printed_cards) != 1:
        return result
    printed = printed_cards[0]
    print_id = printed["print_id"]
    sheet = result.get("sheet") or 1
    result["identity"] = dict(print_id=print_id, premises_id=printed["premises_id"],
                              card_version=printed["card_version"], beat=printed["beat_id"], sheet=sheet,
                              sheets=printed["sheets"], form=printed["form_type"], form_version=printed["form_version"])
    result["reasons"] = result.get("reasons", []) + ["identity_from_printed_id"]
    result["messages"] = result.get("messages", []) + ["QR が読めないため、印刷IDの文字で照合しました"]
    return result


def record(store: Store, sha: str, result: dict, operator: str, thresholds: dict, today: date):
    """Reconcile one read page and record it, in one transaction.

    Two ingests may claim the same printed card's sheet at the same moment; the store's
    unique index lets one win, and the other reconciles again and finds a duplicate."""
    import sqlalchemy as sa

    try:
        return _record(store, sha, result, operator, thresholds, today)
    except sa.exc.IntegrityError:
        return _record(store, sha, result, operator, thresholds, today)


def _record(store: Store, sha: str, result: dict, operator: str, thresholds: dict, today: date):
    page_id = f"{sha}:{result['page']}"
    with store.transaction():
        out = reconcile_page(store, page_id, result, operator, thresholds, today)
        ident = result.get("identity") or {}
        store.add_scan_page(id=page_id, file_sha256=sha, page=result["page"], read_status=result["status"],
                            state=out.state, print_id=ident.get("print_id"),
                            sheet=result.get("sheet") if ident else None, premises_id=out.premises_id,
                            result=result, summary=asdict(out))
        store.audit(operator, "ingest.page", "scan_page", page_id, state=out.state, premises_id=out.premises_id,
                    applied=len(out.applied), review=out.review)
    return out


def find_files(paths: list[Path], home: Path) -> list[Path]:
    """Scans given or inside folders given, leaving out the copies the store keeps itself."""
    from ocr import pages as P

    kept = (home / "scans").resolve()
    return [f for f in P.find_files(paths) if kept not in f.resolve().parents]


def ingest(store: Store, home: Path, paths: list[Path], operator: str, thresholds: dict,
           today: date | None = None, reader=None, on_page=None) -> Summary:
    """Ingest files or folders, sequentially (the Prefect flow maps pages over workers)."""
    from ocr.read import Reader

    today = today or date.today()
    reader = reader or Reader.for_home(home)
    summary = Summary()
    for path in find_files(paths, home):
        sha, kept, new = receive(store, home, path, operator)
        summary.files += 1
        if not new:
            summary.files_seen_before += 1
            summary.notes.append(f"{path.name}: 同じ内容のファイルはすでに受け付けています")
        for result, out in record_empty(store, sha, kept, path.name, unread_pages(store, sha, kept), operator,
                                        thresholds, today):
            summary.add(f"{sha}:{result['page']}", path.name, result["page"], out, result["status"])
            if on_page:
                on_page(result, out)
        for page in pages_to_read(store, sha, kept):
            result = read_page(reader, page, store)
            result["source"] = path.name
            out = record(store, sha, result, operator, thresholds, today)
            summary.add(f"{sha}:{result['page']}", path.name, result["page"], out, result["status"])
            if on_page:
                on_page(result, out)
    return summary
