"""The handover flow: the report of a beat whose officer changed, with the new officer's
visit list (junkai.actions.reports.handover, as `junkai handover`: the operator's right is
checked and the report audited), recorded as a run and retried on transient failures."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from prefect import flow, task

from flows.common import PRIVATE, RETRY_DELAYS, confined, output_folder, retry_transient
from junkai.actions import Context
from junkai.actions import reports as R


@task(name="引継ぎ報告", retries=2, retry_delay_seconds=RETRY_DELAYS, retry_condition_fn=retry_transient, **PRIVATE)
def write(ctx: Context, beat: str, as_of: date, out_dir: Path) -> Path:
    return R.handover(ctx, beat, as_of, out_dir)


@flow(name="handover", description="受持警察官の交代に伴う引継ぎ報告と訪問リスト")
def handover(beat: str, as_of: date | None = None, operator: str | None = None, out_dir: str | None = None) -> str:
    as_of = as_of or date.today()
    with confined(operator, "print") as ctx:  # as the one who serves it; writes only in the output folder
        target = output_folder(ctx, out_dir, ctx.settings.output / as_of.isoformat() / "handover", "print")
        return str(write(ctx, beat, as_of, target))
