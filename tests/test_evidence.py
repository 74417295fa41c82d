"""Cross-field evidence (ocr.evidence) on hand-made page readings: what each piece of
evidence does to the confidences, reasons and values of the fields it concerns."""

from __future__ import annotations

import pytest

from junkai.readings import READ_REASONS, Candidate, FieldKind, FieldReading, PageReading, PageStatus, Reason
from ocr import evidence as E

ACCEPT = 0.8  # the lowest auto-accept threshold junkai.toml allows


def text(fid: str, value, conf: float, *others: tuple[str, float], kind=FieldKind.TEXT, engine="tesseract"):
    cands = [Candidate(value, conf, engine)] + [Candidate(t, c, engine) for t, c in others] if value else []
    return FieldReading(fid, kind, fid.split(".")[0], None, value, conf, ink=bool(value), candidates=cands)


def digits(fid: str, value: str, conf: float = 0.95):
    return FieldReading(fid, FieldKind.DIGITS, "address", None, value, conf, ink=True)


def date(fid: str, era: str, y: str, m: str, d: str, conf: float = 0.95):
    return FieldReading(fid, FieldKind.DATE, "members", None, dict(era=era, year=y, month=m, day=d), conf, ink=True)


def page(*fields: FieldReading) -> PageReading:
    return PageReading("scan.pdf", 1, PageStatus.OK, fields=list(fields))


def weighed(*fields: FieldReading) -> PageReading:
    p = page(*fields)
    E.weigh(p)
    return p


def member(name, kana, name_conf=0.7, kana_conf=0.6, row=1):
    return (text(f"members.{row}.name", name, name_conf), text(f"members.{row}.kana", kana, kana_conf, kind=FieldKind.KANA))


# --- 氏名 and フリガナ -------------------------------------------------------------------------


def test_a_name_and_kana_the_dictionary_confirms_support_each_other():
    p = weighed(*member("佐藤　正男", "サトウ　マサオ"))
    name, kana = p.field("members.1.name"), p.field("members.1.kana")
    assert name.confidence == pytest.approx(0.85) and kana.confidence == pytest.approx(0.8)
    assert not name.reasons and not kana.reasons
    assert name.detail["evidence"] == [dict(rule="name_reading", before=0.7, after=0.85)]


def test_support_is_bounded_and_keeps_the_order_of_confidences():
    before = [0.0, 0.3, 0.6, 0.9, 0.99, 1.0]
    after = []
    for c in before:
        p = weighed(*member("木村 和夫", "キムラ カズオ", c, c))
        after.append(p.field("members.1.name").confidence)
    assert all(a >= b for a, b in zip(after, before))
    assert after == sorted(after) and max(after) <= 1.0
    assert after[1] < ACCEPT  # a guess is not made sure by agreement alone


def test_engines_that_disagree_are_not_support():
    name, kana = member("佐藤　正男", "サトウ　マサオ")
    name.candidates.append(Candidate("佐藤　正勇", 0.8, "ppocr"))
    p = weighed(name, kana)
    assert p.field("members.1.name").confidence == 0.7
    assert p.field("members.1.kana").confidence == 0.6


def test_a_reading_that_fits_no_name_is_doubted_with_its_reason():
    p = weighed(*member("佐藤　正男", "サトウ　マサコ", 0.99, 0.97))
    for f in p.fields:
        assert f.confidence < ACCEPT
        assert f.reasons == [Reason.NAME_READING_MISMATCH]
    assert READ_REASONS[Reason.NAME_READING_MISMATCH]
    assert p.field("members.1.name").confidence > weighed(*member("佐藤　正男", "サトウ　マサコ", 0.9, 0.9)).field(
        "members.1.name").confidence  # doubt keeps the order too


def test_small_kana_read_large_doubts_the_kana_only():
    p = weighed(*member("工藤　京子", "クドウ　キヨウコ", 0.9, 0.9))
    assert p.field("members.1.name").confidence == 0.9 and not p.field("members.1.name").reasons
    assert p.field("members.1.kana").confidence < ACCEPT
    assert p.field("members.1.kana").reasons == [Reason.NAME_READING_MISMATCH]


def test_a_name_read_from_its_characters_only_is_no_evidence():
    p = weighed(*member("秋元　陽菜", "アキモト　ヒナ", 0.9, 0.9))
    assert [f.confidence for f in p.fields] == [0.9, 0.9]
    assert not any(f.reasons for f in p.fields)


def test_a_name_the_dictionary_cannot_explain_is_doubted():
    # a real name it lacks and a misread one alike: nothing vouches for either
    for name, kana in (("佐藤　陽翔", "サトウ　ハルト"), ("山内京千", "ヤマウチキョウコ")):
        p = weighed(*member(name, kana, 0.9, 0.9))
        assert all(f.confidence < ACCEPT and f.reasons == [Reason.NAME_READING_MISMATCH] for f in p.fields)


def test_the_candidate_that_fits_the_name_is_taken_over_the_first():
    name = text("members.2.name", "佐藤　正男", 0.9)
    kana = text("members.2.kana", "サトウ　マサコ", 0.7, ("サトウ　マサオ", 0.55), kind=FieldKind.KANA)
    p = weighed(name, kana)
    kana = p.field("members.2.kana")
    assert kana.value == "サトウ　マサオ" and kana.confidence == 0.55
    assert kana.candidates[0].text == "サトウ　マサオ" and len(kana.candidates) == 2
    assert kana.reasons == [Reason.LEXICON_CHOICE]
    assert p.field("members.2.name").confidence == 0.9  # a choice is not support


def test_a_first_candidate_that_fits_is_kept():
    kana = text("members.1.kana", "サトウ　マサオ", 0.7, ("サトウ　マサコ", 0.6), kind=FieldKind.KANA)
    p = weighed(text("members.1.name", "佐藤　正男", 0.9), kana)
    assert p.field("members.1.kana").value == "サトウ　マサオ"
    assert p.field("members.1.kana").confidence == 0.85


def test_names_without_kana_and_word_fields_choose_among_candidates():
    p = weighed(text("contacts.1.name", "木村 和犬", 0.8, ("木村 和夫", 0.6)),
                text("contacts.1.relation", "長勇", 0.9, ("長男", 0.5)),
                text("members.1.occupation", "会杜員", 0.9, ("会社員", 0.4)),
                text("contacts.2.name", "佐藤 正男", 0.8, ("佐藤 正勇", 0.7)))
    assert [f.value for f in p.fields] == ["木村 和夫", "長男", "会社員", "佐藤 正男"]
    assert [f.confidence for f in p.fields] == [0.6, 0.5, 0.4, 0.8]
    assert p.field("contacts.2.name").reasons == []


# --- postal code, phone, date ------------------------------------------------------------------


def test_a_postal_code_that_does_not_exist_is_doubted():
    p = weighed(digits("postal_code", "0000000"), text("address", "青森市新町1-2", 0.9))
    code = p.field("postal_code")
    assert code.confidence < ACCEPT and code.reasons == [Reason.POSTAL_UNKNOWN]
    assert p.field("address").confidence == 0.9


def test_a_postal_code_and_an_address_of_another_town_doubt_each_other():
    p = weighed(digits("postal_code", "0300801"), text("address", "八戸市大字尻内町1-2", 0.9))
    for f in p.fields:
        assert f.confidence < ACCEPT and f.reasons == [Reason.POSTAL_ADDRESS_MISMATCH]


def test_an_address_a_character_off_the_codes_town_is_doubted_alone():
    p = weighed(digits("postal_code", "0300801"), text("address", "青森市新街1-2", 0.9))
    assert p.field("postal_code").confidence == 0.95 and not p.field("postal_code").reasons
    assert p.field("address").reasons == [Reason.POSTAL_ADDRESS_MISMATCH]


def test_an_address_in_the_codes_town_supports_the_code():
    p = weighed(digits("postal_code", "0300801", 0.8), text("address", "青森市新町1-2", 0.9))
    assert p.field("postal_code").confidence == 0.9
    assert p.field("address").confidence == 0.9


def test_the_address_candidate_in_the_codes_town_is_taken():
    p = weighed(digits("postal_code", "0300801"), text("address", "青森市新街1-2", 0.9, ("青森市新町1-2", 0.5)))
    assert p.field("address").value == "青森市新町1-2"
    assert p.field("address").reasons == [Reason.LEXICON_CHOICE]
    assert p.field("postal_code").confidence == 0.95


@pytest.mark.parametrize("fid", ["members.1.mobile", "home_phone", "contacts.1.phone"])
def test_a_phone_number_not_in_use_is_doubted(fid):
    p = weighed(digits(fid, "09012345"), digits("members.2.mobile", "09012345678"),
                digits("contacts.2.phone", "0177771234"))
    assert p.field(fid).confidence < ACCEPT and p.field(fid).reasons == [Reason.PHONE_INVALID]
    assert p.field("members.2.mobile").confidence == 0.95 and not p.field("members.2.mobile").reasons
    assert p.field("contacts.2.phone").confidence == 0.95


@pytest.mark.parametrize("era,y,m,d", [("令和", "5", "2", "30"), ("昭和", "70", "1", "1"), ("令和", "1", "4", "1"),
                                       ("平成", "0", "3", "3"), ("平成", "5", "13", "1")])
def test_a_date_that_does_not_exist_is_doubted(era, y, m, d):
    p = weighed(date("members.1.birth_date", era, y, m, d), date("filled_on", "令和", "7", "08", "05"))
    f = p.field("members.1.birth_date")
    assert f.confidence < ACCEPT and f.reasons == [Reason.DATE_IMPOSSIBLE]
    assert p.field("filled_on").confidence == 0.95 and not p.field("filled_on").reasons


def test_a_date_not_fully_read_is_left_to_the_digit_reader():
    f = FieldReading("members.1.birth_date", FieldKind.DATE, "members", None,
                     dict(era="昭和", year="45", month=None, day="3"), 0.4, reasons=[Reason.DATE_INCOMPLETE], ink=True)
    weighed(f)
    assert f.confidence == 0.4 and f.reasons == [Reason.DATE_INCOMPLETE]


# --- the page ------------------------------------------------------------------------------


def test_weighing_twice_changes_nothing_more_and_the_json_form_keeps_it():
    p = page(*member("佐藤　正男", "サトウ　マサオ"), *member("木村 和夫", "キムラ カズコ", row=2),
             digits("postal_code", "0000000"), text("address", "青森市新町", 0.9))
    E.weigh(p)
    once = p.dumps()
    E.weigh(p)
    assert p.dumps() == once
    assert PageReading.from_json(p.to_json()) == p


def test_empty_fields_are_left_alone():
    p = page(FieldReading("members.1.name", FieldKind.TEXT, "members", None, None, 0.98),
             FieldReading("members.1.kana", FieldKind.KANA, "members", None, None, 0.98),
             FieldReading("postal_code", FieldKind.DIGITS, "address", None, "", 1.0),
             FieldReading("home_phone", FieldKind.DIGITS, "address", None, None, 1.0))
    before = p.dumps()
    E.weigh(p)
    assert p.dumps() == before
