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

    def has_bindings(self) -> bool:
        """Whether users can be bound to OS accounts yet (a store from before migration 0011 cannot)."""
        if not getattr(self, "_bindings", False):
            cols = {c["name"] for c in sa.inspect(self.conn).get_columns("user_account")}
            self._bindings = "os_account" in cols
        return self._bindings

    def _user_columns(self):
        """The table's columns as this store has them: a store not yet brought up to date (upgraded by the
        command now running) reads the columns of later migrations as empty."""
        if getattr(self, "_users_current", False):
            return [user_account]
        have = {c["name"] for c in sa.inspect(self.conn).get_columns("user_account")}
        self._users_current = have >= set(user_account.c.keys())  # up to date: no need to ask again
        return [c if c.name in have else sa.null().label(c.name) for c in user_account.c]

    def bound_name(self, account: str) -> str | None:
        """The user bound to an OS account, if any (an active one first; a disabled user stays bound,
        so that its refusal says who disabled it)."""
        return self.conn.execute(sa.select(user_account.c.name).where(user_account.c.os_account == account)
                                 .order_by(user_account.c.disabled_at.is_not(None), user_account.c.id)
                                 .limit(1)).scalar()

    def binding(self, name: str) -> str | None:
        """The OS account a user name is bound to, if any."""
        if not self.has_bindings():
            return None
        return self.conn.execute(sa.select(user_account.c.os_account).where(
            user_account.c.name == name, user_account.c.os_account.is_not(None)).limit(1)).scalar()

    def bound_admins(self) -> list[str]:
        """Active administrators bound to an OS account: the ones to ask for a binding."""
        return list(self.conn.execute(sa.select(user_account.c.name).distinct().where(
            user_account.c.role == "admin", user_account.c.disabled_at.is_(None),
            user_account.c.os_account.is_not(None)).order_by(user_account.c.name)).scalars())

    def first_admin(self) -> str | None:
        return self.conn.execute(sa.select(user_account.c.name).where(
            user_account.c.role == "admin", user_account.c.disabled_at.is_(None))
            .order_by(user_account.c.id).limit(1)).scalar()

    def bind_user(self, name: str, account: str | None) -> int:
        """Bind every grant of a name to an OS account (None: unbind); returns how many."""
        return self.conn.execute(user_account.update().where(user_account.c.name == name)
                                 .values(os_account=account)).rowcount

    def add_user(self, name: str, role: str, at: datetime, by: str, station_id: str | None = None,
                 post_id: str | None = None, officer_id: str | None = None, os_account: str | None = None) -> int:
        if station_id is not None:
            self.scope_filter(("station", station_id))  # refuses an unknown station
        if post_id is not None:
            self.post(post_id)
        if officer_id is not None:
            self.officer(officer_id)
        # a further grant of a bound name acts through the same OS account
        bound = os_account or self.binding(name)
        values = dict(name=name, role=role, station_id=station_id, post_id=post_id, officer_id=officer_id,
                      created_at=at, created_by=by)
        if self.has_bindings():
            values["os_account"] = bound
        return self.conn.execute(user_account.insert().values(**values)).inserted_primary_key[0]

    def users(self, name: str | None = None, active_only: bool = False) -> list[dict]:
        q = sa.select(*self._user_columns()).order_by(user_account.c.name, user_account.c.id)
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
