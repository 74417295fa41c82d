"""The handover flow: the report of a beat whose officer changed, with the new officer's
visit list (junkai.handover), recorded as a run and retried on transient failures."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from prefect import flow, task

from flows.common import PRIVATE, RETRY_DELAYS, retry_transient
from junkai import settings as settings_mod
from junkai.store import Store


@task(name="引継ぎ報告", retries=2, retry_delay_seconds=RETRY_DELAYS, retry_condition_fn=retry_transient, **PRIVATE)
def write(store: Store, s: settings_mod.Settings, beat: str, as_of: date, operator: str, out_dir: Path) -> Path:
    from junkai import handover as H
    from junkai.lists import Definitions

    return H.write(store, beat, as_of, operator, out_dir, Definitions(s.unconfirmed_multiplier), s.turnover_years,
                   s.stale_share)


@flow(name="handover", description="受持警察官の交代に伴う引継ぎ報告と訪問リスト")
def handover(beat: str, as_of: date | None = None, operator: str = "引継ぎ", out_dir: str | None = None) -> str:
    s = settings_mod.load()
    as_of = as_of or date.today()
    store = Store(s.db_url)
    try:
        store.check_ready()
        target = Path(out_dir) if out_dir else s.output / as_of.isoformat() / "handover"
        return str(write(store, s, beat, as_of, operator, target))
    finally:
        store.close()
