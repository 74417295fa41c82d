"""The lists of 第6-1: long-unvisited (長期不実施) and long-unconfirmed (長期未把握) premises.

Computed with pandas over aggregates the store hands over, for a beat, post,
station or all, as of any day. The definitions are settings and are printed at
the head of every list.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd

from junkai import model
from junkai.store import Store, loads

LONG_UNVISITED = "長期不実施"
LONG_UNCONFIRMED = "長期未把握"
CAMPAIGN = "重点"
COLUMNS = ["premises_id", "category", "campaign_id", "station_id", "post_id", "beat_id", "officer_id", "officer", "kind",
           "address", "frequency_months", "last_visit", "last_confirmed", "due", "days_overdue", "refusals",
           "last_refusal"]


@dataclass(frozen=True)
class Definitions:
    unconfirmed_multiplier: int = 2

    def lines(self) -> list[str]:
        return [
            f"{LONG_UNVISITED}: 受持区の実施頻度 (署長が定めたもの、基準日に有効なもの) より長い間、住民と会えた"
            f"巡回連絡 ({'・'.join(model.MET_OUTCOMES)}。カードの{model.RETURNED}は含まない) がない、"
            "または一度もない各戸 (第6-1、第6-2)",
            f"{LONG_UNCONFIRMED}: カードがない、または実施頻度の {self.unconfirmed_multiplier} 倍より長い間、"
            "カードの作成・確認・補正 (返送されたカードによるものを含む) がない各戸",
            "拒否した各戸も一覧に残し、拒否の回数と最後の日を示す (第6-9(3): 目的を丁寧に説明し理解を求める)",
            f"{CAMPAIGN}: 署長が命じた重点巡回連絡 (第4-3) の対象で、開始後まだ面接していない各戸。一覧の先頭に置く",
            "超過日数: 期限 (最後の面接・確認の日 + 頻度、記録がなければ登録日から) を過ぎた日数",
        ]


def _in_force(settings: pd.DataFrame, column: str) -> pd.DataFrame:
    # rows come ordered by effective date; the last one per beat is in force
    return settings.groupby("beat_id", as_index=False).last()[["beat_id", column]]


def _add_months(days: pd.Series, months: pd.Series) -> pd.Series:
    """Each day plus its number of months, the day clipped to the month's end as pd.DateOffset does
    (Jan 31 + 1 month = Feb 28 or 29); NaT where the day or the months are missing."""
    m = pd.array(months, dtype="Float64").to_numpy(dtype="float64", na_value=float("nan"))
    return pd.Series(_months_later(days.to_numpy("datetime64[D]"), m).astype("datetime64[ns]"), index=days.index)


def _months_later(d, m):
    """_add_months on numpy arrays (datetime64[D], float months with NaN). The trend of a prefecture adds
    months to 600,000 days for every month end: calendar arithmetic goes through small tables of the
    days and months in range, and every premises only looks its day up."""
    import numpy as np

    missing = np.isnat(d) | np.isnan(m)
    out = np.full(d.shape, np.datetime64("NaT"), dtype="datetime64[D]")
    if missing.all():
        return out
    day = d[~missing].astype("int64")
    lo = day.min()
    span = np.arange(lo, day.max() + 1).astype("datetime64[D]")
    span_month = span.astype("datetime64[M]")
    i = day - lo
    month = span_month.astype("int64")[i]
    dom = (span - span_month.astype("datetime64[D]")).astype("int64")[i]
    target = month + m[~missing].astype("int64")
    t0 = target.min()
    starts = np.arange(t0, target.max() + 2).astype("datetime64[M]").astype("datetime64[D]").astype("int64")
    j = target - t0
    out[~missing] = (starts[j] + np.minimum(dom, starts[j + 1] - starts[j] - 1)).astype("datetime64[D]")
    return out


def overdue(store: Store, as_of: date, scope: tuple[str, str] | None = None,
            definitions: Definitions = Definitions()) -> pd.DataFrame:
    """One row per premises on either list, the most overdue first."""
    return status(store, as_of, scope, definitions, listed_only=True)


def status(store: Store, as_of: date, scope: tuple[str, str] | None = None,
           definitions: Definitions = Definitions(), listed_only: bool = False) -> pd.DataFrame:
    """Every active premises with its last meeting and confirmation and what it is overdue for
    (an empty category when nothing), the most overdue first."""
    with store.transaction():
        d = store.list_inputs(as_of, scope)
        campaigns = store.campaign_premises(as_of)
    p = d["premises"]
    if not d["status"].empty:
        last_status = d["status"].groupby("premises_id").last()["status"].map(loads)
        ceased = last_status[last_status == model.CEASED].index
        p = p[~p.premises_id.isin(ceased)]
    if p.empty:
        return pd.DataFrame(columns=COLUMNS)
    p = (p.merge(_in_force(d["frequency"], "months"), on="beat_id", how="left")
         .merge(_in_force(d["officer"], "officer_id"), on="beat_id", how="left")
         .merge(d["officer_names"], on="officer_id", how="left")
         .merge(d["met"], on="premises_id", how="left")
         .merge(d["refusals"], on="premises_id", how="left")
         .merge(d["cards"], on="premises_id", how="left"))
    day = pd.Timestamp(as_of)
    for col in ("created_at", "last_met", "last_refusal", "card_created", "last_confirmed"):
        p[col] = pd.to_datetime(p[col], format="ISO8601")
    created = p.created_at.dt.normalize()
    last_met = p.last_met.dt.normalize()
    confirmed = p.last_confirmed.dt.normalize()
    months = p.months.astype("Int64")
    visit_due = _add_months(last_met.fillna(created), months)
    confirm_due = _add_months(confirmed.fillna(created), months * definitions.unconfirmed_multiplier)
    unvisited = p.last_met.isna() | (day > visit_due)
    unconfirmed = p.card_created.isna() | (day > confirm_due)
    # the first campaign in force that has not yet met this premises
    unmet = campaigns[~campaigns.met.astype(bool)].groupby("premises_id").campaign_id.min()
    p = p.assign(
        long_unvisited=unvisited, long_unconfirmed=unconfirmed, campaign_id=p.premises_id.map(unmet).astype("Int64"),
        due=pd.concat([visit_due.where(unvisited), confirm_due.where(unconfirmed)], axis=1).min(axis=1),
    )
    if listed_only:
        p = p[p.long_unvisited | p.long_unconfirmed | p.campaign_id.notna()]
    p = p.copy()
    p["days_overdue"] = (day - p.due).dt.days.clip(lower=0).fillna(0).astype(int)
    p["category"] = [
        "・".join(c for c, on in ((CAMPAIGN, pd.notna(k)), (LONG_UNVISITED, a), (LONG_UNCONFIRMED, b)) if on)
        for k, a, b in zip(p.campaign_id, p.long_unvisited, p.long_unconfirmed)]
    p["address"] = (p.city + p.town + p.block + p.building.fillna("").map(lambda b: f" {b}" if b else "")
                    + p.room.fillna("").map(lambda r: f" {r}" if r else ""))
    p["kind"] = p.kind.map(model.PREMISES_KINDS)
    p["refusals"] = p.refusals.fillna(0).astype(int)
    p["frequency_months"] = p.months
    p["last_visit"] = p.last_met.dt.date
    p["last_confirmed"] = p.last_confirmed.dt.date
    p["last_refusal"] = p.last_refusal.dt.date
    p["due"] = p.due.dt.date
    p["in_campaign"] = p.campaign_id.notna()
    p = p.sort_values(["in_campaign", "days_overdue", "premises_id"], ascending=[False, False, True])
    return p[COLUMNS].reset_index(drop=True)


def overdue_counts(store: Store, days: list[date], scope: tuple[str, str] | None = None,
                   definitions: Definitions = Definitions()) -> pd.DataFrame:
    """Per day and beat, the counts `overdue` would list on that day, from one read of the history.

    Columns: day, beat_id, premises, households, businesses, cards (active premises with a card),
    ceased_cards (cards of premises moved out or closed, still held), long_unvisited,
    long_unconfirmed, overdue (on either list). Campaigns (第4-3) are left out: they order a
    list, they do not make a premises overdue. The history up to the first day is read as one
    list would read it, and only the events after it are read again, so a 12-month trend for
    a prefecture costs little more than one list.
    """
    import numpy as np

    days = sorted(set(days))
    with store.transaction():
        d = store.list_inputs_at(days, scope)
    p = d["premises"]
    out = []
    if p.empty:
        return pd.DataFrame(columns=["day", "beat_id", *_COUNTS])
    p = p.set_index("premises_id")
    created_at = pd.to_datetime(p.created_at, format="ISO8601")
    ends = np.array([np.datetime64(d) + np.timedelta64(1, "D") for d in days], dtype="datetime64[ns]")

    def roll(first: pd.Series, after: pd.DataFrame, how: str) -> np.ndarray:
        # premises x day: the value as of the first day, then the latest (or earliest) up to each later day
        ufunc = np.maximum if how == "max" else np.minimum
        fill = np.iinfo("int64").min if how == "max" else np.iinfo("int64").max
        grid = np.full((len(p), len(days)), fill, dtype="int64")
        at0 = pd.to_datetime(first.reindex(p.index), format="ISO8601").to_numpy("datetime64[ns]").view("int64")
        grid[:, 0] = np.where(at0 == np.iinfo("int64").min, fill, at0)
        rows = p.index.get_indexer(after.premises_id)
        at = pd.to_datetime(after["at"], format="ISO8601").to_numpy("datetime64[ns]")
        keep = rows >= 0  # history of premises created after the last day
        ufunc.at(grid, (rows[keep], np.searchsorted(ends, at[keep], side="right")), at[keep].view("int64"))
        grid = ufunc.accumulate(grid, axis=1)
        return np.where(grid == fill, np.iinfo("int64").min, grid).view("datetime64[ns]")

    cards = d["cards"].set_index("premises_id")
    last_met = roll(d["met"].set_index("premises_id").last_met, d["met_after"], "max")
    confirmed = roll(cards.last_confirmed, d["cards_after"], "max")
    card_created = roll(cards.card_created, d["cards_after"][d["cards_after"].content.astype(bool)], "min")
    status = d["status"].assign(at=lambda s: pd.to_datetime(s["at"], format="ISO8601"),
                                ceased=lambda s: s.status.map(loads) == model.CEASED)
    freq = d["frequency"].assign(effective_from=lambda f: pd.to_datetime(f.effective_from))
    # numpy arrays of days and bincount per beat: the loop runs once per month end over every premises
    codes, beat_ids = pd.factorize(p.beat_id, sort=True)
    created = created_at.to_numpy("datetime64[D]")
    household = (p.kind == model.HOUSEHOLD).to_numpy()
    business = (p.kind == model.BUSINESS).to_numpy()
    last_met, confirmed = (g.astype("datetime64[D]") for g in (last_met, confirmed))
    for k, day in enumerate(days):
        end = pd.Timestamp(day) + pd.Timedelta(days=1)
        last = status[status["at"] < end].groupby("premises_id").ceased.last()
        ceased = p.index.isin(last[last].index)
        exists = (created_at < end).to_numpy()
        in_force = _in_force(freq[freq.effective_from <= pd.Timestamp(day)], "months").set_index("beat_id").months
        months = in_force.reindex(beat_ids).to_numpy(dtype="float64", na_value=np.nan)[codes]
        met, conf = last_met[:, k], confirmed[:, k]
        has_card = ~np.isnat(card_created[:, k])
        ts = np.datetime64(day, "D")
        # a missing due date (no frequency in force) makes nothing overdue, as in the lists
        visit_due = _months_later(np.where(np.isnat(met), created, met), months)
        confirm_due = _months_later(np.where(np.isnat(conf), created, conf), months * definitions.unconfirmed_multiplier)
        unvisited = np.isnat(met) | (ts > visit_due)
        unconfirmed = ~has_card | (ts > confirm_due)
        active = exists & ~ceased
        flags = dict(premises=active, households=active & household, businesses=active & business,
                     cards=active & has_card, ceased_cards=exists & ceased & has_card,
                     long_unvisited=active & unvisited, long_unconfirmed=active & unconfirmed,
                     overdue=active & (unvisited | unconfirmed))
        counts = pd.DataFrame({name: np.bincount(codes, weights=f, minlength=len(beat_ids)).astype(int)
                               for name, f in flags.items()})
        counts.insert(0, "beat_id", beat_ids)
        counts.insert(0, "day", day)
        out.append(counts)
    return pd.concat(out, ignore_index=True)[["day", "beat_id", *_COUNTS]]


_COUNTS = ["premises", "households", "businesses", "cards", "ceased_cards", "long_unvisited", "long_unconfirmed",
           "overdue"]
