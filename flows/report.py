"""The report flow: the chief's report of a station, or the HQ report, for a period
(junkai.actions.reports, as `junkai report`: the operator's right is checked and the report
audited), recorded as a run and retried on transient failures."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from prefect import flow, task

from flows.common import PRIVATE, RETRY_DELAYS, confined, output_folder, retry_transient
from junkai import JunkaiError
from junkai.actions import Context
from junkai.actions import reports as R

KINDS = ("chief", "hq")


@task(name="報告の作成", retries=2, retry_delay_seconds=RETRY_DELAYS, retry_condition_fn=retry_transient, **PRIVATE)
def write(ctx: Context, kind: str, station: str | None, start: date, end: date, out_dir: Path) -> Path:
    if kind == "chief":
        return R.chief(ctx, station, start, end, out_dir)
    return R.hq(ctx, start, end, out_dir)


@flow(name="report", description="署長報告または本部報告 (期間を指定)")
def report(kind: str, start: date, end: date, station: str | None = None, operator: str | None = None,
           out_dir: str | None = None) -> str:
    """kind "chief" (a station's, `station` required) or "hq" (the prefecture's), written as the one who
    serves it (`operator` may only name that one) into the output folder."""
    if kind not in KINDS:
        raise JunkaiError(f"報告の種類は chief (署長) か hq (本部) です: {kind!r}")
    if kind == "chief" and not station:
        raise JunkaiError("署長報告には警察署 (station) を指定してください")
    right = f"report.{kind}"
    with confined(operator, right) as ctx:  # as the one who serves it; writes only in the output folder
        target = output_folder(ctx, out_dir, ctx.settings.output / date.today().isoformat() / (station or "hq"), right)
        return str(write(ctx, kind, station, start, end, target))
