"""The one definition of the printed 巡回連絡カード (第6-7(1), (4)).

Every field of each card type has an id, a label, a kind and boxes in millimetres,
measured from the top-left corner of an A4 page. The templates draw the form from
this definition, the overlay prints pre-filled values into its value boxes, `ocr/`
reads scans by it, and `junkai form describe` prints it as JSON for anyone placing
ink on a test scan. No coordinate is written anywhere else.

Each field box has a tinted strip at the top (its label and, on a pre-filled card,
today's value) and a white entry area below it where the resident writes. Entry
lines and boxes are drawn in DROPOUT, a light colour that a scan can separate from
ink. A field id names a form row, not a model key ("members.2.name" is the second
member row printed); `model_path` turns it into a card path with the keys recorded
for that printed card.

Bump VERSION whenever a box moves: the version travels in every QR code, and a scan
must be read with the layout it was printed with.
"""

from __future__ import annotations

import unicodedata
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from typing import Any

from junkai import JunkaiError, model
from junkai.files import CLASSIFICATION
from junkai.wareki import ERAS, to_wareki, wareki_text  # noqa: F401 (also read as form.*)

VERSION = 1
TYPES = (model.HOUSEHOLD, model.BUSINESS)
TITLES = {model.HOUSEHOLD: "巡回連絡カード（世帯用）", model.BUSINESS: "巡回連絡カード（事業所用）"}

PAGE_W, PAGE_H = 210.0, 297.0
DROPOUT = "#F2A58E"  # red channel 0xF2: a red-channel scan keeps the ink and loses the form
TINT = "#FDF1EC"  # strip background: printed, not for writing

MARKER = 6.0
MARKER_INSET = 7.0
LEFT, RIGHT = 10.0, 200.0
BAND_W = 17.0  # section title and its 変更なし / 変更あり boxes
FIELD_X = LEFT + BAND_W + 1.0
STRIP = 3.5  # label and printed value
ENTRY = 6.5  # handwriting height; comb cells are CELL_W x ENTRY
CELL_W = 6.0
TICK = 5.0
GAP = 1.5  # between fields on a line
PITCH = 0.4  # between lines
ROW_GAP = 1.2  # between rows of a group
ROWNO_W = 6.0

LABEL_PT = 6.0  # strip labels
OPTION_PT = 7.5  # tick box labels
VALUE_PT = 9.0  # largest size of a printed value
PT = 25.4 / 72  # mm per point

# Change boxes of a section, and the one box of a member or contact row.
UNCHANGED, CHANGED, REMOVED = "unchanged", "changed", "removed"

# Rows of the repeated groups, on the first page and on each continuation sheet.
ROWS = {
    model.HOUSEHOLD: {"members": (4, 6), "contacts": (2, 2)},
    model.BUSINESS: {"contacts": (4, 9)},
}


@dataclass(frozen=True)
class Box:
    x: float
    y: float
    w: float
    h: float

    @property
    def right(self) -> float:
        return self.x + self.w

    @property
    def bottom(self) -> float:
        return self.y + self.h

    def contains(self, other: Box, tol: float = 0.0) -> bool:
        return (other.x >= self.x - tol and other.y >= self.y - tol
                and other.right <= self.right + tol and other.bottom <= self.bottom + tol)

    def overlaps(self, other: Box) -> bool:
        eps = 1e-6
        return (self.x < other.right - eps and other.x < self.right - eps
                and self.y < other.bottom - eps and other.y < self.bottom - eps)

    def json(self) -> dict:
        return {k: round(v, 3) for k, v in asdict(self).items()}


@dataclass(frozen=True)
class Option:
    value: str  # the model's value, or UNCHANGED / CHANGED / REMOVED
    label: str
    box: Box  # the tick box
    label_box: Box


@dataclass(frozen=True)
class Field:
    id: str
    label: str
    kind: str  # text | kana | digits | date | checkbox | free
    section: str
    box: Box  # the whole frame: strip and entry
    label_box: Box
    entry: Box  # where the resident writes (cells and tick boxes lie inside it)
    value_box: Box | None  # where a pre-filled value is printed; None: never pre-filled
    path: str | None  # card path, "{key}" for the row's key; "@..." for facts outside the card
    cells: tuple[Box, ...] = ()
    groups: tuple[tuple[str, int, int], ...] = ()  # (name, first cell, count), e.g. a date's year
    options: tuple[Option, ...] = ()
    multiple: bool = False
    prefilled_only: bool = False  # drawn on pre-filled cards only
    group: str | None = None
    row: int | None = None

    def json(self) -> dict:
        d: dict[str, Any] = dict(
            id=self.id, label=self.label, kind=self.kind, section=self.section, path=self.path,
            box=self.box.json(), label_box=self.label_box.json(), entry=self.entry.json(),
            value_box=self.value_box.json() if self.value_box else None)
        if self.group:
            d.update(group=self.group, row=self.row)
        if self.cells:
            d["cells"] = [c.json() for c in self.cells]
        if self.groups:
            d["cell_groups"] = {name: list(range(first, first + n)) for name, first, n in self.groups}
        if self.options:
            d["options"] = [dict(value=o.value, label=o.label, box=o.box.json(), label_box=o.label_box.json())
                            for o in self.options]
            d["multiple"] = self.multiple
        if self.prefilled_only:
            d["prefilled_only"] = True
        return d


@dataclass(frozen=True)
class Text:
    """Printed words of the form itself: titles, notices, row numbers, units."""
    box: Box
    text: str
    style: str  # title | band | rowno | unit | notice | caption | classification
    prefilled_only: bool = False
    blank_only: bool = False


@dataclass(frozen=True)
class Slot:
    """A box the overlay fills for each card: identity and header facts."""
    id: str  # post | officer | created_on | print_id | page | seq
    label: str
    box: Box


@dataclass(frozen=True)
class Section:
    id: str
    title: str
    box: Box  # frame around band and fields
    band: Box


@dataclass(frozen=True)
class Page:
    form: str
    version: int
    number: int  # 1: the card; 2 and after: continuation sheets
    markers: tuple[Box, ...]  # top-left, top-right, bottom-left, bottom-right
    qr: Box
    slots: tuple[Slot, ...]
    sections: tuple[Section, ...]
    fields: tuple[Field, ...]
    texts: tuple[Text, ...]
    rows: dict[str, tuple[int, int]]  # group -> (first row, last row) on this page

    @property
    def continuation(self) -> bool:
        return self.number > 1

    def field(self, field_id: str) -> Field:
        for f in self.fields:
            if f.id == field_id:
                return f
        raise KeyError(field_id)

    def slot(self, slot_id: str) -> Slot:
        return next(s for s in self.slots if s.id == slot_id)

    def json(self) -> dict:
        return dict(
            page=self.number, kind="continuation" if self.continuation else "card",
            rows={g: dict(first=a, last=b) for g, (a, b) in self.rows.items()},
            markers=[dict(corner=c, box=b.json()) for c, b in zip(("top_left", "top_right", "bottom_left",
                                                                    "bottom_right"), self.markers)],
            qr=self.qr.json(),
            slots=[dict(id=s.id, label=s.label, box=s.box.json()) for s in self.slots],
            sections=[dict(id=s.id, title=s.title, box=s.box.json(), band=s.band.json()) for s in self.sections],
            fields=[f.json() for f in self.fields],
        )


# --- widths of printed words (the form's own labels are all in one gothic face) ---


def text_width(text: str, pt: float) -> float:
    """Approximate printed width in mm: full-width characters are one em, others half."""
    ems = sum(1.0 if unicodedata.east_asian_width(ch) in "WFA" else 0.6 for ch in text)
    return ems * pt * PT


# --- the builder -----------------------------------------------------------------------


class _Builder:
    def __init__(self, form: str, number: int):
        self.form, self.number = form, number
        self.fields: list[Field] = []
        self.texts: list[Text] = []
        self.sections: list[Section] = []
        self.slots: list[Slot] = []
        self.rows: dict[str, tuple[int, int]] = {}

    # fields ------------------------------------------------------------------

    def _frame(self, x: float, y: float, w: float, h: float, label: str) -> tuple[Box, Box, Box, Box]:
        box = Box(x, y, w, h)
        lw = text_width(label, LABEL_PT) + 1.2
        label_box = Box(x + 0.6, y, lw, STRIP)
        value_box = Box(x + 0.6 + lw + 0.4, y + 0.1, w - lw - 1.8, STRIP - 0.2)
        entry = Box(x, y + STRIP, w, h - STRIP)
        return box, label_box, value_box, entry

    def text(self, fid: str, label: str, x: float, y: float, w: float, section: str, kind: str = "text",
             h: float = STRIP + ENTRY, path: str | None = None, prefilled: bool = True, **row) -> Field:
        box, label_box, value_box, entry = self._frame(x, y, w, h, label)
        f = Field(fid, label, kind, section, box, label_box, entry, value_box if prefilled else None,
                  path, **row)
        self.fields.append(f)
        return f

    def digits(self, fid: str, label: str, x: float, y: float, n: int, section: str, path: str | None = None,
               split: int | None = None, **row) -> Field:
        w = 2.0 + n * CELL_W + (2.5 if split else 0.0)
        box, label_box, value_box, entry = self._frame(x, y, w, STRIP + ENTRY, label)
        cells, cx = [], x + 1.0
        for i in range(n):
            if split and i == split:
                self.texts.append(Text(Box(cx, y + STRIP, 2.5, ENTRY), "-", "unit"))
                cx += 2.5
            cells.append(Box(cx, y + STRIP, CELL_W, ENTRY))
            cx += CELL_W
        groups = (("first", 0, split), ("second", split, n - split)) if split else ()
        f = Field(fid, label, "digits", section, box, label_box, entry, value_box, path, cells=tuple(cells),
                  groups=groups, **row)
        self.fields.append(f)
        return f

    def date(self, fid: str, label: str, x: float, y: float, section: str, path: str | None,
             prefilled: bool = True, **row) -> Field:
        eras, units = [], []
        ex = x + 1.0
        ty = y + STRIP + (ENTRY - TICK) / 2
        for name, _ in ERAS:
            lw = text_width(name[0], OPTION_PT)
            eras.append(Option(name, name[0], Box(ex, ty, TICK, TICK), Box(ex + TICK + 0.6, ty, lw, TICK)))
            ex += TICK + 0.6 + lw + 1.2
        cx = ex + 0.6
        cells = []
        for unit in "年月日":
            for _ in range(2):
                cells.append(Box(cx, y + STRIP, CELL_W, ENTRY))
                cx += CELL_W
            units.append(Text(Box(cx, y + STRIP, 3.4, ENTRY), unit, "unit"))
            cx += 3.4
        w = cx + 0.6 - x
        box, label_box, value_box, entry = self._frame(x, y, w, STRIP + ENTRY, label)
        self.texts.extend(units)
        f = Field(fid, label, "date", section, box, label_box, entry, value_box if prefilled else None, path,
                  cells=tuple(cells), groups=(("year", 0, 2), ("month", 2, 2), ("day", 4, 2)),
                  options=tuple(eras), **row)
        self.fields.append(f)
        return f

    def checkbox(self, fid: str, label: str, x: float, y: float, choices, section: str, path: str | None,
                 multiple: bool = False, w: float | None = None, prefilled: bool = True,
                 prefilled_only: bool = False, **row) -> Field:
        opts, ox = [], x + 1.0
        ty = y + STRIP + 0.5
        for value, text in choices:
            lw = text_width(text, OPTION_PT)
            opts.append(Option(value, text, Box(ox, ty, TICK, TICK), Box(ox + TICK + 0.6, ty, lw, TICK)))
            ox += TICK + 0.6 + lw + 2.0
        width = max(w or 0.0, ox - 1.0 - x + 1.0, text_width(label, LABEL_PT) + 2.0)
        box, label_box, value_box, entry = self._frame(x, y, width, STRIP + TICK + 1.0, label)
        f = Field(fid, label, "checkbox", section, box, label_box, entry, value_box if prefilled else None,
                  path, options=tuple(opts), multiple=multiple, prefilled_only=prefilled_only, **row)
        self.fields.append(f)
        return f

    def change_boxes(self, section: str, band: Box) -> None:
        """変更なし / 変更あり for a section, stacked in its band (pre-filled cards only)."""
        opts = []
        y = band.y + 8.0  # below a title of up to two lines
        for value, text in ((UNCHANGED, "変更なし"), (CHANGED, "変更あり")):
            opts.append(Option(value, text, Box(band.x + 0.8, y, TICK, TICK),
                               Box(band.x + 0.8 + TICK + 0.5, y, band.w - TICK - 1.6, TICK)))
            y += TICK + 1.5
        frame = Box(band.x, band.y + 7.5, band.w, y - 1.5 + 0.5 - band.y - 7.5)
        self.fields.append(Field(f"{section}.change", "変更の有無", "checkbox", section, frame,
                                 Box(frame.x, frame.y, 0, 0), frame, None, f"@change.{section}",
                                 options=tuple(opts), prefilled_only=True))

    # sections ------------------------------------------------------------------

    def section(self, sid: str, title: str, y: float, h: float, change: bool = True) -> Section:
        box = Box(LEFT, y, RIGHT - LEFT, h)
        band = Box(LEFT, y, BAND_W, h)
        s = Section(sid, title, box, band)
        self.sections.append(s)
        self.texts.append(Text(Box(band.x + 0.8, y + 0.8, band.w - 1.6, 7.0), title, "band"))
        if change:
            self.change_boxes(sid, band)
        return s

    def build(self, markers, qr) -> Page:
        return Page(self.form, VERSION, self.number, markers, qr, tuple(self.slots), tuple(self.sections),
                    tuple(self.fields), tuple(self.texts), dict(self.rows))


def _markers() -> tuple[Box, ...]:
    far_x, far_y = PAGE_W - MARKER_INSET - MARKER, PAGE_H - MARKER_INSET - MARKER
    return tuple(Box(x, y, MARKER, MARKER) for y in (MARKER_INSET, far_y) for x in (MARKER_INSET, far_x))


QR_BOX = Box(RIGHT - 24.0, 15.0, 24.0, 24.0)
HEADER_END = 41.0


def _header(b: _Builder, form: str) -> None:
    """Title, 記入日, post and officer, purpose of the card (個人情報保護法 第62条), identity."""
    continuation = b.number > 1
    kind = model.PREMISES_KINDS[form] + "用" + ("・続き" if continuation else "")
    # every sheet: a card filled in or pre-filled is personal data wherever it travels;
    # in the top margin between the markers, where nothing is read
    b.texts.append(Text(Box(PAGE_W / 2 - 15.0, 8.5, 30.0, 4.0), CLASSIFICATION, "classification"))
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


def _row_number(b: _Builder, group: str, n: int, y: float) -> None:
    b.texts.append(Text(Box(FIELD_X, y, ROWNO_W, 6.0), str(n), "rowno"))


def _member_rows(b: _Builder, first: int, count: int, y: float) -> None:
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
        f = b.checkbox(f"{p}.relation", "続柄", x0, y, [(r, r) for r in model.RELATIONS], "members",
                       path + "relation", **row)
        b.checkbox(f"{p}.sex", "性別", f.box.right + GAP, y, [(s, s) for s in model.SEXES], "members",
                   path + "sex", w=RIGHT - f.box.right - GAP, **row)
        y += STRIP + TICK + 1.0 + ROW_GAP
    b.rows["members"] = (first, first + count - 1)


def _contact_rows(b: _Builder, first: int, count: int, y: float) -> None:
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


def _group(b: _Builder, group: str, first: int, count: int, y: float) -> float:
    """A section of repeated rows; returns where the next section starts."""
    line, check = STRIP + ENTRY + PITCH, STRIP + TICK + 1.0
    per_row = 2 * line + (check if group == "members" else 0.0) + ROW_GAP
    h = count * per_row - ROW_GAP + 1.2
    title = {"members": "世帯員", "contacts": "緊急連絡先"}[group]
    b.section(group, title if first == 1 else f"{title}\n（続き）", y, h, change=first == 1)
    (_member_rows if group == "members" else _contact_rows)(b, first, count, y + 0.6)
    return y + h + 1.0


def _address(b: _Builder, y: float, household: bool) -> float:
    line = STRIP + ENTRY + PITCH
    h = max((2 if household else 1) * line + 0.8, 21.0)
    b.section("address", "所在地・\n住居" if household else "所在地", y, h)
    yy = y + 0.6
    f = b.digits("postal_code", "郵便番号", FIELD_X, yy, 7, "address", "@premises.postal_code", split=3)
    b.text("address", "住所（建物名・部屋番号まで）", f.box.right + GAP, yy, RIGHT - f.box.right - GAP, "address",
           path="@premises.address")
    if household:
        yy += line
        f = b.checkbox("dwelling", "住居の種類", FIELD_X, yy, [(d, d) for d in model.DWELLINGS], "address",
                       "dwelling")
        b.digits("home_phone", "自宅電話", f.box.right + GAP, yy, 11, "address", "home_phone")
    return y + h + 1.0


def _opinion(b: _Builder, y: float) -> None:
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
    b = _Builder(model.HOUSEHOLD, number)
    _header(b, model.HOUSEHOLD)
    rows = _continuation_rows(model.HOUSEHOLD, number)
    y = HEADER_END
    if number == 1:
        y = _address(b, y, household=True)
    y = _group(b, "members", *rows["members"], y)
    y = _group(b, "contacts", *rows["contacts"], y)
    if number == 1:
        h = (STRIP + TICK + 1.0) + PITCH + (STRIP + ENTRY) + 1.2
        b.section("visit", "訪問の希望\n・備考", y, h)
        yy = y + 0.6
        f = b.checkbox("visit_days", "訪問を希望する曜日", FIELD_X, yy, [(d, d) for d in model.VISIT_DAYS], "visit",
                       "visit_days", multiple=True, w=62.0)
        b.checkbox("visit_times", "訪問を希望する時間帯", f.box.right + GAP, yy, [(t, t) for t in model.VISIT_TIMES],
                   "visit", "visit_times", multiple=True, w=RIGHT - f.box.right - GAP)
        yy += STRIP + TICK + 1.0 + PITCH
        b.text("notes", "備考（ペット、日中不在が多いなど）", FIELD_X, yy, RIGHT - FIELD_X, "visit", "free", path="notes")
        _opinion(b, y + h + 1.0)
    return b.build(_markers(), QR_BOX)


def _business(number: int) -> Page:
    b = _Builder(model.BUSINESS, number)
    _header(b, model.BUSINESS)
    rows = _continuation_rows(model.BUSINESS, number)
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
        b.checkbox("security", "防犯設備", FIELD_X, yy, [(s, s) for s in model.SECURITY], "business", "security",
                   multiple=True, w=RIGHT - FIELD_X)
        y += h + 1.0
    y = _group(b, "contacts", *rows["contacts"], y)
    if number == 1:
        h = 21.0
        b.section("notes", "備考", y, h)
        b.text("notes", "備考（営業時間外の連絡方法など）", FIELD_X, y + 0.6, RIGHT - FIELD_X, "notes", "free",
               h=h - 1.2, path="notes")
        _opinion(b, y + h + 1.0)
    return b.build(_markers(), QR_BOX)


@lru_cache(maxsize=64)
def page(form: str, number: int = 1, version: int = VERSION) -> Page:
    """The layout of one page of a card: 1 is the card, 2 and after are continuation sheets."""
    if form not in TYPES:
        raise JunkaiError(f"カードの種類は {' / '.join(TYPES)} です: {form!r}")
    if version != VERSION:
        raise JunkaiError(f"この版の様式は読めません: {form} 第{version}版 (現行 第{VERSION}版)")
    if number < 1:
        raise JunkaiError(f"用紙の番号は 1 以上です: {number}")
    return _household(number) if form == model.HOUSEHOLD else _business(number)


def pages_needed(form: str, counts: dict[str, int]) -> int:
    """Sheets a card needs: every row printed, and at least one empty member row for a newcomer."""
    need = 1
    for group, (first, more) in ROWS[form].items():
        rows = counts.get(group, 0) + (1 if group == "members" else 0)
        if rows > first:
            need = max(need, 1 + -(-(rows - first) // more))
    return need


def describe(form: str, pages: int = 2) -> dict:
    """The whole definition as plain data: what `junkai form describe` prints."""
    first = page(form, 1)
    return dict(
        form=form, version=VERSION, title=TITLES[form], units="mm", origin="top_left",
        page_size=dict(w=PAGE_W, h=PAGE_H, name="A4"), dropout_color=DROPOUT,
        kinds=dict(text="手書きの文字", kana="カタカナ", digits="1マス1字の数字", date="元号の□と年月日の数字",
                   checkbox="□ に ✓ (multiple: 複数可)", free="自由記述"),
        rows={g: dict(first_page=a, each_continuation=b) for g, (a, b) in ROWS[form].items()},
        qr=dict(box=first.qr.json(), payload="junkai.qr: JK<form><version>:<print id>:<page>/<pages>:"
                                              "<premises id>:<card version>:<beat>:<tag>"),
        pages=[page(form, n).json() for n in range(1, pages + 1)],
    )


# --- from a form field to the card model ---------------------------------------------------


def model_path(field_id: str, row_keys: dict[str, dict[str, str]], form: str = model.HOUSEHOLD) -> str | None:
    """The card path a field of a printed card stands for.

    `row_keys` is what was recorded when the card was printed: form row -> member or
    contact key. An empty row (a newcomer) has no key yet: None is returned for its
    fields and the caller allocates one (model.next_key). Facts outside the card keep
    their "@" path.
    """
    parts = field_id.split(".")
    group_fields = {"members": model.MEMBER_FIELDS, "contacts": model.CONTACT_FIELDS}
    if parts[0] in group_fields and len(parts) >= 2 and parts[1].isdigit():
        key = row_keys.get(parts[0], {}).get(parts[1])
        if key is None:
            return None
        if len(parts) == 3 and parts[2] == "remove":
            return f"{parts[0]}.{key}"
        return ".".join([parts[0], key, *parts[2:]])
    f = page(form, 1).field(field_id) if field_id in {x.id for x in page(form, 1).fields} else None
    if f is None:
        raise JunkaiError(f"様式にない項目です: {field_id}")
    return f.path

