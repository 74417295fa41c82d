"""The audit log: a chain of keyed hashes, anchored outside the database.

Each row holds the hash of the one before it and an HMAC-SHA256 of itself under the audit key,
a secret in the data folder (keys/audit.key), not in the database: whoever edits a row and
recomputes the chain without the key leaves rows that do not check. Every row appended is also
written, after its commit, as a line to the head file of the data folder (audit-head.log), opened
for appending only: rows cut off the end and the head reset in the database still show, as do
rows rewritten by someone who holds the key, since the lines written before keep the old hashes.
On a station PC the head file is made append-only for everyone (`chattr +a`).

Rows written before migration 0011 keep their plain SHA-256 chain and are checked as before; the
first keyed row holds the hash of the last of them.
"""

from __future__ import annotations

import os
import secrets
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from junkai import JunkaiError
from junkai.store.schema import GENESIS, audit, audit_hash, audit_head, audit_mac, dumps, scope_text

KEY_FILE = Path("keys") / "audit.key"
HEAD_FILE = "audit-head.log"


def read_key(home: Path, create: bool = False) -> bytes | None:
    """The audit key of a data folder; made (32 random bytes, owner or group only) when asked and missing."""
    path = home / KEY_FILE
    try:
        return bytes.fromhex(path.read_text().strip())
    except FileNotFoundError:
        if not create:
            return None
    except ValueError:
        raise JunkaiError(f"監査の鍵 {path} が壊れています")
    path.parent.mkdir(mode=0o770, parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
    except FileExistsError:  # another command made it first
        return read_key(home)
    with os.fdopen(fd, "w") as fh:
        fh.write(secrets.token_hex(32) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    return read_key(home)


def append_head(home: Path, lines: list[str]) -> None:
    """Lines to the head file, opened for appending only (never rewritten, never truncated)."""
    home.mkdir(parents=True, exist_ok=True)
    fd = os.open(home / HEAD_FILE, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o660)
    try:
        os.write(fd, "".join(lines).encode())
        os.fsync(fd)
    finally:
        os.close(fd)


def read_head(home: Path) -> list[tuple[str, int, str]] | None:
    """(time, row number, hash) of every line of the head file; None if there is none."""
    try:
        text = (home / HEAD_FILE).read_text()
    except FileNotFoundError:
        return None
    out = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1].isdigit():
            out.append((parts[0], int(parts[1]), parts[2]))
    return out


def trim_head(home: Path, rows: int) -> None:
    """Keep the lines of a freshly restored head file that anchor the first `rows` rows: a PostgreSQL
    backup's head file was copied after its pg_dump, and may anchor rows written since."""
    path = home / HEAD_FILE
    if not path.is_file():
        return
    kept = [line + "\n" for line in path.read_text().splitlines()
            if len(line.split()) == 3 and line.split()[1].isdigit() and int(line.split()[1]) <= rows]
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("".join(kept))
    os.replace(tmp, path)


def head_text(home: Path) -> str | None:
    """The last anchored head, short, for the foot of a report: rows, hash prefix and time."""
    lines = read_head(home)
    if not lines:
        return None
    at, count, digest = max(lines, key=lambda x: x[1])
    return f"監査ログ先端 {count} 行 {digest[:16]} ({at.replace('T', ' ')})"


class Audit:
    """Appending to the audit chain, reading it and checking it."""

    def audit(self, operator: str, action: str, target_kind: str, target_id: str | None = None,
              **detail: Any) -> None:
        # the head is written first: that takes the lock that keeps concurrent appenders in line
        self.conn.execute(audit_head.update().where(audit_head.c.id == 1).values(count=audit_head.c.count + 1))
        head = self.conn.execute(sa.select(audit_head).where(audit_head.c.id == 1)).mappings().one()
        # the id is chosen here, under the head's lock, so that the row is written once, whole:
        # the database refuses any later change of an audit row
        next_id = self.conn.execute(sa.select(sa.func.coalesce(sa.func.max(audit.c.id), 0) + 1)).scalar_one()
        row = dict(id=next_id, at=datetime.now().replace(microsecond=0), operator=operator, action=action,
                   target_kind=target_kind, target_id=target_id, detail=dumps(detail),
                   os_account=self.os_account, host=self.host)
        if self._audit_key is None:  # read once per store: an ingest audits every page
            self._audit_key = read_key(self.home, create=True)
        digest = audit_mac(self._audit_key, head["hash"], row)
        self.conn.execute(audit.insert().values(prev_hash=head["hash"], hash=digest, **row))
        self.conn.execute(audit_head.update().where(audit_head.c.id == 1).values(hash=digest))
        self._anchors.append(f"{row['at'].isoformat()} {head['count']} {digest}\n")

    def audit_export(self, operator: str, what: str, scope: tuple[str, str] | None, **detail: Any) -> None:
        """Personal data written out: with the beat, post or station it covered (or the whole store),
        so that HQ can count each station's exports (第7)."""
        self.audit(operator, "export", what, scope[1] if scope else None, scope=scope_text(scope), **detail)

    def audit_anchor(self) -> str | None:
        """The audit log's last anchored head (rows, hash, time), small at the foot of a report: a later
        reader holds it against `junkai audit verify` and the head file."""
        return head_text(self.home)

    def audit_rows(self) -> int:
        return self.conn.execute(sa.select(sa.func.count()).select_from(audit)).scalar_one()

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

    def last_review_decision(self, operator: str) -> int | None:
        """The review item of the operator's latest audited decision (accepted, corrected or rejected)."""
        q = (sa.select(audit.c.target_id).where(
            audit.c.operator == operator, audit.c.target_kind == "review_item",
            audit.c.action.in_(("review.accepted", "review.corrected", "review.rejected")))
             .order_by(audit.c.id.desc()).limit(1))
        found = self.conn.execute(q).scalar()
        return int(found) if found else None

    def verify_audit(self) -> tuple[int, str | None]:
        """Walk the chain and hold it against the head file; returns the rows checked and, if broken,
        what is wrong at the first bad row."""
        head = self.conn.execute(sa.select(audit_head).where(audit_head.c.id == 1)).mappings().one()
        keyed_from = head["keyed_from"] or 1
        key = read_key(self.home)
        prev, n, hashes = GENESIS, 0, {}
        for r in self.conn.execute(sa.select(audit).order_by(audit.c.id)).mappings():
            n += 1
            if r["prev_hash"] != prev:
                return n, f"id {r['id']} の行: 直前の行とつながっていません (前の行が削除または改ざんされています)"
            if r["id"] < keyed_from:
                if audit_hash(prev, dict(r)) != r["hash"]:
                    return n, f"id {r['id']} の行: 内容が記録時から変わっています"
            else:
                if key is None:
                    return n, f"監査の鍵 {KEY_FILE} がデータフォルダにありません (鍵がなければ検査できません)"
                if audit_mac(key, prev, dict(r)) != r["hash"]:
                    if audit_hash(prev, dict(r)) == r["hash"]:
                        return n, (f"id {r['id']} の行: 鍵なしでハッシュが計算し直されています "
                                   "(行を書き換えて連鎖を作り直した跡です)")
                    return n, f"id {r['id']} の行: 内容が記録時から変わっています"
            prev = r["hash"]
            hashes[n] = prev
        if head["count"] != n or head["hash"] != prev:
            return n, f"末尾: 記録は {head['count']} 行のはずが {n} 行です (末尾の行が削除または改ざんされています)"
        lines = read_head(self.home)
        if lines is None and self._anchors:  # the head file comes with this transaction's commit
            lines = []
        if lines is None:
            if self._keyed_rows(keyed_from):
                return n, f"先端の記録 {HEAD_FILE} がデータフォルダにありません (削除されています)"
            return n, None
        for at, count, digest in lines:
            if count > n:
                top = max(c for _, c, _ in lines)
                return n, (f"末尾: 先端の記録 ({HEAD_FILE}) では {top} 行あるはずが {n} 行です "
                           "(末尾の行が削除され、先端が戻されています)")
            if hashes.get(count) != digest:
                return count, (f"{count} 行目: 先端の記録 ({at}) とハッシュが一致しません "
                               "(記録の後で行が書き換えられ、連鎖が作り直されています)")
        return n, None

    def _keyed_rows(self, keyed_from: int) -> bool:
        return self.conn.execute(sa.select(audit.c.id).where(audit.c.id >= keyed_from).limit(1)).first() is not None
