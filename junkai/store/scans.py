"""Print batches and printed cards; scan files and the pages read from them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from junkai import JunkaiError
from junkai.store.schema import CLAIMED, dumps, loads, print_batch, printed_card, scan_file, scan_page


class Scans:
    """Every printed card, and every scan received and page read."""

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

    def printed_sheets(self, path: str) -> int:
        """Card sheets of the print batch written to the file `path` (the rest of its pages is the cover)."""
        sheets = self.conn.execute(sa.select(print_batch.c.sheets).where(print_batch.c.path == path)).scalar()
        if sheets is None:
            raise JunkaiError(f"この印刷ファイルの記録がありません: {path}")
        return sheets

    def add_scan_file(self, sha256: str, name: str, size: int, stored: str, at: datetime, operator: str) -> bool:
        """Record a received file; False if the same content was received before."""
        if self.conn.execute(sa.select(scan_file.c.sha256).where(scan_file.c.sha256 == sha256)).first():
            return False
        self.conn.execute(scan_file.insert().values(sha256=sha256, name=name, size=size, stored=stored,
                                                    received_at=at, operator=operator))
        return True

    def scan_received(self, sha256: str) -> datetime | None:
        """When the file was received (None: not a file received here)."""
        return self.conn.execute(sa.select(scan_file.c.received_at).where(scan_file.c.sha256 == sha256)).scalar()

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
