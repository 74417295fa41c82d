"""Visits, night approvals, opinions and complaints, and campaigns (第4-3, 第4-5, 第6-3, 第6-5)."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from junkai import JunkaiError, model
from junkai.store.schema import (beat, campaign, campaign_area, end_of, night_approval, officer, opinion, post,
                                 premises, station, visit)

if TYPE_CHECKING:
    import pandas as pd


class Visits:
    """What officers did at premises, and what residents told them."""

    def add_visit(self, **values: Any) -> int:
        return self.conn.execute(visit.insert().values(**values)).inserted_primary_key[0]

    def visits(self, premises_id: int) -> list[dict]:
        rows = self.conn.execute(sa.select(visit).where(visit.c.premises_id == premises_id)
                                 .order_by(visit.c.visited_at, visit.c.id)).mappings()
        return [dict(r) for r in rows]

    def visit_count(self) -> int:
        return self.conn.execute(sa.select(sa.func.count()).select_from(visit)).scalar_one()

    def visit_exists(self, premises_id: int, officer_id: str, visited_at: datetime, outcome: str) -> bool:
        return self.conn.execute(sa.select(visit.c.id).where(
            visit.c.premises_id == premises_id, visit.c.officer_id == officer_id,
            visit.c.visited_at == visited_at, visit.c.outcome == outcome).limit(1)).first() is not None

    def add_night_approval(self, premises_id: int, officer_id: str, visit_date: date, approver: str,
                           approved_at: datetime) -> int:
        self.premises(premises_id)
        self.officer(officer_id)
        return self.conn.execute(night_approval.insert().values(
            premises_id=premises_id, officer_id=officer_id, visit_date=visit_date, approver=approver,
            approved_at=approved_at)).inserted_primary_key[0]

    def night_approval_for(self, premises_id: int, officer_id: str, visited_at: datetime) -> int | None:
        """第6-3: an approval for that premises, officer and day, given before the visit."""
        return self.conn.execute(sa.select(night_approval.c.id).where(
            night_approval.c.premises_id == premises_id, night_approval.c.officer_id == officer_id,
            night_approval.c.visit_date == visited_at.date(), night_approval.c.approved_at <= visited_at)
            .order_by(night_approval.c.approved_at).limit(1)).scalar()

    def add_opinion(self, **values: Any) -> int:
        return self.conn.execute(opinion.insert().values(**values)).inserted_primary_key[0]

    def open_opinions(self, beat_id: str) -> list[dict]:
        """Opinions of a beat not yet reported to the chief (第6-5(2)), or complaints not yet to HQ (第4-5)."""
        q = (sa.select(opinion).join(premises).where(
            premises.c.beat_id == beat_id,
            sa.or_(opinion.c.reported_to_chief_on.is_(None),
                   sa.and_(opinion.c.complaint, opinion.c.reported_to_hq_on.is_(None))))
             .order_by(opinion.c.received_on, opinion.c.id))
        return [dict(r) for r in self.conn.execute(q).mappings()]

    def _opinion_query(self):
        return (sa.select(opinion.c.id, opinion.c.premises_id, opinion.c.visit_id, opinion.c.officer_id,
                          officer.c.name.label("officer"), opinion.c.received_on, opinion.c.text, opinion.c.complaint,
                          opinion.c.reported_to_chief_on, opinion.c.reported_to_hq_on, opinion.c.recorded_at,
                          premises.c.beat_id, beat.c.name.label("beat"), post.c.id.label("post_id"),
                          post.c.name.label("post"), station.c.id.label("station_id"), station.c.name.label("station"))
                .select_from(opinion.join(premises).join(beat).join(post).join(station)
                             .join(officer, officer.c.id == opinion.c.officer_id))
                .order_by(opinion.c.received_on, opinion.c.id))

    def opinions_between(self, start: date, end: date, scope: tuple[str, str] | None) -> "pd.DataFrame":
        """Opinions and complaints received in [start, end] (第6-5), with the premises' address for the chief."""
        q = (self._opinion_query()
             .add_columns(premises.c.city, premises.c.town, premises.c.block, premises.c.building, premises.c.room)
             .where(opinion.c.received_on >= start, opinion.c.received_on <= end))
        if scope is not None:
            q = q.where(opinion.c.premises_id.in_(self.scope_filter(scope)))
        return self._tuples(q)

    def complaints(self, start: date, end: date, unreported_before: bool = True) -> "pd.DataFrame":
        """Complaints (第4-5) received in [start, end], and those received earlier still not reported to HQ.

        No premises address: HQ handles the complaint, not the resident's record."""
        in_period = sa.and_(opinion.c.received_on >= start, opinion.c.received_on <= end)
        outstanding = sa.and_(opinion.c.received_on < start, opinion.c.reported_to_hq_on.is_(None))
        q = self._opinion_query().where(opinion.c.complaint,
                                        sa.or_(in_period, outstanding) if unreported_before else in_period)
        return self._tuples(q)

    def complaint(self, opinion_id: int) -> dict:
        row = self.conn.execute(self._opinion_query().where(opinion.c.id == opinion_id)).mappings().first()
        if row is None:
            raise JunkaiError(f"意見・要望が見つかりません: {opinion_id}")
        if not row["complaint"]:
            raise JunkaiError(f"意見・要望 {opinion_id} は苦情ではありません (本部への報告は苦情のみ、第4-5)")
        out = dict(row)
        v = self.conn.execute(sa.select(visit.c.visited_at, visit.c.outcome).where(
            visit.c.id == row["visit_id"])).mappings().first() if row["visit_id"] else None
        out["visited_at"], out["outcome"] = (v["visited_at"], v["outcome"]) if v else (None, None)
        return out

    def unreported_complaints(self) -> list[int]:
        return list(self.conn.execute(sa.select(opinion.c.id).where(
            opinion.c.complaint, opinion.c.reported_to_hq_on.is_(None)).order_by(opinion.c.id)).scalars())

    def mark_reported_to_hq(self, opinion_id: int, day: date) -> bool:
        """Record the day a complaint went to HQ; an earlier report date stays. True if it was newly marked."""
        done = self.conn.execute(opinion.update().where(
            opinion.c.id == opinion_id, opinion.c.complaint, opinion.c.reported_to_hq_on.is_(None))
            .values(reported_to_hq_on=day))
        return done.rowcount == 1

    def add_campaign(self, reason: str, starts_on: date, until: date, ordered_by: str, at: datetime,
                     beats: list[str], towns: list[str]) -> int:
        if not reason.strip():
            raise JunkaiError("重点巡回連絡の理由を指定してください")
        if until < starts_on:
            raise JunkaiError(f"終了日 {until} が開始日 {starts_on} より前です")
        if not beats and not towns:
            raise JunkaiError("対象の受持区 (--beats) か町名 (--towns) を指定してください")
        for b in beats:
            self.beat(b)
        for t in towns:
            if self.conn.execute(sa.select(premises.c.id).where(premises.c.town == t).limit(1)).first() is None:
                raise JunkaiError(f"その町名の各戸がありません: {t}")
        cid = self.conn.execute(campaign.insert().values(
            reason=reason.strip(), starts_on=starts_on, until=until, ordered_by=ordered_by,
            created_at=at)).inserted_primary_key[0]
        self.bulk_insert("campaign_area", [dict(campaign_id=cid, beat_id=b) for b in beats]
                         + [dict(campaign_id=cid, town=t) for t in towns])
        return cid

    def campaign_premises(self, as_of: date) -> "pd.DataFrame":
        """Premises inside campaigns in force on a day, with whether they were met since it started."""
        import pandas as pd

        in_area = sa.or_(premises.c.beat_id == campaign_area.c.beat_id, premises.c.town == campaign_area.c.town)
        met = (sa.select(visit.c.id).where(
            visit.c.premises_id == premises.c.id, visit.c.outcome.in_(model.MET_OUTCOMES),
            visit.c.visited_at >= campaign.c.starts_on, visit.c.visited_at <= end_of(as_of))
            .exists())
        q = (sa.select(campaign.c.id.label("campaign_id"), campaign.c.reason, campaign.c.starts_on,
                       campaign.c.until, premises.c.id.label("premises_id"), premises.c.beat_id, met.label("met"))
             .select_from(campaign.join(campaign_area).join(premises, in_area))
             .where(campaign.c.starts_on <= as_of, campaign.c.until >= as_of, premises.c.status == model.ACTIVE,
                    premises.c.created_at <= end_of(as_of))
             .distinct().order_by(campaign.c.id, premises.c.id))
        return pd.DataFrame(self.conn.execute(q).mappings().all(), columns=[c.name for c in q.selected_columns])
