"""Retention: the one sanctioned deletion from the append-only store."""

from __future__ import annotations

from datetime import date
from typing import Any, Iterator

import sqlalchemy as sa

from junkai import model
from junkai.store.schema import (beat, card, card_event, dumps, loads, night_approval, opinion, post, premises,
                                 printed_card, review_item, scan_file, scan_page, visit)


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


class Retention:
    """Finding ceased premises and deleting everything that belongs only to them."""

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
