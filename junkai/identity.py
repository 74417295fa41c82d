"""Who runs a command: the OS account of the process, never a name the caller types.

On the command line the operator is the registered user bound to the OS account that runs the
command (the real uid's entry in the password database). A name given with --as must be that
user's; no environment variable chooses who acts. Bindings are made by an administrator
(`junkai user bind NAME OSACCOUNT`); the first administrator is bound to the OS account that
registers them (`junkai user add NAME --role admin`, or `junkai seed --users`).

A store whose users were registered before bindings existed has no administrator bound yet: then
the owner of the data folder (the account that holds the audit key) acts as its first
administrator until one is bound, so that it can bind the users.
"""

from __future__ import annotations

import os
import pwd
import socket
from pathlib import Path

from junkai import JunkaiError


class NotBound(JunkaiError):
    """The OS account running the command is no user of this store (or not the one it named)."""


def os_account() -> str:
    """The login name of the real uid (not $USER or $LOGNAME, which the caller sets)."""
    uid = os.getuid()
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


def host() -> str:
    return socket.gethostname()


def owns(home: Path) -> bool:
    """Whether the running account owns the data folder (root reaches it anyway)."""
    try:
        return os.getuid() in (0, home.stat().st_uid)
    except OSError:
        return False


def operator(store, home: Path, claimed: str | None = None, account: str | None = None,
             upgrading: bool = False) -> str:
    """The user name the command acts as: that of the user bound to the OS account running it;
    refused (and audited where the store can record it) otherwise. `claimed` (--as) may only name
    that same user. While no user is registered the store is in setup mode and the OS account's
    name is the operator. `upgrading`: the command brings the store up to date first."""
    account = account or os_account()
    with store.transaction():
        if not store.has_users():
            if claimed and claimed != account:
                raise NotBound(f"利用者が登録されていない間は OS アカウント名 ({account}) で操作します "
                               f"(--as {claimed} は使えません)")
            return account
        bindings = store.has_bindings()
        if not bindings and not upgrading:
            raise JunkaiError("ストアが古い形です。先に `junkai init` を実行してください")
        bound = store.bound_name(account) if bindings else None
        admins = store.bound_admins() if bindings else []
        if not admins:  # users from before the bindings: the data folder's owner binds them
            first = store.first_admin()
            if first is not None and owns(home) and (claimed is None or claimed == first):
                return first
        if bound is not None and (claimed is None or claimed == bound):
            return bound
        if bound is not None:
            why = f"OS アカウント {account} は利用者 {bound} です。{claimed} として操作することはできません"
        else:
            ask = f"管理者 ({'、'.join(admins)})" if admins else "データフォルダの所有者"
            why = (f"OS アカウント {account} は junkai の利用者に結び付けられていません。"
                   f"{ask} に `junkai user bind 利用者名 {account}` を依頼してください")
        if bindings:
            # recorded as who ran it (never as the name claimed, which the detail keeps)
            store.audit(bound or account, "refused", "store", None, attempted="identity", claimed=claimed,
                        reason=why)
    raise NotBound(why)
