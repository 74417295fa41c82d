"""The store and its users: creating and seeding the store, users and their grants (the first
user is an administrator, the last administrator stays), the audit log, retention, backup."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from junkai import JunkaiError, access
from junkai import settings as settings_mod
from junkai.actions import Context, allow

if TYPE_CHECKING:  # pandas costs a second at start-up; only the hints name it here
    import pandas as pd


def safe_url(url: str) -> str:
    from junkai.store import display_url

    return display_url(url)


def init(ctx: Context) -> str:
    """Create the store or bring it up to date (open the context with ready=False); returns its URL
    without a password."""
    allow(ctx, "setup")
    ctx.store.migrate()
    url = safe_url(ctx.settings.db_url)
    with ctx.store.transaction():
        ctx.store.audit(ctx.operator, "init", "store", None, url=url)
    return url


@dataclass
class Seeded:
    result: object  # junkai.seed's counts
    users: list[tuple[str, dict]]  # (name, grant) of the demo users made


def seed(ctx: Context, premises: int, stations: int, seed: int, until: date, users: bool = False,
         on_premises: Callable[[int, int], None] | None = None) -> Seeded:
    """Fictitious stations, premises and history for a demonstration (open the context with migrate=True).
    `on_premises(done, total)` follows the premises made."""
    from junkai.seed import demo_users, seed as run_seed

    allow(ctx, "setup")
    s = ctx.settings
    with ctx.store.transaction():
        result = run_seed(ctx.store, premises, stations, seed, until, ctx.operator, s.default_frequency_months,
                          (s.night_start, s.night_end), on_premises)
        made = demo_users(ctx.store, ctx.operator, datetime.now().replace(microsecond=0),
                          ctx.store.os_account) if users else []
    return Seeded(result, made)


def summary(ctx: Context) -> pd.DataFrame:
    """Counts per beat (no personal data: not audited)."""
    with ctx.store.transaction():
        return ctx.store.summary()


# --- users ---------------------------------------------------------------------------------------


def _users_table(ctx: Context) -> None:
    if not ctx.store.has_table("user_account"):
        raise JunkaiError("ストアが古い形です。先に `junkai init` を実行してください")


def add_user(ctx: Context, name: str, role: str, station: str | None = None, post: str | None = None,
             officer: str | None = None) -> dict:
    """Give a user a role within its scope; returns the grant. The first user must be an administrator:
    without one nobody could register the others."""
    name = name.strip()
    if not name:
        raise JunkaiError("利用者名が空です")
    access.new_grant_check(role, station, post, officer)
    _users_table(ctx)
    allow(ctx, "users")
    grant = dict(role=role, station_id=station, post_id=post, officer_id=officer)
    with ctx.store.transaction():
        if not ctx.store.has_users() and role != "admin":
            raise JunkaiError("最初の利用者は管理者 (--role admin) にしてください (管理者がいないと利用者を登録できません)")
        if any(all(u[k] == v for k, v in grant.items()) for u in ctx.store.users(name, active_only=True)):
            raise JunkaiError(f"{name} はすでに {access.describe_grant(grant)} です")
        # the first administrator acts through the OS account that registers them (the bootstrap)
        first = None if ctx.store.has_users() else ctx.store.os_account
        ctx.store.add_user(name, role, datetime.now().replace(microsecond=0), ctx.operator, station_id=station,
                           post_id=post, officer_id=officer, os_account=first)
        ctx.store.audit(ctx.operator, "user.add", "user", name, **grant, **({"os_account": first} if first else {}))
    return grant


def bind_user(ctx: Context, name: str, account: str) -> None:
    """Commands run by the OS account act as this user from now on; one user per OS account."""
    name, account = name.strip(), account.strip()
    if not account or any(c.isspace() for c in account):
        raise JunkaiError(f"OS アカウント名が正しくありません: {account!r}")
    _users_table(ctx)
    allow(ctx, "users")
    with ctx.store.transaction():
        if not ctx.store.users(name, active_only=True):
            raise JunkaiError(f"有効な利用者ではありません: {name}")
        other = ctx.store.bound_name(account)
        if other is not None and other != name:
            raise JunkaiError(f"OS アカウント {account} はすでに {other} に結び付いています (先に unbind してください)")
        before = ctx.store.binding(name)
        ctx.store.bind_user(name, account)
        ctx.store.audit(ctx.operator, "user.bind", "user", name, os_account=account, before=before)


def unbind_user(ctx: Context, name: str) -> str:
    """The OS account no longer acts as this user; the last bound administrator stays bound. Returns
    the account that was bound."""
    name = name.strip()
    _users_table(ctx)
    allow(ctx, "users")
    with ctx.store.transaction():
        account = ctx.store.binding(name)
        if account is None:
            raise JunkaiError(f"{name} は OS アカウントに結び付いていません")
        if ctx.store.bound_admins() == [name]:
            raise JunkaiError("最後の管理者の結び付きは外せません (先に別の管理者を結び付けてください)")
        ctx.store.bind_user(name, None)
        ctx.store.audit(ctx.operator, "user.unbind", "user", name, os_account=account)
    return account


def users(ctx: Context) -> list[dict]:
    """Every grant, the disabled ones too (with when and by whom)."""
    _users_table(ctx)
    allow(ctx, "users")
    with ctx.store.transaction():
        return ctx.store.users()


def disable_user(ctx: Context, name: str) -> int:
    """Disable every grant of a user (kept, with when and by whom); the last administrator stays."""
    _users_table(ctx)
    allow(ctx, "users")
    with ctx.store.transaction():
        if not ctx.store.users(name, active_only=True):
            raise JunkaiError(f"有効な利用者ではありません: {name}")
        admins = {u["name"] for u in ctx.store.users(active_only=True) if u["role"] == "admin"}
        if admins == {name}:
            raise JunkaiError("最後の管理者は無効にできません (先に別の管理者を登録してください)")
        n = ctx.store.disable_user(name, datetime.now().replace(microsecond=0), ctx.operator)
        ctx.store.audit(ctx.operator, "user.disable", "user", name, grants=n)
    return n


# --- the audit log ----------------------------------------------------------------------------------


def verify_audit(ctx: Context) -> int:
    """Check the audit log's hash chain; returns the rows checked, or raises at the first broken one."""
    allow(ctx, "audit")
    with ctx.store.transaction():
        n, problem = ctx.store.verify_audit()
    if problem:
        raise JunkaiError(f"監査ログが改ざんされています: {problem} ({n} 行目まで検査)")
    return n


def audit_events(ctx: Context, who: str | None = None, what: str | None = None,
                 since: date | None = None) -> list[dict]:
    allow(ctx, "audit")
    with ctx.store.transaction():
        return ctx.store.audit_events(who, what, datetime.combine(since, datetime.min.time()) if since else None)


# --- retention, backup and restore (個人情報保護法 第66条・第69条) ------------------------------------


def purge_output(ctx: Context, days: int | None = None, folders: list[Path] | None = None,
                 dry_run: bool = False):
    """Output files older than `days` (default [retention] output_days) in the folders given, else the
    output folder of the settings and ./output; counts only are audited."""
    from junkai import retention

    allow(ctx, "setup")
    n = days if days is not None else ctx.settings.output_days
    if n < 1:
        raise JunkaiError(f"--days は 1 以上です: {n}")
    folders = list(dict.fromkeys([*(folders or []),
                                  *([] if folders else [ctx.settings.output, Path("output").resolve()])]))
    return n, retention.purge_output(ctx.store, folders, n, ctx.operator, dry_run=dry_run)


def purge_ceased(ctx: Context, years: int | None = None, dry_run: bool = False):
    """Premises ceased longer than `years` (default [retention] ceased_years), with their files."""
    from junkai import retention

    allow(ctx, "setup")
    n = years if years is not None else ctx.settings.ceased_years
    if n < 1:
        raise JunkaiError(f"--years は 1 以上です: {n}")
    s = ctx.settings
    return n, retention.purge_ceased(ctx.store, s.home, n, ctx.operator, dry_run=dry_run, inbox_of=s.inbox_of)


def backup(ctx: Context, out_path: Path, on_files: Callable[[int, int], None] | None = None):
    from junkai import backup as backup_mod

    allow(ctx, "setup")
    return backup_mod.backup(ctx.settings, ctx.store, out_path, ctx.operator, on_files)


def backup_key(ctx: Context, identity_file: Path) -> str:
    """A new backup key: the secret half into `identity_file` (to keep apart), the rest into the data
    folder; returns the age recipient (public)."""
    from junkai import backup as backup_mod

    allow(ctx, "setup")
    keys = backup_mod.make_keys(ctx.settings.home, identity_file)
    with ctx.store.transaction():
        ctx.store.audit(ctx.operator, "backup.key", "store", None, recipient=keys.recipient)
    return keys.recipient


def restore(settings: settings_mod.Settings, account: str, backup_path: Path, identity_file: Path,
            on_read: Callable[[int, int], None] | None = None):
    """Into an empty data folder only. There is no store there yet, so the right is asked of the store
    being restored (or of the database restored first with pg_restore): the user bound there to the OS
    account running it must be its administrator; a refusal is audited in that store, and nothing is restored."""
    from junkai import backup as backup_mod

    from junkai import identity

    who = [account]  # the restored store's user bound to the OS account running the restore

    def check(store) -> None:
        who[0] = identity.operator(store, settings.home, account=account)
        allow(Context(settings, store, who[0]), "setup")

    def audit(store, detail: dict) -> None:
        store.audit(who[0], "restore", "store", None, **detail)

    return backup_mod.restore(backup_path, settings, identity_file, check, audit, on_read)
