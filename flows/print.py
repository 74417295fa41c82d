"""The print flow: one print batch of cards (a beat's, some premises', or blank ones), written
and recorded together (junkai.actions.printing, as `junkai print cards`: the operator's right is
checked and the print audited); a transient failure (a locked database, a busy disk) is retried."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from prefect import flow, task

from flows.common import PRIVATE, RETRY_DELAYS, confined, output_folder, retry_transient
from junkai.actions import Context
from junkai.actions import printing as P


@task(name="カードの印刷", retries=2, retry_delay_seconds=RETRY_DELAYS, retry_condition_fn=retry_transient, **PRIVATE)
def write(ctx: Context, out_dir: Path, premises: list[int], beat: str | None, blank: int, form: str) -> P.Printed:
    return P.print_cards(ctx, out_dir, premises_ids=premises, beat=beat, blank=blank, blank_form=form)


@flow(name="print", description="巡回連絡カードの印刷 (PDF)")
def print_cards(beat: str | None = None, premises: list[int] | None = None, blank: int = 0,
                form: str = "household", operator: str | None = None, out_dir: str | None = None) -> dict:
    """Print a beat's cards, the cards of some premises, or blank cards for a beat; returns the file.
    It runs as the one who serves it, who must hold the print right over them (`operator` may only name
    that one); `out_dir` must lie in the output folder."""
    with confined(operator, "print") as ctx:
        target = output_folder(ctx, out_dir, ctx.settings.output / date.today().isoformat() / "print", "print")
        printed = write(ctx, target, premises or [], beat, blank, form)
    return dict(path=str(printed.path), batch=printed.batch_id, cards=printed.cards, sheets=printed.sheets,
                pages=printed.pages)
