"""The schema: every table of the store, and the small codecs its columns share.

Alembic's migrations (junkai/migrations) compare against this metadata; a change
here needs a migration there.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import date, datetime, time
from typing import Any

import sqlalchemy as sa

from junkai.states import CLAIMED as _CLAIMED

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
    sa.Column("phone", sa.String(20), nullable=True),  # printed on the card: where residents ask
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
CLAIMED = tuple(str(s) for s in _CLAIMED)  # plain strings: rendered into the unique index below
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
    # the OS account and machine that ran the command: the name alone is what the user claims
    sa.Column("os_account", sa.Text),
    sa.Column("host", sa.Text),
)
# The end of the audit chain: appenders lock it, so the chain never forks; it also
# shows rows cut off the end.
audit_head = sa.Table(
    "audit_head", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("count", sa.BigInteger, nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
    # rows from this id on carry an HMAC under the data folder's audit key (older ones a plain SHA-256)
    sa.Column("keyed_from", sa.BigInteger),
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
    # the OS account whose commands act as this user (every grant of a name holds the same one)
    sa.Column("os_account", sa.Text, index=True),
    # the review page's login: an argon2 hash of the user's passphrase (on each grant of the name),
    # the failed attempts in a row and, after too many, until when the name is locked
    sa.Column("secret_hash", sa.Text),
    sa.Column("secret_set_at", sa.DateTime),
    sa.Column("failed_logins", sa.Integer, nullable=False, server_default="0"),
    sa.Column("locked_until", sa.DateTime),
)
GENESIS = "0" * 64


def audit_hash(prev: str, row: dict) -> str:
    """The hash of one audit row chained to the one before. Never change it: old rows are checked with it."""
    at = row["at"] if isinstance(row["at"], str) else row["at"].isoformat(sep=" ")
    payload = json.dumps([prev, int(row["id"]), at, row["operator"], row["action"], row["target_kind"],
                          row["target_id"], row["detail"]], ensure_ascii=False)
    return hashlib.sha256(payload.encode()).hexdigest()


def audit_mac(key: bytes, prev: str, row: dict) -> str:
    """The keyed hash (HMAC-SHA256) of one audit row, with who ran it where: without the key nobody
    can write a row, or recompute the chain after editing one, that checks."""
    at = row["at"] if isinstance(row["at"], str) else row["at"].isoformat(sep=" ")
    payload = json.dumps([prev, int(row["id"]), at, row["operator"], row["action"], row["target_kind"],
                          row["target_id"], row["detail"], row["os_account"], row["host"]], ensure_ascii=False)
    return hmac.new(key, payload.encode(), hashlib.sha256).hexdigest()


def scope_text(scope: tuple[str, str] | None) -> str:
    """A scope as the audit log records it: "station S01", "post S01-P01", "beat S01-P01-B1", or 全体."""
    return " ".join(scope) if scope else "全体"


def dumps(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True)


def loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def end_of(day: date | datetime) -> datetime:
    return day if isinstance(day, datetime) else datetime.combine(day, time.max)
