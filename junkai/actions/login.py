"""Passphrases and logins of the review page: a user sets their own passphrase (an administrator may
reset another's); the page logs a user in by name and passphrase. Kept as argon2 hashes; after
LOCK_AFTER failed attempts in a row the name is locked for LOCK_MINUTES. Everything is audited."""

from __future__ import annotations

from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from junkai import JunkaiError
from junkai.actions import Context, allow

LOCK_AFTER = 5
LOCK_MINUTES = 15
MIN_LENGTH = 10

_hasher = PasswordHasher()
# verified when the name is unknown or has no passphrase, so that the answer takes as long either way
_DUMMY = _hasher.hash("junkai: no such user")


class LoginFailed(JunkaiError):
    """Wrong name or passphrase, or the name is locked; the message is for the person at the page."""


def _now() -> datetime:
    return datetime.now().replace(microsecond=0)


def set_passphrase(ctx: Context, name: str, secret: str) -> None:
    """Set `name`'s passphrase: one's own, or, for an administrator, anyone's (a reset). Audited."""
    name = name.strip()
    reset = name != ctx.operator
    if reset:
        allow(ctx, "users")  # refused (audited) unless an administrator
    if len(secret) < MIN_LENGTH:
        raise JunkaiError(f"合言葉は {MIN_LENGTH} 文字以上にしてください")
    if secret != secret.strip():
        raise JunkaiError("合言葉の前後に空白を入れないでください")
    with ctx.store.transaction():
        if not ctx.store.users(name, active_only=True):
            raise JunkaiError(f"有効な利用者ではありません: {name} (管理者が junkai user add で登録します)")
        ctx.store.set_secret(name, _hasher.hash(secret), _now())
        ctx.store.audit(ctx.operator, "user.passwd", "user", name, reset=reset)


def login(ctx: Context, name: str, secret: str) -> str:
    """The name, if its passphrase is right and it is not locked; else LoginFailed (audited).
    `ctx.operator` is ignored: whoever tries is known only by the name given."""
    name = name.strip()[:100]
    now = _now()
    with ctx.store.transaction():
        state = ctx.store.login_state(name) if name else None
        if state and state["locked_until"] and state["locked_until"] > now:
            ctx.store.audit(name, "login.locked", "user", name)
            locked = state["locked_until"]
        else:
            locked = None
    # raised outside the transaction: the audit rows and the count of failures must stay
    if locked:
        raise LoginFailed(f"続けて {LOCK_AFTER} 回まちがえたため、{locked:%H:%M} まで"
                          "ログインできません (管理者が合言葉を設定し直すと解除されます)")
    with ctx.store.transaction():
        try:
            _hasher.verify(state["secret_hash"] if state and state["secret_hash"] else _DUMMY, secret)
            ok = bool(state and state["secret_hash"])
        except (VerificationError, InvalidHashError):
            ok = False
        if ok:
            ctx.store.login_succeeded(name)
            ctx.store.audit(name, "login", "user", name)
            return name
        if state is None:
            ctx.store.audit(name or "-", "login.failed", "user", name or None, known=False)
        else:
            until = now + timedelta(minutes=LOCK_MINUTES)
            count = ctx.store.login_failed(name, LOCK_AFTER, until)
            ctx.store.audit(name, "login.failed", "user", name, known=True, no_passphrase=not state["secret_hash"])
            if count >= LOCK_AFTER:
                ctx.store.audit(name, "login.lockout", "user", name, until=f"{until:%Y-%m-%d %H:%M}")
    raise LoginFailed("利用者名または合言葉が違います")


def logout(ctx: Context) -> None:
    with ctx.store.transaction():
        ctx.store.audit(ctx.operator, "logout", "user", ctx.operator)
