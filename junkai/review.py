"""The review queue: values that did not pass on their own wait here for a person,
who sees the crop beside the guess. Every decision is validated again and audited."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from junkai import JunkaiError, model
from junkai.states import ReviewStatus
from junkai.store import Store

ACTIONS = ("accept", "correct", "reject")
REMOVE = "削除"
ROW_SEP = " / "  # a row as text: 氏名=山田 太郎 / フリガナ=ヤマダ タロウ / 続柄=子


def _context(item: dict) -> dict:
    context = {"field": item["field"].split(".")[-1], "label": item["label"]}
    for kind in (model.HOUSEHOLD, model.BUSINESS):
        try:
            spec = model.field_spec(kind, item["field"])
        except JunkaiError:
            continue
        if spec is not None:
            context["choices"] = spec.choices
            break
    return context


def _group_fields(field: str) -> dict:
    return model.GROUPS.get(field.split(".")[0], {})


def row_text(values: dict, field: str) -> str:
    """A new member's or contact's values as one line a person can correct (parse_row reads it back)."""
    specs = _group_fields(field)
    shown = [f"{specs[k].label if k in specs else k}={'・'.join(v) if isinstance(v, list) else v}"
             for k, v in values.items() if v not in (None, "", [])]
    return ROW_SEP.join(shown)


def parse_row(text: str, field: str) -> dict:
    """row_text read back: label (or field id) = value, parts apart by / (a later part wins)."""
    import json
    import re
    import unicodedata

    text = unicodedata.normalize("NFKC", str(text or "")).strip()
    if text.startswith("{"):
        return dict(json.loads(text))
    by_label = {}
    for k, spec in _group_fields(field).items():
        by_label[unicodedata.normalize("NFKC", spec.label)] = k
        by_label[k] = k
    out = {}
    for part in (p.strip() for p in re.split(r"\s*/\s*(?=[^/=]+=)|\n", text) if p.strip()):
        label, sep, value = part.partition("=")
        if not sep or label.strip() not in by_label:
            raise JunkaiError(f"「項目=値」を / で区切って入力してください (項目: {'、'.join(by_label)}): {part!r}")
        out[by_label[label.strip()]] = value.strip()
    return out


def check(store: Store, item: dict, value: Any, today: date) -> Any:
    """The value normalised, or JunkaiError saying why it cannot be taken."""
    if item["kind"] == "removal":
        # taking it removes the row (None at its path); keeping the row is a rejection
        if str(value if value is not None else "").strip() != REMOVE:
            raise JunkaiError(f"転出・削除を認めるなら「{REMOVE}」のまま採用し、残すなら却下してください")
        return None
    if item["kind"] == "row":
        row = value if isinstance(value, dict) else parse_row(value, item["field"])
        if not str(row.get("name") or "").strip():
            raise JunkaiError("新しい方の氏名を入力してください (氏名のない世帯員・連絡先は登録しません)")
        kind = store.premises(item["premises_id"])["kind"]
        return model.validate_changes(kind, [(item["field"], row)], today)[0][1]
    if item["kind"] == "premises":
        text = str(value if value is not None else "").strip()
        if text == "new":
            return text
        if not text.isdigit():
            raise JunkaiError(f"各戸 ID (数字)、または新しい各戸なら new を入力してください: {text!r}")
        store.premises(int(text))
        return int(text)
    from junkai.validate import validate_value

    result = validate_value(item["kind"], value, today, **_context(item))
    errors = [i.message for i in result.issues if i.severity == "error"]
    if errors:
        raise JunkaiError("この値は取り込めません: " + " / ".join(errors))
    if item["premises_id"] and item["topic"] not in ("identity", "opinion") and not item["field"].startswith("@"):
        # the value goes onto the card as it is (reconcile.apply_decided): it must be one its field takes
        kind = store.premises(item["premises_id"])["kind"]
        return model.validate_changes(kind, [(item["field"], result.value)], today)[0][1]
    return result.value


def decide(store: Store, item_id: int, action: str, operator: str, value: Any = None,
           reason: str | None = None, today: date | None = None, complaint: bool = False) -> dict:
    """Accept the guess, correct it, or reject the item; returns the decided item.

    A value taken reaches the card at once, in the same transaction; an opinion
    becomes a record, a complaint when the person says it is one (第4-5).
    """
    from junkai.reconcile import apply_decided, check_household_decision

    if action not in ACTIONS:
        raise JunkaiError(f"判断は {'/'.join(ACTIONS)} のいずれかです: {action!r}")
    today = today or date.today()
    with store.transaction():
        item = store.review_item(item_id)
        if action == "reject":
            if not (reason or "").strip():
                raise JunkaiError("却下の理由を入力してください")
            final, status = None, ReviewStatus.REJECTED
        else:
            final = check(store, item, item["guess"] if action == "accept" else value, today)
            check_household_decision(store, item, final)  # a household rule broken: stays in review
            # a "correction" that normalises to what was read is an acceptance of the reading
            try:
                read = check(store, item, item["guess"], today)
            except JunkaiError:
                read = None
            status = ReviewStatus.ACCEPTED if action == "accept" or (read is not None and final == read) \
                else ReviewStatus.CORRECTED
            if item["topic"] == "opinion":
                final = {"text": final, "complaint": bool(complaint)}
        store.decide_review(item_id, status, final, operator, datetime.now(), (reason or "").strip() or None)
        if status != ReviewStatus.REJECTED:
            apply_decided(store, operator, today)
        # the field, not its values: audit rows are kept for ever (the chain), values only as long
        # as the card's retention; the values stay in the review item and the card events
        store.audit(operator, f"review.{status}", "review_item", str(item_id), field=item["field"],
                    reason=reason)
        return store.review_item(item_id)


def progress(store: Store, scope: tuple[str, str] | None = None) -> dict[str, int]:
    with store.transaction():
        counts = store.review_counts(scope)
    return {"pending": counts.get(ReviewStatus.PENDING, 0),
            "done": sum(v for k, v in counts.items() if k != ReviewStatus.PENDING)}
