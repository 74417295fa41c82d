"""The domain: what a 巡回連絡カード holds, and how a card is rebuilt from its events.

A card is plain data (a dict). It never changes in place: every change is an event
(path, before, after), and the card is what the events add up to. Paths are dotted:
"home_phone", "members.3.mobile", or "members.3" for a whole member (added or
removed). Member and contact keys are never reused, so an old event always names
the same person.
"""

from __future__ import annotations

import copy
import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from typing import Any, Iterable

from junkai import JunkaiError

HOUSEHOLD = "household"
BUSINESS = "business"
PREMISES_KINDS = {HOUSEHOLD: "世帯", BUSINESS: "事業所"}
# A building of flats: its own card (owner, manager, entry), linked to its rooms' premises by address.
APARTMENT = "apartment"
PREMISES_KINDS[APARTMENT] = "集合住宅"
AUTOLOCK = ("あり", "なし")

ACTIVE = "active"
CEASED = "ceased"
PREMISES_STATUSES = {ACTIVE: "現存", CEASED: "転出・廃業"}

# Closed choices are printed as tick boxes, so each list is also a form's box order.
RELATIONS = ("世帯主", "本人", "配偶者", "子", "子の配偶者", "父母", "祖父母", "孫", "兄弟姉妹", "同居人", "その他")
SEXES = ("男", "女", "回答しない")
# 要配慮者 (voluntary): who may need help in a disaster; counted in reports, never named
SUPPORT = ("ひとり暮らし", "75歳以上の方のみの世帯", "介護・障がいなどで手助けが必要な方がいる", "災害時に安否確認の連絡を希望")
DWELLINGS = ("一戸建", "集合住宅", "寮・社宅", "その他")
VISIT_DAYS = ("平日", "土曜", "日曜・祝日")
VISIT_TIMES = ("午前", "午後", "夕方", "夜間")
SECURITY = ("防犯カメラ", "警報装置", "非常通報装置", "補助錠・防犯ガラス", "金庫", "その他")
# Languages a card is printed in (junkai/form/lang): kept on the card as the residents' preference.
LANGUAGES = ("ja", "en", "zh", "ko")

# 巡回連絡簿 outcomes an officer records; a visit "met" the residents when one of MET_OUTCOMES.
OUTCOMES = ("面接", "不在", "拒否", "カード作成", "カード補正")
MET_OUTCOMES = ("面接", "カード作成", "カード補正")
# A card that came back (mailed or left in the box) and was scanned: it confirms the card, but nobody
# met the residents, so it is no contact: coverage, 長期不実施 and an officer's figures leave it out.
RETURNED = "返送"

# 第6-4 (1)-(5): 指導連絡及び情報提供.
GUIDANCE = {
    1: "犯罪等の傾向と被害防止",
    2: "身近な犯罪等の発生状況と被害防止",
    3: "発生時の応急措置と緊急連絡方法",
    4: "警察への諸届の手続",
    5: "その他安全で平穏な生活の確保",
}

# Special event paths: not card fields but facts about the card or premises.
CONFIRM = "@confirm"  # residents confirmed the card unchanged (変更なし)
STATUS = "@status"  # premises moved out / closed, or back
ADDRESS = "@address"  # the premises' address corrected (the same place, written wrongly before)
MOVED_TO = "@moved_to"  # the residents moved: the premises they moved to (on the one that ceased)
MOVED_FROM = "@moved_from"  # ... and the premises they came from (on the new one)
ADDRESS_PARTS = ("postal_code", "prefecture", "city", "town", "block", "building", "room")


@dataclass(frozen=True)
class Field:
    id: str
    label: str
    kind: str  # text | kana | phone | date | choice | choices | int
    choices: tuple[str, ...] = ()


def _fields(*items: Field) -> dict[str, Field]:
    return {f.id: f for f in items}


MEMBER_FIELDS = _fields(
    Field("name", "氏名", "text"),
    Field("kana", "フリガナ", "kana"),
    Field("relation", "続柄", "choice", RELATIONS),
    Field("sex", "性別", "choice", SEXES),
    Field("birth_date", "生年月日", "date"),
    Field("occupation", "職業・勤務先・学校", "text"),
    Field("mobile", "携帯電話", "phone"),
    Field("work_phone", "勤務先・学校の電話", "phone"),
)
CONTACT_FIELDS = _fields(
    Field("name", "氏名", "text"),
    Field("relation", "関係", "text"),
    Field("address", "住所", "text"),
    Field("phone", "電話", "phone"),
)
HOUSEHOLD_FIELDS = _fields(
    Field("home_phone", "自宅電話", "phone"),
    Field("dwelling", "住居の種類", "choice", DWELLINGS),
    Field("visit_days", "訪問希望曜日", "choices", VISIT_DAYS),
    Field("visit_times", "訪問希望時間帯", "choices", VISIT_TIMES),
    Field("support", "災害時などの手助け（任意）", "choices", SUPPORT),
    Field("notes", "備考", "text"),
    Field("language", "カードの言語", "choice", LANGUAGES),
)
BUSINESS_FIELDS = _fields(
    Field("business_name", "事業所名", "text"),
    Field("business_kana", "フリガナ", "kana"),
    Field("industry", "業種", "text"),
    Field("representative", "代表者", "text"),
    Field("manager", "責任者", "text"),
    Field("manager_phone", "責任者電話", "phone"),
    Field("employees", "従業員数", "int"),
    Field("business_hours", "営業時間", "text"),
    Field("closed_days", "休業日", "text"),
    Field("business_phone", "事業所電話", "phone"),
    Field("security", "防犯設備", "choices", SECURITY),
    Field("notes", "備考", "text"),
    Field("language", "カードの言語", "choice", LANGUAGES),
)
APARTMENT_FIELDS = _fields(
    Field("building_name", "建物名", "text"),
    Field("building_kana", "フリガナ", "kana"),
    Field("owner", "所有者（氏名・名称）", "text"),
    Field("owner_phone", "所有者電話", "phone"),
    Field("manager", "管理人・管理会社", "text"),
    Field("manager_phone", "管理人・管理会社電話", "phone"),
    Field("units", "戸数", "int"),
    Field("autolock", "オートロック", "choice", AUTOLOCK),
    Field("entry", "入館の方法", "text"),
    Field("manager_hours", "管理人の勤務時間", "text"),
    Field("notes", "備考", "text"),
)
# Groups of repeated rows: which kinds of card have them, and their fields.
GROUPS = {"members": MEMBER_FIELDS, "contacts": CONTACT_FIELDS}
KIND_GROUPS = {HOUSEHOLD: ("members", "contacts"), BUSINESS: ("contacts",)}
KIND_FIELDS = {HOUSEHOLD: HOUSEHOLD_FIELDS, BUSINESS: BUSINESS_FIELDS}
KIND_GROUPS[APARTMENT] = ("contacts",)
KIND_FIELDS[APARTMENT] = APARTMENT_FIELDS


def empty_card(kind: str) -> dict[str, Any]:
    card: dict[str, Any] = {g: {} for g in KIND_GROUPS[kind]}
    return card


# --- events -----------------------------------------------------------------


def get_path(card: dict, path: str) -> Any:
    node: Any = card
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return copy.deepcopy(node)


def apply(card: dict, path: str, value: Any) -> None:
    """Set (or, with None, remove) the value at a dotted path, in place."""
    if path.startswith("@"):
        return
    parts = path.split(".")
    node = card
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    if value is None or value == [] or value == "":
        node.pop(parts[-1], None)
    else:
        node[parts[-1]] = copy.deepcopy(value)


def rebuild(kind: str, events: Iterable[tuple[str, Any]]) -> dict:
    """The card that a sequence of (path, after) events adds up to."""
    card = empty_card(kind)
    for path, after in events:
        apply(card, path, after)
    return card


def diff(before: dict, after: dict, prefix: str = "") -> list[tuple[str, Any, Any]]:
    """Leaf changes turning `before` into `after`; whole rows when added or removed."""
    changes: list[tuple[str, Any, Any]] = []
    for key in sorted(set(before) | set(after), key=_natural):
        path = f"{prefix}{key}"
        b, a = before.get(key), after.get(key)
        if isinstance(b, dict) and isinstance(a, dict) and prefix.count(".") < 2:
            changes.extend(diff(b, a, path + "."))
        elif b != a:
            changes.append((path, copy.deepcopy(b), copy.deepcopy(a)))
    return changes


def _natural(key: str) -> tuple:
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", key))


def next_key(group: dict) -> str:
    return str(max((int(k) for k in group), default=0) + 1)


# --- validation of values an operator or a seed gives -------------------------

POSTAL_RE = re.compile(r"^\d{3}-?\d{4}$")


def normalize_postal_code(value: str) -> str:
    text = unicodedata.normalize("NFKC", value or "").strip().replace("〒", "")
    if not POSTAL_RE.match(text):
        raise JunkaiError(f"郵便番号の形式が正しくありません (7桁の数字): {value!r}")
    return text.replace("-", "")


def validate_field(kind: str, path: str, value: Any, today: date) -> Any:
    """Check one value for a card path; returns it normalised, or raises JunkaiError.

    The rules are those scanned values go through (junkai.validate); warnings pass
    here, because an operator typing a value has seen it.
    """
    spec = field_spec(kind, path)
    if value is None:
        return None
    if spec is None:
        # a whole row: validate each of its fields
        if not isinstance(value, dict):
            raise JunkaiError(f"{path} には項目の組を指定してください: {value!r}")
        return {k: validate_field(kind, f"{path}.{k}", v, today) for k, v in value.items() if v not in (None, "")}
    from junkai.validate import validate_value

    if spec.kind == "choices" and isinstance(value, str):
        value = [v for v in value.split(",") if v]
    result = validate_value(spec.kind, value, today, field=spec.id, label=spec.label, choices=spec.choices)
    errors = [i.message for i in result.issues if i.severity == "error"]
    if errors:
        raise JunkaiError(" / ".join(errors))
    return result.value


def validate_changes(kind: str, changes: Iterable[tuple[str, Any]], today: date) -> list[tuple[str, Any]]:
    """The (path, value) changes to a card of `kind`, each value checked and normalised by validate_field;
    JunkaiError at the first one that cannot be taken. The store records what it is given: validate first."""
    return [(path, validate_field(kind, path, value, today)) for path, value in changes]


def field_spec(kind: str, path: str) -> Field | None:
    """The field a path names; None for a whole row; JunkaiError for an unknown path."""
    parts = path.split(".")
    if len(parts) == 1 and parts[0] in KIND_FIELDS[kind]:
        return KIND_FIELDS[kind][parts[0]]
    if parts[0] in KIND_GROUPS[kind] and len(parts) in (2, 3) and parts[1].isdigit():
        if len(parts) == 2:
            return None
        if parts[2] in GROUPS[parts[0]]:
            return GROUPS[parts[0]][parts[2]]
    raise JunkaiError(f"{PREMISES_KINDS[kind]}カードにない項目です: {path}")


SPECIAL_LABELS = {ADDRESS: "所在地 (訂正)", MOVED_TO: "転居先の各戸", MOVED_FROM: "転居元の各戸"}


def address_line(p: dict) -> str:
    """A premises' address as one line, with its postal code: 〒030-0801 青森県青森市新町1-2-3 ビル 101."""
    code = str(p.get("postal_code") or "")
    rest = " ".join(x for x in (p.get("building"), p.get("room")) if x)
    line = f"{p.get('prefecture') or ''}{p.get('city') or ''}{p.get('town') or ''}{p.get('block') or ''}"
    return f"〒{code[:3]}-{code[3:]} {line}" + (f" {rest}" if rest else "")


def label_of(kind: str, path: str) -> str:
    if path == CONFIRM:
        return "確認 (変更なし)"
    if path == STATUS:
        return "状態"
    if path in SPECIAL_LABELS:
        return SPECIAL_LABELS[path]
    parts = path.split(".")
    try:
        spec = field_spec(kind, path)
    except JunkaiError:
        return path
    group = {"members": "世帯員", "contacts": "緊急連絡先"}
    if spec is None:
        return f"{group[parts[0]]}{parts[1]}"
    if len(parts) == 3:
        return f"{group[parts[0]]}{parts[1]} {spec.label}"
    return spec.label
