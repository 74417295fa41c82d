"""Frames for the lists of 第6-1 and the reports: aggregated in SQL, read as pandas frames."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import TYPE_CHECKING

import sqlalchemy as sa

from junkai import JunkaiError, model
from junkai.store.schema import (assignment, audit, beat, beat_frequency, card, card_event, dumps, end_of,
                                 night_approval, officer, opinion, post, premises, print_batch, printed_card, station,
                                 visit)

if TYPE_CHECKING:
    import pandas as pd

EXPORTS = ("premises", "cards", "visits", "opinions", "events")

# --- the queries the lists of 第6-1 are built from: as of one day, or rolled forward over many ---

_MET = visit.c.outcome.in_(model.MET_OUTCOMES)
_CONTENT = sa.not_(card_event.c.path.like("@%"))  # a card field, not a confirmation or a status


def _raw(column, name: str):
    # dates stay as the driver returns them; pandas converts whole columns at once
    return sa.type_coerce(column, sa.String).label(name)


def _premises(until: datetime, within, address: bool):
    """Premises that existed by `until`; with `address`, their post, station and address for a person to read."""
    columns = [premises.c.id.label("premises_id"), premises.c.kind, premises.c.beat_id]
    if address:
        columns += [beat.c.post_id, post.c.station_id, premises.c.postal_code, premises.c.city, premises.c.town,
                    premises.c.block, premises.c.building, premises.c.room]
    q = sa.select(*columns, _raw(premises.c.created_at, "created_at"))
    if address:
        q = q.select_from(premises.join(beat).join(post))
    return q.where(within(premises.c.id), premises.c.created_at <= until)


def _status(until: datetime, within):
    """Every status change up to `until`, in order per premises."""
    return (sa.select(card_event.c.premises_id, card_event.c.after.label("status"), _raw(card_event.c.at, "at"))
            .where(card_event.c.path == model.STATUS, card_event.c.at <= until, within(card_event.c.premises_id))
            .order_by(card_event.c.premises_id, card_event.c.at, card_event.c.id))


def _last_met(until: datetime, within):
    """Per premises, the last visit up to `until` that met the residents."""
    return (sa.select(visit.c.premises_id, _raw(sa.func.max(visit.c.visited_at), "last_met"))
            .where(_MET, visit.c.visited_at <= until, within(visit.c.premises_id))
            .group_by(visit.c.premises_id))


def _card_dates(until: datetime, within):
    """Per premises, when its card was first written and last confirmed, up to `until`."""
    return (sa.select(card_event.c.premises_id,
                      _raw(sa.func.min(sa.case((_CONTENT, card_event.c.at))), "card_created"),
                      _raw(sa.func.max(card_event.c.at), "last_confirmed"))
            .where(card_event.c.path != model.STATUS, card_event.c.at <= until, within(card_event.c.premises_id))
            .group_by(card_event.c.premises_id))


def _settings(column, day: date):
    """Every effective-dated setting of a beat (frequency, officer) taken effect by `day`, oldest first."""
    table = column.table
    return (sa.select(table.c.beat_id, column, table.c.effective_from, table.c.id)
            .where(table.c.effective_from <= day).order_by(table.c.beat_id, table.c.effective_from, table.c.id))


class Queries:
    """Read-only frames over many premises at once."""

    def _within(self, scope: tuple[str, str] | None):
        """The condition that a premises id column lies in the scope; an unknown scope is refused at once."""
        ids = self.scope_filter(scope)
        return lambda column: sa.true() if scope is None else column.in_(ids)

    def list_inputs(self, as_of: date, scope: tuple[str, str] | None) -> dict[str, "pd.DataFrame"]:
        """Everything the long-unvisited / long-unconfirmed lists need, aggregated in SQL, as of a day."""
        end, within = end_of(as_of), self._within(scope)
        out = {}
        out["premises"] = self._tuples(_premises(end, within, address=True))
        out["status"] = self._tuples(_status(end, within))
        out["met"] = self._tuples(_last_met(end, within))
        out["refusals"] = self._tuples(
            sa.select(visit.c.premises_id, sa.func.count().label("refusals"),
                      _raw(sa.func.max(visit.c.visited_at), "last_refusal"))
            .where(visit.c.outcome == "拒否", visit.c.visited_at <= end, within(visit.c.premises_id))
            .group_by(visit.c.premises_id))
        out["cards"] = self._tuples(_card_dates(end, within))
        out["frequency"] = self._tuples(_settings(beat_frequency.c.months, as_of))
        out["officer"] = self._tuples(_settings(assignment.c.officer_id, as_of))
        out["officer_names"] = self._tuples(sa.select(officer.c.id.label("officer_id"), officer.c.name.label("officer")))
        return out

    def list_inputs_at(self, days: list[date], scope: tuple[str, str] | None) -> dict[str, "pd.DataFrame"]:
        """What the lists of 第6-1 need on several days at once (sorted): the aggregates as of the
        first day, as `list_inputs` reads them, and the meetings and card events after it up to the
        last day, read through the period indexes, for the caller to roll forward day by day."""
        first, end, within = end_of(days[0]), end_of(days[-1]), self._within(scope)
        out = {}
        out["premises"] = self._raw_tuples(_premises(end, within, address=False))
        out["status"] = self._raw_tuples(_status(end, within))
        out["met"] = self._raw_tuples(_last_met(first, within))
        out["met_after"] = self._raw_tuples(
            sa.select(visit.c.premises_id, _raw(visit.c.visited_at, "at"))
            .where(_MET, visit.c.visited_at > first, visit.c.visited_at <= end, within(visit.c.premises_id)))
        out["cards"] = self._raw_tuples(_card_dates(first, within))
        out["cards_after"] = self._raw_tuples(
            sa.select(card_event.c.premises_id, _raw(card_event.c.at, "at"), _CONTENT.label("content"))
            .where(card_event.c.path != model.STATUS, card_event.c.at > first, card_event.c.at <= end,
                   within(card_event.c.premises_id)))
        out["frequency"] = self._raw_tuples(_settings(beat_frequency.c.months, days[-1]))
        return out

    def beats_frame(self, as_of: date, station_id: str | None = None) -> "pd.DataFrame":
        """Every beat with its post, officer and frequency in force on a day."""
        import pandas as pd

        q = (sa.select(beat.c.id.label("beat_id"), beat.c.name, post.c.id.label("post_id"),
                       post.c.name.label("post"), post.c.station_id)
             .select_from(beat.join(post)).order_by(beat.c.id))
        if station_id:
            if self.conn.execute(sa.select(station.c.id).where(station.c.id == station_id)).first() is None:
                raise JunkaiError(f"警察署が見つかりません: {station_id}")
            q = q.where(post.c.station_id == station_id)
        df = pd.DataFrame(self.conn.execute(q).mappings().all(), columns=[c.name for c in q.selected_columns])
        freq, officers = [], []
        for b in df.beat_id:
            f = self._in_force(beat_frequency, b, as_of)
            a = self._in_force(assignment, b, as_of)
            freq.append((f["months"], f["effective_from"], f["set_by"]) if f else (None, None, None))
            officers.append((a["officer_id"], a["effective_from"]) if a else (None, None))
        df[["months", "frequency_from", "frequency_by"]] = pd.DataFrame(freq, index=df.index)
        df[["officer_id", "officer_from"]] = pd.DataFrame(officers, index=df.index)
        return df

    def turnover_counts(self, start: date, end: date, station_id: str | None = None) -> "pd.DataFrame":
        """Per beat, what changed in (start, end]: premises that appeared or ceased, members who came or left
        (of one station, or of all)."""
        import pandas as pd

        lo, hi = end_of(start), end_of(end)
        whole_member = sa.and_(card_event.c.path.like("members.%"), sa.not_(card_event.c.path.like("members.%.%")))
        # version 1 is the card being written for the first time: not a change of residents
        came = sa.and_(whole_member, card_event.c.before.is_(None), card_event.c.after.is_not(None),
                       card_event.c.version > 1)
        left = sa.and_(whole_member, card_event.c.before.is_not(None), card_event.c.after.is_(None))
        ceased = sa.and_(card_event.c.path == model.STATUS, card_event.c.after == dumps(model.CEASED))
        q_events = (sa.select(premises.c.beat_id,
                              sa.func.sum(sa.case((came, 1), else_=0)).label("members_in"),
                              sa.func.sum(sa.case((left, 1), else_=0)).label("members_out"),
                              sa.func.sum(sa.case((ceased, 1), else_=0)).label("premises_out"))
                    .select_from(card_event.join(premises))
                    .where(card_event.c.at > lo, card_event.c.at <= hi).group_by(premises.c.beat_id))
        q_premises = (sa.select(premises.c.beat_id,
                                sa.func.sum(sa.case((premises.c.created_at > lo, 1), else_=0)).label("premises_in"),
                                sa.func.count().label("premises"))
                      .where(premises.c.created_at <= hi).group_by(premises.c.beat_id))
        if station_id is not None:
            # the station's premises first: without this SQLite walks the whole prefecture's period
            own = premises.c.beat_id.in_(sa.select(beat.c.id).join(post).where(post.c.station_id == station_id))
            q_events, q_premises = q_events.where(own), q_premises.where(own)
        a = pd.DataFrame(self.conn.execute(q_events).mappings().all(),
                         columns=["beat_id", "members_in", "members_out", "premises_out"])
        b = pd.DataFrame(self.conn.execute(q_premises).mappings().all(), columns=["beat_id", "premises_in", "premises"])
        return b.merge(a, on="beat_id", how="left").fillna(0)

    def summary(self) -> "pd.DataFrame":
        """Premises, cards and visits per station, post and beat."""
        import pandas as pd  # pandas costs seconds to import; only reports need it

        card_count = sa.func.count(card.c.premises_id)
        q = (sa.select(station.c.name.label("station"), post.c.name.label("post"), beat.c.id.label("beat"),
                       sa.func.count(premises.c.id).label("premises"),
                       sa.func.sum(sa.case((premises.c.kind == model.HOUSEHOLD, 1), else_=0)).label("households"),
                       card_count.label("cards"))
             .select_from(station.join(post).join(beat).outerjoin(premises, premises.c.beat_id == beat.c.id)
                          .outerjoin(card, card.c.premises_id == premises.c.id))
             .group_by(station.c.name, post.c.name, beat.c.id).order_by(beat.c.id))
        df = pd.DataFrame(self.conn.execute(q).mappings().all(),
                          columns=["station", "post", "beat", "premises", "households", "cards"])
        visits = pd.DataFrame(self.conn.execute(
            sa.select(premises.c.beat_id.label("beat"), sa.func.count(visit.c.id).label("visits"))
            .select_from(visit.join(premises)).group_by(premises.c.beat_id)).mappings().all(),
            columns=["beat", "visits"])
        df = df.merge(visits, on="beat", how="left").fillna({"visits": 0, "households": 0})
        return df.astype({"premises": int, "households": int, "cards": int, "visits": int})

    def frame(self, what: str, scope: tuple[str, str] | None = None) -> "pd.DataFrame":
        """A table for export in a stable order: whole, or the rows of the premises of a beat, post or station."""
        import pandas as pd

        tables = {"premises": premises, "visits": visit, "opinions": opinion, "events": card_event}
        if what == "cards":
            t, q = card, sa.select(card).order_by(card.c.premises_id)
        elif what in tables:
            t = tables[what]
            q = sa.select(t).order_by(*t.primary_key.columns)
        else:
            raise JunkaiError(f"出力できる種類は {'|'.join(EXPORTS)} です: {what!r}")
        if scope is not None:
            q = q.where((t.c.id if t is premises else t.c.premises_id).in_(self.scope_filter(scope)))
        return pd.DataFrame(self.conn.execute(q).mappings().all(), columns=[c.name for c in q.selected_columns])

    def visits_between(self, start: date, end: date, scope: tuple[str, str] | None) -> "pd.DataFrame":
        """Visits made in [start, end], with their beat and any night approval (第6-3)."""
        q = (sa.select(visit.c.id.label("visit_id"), visit.c.premises_id, premises.c.beat_id, visit.c.officer_id,
                       visit.c.visited_at, visit.c.outcome, visit.c.night, visit.c.night_approval_id,
                       night_approval.c.approver, night_approval.c.approved_at, visit.c.notes)
             .select_from(visit.join(premises).outerjoin(night_approval,
                                                         night_approval.c.id == visit.c.night_approval_id))
             .where(visit.c.visited_at >= datetime.combine(start, time.min), visit.c.visited_at <= end_of(end))
             .order_by(visit.c.visited_at, visit.c.id))
        if scope is not None:
            q = q.where(visit.c.premises_id.in_(self.scope_filter(scope)))
        return self._tuples(q)

    def card_changes_between(self, start: date, end: date, scope: tuple[str, str] | None) -> "pd.DataFrame":
        """Per premises whose card was written in [start, end]: created (version 1) and/or amended (later versions)."""
        q = (sa.select(card_event.c.premises_id, premises.c.beat_id,
                       sa.func.max(sa.case((card_event.c.version == 1, 1), else_=0)).label("created"),
                       sa.func.max(sa.case((card_event.c.version > 1, 1), else_=0)).label("amended"))
             .select_from(card_event.join(premises))
             .where(sa.not_(card_event.c.path.like("@%")),
                    card_event.c.at >= datetime.combine(start, time.min), card_event.c.at <= end_of(end))
             .group_by(card_event.c.premises_id, premises.c.beat_id))
        if scope is not None:
            q = q.where(card_event.c.premises_id.in_(self.scope_filter(scope)))
        return self._tuples(q)

    def printed_between(self, start: date, end: date) -> "pd.DataFrame":
        """Cards printed in [start, end] per beat (第7): pre-filled and blank, and the batches."""
        q = (sa.select(printed_card.c.beat_id,
                       sa.func.count().label("printed"),
                       sa.func.sum(sa.case((printed_card.c.premises_id.is_(None), 1), else_=0)).label("blank"),
                       sa.func.count(sa.distinct(printed_card.c.batch_id)).label("batches"))
             .select_from(printed_card.join(print_batch))
             .where(print_batch.c.printed_at >= datetime.combine(start, time.min),
                    print_batch.c.printed_at <= end_of(end))
             .group_by(printed_card.c.beat_id))
        return self._tuples(q)

    def audit_counts(self, start: date, end: date) -> "pd.DataFrame":
        """Audit events in [start, end] by action and operator."""
        q = (sa.select(audit.c.action, audit.c.operator, sa.func.count().label("events"))
             .where(audit.c.at >= datetime.combine(start, time.min), audit.c.at <= end_of(end))
             .group_by(audit.c.action, audit.c.operator).order_by(audit.c.action, audit.c.operator))
        return self._tuples(q)

    def opinion_counts(self, start: date, end: date) -> "pd.DataFrame":
        """Per beat: opinions and, of them, complaints received in [start, end]."""
        return self._tuples(
            sa.select(premises.c.beat_id, sa.func.count().label("opinions"),
                      sa.func.sum(sa.case((opinion.c.complaint, 1), else_=0)).label("complaints"))
            .select_from(opinion.join(premises))
            .where(opinion.c.received_on >= start, opinion.c.received_on <= end).group_by(premises.c.beat_id))
