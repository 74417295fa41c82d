"""The nightly flow: for a station (or every station) the steps of junkai.nightly, each a task
(the inbox a subflow). A step that fails is recorded and the next steps and stations go on;
the run fails at the end if any step failed. Its summary is a markdown artifact and a line
of `nightly_run` in the store."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact
from prefect.states import Failed

from flows.common import PRIVATE, RETRY_DELAYS, Progress, confined, retry_transient
from flows.inbox import take
from junkai import nightly as N
from junkai import settings as settings_mod
from junkai.actions import batches
from junkai.store import Store

STEP = dict(retries=2, retry_delay_seconds=RETRY_DELAYS, retry_condition_fn=retry_transient, **PRIVATE)


class StepsFailed(Exception):
    """Some steps failed (each recorded with its reason); `summary` has every station's steps."""

    def __init__(self, summary: dict):
        failed = [f"{st} {N.STEPS[step]}" for st, steps in summary.items() for step, r in steps.items()
                  if r["state"] == N.FAILED]
        super().__init__("失敗した処理: " + "、".join(failed))
        self.summary = summary


@task(name="確認済みの値の反映", **STEP)
def reconcile(store: Store, operator: str, as_of: date) -> N.StepResult:
    return N.reconcile_decided(store, operator, as_of)


@task(name="長期不実施・長期未把握の一覧", **STEP)
def overdue(store: Store, run_id: int, station: str, as_of: date, out_dir: Path, s, operator: str) -> N.StepResult:
    from junkai.lists import Definitions

    return N.run_step(store, run_id, "overdue", lambda: N.overdue_lists(
        store, station, as_of, out_dir, Definitions(s.unconfirmed_multiplier), operator))


@task(name="訪問リストと記入済みカード", **STEP)
def visit_lists(store: Store, run_id: int, station: str, as_of: date, out_dir: Path, s, operator: str,
                now: datetime) -> N.StepResult:
    from junkai import qr
    from junkai.lists import Definitions

    key = qr.station_key(s.home)
    return N.run_step(store, run_id, "visit_lists", lambda: N.visit_lists(
        store, station, as_of, out_dir, key, Definitions(s.unconfirmed_multiplier), operator, now))


@task(name="署長への日報", **STEP)
def chief_report(store: Store, run_id: int, station: str, as_of: date, out_dir: Path, s, operator: str,
                 now: datetime) -> N.StepResult:
    return N.run_step(store, run_id, "chief_report",
                      lambda: N.chief_report(store, station, as_of, out_dir, operator, s, now))


@task(name="本部への苦情報告", **STEP)
def hq_complaints(store: Store, run_id: int, station: str, out_dir: Path, operator: str,
                  now: datetime) -> N.StepResult:
    return N.run_step(store, run_id, "hq_complaints", lambda: N.complaints_to_hq(store, station, out_dir, operator, now))


@task(name="本部への報告", **STEP)
def hq_report(store: Store, run_id: int, as_of: date, s, operator: str, now: datetime) -> N.StepResult:
    return N.run_step(store, run_id, "hq_report", lambda: N.hq_report(store, as_of, s.output, operator, s, now))


def _flow_run_id() -> str | None:
    from prefect.runtime import flow_run

    return str(flow_run.id) if flow_run.id else None


def station_night(s: settings_mod.Settings, store: Store, station: str, as_of: date, operator: str) -> dict:
    """Every step for one station; a failing step is recorded and the others still run."""
    now = datetime.now()
    out_dir = N.output_dir(s.output, station, as_of)
    run_id, done = N.begin(store, station, as_of, operator, _flow_run_id(), now)
    progress = Progress(f"夜間処理 {station}", len(N.STEPS))
    steps = {
        "inbox": lambda: _inbox_result(take(s, station, operator, as_of)),
        "reconcile": lambda: reconcile(store, operator, as_of),
        "overdue": lambda: overdue(store, run_id, station, as_of, out_dir, s, operator),
        "visit_lists": lambda: visit_lists(store, run_id, station, as_of, out_dir, s, operator, now),
        "chief_report": lambda: chief_report(store, run_id, station, as_of, out_dir, s, operator, now),
        "hq_complaints": lambda: hq_complaints(store, run_id, station, out_dir, operator, now),
        "hq_report": lambda: hq_report(store, run_id, as_of, s, operator, now),
    }
    for step in N.STEPS:
        if step in done:
            result = N.StepResult(N.SKIPPED, message=f"同じ日の夜間処理 (記録 {done[step]['run']}) で実施済み")
        else:
            try:
                result = steps[step]()
            except Exception as exc:
                result = N.StepResult(N.FAILED, message=f"{type(exc).__name__}: {exc}")
        N.mark(store, run_id, step, result)  # the writing steps marked themselves already: same result
        progress.advance()
    return N.finish(store, run_id)


def _inbox_result(r: dict) -> N.StepResult:
    if r.get("busy"):
        return N.StepResult(N.NOTHING, detail=r, message=r["busy"])
    files = r["archived"] + r["quarantined"]
    return N.StepResult(N.DONE if r["files"] else N.NOTHING, files, r,
                        f"隔離 {len(r['quarantined'])} ファイル" if r["quarantined"] else "")


def markdown(as_of: date, summary: dict) -> str:
    lines = [f"# 夜間処理 {as_of}", ""]
    for station, steps in summary.items():
        lines += [f"## {station}", "", "| 処理 | 結果 | ファイル | 内容 |", "|---|---|---|---|"]
        for step, r in sorted(steps.items(), key=lambda kv: list(N.STEPS).index(kv[0]) if kv[0] in N.STEPS else 99):
            detail = N.describe(r)
            lines.append(f"| {N.STEPS.get(step, step)} | {N.STATE_LABELS.get(r['state'], r['state'])} | "
                         f"{len(r.get('files', []))} | {detail} |")
        lines.append("")
    return "\n".join(lines)


def today(s: settings_mod.Settings) -> date:
    return datetime.now(ZoneInfo(s.timezone)).date()


@flow(name="nightly", description="夜間処理: 取込 → 反映 → 一覧 → 訪問リストとカード → 報告")
def nightly(station: str | None = None, as_of: date | None = None, operator: str | None = None) -> dict:
    """The night's batch for one station or for every station of the store; returns the steps per station.
    It runs as the one who serves it (`operator` may only name that one), who must hold the "batch" right there."""
    with confined(operator, "batch") as ctx:
        s, store, operator = ctx.settings, ctx.store, ctx.operator
        as_of = as_of or today(s)
        # the operator's "batch" right over the station (or the whole store), refused and audited as
        # `junkai run nightly` is; the steps then run as that operator
        stations = batches.nightly_stations(ctx, station)
        summary = {st: station_night(s, store, st, as_of, operator) for st in stations}
    create_markdown_artifact(markdown(as_of, summary), key="nightly", description=f"夜間処理 {as_of}")
    if any(r["state"] == N.FAILED for steps in summary.values() for r in steps.values()):
        failed = StepsFailed(summary)
        # a failed run, without a traceback: each step's reason is in the summary
        return Failed(message=str(failed), data=failed)
    return summary
