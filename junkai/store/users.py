"""Who may use junkai and within what (第7-2); junkai.access decides with these rows."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from junkai.store.schema import user_account


class Users:
    """Grants of a role to a name; never deleted, only disabled."""

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

    # --- the review page's login: a passphrase per name, kept on each of its grants -----------------

    def login_state(self, name: str) -> dict | None:
        """The passphrase hash, failed attempts and lock of an active user, or None if there is none.
        A grant added after the passphrase was set has no hash yet: any grant's counts for the name."""
        rows = self.users(name, active_only=True)
        if not rows:
            return None
        return dict(secret_hash=next((r["secret_hash"] for r in rows if r["secret_hash"]), None),
                    failed_logins=max(r["failed_logins"] or 0 for r in rows),
                    locked_until=max((r["locked_until"] for r in rows if r["locked_until"]), default=None))

    def set_secret(self, name: str, secret_hash: str, at: datetime) -> int:
        """Set the passphrase hash of every active grant of a name and lift its lock; returns how many."""
        return self.conn.execute(user_account.update().where(
            user_account.c.name == name, user_account.c.disabled_at.is_(None))
            .values(secret_hash=secret_hash, secret_set_at=at, failed_logins=0, locked_until=None)).rowcount

    def login_failed(self, name: str, lock_after: int, locked_until: datetime) -> int:
        """Count one more failed attempt for a name (atomically); after `lock_after` in a row, lock it
        until `locked_until`. Returns the count."""
        grants = sa.and_(user_account.c.name == name, user_account.c.disabled_at.is_(None))
        self.conn.execute(user_account.update().where(grants).values(failed_logins=user_account.c.failed_logins + 1))
        count = self.conn.execute(sa.select(sa.func.max(user_account.c.failed_logins)).where(grants)).scalar() or 0
        if count >= lock_after:
            self.conn.execute(user_account.update().where(grants).values(locked_until=locked_until, failed_logins=0))
        return count

    def login_succeeded(self, name: str) -> None:
        self.conn.execute(user_account.update().where(user_account.c.name == name,
                                                      user_account.c.disabled_at.is_(None))
                          .values(failed_logins=0, locked_until=None))
