"""Who may do what: the one place that decides whether an operator may act on a target.

A user holds one or more grants, each a role with a scope (第7-2 names the custodian and
the handlers of the cards):

- custodian (管理責任者, 地域課長) and chief (署長): their station;
- handler (取扱責任者, 交番所長・駐在所長): their post;
- beat officer (受持警察官): the beats assigned to them today (effective-dated);
- hq (警察本部): figures and complaints of the whole prefecture, never a resident's record;
- admin (管理者): the store and the users, no personal data.

While no user is registered the store is in setup mode and every operator is allowed, so
that a new or older store keeps working until its administrator registers the first user.
A refusal is written to the audit log (action "refused") in its own transaction, so it
stays even though the command stops. The actions (junkai.actions) ask here before their own
transaction, whichever door calls them: a command, a Prefect flow or the review page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Iterable, Optional

from junkai import JunkaiError

ROLES = {
    "custodian": "管理責任者 (地域課長)",
    "handler": "取扱責任者 (交番所長・駐在所長)",
    "officer": "受持警察官",
    "chief": "署長",
    "hq": "警察本部",
    "admin": "管理者",
}
# what a grant of each role is bound to: a station, a post, an officer's beats, or nothing
ROLE_SCOPE = {"custodian": "station", "chief": "station", "handler": "post", "officer": "officer",
              "hq": None, "admin": None}
STATION_ROLES = ("custodian", "handler", "officer", "chief")

# action: (what it is, in the refusal message; roles that may do it)
ACTIONS: dict[str, tuple[str, frozenset[str]]] = {
    "card.read": ("カードの閲覧", frozenset({"custodian", "chief", "handler", "officer"})),
    "card.change": ("カードの補正・各戸と訪問の記録", frozenset({"custodian", "handler", "officer"})),
    "print": ("カードと訪問リストの印刷", frozenset({"custodian", "handler", "officer"})),
    "export": ("個人情報の書き出し", frozenset({"custodian", "chief", "handler", "officer"})),
    "review": ("確認作業", frozenset({"custodian"})),
    "batch": ("取込・夜間処理", frozenset({"custodian"})),
    "approve": ("夜間の巡回連絡の承認", frozenset({"custodian", "chief"})),
    "frequency": ("実施頻度の決定", frozenset({"chief"})),
    "campaign": ("重点巡回連絡の指示", frozenset({"chief"})),
    "report.chief": ("署長への報告", frozenset({"chief", "custodian"})),
    "report.hq": ("本部への報告", frozenset({"hq"})),
    "report.complaint": ("苦情の報告", frozenset({"hq", "chief", "custodian"})),
    "audit": ("監査ログの閲覧", frozenset({"admin", "hq", "chief", "custodian"})),
    "users": ("利用者の管理", frozenset({"admin"})),
    "setup": ("ストアの作成・更新", frozenset({"admin"})),
}
LEVELS = {"station": "警察署", "post": "交番・駐在所", "beat": "受持区", "premises": "各戸", "opinion": "苦情"}
SETUP_WARNING = ("注意: 利用者が登録されていないため、誰でもすべての操作ができます (準備中)。"
                 "junkai user add で管理者を登録してください")

Target = Optional[tuple[str, object]]  # (level, id), or None for the whole store


class Refused(JunkaiError):
    """The operator may not do this; the message says who, what and why."""


@dataclass(frozen=True)
class Allowed:
    setup: bool  # no user registered yet: allowed because nobody is


def describe_grant(user: dict) -> str:
    scope = user["station_id"] or user["post_id"] or user["officer_id"]
    return ROLES[user["role"]] + (f" {scope}" if scope else "")


def _target_text(target: Target) -> str:
    return "ストア全体" if target is None else f"{LEVELS[target[0]]} {target[1]}"


def _covers(store, user: dict, target: Target, today: date, memo: dict) -> bool:
    """Whether one grant's scope holds the target. Roles without a scope hold the prefecture.

    `memo` keeps lookups for one check: a visit import asks about thousands of premises."""
    kind = ROLE_SCOPE[user["role"]]
    if kind is None:
        return True
    if target is None:  # the whole store: only a station's grant, and only if it is the store's one station
        return kind == "station" and store.station_ids() == [user["station_id"]]
    if target not in memo:
        memo[target] = store.place(*target)
    place = memo[target]
    if kind == "station":
        return place["station"] == user["station_id"]
    if kind == "post":
        return place["post"] == user["post_id"]
    key = ("officer", user["officer_id"])
    if key not in memo:
        memo[key] = store.beats_of_officer(user["officer_id"], today)
    return place["beat"] is not None and place["beat"] in memo[key]


def check(store, operator: str, action: str, targets: Iterable[Target] = (None,),
          today: date | None = None) -> Allowed:
    """Allow the operator to do `action` on every target, or record the refusal and raise Refused.

    Call it outside the command's transaction: the refusal must be committed on its own.
    """
    if store._conn is not None:
        raise RuntimeError("access.check inside a transaction: the refusal would be rolled back")
    label, roles = ACTIONS[action]
    targets = list(targets) or [None]
    today = today or date.today()
    with store.transaction():
        if not store.has_users():
            return Allowed(setup=True)
        grants = store.users(operator)
        active = [g for g in grants if g["disabled_at"] is None]
        refusal = None
        if not grants:
            refusal = (None, "利用者として登録されていません (管理者が junkai user add で登録します)")
        elif not active:
            last = max(grants, key=lambda g: g["disabled_at"])
            refusal = (None, f"{last['disabled_at']:%Y-%m-%d %H:%M} に {last['disabled_by']} が無効にした利用者です")
        else:
            able = [g for g in active if g["role"] in roles]
            if not able:
                held = "・".join(sorted({ROLES[g["role"]] for g in active}))
                refusal = (None, f"{held}には{label}の権限がありません")
            else:
                memo: dict = {}
                for target in targets:
                    if not any(_covers(store, g, target, today, memo) for g in able):
                        held = "、".join(describe_grant(g) for g in able)
                        refusal = (target, f"担当 ({held}) の範囲外です")
                        break
        if refusal is None:
            return Allowed(setup=False)
        target, why = refusal
        target = target if target is not None else (targets[0] if len(targets) == 1 else None)
        store.audit(operator, "refused", target[0] if target else "store", str(target[1]) if target else None,
                    attempted=action, reason=why)
    raise Refused(f"{operator} は {_target_text(target)} の{label}を行えません: {why}")


def covers(store, operator: str, action: str, target: Target, today: date | None = None) -> bool:
    """Whether `check` would allow the action on the target, recording nothing (inside the caller's
    transaction): to offer only what the operator may choose. The choice itself is still checked."""
    if not store.has_users():
        return True
    _, roles = ACTIONS[action]
    able = [g for g in store.users(operator) if g["disabled_at"] is None and g["role"] in roles]
    memo: dict = {}
    try:
        return any(_covers(store, g, target, today or date.today(), memo) for g in able)
    except JunkaiError:  # a target no longer in the store
        return False


def new_grant_check(role: str, station: str | None, post: str | None, officer: str | None) -> None:
    """A grant names exactly the scope its role needs: --station, --post, --officer or none."""
    if role not in ROLES:
        raise JunkaiError(f"役割は {' / '.join(ROLES)} のどれかです: {role!r}")
    given = {k: v for k, v in (("station", station), ("post", post), ("officer", officer)) if v}
    need = ROLE_SCOPE[role]
    if need is None and given:
        raise JunkaiError(f"{ROLES[role]} ({role}) は範囲を持ちません (--station・--post・--officer は不要です)")
    if need is not None and list(given) != [need]:
        raise JunkaiError(f"{ROLES[role]} ({role}) には --{need} だけを指定してください")
