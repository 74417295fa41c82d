"""Ingest: scan files → kept by content → pages read → reconciled → the store.

    run ─▶ receive each file (a file that fails stops only itself)
        ─▶ its empty pages recorded as skipped, in one transaction
        ─▶ the other pages as jobs ─▶ read_map (in process, threads, Prefect tasks, Dask)
        ─▶ each reading recorded in page order, in its own transaction (a page that fails
           to read or record is noted, and the batch goes on)

Crash-safe by construction: the original file is copied into the data folder
(temporary name, then rename) before anything is recorded; each page is recorded
together with everything reconciling it did, in one transaction; a page already
recorded is never read again. Killing it at any moment and running it again ends
with the same store as one clean run. Exactly once: a page id is its file's hash and
its number, and a printed card's sheet is claimed by one page (a unique index), so
two ingests at once record each page and apply each sheet once.

Workers get a page's path and the station key, never the store: a reading carries
the identity candidates it found (a verified QR, else the ids the printed one may
be), and the recording step resolves them against the store.

A station's batch (its inbox, `junkai ingest --station`) takes only that station's cards: a
page whose card belongs to another station (the beat signed in its QR or recorded for its
printed id, or the premises it was matched to) is refused, audited and not recorded, so that
the right station's batch can still take it.
"""

from __future__ import annotations

import shutil
import time
from collections import Counter, deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

from junkai import JunkaiError, files
from junkai.files import sha256_of
from junkai.inbox import FileOutcome
from junkai.readings import PageReading
from junkai.reconcile import Outcome, identify, reconcile_page
from junkai.settings import Settings
from junkai.states import PageState
from junkai.store import Store
from junkai.transient import RETRY_DELAYS, is_transient

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
    matched: int = 0  # sheets (pages) matched to a premises
    cards: list[str] = field(default_factory=list)  # the printed cards those sheets are of (print ids)
    other_station: int = 0  # pages of another station's cards, refused by a station's batch
    failures: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, source: str, page: int, out: Outcome, read_status: str, print_id: str | None = None) -> None:
        self.pages += 1
        if out.premises_id is not None and print_id and print_id not in self.cards:
            self.cards.append(print_id)
        self.states[out.state] += 1
        self.applied += len(out.applied)
        self.review += out.review
        self.conflicts += out.conflicts
        self.matched += out.premises_id is not None
        if out.state == "failed":
            self.failures.append(f"{Path(source).name} {page} 頁: {' / '.join(out.messages) or read_status}")
        elif out.state == PageState.DUPLICATE:
            self.notes.append(f"{Path(source).name} {page} 頁: {' / '.join(out.messages)}")

    def as_dict(self) -> dict:
        d = asdict(self)
        d["states"] = dict(self.states)
        return d


@dataclass
class Run:
    """What one ingest did: the sums, and per file given what became of it (the inbox files it by this)."""
    summary: Summary = field(default_factory=Summary)
    files: dict[str, FileOutcome] = field(default_factory=dict)  # by the path given

    def as_dict(self) -> dict:
        return dict(self.summary.as_dict(), by_file={k: asdict(v) for k, v in self.files.items()})

    def recorded(self, outcome: FileOutcome, reading: PageReading, out: Outcome) -> None:
        self.summary.add(reading.source, reading.page, out, str(reading.status),
                         reading.identity.print_id if reading.identity else None)
        if out.state == "failed":
            outcome.failures.append(f"{reading.page} 頁: {' / '.join(out.messages or reading.messages)}")
        else:
            outcome.pages.append(reading.page)

    def not_recorded(self, outcome: FileOutcome, page: int, what: str, exc: BaseException) -> None:
        outcome.failures.append(f"{page} 頁: {what} ({type(exc).__name__}: {exc})")
        self.summary.failures.append(f"{outcome.name} {outcome.failures[-1]}")

    def refused(self, outcome: FileOutcome, page: int, exc: OtherStation) -> None:
        outcome.failures.append(f"{page} 頁: {exc}")
        self.summary.failures.append(f"{outcome.name} {outcome.failures[-1]}")
        self.summary.other_station += 1


class OtherStation(JunkaiError):
    """A page of another station's card in a station's batch."""


# --- files ----------------------------------------------------------------------------------


def keep(home: Path, path: Path, sha: str) -> Path:
    """The original, kept by its content under the data folder; written whole or not at all."""
    from ocr import pages as P

    dest = home / "scans" / sha[:2] / f"{sha}{path.suffix.lower()}"
    if dest.exists():
        return dest
    with P.open_regular(path) as src:  # never through a link
        return files.write_private(dest, lambda out: shutil.copyfileobj(src, out, CHUNK))


def receive(store: Store, home: Path, path: Path, operator: str) -> tuple[str, Path, bool]:
    """Keep one file and record it; returns its hash, where it is kept, and whether it is new."""
    import hashlib

    from ocr import pages as P

    with P.open_regular(path) as fh:  # a link or a FIFO is refused here too, whatever changed since
        sha = hashlib.file_digest(fh, "sha256").hexdigest()
    kept = keep(home, path, sha)
    with store.transaction():
        new = store.add_scan_file(sha, path.name, path.stat().st_size, str(kept.relative_to(home)), datetime.now(),
                                  operator)
    return sha, kept, new


def unread_pages(store: Store, sha: str, kept: Path) -> list[int]:
    """0-based indexes of the pages of a kept file not yet recorded (no page is decoded)."""
    from ocr import pages as P

    with store.transaction():
        done = {p["page"] for p in store.scan_pages(sha)}
    return [i for i in range(P.page_count(kept)) if i + 1 not in done]


def own_copies(paths: list[Path], home: Path) -> list[tuple[Path, bool]]:
    """The paths given that are, or hold, the data folder's own copies of scans (which are never read
    again): each with whether the path is wholly inside them (so that it yields no file at all)."""
    kept = (home / "scans").resolve()
    found = []
    for p in paths:
        r = Path(p).resolve()
        if r == kept or kept in r.parents:
            found.append((Path(p), True))
        elif r.is_dir() and r in kept.parents:
            found.append((Path(p), False))
    return found


def find_files(paths: list[Path], home: Path) -> list[Path]:
    """Scans given or inside folders given, leaving out the copies the store keeps itself."""
    from ocr import pages as P

    kept = (home / "scans").resolve()
    return [f for f in P.find_files(paths) if kept not in f.resolve().parents]


# --- reading: on any worker ------------------------------------------------------------------


@dataclass(frozen=True)
class PageJob:
    """One page to read, as sent to a worker that may be another process or machine: a path
    and an index rather than an image, and the key itself rather than the data folder."""
    path: str  # the kept copy
    index: int  # 0-based
    source: str  # the path the file came in with (as given: two folders may each hold a scan-001.pdf)
    key: bytes | None
    crops_dir: str | None = None
    quarantine_dir: str | None = None
    engine: str = "tesseract"  # the text recogniser (ocr.engines)
    page_seconds: float | None = None  # to decode the page (default ocr.pages.PAGE_SECONDS)


def page_jobs(home: Path, kept: Path, source: str, indexes: list[int], key: bytes | None,
              engine: str = "tesseract", page_seconds: float | None = None) -> list[PageJob]:
    return [PageJob(str(kept), i, source, key, str(home / "crops"), str(home / "quarantine"), engine, page_seconds)
            for i in indexes]


def read_job(job: PageJob) -> PageReading:
    """Read one page of a job, on whatever worker runs it (never raises for a bad page: the reading
    says what is wrong)."""
    from ocr import pages as P
    from ocr.read import Reader

    reader = Reader(job.key, Path(job.crops_dir) if job.crops_dir else None,
                    Path(job.quarantine_dir) if job.quarantine_dir else None, engine=job.engine)
    # the cap was checked when the file came in; a kept file is read whatever the cap is now
    page = next(iter(P.iter_pages(Path(job.path), only={job.index}, max_pages=P.MAX_PAGES_KEPT,
                                  seconds=job.page_seconds)), None)
    if page is None:  # the file has fewer pages than it had when counted
        page = P.Page(job.path, job.index, None, None, f"{job.index + 1} 頁目がありません", "missing_page")
    reading = reader.read(page)
    reading.source = job.source
    return reading


# Readings of the jobs, in the jobs' order, one per job; a job whose read did not complete is given
# back as its exception, in its place (that page is not recorded: the next run reads it again).
ReadMap = Callable[[Sequence[PageJob]], Iterator["PageReading | BaseException"]]


def sequential(jobs: Sequence[PageJob]) -> Iterator[PageReading | BaseException]:
    """Read in this process, one page after the other."""
    for job in jobs:
        try:
            yield read_job(job)
        except Exception as exc:
            yield exc


def in_threads(workers: int, window: int | None = None) -> ReadMap:
    """Read in a pool of threads (Tesseract runs in its own process and OpenCV releases the GIL),
    with at most `window` pages in hand at once."""
    window = window or max(4, 3 * workers)

    def read_map(jobs: Sequence[PageJob]) -> Iterator[PageReading | BaseException]:
        with ThreadPoolExecutor(workers) as pool:
            yield from windowed(lambda job: pool.submit(read_job, job), jobs, window)

    return read_map


def windowed(submit: Callable[[PageJob], Any], jobs: Sequence[PageJob],
             window: int) -> Iterator[PageReading | BaseException]:
    """The readings of futures that `submit` starts, in job order, with at most `window` of them started
    and not yet handed back: every worker kept busy, few pages held at once (threads or Prefect tasks)."""
    pending: deque = deque()
    for job in jobs:
        pending.append(submit(job))
        while len(pending) >= window:
            yield settled(pending.popleft())
    while pending:
        yield settled(pending.popleft())


def settled(future) -> PageReading | BaseException:
    """A future's reading, or the exception that ended it."""
    try:
        return future.result()
    except Exception as exc:
        return exc


# --- recording: in the driver's process ------------------------------------------------------


def record_empty(store: Store, sha: str, kept: Path, source: str, indexes: list[int], operator: str,
                 thresholds: dict, today: date) -> list[tuple[PageReading, Outcome]]:
    """Those of the pages not yet recorded that have nothing drawn on them (found without rasterising),
    recorded as skipped in one transaction: a file of thousands of empty pages must not cost a read and
    a commit each. Returns (reading, outcome) of each page recorded."""
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
            reading = reader.read(P.Page(str(kept), i, None, None, None, "blank_page"))
            reading.source = source
            page_id = f"{sha}:{reading.page}"
            out = reconcile_page(store, page_id, reading, operator, thresholds, today)
            rows.append(dict(id=page_id, file_sha256=sha, page=reading.page, read_status=str(reading.status),
                             state=out.state, print_id=None, sheet=None, premises_id=None, result=reading.to_json(),
                             summary=asdict(out)))
            done.append((reading, out))
        store.add_scan_pages(rows)
        store.audit(operator, "ingest.empty_pages", "scan_file", sha, pages=len(empty))
    return done


def record(store: Store, sha: str, reading: PageReading, operator: str, thresholds: dict,
           today: date, station: str | None = None) -> tuple[PageReading, Outcome]:
    """Identify, validate and reconcile one read page and record it with all its effects, in one
    transaction; returns the reading as recorded (its identity resolved) and what it did.

    Exactly once: a page found recorded (by an earlier try, or by a concurrent ingest) is not
    recorded again. Two ingests may claim the same printed card's sheet at the same moment; the
    store's unique index lets one win, and the other tries again and finds a duplicate.

    `station`: the batch is that station's; a page of another station's card raises OtherStation,
    with nothing recorded and the refusal audited."""
    return retrying(lambda: _record(store, sha, reading, operator, thresholds, today, station))


def stations_of_page(store: Store, reading: PageReading, premises_id: int | None) -> set[str]:
    """The stations a page's card belongs to: that of the beat it was printed for (signed in the QR, or on
    record for its printed id) and that of the premises it was matched to (empty when neither is known)."""
    ident = reading.identity
    found = set()
    for level, key in (("beat", ident.beat if ident else None), ("premises", premises_id)):
        if key:
            try:
                found.add(store.place(level, key)["station"])
            except JunkaiError:
                pass  # not a beat of this store: reconciling says so
    return found


def _own_card(store: Store, reading: PageReading, premises_id: int | None, station: str) -> None:
    other = sorted(stations_of_page(store, reading, premises_id) - {station})
    if other:
        raise OtherStation(f"他の署 ({other[0]}) のカードです ({station} の取込では記録しません。"
                           f"{other[0]} の受付フォルダに置いてください)")


def _record(store: Store, sha: str, reading: PageReading, operator: str, thresholds: dict,
            today: date, station: str | None = None) -> tuple[PageReading, Outcome]:
    page_id = f"{sha}:{reading.page}"
    try:
        with store.transaction():
            done = store.scan_pages_by_id(page_id)
            if done:
                return PageReading.from_json(done[0]["result"]), Outcome(**done[0]["summary"])
            reading = identify(store, reading)
            if station:
                _own_card(store, reading, None, station)
            out = reconcile_page(store, page_id, reading, operator, thresholds, today)
            if station:  # matched by address, or the premises moved: rolled back whole
                _own_card(store, reading, out.premises_id, station)
            ident = reading.identity
            store.add_scan_page(id=page_id, file_sha256=sha, page=reading.page, read_status=str(reading.status),
                                state=out.state, print_id=ident.print_id if ident else None,
                                sheet=reading.sheet if ident else None, premises_id=out.premises_id,
                                result=reading.to_json(), summary=asdict(out))
            store.audit(operator, "ingest.page", "scan_page", page_id, state=out.state,
                        premises_id=out.premises_id, applied=len(out.applied), review=out.review)
    except OtherStation as exc:
        with store.transaction():
            store.audit(operator, "refused", "scan_page", page_id, attempted="batch", station=station,
                        reason=str(exc))
        raise
    return reading, out


def retrying(call: Callable):
    """The call, tried again after a failure that may pass (RETRY_DELAYS apart); a unique index
    refusing it (another ingest was first) is tried again at once, since the next try sees why."""
    import sqlalchemy as sa

    delays = list(RETRY_DELAYS)
    integrity_retried = False
    while True:
        try:
            return call()
        except sa.exc.IntegrityError:
            if integrity_retried:
                raise
            integrity_retried = True
        except Exception as exc:
            if not delays or not is_transient(exc):
                raise
            time.sleep(delays.pop(0))


# --- the driver ---------------------------------------------------------------------------------


def run(store: Store, settings: Settings, paths: list[Path], operator: str, today: date | None, *,
        read_map: ReadMap | None = None, on_page: Callable[[PageReading, Outcome], None] | None = None,
        station: str | None = None) -> Run:
    """Ingest files or folders: receive each file, record its empty pages, read the others through
    `read_map` (default: threads, as many as the settings' workers) and record each reading in page
    order. `on_page(reading, outcome)` hears of every page recorded. `station`: the scans are that
    station's, and a page of another station's card is refused (its file then counts as failed). The
    run's own audit row is the caller's to write."""
    from junkai import qr

    today = today or date.today()
    home = settings.home
    key = qr.station_key(home)
    result = Run()
    jobs: list[tuple[FileOutcome, str, PageJob]] = []
    from ocr import pages as P

    for path in find_files(paths, home):
        outcome = result.files.setdefault(str(path), FileOutcome(path.name))
        # refused before anything is copied or counted: a link, a FIFO, a device; a file over the page cap
        refused = P.refusal(path)
        if refused is None and (n := P.page_count(path)) > settings.max_pages:
            refused = f"頁が多すぎます ({n} 頁、上限 {settings.max_pages} 頁。設定 [ocr] max_pages)"
        if refused:
            outcome.error = refused
            result.summary.failures.append(f"{path.name}: {refused}")
            continue
        try:
            sha, kept, new = retrying(lambda: receive(store, home, path, operator))
            unread = retrying(lambda: unread_pages(store, sha, kept))
        except Exception as exc:  # this file only: the others go on
            outcome.error = f"{type(exc).__name__}: {exc}"
            result.summary.failures.append(f"{path.name}: {outcome.error}")
            continue
        result.summary.files += 1
        if not new:
            result.summary.files_seen_before += 1
            result.summary.notes.append(f"{path.name}: 同じ内容のファイルはすでに受け付けています")
        try:
            empty = record_empty(store, sha, kept, str(path), unread, operator, settings.thresholds, today)
        except Exception:  # read one by one below, like any other page
            empty = []
        for reading, out in empty:
            result.recorded(outcome, reading, out)
            if on_page:
                on_page(reading, out)
        recorded = {reading.page - 1 for reading, _ in empty}
        jobs += [(outcome, sha, job) for job in page_jobs(home, kept, str(path),
                                                          [i for i in unread if i not in recorded], key,
                                                          settings.ocr_engine, settings.page_seconds)]

    if read_map is None:
        read_map = in_threads(settings.workers) if settings.workers > 1 else sequential
    readings = read_map([job for _, _, job in jobs])
    for (outcome, sha, job), reading in zip(jobs, readings):
        if isinstance(reading, BaseException):
            result.not_recorded(outcome, job.index + 1, "読み取りが中断しました", reading)
            continue
        try:
            reading, out = record(store, sha, reading, operator, settings.thresholds, today, station)
        except OtherStation as exc:
            result.refused(outcome, job.index + 1, exc)
            continue
        except Exception as exc:  # this page only: the next run reads it again
            result.not_recorded(outcome, job.index + 1, "記録できませんでした", exc)
            continue
        result.recorded(outcome, reading, out)
        if on_page:
            on_page(reading, out)
    return result
