"""The handover report for a newly assigned beat officer (第5-1, 第6-8): where the beat
stands, for the section chief's instructions, and the new officer's full visit list."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pandas as pd

from junkai import JunkaiError, files, model, printing, render
from junkai.beats import beat_table
from junkai.lists import LONG_UNCONFIRMED, LONG_UNVISITED, Definitions, status
from junkai.store import Store


def _text(v) -> str:
    return "" if v is None or v is pd.NaT or (isinstance(v, float) and pd.isna(v)) else str(v)


def write(store: Store, beat_id: str, as_of: date, operator: str, out_dir: Path, definitions: Definitions,
          turnover_years: int, stale_share: float, now: datetime | None = None) -> Path:
    now = now or datetime.now()
    with store.transaction():
        beat = store.beat(beat_id)
        post = store.post(beat["post_id"])
        history = [a for a in store.assignments(beat_id) if a["effective_from"] <= as_of]
        if not history:
            raise JunkaiError(f"受持区 {beat_id} には {as_of} 時点で受持警察官がいません")
        officers = {a["officer_id"]: store.officer(a["officer_id"])["name"] for a in history}
        opinions = store.open_opinions(beat_id)
    current = history[-1]
    previous = history[-2] if len(history) > 1 else None
    df = status(store, as_of, ("beat", beat_id), definitions)
    advice = beat_table(store, as_of, post["station_id"], turnover_years, stale_share).set_index("beat_id").loc[beat_id]
    premises = printing.walking_order([dict(store_premises) for store_premises in _premises(store, df)])
    by_id = df.set_index("premises_id")
    rows = []
    for p in premises:
        r = by_id.loc[p["id"]]
        rows.append(dict(id=p["id"], address=printing.address_text(p), kind=r.kind, category=r.category or "—",
                         last_visit=_text(r.last_visit) or "なし", last_confirmed=_text(r.last_confirmed) or "カードなし",
                         refusals=int(r.refusals)))
    n = len(df)
    figures = dict(
        premises=n, households=int((df.kind == model.PREMISES_KINDS[model.HOUSEHOLD]).sum()),
        cards=int(df.last_confirmed.notna().sum()),
        unvisited=int(df.category.str.contains(LONG_UNVISITED).sum()),
        unconfirmed=int(df.category.str.contains(LONG_UNCONFIRMED).sum()),
        refused=int((df.refusals > 0).sum()), opinions=len(opinions),
        coverage=f"{(1 - df.category.str.contains(LONG_UNVISITED).mean()) * 100:.0f}%" if n else "-",
        months=int(advice.months) if pd.notna(advice.months) else None,
        frequency_from=_text(advice.frequency_from), frequency_by=_text(advice.frequency_by),
        turnover=_text(advice.turnover), advised=int(advice.advised_months) if pd.notna(advice.advised_months) else None)
    context = dict(
        beat=beat, post=post, as_of=as_of.isoformat(), generated=f"{now:%Y-%m-%d %H:%M}", operator=operator,
        new_officer=dict(id=current["officer_id"], name=officers[current["officer_id"]],
                         since=current["effective_from"].isoformat()),
        previous=None if previous is None else dict(id=previous["officer_id"], name=officers[previous["officer_id"]],
                                                    since=previous["effective_from"].isoformat()),
        figures=figures, definitions=definitions.lines(), rows=rows,
        opinions=[dict(received_on=o["received_on"].isoformat(), premises_id=o["premises_id"], text=o["text"],
                       complaint=o["complaint"], chief=_text(o["reported_to_chief_on"]) or "未報告",
                       hq=(_text(o["reported_to_hq_on"]) or "未報告") if o["complaint"] else "—") for o in opinions])
    pdf = render.document("handover.html.j2", context)
    final = out_dir / f"handover-{beat_id}-{as_of:%Y%m%d}.pdf"
    tmp, _ = files.write_temp(out_dir, final.name, lambda fh: fh.write(pdf))
    try:
        with store.transaction():
            store.audit_export(operator, "handover", ("beat", beat_id), as_of=as_of.isoformat(), path=str(final),
                               premises=n)
            files.place(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)
    return final


def _premises(store: Store, df: pd.DataFrame):
    with store.transaction():
        return [store.premises(int(i)) for i in df.premises_id]
