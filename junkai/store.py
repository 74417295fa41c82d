"""The store: the one module that speaks SQL. Everything else asks it in domain terms.

SQLite in the data folder by default, PostgreSQL by URL; the same schema, created
and upgraded by Alembic. Cards are append-only events (card_event); the `card`
table is a view of them kept in the same transaction, for fast reads, and can
always be rebuilt from the events.
"""

from __future__ import annotations

import hashlib
import json
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Iterator

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from junkai import JunkaiError, model

if TYPE_CHECKING:
    import pandas as pd

metadata = sa.MetaData()

station = sa.Table(
    "station", metadata,
    sa.Column("id", sa.String(16), primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
)
post = sa.Table(
    "post", metadata,
    sa.Column("id", sa.String(24), primary_key=True),
    sa.Column("station_id", sa.ForeignKey("station.id"), nullable=False, index=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("kind", sa.String(8), nullable=False),  # 交番 | 駐在所
)
beat = sa.Table(
    "beat", metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("post_id", sa.ForeignKey("post.id"), nullable=False, index=True),
    sa.Column("name", sa.Text, nullable=False),
)
# 第6-2: the chief sets the frequency; effective-dated, never overwritten.
beat_frequency = sa.Table(
    "beat_frequency", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("beat_id", sa.ForeignKey("beat.id"), nullable=False, index=True),
    sa.Column("months", sa.Integer, nullable=False),
    sa.Column("effective_from", sa.Date, nullable=False),
    sa.Column("set_by", sa.Text, nullable=False),
    sa.Column("set_at", sa.DateTime, nullable=False),
)
officer = sa.Table(
    "officer", metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("station_id", sa.ForeignKey("station.id"), nullable=False, index=True),
    sa.Column("name", sa.Text, nullable=False),
)
# 第5-1, 第6-8: who had the beat on a day; the latest assignment in force wins.
assignment = sa.Table(
    "assignment", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("beat_id", sa.ForeignKey("beat.id"), nullable=False, index=True),
    sa.Column("officer_id", sa.ForeignKey("officer.id"), nullable=False, index=True),
    sa.Column("effective_from", sa.Date, nullable=False),
    sa.Column("set_by", sa.Text, nullable=False),
    sa.Column("set_at", sa.DateTime, nullable=False),
)
premises = sa.Table(
    "premises", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("beat_id", sa.ForeignKey("beat.id"), nullable=False, index=True),
    sa.Column("postal_code", sa.String(7), nullable=False),
    sa.Column("prefecture", sa.Text, nullable=False),
    sa.Column("city", sa.Text, nullable=False),
    sa.Column("town", sa.Text, nullable=False),
    sa.Column("block", sa.Text, nullable=False),
    sa.Column("building", sa.Text),
    sa.Column("room", sa.Text),
    # derived from @status events, kept here for queries
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("status_since", sa.Date, nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("created_by", sa.Text, nullable=False),
)
card_event = sa.Table(
    "card_event", metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("premises_id", sa.ForeignKey("premises.id"), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("path", sa.Text, nullable=False),
    sa.Column("before", sa.Text),
    sa.Column("after", sa.Text),
    sa.Column("at", sa.DateTime, nullable=False),  # when it happened (the visit, the scan)
    sa.Column("source", sa.Text, nullable=False),  # seed | operator | scan:<page id> | ...
    sa.Column("operator", sa.Text, nullable=False),
    sa.Column("recorded_at", sa.DateTime, nullable=False),
    sa.Index("ix_card_event_premises_version", "premises_id", "version"),
    # covers the lists' aggregates (last confirmation, status) without touching the rows
    sa.Index("ix_card_event_premises_path_at", "premises_id", "path", "at"),
    # a period's events (reports, the lists' trend) without reading all history
    sa.Index("ix_card_event_at_path_premises", "at", "path", "premises_id"),
)
card = sa.Table(
    "card", metadata,
    sa.Column("premises_id", sa.ForeignKey("premises.id"), primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("data", sa.Text, nullable=False),
    sa.Column("created_on", sa.Date, nullable=False),
    sa.Column("confirmed_on", sa.Date, nullable=False),
    sa.Column("confirmed_source", sa.Text, nullable=False),
)
night_approval = sa.Table(
    "night_approval", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("premises_id", sa.ForeignKey("premises.id"), nullable=False, index=True),
    sa.Column("officer_id", sa.ForeignKey("officer.id"), nullable=False),
    sa.Column("visit_date", sa.Date, nullable=False),
    sa.Column("approver", sa.Text, nullable=False),
    sa.Column("approved_at", sa.DateTime, nullable=False),
)
visit = sa.Table(
    "visit", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("premises_id", sa.ForeignKey("premises.id"), nullable=False, index=True),
    sa.Column("officer_id", sa.ForeignKey("officer.id"), nullable=False, index=True),
    sa.Column("visited_at", sa.DateTime, nullable=False),
    sa.Column("outcome", sa.String(16), nullable=False),
    sa.Column("night", sa.Boolean, nullable=False),
    sa.Column("night_approval_id", sa.ForeignKey("night_approval.id")),
    sa.Column("guidance", sa.Text, nullable=False),  # "1,3": items of 第6-4
    sa.Column("notes", sa.Text),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("recorded_by", sa.Text, nullable=False),
    sa.Column("recorded_at", sa.DateTime, nullable=False),
    # covers the lists' aggregates (last meeting, refusals) without touching the rows
    sa.Index("ix_visit_premises_outcome_at", "premises_id", "outcome", "visited_at"),
    # a period's visits (reports, the lists' trend) without reading all history
    sa.Index("ix_visit_at_outcome_premises", "visited_at", "outcome", "premises_id"),
)
opinion = sa.Table(
    "opinion", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("premises_id", sa.ForeignKey("premises.id"), nullable=False, index=True),
    sa.Column("visit_id", sa.ForeignKey("visit.id")),
    sa.Column("officer_id", sa.ForeignKey("officer.id"), nullable=False),
    sa.Column("received_on", sa.Date, nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("complaint", sa.Boolean, nullable=False),  # 苦情: about police conduct
    sa.Column("reported_to_chief_on", sa.Date),  # 第6-5(2), through the section chief
    sa.Column("reported_to_hq_on", sa.Date),  # 第4-5, complaints only
    sa.Column("recorded_by", sa.Text, nullable=False),
    sa.Column("recorded_at", sa.DateTime, nullable=False),
)
# 第4-3: after a serious incident the chief orders visits to ease residents' worries.
campaign = sa.Table(
    "campaign", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("starts_on", sa.Date, nullable=False),
    sa.Column("until", sa.Date, nullable=False),
    sa.Column("ordered_by", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
)
campaign_area = sa.Table(
    "campaign_area", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("campaign_id", sa.ForeignKey("campaign.id"), nullable=False, index=True),
    sa.Column("beat_id", sa.ForeignKey("beat.id")),  # a whole beat, or
    sa.Column("town", sa.Text),  # every premises in a town
)
# Values a person must see before they reach a card: the crop beside the guess.
review_item = sa.Table(
    "review_item", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("page_id", sa.Text, nullable=False),  # the scan page it was read from
    sa.Column("print_id", sa.Text),
    sa.Column("premises_id", sa.ForeignKey("premises.id"), index=True),
    sa.Column("topic", sa.String(16), nullable=False),  # value | identity | conflict
    sa.Column("field", sa.Text, nullable=False),  # a card path (members.2.mobile) or "identity"
    sa.Column("label", sa.Text, nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),  # how a corrected value is validated
    sa.Column("guess", sa.Text),
    sa.Column("confidence", sa.Float),
    sa.Column("crop", sa.Text),
    sa.Column("rules", sa.Text, nullable=False),  # [{code, message}] that failed
    sa.Column("printed", sa.Text),  # the value printed on the card before
    sa.Column("candidates", sa.Text),  # identity matches, or both sides of a conflict
    sa.Column("status", sa.String(16), nullable=False, index=True),  # pending | accepted | corrected | rejected
    sa.Column("value", sa.Text),
    sa.Column("decided_by", sa.Text),
    sa.Column("decided_at", sa.DateTime),
    sa.Column("reason", sa.Text),
    sa.Column("applied_at", sa.DateTime),  # when a decided value reached the card
)
# Every printed card (第6-7(1)): a scan read later finds the card version it was printed
# from here, for the three-way merge of reconciliation. premises_id is NULL on a blank card.
print_batch = sa.Table(
    "print_batch", metadata,
    sa.Column("id", sa.String(24), primary_key=True),
    sa.Column("printed_at", sa.DateTime, nullable=False),
    sa.Column("operator", sa.Text, nullable=False),
    sa.Column("scope", sa.Text, nullable=False),  # JSON: what was asked for (beat, premises, blank)
    sa.Column("cards", sa.Integer, nullable=False),
    sa.Column("sheets", sa.Integer, nullable=False),
    sa.Column("path", sa.Text, nullable=False),
)
printed_card = sa.Table(
    "printed_card", metadata,
    sa.Column("print_id", sa.String(16), primary_key=True),
    sa.Column("batch_id", sa.ForeignKey("print_batch.id"), nullable=False, index=True),
    sa.Column("premises_id", sa.ForeignKey("premises.id"), index=True),
    sa.Column("card_version", sa.Integer, nullable=False),
    sa.Column("beat_id", sa.ForeignKey("beat.id"), nullable=False),
    sa.Column("form_type", sa.String(16), nullable=False),
    sa.Column("form_version", sa.Integer, nullable=False),
    sa.Column("sheets", sa.Integer, nullable=False),
    sa.Column("rows", sa.Text, nullable=False),  # JSON: group -> {form row: member/contact key}
)
# Scans as received (content-addressed, kept under the data folder) and every page read
# from them. A printed card's sheet is applied once: the partial unique index refuses a
# second claim even from a concurrent ingest.
scan_file = sa.Table(
    "scan_file", metadata,
    sa.Column("sha256", sa.String(64), primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("stored", sa.Text, nullable=False),
    sa.Column("received_at", sa.DateTime, nullable=False),
    sa.Column("operator", sa.Text, nullable=False),
)
CLAIMED = ("applied", "waiting")
scan_page = sa.Table(
    "scan_page", metadata,
    sa.Column("id", sa.String(80), primary_key=True),  # <file sha256>:<page>
    sa.Column("file_sha256", sa.ForeignKey("scan_file.sha256"), nullable=False, index=True),
    sa.Column("page", sa.Integer, nullable=False),
    sa.Column("read_status", sa.String(16), nullable=False),  # ok | partial | failed | skipped
    sa.Column("state", sa.String(16), nullable=False),  # applied | waiting | duplicate | failed | skipped
    sa.Column("print_id", sa.String(16)),
    sa.Column("sheet", sa.Integer),
    sa.Column("premises_id", sa.ForeignKey("premises.id"), index=True),
    sa.Column("result", sa.Text, nullable=False),  # the reading, as JSON
    sa.Column("summary", sa.Text, nullable=False),  # what reconciling it did, as JSON
    sa.Column("recorded_at", sa.DateTime, nullable=False),
    sa.Index("ux_scan_page_claimed_sheet", "print_id", "sheet", unique=True,
             sqlite_where=sa.text("state IN ('applied', 'waiting')"),
             postgresql_where=sa.text("state IN ('applied', 'waiting')")),
)
# One line per nightly run of a station: what each step did (files written, counts), so
# that a second run for the same station and day skips the steps already done.
nightly_run = sa.Table(
    "nightly_run", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("station_id", sa.ForeignKey("station.id"), nullable=False),
    sa.Column("as_of", sa.Date, nullable=False),
    sa.Column("started_at", sa.DateTime, nullable=False),
    sa.Column("finished_at", sa.DateTime),
    sa.Column("state", sa.String(16), nullable=False),  # running | done | failed
    sa.Column("operator", sa.Text, nullable=False),
    sa.Column("flow_run", sa.String(64)),  # Prefect's flow run id, to find the run in its UI
    sa.Column("summary", sa.Text, nullable=False),  # JSON: step -> {state, files, detail, message}
    sa.Index("ix_nightly_run_station_as_of", "station_id", "as_of"),
)
audit = sa.Table(
    "audit", metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("at", sa.DateTime, nullable=False),
    sa.Column("operator", sa.Text, nullable=False),
    sa.Column("action", sa.Text, nullable=False),
    sa.Column("target_kind", sa.Text, nullable=False),
    sa.Column("target_id", sa.Text),
    sa.Column("detail", sa.Text, nullable=False),
    # each row holds the hash of the one before it, so an edited or deleted row shows
    sa.Column("prev_hash", sa.String(64)),
    sa.Column("hash", sa.String(64)),
)
# The end of the audit chain: appenders lock it, so the chain never forks; it also
# shows rows cut off the end.
audit_head = sa.Table(
    "audit_head", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("count", sa.BigInteger, nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
)
# Who may use junkai and within what (第7-2: the custodian and the handlers of the cards).
# A row is one grant of a role to a name; rows are never deleted: disabling records who and when.
user_account = sa.Table(
    "user_account", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.Text, nullable=False, index=True),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("station_id", sa.ForeignKey("station.id")),  # custodian, chief
    sa.Column("post_id", sa.ForeignKey("post.id")),  # handler
    sa.Column("officer_id", sa.ForeignKey("officer.id")),  # beat officer: the beats assigned on the day
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("created_by", sa.Text, nullable=False),
    sa.Column("disabled_at", sa.DateTime),
    sa.Column("disabled_by", sa.Text),
)
GENESIS = "0" * 64


def audit_hash(prev: str, row: dict) -> str:
    """The hash of one audit row chained to the one before. Never change it: old rows are checked with it."""
    at = row["at"] if isinstance(row["at"], str) else row["at"].isoformat(sep=" ")
    payload = json.dumps([prev, int(row["id"]), at, row["operator"], row["action"], row["target_kind"],
                          row["target_id"], row["detail"]], ensure_ascii=False)
    return hashlib.sha256(payload.encode()).hexdigest()

EXPORTS = ("premises", "cards", "visits", "opinions", "events")


def scope_text(scope: tuple[str, str] | None) -> str:
    """A scope as the audit log records it: "station S01", "post S01-P01", "beat S01-P01-B1", or 全体."""
    return " ".join(scope) if scope else "全体"


def dumps(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True)


def loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


@dataclass
class Card:
    premises: dict
    data: dict
    version: int
    created_on: date | None
    confirmed_on: date | None
    confirmed_source: str | None


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def end_of(day: date | datetime) -> datetime:
    return day if isinstance(day, datetime) else datetime.combine(day, time.max)


def _crops_in(value: Any) -> Iterator[str]:
    """The crop image paths anywhere in a page reading (JSON)."""
    if isinstance(value, dict):
        for k, v in value.items():
            if k == "crop" and isinstance(v, str) and v:
                yield v
            else:
                yield from _crops_in(v)
    elif isinstance(value, list):
        for v in value:
            yield from _crops_in(v)


class Store:
    def __init__(self, url: str):
        self.url = url
        if url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        # concurrent writers (two ingests at once) wait for each other rather than fail at once
        connect_args = {"timeout": 60} if url.startswith("sqlite") else {}
        self.engine: Engine = sa.create_engine(url, future=True, connect_args=connect_args)
        if self.engine.dialect.name == "sqlite":
            sa.event.listen(self.engine, "connect", _sqlite_pragmas)
        self._conn: Connection | None = None

    # --- lifecycle -----------------------------------------------------------

    def migrate(self) -> None:
        """Create or upgrade the schema to the newest migration."""
        from alembic import command
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
        with self.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")

    def check_ready(self) -> None:
        if not sa.inspect(self.engine).has_table("premises"):
            raise JunkaiError("ストアが初期化されていません。先に `junkai init` を実行してください")

    @contextmanager
    def transaction(self) -> Iterator[Store]:
        """One transaction per command: all of it is written, or none."""
        if self._conn is not None:
            yield self
            return
        with self.engine.begin() as conn:
            self._conn = conn
            try:
                yield self
            finally:
                self._conn = None

    @property
    def conn(self) -> Connection:
        if self._conn is None:
            raise RuntimeError("store used outside a transaction")
        return self._conn

    def close(self) -> None:
        self.engine.dispose()

    # --- organisation --------------------------------------------------------

    def is_empty(self) -> bool:
        return self.conn.execute(sa.select(sa.func.count()).select_from(station)).scalar_one() == 0

    def add_station(self, id: str, name: str) -> None:
        self.conn.execute(station.insert().values(id=id, name=name))

    def add_post(self, id: str, station_id: str, name: str, kind: str) -> None:
        self.conn.execute(post.insert().values(id=id, station_id=station_id, name=name, kind=kind))

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

    # --- premises and cards --------------------------------------------------

    def next_premises_id(self) -> int:
        return (self.conn.execute(sa.select(sa.func.max(premises.c.id))).scalar_one() or 0) + 1

    def add_premises(self, kind: str, beat_id: str, address: dict, at: datetime, operator: str) -> int:
        if kind not in model.PREMISES_KINDS:
            raise JunkaiError(f"種別は household か business です: {kind!r}")
        self.beat(beat_id)
        pid = self.next_premises_id()
        self.conn.execute(premises.insert().values(
            id=pid, kind=kind, beat_id=beat_id, status=model.ACTIVE, status_since=at.date(),
            created_at=at, created_by=operator, **address))
        return pid

    def premises(self, premises_id: int) -> dict:
        row = self.conn.execute(sa.select(premises).where(premises.c.id == premises_id)).mappings().first()
        if row is None:
            raise JunkaiError(f"各戸が見つかりません: {premises_id}")
        return dict(row)

    def card(self, premises_id: int) -> Card:
        p = self.premises(premises_id)
        row = self.conn.execute(sa.select(card).where(card.c.premises_id == premises_id)).mappings().first()
        if row is None:
            return Card(p, model.empty_card(p["kind"]), 0, None, None, None)
        return Card(p, loads(row["data"]), row["version"], row["created_on"], row["confirmed_on"],
                    row["confirmed_source"])

    def cards_of_beat(self, beat_id: str) -> list[Card]:
        self.beat(beat_id)
        q = (sa.select(premises, card.c.data, card.c.version, card.c.created_on, card.c.confirmed_on,
                       card.c.confirmed_source)
             .select_from(premises.outerjoin(card, card.c.premises_id == premises.c.id))
             .where(premises.c.beat_id == beat_id).order_by(premises.c.id))
        out = []
        for r in self.conn.execute(q).mappings():
            p = {c.name: r[c.name] for c in premises.columns}
            data = loads(r["data"]) if r["data"] is not None else model.empty_card(p["kind"])
            out.append(Card(p, data, r["version"] or 0, r["created_on"], r["confirmed_on"], r["confirmed_source"]))
        return out

    def premises_ids_of_beat(self, beat_id: str) -> list[int]:
        return list(self.conn.execute(
            sa.select(premises.c.id).where(premises.c.beat_id == beat_id).order_by(premises.c.id)).scalars())

    def events(self, premises_id: int, until: date | datetime | None = None) -> list[dict]:
        q = sa.select(card_event).where(card_event.c.premises_id == premises_id)
        if until is not None:
            q = q.where(card_event.c.at <= end_of(until))
        rows = self.conn.execute(q.order_by(card_event.c.version, card_event.c.id)).mappings()
        return [dict(r, before=loads(r["before"]), after=loads(r["after"])) for r in rows]

    def card_at(self, premises_id: int, at: date | datetime | None = None) -> dict:
        """Rebuild the card from its events alone, as it stood at the end of `at`."""
        p = self.premises(premises_id)
        return model.rebuild(p["kind"], ((e["path"], e["after"]) for e in self.events(premises_id, at)))

    def change_card(self, premises_id: int, changes: Iterable[tuple[str, Any]], at: datetime, source: str,
                    operator: str, today: date | None = None) -> int:
        """Append the changes as events and bring the card view up to date; returns the new version.

        Values are validated first; a change to the value a field already has is no event.
        """
        current = self.card(premises_id)
        kind = current.premises["kind"]
        today = today or at.date()
        data = current.data
        rows = []
        version = current.version + 1
        for path, value in changes:
            value = model.validate_field(kind, path, value, today)
            before = model.get_path(data, path)
            if before == value or (value is None and before in (None, [], "")):
                continue
            model.apply(data, path, value)
            rows.append(dict(premises_id=premises_id, version=version, path=path, before=dumps(before),
                             after=dumps(value), at=at, source=source, operator=operator,
                             recorded_at=datetime.now()))
        if not rows:
            return current.version
        self.conn.execute(card_event.insert(), rows)
        self._save_card(premises_id, current, data, version, at.date(), source)
        return version

    def confirm_card(self, premises_id: int, at: datetime, source: str, operator: str) -> None:
        """Residents confirmed the card unchanged (変更なし): its confirmation date advances."""
        current = self.card(premises_id)
        if current.version == 0:
            raise JunkaiError(f"各戸 {premises_id} にはまだカードがありません")
        self.conn.execute(card_event.insert().values(
            premises_id=premises_id, version=current.version, path=model.CONFIRM, before=None,
            after=dumps(at.date().isoformat()), at=at, source=source, operator=operator, recorded_at=datetime.now()))
        self._save_card(premises_id, current, current.data, current.version, at.date(), source)

    def _save_card(self, premises_id: int, current: Card, data: dict, version: int, day: date, source: str) -> None:
        confirmed = max(day, current.confirmed_on) if current.confirmed_on else day
        values = dict(version=version, data=dumps(data), confirmed_on=confirmed,
                      confirmed_source=source if confirmed == day else current.confirmed_source)
        if current.version == 0:
            self.conn.execute(card.insert().values(premises_id=premises_id, created_on=day, **values))
        else:
            self.conn.execute(card.update().where(card.c.premises_id == premises_id).values(**values))

    def set_status(self, premises_id: int, status: str, at: datetime, source: str, operator: str) -> None:
        p = self.premises(premises_id)
        if status not in model.PREMISES_STATUSES:
            raise JunkaiError(f"状態は {'/'.join(model.PREMISES_STATUSES)} のいずれかです: {status!r}")
        if p["status"] == status:
            return
        version = self.card(premises_id).version
        self.conn.execute(card_event.insert().values(
            premises_id=premises_id, version=version, path=model.STATUS, before=dumps(p["status"]),
            after=dumps(status), at=at, source=source, operator=operator, recorded_at=datetime.now()))
        self.conn.execute(premises.update().where(premises.c.id == premises_id)
                          .values(status=status, status_since=at.date()))

    # --- visits and opinions -------------------------------------------------

    def add_visit(self, **values: Any) -> int:
        return self.conn.execute(visit.insert().values(**values)).inserted_primary_key[0]

    def visits(self, premises_id: int) -> list[dict]:
        rows = self.conn.execute(sa.select(visit).where(visit.c.premises_id == premises_id)
                                 .order_by(visit.c.visited_at, visit.c.id)).mappings()
        return [dict(r) for r in rows]

    def visit_exists(self, premises_id: int, officer_id: str, visited_at: datetime, outcome: str) -> bool:
        return self.conn.execute(sa.select(visit.c.id).where(
            visit.c.premises_id == premises_id, visit.c.officer_id == officer_id,
            visit.c.visited_at == visited_at, visit.c.outcome == outcome).limit(1)).first() is not None

    def premises_id_set(self) -> set[int]:
        return set(self.conn.execute(sa.select(premises.c.id)).scalars())

    def officer_id_set(self) -> set[str]:
        return set(self.conn.execute(sa.select(officer.c.id)).scalars())

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

    # --- what the lists of 第6-1 are computed from ---------------------------

    def _in_scope(self, scope: tuple[str, str]):
        """The condition, on beat joined to post, that a beat lies in a beat, post or station; refuses an unknown one."""
        level, key = scope
        table, column = {"beat": (beat, beat.c.id), "post": (post, post.c.id),
                         "station": (station, post.c.station_id)}[level]
        if self.conn.execute(sa.select(table.c.id).where(table.c.id == key)).first() is None:
            raise JunkaiError(f"{ {'beat': '受持区', 'post': '交番・駐在所', 'station': '警察署'}[level] }が見つかりません: {key}")
        return column == key

    def scope_filter(self, scope: tuple[str, str] | None):
        """premises ids within a beat, post or station (None: the whole store), as a subquery."""
        q = sa.select(premises.c.id).select_from(premises.join(beat).join(post))
        return q if scope is None else q.where(self._in_scope(scope))

    def list_inputs(self, as_of: date, scope: tuple[str, str] | None) -> dict[str, "pd.DataFrame"]:
        """Everything the long-unvisited / long-unconfirmed lists need, aggregated in SQL, as of a day."""
        end = end_of(as_of)
        ids = self.scope_filter(scope)

        def raw(column, name):
            # dates stay as the driver returns them; pandas converts whole columns at once
            return sa.type_coerce(column, sa.String).label(name)

        def within(column):
            return sa.true() if scope is None else column.in_(ids)

        out = {}
        out["premises"] = self._tuples(
            sa.select(premises.c.id.label("premises_id"), premises.c.kind, premises.c.beat_id,
                      beat.c.post_id, post.c.station_id, premises.c.postal_code, premises.c.city, premises.c.town,
                      premises.c.block, premises.c.building, premises.c.room, raw(premises.c.created_at, "created_at"))
            .select_from(premises.join(beat).join(post))
            .where(within(premises.c.id), premises.c.created_at <= end))
        out["status"] = self._tuples(
            sa.select(card_event.c.premises_id, card_event.c.after.label("status"), raw(card_event.c.at, "at"))
            .where(card_event.c.path == model.STATUS, card_event.c.at <= end, within(card_event.c.premises_id))
            .order_by(card_event.c.premises_id, card_event.c.at, card_event.c.id))
        out["met"] = self._tuples(
            sa.select(visit.c.premises_id, raw(sa.func.max(visit.c.visited_at), "last_met"))
            .where(visit.c.outcome.in_(model.MET_OUTCOMES), visit.c.visited_at <= end,
                   within(visit.c.premises_id))
            .group_by(visit.c.premises_id))
        out["refusals"] = self._tuples(
            sa.select(visit.c.premises_id, sa.func.count().label("refusals"),
                      raw(sa.func.max(visit.c.visited_at), "last_refusal"))
            .where(visit.c.outcome == "拒否", visit.c.visited_at <= end, within(visit.c.premises_id))
            .group_by(visit.c.premises_id))
        content = sa.not_(card_event.c.path.like("@%"))
        out["cards"] = self._tuples(
            sa.select(card_event.c.premises_id,
                      raw(sa.func.min(sa.case((content, card_event.c.at))), "card_created"),
                      raw(sa.func.max(card_event.c.at), "last_confirmed"))
            .where(card_event.c.path != model.STATUS, card_event.c.at <= end, within(card_event.c.premises_id))
            .group_by(card_event.c.premises_id))
        for name, table, column in (("frequency", beat_frequency, "months"), ("officer", assignment, "officer_id")):
            out[name] = self._tuples(
                sa.select(table.c.beat_id, table.c[column], table.c.effective_from, table.c.id)
                .where(table.c.effective_from <= as_of).order_by(table.c.beat_id, table.c.effective_from, table.c.id))
        out["officer_names"] = self._tuples(sa.select(officer.c.id.label("officer_id"), officer.c.name.label("officer")))
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

    # --- the review queue ----------------------------------------------------

    REVIEW_JSON = ("guess", "rules", "printed", "candidates", "value")

    def add_review_item(self, **values: Any) -> int:
        row = {k: (dumps(v) if k in self.REVIEW_JSON else v) for k, v in values.items()}
        row.setdefault("rules", dumps([]))
        return self.conn.execute(review_item.insert().values(
            created_at=datetime.now(), status="pending", **row)).inserted_primary_key[0]

    def _review_row(self, r) -> dict:
        return {k: (loads(v) if k in self.REVIEW_JSON else v) for k, v in dict(r).items()}

    def review_item(self, item_id: int) -> dict:
        r = self.conn.execute(sa.select(review_item).where(review_item.c.id == item_id)).mappings().first()
        if r is None:
            raise JunkaiError(f"確認待ちの項目が見つかりません: {item_id}")
        return self._review_row(r)

    def _in_review_scope(self, q, scope: tuple[str, str] | None):
        """Narrow a query on review_item to a beat, post or station: the items of its premises and of
        the blank cards printed for its beats. An item with neither belongs to the whole store only."""
        if scope is None:
            return q
        beats = sa.select(beat.c.id).select_from(beat.join(post)).where(self._in_scope(scope))
        return (q.select_from(review_item.outerjoin(premises, premises.c.id == review_item.c.premises_id)
                              .outerjoin(printed_card, printed_card.c.print_id == review_item.c.print_id))
                .where(sa.func.coalesce(premises.c.beat_id, printed_card.c.beat_id).in_(beats)))

    def review_items(self, statuses: tuple[str, ...] | None = ("pending",), after: int = 0,
                     limit: int | None = None, scope: tuple[str, str] | None = None) -> list[dict]:
        q = self._in_review_scope(sa.select(review_item).where(review_item.c.id > after), scope)
        q = q.order_by(review_item.c.id)
        if statuses:
            q = q.where(review_item.c.status.in_(statuses))
        if limit:
            q = q.limit(limit)
        return [self._review_row(r) for r in self.conn.execute(q).mappings()]

    def review_target(self, item: dict) -> tuple[str, object] | None:
        """What a review item is about, for access checks: its premises, else the beat its blank card was
        printed for, else nothing known (the whole store)."""
        if item["premises_id"]:
            return ("premises", item["premises_id"])
        beat_id = self.conn.execute(sa.select(printed_card.c.beat_id).where(
            printed_card.c.print_id == item["print_id"])).scalar() if item["print_id"] else None
        return ("beat", beat_id) if beat_id else None

    def review_counts(self, scope: tuple[str, str] | None = None) -> dict[str, int]:
        q = self._in_review_scope(sa.select(review_item.c.status, sa.func.count()), scope)
        return {status: n for status, n in self.conn.execute(q.group_by(review_item.c.status))}

    def decide_review(self, item_id: int, status: str, value: Any, by: str, at: datetime, reason: str | None) -> None:
        done = self.conn.execute(review_item.update().where(
            review_item.c.id == item_id, review_item.c.status == "pending").values(
            status=status, value=dumps(value), decided_by=by, decided_at=at, reason=reason))
        if done.rowcount != 1:
            item = self.review_item(item_id)
            raise JunkaiError(f"項目 {item_id} はすでに判断済みです ({item['status']}、{item['decided_by']})")

    # --- campaigns (第4-3) -----------------------------------------------------

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

    # --- bulk load (seed) ----------------------------------------------------

    def bulk_insert(self, table_name: str, rows: list[dict]) -> None:
        if rows:
            self.conn.execute(metadata.tables[table_name].insert(), rows)

    def fix_sequences(self) -> None:
        """After rows were loaded with explicit ids, let PostgreSQL's sequences continue past them."""
        if self.engine.dialect.name != "postgresql":
            return
        for t in (visit, night_approval, opinion):
            self.conn.execute(sa.text(
                f"SELECT setval(pg_get_serial_sequence('{t.name}', 'id'), GREATEST((SELECT max(id) FROM {t.name}), 1))"))

    # --- printed cards --------------------------------------------------------

    def post(self, post_id: str) -> dict:
        row = self.conn.execute(sa.select(post).where(post.c.id == post_id)).mappings().first()
        if row is None:
            raise JunkaiError(f"交番・駐在所が見つかりません: {post_id}")
        return dict(row)

    def record_print(self, batch: dict, cards: list[dict]) -> None:
        """One print batch and its cards; `rows` of a card is form row -> key, per group."""
        self.conn.execute(print_batch.insert().values(dict(batch, scope=dumps(batch["scope"]))))
        self.bulk_insert("printed_card", [dict(c, batch_id=batch["id"], rows=dumps(c["rows"])) for c in cards])

    def printed_card(self, print_id: str) -> dict:
        row = self.conn.execute(sa.select(printed_card).where(printed_card.c.print_id == print_id)).mappings().first()
        if row is None:
            raise JunkaiError(f"この印刷IDのカードは印刷されていません: {print_id}")
        return dict(row, rows=loads(row["rows"]))

    def print_batch(self, batch_id: str) -> dict:
        row = self.conn.execute(sa.select(print_batch).where(print_batch.c.id == batch_id)).mappings().first()
        if row is None:
            raise JunkaiError(f"印刷番号が見つかりません: {batch_id}")
        cards = self.conn.execute(sa.select(printed_card).where(printed_card.c.batch_id == batch_id)
                                  .order_by(printed_card.c.print_id)).mappings()
        return dict(row, scope=loads(row["scope"]), printed=[dict(c, rows=loads(c["rows"])) for c in cards])

    # --- scans ---------------------------------------------------------------

    def add_scan_file(self, sha256: str, name: str, size: int, stored: str, at: datetime, operator: str) -> bool:
        """Record a received file; False if the same content was received before."""
        if self.conn.execute(sa.select(scan_file.c.sha256).where(scan_file.c.sha256 == sha256)).first():
            return False
        self.conn.execute(scan_file.insert().values(sha256=sha256, name=name, size=size, stored=stored,
                                                    received_at=at, operator=operator))
        return True

    def scan_pages(self, sha256: str | None = None, states: tuple[str, ...] | None = None) -> list[dict]:
        q = sa.select(scan_page).order_by(scan_page.c.file_sha256, scan_page.c.page)
        if sha256:
            q = q.where(scan_page.c.file_sha256 == sha256)
        if states:
            q = q.where(scan_page.c.state.in_(states))
        return [dict(r, result=loads(r["result"]), summary=loads(r["summary"]))
                for r in self.conn.execute(q).mappings()]

    def scan_pages_by_id(self, page_id: str) -> list[dict]:
        rows = self.conn.execute(sa.select(scan_page).where(scan_page.c.id == page_id)).mappings()
        return [dict(r, result=loads(r["result"]), summary=loads(r["summary"])) for r in rows]

    def claimed_page(self, print_id: str, sheet: int) -> str | None:
        """The page that already stands for this printed card's sheet, if any."""
        return self.conn.execute(sa.select(scan_page.c.id).where(
            scan_page.c.print_id == print_id, scan_page.c.sheet == sheet,
            scan_page.c.state.in_(CLAIMED))).scalar()

    def add_scan_page(self, **row: Any) -> None:
        self.conn.execute(scan_page.insert().values(
            recorded_at=datetime.now(), **{k: (dumps(v) if k in ("result", "summary") else v) for k, v in row.items()}))

    def add_scan_pages(self, rows: list[dict]) -> None:
        """Many pages in one statement (the empty pages of a file)."""
        now = datetime.now()
        self.conn.execute(scan_page.insert(), [
            dict(recorded_at=now, **{k: (dumps(v) if k in ("result", "summary") else v) for k, v in row.items()})
            for row in rows])

    def update_scan_page(self, page_id: str, **values: Any) -> None:
        self.conn.execute(scan_page.update().where(scan_page.c.id == page_id).values(
            **{k: (dumps(v) if k in ("result", "summary") else v) for k, v in values.items()}))

    def amendments(self, since: date | None, beat_id: str | None) -> "pd.DataFrame":
        """Card changes with their sources, newest last (confirmations without change left out)."""
        import pandas as pd

        q = (sa.select(card_event.c.premises_id, premises.c.beat_id, card_event.c.version, card_event.c.at,
                       card_event.c.path, card_event.c.before, card_event.c.after, card_event.c.source,
                       card_event.c.operator, card_event.c.recorded_at)
             .select_from(card_event.join(premises)).where(card_event.c.path != model.CONFIRM)
             .order_by(card_event.c.recorded_at, card_event.c.id))
        if since:
            q = q.where(card_event.c.recorded_at >= datetime.combine(since, time.min))
        if beat_id:
            self.beat(beat_id)
            q = q.where(premises.c.beat_id == beat_id)
        rows = [r._asdict() for r in self.conn.execute(q)]
        for r in rows:
            r["before"], r["after"] = loads(r["before"]), loads(r["after"])
        return pd.DataFrame(rows, columns=[c.name for c in q.selected_columns])

    def card_at_version(self, premises_id: int, version: int) -> dict:
        """The card as it was printed: its events up to that version."""
        p = self.premises(premises_id)
        rows = self.conn.execute(
            sa.select(card_event.c.path, card_event.c.after)
            .where(card_event.c.premises_id == premises_id, card_event.c.version <= version)
            .order_by(card_event.c.version, card_event.c.id))
        return model.rebuild(p["kind"], ((path, loads(after)) for path, after in rows))

    def premises_by_postal_code(self, postal_code: str) -> list[Card]:
        ids = self.conn.execute(sa.select(premises.c.id).where(
            premises.c.postal_code == postal_code, premises.c.status == model.ACTIVE).order_by(premises.c.id)).scalars()
        return [self.card(pid) for pid in ids]

    def mark_review_applied(self, item_id: int, at: datetime) -> None:
        self.conn.execute(review_item.update().where(review_item.c.id == item_id).values(applied_at=at))

    def decided_unapplied(self) -> list[dict]:
        q = (sa.select(review_item).where(review_item.c.status.in_(("accepted", "corrected")),
                                          review_item.c.applied_at.is_(None)).order_by(review_item.c.id))
        return [self._review_row(r) for r in self.conn.execute(q).mappings()]

    # --- nightly runs --------------------------------------------------------

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

    def station_ids(self) -> list[str]:
        return list(self.conn.execute(sa.select(station.c.id).order_by(station.c.id)).scalars())

    # --- users and where a target lies (junkai.access decides) ----------------

    def has_users(self) -> bool:
        """Whether any user was ever registered; a store from before the user table has none."""
        if not sa.inspect(self.conn).has_table("user_account"):
            return False
        return self.conn.execute(sa.select(user_account.c.id).limit(1)).first() is not None

    def add_user(self, name: str, role: str, at: datetime, by: str, station_id: str | None = None,
                 post_id: str | None = None, officer_id: str | None = None) -> int:
        if station_id is not None:
            self.scope_filter(("station", station_id))  # refuses an unknown station
        if post_id is not None:
            self.post(post_id)
        if officer_id is not None:
            self.officer(officer_id)
        return self.conn.execute(user_account.insert().values(
            name=name, role=role, station_id=station_id, post_id=post_id, officer_id=officer_id,
            created_at=at, created_by=by)).inserted_primary_key[0]

    def users(self, name: str | None = None, active_only: bool = False) -> list[dict]:
        q = sa.select(user_account).order_by(user_account.c.name, user_account.c.id)
        if name is not None:
            q = q.where(user_account.c.name == name)
        if active_only:
            q = q.where(user_account.c.disabled_at.is_(None))
        return [dict(r) for r in self.conn.execute(q).mappings()]

    def disable_user(self, name: str, at: datetime, by: str) -> int:
        """Disable every active grant of a name; returns how many."""
        return self.conn.execute(user_account.update().where(
            user_account.c.name == name, user_account.c.disabled_at.is_(None))
            .values(disabled_at=at, disabled_by=by)).rowcount

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

    # --- retention: the one sanctioned deletion from the append-only store --------

    def ceased_before(self, day: date) -> list[dict]:
        """Premises that ceased (moved out, closed) on or before `day`, with their station."""
        q = (sa.select(premises.c.id, post.c.station_id).select_from(premises.join(beat).join(post))
             .where(premises.c.status == model.CEASED, premises.c.status_since <= day).order_by(premises.c.id))
        return [dict(r) for r in self.conn.execute(q).mappings()]

    def purge_premises(self, ids: list[int]) -> tuple[dict[str, int], list[str]]:
        """Delete the premises and every row that belongs only to them: card, card events, visits,
        night approvals, opinions, review items, printed cards, scan pages, and scan files with no
        other page. Returns the counts per table and the files (kept scans, crops) that belonged
        only to them, for the caller to remove once the transaction is committed.

        Audit rows stay: deleting one would break the chain, and they name premises by id only."""
        counts = dict.fromkeys(("premises", "card", "card_event", "visit", "night_approval", "opinion",
                                "review_item", "review_item_scrubbed", "printed_card", "scan_page", "scan_file"), 0)
        files: list[str] = []
        shas: set[str] = set()

        def delete(table: sa.Table, where) -> None:
            counts[table.name] += self.conn.execute(table.delete().where(where)).rowcount

        for i in range(0, len(ids), 2000):  # bound the parameters of one statement
            chunk = ids[i:i + 2000]
            prints = sa.select(printed_card.c.print_id).where(printed_card.c.premises_id.in_(chunk))
            pages = self.conn.execute(
                sa.select(scan_page.c.id, scan_page.c.file_sha256, scan_page.c.result)
                .where(sa.or_(scan_page.c.premises_id.in_(chunk), scan_page.c.print_id.in_(prints)))).all()
            page_ids = [p.id for p in pages]
            shas.update(p.file_sha256 for p in pages)
            files.extend(c for p in pages for c in _crops_in(loads(p.result)))
            # an identity question of another card's page only guessed these premises: it stays,
            # without the guess (below); everything else about them goes
            items = sa.or_(sa.and_(review_item.c.premises_id.in_(chunk), review_item.c.topic != "identity"),
                           review_item.c.page_id.in_(page_ids))
            files.extend(c for c in self.conn.execute(sa.select(review_item.c.crop).where(items)).scalars() if c)
            self.conn.execute(review_item.update().where(review_item.c.premises_id.in_(chunk),
                                                         review_item.c.topic == "identity",
                                                         review_item.c.page_id.not_in(page_ids))
                              .values(premises_id=None))
            delete(opinion, opinion.c.premises_id.in_(chunk))
            delete(visit, visit.c.premises_id.in_(chunk))
            delete(night_approval, night_approval.c.premises_id.in_(chunk))
            delete(review_item, items)
            delete(scan_page, scan_page.c.id.in_(page_ids))
            delete(printed_card, printed_card.c.premises_id.in_(chunk))
            delete(card_event, card_event.c.premises_id.in_(chunk))
            delete(card, card.c.premises_id.in_(chunk))
            delete(premises, premises.c.id.in_(chunk))
        # identity questions that remain list candidate premises with their names and address
        gone = set(ids)
        for item_id, text in self.conn.execute(sa.select(review_item.c.id, review_item.c.candidates).where(
                review_item.c.topic == "identity", review_item.c.candidates.is_not(None))).all():
            candidates = loads(text)
            if isinstance(candidates, list):
                kept = [c for c in candidates if not (isinstance(c, dict) and c.get("premises_id") in gone)]
                if len(kept) != len(candidates):
                    self.conn.execute(review_item.update().where(review_item.c.id == item_id)
                                      .values(candidates=dumps(kept)))
                    counts["review_item_scrubbed"] += 1
        touched, orphans = sorted(shas), 0
        for i in range(0, len(touched), 2000):
            gone = self.conn.execute(
                sa.select(scan_file.c.sha256, scan_file.c.stored).where(
                    scan_file.c.sha256.in_(touched[i:i + 2000]),
                    ~sa.exists().where(scan_page.c.file_sha256 == scan_file.c.sha256))).all()
            files.extend(o.stored for o in gone)
            delete(scan_file, scan_file.c.sha256.in_([o.sha256 for o in gone]))
            orphans += len(gone)
        counts["scan_file_shared"] = len(shas) - orphans  # kept: they hold pages of other premises
        return counts, sorted(set(files))

    # --- audit ---------------------------------------------------------------

    def audit(self, operator: str, action: str, target_kind: str, target_id: str | None = None,
              **detail: Any) -> None:
        # the head is written first: that takes the lock that keeps concurrent appenders in line
        self.conn.execute(audit_head.update().where(audit_head.c.id == 1).values(count=audit_head.c.count + 1))
        prev = self.conn.execute(sa.select(audit_head.c.hash).where(audit_head.c.id == 1)).scalar_one()
        row = dict(at=datetime.now().replace(microsecond=0), operator=operator, action=action,
                   target_kind=target_kind, target_id=target_id, detail=dumps(detail))
        row["id"] = self.conn.execute(audit.insert().values(prev_hash=prev, **row)).inserted_primary_key[0]
        digest = audit_hash(prev, row)
        self.conn.execute(audit.update().where(audit.c.id == row["id"]).values(hash=digest))
        self.conn.execute(audit_head.update().where(audit_head.c.id == 1).values(hash=digest))

    def audit_export(self, operator: str, what: str, scope: tuple[str, str] | None, **detail: Any) -> None:
        """Personal data written out: with the beat, post or station it covered (or the whole store),
        so that HQ can count each station's exports (第7)."""
        self.audit(operator, "export", what, scope[1] if scope else None, scope=scope_text(scope), **detail)

    def audit_events(self, who: str | None = None, what: str | None = None,
                     since: datetime | None = None) -> list[dict]:
        q = sa.select(audit).order_by(audit.c.id)
        if who:
            q = q.where(audit.c.operator == who)
        if what:
            q = q.where(audit.c.action.like(f"{what}%"))
        if since:
            q = q.where(audit.c.at >= since)
        return [dict(r) for r in self.conn.execute(q).mappings()]

    def verify_audit(self) -> tuple[int, str | None]:
        """Walk the chain; returns the rows checked and, if broken, what is wrong at the first bad row."""
        prev, n = GENESIS, 0
        for r in self.conn.execute(sa.select(audit).order_by(audit.c.id)).mappings():
            n += 1
            if r["prev_hash"] != prev:
                return n, f"id {r['id']} の行: 直前の行とつながっていません (前の行が削除または改ざんされています)"
            if audit_hash(prev, dict(r)) != r["hash"]:
                return n, f"id {r['id']} の行: 内容が記録時から変わっています"
            prev = r["hash"]
        head = self.conn.execute(sa.select(audit_head).where(audit_head.c.id == 1)).mappings().one()
        if head["count"] != n or head["hash"] != prev:
            return n, f"末尾: 記録は {head['count']} 行のはずが {n} 行です (末尾の行が削除または改ざんされています)"
        return n, None

    # --- reading out ---------------------------------------------------------

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

    # --- what the reports to the chief and to HQ are computed from (第4-5, 第4-6, 第6-5, 第7) ----

    def _tuples(self, q) -> "pd.DataFrame":
        # plain tuples: per-value conversion by the ORM layer would cost more than the query
        import pandas as pd

        return pd.DataFrame([tuple(r) for r in self.conn.execute(q)], columns=[c.name for c in q.selected_columns])

    def _raw_tuples(self, q) -> "pd.DataFrame":
        """As _tuples, for queries of plain numbers and text only: the driver's rows as they come, without
        SQLAlchemy's per-row processing (half the time on the million-row reads of a prefecture's lists)."""
        import pandas as pd

        rows = self.conn.execute(q).cursor.fetchall()
        return pd.DataFrame.from_records(rows, columns=[c.name for c in q.selected_columns], nrows=len(rows))

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

    def visits_between(self, start: date, end: date, scope: tuple[str, str] | None) -> "pd.DataFrame":
        """Visits made in [start, end], with their beat and any night approval (第6-3)."""
        q = (sa.select(visit.c.id.label("visit_id"), visit.c.premises_id, premises.c.beat_id, visit.c.officer_id,
                       visit.c.visited_at, visit.c.outcome, visit.c.night, visit.c.night_approval_id,
                       night_approval.c.approver, night_approval.c.approved_at)
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

    def list_inputs_at(self, days: list[date], scope: tuple[str, str] | None) -> dict[str, "pd.DataFrame"]:
        """What the lists of 第6-1 need on several days at once (sorted): the aggregates as of the
        first day, as `list_inputs` reads them, and the meetings and card events after it up to the
        last day, read through the period indexes, for the caller to roll forward day by day."""
        first, end = end_of(days[0]), end_of(days[-1])
        ids = self.scope_filter(scope)

        def raw(column, name):
            return sa.type_coerce(column, sa.String).label(name)

        def within(column):
            return sa.true() if scope is None else column.in_(ids)

        met = visit.c.outcome.in_(model.MET_OUTCOMES)
        content = sa.not_(card_event.c.path.like("@%"))
        out = {}
        out["premises"] = self._raw_tuples(
            sa.select(premises.c.id.label("premises_id"), premises.c.kind, premises.c.beat_id,
                      raw(premises.c.created_at, "created_at"))
            .where(within(premises.c.id), premises.c.created_at <= end))
        out["status"] = self._raw_tuples(
            sa.select(card_event.c.premises_id, card_event.c.after.label("status"), raw(card_event.c.at, "at"))
            .where(card_event.c.path == model.STATUS, card_event.c.at <= end, within(card_event.c.premises_id))
            .order_by(card_event.c.premises_id, card_event.c.at, card_event.c.id))
        out["met"] = self._raw_tuples(
            sa.select(visit.c.premises_id, raw(sa.func.max(visit.c.visited_at), "last_met"))
            .where(met, visit.c.visited_at <= first, within(visit.c.premises_id))
            .group_by(visit.c.premises_id))
        out["met_after"] = self._raw_tuples(
            sa.select(visit.c.premises_id, raw(visit.c.visited_at, "at"))
            .where(met, visit.c.visited_at > first, visit.c.visited_at <= end, within(visit.c.premises_id)))
        out["cards"] = self._raw_tuples(
            sa.select(card_event.c.premises_id, raw(sa.func.min(sa.case((content, card_event.c.at))), "card_created"),
                      raw(sa.func.max(card_event.c.at), "last_confirmed"))
            .where(card_event.c.path != model.STATUS, card_event.c.at <= first, within(card_event.c.premises_id))
            .group_by(card_event.c.premises_id))
        out["cards_after"] = self._raw_tuples(
            sa.select(card_event.c.premises_id, raw(card_event.c.at, "at"), content.label("content"))
            .where(card_event.c.path != model.STATUS, card_event.c.at > first, card_event.c.at <= end,
                   within(card_event.c.premises_id)))
        out["frequency"] = self._raw_tuples(
            sa.select(beat_frequency.c.beat_id, beat_frequency.c.months, beat_frequency.c.effective_from,
                      beat_frequency.c.id)
            .where(beat_frequency.c.effective_from <= days[-1])
            .order_by(beat_frequency.c.beat_id, beat_frequency.c.effective_from, beat_frequency.c.id))
        return out

    def opinion_counts(self, start: date, end: date) -> "pd.DataFrame":
        """Per beat: opinions and, of them, complaints received in [start, end]."""
        return self._tuples(
            sa.select(premises.c.beat_id, sa.func.count().label("opinions"),
                      sa.func.sum(sa.case((opinion.c.complaint, 1), else_=0)).label("complaints"))
            .select_from(opinion.join(premises))
            .where(opinion.c.received_on >= start, opinion.c.received_on <= end).group_by(premises.c.beat_id))

    def addresses(self, premises_ids: Iterable[int]) -> dict[int, str]:
        """The address of each premises, for a list that a person reads (the chief's, never HQ's)."""
        ids = sorted(set(int(i) for i in premises_ids))
        out = {}
        for chunk in range(0, len(ids), 500):
            rows = self.conn.execute(sa.select(premises).where(premises.c.id.in_(ids[chunk:chunk + 500])))
            for r in rows.mappings():
                out[r["id"]] = "".join((r["city"], r["town"], r["block"])) + "".join(
                    f" {r[k]}" for k in ("building", "room") if r[k])
        return out
