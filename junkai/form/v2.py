"""Version 2 of the printed card: legible for an elderly resident.

Type of at least 8 pt for labels and 10 pt for everything a resident reads or ticks,
9 mm writing boxes, 7 mm comb cells, 6 mm tick boxes each right before its own label
with a wide gap to the next pair, a two-line address box, the notice residents are owed
and a short "how to fill in" strip. The card takes two sheets (the second is the rest of
the card); continuation sheets follow for more people.

Frozen once published, like version 1: choices, era boxes and words are written out here.
"""

from __future__ import annotations

from typing import ClassVar

from junkai.form.geometry import (LEFT, MARKER, MARKER_INSET, PAGE_H, PAGE_W, QR_BOX, REMOVED, RIGHT, Box, Builder,
                                  Page, Slot, Text, markers, text_width)

VERSION = 2
HOUSEHOLD, BUSINESS = "household", "business"

KINDS = {HOUSEHOLD: "世帯", BUSINESS: "事業所"}
ERA_BOXES = ("明治", "大正", "昭和", "平成", "令和")
RELATIONS = ("世帯主", "本人", "配偶者", "子", "子の配偶者", "父母", "祖父母", "孫", "兄弟姉妹", "同居人", "その他")
SEXES = ("男", "女", "回答しない")
DWELLINGS = ("一戸建", "集合住宅", "寮・社宅", "その他")
VISIT_DAYS = ("平日", "土曜", "日曜・祝日")
VISIT_TIMES = ("午前", "午後", "夕方", "夜間")
SECURITY = ("防犯カメラ", "警報装置", "非常通報装置", "補助錠・防犯ガラス", "金庫", "その他")
SUPPORT = ("ひとり暮らし", "75歳以上の方のみの世帯", "介護・障がいなどで手助けが必要な方がいる", "災害時に安否確認の連絡を希望")

STRIP = 5.5  # 8.5 pt label and a value of 10-11 pt beside it
STRIP_2 = 9.0  # for values that are often long (address, notes): two lines of 10-11 pt
STRIP_3 = 11.0  # three lines of 10 pt: every 要配慮 ticked, beside its label
ENTRY = 9.0  # handwriting height: room for kanji
CELL_W = 7.0
TICK = 6.0
LABEL_PT = 8.5
OPTION_PT = 10.5
BAND_W = 26.0
SIZES = dict(strip=STRIP, entry=ENTRY, cell_w=CELL_W, tick=TICK, label_pt=LABEL_PT, option_pt=OPTION_PT,
             option_gap=6.0, label_gap=1.0, era_gap=5.5, band_w=BAND_W, band_title=11.0, half_em=0.65)

FIELD_X = LEFT + BAND_W + 1.0
ROWNO_W = 7.0
ROW_X = FIELD_X + ROWNO_W
GAP = 1.5
PITCH = 0.4
ROW_GAP = 2.0
LINE = STRIP + ENTRY + PITCH
HEADER_END = 41.0
BOTTOM = PAGE_H - MARKER_INSET - MARKER - 2.0  # clear of the bottom markers
MIN_SECTION = 26.5  # a band's title and its 変更なし / 変更あり boxes

# Member and contact rows on each sheet of the card and on each continuation sheet.
CARD_ROWS = {HOUSEHOLD: ({"members": 1}, {"members": 1, "contacts": 2}), BUSINESS: ({}, {"contacts": 4})}
MORE_ROWS = {HOUSEHOLD: {"members": 2, "contacts": 1}, BUSINESS: {"contacts": 4}}


class Sheet(Page):
    """A page of version 2: a card of two sheets, larger printed values, wider writing lines."""
    card_sheets: ClassVar[int] = 2
    value_pt: ClassVar[float] = 11.0
    value_min_pt: ClassVar[float] = 10.0
    guide_mm: ClassVar[float] = 9.0
    option_pt: ClassVar[float] = OPTION_PT
    change_pt: ClassVar[float] = OPTION_PT


def build(form: str, number: int) -> Page:
    """Page `number` of a card of type `form` (1-2: the card; 3 and after: continuation sheets)."""
    b = Builder(form, number, VERSION, ERA_BOXES, **SIZES)
    _header(b, form)
    y = _notice(b, form)
    rows = _rows(form, number)
    if form == HOUSEHOLD:
        if number == 1:
            y = _address(b, y, household=True)
        if "members" in rows:
            y = _group(b, "members", *rows["members"], y)
        if number == 1:
            y = _support(b, y)
        if "contacts" in rows:
            y = _group(b, "contacts", *rows["contacts"], y)
        if number == 2:
            y = _visit(b, y)
            _opinion(b, y)
    else:
        if number == 1:
            y = _address(b, y, household=False)
            y = _business(b, y)
            _notes(b, y, BOTTOM - y, "備考（営業時間外の連絡方法など）")
        if "contacts" in rows:
            y = _group(b, "contacts", *rows["contacts"], y)
        if number == 2:
            _opinion(b, y)
    return b.build(markers(), QR_BOX, Sheet)


def _rows(form: str, number: int) -> dict[str, tuple[int, int]]:
    """group -> (first row, count) on sheet `number`."""
    card, more = CARD_ROWS[form], MORE_ROWS[form]
    if number <= 2:
        before = card[0] if number == 2 else {}
        return {g: (before.get(g, 0) + 1, n) for g, n in card[number - 1].items()}
    done = {g: sum(c.get(g, 0) for c in card) for g in more}
    return {g: (done[g] + (number - 3) * n + 1, n) for g, n in more.items()}


# --- header and notice -----------------------------------------------------------------


def _header(b: Builder, form: str) -> None:
    kind = KINDS[form] + "用" + {1: "", 2: "・2枚目"}.get(b.number, "・続き")
    b.texts.append(Text(Box(PAGE_W / 2 - 15.0, 8.5, 30.0, 4.0), "取扱注意", "classification"))
    b.texts.append(Text(Box(LEFT, 15.0, 46.0, 10.6), f"巡回連絡カード\n（{kind}）", "title"))
    y = 15.0
    for sid, label in (("post", "交番・駐在所"), ("officer", "受持警察官"), ("created_on", "作成年月日")):
        lw = text_width(label, LABEL_PT) + 1.0
        b.texts.append(Text(Box(58.0, y + 1.0, lw, 4.0), label, "caption", prefilled_only=sid == "created_on"))
        b.slots.append(Slot(sid, label, Box(58.0 + lw + 1.0, y, 157.0 - 58.0 - lw - 1.0, 5.2)))
        y += 6.6
    # where version 1 has them: the print id is read before the version is known
    b.texts.append(Text(Box(159.5, 15.2, 16.0, 3.4), "印刷ID", "caption"))
    b.slots.append(Slot("print_id", "印刷ID", Box(159.5, 18.8, 16.0, 4.0)))
    b.texts.append(Text(Box(159.5, 23.6, 16.0, 3.4), "用紙", "caption"))
    b.slots.append(Slot("page", "用紙", Box(159.5, 27.1, 16.0, 4.0)))
    b.texts.append(Text(Box(159.5, 31.9, 16.0, 3.4), "通番", "caption"))
    b.slots.append(Slot("seq", "通番", Box(159.5, 35.4, 16.0, 4.0)))


PURPOSE = ("【このカードについて】事件・事故・災害などのときの連絡と、防犯のお知らせのために使い、ほかの目的には"
           "使いません（個人情報保護法第62条）。ご記入は任意で、書きたくないことは空けたままで構いません。")
HOW_PREFILLED = ("【記入のしかた】 ① 欄ごとに、変わりがなければ「変更なし」に、変わったときは「変更あり」に ✓ 。"
                 "② 変わったところだけ、白いわくに新しく書く。③ 直すときは、まちがいに二重線 ＝ を引いて書き直す。"
                 "④ 消したいときは、印刷された内容に二重線を引き「変更あり」に ✓ 。⑤ 数字は1マスに1字。")
HOW_BLANK = ("【記入のしかた】 ① 選ぶものは □ に ✓ 。② 白いわくに書く。数字は1マスに1字。"
             "③ 直すときは、まちがいに二重線 ＝ を引いて書き直す。④ 書きたくないことは空けたままで構いません。")
SHEET_2 = ("カードの2枚目です。記入のしかたは1枚目と同じです。世帯員の欄は、1枚目の「変更なし」「変更あり」が"
           "この用紙にも当てはまります。")
CONTINUATION = ("1枚目・2枚目の続きです。記入のしかたは1枚目と同じです。1枚目・2枚目の「変更なし」「変更あり」は、"
                "この用紙の欄にも当てはまります。")

NOTICE_LINE = 10.0 * 1.4 * 25.4 / 72  # a 10 pt line at line-height 1.4


def _notice(b: Builder, form: str) -> float:
    """Purpose, voluntariness, keeper and keeping period, who to ask (stamped per card), how to fill in."""
    y = HEADER_END + 1.0
    w = RIGHT - LEFT
    if b.number == 1:
        h = 2 * NOTICE_LINE + 0.6
        b.texts.append(Text(Box(LEFT, y, w, h), PURPOSE, "notice"))
        y += h
        # stamped: the post and its phone, the station, how long it keeps ceased cards
        b.slots.append(Slot("contact", "お問い合わせ", Box(LEFT, y, w, 2 * NOTICE_LINE)))
        y += 2 * NOTICE_LINE + 1.0
        h = 3 * NOTICE_LINE + 1.6
        b.texts.append(Text(Box(LEFT, y, w, h), HOW_PREFILLED, "howto", prefilled_only=True))
        b.texts.append(Text(Box(LEFT, y, w, h), HOW_BLANK, "howto", blank_only=True))
        y += h + 1.5
        f = b.date("filled_on", "記入日（カードを書いた日）", LEFT, y, "header", "@filled_on", prefilled=False)
        return f.box.bottom + 1.5
    text = SHEET_2 if b.number == 2 and form == HOUSEHOLD else CONTINUATION
    if b.number == 2 and form == BUSINESS:
        text = "カードの2枚目です。記入のしかたは1枚目と同じです。"
    h = 2 * NOTICE_LINE + 0.6
    b.texts.append(Text(Box(LEFT, y, w, h), text, "notice"))
    return y + h + 1.5


# --- sections ------------------------------------------------------------------------------


def _section(b: Builder, sid: str, title: str, y: float, bottom: float, change: bool = True) -> float:
    h = max(bottom - y + 0.6, MIN_SECTION if change else 0.0)
    b.section(sid, title, y, h, change=change)
    return y + h + 1.0


def _address(b: Builder, y: float, household: bool) -> float:
    yy = y + 0.6
    f = b.digits("postal_code", "郵便番号", FIELD_X, yy, 7, "address", "@premises.postal_code", split=3)
    if household:
        b.checkbox("dwelling", "住居の種類", f.box.right + GAP, yy, [(d, d) for d in DWELLINGS], "address", "dwelling",
                   w=RIGHT - f.box.right - GAP)
    else:
        b.digits("business_phone", "事業所電話", f.box.right + GAP, yy, 11, "address", "business_phone")
    yy += LINE
    f = b.text("address", "住所（建物名・部屋番号まで）", FIELD_X, yy, RIGHT - FIELD_X, "address",
               h=STRIP_2 + 2 * ENTRY, path="@premises.address", strip=STRIP_2)
    yy = f.box.bottom + PITCH
    if household:
        f = b.digits("home_phone", "自宅電話", FIELD_X, yy, 11, "address", "home_phone")
        yy = f.box.bottom
    else:
        yy -= PITCH
    return _section(b, "address", "所在地・\n住居" if household else "所在地", y, yy)


def _row_number(b: Builder, n: int, y: float) -> None:
    b.texts.append(Text(Box(FIELD_X, y, ROWNO_W, 8.0), str(n), "rowno"))


def _member_rows(b: Builder, first: int, count: int, y: float) -> float:
    for n in range(first, first + count):
        p, path, row = f"members.{n}", "members.{key}.", dict(group="members", row=n)
        _row_number(b, n, y)
        x = b.text(f"{p}.kana", "フリガナ", ROW_X, y, 50.0, "members", "kana", path=path + "kana", **row).box.right
        x = b.text(f"{p}.name", "氏名", x + GAP, y, 58.0, "members", path=path + "name", **row).box.right
        b.checkbox(f"{p}.remove", "転出・削除", x + GAP, y, ((REMOVED, ""),), "members", "members.{key}",
                   w=RIGHT - x - GAP, prefilled=False, prefilled_only=True, **row)
        y += LINE
        y = b.date(f"{p}.birth_date", "生年月日", ROW_X, y, "members", path + "birth_date", **row).box.bottom + PITCH
        y = b.checkbox(f"{p}.relation", "続柄（世帯主から見て）", ROW_X, y, [(r, r) for r in RELATIONS], "members",
                       path + "relation", wrap=RIGHT - 1.0, w=RIGHT - ROW_X, **row).box.bottom + PITCH
        f = b.checkbox(f"{p}.sex", "性別", ROW_X, y, [(s, s) for s in SEXES], "members", path + "sex", **row)
        b.digits(f"{p}.mobile", "携帯電話", f.box.right + GAP, y, 11, "members", path + "mobile", **row)
        y += LINE
        f = b.text(f"{p}.occupation", "職業・勤務先・学校", ROW_X, y, RIGHT - ROW_X - GAP - 79.0, "members",
                   path=path + "occupation", **row)
        f = b.digits(f"{p}.work_phone", "勤務先・学校の電話", f.box.right + GAP, y, 11, "members",
                     path + "work_phone", **row)
        y = f.box.bottom + ROW_GAP
    b.rows["members"] = (first, first + count - 1)
    return y - ROW_GAP


def _contact_rows(b: Builder, first: int, count: int, y: float) -> float:
    for n in range(first, first + count):
        p, path, row = f"contacts.{n}", "contacts.{key}.", dict(group="contacts", row=n)
        _row_number(b, n, y)
        x = b.text(f"{p}.name", "氏名", ROW_X, y, 75.5, "contacts", path=path + "name", **row).box.right
        b.checkbox(f"{p}.remove", "削除", x + GAP, y, ((REMOVED, ""),), "contacts", "contacts.{key}",
                   w=RIGHT - x - GAP, prefilled=False, prefilled_only=True, **row)
        y += LINE
        x = b.text(f"{p}.relation", "関係（子・親せき・勤務先など）", ROW_X, y, 75.5, "contacts", path=path + "relation",
                   **row).box.right
        b.digits(f"{p}.phone", "電話", x + GAP, y, 11, "contacts", path + "phone", **row)
        y += LINE
        f = b.text(f"{p}.address", "住所", ROW_X, y, RIGHT - ROW_X, "contacts", path=path + "address", **row)
        y = f.box.bottom + ROW_GAP
    b.rows["contacts"] = (first, first + count - 1)
    return y - ROW_GAP


def _group(b: Builder, group: str, first: int, count: int, y: float) -> float:
    title = {"members": "世帯員", "contacts": "緊急連絡先"}[group]
    bottom = (_member_rows if group == "members" else _contact_rows)(b, first, count, y + 0.6)
    return _section(b, group, title if first == 1 else f"{title}\n（続き）", y, bottom, change=first == 1)


def _support(b: Builder, y: float) -> float:
    # a short label leaves the printed ticks room for 10 pt, all four of them on three lines
    f = b.checkbox("support", "災害時の手助け（すべてに ✓ 可・人数の集計だけに使います）", FIELD_X,
                   y + 0.6, [(s, s) for s in SUPPORT], "support", "support", multiple=True, wrap=RIGHT - 1.0,
                   w=RIGHT - FIELD_X, strip=STRIP_3)
    return _section(b, "support", "手助け\n（任意）", y, f.box.bottom)


def _visit(b: Builder, y: float) -> float:
    yy = y + 0.6
    f = b.checkbox("visit_days", "訪問を希望する曜日", FIELD_X, yy, [(d, d) for d in VISIT_DAYS], "visit", "visit_days",
                   multiple=True)
    b.checkbox("visit_times", "訪問を希望する時間帯", f.box.right + GAP, yy, [(t, t) for t in VISIT_TIMES], "visit",
               "visit_times", multiple=True, w=RIGHT - f.box.right - GAP)
    yy = f.box.bottom + PITCH
    f = b.text("notes", "備考（ペット、日中不在が多いなど）", FIELD_X, yy, RIGHT - FIELD_X, "visit", "free", path="notes",
               strip=STRIP_2)
    return _section(b, "visit", "訪問の希望\n・備考", y, f.box.bottom)


def _business(b: Builder, y: float) -> float:
    yy = y + 0.6
    f = b.text("business_name", "事業所名", FIELD_X, yy, 90.0, "business", path="business_name")
    b.text("business_kana", "フリガナ", f.box.right + GAP, yy, RIGHT - f.box.right - GAP, "business", "kana",
           path="business_kana")
    yy += LINE
    f = b.text("industry", "業種", FIELD_X, yy, 110.0, "business", path="industry")
    f = b.digits("employees", "従業員数", f.box.right + GAP, yy, 5, "business", "employees")
    b.texts.append(Text(Box(f.box.right + 0.5, yy + STRIP, 5.0, ENTRY), "人", "unit"))
    yy += LINE
    f = b.text("representative", "代表者", FIELD_X, yy, 80.0, "business", path="representative")
    b.text("manager", "責任者", f.box.right + GAP, yy, RIGHT - f.box.right - GAP, "business", path="manager")
    yy += LINE
    f = b.digits("manager_phone", "責任者電話", FIELD_X, yy, 11, "business", "manager_phone")
    b.text("business_hours", "営業時間", f.box.right + GAP, yy, RIGHT - f.box.right - GAP, "business",
           path="business_hours")
    yy += LINE
    b.text("closed_days", "休業日", FIELD_X, yy, RIGHT - FIELD_X, "business", path="closed_days")
    yy += LINE
    f = b.checkbox("security", "防犯設備（あるものすべてに ✓ ）", FIELD_X, yy, [(s, s) for s in SECURITY], "business",
                   "security", multiple=True, wrap=RIGHT - 1.0, w=RIGHT - FIELD_X)
    return _section(b, "business", "事業所", y, f.box.bottom)


def _notes(b: Builder, y: float, h: float, label: str) -> None:
    b.section("notes", "備考", y, h)
    b.text("notes", label, FIELD_X, y + 0.6, RIGHT - FIELD_X, "notes", "free", h=h - 1.2, path="notes",
           strip=STRIP_2)


def _opinion(b: Builder, y: float) -> None:
    """第6-5(1): residents' opinions and requests, reported in writing to the chief (第6-5(2))."""
    b.section("opinion", "ご要望・\nご意見", y, BOTTOM - y, change=False)
    b.text("opinion", "交番・駐在所へのご要望、地域の安全について気になることなど", FIELD_X, y + 0.6, RIGHT - FIELD_X,
           "opinion", "free", h=BOTTOM - y - 1.2, path="@opinion", prefilled=False)
