"""The report flow: the chief's report of a station, or the HQ report, for a period
(junkai.reports), recorded as a run and retried on transient failures."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from prefect import flow, task

from flows.common import PRIVATE, RETRY_DELAYS, retry_transient
from junkai import JunkaiError
from junkai import settings as settings_mod
from junkai.store import Store

KINDS = ("chief", "hq")


@task(name="報告の作成", retries=2, retry_delay_seconds=RETRY_DELAYS, retry_condition_fn=retry_transient, **PRIVATE)
def write(store: Store, s: settings_mod.Settings, kind: str, station: str | None, start: date, end: date,
          operator: str, out_dir: Path) -> Path:
    from junkai import reports
    from junkai.lists import Definitions

    definitions = Definitions(s.unconfirmed_multiplier)
    if kind == "chief":
        return reports.chief(store, station, start, end, out_dir, operator, definitions=definitions,
                             turnover_years=s.turnover_years, stale_share=s.stale_share)
    return reports.hq(store, start, end, out_dir, operator, definitions=definitions)


@flow(name="report", description="署長報告または本部報告 (期間を指定)")
def report(kind: str, start: date, end: date, station: str | None = None, operator: str = "報告",
           out_dir: str | None = None) -> str:
    """kind "chief" (a station's, `station` required) or "hq" (the prefecture's)."""
    if kind not in KINDS:
        raise JunkaiError(f"報告の種類は chief (署長) か hq (本部) です: {kind!r}")
    if kind == "chief" and not station:
        raise JunkaiError("署長報告には警察署 (station) を指定してください")
    s = settings_mod.load()
    store = Store(s.db_url)
    try:
        store.check_ready()
        target = Path(out_dir) if out_dir else s.output / date.today().isoformat() / (station or "hq")
        return str(write(store, s, kind, station, start, end, operator, target))
    finally:
        store.close()
