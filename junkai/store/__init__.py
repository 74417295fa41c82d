"""The store: the one package that speaks SQL. Everything else asks it in domain terms.

SQLite in the data folder by default, PostgreSQL by URL; the same schema, created
and upgraded by Alembic. Cards are append-only events (card_event); the `card`
table is a view of them kept in the same transaction, for fast reads, and can
always be rebuilt from the events.

The store stores: it checks what keeps its rows whole (a known beat, a known
status), never whether a value is a good value for a card; callers validate first.

`Store` is one class made of one part per aggregate (schema.py holds the tables):
organisation, cards, visits, scans, review, audit, users, nightly, retention, and
the read-only frames of queries.py.
"""

from __future__ import annotations

from junkai.store.audit import Audit
from junkai.store.base import MIGRATIONS, StoreBase, display_url, service_role_sql, snapshot_row_counts
from junkai.store.cards import Card, Cards
from junkai.store.nightly import Nightly
from junkai.store.organisation import Organisation
from junkai.store.queries import EXPORTS, Queries
from junkai.store.retention import Retention
from junkai.store.review import Review
from junkai.store.scans import Scans
from junkai.store.schema import (CLAIMED, GENESIS, assignment, audit, audit_hash, audit_head, audit_mac, beat, beat_frequency,
                                 campaign, campaign_area, card, card_event, dumps, end_of, loads, metadata,
                                 night_approval, nightly_run, officer, opinion, post, premises, print_batch,
                                 printed_card, review_item, scan_file, scan_page, scope_text, station, user_account,
                                 visit)
from junkai.store.users import Users
from junkai.store.visits import Visits


class Store(Organisation, Cards, Visits, Scans, Review, Audit, Users, Nightly, Retention, Queries, StoreBase):
    """The store of one data folder (or one PostgreSQL database)."""


__all__ = [
    "Store", "Card", "EXPORTS", "MIGRATIONS", "CLAIMED", "GENESIS", "audit_hash", "audit_mac", "dumps", "loads", "end_of",
    "scope_text", "display_url", "service_role_sql", "snapshot_row_counts", "metadata",
    "assignment", "audit", "audit_head", "beat", "beat_frequency", "campaign", "campaign_area", "card", "card_event",
    "night_approval", "nightly_run", "officer", "opinion", "post", "premises", "print_batch", "printed_card",
    "review_item", "scan_file", "scan_page", "station", "user_account", "visit",
]
