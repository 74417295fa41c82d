"""Version 1 of the printed card, as published: frozen.

Cards printed with it are read by it for as long as they are out with residents, so
nothing here changes, not even through what it imports: the choices, era boxes and
words it prints are written out here rather than taken from the model, which may
move on. A new layout is a new module and a new version (see junkai.form).
"""

from __future__ import annotations

from junkai.form.geometry import (BAND_W, ENTRY, LABEL_PT, LEFT, MARKER, MARKER_INSET, PAGE_H, PAGE_W, QR_BOX, REMOVED,
                                  RIGHT, STRIP, TICK, Box, Builder, Page, Slot, Text, markers, text_width)

VERSION = 1
HOUSEHOLD, BUSINESS = "household", "business"

# As printed on version 1 cards; the model's lists are checked against the newest version only.
KINDS = {HOUSEHOLD: "世帯", BUSINESS: "事業所"}
ERA_BOXES = ("明治", "大正", "昭和", "平成", "令和")
RELATIONS = ("世帯主", "配偶者", "子", "子の配偶者", "父母", "祖父母", "孫", "兄弟姉妹", "その他")
SEXES = ("男", "女")
DWELLINGS = ("一戸建", "集合住宅", "寮・社宅", "その他")
VISIT_DAYS = ("平日", "土曜", "日曜・祝日")
VISIT_TIMES = ("午前", "午後", "夕方", "夜間")
SECURITY = ("防犯カメラ", "警報装置", "非常通報装置", "補助錠・防犯ガラス", "金庫", "その他")

FIELD_X = LEFT + BAND_W + 1.0
GAP = 1.5  # between fields on a line
PITCH = 0.4  # between lines
ROW_GAP = 1.2  # between rows of a group
ROWNO_W = 6.0
HEADER_END = 41.0

# Rows of the repeated groups, on the first page and on each continuation sheet.
ROWS = {
    HOUSEHOLD: {"members": (4, 6), "contacts": (2, 2)},
    BUSINESS: {"contacts": (4, 9)},
}


def build(form: str, number: int) -> Page:
    """Page `number` of a card of type `form` (1: the card; 2 and after: continuation sheets)."""
    return _household(number) if form == HOUSEHOLD else _business(number)


def _header(b: Builder, form: str) -> None:
    """Title, 記入日, post and officer, purpose of the card (個人情報保護法 第62条), identity."""
    continuation = b.number > 1
    kind = KINDS[form] + "用" + ("・続き" if continuation else "")
    # every sheet: a card filled in or pre-filled is personal data wherever it travels;
    # in the top margin between the markers, where nothing is read
    b.texts.append(Text(Box(PAGE_W / 2 - 15.0, 8.5, 30.0, 4.0), "取扱注意", "classification"))
    b.texts.append(Text(Box(LEFT, 15.0, 46.0, 10.6), f"巡回連絡カード\n（{kind}）", "title"))
    if not continuation:
        b.date("filled_on", "記入日（カードを作成・補正した日）", 58.0, 14.8, "header", "@filled_on", prefilled=False)
    y = 25.8
    for sid, label, x, w in (("post", "交番・駐在所", LEFT, 46.0), ("officer", "受持警察官", 57.5, 40.0),
                             ("created_on", "作成年月日", 99.0, 42.0)):
        lw = text_width(label, LABEL_PT) + 1.0
        b.texts.append(Text(Box(x, y + 0.5, lw, 3.0), label, "caption", prefilled_only=sid == "created_on"))
        b.slots.append(Slot(sid, label, Box(x + lw + 0.5, y, w - lw - 0.5, 4.0)))
    if continuation:
        notice = ("1枚目の続きです。記入のしかたは1枚目と同じです。1枚目の「変更なし」「変更あり」は、"
                  "この用紙の欄にも当てはまります。")
        b.texts.append(Text(Box(LEFT, 30.4, 148.0, 9.9), notice, "notice"))
    else:
        purpose = ("【利用目的】このカードは、事件・事故・災害などの緊急時の連絡と、防犯のための情報提供に"
                   "利用し、それ以外の目的には利用しません（個人情報保護法第62条）。ご記入は任意です。")
        how_pre = ("印刷された内容に変更がなければ各欄の「変更なし」に、変更があれば「変更あり」に ✓ を付け、"
                   "新しい内容だけを白い欄にご記入ください。数字は1マスに1字ずつ。")
        how_blank = "ご記入いただける範囲で、白い欄にご記入ください。数字は1マスに1字ずつ、選ぶ項目は □ に ✓ を。"
        b.texts.append(Text(Box(LEFT, 30.4, 148.0, 9.9), purpose + how_pre, "notice", prefilled_only=True))
        b.texts.append(Text(Box(LEFT, 30.4, 148.0, 9.9), purpose + how_blank, "notice", blank_only=True))
    b.texts.append(Text(Box(159.5, 15.6, 15.5, 3.0), "印刷ID", "caption"))
    b.slots.append(Slot("print_id", "印刷ID", Box(159.5, 18.8, 16.0, 4.0)))
    b.texts.append(Text(Box(159.5, 23.9, 15.5, 3.0), "用紙", "caption"))
    b.slots.append(Slot("page", "用紙", Box(159.5, 27.1, 16.0, 4.0)))
    b.texts.append(Text(Box(159.5, 32.2, 15.5, 3.0), "通番（印刷順）", "caption"))
    b.slots.append(Slot("seq", "通番", Box(159.5, 35.4, 16.0, 4.0)))


def _row_number(b: Builder, group: str, n: int, y: float) -> None:
    b.texts.append(Text(Box(FIELD_X, y, ROWNO_W, 6.0), str(n), "rowno"))


def _member_rows(b: Builder, first: int, count: int, y: float) -> None:
    x0 = FIELD_X + ROWNO_W
    for n in range(first, first + count):
        p = f"members.{n}"
        row = dict(group="members", row=n)
        path = "members.{key}."
        _row_number(b, "members", n, y)
        x = x0
        x = b.text(f"{p}.kana", "フリガナ", x, y, 48.0, "members", "kana", path=path + "kana", **row).box.right + GAP
        x = b.text(f"{p}.name", "氏名", x, y, 48.0, "members", path=path + "name", **row).box.right + GAP
        x = b.text(f"{p}.occupation", "職業・勤務先・学校", x, y, 52.5, "members", path=path + "occupation",
                   **row).box.right + GAP
        b.checkbox(f"{p}.remove", "転出・削除", x, y, ((REMOVED, ""),), "members", "members.{key}",
                   w=RIGHT - x, prefilled=False, prefilled_only=True, **row)
        y += STRIP + ENTRY + PITCH
        x = b.date(f"{p}.birth_date", "生年月日", x0, y, "members", path + "birth_date", **row).box.right + GAP
        b.digits(f"{p}.mobile", "携帯電話", x, y, 11, "members", path + "mobile", **row)
        y += STRIP + ENTRY + PITCH
        f = b.checkbox(f"{p}.relation", "続柄", x0, y, [(r, r) for r in RELATIONS], "members",
                       path + "relation", **row)
        b.checkbox(f"{p}.sex", "性別", f.box.right + GAP, y, [(s, s) for s in SEXES], "members",
                   path + "sex", w=RIGHT - f.box.right - GAP, **row)
        y += STRIP + TICK + 1.0 + ROW_GAP
    b.rows["members"] = (first, first + count - 1)


def _contact_rows(b: Builder, first: int, count: int, y: float) -> None:
    x0 = FIELD_X + ROWNO_W
    for n in range(first, first + count):
        p = f"contacts.{n}"
        row = dict(group="contacts", row=n)
        path = "contacts.{key}."
        _row_number(b, "contacts", n, y)
        x = b.text(f"{p}.name", "氏名", x0, y, 50.0, "contacts", path=path + "name", **row).box.right + GAP
        x = b.text(f"{p}.relation", "関係", x, y, 32.0, "contacts", path=path + "relation", **row).box.right + GAP
        x = b.digits(f"{p}.phone", "電話", x, y, 11, "contacts", path + "phone", **row).box.right + GAP
        b.checkbox(f"{p}.remove", "削除", x, y, ((REMOVED, ""),), "contacts", "contacts.{key}", w=RIGHT - x,
                   prefilled=False, prefilled_only=True, **row)
        y += STRIP + ENTRY + PITCH
        b.text(f"{p}.address", "住所", x0, y, RIGHT - x0, "contacts", path=path + "address", **row)
        y += STRIP + ENTRY + PITCH + ROW_GAP
    b.rows["contacts"] = (first, first + count - 1)


def _group(b: Builder, group: str, first: int, count: int, y: float) -> float:
    """A section of repeated rows; returns where the next section starts."""
    line, check = STRIP + ENTRY + PITCH, STRIP + TICK + 1.0
    per_row = 2 * line + (check if group == "members" else 0.0) + ROW_GAP
    h = count * per_row - ROW_GAP + 1.2
    title = {"members": "世帯員", "contacts": "緊急連絡先"}[group]
    b.section(group, title if first == 1 else f"{title}\n（続き）", y, h, change=first == 1)
    (_member_rows if group == "members" else _contact_rows)(b, first, count, y + 0.6)
    return y + h + 1.0


def _address(b: Builder, y: float, household: bool) -> float:
    line = STRIP + ENTRY + PITCH
    h = max((2 if household else 1) * line + 0.8, 21.0)
    b.section("address", "所在地・\n住居" if household else "所在地", y, h)
    yy = y + 0.6
    f = b.digits("postal_code", "郵便番号", FIELD_X, yy, 7, "address", "@premises.postal_code", split=3)
    b.text("address", "住所（建物名・部屋番号まで）", f.box.right + GAP, yy, RIGHT - f.box.right - GAP, "address",
           path="@premises.address")
    if household:
        yy += line
        f = b.checkbox("dwelling", "住居の種類", FIELD_X, yy, [(d, d) for d in DWELLINGS], "address",
                       "dwelling")
        b.digits("home_phone", "自宅電話", f.box.right + GAP, yy, 11, "address", "home_phone")
    return y + h + 1.0


def _opinion(b: Builder, y: float) -> None:
    """第6-5(1): residents' opinions and requests, reported in writing to the chief (第6-5(2))."""
    bottom = PAGE_H - MARKER_INSET - MARKER - 2.0  # clear of the bottom markers
    b.section("opinion", "ご要望・\nご意見", y, bottom - y, change=False)
    b.text("opinion", "交番・駐在所へのご要望、地域の安全について気になることなど", FIELD_X, y + 0.6,
           RIGHT - FIELD_X, "opinion", "free", h=bottom - y - 1.2, path="@opinion", prefilled=False)


def _continuation_rows(form: str, number: int) -> dict[str, tuple[int, int]]:
    """group -> (first row, count) on sheet `number`."""
    out = {}
    for group, (first, more) in ROWS[form].items():
        out[group] = (1, first) if number == 1 else (first + (number - 2) * more + 1, more)
    return out


def _household(number: int) -> Page:
    b = Builder(HOUSEHOLD, number, VERSION, ERA_BOXES)
    _header(b, HOUSEHOLD)
    rows = _continuation_rows(HOUSEHOLD, number)
    y = HEADER_END
    if number == 1:
        y = _address(b, y, household=True)
    y = _group(b, "members", *rows["members"], y)
    y = _group(b, "contacts", *rows["contacts"], y)
    if number == 1:
        h = (STRIP + TICK + 1.0) + PITCH + (STRIP + ENTRY) + 1.2
        b.section("visit", "訪問の希望\n・備考", y, h)
        yy = y + 0.6
        f = b.checkbox("visit_days", "訪問を希望する曜日", FIELD_X, yy, [(d, d) for d in VISIT_DAYS], "visit",
                       "visit_days", multiple=True, w=62.0)
        b.checkbox("visit_times", "訪問を希望する時間帯", f.box.right + GAP, yy, [(t, t) for t in VISIT_TIMES],
                   "visit", "visit_times", multiple=True, w=RIGHT - f.box.right - GAP)
        yy += STRIP + TICK + 1.0 + PITCH
        b.text("notes", "備考（ペット、日中不在が多いなど）", FIELD_X, yy, RIGHT - FIELD_X, "visit", "free", path="notes")
        _opinion(b, y + h + 1.0)
    return b.build(markers(), QR_BOX)


def _business(number: int) -> Page:
    b = Builder(BUSINESS, number, VERSION, ERA_BOXES)
    _header(b, BUSINESS)
    rows = _continuation_rows(BUSINESS, number)
    y = HEADER_END
    line = STRIP + ENTRY + PITCH
    if number == 1:
        y = _address(b, y, household=False)
        h = 4 * line + (STRIP + TICK + 1.0) + 0.8
        b.section("business", "事業所", y, h)
        yy = y + 0.6
        f = b.text("business_name", "事業所名", FIELD_X, yy, 92.0, "business", path="business_name")
        b.text("business_kana", "フリガナ", f.box.right + GAP, yy, RIGHT - f.box.right - GAP, "business", "kana",
               path="business_kana")
        yy += line
        f = b.text("industry", "業種", FIELD_X, yy, 70.0, "business", path="industry")
        f = b.digits("employees", "従業員数", f.box.right + GAP, yy, 5, "business", "employees")
        b.texts.append(Text(Box(f.box.right + 0.5, yy + STRIP, 4.0, ENTRY), "人", "unit"))
        yy += line
        f = b.text("representative", "代表者", FIELD_X, yy, 50.0, "business", path="representative")
        f = b.text("manager", "責任者", f.box.right + GAP, yy, 48.0, "business", path="manager")
        b.digits("manager_phone", "責任者電話", f.box.right + GAP, yy, 11, "business", "manager_phone")
        yy += line
        f = b.text("business_hours", "営業時間", FIELD_X, yy, 80.0, "business", path="business_hours")
        b.text("closed_days", "休業日", f.box.right + GAP, yy, RIGHT - f.box.right - GAP, "business",
               path="closed_days")
        yy += line
        b.checkbox("security", "防犯設備", FIELD_X, yy, [(s, s) for s in SECURITY], "business", "security",
                   multiple=True, w=RIGHT - FIELD_X)
        y += h + 1.0
    y = _group(b, "contacts", *rows["contacts"], y)
    if number == 1:
        h = 21.0
        b.section("notes", "備考", y, h)
        b.text("notes", "備考（営業時間外の連絡方法など）", FIELD_X, y + 0.6, RIGHT - FIELD_X, "notes", "free",
               h=h - 1.2, path="notes")
        _opinion(b, y + h + 1.0)
    return b.build(markers(), QR_BOX)
