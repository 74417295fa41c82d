"""The audit log: a hash chain, so that an edited, removed or cut-off row shows."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from junkai.store.schema import GENESIS, audit, audit_hash, audit_head, dumps, scope_text


class Audit:
    """Appending to the audit chain, reading it and checking it."""

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
