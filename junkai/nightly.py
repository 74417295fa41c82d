"""The nightly batch of a station, as plain steps (flows/nightly.py only wires them).

    inbox ─▶ values accepted in review ─▶ overdue lists (第6-1) ─▶ visit lists with
    pre-filled cards (第6-7(3)) ─▶ chief's daily report ─▶ complaints to HQ (第4-5)
    ─▶ HQ report when due

Every run is a line of `nightly_run` holding what each step did. A step that writes
(lists, prints, reports) is marked done in the same transaction as its own records, so
a second run for the same station and day skips it and a crash never leaves it half
counted; reading the inbox and applying decided values are safe to repeat and always run.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Callable

from junkai import JunkaiError
from junkai.states import StepState
from junkai.store import Store

# in order; label for people
STEPS: dict[str, str] = {
    "inbox": "受付フォルダの取込",
    "reconcile": "確認済みの値の反映",
    "overdue": "長期不実施・長期未把握の一覧",
    "visit_lists": "訪問リストと記入済みカード",
    "chief_report": "署長への日報",
    "hq_complaints": "本部への苦情報告",
    "hq_report": "本部への報告",
}
REPEATABLE = {"inbox", "reconcile"}  # idempotent by themselves: they run every time
DONE, NOTHING, SKIPPED, FAILED = StepState.DONE, StepState.NOTHING, StepState.SKIPPED, StepState.FAILED
STATE_LABELS = {DONE: "完了", NOTHING: "対象なし", SKIPPED: "実施済み", FAILED: "失敗"}


DETAIL_LABELS = {"files": "ファイル", "pages": "頁", "applied": "反映", "review": "確認待ち", "identities": "各戸の確定",
                 "opinions": "意見・要望", "premises": "各戸", "beats": "受持区", "officers": "受持警察官",
                 "day": "対象日", "complaints": "苦情", "start": "期間", "end": "まで"}


def describe(result: dict) -> str:
    """One line for people: the message, or the counts a step reports (Japanese)."""
    if result.get("message"):
        return result["message"]
    d = result.get("detail", {})
    return "、".join(f"{label} {d[k]}" for k, label in DETAIL_LABELS.items() if isinstance(d.get(k), (int, str)))


@dataclass
class StepResult:
    state: str  # done | nothing | skipped | failed
    files: list[str] = field(default_factory=list)
    detail: dict = field(default_factory=dict)
    message: str = ""


def output_dir(root: Path, station: str, as_of: date) -> Path:
    return Path(root) / as_of.isoformat() / station


# --- the run's line in the store --------------------------------------------------------------


def begin(store: Store, station: str, as_of: date, operator: str, flow_run: str | None = None,
          now: datetime | None = None) -> tuple[int, dict[str, dict]]:
    """Open a run; returns its id and the steps done by earlier runs for the same station and day."""
    with store.transaction():
        earlier = store.nightly_runs(station, as_of)
        run_id = store.start_nightly(station, as_of, now or datetime.now(), operator, flow_run)
    done: dict[str, dict] = {}
    for run in earlier:
        for step, r in run["summary"].items():
            if r.get("state") in (DONE, NOTHING) and step not in REPEATABLE:
                done.setdefault(step, dict(r, run=run["id"]))
    return run_id, done


def mark(store: Store, run_id: int, step: str, result: StepResult) -> None:
    """Write one step's result into the run's line (inside the caller's transaction when there is one)."""
    with store.transaction():
        run = store.nightly_run(run_id)
        summary = dict(run["summary"])
        summary[step] = asdict(result)
        store.update_nightly(run_id, summary)


def finish(store: Store, run_id: int, now: datetime | None = None) -> dict:
    with store.transaction():
        run = store.nightly_run(run_id)
        failed = any(r["state"] == FAILED for r in run["summary"].values())
        store.update_nightly(run_id, run["summary"], FAILED if failed else DONE, now or datetime.now())
    return run["summary"]


def run_step(store: Store, run_id: int, step: str, work: Callable[[], StepResult]) -> StepResult:
    """Do a step and mark it in one transaction: its records and its mark are written together."""
    with store.transaction():
        result = work()
        mark(store, run_id, step, result)
    return result


# --- the steps --------------------------------------------------------------------------------


def reconcile_decided(store: Store, operator: str, today: date) -> StepResult:
    """Values a person accepted or corrected during the day reach their cards."""
    from junkai.reconcile import apply_decided

    with store.transaction():
        counts = apply_decided(store, operator, today)
    return StepResult(DONE if any(counts.values()) else NOTHING, detail=counts)


def overdue_lists(store: Store, station: str, as_of: date, out_dir: Path, definitions, operator: str) -> StepResult:
    """One CSV per beat of the station's long-unvisited and long-unconfirmed premises (第6-1)."""
    from junkai.export import csv_text, marked_csv, write_text
    from junkai.lists import overdue

    df = overdue(store, as_of, ("station", station), definitions)
    if df.empty:
        return StepResult(NOTHING, detail=dict(premises=0))
    out_dir.mkdir(parents=True, exist_ok=True)
    files = []
    for beat, rows in df.groupby("beat_id", sort=True):
        lines = [f"# 基準日 {as_of}  範囲 受持区 {beat}  {len(rows)} 戸"]
        lines += [f"# {line}" for line in definitions.lines()]
        path = out_dir / f"overdue-{beat}-{as_of:%Y%m%d}.csv"
        write_text(path, marked_csv("\n".join(lines) + "\n" + csv_text(rows)), bom=True)
        files.append(str(path))
    with store.transaction():
        store.audit_export(operator, "overdue", ("station", station), as_of=as_of.isoformat(), rows=len(df),
                           files=[Path(f).name for f in files])
    return StepResult(DONE, files, dict(premises=len(df), beats=len(files)))


def visit_lists(store: Store, station: str, as_of: date, out_dir: Path, key: bytes, definitions, operator: str,
                now: datetime | None = None) -> StepResult:
    """Each officer's visit list in walking order with the pre-filled cards to carry (one PDF per station)."""
    from junkai import visitlists

    try:
        written = visitlists.write(store, as_of, ("station", station), operator, out_dir, key, definitions,
                                   now=now)
    except JunkaiError as exc:
        if "訪問の必要な各戸はありません" in str(exc):
            return StepResult(NOTHING, detail=dict(premises=0), message=str(exc))
        raise
    return StepResult(DONE, [str(written.path)], dict(officers=written.officers, premises=written.premises,
                                                      pages=written.pages, batches=written.batches))


# --- reports (junkai.reports) ---------------------------------------------------------------------


def report_day(as_of: date) -> date:
    """The day the chief's daily report covers: the one that ended before the night's run."""
    from datetime import timedelta

    return as_of - timedelta(days=1)


def chief_report(store: Store, station: str, as_of: date, out_dir: Path, operator: str, s,
                 now: datetime | None = None) -> StepResult:
    from junkai import reports
    from junkai.lists import Definitions

    day = report_day(as_of)
    path = reports.chief(store, station, day, day, out_dir, operator, now=now,
                         definitions=Definitions(s.unconfirmed_multiplier), turnover_years=s.turnover_years,
                         stale_share=s.stale_share)
    return StepResult(DONE, [str(path)], dict(day=day.isoformat()))


def complaints_to_hq(store: Store, station: str, out_dir: Path, operator: str,
                     now: datetime | None = None) -> StepResult:
    """A page for each complaint of the station not yet reported to HQ (第4-5); each is then marked reported,
    so a second run finds none."""
    from junkai import reports

    with store.transaction():
        ids = [i for i in store.unreported_complaints() if store.complaint(i)["station_id"] == station]
    files = [str(reports.complaint(store, i, out_dir, operator, now=now)) for i in ids]
    return StepResult(DONE if files else NOTHING, files, dict(complaints=len(ids)))


def hq_report_due(store: Store, as_of: date) -> tuple[date, date] | None:
    """The HQ report is monthly: the previous month's is due until some run has written it."""
    from datetime import timedelta

    end = as_of.replace(day=1) - timedelta(days=1)
    start = end.replace(day=1)
    with store.transaction():
        for run in store.nightly_runs():
            r = run["summary"].get("hq_report", {})
            if r.get("state") == DONE and r.get("detail", {}).get("start") == start.isoformat():
                return None
    return start, end


def hq_report(store: Store, as_of: date, out_root: Path, operator: str, s, now: datetime | None = None) -> StepResult:
    """The prefecture's monthly report, written once whichever station's run comes first."""
    from junkai import reports
    from junkai.lists import Definitions

    due = hq_report_due(store, as_of)
    if due is None:
        return StepResult(NOTHING, message="前月の本部報告は作成済みです")
    start, end = due
    path = reports.hq(store, start, end, Path(out_root) / as_of.isoformat() / "hq", operator, now=now,
                      definitions=Definitions(s.unconfirmed_multiplier))
    return StepResult(DONE, [str(path)], dict(start=start.isoformat(), end=end.isoformat()))
