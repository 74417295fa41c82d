"""Tick boxes marked as people mark them, on real printed cards, scanned and read back by the reader.

Every mark style of the simulator (✓, ×, blacked out, ○ in or around the box, ○ around the label,
a tick half outside the box) must read as the option it was meant for; specks and scanner speckle
must never read as a tick the reader is sure of. bench/marks.py measures the same over a few
hundred boxes per style (99.2-100 % right per style, none sure and wrong, no speck read as a tick).
"""

from __future__ import annotations

import random

import numpy as np
import pytest

from bench import marks as B
from junkai import qr
from junkai import simulate as S
from junkai.readings import Reason
from ocr import pages as P
from ocr import read as R
from tests.ocr_cards import printed, printed_v1

STYLES = list(S.MARK_STYLES)
VERSIONS = [1, 2]  # a card still out in the first layout, and a new one


def _card(version: int | None = None):
    """Every sheet of a freshly rasterised pre-filled card (a clean copy each time), in layout `version`
    (None: the newest, as new cards are printed)."""
    home, cards_pdf, _ = printed()
    return S._printed_sheets(printed_v1() if version == 1 else cards_pdf, qr.station_key(home), limit=1)[0]


def _sheet(version: int | None = None):
    """The first sheet of a freshly rasterised pre-filled card."""
    return _card(version)[0]


def _holding(sheets, fid: str):
    """The sheet of a card whose layout places field `fid` (a row may be on any sheet of a layout)."""
    return next(s for s in sheets if fid in {f.id for f in s.layout.fields})


def _read(sheet, condition: str, seed: int) -> dict:
    """The sheet scanned under a condition, aligned and its tick-box fields read: id -> FieldReading."""
    arr, dpi = B.degrade(sheet.image, condition, random.Random(seed), np.random.default_rng(seed))
    aligned = R.align(arr, dpi).image
    return {f.id: R._checkbox(f, aligned) for f in sheet.layout.fields if f.options}


def _chosen(fr) -> set:
    v = fr.value
    return set(v) if isinstance(v, list) else ({v} if v is not None else set())


def _sure(fr) -> bool:
    return fr.confidence >= B.SURE and not fr.reasons


@pytest.mark.parametrize("condition", ["grey200", pytest.param("bw200", marks=pytest.mark.slow),
                                       pytest.param("light", marks=pytest.mark.slow),
                                       pytest.param("colour200", marks=pytest.mark.slow),
                                       pytest.param("speckle", marks=pytest.mark.slow)])
def test_every_mark_style_reads_as_its_option(condition):
    sheet = _sheet()
    rng = random.Random(3)
    styles = STYLES * 6
    truth = B.fill_marks(sheet, rng, styles, empty_share=0.0)
    read = _read(sheet, condition, 3)
    seen, wrong, sure_wrong = set(), [], []
    for t in truth:
        fr = read[t["field"]]
        want = set(t["marked"])
        seen.update(t["marked"].values())
        if _chosen(fr) != want:
            wrong.append((t["field"], t["marked"], fr.value, fr.reasons, fr.detail))
            if _sure(fr):
                sure_wrong.append(t["field"])
        for o in t["specks"]:
            assert o not in _chosen(fr), (t["field"], o, fr.detail)  # a speck is not a tick
    assert seen == set(STYLES)
    # measured 99.2-100 % per style over 96 pages: one miss in a page's 26 fields is the margin
    assert len(wrong) <= 1, wrong
    assert not sure_wrong, wrong


@pytest.mark.parametrize("condition", ["bw_adaptive", "bw_dither", pytest.param("bw_dark", marks=pytest.mark.slow)])
def test_box_outlines_a_black_and_white_scan_makes_as_dark_as_a_pen_are_not_marks(condition):
    """Black-and-white scans turn the pale printed box outlines black (a local or dark threshold) or into
    dots (dither): an empty box is still empty, and a ○ drawn tight round a box, along its outline,
    still reads as that option."""
    sheets = _card(2)
    rng = random.Random(8)
    hand = S.Hand.random(rng)
    sheet = _holding(sheets, "members.1.sex")
    f = sheet.layout.field("members.1.sex")
    o = f.options[1]
    S.mark(sheet.image, o.box, "ring_box", hand, rng, label=o.label_box)
    read = _read(sheet, condition, 8)
    assert read["members.1.sex"].value == o.value, read["members.1.sex"].detail
    ticked = {fid: fr.detail for fid, fr in read.items() if fid != "members.1.sex" and _chosen(fr)}
    assert not ticked


def test_a_pen_line_along_a_box_outline_is_seen_where_the_scan_drops_the_outlines():
    """Where the pale outlines drop out (grey and colour scans), a pen stroke drawn right along one is ink
    to explain, not print: never an empty field the reader is sure of."""
    import cv2
    from PIL import Image

    sheet = _holding(_card(2), "members.1.sex")
    box = sheet.layout.field("members.1.sex").options[0].box
    px = S.PRINT_DPI / 25.4
    canvas = np.asarray(sheet.image).copy()
    cv2.line(canvas, (int((box.x - 0.5) * px), int(box.bottom * px)), (int((box.right + 0.2) * px), int(box.bottom * px)),
             (20, 20, 20), 5)
    sheet.image = Image.fromarray(canvas)
    fr = _read(sheet, "grey300", 5)["members.1.sex"]
    assert fr.ink and not (fr.value is None and _sure(fr)), (fr.value, fr.confidence, fr.detail)


@pytest.mark.parametrize("seed", [8, pytest.param(9, marks=pytest.mark.slow)])
def test_a_ring_round_a_change_box_that_runs_over_the_sections_outline_is_read(seed):
    """The 変更なし / 変更あり boxes stand close to the section's printed outline, which a black-and-white
    scan makes black: a ○ round the box runs over that rule and out of the window with it."""
    sheet = _holding(_card(2), "address.change")
    rng = random.Random(seed)
    o = sheet.layout.field("address.change").options[1]
    S.mark(sheet.image, o.box, "ring_box", S.Hand.random(rng), rng, label=o.label_box)
    fr = _read(sheet, "bw_adaptive", seed)["address.change"]
    assert fr.value == o.value, fr.detail


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("condition", ["grey300", pytest.param("bw200", marks=pytest.mark.slow)])
def test_specks_and_speckle_are_never_sure_ticks(condition, version):
    """Specks of dust and toner (0.6-1.8 mm) in every box, on pages covered with speckle: the first
    sheet of a version 1 card, every sheet of a version 2 card (it spreads its boxes over more sheets)."""
    rng = random.Random(5)
    boxes = ticked = 0
    for sheet in _card(version)[:1 if version == 1 else None]:
        fields = [f for f in sheet.layout.fields if f.options]
        for f in fields:
            for o in f.options:
                S.speck(sheet.image, rng.uniform(o.box.x + 0.8, o.box.right - 0.8),
                        rng.uniform(o.box.y + 0.8, o.box.bottom - 0.8), rng.uniform(0.6, 1.8), rng)
        arr, dpi = B.degrade(sheet.image, condition, rng, np.random.default_rng(5))
        arr = B.speckle(arr, np.random.default_rng(6), dpi, per_cm2=12)
        aligned = R.align(arr, dpi).image
        for f in fields:
            fr = R._checkbox(f, aligned)
            boxes += len(f.options)
            assert not (_chosen(fr) and _sure(fr)), (f.id, fr.value, fr.confidence, fr.detail)
            ticked += len(_chosen(fr))
            if fr.value in (None, []) and not fr.reasons:
                assert fr.confidence < 1.0  # ink it cannot explain, however little: never full confidence
    # measured: at most one box read as ticked, never sure (a speck trailing dust like a stroke)
    assert boxes > 90 and ticked <= 2


@pytest.mark.parametrize("version", VERSIONS)
def test_a_speck_in_an_empty_rows_box_is_not_a_tick(version):
    """The ~1 mm speck in an empty row's 性別 box that once made a member with no name."""
    sheet = _holding(_card(version), "members.4.sex")
    rng = random.Random(8)
    f = sheet.layout.field("members.4.sex")
    women = f.options[1].box
    S.speck(sheet.image, women.x + 2.5, women.y + 2.2, 1.0, rng)
    fr = _read(sheet, "bw200", 8)["members.4.sex"]
    assert fr.value is None and fr.detail["女"] == "speck" and 0.8 <= fr.confidence < 1.0


@pytest.mark.parametrize("version", VERSIONS)
def test_a_blacked_out_box_is_a_tick_alone_and_takes_a_tick_back_beside_another(version):
    """Blacked out on its own, a box is the resident's tick; blacked out (or struck through, 二重線)
    beside a tick in the same field, it is a tick taken back: the other option, for a person to confirm."""
    sheets = _card(version)
    rng = random.Random(4)
    hand = S.Hand.random(rng)

    def mark(fid: str, option: int, style: str) -> None:
        sheet = _holding(sheets, fid)
        o = sheet.layout.field(fid).options[option]
        S.mark(sheet.image, o.box, style, hand, rng, label=o.label_box)

    mark("members.1.sex", 1, "fill")
    mark("members.2.sex", 0, "scribble")
    mark("members.2.sex", 1, "check")
    mark("members.3.sex", 1, "strike")
    mark("members.3.sex", 0, "check")
    mark("members.4.sex", 0, "strike")
    read = {}
    for sheet in {id(_holding(sheets, f"members.{n}.sex")): _holding(sheets, f"members.{n}.sex")
                  for n in range(1, 5)}.values():
        read.update(_read(sheet, "grey200", 4))
    alone = read["members.1.sex"]
    assert alone.value == "女" and _sure(alone)
    for fid, value in (("members.2.sex", "女"), ("members.3.sex", "男")):
        fr = read[fid]
        assert fr.value == value and Reason.CANCELLED_MARK in fr.reasons and not _sure(fr), (fid, fr.detail)
    struck = read["members.4.sex"]  # ticked, then struck through, nothing else: nothing, to be seen
    assert struck.value is None and Reason.CANCELLED_MARK in struck.reasons


@pytest.mark.parametrize("version", VERSIONS)
def test_ink_the_reader_cannot_explain_is_doubt_not_a_value(version):
    """A short stroke in a box (too small for a tick, too long for a speck) and a line beside a label:
    ambiguous, at low confidence."""
    import cv2
    from PIL import Image

    sheets = _card(version)
    px = S.PRINT_DPI / 25.4
    read = {}
    for fid, draw in (("members.1.sex", "stroke"), ("members.2.sex", "underline")):
        sheet = _holding(sheets, fid)
        canvas = np.asarray(sheet.image).copy()
        if draw == "stroke":
            box = sheet.layout.field(fid).options[0].box
            cv2.line(canvas, (int((box.x + 1.8) * px), int((box.y + 2.5) * px)),
                     (int((box.x + 3.2) * px), int((box.y + 2.8) * px)), (20, 20, 20), 5)
        else:
            label = sheet.layout.field(fid).options[1].label_box
            cv2.line(canvas, (int((label.x - 0.3) * px), int((label.bottom + 0.3) * px)),
                     (int((label.right + 0.8) * px), int((label.bottom + 0.2) * px)), (20, 20, 20), 5)
        sheet.image = Image.fromarray(canvas)
    for sheet in {id(_holding(sheets, f)): _holding(sheets, f) for f in ("members.1.sex", "members.2.sex")}.values():
        read.update(_read(sheet, "grey300", 2))
    for fid in ("members.1.sex", "members.2.sex"):
        fr = read[fid]
        assert fr.value is None and Reason.AMBIGUOUS_MARK in fr.reasons and fr.confidence < B.SURE, (fid, fr.detail)


# the change boxes and a row on the first sheet, in each layout
WHOLE_READER_PLAN = {
    1: {"address.change": (0, "ring_label"), "members.change": (1, "ring_box"),
        "contacts.change": (0, "check_out"), "visit.change": (0, "fill"),
        "members.1.relation": (2, "ring_label"), "members.1.sex": (0, "cross")},
    2: {"address.change": (0, "ring_label"), "members.change": (1, "ring_box"),
        "support.change": (0, "check_out"), "dwelling": (1, "fill"),
        "members.1.relation": (2, "ring_label"), "members.1.sex": (0, "cross")},
}


@pytest.mark.slow
@pytest.mark.parametrize("version", VERSIONS)
def test_the_whole_reader_reads_marked_sections(version):
    """Through Reader.read (QR, alignment, the pre-filled card's 変更なし / 変更あり first): circled
    labels and boxes in the change boxes and the rows decide the section and the values."""
    home, _, _ = printed()
    sheet = _sheet(version)
    rng = random.Random(9)
    hand = S.Hand.random(rng)
    L = sheet.layout
    plan = WHOLE_READER_PLAN[version]
    for fid, (i, style) in plan.items():
        o = L.field(fid).options[i]
        S.mark(sheet.image, o.box, style, hand, rng, label=o.label_box)
    arr, dpi = B.degrade(sheet.image, "grey200", rng, np.random.default_rng(9))
    reading = R.Reader(qr.station_key(home)).read(P.Page("marked.png", 0, arr, float(dpi)))
    assert reading.identity is not None
    for fid, (i, _) in plan.items():
        fr = reading.field(fid)
        assert fr.value == L.field(fid).options[i].value, (fid, fr.value, fr.detail)


def test_empty_rows_of_a_second_continuation_sheet_read_as_empty():
    """A household of many members takes more than one continuation sheet: the printed option labels
    of each one's empty rows (男, 回答しない, 孫) are print, not rings drawn by a pen."""
    home, cards_pdf, _ = printed()
    sheets = [s for card in S._printed_sheets(cards_pdf, qr.station_key(home)) for s in card
              if s.layout.number > s.layout.card_sheets + 1]
    assert sheets, "the printed beat has no card with a second continuation sheet"
    sheet = sheets[0]
    arr, dpi = B.degrade(sheet.image, "grey200", random.Random(4), np.random.default_rng(4))
    reading = R.Reader(qr.station_key(home)).read(P.Page("many.png", 0, arr, float(dpi)))
    assert reading.identity is not None and reading.sheet == sheet.layout.number
    ticked = [(fr.id, fr.value, fr.detail) for fr in reading.fields
              if fr.kind == "checkbox" and (fr.value or fr.reasons) and sheet.values.get(fr.path or fr.id) is None]
    assert not ticked


@pytest.mark.parametrize("seed", [3, pytest.param(4, marks=pytest.mark.slow)])
def test_a_flat_ring_round_a_long_label_is_its_option_and_two_lines_through_one_are_not(seed):
    """A ○ round a long option label is as flat as the label is long; two lines drawn through another
    label (二重線) fit a flat ellipse too, but have no ends drawn round: never a tick the reader is sure of."""
    import cv2
    from PIL import Image

    sheet = _holding(_card(2), "support")
    f = sheet.layout.field("support")
    rng = random.Random(seed)
    ringed, struck = f.options[3], f.options[1]
    S.mark(sheet.image, ringed.box, "ring_label", S.Hand.random(rng), rng, label=ringed.label_box)
    px = S.PRINT_DPI / 25.4
    canvas = np.asarray(sheet.image).copy()
    lb = struck.label_box
    for dy in (0.35, 0.65):
        y = int((lb.y + dy * lb.h) * px)
        cv2.line(canvas, (int((lb.x - 0.5) * px), y), (int((lb.right + 0.5) * px), y + 2), (20, 20, 20), 4)
    sheet.image = Image.fromarray(canvas)
    fr = _read(sheet, "grey300", seed)["support"]
    assert ringed.value in _chosen(fr), fr.detail
    assert struck.value not in _chosen(fr) or not _sure(fr), fr.detail
