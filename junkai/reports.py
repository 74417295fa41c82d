"""Reports to the chief (署長) and to HQ (警察本部), and one page per complaint, as PDFs.

- The chief's report, per station and period: coverage per post and beat, each officer's
  work for evaluation and guidance (第4-6), the opinions received for the written report
  of 第6-5(2), night visits and their approvals (第6-3), frequencies and advice (第6-2).
- The HQ report, for the prefecture: the same figures per station without personal data,
  every complaint of the period and whether it was reported in time (第4-5), and card
  management per station (第7-1).
- A complaint page (第4-5): produced by the first nightly run after a complaint is
  recorded (`report_unreported_complaints`) or at once (`complaint`); the complaint is then
  marked reported to HQ.

Each report's figures come from one computation here (`chief_figures`, `hq_figures`) over
the store, returned as plain data; the templates only lay them out.
"""

from __future__ import annotations

import base64
import calendar
import json
import re
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path

import pandas as pd
from dateutil.relativedelta import relativedelta

from junkai import JunkaiError, charts, files, model
from junkai.access import ROLES
from junkai.lists import LONG_UNCONFIRMED, LONG_UNVISITED, Definitions, overdue_counts
from junkai.store import Store

CLASSIFICATION = files.CLASSIFICATION
HOUR_BANDS = ("午前", "午後", "夕方", "夜間")  # the card's visit-time choices, so officers read them alike
TREND_MONTHS = 12
COMPLAINT_DAYS = 1  # 第4-5 "速やかに": reported later than the day after receipt is late


# --- periods -------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    start: date
    end: date

    @property
    def kind(self) -> str:
        if self.start == self.end:
            return "day"
        if self.start.day == 1 and self.end == _month_end(self.start):
            return "month"
        if (self.start.month, self.start.day, self.end.month, self.end.day) == (1, 1, 12, 31) \
                and self.start.year == self.end.year:
            return "year"
        return "range"

    @property
    def label(self) -> str:
        s, e = self.start, self.end
        return {"day": f"{s.year}年{s.month}月{s.day}日", "month": f"{s.year}年{s.month}月", "year": f"{s.year}年",
                "range": f"{s.year}年{s.month}月{s.day}日〜{e.year}年{e.month}月{e.day}日"}[self.kind]

    @property
    def slug(self) -> str:
        """The period as it appears in a file name."""
        return {"day": f"{self.start}", "month": f"{self.start:%Y-%m}", "year": f"{self.start:%Y}",
                "range": f"{self.start}_{self.end}"}[self.kind]


def _month_end(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def period(spec: str | None = None, start: date | None = None, end: date | None = None) -> Period:
    """A period from `2026-11` (a month), `2026-11-20` (a day), `2026` (a year), or from/to dates."""
    if spec and (start or end):
        raise JunkaiError("期間は --period か --from/--to のどちらか一方で指定してください")
    if spec:
        text = spec.strip()
        try:
            if len(text) == 4 and text.isdigit():
                return Period(date(int(text), 1, 1), date(int(text), 12, 31))
            if len(text) == 7:
                first = date.fromisoformat(text + "-01")
                return Period(first, _month_end(first))
            day = date.fromisoformat(text)
            return Period(day, day)
        except ValueError:
            # the right form but no such month or day (2026-13, 2026-11-31): say so rather than blame the form
            if re.fullmatch(r"\d{4}-\d{2}(-\d{2})?", text):
                raise JunkaiError(f"期間: {text} という{'日' if len(text) > 7 else '月'}はありません")
            raise JunkaiError(f"期間は 2026-11 (月)、2026-11-20 (日)、2026 (年) の形で指定してください: {spec!r}")
    if start is None or end is None:
        raise JunkaiError("期間を --period 2026-11 または --from YYYY-MM-DD --to YYYY-MM-DD で指定してください")
    if end < start:
        raise JunkaiError(f"期間の終わり {end} が始め {start} より前です")
    return Period(start, end)


def trend_days(as_of: date, months: int = TREND_MONTHS) -> list[date]:
    """The ends of the months before `as_of`'s month, then `as_of` itself: `months` points in all."""
    first = as_of.replace(day=1)
    return [_month_end(first - relativedelta(months=k)) for k in range(months - 1, 0, -1)] + [as_of]


def _as_of(p: Period, today: date) -> date:
    if p.start > today:
        raise JunkaiError(f"期間 {p.label} はまだ始まっていません")
    return min(p.end, today)


# --- the shared measures ----------------------------------------------------------------


def _contacts(visits: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """The officers' own visits, and the returned cards (返送) counted apart by what dated them: a
    returned card confirms the card but is no contact, so no visit, coverage or officer figure counts it."""
    from junkai.reconcile import dated_by

    back = visits.outcome == model.RETURNED
    by = Counter(dated_by(n) for n in visits.loc[back, "notes"])
    returned = dict(total=int(back.sum()), filled_on=by["filled_on"], scan=by["scan"], today=by["today"])
    return visits[~back], returned


def _returned_line(r: dict) -> list[str]:
    if not r["total"]:
        return []
    dated = "、".join(f"{label} {r[k]} 件" for k, label in (("filled_on", "記入日"), ("scan", "スキャンの受付日"),
                                                         ("today", "取り込みの日")) if r[k])
    return [f"返送されたカード (読み取り) {r['total']} 件は面接に数えず、カードの確認 (長期未把握) にだけ数えています。"
            f"その日付は {dated} によります (記入日は確かに読めたときだけ)"]


def _activity(visits: pd.DataFrame, changes: pd.DataFrame, key: str) -> pd.DataFrame:
    """Per `key` (beat_id or station_id): premises visited, met and refusing in the period, cards created and amended."""
    v = visits.assign(met=visits.outcome.isin(model.MET_OUTCOMES), refused=visits.outcome == "拒否")
    out = pd.DataFrame({
        "visits": v.groupby(key).size(),
        "visited": v.groupby(key).premises_id.nunique(),
        "met": v[v.met].groupby(key).premises_id.nunique(),
        "refused": v[v.refused].groupby(key).premises_id.nunique(),
        "night": v[v.night.astype(bool)].groupby(key).size(),
        "night_unapproved": v[v.night.astype(bool) & v.night_approval_id.isna()].groupby(key).size(),
        "created": changes[changes.created == 1].groupby(key).size(),
        "amended": changes[changes.amended == 1].groupby(key).size(),
    })
    return out.fillna(0).astype(int)


MEASURES = ["premises", "households", "businesses", "visits", "visited", "met", "created", "amended",
            "long_unvisited", "long_unconfirmed", "overdue", "refused", "night", "night_unapproved"]


def _definitions(definitions: Definitions) -> list[str]:
    # the lists' other lines (order, days overdue) are about a list, not these counts
    return [line for line in definitions.lines() if line.startswith((LONG_UNVISITED, LONG_UNCONFIRMED))]


def _rates(row: dict) -> dict:
    n = row["premises"]

    def pct(count: int) -> float:
        return round(100 * count / n, 1) if n else 0.0

    return dict(row, met_within_pct=pct(n - row["long_unvisited"]), confirmed_within_pct=pct(n - row["long_unconfirmed"]),
                unvisited_pct=pct(row["long_unvisited"]), unconfirmed_only_pct=pct(row["overdue"] - row["long_unvisited"]))


def _records(df: pd.DataFrame) -> list[dict]:
    return [{k: (None if isinstance(v, float) and pd.isna(v) else (v.item() if hasattr(v, "item") else v))
             for k, v in r.items()} for r in df.to_dict("records")]


def _sum(rows: list[dict], **label) -> dict:
    return _rates(dict(label, **{m: sum(r[m] for r in rows) for m in MEASURES}))


def _address(r: dict) -> str:
    return "".join(str(r[k]) for k in ("city", "town", "block")) + "".join(
        f" {r[k]}" for k in ("building", "room") if r.get(k))


def _hq_status(received: date, reported: date | None, today: date) -> tuple[str, bool]:
    """第4-5: the complaint's reporting status, and whether it is flagged (late, or overdue and not reported)."""
    if reported is not None:
        days = (reported - received).days
        if days > COMPLAINT_DAYS:
            return f"遅延 ({days} 日後に報告)", True
        return "期限内に報告", False
    waited = (today - received).days
    if waited > COMPLAINT_DAYS:
        return f"未報告 ({waited} 日経過)", True
    return "未報告 (報告期限内)", False


def _trend_rows(counts: pd.DataFrame) -> list[dict]:
    t = counts.groupby("day")[["premises", "long_unvisited", "long_unconfirmed"]].sum().reset_index()
    return _records(t)


def previous(p: Period, as_of: date) -> Period:
    """The period before `p`, as far into it as `as_of` is into `p`: the last month, year, or a span as long
    just before it, so a month to date is compared with the same days of the month before."""
    shift = relativedelta(months=1) if p.kind == "month" else relativedelta(years=1) if p.kind == "year" \
        else relativedelta(days=(p.end - p.start).days + 1)
    start = p.start - shift
    if as_of >= p.end:  # the whole period is over: the whole period before it (all of October, not 30 days)
        return Period(start, p.start - timedelta(days=1))
    return Period(start, min(start + (as_of - p.start), p.start - timedelta(days=1)))


@dataclass(frozen=True)
class Before:
    """The previous period, counted as this period is: per beat (MEASURES), and the officers' own visits."""
    period: Period
    beats: pd.DataFrame  # indexed by beat_id
    visits: pd.DataFrame

    def row(self, beat_ids) -> dict:
        """The previous period's figures of some beats together (a beat, a post, a station, all)."""
        mine = self.beats[self.beats.index.isin(list(beat_ids))]
        return _rates({m: int(mine[m].sum()) for m in MEASURES})

    def total(self) -> dict:
        return self.row(self.beats.index)


def _before(store: Store, scope: tuple[str, str] | None, p: Period, as_of: date, definitions: Definitions) -> Before:
    """The previous period's figures, for the differences beside this period's: the officers' own visits only
    (returned cards apart, as now), the lists' counts on its last day."""
    before = previous(p, as_of)
    visits, _ = _contacts(store.visits_between(before.start, before.end, scope))
    changes = store.card_changes_between(before.start, before.end, scope)
    counts = overdue_counts(store, [before.end], scope, definitions)
    beats = (counts.drop(columns="day").groupby("beat_id").sum()
             .join(_activity(visits, changes, "beat_id"), how="outer"))
    for m in MEASURES:
        beats[m] = beats[m].fillna(0).astype(int) if m in beats else 0
    return Before(before, beats[MEASURES], visits)


def _compared(row: dict, before: dict) -> dict:
    """A table row with the previous period's figures (`was`) and the change (`chg`) beside its own."""
    return dict(row, was=before, chg=_changes(row, before))


def _changes(now: dict, before: dict) -> dict:
    """▲/▼ and the difference from the previous period for each measure, "±0" when unchanged."""
    return {k: _change(now[k] - before[k]) for k in [*MEASURES, "met_within_pct", "confirmed_within_pct"]}


def _change(d: float) -> str:
    d = round(d, 1)
    return "±0" if d == 0 else f"{'▲' if d > 0 else '▼'}{abs(d):,}"


# --- the chief's report -----------------------------------------------------------------


SUPPORT_DEFINITION = ("要配慮 (災害時などの手助け): 基準日に現存し、その日までにカードが書かれた世帯のうち、カードの「災害時などの"
                      "手助け（任意）」のその欄に印のある世帯の数 (一つの世帯が複数の欄に印をつけることがある)。"
                      "回答は任意で、印のない世帯が手助けを要しないとは限らない。世帯の氏名・住所はこの報告に載せない。")


def support_counts(store: Store, scope: tuple[str, str] | None, as_of: date) -> dict:
    """Households per 要配慮 answer, as the cards stood at the end of `as_of`: counts only, never who.

    Households: active on that day with a card written by then; answered: those with any tick."""
    import sqlalchemy as sa

    from junkai.store.schema import card_event, end_of, loads, premises

    live = sa.and_(premises.c.kind == model.HOUSEHOLD,
                   sa.or_(premises.c.status == model.ACTIVE, premises.c.status_since > as_of))
    ticks: dict[int, list] = {}
    with store.transaction():
        q = (sa.select(card_event.c.premises_id, card_event.c.path, card_event.c.after)
             .select_from(card_event.join(premises))
             .where(live, card_event.c.at <= end_of(as_of), sa.not_(card_event.c.path.like("@%")),
                    card_event.c.premises_id.in_(store.scope_filter(scope)))
             .order_by(card_event.c.premises_id, card_event.c.version, card_event.c.id))
        for pid, path, after in store.conn.execute(q):
            ticks.setdefault(pid, [])
            if path == "support":
                ticks[pid] = loads(after) or []
    counted = Counter(t for chosen in ticks.values() for t in chosen)
    return dict(households=len(ticks), answered=sum(bool(t) for t in ticks.values()),
                rows=[dict(answer=a, households=counted[a]) for a in model.SUPPORT], definition=SUPPORT_DEFINITION)


def chief_figures(store: Store, station_id: str, p: Period, today: date | None = None,
                  definitions: Definitions = Definitions(), turnover_years: int = 3,
                  stale_share: float = 0.10) -> dict:
    """Everything the chief's report shows, computed once over the store."""
    from junkai.beats import beat_table

    today = today or date.today()
    as_of = _as_of(p, today)
    scope = ("station", station_id)
    days = trend_days(as_of)
    with store.transaction():
        org = store.organisation(station_id)
        officers = store.officers(station_id)
        visits = store.visits_between(p.start, as_of, scope)
        changes = store.card_changes_between(p.start, as_of, scope)
        opinions = store.opinions_between(p.start, as_of, scope)
        campaigns = store.campaign_premises(as_of)
        counts = overdue_counts(store, days, scope, definitions)
        beats = beat_table(store, as_of, station_id, turnover_years, stale_share)
        addresses = store.addresses(visits.loc[visits.night.astype(bool), "premises_id"].tolist())
    visits, returned = _contacts(visits)
    now_counts = counts[counts.day == as_of].drop(columns="day")
    names = dict(zip(officers.officer_id, officers.officer))

    # coverage per beat, with its frequency, advice and officer in force
    act = _activity(visits, changes, "beat_id")
    per_beat = (org.merge(now_counts, on="beat_id", how="left")
                .merge(act, left_on="beat_id", right_index=True, how="left")
                .merge(beats[["beat_id", "months", "advised_months", "turnover", "officer_id"]], on="beat_id",
                       how="left"))
    per_beat[MEASURES] = per_beat[MEASURES].fillna(0).astype(int)
    per_beat["officer"] = per_beat.officer_id.map(names)
    with store.transaction():
        before = _before(store, scope, p, as_of, definitions)
    beat_rows = [_compared(_rates(r), before.row([r["beat_id"]])) for r in _records(per_beat)]
    posts = []
    for post_id in sorted(per_beat.post_id.unique()):
        rows = [r for r in beat_rows if r["post_id"] == post_id]
        for r in rows:
            r["beat_short"] = r["beat"].removeprefix(r["post"]) or r["beat"]
        posts.append(dict(post_id=post_id, post=rows[0]["post"], beats=rows,
                          subtotal=_compared(_sum(rows, post=rows[0]["post"]), before.row(r["beat_id"] for r in rows))))
    total = _compared(_sum(beat_rows), before.row(r["beat_id"] for r in beat_rows))

    # officers (第4-6): their own visits, and the beats they hold on the last day
    v = visits.assign(hour=pd.to_datetime(visits.visited_at).dt.hour, night=visits.night.astype(bool))
    v["band"] = [HOUR_BANDS[3] if n else HOUR_BANDS[0] if h < 12 else HOUR_BANDS[1] if h < 17 else HOUR_BANDS[2]
                 for h, n in zip(v.hour, v.night)]
    by_officer = pd.DataFrame({
        "visits": v.groupby("officer_id").size(),
        "met": v[v.outcome.isin(model.MET_OUTCOMES)].groupby("officer_id").size(),
        "created": v[v.outcome == "カード作成"].groupby("officer_id").size(),
        "amended": v[v.outcome == "カード補正"].groupby("officer_id").size(),
        "refused": v[v.outcome == "拒否"].groupby("officer_id").size(),
        **{band: v[v.band == band].groupby("officer_id").size() for band in HOUR_BANDS},
    })
    in_campaign = campaigns[campaigns.beat_id.isin(org.beat_id)]
    camp = pd.DataFrame({"campaign_target": in_campaign.groupby("beat_id").size(),
                         "campaign_met": in_campaign[in_campaign.met.astype(bool)].groupby("beat_id").size()})
    held = (per_beat[["beat_id", "beat", "officer_id", "long_unvisited", "long_unconfirmed", "overdue"]]
            .merge(camp, left_on="beat_id", right_index=True, how="left").fillna({"campaign_target": 0,
                                                                                   "campaign_met": 0}))
    held = held[held.officer_id.notna()]
    holding = held.groupby("officer_id").agg(
        beats=("beat", lambda b: "、".join(b)), long_unvisited=("long_unvisited", "sum"),
        long_unconfirmed=("long_unconfirmed", "sum"), overdue=("overdue", "sum"),
        campaign_target=("campaign_target", "sum"), campaign_met=("campaign_met", "sum"))
    ids = sorted(set(by_officer.index) | set(holding.index))
    off = pd.DataFrame(index=pd.Index(ids, name="officer_id")).join(by_officer).join(holding)
    int_cols = ["visits", "met", "created", "amended", "refused", *HOUR_BANDS, "long_unvisited", "long_unconfirmed",
                "overdue", "campaign_target", "campaign_met"]
    off[int_cols] = off[int_cols].fillna(0).astype(int)
    off["beats"] = off.beats.fillna("")
    off = off.reset_index()
    off["officer"] = off.officer_id.map(names).fillna(off.officer_id)
    # the same officer's own visits in the previous period (第4-6: how their work moves)
    was = pd.DataFrame({"visits": before.visits.groupby("officer_id").size(),
                        "met": before.visits[before.visits.outcome.isin(model.MET_OUTCOMES)].groupby("officer_id").size()
                        }).fillna(0).astype(int)
    officer_rows = []
    for r in _records(off):
        r["bands"] = [r.pop(b) for b in HOUR_BANDS]
        r["was"] = {k: int(was[k].get(r["officer_id"], 0)) for k in ("visits", "met")}
        r["chg"] = {k: _change(r[k] - r["was"][k]) for k in ("visits", "met")}
        officer_rows.append(r)

    # opinions and requests (第6-5(2)), with complaints (第4-5) marked
    opinion_rows = []
    for r in _records(opinions):
        hq, late = _hq_status(r["received_on"], r["reported_to_hq_on"], today) if r["complaint"] else ("", False)
        opinion_rows.append(dict(
            id=r["id"], received_on=r["received_on"], premises_id=r["premises_id"], address=_address(r),
            beat=r["beat"], officer=r["officer"], text=r["text"], kind="苦情" if r["complaint"] else "意見・要望",
            chief=r["reported_to_chief_on"], hq=hq, hq_late=late))

    # night visits (第6-3): approved beforehand or not
    night = v[v.night]
    night_rows = [dict(visited_at=r["visited_at"], premises_id=r["premises_id"],
                       address=addresses.get(r["premises_id"], ""), officer=names.get(r["officer_id"], r["officer_id"]),
                       outcome=r["outcome"], approved=r["night_approval_id"] is not None,
                       approver=r["approver"], approved_at=r["approved_at"]) for r in _records(night)]

    # charts
    trend = _trend_rows(counts)
    weeks = _weekly(visits, p.start, as_of)
    figures = dict(
        kind="chief", station=dict(id=station_id, name=org.station.iloc[0] if len(org) else station_id),
        period=p, as_of=as_of, definitions=_definitions(definitions) + _returned_line(returned), posts=posts,
        total=total, returned=returned, officers=officer_rows, hour_bands=list(HOUR_BANDS), opinions=opinion_rows,
        opinions_total=len(opinion_rows), complaints_total=sum(r["kind"] == "苦情" for r in opinion_rows),
        night=night_rows, night_total=len(night_rows), night_unapproved=sum(not r["approved"] for r in night_rows),
        trend=trend, weeks=weeks,
        campaigns=_campaign_rows(in_campaign), support=support_counts(store, scope, as_of),
    )
    figures["previous"], figures["before"], figures["change"] = before.period, total["was"], total["chg"]
    figures["charts"] = _uris(
        coverage=charts.coverage([r["beat"] for r in beat_rows], [r["unvisited_pct"] for r in beat_rows],
                                 [r["unconfirmed_only_pct"] for r in beat_rows], "受持区ごとの各戸の状況 (基準日)"),
        trend=charts.trend([t["day"] for t in trend], [t["long_unvisited"] for t in trend],
                           [t["long_unconfirmed"] for t in trend], "長期不実施・長期未把握の推移 (各月末)"),
        weekly=charts.weekly([w["week"] for w in weeks], [w["met"] for w in weeks], [w["not_met"] for w in weeks],
                             [w["days"] for w in weeks], "週ごとの巡回連絡"),
    )
    return figures


def _uris(**svgs: str) -> dict[str, str]:
    return {k: "data:image/svg+xml;base64," + base64.b64encode(v.encode()).decode() for k, v in svgs.items()}


def _weekly(visits: pd.DataFrame, start: date, end: date) -> list[dict]:
    monday = start - timedelta(days=start.weekday())
    weeks = pd.date_range(monday, end, freq="7D")
    at = pd.to_datetime(visits.visited_at)
    week = (at.dt.normalize() - pd.to_timedelta(at.dt.day_of_week, unit="D"))
    met = visits.outcome.isin(model.MET_OUTCOMES).to_numpy()
    counts = pd.DataFrame({"week": week, "met": met}).groupby(["week", "met"]).size()
    # days of each week inside the period: the first and last weeks may hold only some
    return [dict(week=w.date(), met=int(counts.get((w, True), 0)), not_met=int(counts.get((w, False), 0)),
                 days=(min(w.date() + timedelta(days=6), end) - max(w.date(), start)).days + 1)
            for w in weeks]


def _campaign_rows(c: pd.DataFrame) -> list[dict]:
    rows = []
    for (cid, reason, starts, until), g in c.groupby(["campaign_id", "reason", "starts_on", "until"]):
        met = int(g.met.astype(bool).sum())
        rows.append(dict(id=int(cid), reason=reason, starts_on=starts, until=until, target=len(g), met=met,
                         pct=round(100 * met / len(g), 1) if len(g) else 0.0))
    return rows


# --- the HQ report ------------------------------------------------------------------------


def hq_figures(store: Store, p: Period, today: date | None = None,
               definitions: Definitions = Definitions()) -> dict:
    """Everything the HQ report shows: figures per station, complaints, card management. No resident's data."""
    today = today or date.today()
    as_of = _as_of(p, today)
    days = trend_days(as_of)
    with store.transaction():
        org = store.organisation()
        visits = store.visits_between(p.start, as_of, None)
        changes = store.card_changes_between(p.start, as_of, None)
        counts = overdue_counts(store, days, None, definitions)
        complaints = store.complaints(p.start, as_of)
        opinions = store.opinion_counts(p.start, as_of)
        printed = store.printed_between(p.start, as_of)
        audit = store.audit_counts(p.start, as_of)
        since, until = datetime.combine(p.start, time.min), datetime.combine(as_of, time.max)
        purges = [e for e in store.audit_events(what="purge.ceased", since=since) if e["at"] <= until]
        exports = [e for e in store.audit_events(what="export", since=since) if e["at"] <= until]
        grants = store.users()
    visits, returned = _contacts(visits)
    beat_station = org.set_index("beat_id").station_id
    stations = org.drop_duplicates("station_id")[["station_id", "station"]]
    for df in (visits, changes, counts, printed, opinions):
        df["station_id"] = df.beat_id.map(beat_station)
    now_counts = counts[counts.day == as_of].groupby("station_id")[
        ["premises", "households", "businesses", "cards", "ceased_cards", "long_unvisited", "long_unconfirmed",
         "overdue"]].sum()
    act = _activity(visits, changes, "station_id")
    op = pd.DataFrame({"opinions": opinions.groupby("station_id").opinions.sum(),
                       "complaints": opinions.groupby("station_id").complaints.sum()})
    pr = printed.groupby("station_id")[["printed", "blank", "batches"]].sum()
    per = (stations.merge(now_counts, left_on="station_id", right_index=True, how="left")
           .merge(act, left_on="station_id", right_index=True, how="left")
           .merge(op, left_on="station_id", right_index=True, how="left")
           .merge(pr, left_on="station_id", right_index=True, how="left"))
    # premises purged after their retention period (第7: the cards' end), from the purge's own audit event
    purged: dict[str, int] = {}
    for e in purges:
        for station_id, removed in json.loads(e["detail"]).get("stations", {}).items():
            purged[station_id] = purged.get(station_id, 0) + int(removed.get("premises", 0))
    per["purged"] = per.station_id.map(purged)
    exported, unscoped = _exports_per_station(exports, org)
    per["exported"] = per.station_id.map(exported)
    extra = ["cards", "ceased_cards", "opinions", "complaints", "printed", "blank", "batches", "purged", "exported"]
    per[MEASURES + extra] = per[MEASURES + extra].fillna(0).astype(int)
    with store.transaction():
        before = _before(store, None, p, as_of, definitions)
    station_rows = [_compared(_rates(r), before.row(org.beat_id[org.station_id == r["station_id"]]))
                    for r in _records(per)]
    total = _compared(_sum(station_rows), before.total())
    for k in extra:
        total[k] = sum(r[k] for r in station_rows)
    total["exported"] += unscoped

    complaint_rows = []
    for r in _records(complaints):
        status, flagged = _hq_status(r["received_on"], r["reported_to_hq_on"], today)
        complaint_rows.append(dict(id=r["id"], station=r["station"], post=r["post"], officer=r["officer"],
                                   received_on=r["received_on"], reported=r["reported_to_hq_on"], text=r["text"],
                                   status=status, flagged=flagged, in_period=r["received_on"] >= p.start))
    # 第7: who did what with the cards; roles come with user accounts, so actions and operators for now
    roles: dict[str, set[str]] = {}
    for g in grants:
        roles.setdefault(g["name"], set()).add(ROLES.get(g["role"], g["role"]))
    audit = audit.assign(role=[("・".join(sorted(roles[o])) if o in roles else "未登録") for o in audit.operator])
    audit_rows = _records(audit)
    audit_actions = _records(audit.groupby("action", as_index=False).events.sum()) if len(audit) else []

    trend = _trend_rows(counts)
    figures = dict(
        kind="hq", period=p, as_of=as_of, definitions=_definitions(definitions) + _returned_line(returned),
        returned=returned, stations=station_rows, total=total,
        complaints=complaint_rows, complaints_total=len(complaint_rows),
        complaints_flagged=sum(r["flagged"] for r in complaint_rows),
        audit=audit_rows, audit_actions=audit_actions, exported_unscoped=unscoped, trend=trend,
        support=support_counts(store, None, as_of),
    )
    figures["previous"], figures["before"], figures["change"] = before.period, total["was"], total["chg"]
    figures["charts"] = _uris(
        coverage=charts.coverage([r["station"] for r in station_rows], [r["unvisited_pct"] for r in station_rows],
                                 [r["unconfirmed_only_pct"] for r in station_rows], "警察署ごとの各戸の状況 (基準日)"),
        trend=charts.trend([t["day"] for t in trend], [t["long_unvisited"] for t in trend],
                           [t["long_unconfirmed"] for t in trend], "県全体の長期不実施・長期未把握 (各月末)"),
    )
    return figures


# --- files ------------------------------------------------------------------------------------


def _write(path: Path, pdf: bytes) -> None:
    """Into place at once (a temporary file renamed), readable by the owner only: a report names residents."""
    files.write_private(path, pdf)


def _css(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)  # a CSS string: quotes and backslashes escaped


def _header(title: str, scope: str, p: Period | None, now: datetime) -> dict:
    right = f"作成 {now:%Y-%m-%d %H:%M}"
    center = f"{scope}　{p.label}" if p else scope
    return dict(title=title, classification=CLASSIFICATION, css_left=_css(CLASSIFICATION),
                css_center=_css(f"{title}　{center}"), css_right=_css(right), generated=f"{now:%Y-%m-%d %H:%M}")


def chief(store: Store, station: str, start: date, end: date, out_dir: Path, operator: str, *,
          now: datetime | None = None, definitions: Definitions = Definitions(), turnover_years: int = 3,
          stale_share: float = 0.10) -> Path:
    """Write the chief's report for a station and period; returns the PDF's path (audited: it names residents)."""
    from junkai import render

    now = now or datetime.now()
    p = period(start=start, end=end)
    with store.transaction():
        figures = chief_figures(store, station, p, now.date(), definitions, turnover_years, stale_share)
        path = Path(out_dir) / f"chief-{station}-{p.slug}.pdf"
        header = _header("署長報告 巡回連絡の実施状況", figures["station"]["name"], p, now)
        _write(path, render.document("report_chief.html.j2", dict(f=figures, h=header,
                                                                  audit_head=store.audit_anchor())))
        store.audit(operator, "report.chief", "station", station, start=p.start.isoformat(), end=p.end.isoformat(),
                    path=str(path))
    return path


def _exports_per_station(events: list[dict], org: pd.DataFrame) -> tuple[dict[str, int], int]:
    """Export events per station, by the beat, post or station each covered; and those of the whole store
    (or from before exports named their scope), which belong to no station."""
    station_of = {"station": dict(zip(org.station_id, org.station_id)), "post": dict(zip(org.post_id, org.station_id)),
                  "beat": dict(zip(org.beat_id, org.station_id))}
    per: dict[str, int] = {}
    unscoped = 0
    for e in events:
        level, _, key = str(json.loads(e["detail"]).get("scope", "")).partition(" ")
        station_id = station_of.get(level, {}).get(key)
        if station_id is None:
            unscoped += 1
        else:
            per[station_id] = per.get(station_id, 0) + 1
    return per, unscoped


def hq(store: Store, start: date, end: date, out_dir: Path, operator: str, *, now: datetime | None = None,
       definitions: Definitions = Definitions()) -> Path:
    """Write the HQ report for a period; returns the PDF's path."""
    from junkai import render

    now = now or datetime.now()
    p = period(start=start, end=end)
    with store.transaction():
        figures = hq_figures(store, p, now.date(), definitions)
        path = Path(out_dir) / f"hq-{p.slug}.pdf"
        header = _header("本部報告 巡回連絡の実施状況", "県内全警察署", p, now)
        _write(path, render.document("report_hq.html.j2", dict(f=figures, h=header, audit_head=store.audit_anchor())))
        store.audit(operator, "report.hq", "store", None, start=p.start.isoformat(), end=p.end.isoformat(),
                    path=str(path))
    return path


def complaint(store: Store, opinion_id: int, out_dir: Path, operator: str, *, now: datetime | None = None) -> Path:
    """Write the one-page report of a complaint to HQ (第4-5) and mark it reported today (an earlier date stays)."""
    from junkai import render

    now = now or datetime.now()
    with store.transaction():
        c = store.complaint(opinion_id)
        store.mark_reported_to_hq(opinion_id, now.date())
        c = store.complaint(opinion_id)
        status, flagged = _hq_status(c["received_on"], c["reported_to_hq_on"], now.date())
        path = Path(out_dir) / f"complaint-{opinion_id}-{c['received_on']}.pdf"
        header = _header("苦情報告", c["station"], None, now)
        _write(path, render.document("report_complaint.html.j2", dict(c=c, status=status, flagged=flagged, h=header)))
        store.audit(operator, "report.complaint", "opinion", str(opinion_id), path=str(path))
    return path


def report_unreported_complaints(store: Store, out_dir: Path, operator: str, *,
                                 now: datetime | None = None) -> list[Path]:
    """The nightly step: a page for every complaint not yet reported to HQ, each then marked reported."""
    with store.transaction():
        ids = store.unreported_complaints()
    return [complaint(store, i, out_dir, operator, now=now) for i in ids]
