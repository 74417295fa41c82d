from datetime import date

import pytest

from junkai import JunkaiError, model

TODAY = date(2026, 11, 20)


def test_apply_sets_nested_values_and_removes_with_none():
    card = model.empty_card(model.HOUSEHOLD)
    model.apply(card, "members.1", {"name": "佐藤 太郎", "relation": "世帯主"})
    model.apply(card, "members.1.mobile", "090-1234-5678")
    model.apply(card, "home_phone", "017-777-1234")
    assert card["members"]["1"] == {"name": "佐藤 太郎", "relation": "世帯主", "mobile": "090-1234-5678"}
    model.apply(card, "members.1.mobile", None)
    model.apply(card, "home_phone", None)
    assert card == {"members": {"1": {"name": "佐藤 太郎", "relation": "世帯主"}}, "contacts": {}}
    model.apply(card, "members.1", None)
    assert card["members"] == {}


def test_special_paths_do_not_change_the_card():
    card = model.empty_card(model.BUSINESS)
    model.apply(card, model.CONFIRM, "2026-01-01")
    model.apply(card, model.STATUS, model.CEASED)
    assert card == {"contacts": {}}


def test_diff_gives_leaf_changes_and_whole_rows_added_or_removed():
    before = {"home_phone": "017-777-1234", "members": {"1": {"name": "A", "mobile": "090-1111-2222"},
                                                         "2": {"name": "B"}}, "contacts": {}}
    after = {"members": {"1": {"name": "A", "mobile": "090-3333-4444"}, "3": {"name": "C"}}, "contacts": {}}
    assert model.diff(before, after) == [
        ("home_phone", "017-777-1234", None),
        ("members.1.mobile", "090-1111-2222", "090-3333-4444"),
        ("members.2", {"name": "B"}, None),
        ("members.3", None, {"name": "C"}),
    ]
    card = before
    for path, _, value in model.diff(before, after):
        model.apply(card, path, value)
    assert card == after


@pytest.mark.parametrize("path,value,message", [
    ("members.1.birth_date", "2030-01-01", "未来"),
    ("members.1.birth_date", "2026-02-30", "日付"),
    ("members.1.relation", "叔父", "続柄"),
    ("members.1.mobile", "090-12", "携帯電話の桁数"),
    ("dwelling", "城", "住居の種類"),
    ("visit_days", ["月曜"], "訪問希望曜日"),
    ("favourite_colour", "青", "カードにない項目"),
    ("members.x.name", "A", "カードにない項目"),
    ("employees", 3, "カードにない項目"),
])
def test_invalid_values_are_refused_with_a_message_naming_the_problem(path, value, message):
    with pytest.raises(JunkaiError, match=message):
        model.validate_field(model.HOUSEHOLD, path, value, TODAY)


def test_valid_values_are_normalised():
    assert model.validate_field(model.HOUSEHOLD, "members.2.name", "佐藤\u3000花子", TODAY) == "佐藤 花子"
    assert model.validate_field(model.HOUSEHOLD, "members.2.mobile", "０９０-１２３４-５６７８", TODAY) == "090-1234-5678"
    assert model.validate_field(model.HOUSEHOLD, "visit_days", "日曜・祝日,平日", TODAY) == ["平日", "日曜・祝日"]
    assert model.validate_field(model.BUSINESS, "employees", "12", TODAY) == 12
    assert model.validate_field(model.HOUSEHOLD, "members.2.birth_date", TODAY.isoformat(), TODAY) == "2026-11-20"


@pytest.mark.parametrize("raw,code", [("030-0861", "0300861"), ("〒0300861", "0300861"), ("０３０－０８６１", "0300861")])
def test_postal_codes_are_normalised(raw, code):
    assert model.normalize_postal_code(raw) == code


@pytest.mark.parametrize("raw", ["030-086", "03008611", "abc-defg", ""])
def test_malformed_postal_codes_are_refused(raw):
    with pytest.raises(JunkaiError, match="郵便番号"):
        model.normalize_postal_code(raw)


def test_the_later_fields_sit_beside_their_kin_with_japanese_labels():
    assert list(model.MEMBER_FIELDS).index("work_phone") == list(model.MEMBER_FIELDS).index("mobile") + 1
    assert list(model.HOUSEHOLD_FIELDS).index("support") == list(model.HOUSEHOLD_FIELDS).index("visit_times") + 1
    assert list(model.BUSINESS_FIELDS).index("business_phone") == list(model.BUSINESS_FIELDS).index("closed_days") + 1
    assert model.label_of(model.HOUSEHOLD, "members.3.work_phone") == "世帯員3 勤務先・学校の電話"
    assert model.label_of(model.HOUSEHOLD, "support") == "災害時などの手助け（任意）"
    assert model.label_of(model.BUSINESS, "business_phone") == "事業所電話"
    assert {"本人", "同居人"} <= set(model.RELATIONS) and "回答しない" in model.SEXES
    with pytest.raises(JunkaiError, match="事業所カードにない項目"):
        model.field_spec(model.BUSINESS, "support")
    card = model.rebuild(model.HOUSEHOLD, [("support", ["ひとり暮らし"]), ("support", [])])
    assert "support" not in card  # untying every box clears the field, as for the other choices
