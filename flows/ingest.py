"""The ingest flow: the ingest driver (junkai.ingest) with its pages read by Prefect tasks.

Reading is mapped over the task runner (threads, processes or Dask workers), a bounded
window of pages at a time; what goes to a worker is a page's path and index, never an
image nor the store. Recording stays in this process, one page at a time, in page
order (the driver's own loop): SQLite has one writer, and the order of pages decides
which copy of a card counts, so a threaded run and a Dask run end alike.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Iterator, Sequence

from prefect import flow, task
from prefect.artifacts import create_table_artifact

from flows.common import PRIVATE, RETRY_DELAYS, Progress, confined, retry_transient, task_runner
from junkai import ingest as I
from junkai import settings as settings_mod
from junkai.readings import PageReading

_page_listeners: list = []  # the CLI's --json: (reading, outcome) of every page recorded


def listen_pages(listener) -> None:
    _page_listeners.clear()
    if listener is not None:
        _page_listeners.append(listener)


def _tell(reading, outcome) -> None:
    for listener in list(_page_listeners):
        listener(reading, outcome)


def _read_name() -> str:
    from prefect.runtime import task_run

    job = task_run.parameters["job"]
    return f"読取 {Path(job.source).name} {job.index + 1}頁"


@task(name="読取", task_run_name=_read_name, retries=2, retry_delay_seconds=RETRY_DELAYS,
      retry_condition_fn=retry_transient, **PRIVATE)
def read(job: I.PageJob) -> PageReading:
    return I.read_job(job)


def read_in_tasks(window: int) -> I.ReadMap:
    """The driver's read map: a `read` task per page, at most `window` of them submitted and not yet
    handed back (enough to keep every worker busy, few pages held at once)."""

    def read_map(jobs: Sequence[I.PageJob]) -> Iterator[PageReading | BaseException]:
        progress = Progress("頁の読み取りと照合", len(jobs))
        for reading in I.windowed(read.submit, jobs, window):
            progress.advance()
            yield reading

    return read_map


def publish(run: I.Run, key: str = "ingest") -> None:
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
def ingest(paths: list[str], operator: str | None = None, as_of: date | None = None, station: str | None = None) -> dict:
    """Ingest scan files or folders; returns the summary with an outcome per file. `station`: the
    station whose scans they are (an inbox's), over which the operator's right is checked. It runs as
    the one who serves it (`operator` may only name that one)."""
    from junkai.actions import batches

    # the operator's "batch" right is checked first (refused and audited), the run audited once
    with confined(operator, "batch") as ctx:
        run = batches.ingest(ctx, [Path(p) for p in paths], as_of or date.today(),
                             read_map=read_in_tasks(max(4, 3 * ctx.settings.workers)), on_page=_tell,
                             station=station)
    publish(run)
    return run.as_dict()


def run(paths: list[Path], operator: str | None = None, s: settings_mod.Settings | None = None,
        as_of: date | None = None, runner=None, station: str | None = None) -> dict:
    """Run the flow now, in this process (as its identity: flows.common.run_as), with the task runner of
    the settings (or the one given)."""
    s = s or settings_mod.load()
    return ingest.with_options(task_runner=runner or task_runner(s))(
        paths=[str(p) for p in paths], operator=operator, as_of=as_of, station=station)
