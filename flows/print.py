"""The print flow: one print batch of cards (a beat's, some premises', or blank ones), written
and recorded together; a transient failure (a locked database, a busy disk) is retried."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from prefect import flow, task

from flows.common import PRIVATE, RETRY_DELAYS, retry_transient
from junkai import nightly as N
from junkai import qr
from junkai import settings as settings_mod
from junkai.store import Store


@task(name="カードの印刷", retries=2, retry_delay_seconds=RETRY_DELAYS, retry_condition_fn=retry_transient, **PRIVATE)
def write(store: Store, key: bytes, out_dir: Path, operator: str, premises: list[int], beat: str | None, blank: int,
          form: str) -> N.Printed:
    return N.print_cards(store, key, out_dir, operator, premises_ids=premises, beat=beat, blank=blank,
                         blank_form=form)


@flow(name="print", description="巡回連絡カードの印刷 (PDF)")
def print_cards(beat: str | None = None, premises: list[int] | None = None, blank: int = 0,
                form: str = "household", operator: str = "印刷", out_dir: str | None = None) -> dict:
    """Print a beat's cards, the cards of some premises, or blank cards for a beat; returns the file."""
    s = settings_mod.load()
    store = Store(s.db_url)
    try:
        store.check_ready()
        target = Path(out_dir) if out_dir else s.output / date.today().isoformat() / "print"
        printed = write(store, qr.station_key(s.home), target, operator, premises or [], beat, blank, form)
    finally:
        store.close()
    return dict(path=str(printed.path), batch=printed.batch_id, cards=printed.cards, sheets=printed.sheets,
                pages=printed.pages)
