"""Nightly runs: one line per run of a station, so that a second run skips the steps done."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from junkai.store.schema import dumps, loads, nightly_run


class Nightly:
    """Starting, updating and reading nightly runs."""

    def start_nightly(self, station_id: str, as_of: date, at: datetime, operator: str,
                      flow_run: str | None = None) -> int:
        self.scope_filter(("station", station_id))  # refuses an unknown station
        return self.conn.execute(nightly_run.insert().values(
            station_id=station_id, as_of=as_of, started_at=at, state="running", operator=operator,
            flow_run=flow_run, summary=dumps({}))).inserted_primary_key[0]

    def update_nightly(self, run_id: int, summary: dict, state: str | None = None,
                       finished_at: datetime | None = None) -> None:
        values: dict[str, Any] = dict(summary=dumps(summary))
        if state:
            values.update(state=state, finished_at=finished_at)
        self.conn.execute(nightly_run.update().where(nightly_run.c.id == run_id).values(**values))

    def nightly_runs(self, station_id: str | None = None, as_of: date | None = None) -> list[dict]:
        q = sa.select(nightly_run).order_by(nightly_run.c.id)
        if station_id:
            q = q.where(nightly_run.c.station_id == station_id)
        if as_of:
            q = q.where(nightly_run.c.as_of == as_of)
        return [dict(r, summary=loads(r["summary"])) for r in self.conn.execute(q).mappings()]

    def nightly_run(self, run_id: int) -> dict:
        r = self.conn.execute(sa.select(nightly_run).where(nightly_run.c.id == run_id)).mappings().one()
        return dict(r, summary=loads(r["summary"]))
