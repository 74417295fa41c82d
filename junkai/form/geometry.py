"""The drawing primitives every published card layout is made of.

A layout (junkai.form.v1, ...) places fields with `Builder`; what it builds is a
`Page` of boxes in millimetres from the top-left corner of an A4 sheet. Each field
box has a tinted strip at the top (its label and, on a pre-filled card, today's
value) and a white entry area below it where the resident writes. Entry lines and
boxes are drawn in DROPOUT, a light colour that a scan can separate from ink.

Published layouts are built from these primitives, so nothing here may change a
box they produce (tests/published_forms pins version 1 to the float). A layout that
needs other proportions gets them as a new version, not by editing this module.
"""

from __future__ import annotations

import unicodedata
from dataclasses import asdict, dataclass
from typing import Any, ClassVar

PAGE_W, PAGE_H = 210.0, 297.0
DROPOUT = "#F2A58E"  # red channel 0xF2: a red-channel scan keeps the ink and loses the form
TINT = "#FDF1EC"  # strip background: printed, not for writing

MARKER = 6.0
MARKER_INSET = 7.0
LEFT, RIGHT = 10.0, 200.0
BAND_W = 17.0  # section title and its 変更なし / 変更あり boxes
STRIP = 3.5  # label and printed value
ENTRY = 6.5  # handwriting height; comb cells are CELL_W x ENTRY
CELL_W = 6.0
TICK = 5.0

LABEL_PT = 6.0  # strip labels
OPTION_PT = 7.5  # tick box labels
VALUE_PT = 9.0  # largest size of a printed value
PT = 25.4 / 72  # mm per point

# Change boxes of a section, and the one box of a member or contact row.
UNCHANGED, CHANGED, REMOVED = "unchanged", "changed", "removed"


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
    id: str  # post | officer | created_on | print_id | page | seq | contact (version 2: keeper, whom to ask)
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
    card_sheets: ClassVar[int] = 1  # sheets the card itself takes; continuation sheets follow them
    value_pt: ClassVar[float] = VALUE_PT  # printed values: largest size, and the least they may shrink to
    value_min_pt: ClassVar[float] = 6.0
    guide_mm: ClassVar[float] = 7.0  # between the writing lines of a free-text box
    option_pt: ClassVar[float] = OPTION_PT  # tick box labels as printed (templates/card.css): the reader
    change_pt: ClassVar[float] = 7.0  # masks their glyphs; 変更なし / 変更あり
    # style -> size (pt) printed inline, for a layout card.css does not size (its words, options, ...)
    text_pt: ClassVar[dict[str, float]] = {}

    @property
    def sheet_class(self) -> str:
        """The class card.css sizes this page by: its version's, unless it sizes itself (text_pt)."""
        return f"{self.form}-v{self.version}" if self.text_pt else f"v{self.version}"

    @property
    def continuation(self) -> bool:
        return self.number > self.card_sheets

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


def text_width(text: str, pt: float, half: float = 0.6) -> float:
    """Approximate printed width in mm: full-width characters are one em, others `half` of one."""
    ems = sum(1.0 if unicodedata.east_asian_width(ch) in "WFA" else half for ch in text)
    return ems * pt * PT


# --- the builder -----------------------------------------------------------------------


class Builder:
    """Places the fields of one page; `eras` are the era boxes of its date fields, in order.

    The sizes default to version 1's; a later layout passes its own (larger) ones."""

    def __init__(self, form: str, number: int, version: int, eras: tuple[str, ...], *, strip: float = STRIP,
                 entry: float = ENTRY, cell_w: float = CELL_W, tick: float = TICK, label_pt: float = LABEL_PT,
                 option_pt: float = OPTION_PT, option_gap: float = 2.0, label_gap: float = 0.6, era_gap: float = 1.2,
                 band_w: float = BAND_W, band_title: float = 8.0, half_em: float = 0.6):
        self.form, self.number, self.version, self.eras = form, number, version, eras
        self.strip, self.entry, self.cell_w, self.tick = strip, entry, cell_w, tick
        self.label_pt, self.option_pt = label_pt, option_pt
        # after a box-label pair; between a box and its own label (narrower, so a tick belongs to one pair)
        self.option_gap, self.label_gap, self.era_gap = option_gap, label_gap, era_gap
        self.band_w, self.band_title = band_w, band_title  # section band, and the room its title takes
        # an option label's digits and Latin letters, in ems: IPAex sets digits at 0.63, and a label wider
        # than its room is wrapped, its last character under the next box
        self.half_em = half_em
        self.fields: list[Field] = []
        self.texts: list[Text] = []
        self.sections: list[Section] = []
        self.slots: list[Slot] = []
        self.rows: dict[str, tuple[int, int]] = {}

    # fields ------------------------------------------------------------------

    def _frame(self, x: float, y: float, w: float, h: float, label: str,
               strip: float | None = None) -> tuple[Box, Box, Box, Box]:
        strip = self.strip if strip is None else strip  # a taller strip: a long value on two lines
        box = Box(x, y, w, h)
        lw = text_width(label, self.label_pt) + 1.2
        label_box = Box(x + 0.6, y, lw, strip)
        value_box = Box(x + 0.6 + lw + 0.4, y + 0.1, w - lw - 1.8, strip - 0.2)
        entry = Box(x, y + strip, w, h - strip)
        return box, label_box, value_box, entry

    def text(self, fid: str, label: str, x: float, y: float, w: float, section: str, kind: str = "text",
             h: float | None = None, path: str | None = None, prefilled: bool = True,
             strip: float | None = None, **row) -> Field:
        h = (self.strip if strip is None else strip) + self.entry if h is None else h
        box, label_box, value_box, entry = self._frame(x, y, w, h, label, strip)
        f = Field(fid, label, kind, section, box, label_box, entry, value_box if prefilled else None,
                  path, **row)
        self.fields.append(f)
        return f

    def digits(self, fid: str, label: str, x: float, y: float, n: int, section: str, path: str | None = None,
               split: int | None = None, **row) -> Field:
        w = 2.0 + n * self.cell_w + (2.5 if split else 0.0)
        box, label_box, value_box, entry = self._frame(x, y, w, self.strip + self.entry, label)
        cells, cx = [], x + 1.0
        for i in range(n):
            if split and i == split:
                self.texts.append(Text(Box(cx, y + self.strip, 2.5, self.entry), "-", "unit"))
                cx += 2.5
            cells.append(Box(cx, y + self.strip, self.cell_w, self.entry))
            cx += self.cell_w
        groups = (("first", 0, split), ("second", split, n - split)) if split else ()
        f = Field(fid, label, "digits", section, box, label_box, entry, value_box, path, cells=tuple(cells),
                  groups=groups, **row)
        self.fields.append(f)
        return f

    def date(self, fid: str, label: str, x: float, y: float, section: str, path: str | None,
             prefilled: bool = True, **row) -> Field:
        eras, units = [], []
        ex = x + 1.0
        ty = y + self.strip + (self.entry - self.tick) / 2
        for name in self.eras:
            lw = text_width(name[0], self.option_pt)
            eras.append(Option(name, name[0], Box(ex, ty, self.tick, self.tick),
                               Box(ex + self.tick + self.label_gap, ty, lw, self.tick)))
            ex += self.tick + self.label_gap + lw + self.era_gap
        cx = ex + 0.6
        cells = []
        for unit in "年月日":
            for _ in range(2):
                cells.append(Box(cx, y + self.strip, self.cell_w, self.entry))
                cx += self.cell_w
            units.append(Text(Box(cx, y + self.strip, 3.4, self.entry), unit, "unit"))
            cx += 3.4
        w = cx + 0.6 - x
        box, label_box, value_box, entry = self._frame(x, y, w, self.strip + self.entry, label)
        self.texts.extend(units)
        f = Field(fid, label, "date", section, box, label_box, entry, value_box if prefilled else None, path,
                  cells=tuple(cells), groups=(("year", 0, 2), ("month", 2, 2), ("day", 4, 2)),
                  options=tuple(eras), **row)
        self.fields.append(f)
        return f

    def checkbox(self, fid: str, label: str, x: float, y: float, choices, section: str, path: str | None,
                 multiple: bool = False, w: float | None = None, prefilled: bool = True,
                 prefilled_only: bool = False, wrap: float | None = None, strip: float | None = None,
                 **row) -> Field:
        """Tick boxes, each directly before its label; with `wrap` (a right edge) pairs run on to more lines;
        a taller `strip` gives the printed value more lines."""
        strip = self.strip if strip is None else strip
        opts, ox = [], x + 1.0
        ty = y + strip + 0.5
        lines = 1
        for value, text in choices:
            lw = text_width(text, self.option_pt, self.half_em)
            if wrap is not None and opts and ox + self.tick + self.label_gap + lw > wrap:
                ox, ty, lines = x + 1.0, ty + self.tick + 1.5, lines + 1
            opts.append(Option(value, text, Box(ox, ty, self.tick, self.tick),
                               Box(ox + self.tick + self.label_gap, ty, lw, self.tick)))
            ox += self.tick + self.label_gap + lw + self.option_gap
        width = max(w or 0.0, max(o.label_box.right for o in opts) + self.option_gap - x,
                    text_width(label, self.label_pt) + 2.0) if wrap is not None else \
            max(w or 0.0, ox - 1.0 - x + 1.0, text_width(label, self.label_pt) + 2.0)
        h = strip + self.tick + 1.0 + (lines - 1) * (self.tick + 1.5)
        box, label_box, value_box, entry = self._frame(x, y, width, h, label, strip)
        f = Field(fid, label, "checkbox", section, box, label_box, entry, value_box if prefilled else None,
                  path, options=tuple(opts), multiple=multiple, prefilled_only=prefilled_only, **row)
        self.fields.append(f)
        return f

    def change_boxes(self, section: str, band: Box) -> None:
        """変更なし / 変更あり for a section, stacked in its band (pre-filled cards only)."""
        opts = []
        y = band.y + self.band_title  # below a title of up to two lines
        for value, text in ((UNCHANGED, "変更なし"), (CHANGED, "変更あり")):
            opts.append(Option(value, text, Box(band.x + 0.8, y, self.tick, self.tick),
                               Box(band.x + 0.8 + self.tick + 0.5, y, band.w - self.tick - 1.6, self.tick)))
            y += self.tick + 1.5
        top = self.band_title - 0.5
        frame = Box(band.x, band.y + top, band.w, y - 1.5 + 0.5 - band.y - top)
        self.fields.append(Field(f"{section}.change", "変更の有無", "checkbox", section, frame,
                                 Box(frame.x, frame.y, 0, 0), frame, None, f"@change.{section}",
                                 options=tuple(opts), prefilled_only=True))

    # sections ------------------------------------------------------------------

    def section(self, sid: str, title: str, y: float, h: float, change: bool = True) -> Section:
        box = Box(LEFT, y, RIGHT - LEFT, h)
        band = Box(LEFT, y, self.band_w, h)
        s = Section(sid, title, box, band)
        self.sections.append(s)
        self.texts.append(Text(Box(band.x + 0.8, y + 0.8, band.w - 1.6, self.band_title - 1.0), title, "band"))
        if change:
            self.change_boxes(sid, band)
        return s

    def build(self, markers, qr, kind: type[Page] = Page) -> Page:
        return kind(self.form, self.version, self.number, markers, qr, tuple(self.slots), tuple(self.sections),
                    tuple(self.fields), tuple(self.texts), dict(self.rows))



# --- what a scan is read by before its version is known ---------------------------------
# The reader finds the four markers, the QR code and the title to straighten a scan, then
# takes the version from the QR code: every published version keeps these where they are.

QR_BOX = Box(RIGHT - 24.0, 15.0, 24.0, 24.0)


def markers() -> tuple[Box, ...]:
    """top-left, top-right, bottom-left, bottom-right."""
    far_x, far_y = PAGE_W - MARKER_INSET - MARKER, PAGE_H - MARKER_INSET - MARKER
    return tuple(Box(x, y, MARKER, MARKER) for y in (MARKER_INSET, far_y) for x in (MARKER_INSET, far_x))
