"""The review queue, for the command line and the review page alike: list, show, decide (accept,
correct, reject). Each item is checked against the operator's scope: its premises, or the beat
of the blank card it was read from. An identity item (which premises a card is) offers only the
premises within the operator's scope, and an answer naming a premises outside it is refused."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from junkai import access
from junkai.actions import Context, allow
from junkai.states import ReviewStatus
from junkai.store import scope_text

Scope = tuple[str, str] | None


def items(ctx: Context, everything: bool = False, scope: Scope = None) -> list[dict]:
    """The pending items (or all, `everything`) of the store or of a beat, post or station."""
    allow(ctx, "review", scope)
    with ctx.store.transaction():
        found = [offered(ctx, i) for i in
                 ctx.store.review_items(None if everything else (ReviewStatus.PENDING,), scope=scope)]
        ctx.store.audit(ctx.operator, "review.list", "review_item", None, count=len(found), scope=scope_text(scope))
    return found


def may_review_queue(ctx: Context, scope: Scope = None) -> None:
    """Refused (audited) unless the operator may review the queue of the scope (the review page's)."""
    allow(ctx, "review", scope)


def queue(ctx: Context, scope: Scope = None) -> None:
    """The queue's own page was shown (no item: its counts only); refused or audited as a page view."""
    allow(ctx, "review", scope)
    with ctx.store.transaction():
        ctx.store.audit(ctx.operator, "review.page", "review_item", None, scope=scope_text(scope))


def may_review(ctx: Context, item_id: int) -> None:
    """Refused (audited) unless the operator may review this item."""
    with ctx.store.transaction():
        target = ctx.store.review_target(ctx.store.review_item(item_id))
    allow(ctx, "review", target)


def show(ctx: Context, item_id: int) -> dict:
    """One item, with the address of its premises (None for a blank card's)."""
    may_review(ctx, item_id)
    with ctx.store.transaction():
        item = offered(ctx, with_address(ctx.store, ctx.store.review_item(item_id)))
        ctx.store.audit(ctx.operator, "review.show", "review_item", str(item_id))
    return item


def address_of(store, premises_id: int) -> str:
    p = store.premises(premises_id)
    return f"{p['city']}{p['town']}{p['block']} {p['building'] or ''} {p['room'] or ''}".strip()


def with_address(store, item: dict) -> dict:
    """The item with the address of its premises (None for a blank card's), for the person deciding."""
    item = dict(item, address=None)
    with store.transaction():
        if item["premises_id"]:
            item["address"] = address_of(store, item["premises_id"])
    return item


def chosen_premises(item: dict, value: Any) -> int | None:
    """The premises id an answer to an identity item names (None: not one, or "new")."""
    text = str(value if value is not None else "").strip()
    return int(text) if item["kind"] == "premises" and text.isdigit() else None


def offered(ctx: Context, item: dict) -> dict:
    """An identity item as the operator may answer it (inside a transaction): the candidates within their
    scope only, the guess only if it is one of those (or "new"), and the guessed premises' address."""
    if item["kind"] != "premises":
        return item
    may = lambda pid: access.covers(ctx.store, ctx.operator, "review", ("premises", pid))  # noqa: E731
    item = dict(item, candidates=[c for c in item["candidates"] or [] if may(c["premises_id"])],
                chosen=None, chosen_address=None)
    guess = chosen_premises(item, item["guess"])
    if guess is not None:
        if may(guess):
            item["chosen"], item["chosen_address"] = guess, address_of(ctx.store, guess)
        else:
            item["guess"] = None
    return item


def choose(ctx: Context, item_id: int, value: Any = None, accept: bool = False) -> dict | None:
    """For an answer to an identity item naming a premises (`value`, or the guess when `accept`): the item
    with that premises and its address, to show before it is applied; refused (audited) when the premises
    is outside the operator's scope. None for any other answer."""
    may_review(ctx, item_id)
    with ctx.store.transaction():
        item = ctx.store.review_item(item_id)
    pid = chosen_premises(item, item["guess"] if accept else value)
    if pid is None:
        return None
    allow(ctx, "review", ("premises", pid))
    with ctx.store.transaction():
        return dict(offered(ctx, with_address(ctx.store, item)), chosen=pid, chosen_address=address_of(ctx.store, pid))


def decide(ctx: Context, item_id: int, action: str, value: Any = None, reason: str | None = None,
           complaint: bool = False, how: str | None = None) -> dict:
    """accept, correct (with `value`) or reject (with `reason`); the value taken reaches the card at once.
    An address change is accepted or corrected only as a move or a correction (`how`: move | correction).
    Returns the decided item (audited by junkai.review.decide, in its transaction); after a move, with
    the new premises (`moved_to`) and its address."""
    from junkai.review import MOVE, decide as run

    chosen = None
    if action != "reject":
        chosen = choose(ctx, item_id, value, accept=action == "accept")
    else:
        may_review(ctx, item_id)
    decided = run(ctx.store, item_id, action, ctx.operator, value=value, reason=reason, complaint=complaint,
                  how=how)
    if how == MOVE and decided["premises_id"]:
        with ctx.store.transaction():
            new = ctx.store.moved_to(decided["premises_id"])
            decided = dict(decided, moved_to=new, moved_address=address_of(ctx.store, new) if new else None)
    if chosen is not None:  # the identity answered: the premises the card now belongs to, with its address
        decided = dict(decided, chosen=chosen["chosen"], chosen_address=chosen["chosen_address"])
    return decided


def crop(ctx: Context, item_id: int) -> Path | None:
    """The image of an item's field, if it lies inside the data folder and the operator may review
    the item. Audited: an image of a resident's handwriting is personal data of its own."""
    may_review(ctx, item_id)
    with ctx.store.transaction():
        item = ctx.store.review_item(item_id)
        ctx.store.audit(ctx.operator, "review.crop", "review_item", str(item_id))
    path = Path(item["crop"] or "").resolve()
    home = ctx.settings.home.resolve()
    if not item["crop"] or home not in path.parents or not path.is_file():
        return None
    return path


def next_pending(ctx: Context, after: int, scope: Scope = None) -> int | None:
    """The id of the next pending item after `after`, round to the start (an id only: not audited)."""
    with ctx.store.transaction():
        found = (ctx.store.review_items((ReviewStatus.PENDING,), after=after, limit=1, scope=scope)
                 or ctx.store.review_items((ReviewStatus.PENDING,), limit=1, scope=scope))
    return found[0]["id"] if found else None


def progress(ctx: Context, scope: Scope = None) -> dict[str, int]:
    """Pending and decided counts."""
    from junkai.review import progress as counts

    return counts(ctx.store, scope)


def card(ctx: Context, item_id: int) -> dict:
    """The scanned card an item was read from, for the review page: its values waiting as one form
    (`values`), the items decided by an explicit choice of their own (`structural`), and those decided
    already. Refused (audited) unless the operator may review it; the view is audited once, as a view of
    the item asked for naming the card's items."""
    from junkai.review import card_key, structural

    may_review(ctx, item_id)
    with ctx.store.transaction():
        first = ctx.store.review_item(item_id)
        found = [offered(ctx, with_address(ctx.store, i)) for i in ctx.store.card_items(*card_key(first))]
        ctx.store.audit(ctx.operator, "review.show", "review_item", str(item_id),
                        items=[i["id"] for i in found])
    pending = [i for i in found if i["status"] == "pending"]
    return dict(first=first, address=found[0]["address"] if found else None,
                values=[i for i in pending if not structural(i)],
                structural=[i for i in pending if structural(i)],
                decided=[i for i in found if i["status"] != "pending"])


def undo(ctx: Context, item_id: int) -> dict:
    """Take back a decision (junkai.review.undo): the same access check as deciding it, audited."""
    from junkai.review import undo as run

    may_review(ctx, item_id)
    return run(ctx.store, item_id, ctx.operator)


def last_card(ctx: Context, since: datetime) -> list[dict]:
    """The operator's own decisions on the card they decided last (since `since`), not yet undone
    (junkai.review.last_card): what the review page offers to take back. Their own decisions only: not
    audited as a view."""
    from junkai.review import last_card as mine

    return mine(ctx.store, ctx.operator, since)
