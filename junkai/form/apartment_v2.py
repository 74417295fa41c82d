"""The 集合住宅用 巡回連絡カード, first published as version 2: frozen once published.

A new card type, so it is drawn legibly from its first printing: labels 8 pt and more,
instructions and printed values 10 pt, writing boxes 9 mm high, comb cells 6.5 mm,
tick boxes 5.5 mm with a wide gap before the next pair. The markers, the QR code, the
title and the print id stay where version 1 has them (they are read before the version).
As in version 1, the words and choices printed are written out here, not taken from the
model, which may move on.
"""

from __future__ import annotations

from typing import ClassVar

from junkai.form.geometry import (LEFT, MARKER, MARKER_INSET, PAGE_H, PAGE_W, QR_BOX, REMOVED, RIGHT, Box, Builder,
                                  Page, Slot, Text, markers, text_width)

VERSION = 2
APARTMENT = "apartment"
ERA_BOXES = ("明治", "大正", "昭和", "平成", "令和")
AUTOLOCK = ("あり", "なし")

STRIP, ENTRY, CELL_W, TICK = 5.0, 9.0, 6.5, 5.5
LABEL_PT, OPTION_PT, VALUE_PT, NOTICE_PT = 8.0, 9.0, 10.0, 10.0
NOTICE_LINE = NOTICE_PT * 1.4 * 25.4 / 72  # a notice line at line-height 1.4
BAND_W = 20.0
# what the renderer prints its words at (the stylesheet's sizes are version 1's)
PT = dict(label=LABEL_PT, option=OPTION_PT, change=8.0, notice=NOTICE_PT, caption=8.0, unit=10.0, rowno=11.0)

FIELD_X = LEFT + BAND_W + 1.0
GAP = 1.5
PITCH = 0.4
ROW_GAP = 1.2
ROWNO_W = 6.0
LINE = STRIP + ENTRY + PITCH
CHECK = STRIP + TICK + 1.0
SECTION_MIN = 21.5  # a band's title and its two change boxes
# contacts rows on the card and on each continuation sheet
ROWS = {"contacts": (2, 7)}


class Sheet(Page):
    """A page of this layout: the sizes it prints at, for the overlay, the renderer and the reader."""
    value_pt: ClassVar[float] = VALUE_PT
    value_min_pt: ClassVar[float] = VALUE_PT  # a resident reads them: never smaller (as version 2)
    guide_mm: ClassVar[float] = ENTRY
    option_pt: ClassVar[float] = OPTION_PT
    change_pt: ClassVar[float] = PT["change"]
    text_pt: ClassVar[dict[str, float]] = PT


def build(form: str, number: int) -> Page:
    if form != APARTMENT:
        raise ValueError(form)
    b = Builder(APARTMENT, number, VERSION, ERA_BOXES, strip=STRIP, entry=ENTRY, cell_w=CELL_W, tick=TICK,
                label_pt=LABEL_PT, option_pt=OPTION_PT, option_gap=5.0, era_gap=2.5, band_w=BAND_W)
    y = _header(b)
    if number == 1:
        y = _address(b, y)
        y = _building(b, y)
        y = _owner(b, y)
        first, count = 1, ROWS["contacts"][0]
    else:
        first, count = ROWS["contacts"][0] + (number - 2) * ROWS["contacts"][1] + 1, ROWS["contacts"][1]
    y = _contacts(b, first, count, y)
    if number == 1:
        h = STRIP + 2 * ENTRY + 1.2
        b.section("notes", "備考", y, h)
        b.text("notes", "備考（宅配ボックス・駐輪場・防犯カメラなど）", FIELD_X, y + 0.6, RIGHT - FIELD_X, "notes", "free",
               h=h - 1.2, path="notes")
        _opinion(b, y + h + 1.0)
    return b.build(markers(), QR_BOX, kind=Sheet)


def _header(b: Builder) -> float:
    continuation = b.number > 1
    b.texts.append(Text(Box(PAGE_W / 2 - 15.0, 8.5, 30.0, 4.0), "取扱注意", "classification"))
    kind = "集合住宅・続き" if continuation else "集合住宅用"
    b.texts.append(Text(Box(LEFT, 15.0, 46.0, 10.6), f"巡回連絡カード\n（{kind}）", "title"))
    y = 15.0
    for sid, label, w in (("post", "交番・駐在所", 96.0), ("officer", "受持警察官", 96.0),
                          ("created_on", "作成年月日", 96.0)):
        lw = text_width(label, PT["caption"]) + 1.0
        b.texts.append(Text(Box(58.0, y + 0.6, lw, 3.4), label, "caption", prefilled_only=sid == "created_on"))
        b.slots.append(Slot(sid, label, Box(58.0 + lw + 0.5, y, w - lw - 0.5, 4.6)))
        y += 6.0
    # the print id and its neighbours where version 1 has them
    b.texts.append(Text(Box(159.5, 15.6, 15.5, 3.0), "印刷ID", "caption"))
    b.slots.append(Slot("print_id", "印刷ID", Box(159.5, 18.8, 16.0, 4.0)))
    b.texts.append(Text(Box(159.5, 23.9, 15.5, 3.0), "用紙", "caption"))
    b.slots.append(Slot("page", "用紙", Box(159.5, 27.1, 16.0, 4.0)))
    b.texts.append(Text(Box(159.5, 32.2, 15.5, 3.0), "通番", "caption"))
    b.slots.append(Slot("seq", "通番", Box(159.5, 35.4, 16.0, 4.0)))
    y = 41.0
    if continuation:
        notice = "1枚目の続きです。記入のしかたは1枚目と同じです。"
        b.texts.append(Text(Box(LEFT, y, RIGHT - LEFT, 5.5), notice, "notice"))
        return y + 6.5
    purpose = ("【利用目的】このカードは、事件・事故・災害などの緊急時の連絡と防犯のための情報提供に利用し、"
               "それ以外には利用しません（個人情報保護法第62条）。ご記入は任意です。")
    how_pre = "印刷された内容に変更がなければ「変更なし」に、変更があれば「変更あり」に ✓ を付け、新しい内容だけを白い欄に。"
    how_blank = "ご記入いただける範囲で、白い欄にご記入ください。数字は1マスに1字ずつ、選ぶ項目は □ に ✓ を。"
    h = 15.5
    b.texts.append(Text(Box(LEFT, y, RIGHT - LEFT, h), purpose + how_pre, "notice", prefilled_only=True))
    b.texts.append(Text(Box(LEFT, y, RIGHT - LEFT, h), purpose + how_blank, "notice", blank_only=True))
    y += h
    # stamped as on the household card: the keeping station and period, the post and its phone
    b.slots.append(Slot("contact", "お問い合わせ", Box(LEFT, y, RIGHT - LEFT, 2 * NOTICE_LINE)))
    y += 2 * NOTICE_LINE + 0.5
    b.date("filled_on", "記入日（カードを作成・補正した日）", LEFT, y, "header", "@filled_on", prefilled=False)
    return y + STRIP + ENTRY + 1.5


def _address(b: Builder, y: float) -> float:
    h = max(LINE + 0.8, SECTION_MIN)
    b.section("address", "所在地", y, h)
    yy = y + 0.6
    f = b.digits("postal_code", "郵便番号", FIELD_X, yy, 7, "address", "@premises.postal_code", split=3)
    b.text("address", "所在地（建物名まで）", f.box.right + GAP, yy, RIGHT - f.box.right - GAP, "address",
           path="@premises.address")
    return y + h + 1.0


def _building(b: Builder, y: float) -> float:
    h = max(2 * LINE + 0.8, SECTION_MIN)
    b.section("building", "建物", y, h)
    yy = y + 0.6
    f = b.text("building_name", "建物名", FIELD_X, yy, 84.0, "building", path="building_name")
    b.text("building_kana", "フリガナ", f.box.right + GAP, yy, RIGHT - f.box.right - GAP, "building", "kana",
           path="building_kana")
    yy += LINE
    f = b.digits("units", "戸数", FIELD_X, yy, 4, "building", "units")
    b.texts.append(Text(Box(f.box.right + 0.3, yy + STRIP, 5.0, ENTRY), "戸", "unit"))
    f = b.checkbox("autolock", "オートロック", f.box.right + 6.0, yy, [(a, a) for a in AUTOLOCK], "building",
                   "autolock")
    b.text("entry", "入館の方法（例: 管理人室で呼出し）", f.box.right + GAP, yy, RIGHT - f.box.right - GAP,
           "building", path="entry")
    return y + h + 1.0


def _owner(b: Builder, y: float) -> float:
    h = 3 * LINE + 0.8
    b.section("owner", "所有者・\n管理", y, h)
    yy = y + 0.6
    for who, label, phone in (("owner", "所有者（氏名・名称）", "所有者の電話"),
                              ("manager", "管理人・管理会社", "管理人・管理会社の電話")):
        f = b.text(who, label, FIELD_X, yy, 92.0, "owner", path=who)
        b.digits(f"{who}_phone", phone, f.box.right + GAP, yy, 11, "owner", f"{who}_phone")
        yy += LINE
    b.text("manager_hours", "管理人の勤務時間（例: 平日 9時〜17時）", FIELD_X, yy, RIGHT - FIELD_X, "owner",
           path="manager_hours")
    return y + h + 1.0


def _contacts(b: Builder, first: int, count: int, y: float) -> float:
    per_row = 2 * LINE + ROW_GAP
    h = count * per_row - ROW_GAP + 1.2
    b.section("contacts", "緊急連絡先" if first == 1 else "緊急連絡先\n（続き）", y, h, change=first == 1)
    x0 = FIELD_X + ROWNO_W
    yy = y + 0.6
    for n in range(first, first + count):
        p, path, row = f"contacts.{n}", "contacts.{key}.", dict(group="contacts", row=n)
        b.texts.append(Text(Box(FIELD_X, yy, ROWNO_W, 8.0), str(n), "rowno"))
        x = b.text(f"{p}.name", "氏名", x0, yy, 44.0, "contacts", path=path + "name", **row).box.right + GAP
        x = b.text(f"{p}.relation", "関係", x, yy, 26.0, "contacts", path=path + "relation", **row).box.right + GAP
        x = b.digits(f"{p}.phone", "電話", x, yy, 11, "contacts", path + "phone", **row).box.right + GAP
        b.checkbox(f"{p}.remove", "削除", x, yy, ((REMOVED, ""),), "contacts", "contacts.{key}", w=RIGHT - x,
                   prefilled=False, prefilled_only=True, **row)
        yy += LINE
        b.text(f"{p}.address", "住所", x0, yy, RIGHT - x0, "contacts", path=path + "address", **row)
        yy += LINE + ROW_GAP
    b.rows["contacts"] = (first, first + count - 1)
    return y + h + 1.0


def _opinion(b: Builder, y: float) -> None:
    """第6-5(1): residents' opinions and requests."""
    bottom = PAGE_H - MARKER_INSET - MARKER - 2.0
    b.section("opinion", "ご要望・\nご意見", y, bottom - y, change=False)
    b.text("opinion", "交番・駐在所へのご要望、建物や地域の安全について気になることなど", FIELD_X, y + 0.6,
           RIGHT - FIELD_X, "opinion", "free", h=bottom - y - 1.2, path="@opinion", prefilled=False)
