"""The review queue: values a person must see before they reach a card."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from junkai import JunkaiError
from junkai.states import DECIDED, ReviewStatus
from junkai.store.schema import beat, dumps, loads, post, premises, printed_card, review_item


class Review:
    """Review items, their decisions and whether a decided value reached the card."""

    REVIEW_JSON = ("guess", "rules", "printed", "candidates", "value")

    def add_review_item(self, **values: Any) -> int:
        row = {k: (dumps(v) if k in self.REVIEW_JSON else v) for k, v in values.items()}
        row.setdefault("rules", dumps([]))
        return self.conn.execute(review_item.insert().values(
            created_at=datetime.now(), status=ReviewStatus.PENDING, **row)).inserted_primary_key[0]

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

    def review_items(self, statuses: tuple[str, ...] | None = (ReviewStatus.PENDING,), after: int = 0,
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
            review_item.c.id == item_id, review_item.c.status == ReviewStatus.PENDING).values(
            status=status, value=dumps(value), decided_by=by, decided_at=at, reason=reason))
        if done.rowcount != 1:
            item = self.review_item(item_id)
            raise JunkaiError(f"項目 {item_id} はすでに判断済みです ({item['status']}、{item['decided_by']})")

    def mark_review_applied(self, item_id: int, at: datetime) -> None:
        self.conn.execute(review_item.update().where(review_item.c.id == item_id).values(applied_at=at))

    def decided_unapplied(self) -> list[dict]:
        q = (sa.select(review_item).where(review_item.c.status.in_(DECIDED),
                                          review_item.c.applied_at.is_(None)).order_by(review_item.c.id))
        return [self._review_row(r) for r in self.conn.execute(q).mappings()]

    def last_decided(self, operator: str, since: datetime) -> dict | None:
        """The item the operator decided last, if they decided it since `since` (and it is not undone)."""
        q = (sa.select(review_item).where(review_item.c.decided_by == operator, review_item.c.decided_at >= since)
             .order_by(review_item.c.decided_at.desc(), review_item.c.id.desc()).limit(1))
        r = self.conn.execute(q).mappings().first()
        return self._review_row(r) if r else None

    def reopen_review(self, item_id: int) -> None:
        """A decision taken back (junkai.review.undo, audited there): the item waits again."""
        self.conn.execute(review_item.update().where(review_item.c.id == item_id).values(
            status=ReviewStatus.PENDING, value=None, decided_by=None, decided_at=None, reason=None, applied_at=None))

    def card_items(self, page_id: str, premises_id: int | None, print_id: str | None) -> list[dict]:
        """The review items read from one scanned card (junkai.review.card_key), in order."""
        same = lambda col, v: col.is_(None) if v is None else col == v  # noqa: E731
        q = (sa.select(review_item).where(review_item.c.page_id == page_id, same(review_item.c.premises_id, premises_id),
                                          same(review_item.c.print_id, print_id)).order_by(review_item.c.id))
        return [self._review_row(r) for r in self.conn.execute(q).mappings()]
