"""Evidence from outside a field: a page's readings weighed against the name dictionary, the
card's word lists, postal data, the phone numbering plan, the calendar and each other.

`weigh(reading)` changes the FieldReadings of a page in place, once, after every field
is read. Each piece of evidence moves a confidence by a fixed rule, so the move is small,
the same for every field, and keeps the order of confidences (monotone), which lets the
thresholds of junkai.toml be calibrated on top of it as before:

- support: c -> c + SUPPORT * (1 - c), half the way to 1 (0.6 -> 0.8, 0.9 -> 0.95). Two
  fields read apart that agree under an outside source are unlikely to be misread the same
  way, yet neither becomes certain, and a reading below 0.6 stays below 0.8, the lowest
  threshold junkai.toml allows.
  * a member's 氏名 and フリガナ that the dictionary confirms part by part (both the family
    and the given name are names read that way), both raised; only when each field's value is
    every engine's best reading of it (engines that disagree are doubt, not support).
  * a postal code whose town is where the written address lies: the code is raised (not
    the address: its town agreeing says nothing of the block and building after it).
- doubt: c -> c * DOUBT, at most 0.5, below every threshold: the value waits for a person
  with the reason shown, yet a better reading stays above a worse one for calibration.
  * 氏名 and フリガナ that the dictionary contradicts (a part known as a name is never read
    so) or cannot explain (a part it does not know, whose characters do not read so either):
    both, since either may be the misread one; a フリガナ off only in small kana (キヨウコ for
    キョウコ): the フリガナ alone. NAME_READING_MISMATCH. A real name the dictionary lacks
    or reads otherwise (陽翔 ハルト, 清藤 セイトウ) is doubted too: it costs a review, never a
    wrong value. A part outside the dictionary that its characters do read so is no evidence.
  * a postal code that does not exist (POSTAL_UNKNOWN); an address outside the code's town:
    both, a near miss (a character off): the address alone (POSTAL_ADDRESS_MISMATCH).
  * a phone number that is not a Japanese number in use (PHONE_INVALID).
  * a date that does not exist: 2月30日, 昭和70年, 令和元年4月 (DATE_IMPOSSIBLE).
- choice: when the recogniser's first candidate fits nothing and a later one fits (a name
  confirmed by its フリガナ, a known name, a word of the card's lists, an address in the
  code's town), the later one becomes the value, with its own confidence and the reason
  LEXICON_CHOICE, so a person confirms it; it is not raised.

Each move is written to the field's detail["evidence"] (rule, before, after).
"""

from __future__ import annotations

import unicodedata
from typing import Callable

from junkai import validate as V
from junkai import wareki
from junkai.readings import FieldKind, FieldReading, PageReading, Reason
from ocr import lexicon as L

SUPPORT = 0.5
DOUBT = 0.5
CHOICES = 3  # candidates looked at per field, best first

PHONES = ("mobile", "home_phone", "phone", "manager_phone")  # last part of the field ids
PERSON_NAMES = ("name", "representative", "manager")


def weigh(reading: PageReading) -> None:
    """Adjust the page's field confidences, reasons and values in place with the evidence
    above. A page already weighed is left as it is."""
    if any(f.detail and "evidence" in f.detail for f in reading.fields):
        return
    fields = {f.id: f for f in reading.fields}
    for f in reading.fields:
        last = f.id.split(".")[-1]
        if f.id.startswith("members.") and last == "name" and f"{f.id[:-4]}kana" in fields:
            _name_and_kana(f, fields[f"{f.id[:-4]}kana"])
        elif f.kind == FieldKind.TEXT and last in PERSON_NAMES:
            _choose(f, L.is_known_name)
        elif f.id.startswith("contacts.") and last == "relation":
            _choose(f, lambda t: L.in_vocabulary(t, L.CONTACT_RELATIONS))
        elif last == "occupation":
            _choose(f, lambda t: L.in_vocabulary(t, L.OCCUPATIONS))
        elif f.kind == FieldKind.DIGITS and last in PHONES:
            _phone(f)
        elif f.kind == FieldKind.DATE:
            _date(f)
    if "postal_code" in fields:
        _postal(fields["postal_code"], fields.get("address"))


# --- moving a confidence ---------------------------------------------------------------


def _log(f: FieldReading, rule: str, before: float) -> None:
    f.detail = dict(f.detail or {})
    f.detail.setdefault("evidence", []).append(dict(rule=rule, before=before, after=f.confidence))


def _support(f: FieldReading, rule: str) -> None:
    before = f.confidence
    f.confidence = round(before + SUPPORT * (1.0 - before), 3)
    _log(f, rule, before)


def _doubt(f: FieldReading, reason: Reason) -> None:
    before = f.confidence
    f.confidence = round(before * DOUBT, 3)
    if reason not in f.reasons:
        f.reasons.append(reason)
    _log(f, str(reason), before)


# --- candidates ------------------------------------------------------------------------------


def _same(a: object, b: object) -> bool:
    def norm(x: object) -> str:
        return " ".join(unicodedata.normalize("NFKC", str(x or "")).split())
    return norm(a) == norm(b)


def _readings(f: FieldReading) -> list[tuple[str, float]]:
    """(text, confidence) the field may be: its value first, then other candidates, distinct."""
    out = [(str(f.value), f.confidence)]
    for c in f.candidates:
        if len(out) >= CHOICES:
            break
        if c.text and not any(_same(c.text, t) for t, _ in out):
            out.append((c.text, c.confidence))
    return out


def _take(f: FieldReading, text: str, confidence: float, rule: str) -> None:
    """A later candidate becomes the value, first among the candidates, for a person to confirm."""
    before = f.confidence
    f.value, f.confidence = text, round(confidence, 3)
    f.candidates = sorted(f.candidates, key=lambda c: not _same(c.text, text))
    if Reason.LEXICON_CHOICE not in f.reasons:
        f.reasons.append(Reason.LEXICON_CHOICE)
    _log(f, rule, before)


def _engines_agree(f: FieldReading) -> bool:
    """Every engine's best candidate is the value (a field without candidates: its value alone)."""
    best: dict[str, str] = {}
    for c in f.candidates:
        best.setdefault(c.engine, c.text)
    return all(_same(t, f.value) for t in best.values())


def _filled(f: FieldReading | None) -> bool:
    return f is not None and f.value not in (None, "", [], {})


def _choose(f: FieldReading, fits: Callable[[str], bool]) -> None:
    if not _filled(f) or not f.candidates:
        return
    options = _readings(f)
    if fits(options[0][0]):
        return
    for text, conf in options[1:]:
        if fits(text):
            _take(f, text, conf, "choice")
            return


# --- names ----------------------------------------------------------------------------------


def _name_and_kana(name: FieldReading, kana: FieldReading) -> None:
    if not (_filled(name) and _filled(kana)):
        return
    fit = L.name_fits(name.value, kana.value)
    if fit != L.CONFIRMED and (name.candidates or kana.candidates):
        names, kanas = _readings(name), _readings(kana)
        pairs = sorted(((i, j) for i in range(len(names)) for j in range(len(kanas)) if i or j), key=sum)
        for i, j in pairs:
            if L.name_fits(names[i][0], kanas[j][0]) == L.CONFIRMED:
                if i:
                    _take(name, *names[i], "name_reading_choice")
                if j:
                    _take(kana, *kanas[j], "name_reading_choice")
                return
    if fit == L.CONFIRMED:
        if _engines_agree(name) and _engines_agree(kana):
            _support(name, "name_reading")
            _support(kana, "name_reading")
    elif fit in (L.MISMATCH, L.UNEXPLAINED):
        _doubt(name, Reason.NAME_READING_MISMATCH)
        _doubt(kana, Reason.NAME_READING_MISMATCH)
    elif fit == L.LOOSE:
        _doubt(kana, Reason.NAME_READING_MISMATCH)


# --- postal code and address ---------------------------------------------------------------------


def _postal(code: FieldReading, address: FieldReading | None) -> None:
    digits = "".join(ch for ch in str(code.value or "") if ch.isdigit())
    if len(digits) != 7:
        return  # a code not fully read is the digit reader's doubt already
    if not L.towns(digits):
        _doubt(code, Reason.POSTAL_UNKNOWN)
        return
    if not _filled(address):
        return
    fit = L.address_fits(digits, address.value)
    if fit != 1.0 and address.candidates:
        for text, conf in _readings(address)[1:]:
            if L.address_fits(digits, text) == 1.0:
                _take(address, text, conf, "choice")
                fit = None  # the choice waits for a person: neither field is moved
                break
    if fit == 1.0:
        _support(code, "postal_address")
    elif fit == 0.5:
        _doubt(address, Reason.POSTAL_ADDRESS_MISMATCH)
    elif fit == 0.0:
        _doubt(code, Reason.POSTAL_ADDRESS_MISMATCH)
        _doubt(address, Reason.POSTAL_ADDRESS_MISMATCH)


# --- phone numbers and dates --------------------------------------------------------------------


def _phone(f: FieldReading) -> None:
    if _filled(f) and V.normalize_phone(f.value).value is None:
        _doubt(f, Reason.PHONE_INVALID)


def _date(f: FieldReading) -> None:
    v = f.value
    if not isinstance(v, dict) or v.get("era") not in wareki.ERA_SPANS:
        return
    try:
        year, month, day = (int(v[k]) for k in ("year", "month", "day"))
    except (KeyError, TypeError, ValueError):
        return  # a part not read is the digit reader's doubt already (DATE_INCOMPLETE)
    d = wareki.from_wareki(v["era"], year, month, day)
    first, last = wareki.ERA_SPANS[v["era"]]
    if d is None or d < first or (last is not None and d > last):
        _doubt(f, Reason.DATE_IMPOSSIBLE)
