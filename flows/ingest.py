"""The ingest flow: scans → kept by content → pages read in parallel → each page validated,
reconciled and recorded in its own transaction, in page order.

Reading is mapped over the task runner (threads, processes or Dask workers); what goes
to a worker is a page's path and index, never an image. Recording stays in this
process, one page at a time: SQLite has one writer, and the order of pages decides
which copy of a card counts, so a threaded run and a Dask run end alike.
"""

from __future__ import annotations

from collections import deque
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path

from prefect import flow, task
from prefect.artifacts import create_table_artifact

from flows.common import PRIVATE, RETRY_DELAYS, Progress, retry_transient, task_runner
from junkai import ingest as I
from junkai import settings as settings_mod
from junkai.inbox import FileOutcome
from junkai.reconcile import Outcome
from junkai.store import Store

_page_listeners: list = []  # the CLI's --json: (result, outcome) of every page recorded


def listen_pages(listener) -> None:
    _page_listeners.clear()
    if listener is not None:
        _page_listeners.append(listener)


def _read_name() -> str:
    from prefect.runtime import task_run

    job = task_run.parameters["job"]
    return f"読取 {job.source} {job.index + 1}頁"


@task(name="受付", retries=3, retry_delay_seconds=RETRY_DELAYS, retry_condition_fn=retry_transient, **PRIVATE)
def receive(store: Store, home: Path, path: Path, operator: str) -> tuple[str, Path, bool, list[int]]:
    """Keep the file by its content and list its pages not yet recorded."""
    sha, kept, new = I.receive(store, home, path, operator)
    return sha, kept, new, I.unread_pages(store, sha, kept)


@task(name="読取", task_run_name=_read_name, retries=2, retry_delay_seconds=RETRY_DELAYS,
      retry_condition_fn=retry_transient, **PRIVATE)
def read(job: I.PageJob) -> dict:
    return I.read_job(job)


@task(name="検証・照合・記録", retries=3, retry_delay_seconds=RETRY_DELAYS, retry_condition_fn=retry_transient,
      **PRIVATE)
def record(store: Store, sha: str, result: dict, operator: str, thresholds: dict, today: date) -> Outcome:
    """Validate and reconcile one page and record it with all its effects, in one transaction. A retry
    finds the page recorded by the try that did get through (or by a concurrent ingest) and stops."""
    with store.transaction():
        done = store.scan_pages_by_id(f"{sha}:{result['page']}")
        if done:
            return Outcome(**done[0]["summary"])
        return I.record(store, sha, result, operator, thresholds, today)


@dataclass
class Run:
    summary: I.Summary = field(default_factory=I.Summary)
    files: dict[str, FileOutcome] = field(default_factory=dict)  # by the path given

    def as_dict(self) -> dict:
        return dict(self.summary.as_dict(), by_file={k: asdict(v) for k, v in self.files.items()})


def ingest_files(store: Store, s: settings_mod.Settings, paths: list[Path], operator: str, today: date,
                 window: int | None = None) -> Run:
    """The body of the flow, usable inside another flow (the inbox): receive, read mapped, record in order."""
    from junkai import qr

    key = qr.station_key(s.home)
    run = Run()
    jobs: list[tuple[FileOutcome, str, I.PageJob]] = []
    for path in I.find_files(paths, s.home):
        outcome = run.files.setdefault(str(path), FileOutcome(path.name))
        try:
            sha, kept, new, unread = receive(store, s.home, path, operator)
        except Exception as exc:  # this file only: the others go on
            outcome.error = f"{type(exc).__name__}: {exc}"
            run.summary.failures.append(f"{path.name}: {outcome.error}")
            continue
        run.summary.files += 1
        if not new:
            run.summary.files_seen_before += 1
            run.summary.notes.append(f"{path.name}: 同じ内容のファイルはすでに受け付けています")
        try:
            # pages with nothing drawn on them, in one transaction and without a task each: a file of
            # thousands of them otherwise spends minutes on the tasks' own overhead
            empty = I.record_empty(store, sha, kept, path.name, unread, operator, s.thresholds, today)
        except Exception:  # read one by one below, like any other page
            empty = []
        for result, out in empty:
            run.summary.add(f"{sha}:{result['page']}", path.name, result["page"], out, result["status"])
            outcome.pages.append(result["page"])
            for listener in list(_page_listeners):
                listener(result, out)
        recorded = {result["page"] - 1 for result, _ in empty}
        unread = [i for i in unread if i not in recorded]
        jobs += [(outcome, sha, job) for job in I.page_jobs(s.home, kept, path.name, unread, key, s.db_url)]

    progress = Progress("頁の読み取りと照合", len(jobs))
    window = window or max(4, 3 * s.workers)  # enough to keep every worker busy, few pages held at once
    pending: deque = deque()

    def settle_next() -> None:
        outcome, sha, job, future = pending.popleft()
        page = job.index + 1
        try:
            result = future.result()
        except Exception as exc:  # not recorded: the next run reads it again
            outcome.failures.append(f"{page} 頁: 読み取りが中断しました ({type(exc).__name__}: {exc})")
            run.summary.failures.append(f"{job.source} {page} 頁: {outcome.failures[-1]}")
            progress.advance()
            return
        try:
            out = record(store, sha, result, operator, s.thresholds, today)
        except Exception as exc:
            outcome.failures.append(f"{page} 頁: 記録できませんでした ({type(exc).__name__}: {exc})")
            run.summary.failures.append(f"{job.source} {outcome.failures[-1]}")
            progress.advance()
            return
        run.summary.add(f"{sha}:{page}", job.source, page, out, result["status"])
        if out.state == "failed":
            outcome.failures.append(f"{page} 頁: {' / '.join(out.messages or result.get('messages', []))}")
        else:
            outcome.pages.append(page)
        for listener in list(_page_listeners):
            listener(result, out)
        progress.advance()

    for outcome, sha, job in jobs:
        pending.append((outcome, sha, job, read.submit(job)))
        while len(pending) >= window:
            settle_next()
    while pending:
        settle_next()
    return run


def publish(run: Run, key: str = "ingest") -> None:
    """The run's summary as a table artifact: per file, counts only (no personal data)."""
    rows = []
    for path, f in run.files.items():
        rows.append({"ファイル": f.name, "取り込んだ頁": len(f.pages), "読めなかった頁": len(f.failures),
                     "結果": "失敗" if f.error else ("一部失敗" if f.failures else "完了")})
    st = run.summary.states
    description = (f"ファイル {run.summary.files} (受付済み {run.summary.files_seen_before})、頁 {run.summary.pages}、"
                   f"照合 {run.summary.matched}、補正 {run.summary.applied} 項目、確認待ち {run.summary.review} 件 "
                   f"(矛盾 {run.summary.conflicts})、重複 {st.get('duplicate', 0)}、白紙 {st.get('skipped', 0)}、"
                   f"失敗 {st.get('failed', 0) + sum(1 for f in run.files.values() if f.error)}")
    create_table_artifact(rows or [{"ファイル": "-", "取り込んだ頁": 0, "読めなかった頁": 0, "結果": "対象なし"}],
                          key=key, description=description)


@flow(name="ingest", description="走査したカードの取込: 読み取り → 検証 → 照合 → 補正")
def ingest(paths: list[str], operator: str = "junkai", as_of: date | None = None, station: str | None = None) -> dict:
    """Ingest scan files or folders; returns the summary with an outcome per file. `station`: the
    station whose scans they are (an inbox's), over which the operator's right is checked."""
    from junkai.actions import Context, batches

    # the operator's "batch" right is checked first (refused and audited), the run audited once
    with Context.open(operator) as ctx:
        run = batches.ingest(ctx, [Path(p) for p in paths], as_of or date.today(), station=station)
    publish(run)
    return run.as_dict()


def run(paths: list[Path], operator: str, s: settings_mod.Settings | None = None, as_of: date | None = None,
        runner=None) -> dict:
    """Run the flow now, with the task runner of the settings (or the one given)."""
    s = s or settings_mod.load()
    return ingest.with_options(task_runner=runner or task_runner(s))(
        paths=[str(p) for p in paths], operator=operator, as_of=as_of)
