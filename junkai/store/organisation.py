"""Stations, posts, beats and officers; the frequency and the officer of a beat, effective-dated."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa

from junkai import JunkaiError
from junkai.store.schema import assignment, beat, beat_frequency, officer, opinion, post, premises, station

if TYPE_CHECKING:
    import pandas as pd


class Organisation:
    """The police organisation a card lies in, and who has each beat when."""

    def is_empty(self) -> bool:
        return self.conn.execute(sa.select(sa.func.count()).select_from(station)).scalar_one() == 0

    def add_station(self, id: str, name: str) -> None:
        self.conn.execute(station.insert().values(id=id, name=name))

    def add_post(self, id: str, station_id: str, name: str, kind: str, phone: str | None = None) -> None:
        self.conn.execute(post.insert().values(id=id, station_id=station_id, name=name, kind=kind, phone=phone))

    def add_beat(self, id: str, post_id: str, name: str) -> None:
        self.conn.execute(beat.insert().values(id=id, post_id=post_id, name=name))

    def add_officer(self, id: str, station_id: str, name: str) -> None:
        self.conn.execute(officer.insert().values(id=id, station_id=station_id, name=name))

    def set_frequency(self, beat_id: str, months: int, effective_from: date, set_by: str, at: datetime) -> None:
        self.beat(beat_id)
        if not 1 <= months <= 120:
            raise JunkaiError(f"実施頻度は 1〜120 か月で指定してください: {months}")
        self.conn.execute(beat_frequency.insert().values(
            beat_id=beat_id, months=months, effective_from=effective_from, set_by=set_by, set_at=at))

    def assign(self, beat_id: str, officer_id: str, effective_from: date, set_by: str, at: datetime) -> None:
        self.beat(beat_id)
        self.officer(officer_id)
        self.conn.execute(assignment.insert().values(
            beat_id=beat_id, officer_id=officer_id, effective_from=effective_from, set_by=set_by, set_at=at))

    def beat(self, beat_id: str) -> dict:
        row = self.conn.execute(sa.select(beat).where(beat.c.id == beat_id)).mappings().first()
        if row is None:
            raise JunkaiError(f"受持区が見つかりません: {beat_id}")
        return dict(row)

    def officer(self, officer_id: str) -> dict:
        row = self.conn.execute(sa.select(officer).where(officer.c.id == officer_id)).mappings().first()
        if row is None:
            raise JunkaiError(f"警察官が見つかりません: {officer_id}")
        return dict(row)

    def post(self, post_id: str) -> dict:
        row = self.conn.execute(sa.select(post).where(post.c.id == post_id)).mappings().first()
        if row is None:
            raise JunkaiError(f"交番・駐在所が見つかりません: {post_id}")
        return dict(row)

    def _in_force(self, table: sa.Table, beat_id: str, day: date):
        # the latest setting that took effect on or before `day`; later records win ties
        return self.conn.execute(
            sa.select(table).where(table.c.beat_id == beat_id, table.c.effective_from <= day)
            .order_by(table.c.effective_from.desc(), table.c.id.desc()).limit(1)
        ).mappings().first()

    def frequency_at(self, beat_id: str, day: date) -> int | None:
        row = self._in_force(beat_frequency, beat_id, day)
        return None if row is None else row["months"]

    def officer_at(self, beat_id: str, day: date) -> str | None:
        row = self._in_force(assignment, beat_id, day)
        return None if row is None else row["officer_id"]

    def assignments(self, beat_id: str) -> list[dict]:
        rows = self.conn.execute(
            sa.select(assignment).where(assignment.c.beat_id == beat_id)
            .order_by(assignment.c.effective_from, assignment.c.id)).mappings()
        return [dict(r) for r in rows]

    def station_ids(self) -> list[str]:
        return list(self.conn.execute(sa.select(station.c.id).order_by(station.c.id)).scalars())

    def station_names(self) -> dict[str, str]:
        return dict(self.conn.execute(sa.select(station.c.id, station.c.name).order_by(station.c.id)).all())

    def premises_per_station(self) -> dict[str, int]:
        """How many premises each station has (stations without any left out)."""
        return dict(self.conn.execute(
            sa.select(station.c.id, sa.func.count(premises.c.id))
            .select_from(station.join(post).join(beat).join(premises)).group_by(station.c.id)).all())

    def officer_id_set(self) -> set[str]:
        return set(self.conn.execute(sa.select(officer.c.id)).scalars())

    def beats_of_officer(self, officer_id: str, day: date) -> set[str]:
        """The beats whose assignment in force on `day` names the officer (第5-1, 第6-8)."""
        rows = self.conn.execute(
            sa.select(assignment.c.beat_id, assignment.c.officer_id).where(assignment.c.effective_from <= day)
            .order_by(assignment.c.beat_id, assignment.c.effective_from, assignment.c.id))
        in_force = {b: o for b, o in rows}  # later rows win, as in officer_at
        return {b for b, o in in_force.items() if o == officer_id}

    def place(self, level: str, key: str | int) -> dict:
        """The station, post and beat a target lies in (beat and post None above their level)."""
        if level == "opinion":
            row = self.conn.execute(sa.select(opinion.c.premises_id).where(opinion.c.id == int(key))).first()
            if row is None:
                raise JunkaiError(f"意見・要望が見つかりません: {key}")
            level, key = "premises", row[0]
        if level == "premises":
            key = self.premises(int(key))["beat_id"]
            level = "beat"
        if level == "beat":
            b = self.beat(str(key))
            return dict(beat=b["id"], post=b["post_id"], station=self.post(b["post_id"])["station_id"])
        if level == "post":
            return dict(beat=None, post=str(key), station=self.post(str(key))["station_id"])
        if level == "station":
            self.scope_filter(("station", str(key)))  # refuses an unknown station
            return dict(beat=None, post=None, station=str(key))
        raise ValueError(level)

    def organisation(self, station_id: str | None = None) -> "pd.DataFrame":
        """Every beat with its post and station, in id order."""
        q = (sa.select(station.c.id.label("station_id"), station.c.name.label("station"), post.c.id.label("post_id"),
                       post.c.name.label("post"), beat.c.id.label("beat_id"), beat.c.name.label("beat"))
             .select_from(station.join(post).join(beat)).order_by(station.c.id, post.c.id, beat.c.id))
        if station_id is not None:
            self.scope_filter(("station", station_id))  # refuses an unknown station
            q = q.where(station.c.id == station_id)
        return self._tuples(q)

    def officers(self, station_id: str | None = None) -> "pd.DataFrame":
        q = sa.select(officer.c.id.label("officer_id"), officer.c.name.label("officer"), officer.c.station_id)
        if station_id is not None:
            q = q.where(officer.c.station_id == station_id)
        return self._tuples(q.order_by(officer.c.id))
