"""Tick boxes read by the size, shape and place of the ink, not by its amount alone.

People mark a choice in many ways: ✓ or × in the box, a tick half outside it, the box
blacked out, a ○ in or around the box, a ○ around the option's printed label. Dust, toner
and scanner speckle leave specks that are none of these. So, for a field's options:

    the area around its boxes and labels ─▶ ink, by a threshold from the page itself
        (paper and the form's dropout lines measured there: light, dark, grey, black-and-white)
    ─▶ the form's own print set apart: labels, strip labels, pre-filled values, units
    ─▶ connected pieces of pen ink, each one of:
         speck    small, or a small round blot: never a mark, it only lowers confidence
         ring     hollow and most of the way round: a ○, for the option whose box or label it surrounds
         stroke   with enough of it inside one box: a ✓ or × if it is a line (a blot as thick as it is
                  long is doubt), the box blacked out (filled), lines through it (struck, 二重線)
         stray    near an option but none of these: doubt, for a person to look at
         foreign  belongs to something else (handwriting of a neighbouring field): ignored

A box blacked out on its own is the resident's way of ticking; blacked out beside another
mark in the same field it is a tick taken back (the CANCELLED_MARK the project has always
had), and the field goes to a person. Whatever is unclear carries AMBIGUOUS_MARK and a low
confidence; an empty box with unexplained ink is never read at confidence 1.0.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from junkai import form as F
from junkai.form import lang as L
from junkai.readings import Reason
from ocr.align import PX_PER_MM as PX

TICKED, EMPTY, AMBIGUOUS, CANCELLED = "ticked", "empty", "ambiguous", "cancelled"

MARGIN_MM = 5.0  # looked at around the options: rings and ticks leave the box; whole pieces are seen
SPECK_MM = 1.3  # a piece of ink no longer than this across is a speck, not a mark
BLOT_MM = 1.8  # ... nor a round, solid blot up to this size (a tick is a line, not a dot)
BLOT_DT, CROSSING = 0.3, 2.5  # a blot: somewhere this thick (mm, half-width) and that many times its lines
MARK_MM = 2.2  # a stroke shorter than this across is too small to be sure it is a tick
RING_MM = 2.4  # the smallest ○ (one drawn inside a 5 mm box)
# the longest and flattest: round the longest option label (災害時に安否確認の連絡を希望, its box 52 mm);
# a line through or under a label fits no ellipse that goes round
RING_LONG_MM, RING_FLAT = 64.0, 14.0
FILLED = 0.55  # share of the box inked: blacked out
MIN_IN_BOX = 0.3  # mm² of pen inside a box for a piece to be a mark in it
STRUCK_MM = 1.2  # a mark running this far past the box on both sides is struck through
LABEL_BAND_MM = 1.6  # half the height of a printed option label's glyphs (7.5 pt in a 5 mm line)
SLACK_MM = 0.4  # alignment error allowed around printed things
# Half the width of the band along a tick box's printed outline (a 0.35 mm line, card.html.j2) that is
# print, not pen: a black-and-white scan (fixed or local threshold, or dither) and a dark or light one
# turn the dropout outlines as dark as a pen, and an empty box would read as a ✓ or a ○.
OUTLINE_MM = 0.5
SPECKS_IN_BOX = 3  # this many specks inside one box are doubt, not an empty box
RULE_MM = 6.0  # a straight run this long is a printed rule, not a pen's ○
FAINT_LINE_MM = 0.3  # half the width of an outline's own line with the alignment's error
OUTLINE_INKED = 0.15  # share of the outlines' length darker than ink's faint level: they came out as ink
OWN_BINS = 0.25  # share of a ○'s angles its pen shows off the print when it hugs a box's outline


@dataclass
class Mark:
    """What is in and around one option's box: its state, the confidence, and the kind of mark seen."""
    state: str = EMPTY
    confidence: float = 1.0
    kind: str = ""  # check | filled | ring | struck | small | stray | speck | ""
    doubt: bool = False  # ticked, most likely, but a person should see it

    def add(self, state: str, confidence: float, kind: str, doubt: bool = False) -> None:
        rank = {TICKED: 3, CANCELLED: 2, AMBIGUOUS: 2, EMPTY: 1}
        if rank[state] > rank[self.state] or (state == self.state and confidence > self.confidence
                                              and state != EMPTY):
            self.state, self.confidence, self.kind, self.doubt = state, confidence, kind, doubt
        elif state == EMPTY and self.state == EMPTY:
            self.confidence, self.kind = min(self.confidence, confidence), kind


@dataclass
class Reading:
    value: Any
    confidence: float
    reasons: list[Reason]
    ink: bool
    detail: dict


# --- the area looked at -----------------------------------------------------------------------


class _Area:
    """A window of the aligned page in px, with helpers to place form boxes (mm) in it."""

    def __init__(self, img: np.ndarray, f: F.Field | None):
        h, w = img.shape[:2]
        if f is None:
            self.x0, self.y0, self.x1, self.y1 = 0, 0, w, h
        else:
            boxes = [o.box for o in f.options]
            right = max(max(o.box.right, o.label_box.right) for o in f.options)
            self.x0 = max(0, int((min(b.x for b in boxes) - MARGIN_MM) * PX))
            self.y0 = max(0, int((min(b.y for b in boxes) - MARGIN_MM) * PX))
            self.x1 = min(w, int((right + MARGIN_MM) * PX))
            self.y1 = min(h, int((max(b.bottom for b in boxes) + MARGIN_MM) * PX))
        self.img = img[self.y0: self.y1, self.x0: self.x1]

    def rect(self, b: F.Box, grow: float = 0.0) -> tuple[int, int, int, int]:
        """(y0, y1, x0, x1) of a form box in the window, clipped."""
        h, w = self.img.shape[:2]
        y0 = int(round((b.y - grow) * PX)) - self.y0
        y1 = int(round((b.bottom + grow) * PX)) - self.y0
        x0 = int(round((b.x - grow) * PX)) - self.x0
        x1 = int(round((b.right + grow) * PX)) - self.x0
        return max(0, y0), min(h, max(0, y1)), max(0, x0), min(w, max(0, x1))

    def mask(self, boxes: list[F.Box], grow: float = 0.0) -> np.ndarray:
        m = np.zeros(self.img.shape[:2], bool)
        for b in boxes:
            y0, y1, x0, x1 = self.rect(b, grow)
            m[y0:y1, x0:x1] = True
        return m


def _label_band(o: F.Option, pt: float = F.OPTION_PT) -> F.Box | None:
    """Where an option's label is printed: its line, as high as the glyphs (of `pt`)."""
    if not o.label or o.label_box.w <= 0:
        return None
    mid = o.label_box.y + o.label_box.h / 2
    half = LABEL_BAND_MM * pt / F.OPTION_PT
    return F.Box(o.label_box.x, mid - half, o.label_box.w, 2 * half)


def _option_pt(f: F.Field, page: F.Page | None) -> float:
    """The size the layout prints a field's option labels in."""
    if page is None:
        return 7.0 if f.id.endswith(".change") else F.OPTION_PT
    return page.change_pt if f.id.endswith(".change") else page.option_pt


@functools.lru_cache(maxsize=512)
def _glyphs(text: str, pt: float, lang: str = "ja") -> np.ndarray | None:
    """The label as the card prints it (the language's typeface, templates/card.css), left edge and
    middle of its line at (SLACK, rows/2), grown by the alignment slack; None without the typeface."""
    from PIL import Image, ImageDraw, ImageFont

    from junkai import JunkaiError
    from junkai.pdf import face

    try:
        path, index = face(lang)
        font = ImageFont.truetype(str(path), max(6, int(round(pt * F.PT * PX))), index=index)
    except (JunkaiError, OSError):
        return None
    pad = int(round(SLACK_MM * PX))
    w = int(max(F.text_width(text, pt) * PX, font.getlength(text))) + 2 * pad + 2
    h = int(5.0 * PX) + 2 * pad
    im = Image.new("L", (w, h), 0)
    ImageDraw.Draw(im).text((pad, h / 2), text, font=font, fill=255, anchor="lm")
    mask = (np.asarray(im) > 60).astype(np.uint8)
    return cv2.dilate(mask, np.ones((2 * pad + 1, 2 * pad + 1), np.uint8)) > 0


FINE, STRIP, OUTLINE = 1, 2, 3  # in the print map: an option label's glyphs; other print, as its
# rectangle; the band along a box outline


def _print_map(fields: tuple[F.Field, ...], page: F.Page | None, shape: tuple[int, int],
               lang: str = "ja") -> np.ndarray:
    """Where the form prints something dark, over the whole aligned page: the option labels to the
    glyph (FINE), in the card's language (whose words may run on into the gap after a label);
    field labels, pre-filled values, titles, units as the rectangles they are printed in (STRIP),
    their words unknown here; the outlines of the tick boxes as bands (OUTLINE) where nothing else
    is printed (not the fields' outlines: a pen line drawn along one, under a label, is to be seen)."""
    if page is not None and lang != L.DEFAULT:
        page = L.translate(page, lang)
        fields = page.fields
    out = np.zeros(shape, np.uint8)
    whole = _Area(np.broadcast_to(np.uint8(0), shape), None)
    for b in [g.label_box for g in fields] + [g.value_box for g in fields if g.value_box is not None] + (
            [t.box for t in page.texts] + [s.box for s in page.slots] if page is not None else []):
        y0, y1, x0, x1 = whole.rect(b, SLACK_MM)
        out[y0:y1, x0:x1] = STRIP
    pad = int(round(SLACK_MM * PX))
    for g in fields:
        pt = _option_pt(g, page)  # version 1 sets 変更なし / 変更あり smaller (card.css)
        for o in g.options:
            band = _label_band(o, pt)
            if band is None:
                continue
            glyphs = _glyphs(o.label, pt, lang)
            if glyphs is None:
                y0, y1, x0, x1 = whole.rect(band, SLACK_MM)
                out[y0:y1, x0:x1] = FINE
                continue
            gx = int(round(o.label_box.x * PX)) - pad
            gy = int(round((o.label_box.y + o.label_box.h / 2) * PX)) - glyphs.shape[0] // 2
            _paste(out, glyphs, gx, gy, FINE)
    outlines = np.zeros(shape, np.uint8)
    band = max(1, int(round(OUTLINE_MM * PX)))
    for b in [o.box for g in fields for o in g.options]:
        x0, y0, x1, y1 = (int(round(v * PX)) for v in (b.x, b.y, b.right, b.bottom))
        cv2.rectangle(outlines, (x0, y0), (x1, y1), 1, 2 * band + 1)
    out[(outlines > 0) & (out == 0)] = OUTLINE
    return out


def _page_print(page: F.Page, shape: tuple[int, int], lang: str = "ja") -> np.ndarray:
    """The print map of a layout in a language, made once (a few of them are in use at a time)."""
    return _page_maps(page, shape, lang)[0]


def _page_lines(page: F.Page, shape: tuple[int, int], lang: str = "ja") -> np.ndarray:
    """Where a layout's outlines themselves run (boxes, cells, fields, sections), with the alignment's
    error, made once (beside the print map of the language the page is read in)."""
    return _page_maps(page, shape, lang)[1]


def _page_maps(page: F.Page, shape: tuple[int, int], lang: str) -> tuple[np.ndarray, np.ndarray]:
    key = (id(page), shape, lang)
    hit = _print_cache.get(key)
    if hit is None or hit[0] is not page:
        if len(_print_cache) >= 6:
            _print_cache.clear()
        hit = _print_cache[key] = (page, (_print_map(page.fields, page, shape, lang), _outline_lines(page, shape)))
    return hit[1]


_print_cache: dict[tuple[int, tuple[int, int], str], tuple[F.Page, tuple[np.ndarray, np.ndarray]]] = {}


def _outline_lines(page: F.Page, shape: tuple[int, int]) -> np.ndarray:
    lines = np.zeros(shape, np.uint8)
    whole = _Area(np.broadcast_to(np.uint8(0), shape), None)
    half = max(1, int(round(FAINT_LINE_MM * PX)))
    rects = [b for g in page.fields for b in [o.box for o in g.options] + list(g.cells)
             + ([g.box] if not g.id.endswith(".change") else [])] + [s.box for s in page.sections]
    for b in rects:
        y0, y1, x0, x1 = whole.rect(b)
        cv2.rectangle(lines, (x0, y0), (x1 - 1, y1 - 1), 1, 2 * half + 1)
    return lines > 0


def _near(o: F.Option) -> F.Box:
    """An option's box and label: a piece of ink within a millimetre of it is near that option."""
    return F.Box(o.box.x, o.box.y, max(o.box.right, o.label_box.right) - o.box.x, o.box.h)


def _paste(out: np.ndarray, patch: np.ndarray, x: int, y: int, value: int) -> None:
    h, w = out.shape
    ph, pw = patch.shape
    x0, y0, x1, y1 = max(0, x), max(0, y), min(w, x + pw), min(h, y + ph)
    if x0 < x1 and y0 < y1:
        out[y0:y1, x0:x1][patch[y0 - y: y1 - y, x0 - x: x1 - x]] = value


def _line_contrast(img: np.ndarray, page: F.Page | None, f: F.Field) -> tuple[float, bool]:
    """How much darker than the paper the outlines of this field's tick boxes are on this page,
    measured along the outlines of all the page's boxes drawn in the same colour (the 変更なし /
    変更あり boxes are darker than the rest): a pen crosses an outline here and there, it does not
    follow most of them. 0 when the scan dropped the outlines, as colour and black-and-white
    scans do. And whether the outlines came out as ink (black-and-white scans, a dark page): then
    the band along them is print; elsewhere a pen over it is seen."""
    change = f.id.endswith(".change")
    key = (id(img), change)
    hit = _contrast_cache.get(key)
    if hit is not None and hit[0] is img:
        return hit[1]
    fields = page.fields if page is not None else (f,)
    boxes = [o.box for g in fields if g.id.endswith(".change") == change for o in g.options]
    h, w = img.shape[:2]
    papers, lines = [], []
    r = int(0.5 * PX)  # alignment error allowed across an outline
    for b in boxes:
        x0, y0, x1, y1 = (int(round(v * PX)) for v in (b.x, b.y, b.right, b.bottom))
        if x0 - r < 0 or y0 - r < 0 or x1 + r > w or y1 + r > h:
            continue
        papers.append(float(np.percentile(img[y0 - r: y1 + r, x0 - r: x1 + r], 90)))
        for y in (y0, y1):  # the darkest across each edge, all along it
            lines.append(img[y - r: y + r + 1, x0 + r: x1 - r].min(axis=0))
        for x in (x0, x1):
            lines.append(img[y0 + r: y1 - r, x - r: x + r + 1].min(axis=1))
    contrast, inked = 0.0, True
    if lines:
        paper, along = float(np.median(papers)), np.concatenate(lines)
        contrast = max(0.0, paper - float(np.median(along)))
        inked = float((along < _thresholds(paper, contrast)[1]).mean()) >= OUTLINE_INKED
    if len(_contrast_cache) > 16:
        _contrast_cache.clear()
    _contrast_cache[key] = (img, (contrast, inked))
    return contrast, inked


_contrast_cache: dict[tuple[int, bool], tuple[np.ndarray, tuple[float, bool]]] = {}


def ink(area: _Area, contrast: float) -> tuple[int, np.ndarray, np.ndarray, float]:
    """The pen's ink in the window as connected pieces (count, labels, stats as OpenCV gives them),
    and the threshold: darker than it is ink, well below the paper and below the form's dropout
    lines, the paper measured in this very window (light scans, dark scans, grey, colour, black-
    and-white). Fainter pixels join the ink they touch (hysteresis), so that a thin stroke on a
    light scan stays one piece."""
    img = area.img
    paper = float(np.percentile(img[::3, ::3], 90)) if img.size else 255.0
    strong, weak = _thresholds(paper, contrast)
    # a thin or light stroke breaks into dots when thresholded: join what lies a pixel apart
    faint = cv2.morphologyEx((img < weak).astype(np.uint8), cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8))
    n, labels, stats, _ = cv2.connectedComponentsWithStats(faint, connectivity=8)
    keep = np.zeros(n, bool)
    keep[np.unique(labels[img < strong])] = True
    keep[0] = False
    if not keep.all():
        labels = np.where(keep[labels], labels, 0)
    return n, labels, stats, strong


def _thresholds(paper: float, contrast: float) -> tuple[float, float]:
    """Ink's two levels (strong, and the fainter pixels that join it) on paper this light, with the
    printed outlines this much darker than the paper."""
    strong = float(np.clip(paper - max(70.0, contrast + 30.0), 60.0, 200.0))
    return strong, float(np.clip(paper - max(40.0, contrast + 12.0), strong, 215.0))


# --- pieces of ink --------------------------------------------------------------------------------


def _ring_centre(xs: np.ndarray, ys: np.ndarray, printed: np.ndarray,
                 own: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[float, float] | None:
    """The centre (window px) of a ○ drawn with these pen pixels: an ellipse big enough, empty in the
    middle, going most of the way round where the form prints nothing (what crosses print is unseen).
    `own`: when the pixels include a box outline's, the pixels off every print, which must go a quarter
    of the way round by themselves (an outline with a speck on it is a square, not a ○)."""
    if len(xs) < 30:
        return None
    pts = np.column_stack([xs, ys]).astype(np.float32)
    try:
        (cx, cy), (d1, d2), angle = cv2.fitEllipse(pts)
    except cv2.error:
        return None
    a, b = d1 / 2, d2 / 2
    if not (RING_MM * PX / 2 <= min(a, b) and max(a, b) <= RING_LONG_MM / 2 * PX and max(a, b) <= RING_FLAT * min(a, b)):
        return None
    if not (xs.min() <= cx <= xs.max() and ys.min() <= cy <= ys.max()):
        return None
    t = math.radians(angle)
    dx, dy = xs - cx, ys - cy
    u = (dx * math.cos(t) + dy * math.sin(t)) / a
    v = (-dx * math.sin(t) + dy * math.cos(t)) / b
    rho = np.hypot(u, v)
    if float((rho < 0.5).mean()) > 0.04 or float((np.abs(rho - 1) > 0.45).mean()) > 0.12:
        return None  # ink in the middle (a tick, a cross, a filled box), or not an ellipse at all
    bins = 24
    theta = np.arctan2(v, u)
    seen = np.zeros(bins, bool)
    seen[np.unique(((theta + math.pi) / (2 * math.pi) * bins).astype(int) % bins)] = True
    if max(a, b) > 5 * min(a, b):
        # flat, round a long label: its two ends are drawn (two lines through a label, 二重線, have none)
        ends = ((11, 12), (23, 0)) if a >= b else ((5, 6), (17, 18))
        if not all(seen[list(e)].any() for e in ends):
            return None
    if own is not None:
        ox, oy = own[0] - cx, own[1] - cy
        ou, ov = ox * math.cos(t) + oy * math.sin(t), -ox * math.sin(t) + oy * math.cos(t)
        shown = ((np.arctan2(ov / b, ou / a) + math.pi) / (2 * math.pi) * bins).astype(int) % bins
        if len(np.unique(shown)) < OWN_BINS * bins:
            return None
    known = 0
    h, w = printed.shape
    r = int(round(SLACK_MM * PX))
    for i in range(bins):
        th = -math.pi + (i + 0.5) * 2 * math.pi / bins
        ex, ey = a * math.cos(th), b * math.sin(th)
        px, py = int(cx + ex * math.cos(t) - ey * math.sin(t)), int(cy + ex * math.sin(t) + ey * math.cos(t))
        # unseen where the ring would run over print or right beside it (a ring hugging a box runs
        # along its outline, a little off the fitted ellipse)
        if seen[i] or (0 <= px < w and 0 <= py < h and not printed[max(0, py - r): py + r + 1,
                                                                  max(0, px - r): px + r + 1].any()):
            known += 1
    if known < bins / 2 or seen.sum() < 0.8 * known:
        return None  # too little of it to see, or less than most of the way round
    return float(cx), float(cy)


def _blot(piece: np.ndarray, pen: np.ndarray, size: float) -> bool:
    """A blot, not a pen's line: as thick as it is long (`size`, across the whole piece: a tick half
    over a label is long), or far thicker in one place than the lines of the rest of it (a speck with
    dust trailing from it). A pen's tick is about as wide all along, a little wider where its strokes
    meet or cross. Measured on `pen`, the piece off the print: thin printed words it touches would
    pass for the pen's width."""
    dist = cv2.distanceTransform(np.pad(piece, 1).astype(np.uint8), cv2.DIST_L2, 3)
    own = np.pad(pen, 1)
    thickest = float(dist[own].max()) if own.any() else 0.0
    if 2 * thickest >= 0.6 * size * PX:
        return True
    ridge = own & (dist > 0) & (dist >= cv2.dilate(dist, np.ones((3, 3), np.uint8)))  # the middle of its lines
    crossing = CROSSING if size >= 3.0 else CROSSING - 0.5  # a short piece has no room for a wide vertex
    return thickest >= BLOT_DT * PX and thickest >= crossing * float(np.median(dist[ridge]))


def _longest_row(piece: np.ndarray) -> int:
    """The longest run of ink along a row (px): a line drawn across, not a tick's slanted strokes."""
    edges = np.diff(np.pad(piece.astype(np.int8), ((0, 0), (1, 1))), axis=1)
    starts, ends = np.nonzero(edges == 1), np.nonzero(edges == -1)
    return int((ends[1] - starts[1]).max()) if len(starts[1]) else 0


def _stroke(marks: list[Mark], hit: list[int], inside: list[int], fill: list[float], pen: int, size: float,
            pen_size: float, across: bool, blot: bool) -> None:
    """A piece of pen ink with some of it inside the boxes `hit`: what it says about their options.
    `size` is its length across, `pen_size` the same without what crosses print; `across`: it runs
    well past the best box on both sides; `blot`: not a line (_blot)."""
    hit = sorted(hit, key=lambda i: -inside[i])
    best, rest = hit[0], hit[1:]
    if rest and inside[rest[0]] >= 0.15 * inside[best]:
        # one piece in two boxes: a box blacked out touching a tick beside it, or a mark between boxes
        filled = [i for i in hit if fill[i] >= FILLED]
        for i in hit:
            if i in filled:
                marks[i].add(TICKED, 0.9, "filled")
            elif filled and inside[i] >= 1.0 * PX * PX:
                marks[i].add(TICKED, 0.6, "check", doubt=True)
            elif not filled and i == best and inside[rest[0]] < 0.5 * inside[best]:
                marks[i].add(TICKED, 0.6, "check", doubt=True)  # mostly in one box: most likely that one
            else:
                marks[i].add(AMBIGUOUS, 0.3, "stray")
        return
    share = inside[best] / pen
    if across and fill[best] < FILLED:
        marks[best].add(CANCELLED, 0.3, "struck")  # lines drawn through a tick (二重線): taken back, most likely
    elif fill[best] >= FILLED and share < 0.5:
        # blacked out, but most of the stroke runs on outside the box (to a ○ round another option, say)
        marks[best].add(TICKED, 0.6, "filled", doubt=True)
    elif fill[best] >= FILLED:
        marks[best].add(TICKED, 0.95, "filled")
    elif size < MARK_MM or blot:
        marks[best].add(AMBIGUOUS, 0.4, "small")  # a blot, or a tick too small to tell from one
    elif share < 0.1:
        marks[best].add(AMBIGUOUS, 0.5, "stray")  # almost all of it outside the box
    elif pen_size < MARK_MM or share < 0.25:
        # the most of it over the print or outside the box: that box, most likely, for a person to see
        marks[best].add(TICKED, 0.6, "check", doubt=True)
    else:
        marks[best].add(TICKED, 0.97 if share >= 0.5 else 0.9, "check")


def _inside(xs: np.ndarray, ys: np.ndarray, wid: int, hgt: int) -> bool:
    return len(xs) > 0 and xs.min() > 0 and ys.min() > 0 and xs.max() < wid - 1 and ys.max() < hgt - 1


def _ring(piece: np.ndarray, x: int, y: int, free: np.ndarray, drawn: np.ndarray | None) -> tuple[float, float] | None:
    """The centre of the ○ a piece (at x, y in the window) is, if it is one that the window holds whole;
    `drawn`: where a pen may also show (over the box outlines), for a ○ that hugs a box; None: not looked."""
    h, w = piece.shape
    ys, xs = np.nonzero(piece & free[y: y + h, x: x + w])
    xs, ys = xs + x, ys + y
    if not _inside(xs, ys, *free.shape[::-1]):
        return None  # a ring cut by the window is not seen
    centre = _ring_centre(xs, ys, ~free)
    if centre is None and drawn is not None and len(xs) >= 30:
        # a ○ hugging a box runs along its outline: looked at again with the pen over the outline
        dys, dxs = np.nonzero(piece & drawn[y: y + h, x: x + w])
        centre = _ring_centre(dxs + x, dys + y, ~drawn, own=(xs, ys))
    return centre


def _without_rules(piece: np.ndarray) -> np.ndarray:
    """The piece without its long straight runs across or down (printed rules: a pen's ○ has none)."""
    run = int(RULE_MM * PX)
    u8 = piece.astype(np.uint8)
    rules = (cv2.morphologyEx(u8, cv2.MORPH_OPEN, np.ones((run, 1), np.uint8))
             | cv2.morphologyEx(u8, cv2.MORPH_OPEN, np.ones((1, run), np.uint8)))
    return piece & (cv2.dilate(rules, np.ones((3, 3), np.uint8)) == 0)


def read_field(f: F.Field, img: np.ndarray, lang: str = "ja") -> tuple[list[Mark], float]:
    """Each option's mark, and the ink threshold used; `lang`: the card's printed words (its QR code)."""
    area = _Area(img, f)
    marks = [Mark() for _ in f.options]
    if area.img.size == 0:
        return [Mark(AMBIGUOUS, 0.0, "outside") for _ in f.options], 0.0
    page = F.page_of(f)
    contrast, outlines_inked = _line_contrast(img, page, f)
    n, labels, stats, thr = ink(area, contrast)
    if n <= 1:
        return marks, thr
    shape = img.shape[:2]
    whole_print = _page_print(page, shape, lang) if page is not None else _print_map((f,), None, shape)
    printed = whole_print[area.y0: area.y1, area.x0: area.x1]
    if not outlines_inked:  # the outlines dropped out: a pen along them is seen
        printed = np.where(printed == OUTLINE, np.uint8(0), printed)
    free = printed == 0  # not where the form prints anything

    drawn = free | (printed == OUTLINE)  # where a pen shows: off the print, or over a box's outline

    def count(y0: int, y1: int, x0: int, x1: int, where: np.ndarray = free) -> np.ndarray:
        """Pen pixels of each piece in a rectangle."""
        return np.bincount(labels[y0:y1, x0:x1][where[y0:y1, x0:x1]], minlength=n)

    total = np.bincount(labels.ravel(), minlength=n)
    pen_count = count(0, labels.shape[0], 0, labels.shape[1])
    boxes = [area.rect(o.box) for o in f.options]
    in_box = np.array([count(*r) for r in boxes])
    # near an option: its box or its label, 1 mm round (the label lies beside the box, as high)
    in_near = np.array([count(*area.rect(_near(o), 1.0)) for o in f.options])
    targets = [[area.rect(b, 0.8) for b in (o.box, _label_band(o, _option_pt(f, page))) if b is not None]
               for o in f.options]
    box_px = [max(1, (y1 - y0) * (x1 - x0)) for y0, y1, x0, x1 in boxes]
    # how much of each box a piece blacks out, its outline included (an outline alone is never a mark:
    # a piece with no pen off the print is not looked at)
    in_box_drawn = np.array([count(*r, where=drawn) for r in boxes])
    around = [area.rect(o.box, 1.0) for o in f.options]
    hgt, wid = labels.shape

    specks = [0] * len(f.options)  # inside each box
    for k in np.nonzero(pen_count)[0]:
        if k == 0:
            continue
        x, y, w, h, _ = stats[k]
        small = max(w, h) < SPECK_MM * PX
        if small or (max(w, h) < BLOT_MM * PX and min(w, h) >= 0.5 * max(w, h) and total[k] >= 0.5 * w * h):
            if in_near[:, k].any():
                cy, cx = y + h / 2, x + w / 2
                for i, (y0, y1, x0, x1) in enumerate(around):
                    if y0 <= cy < y1 and x0 <= cx < x1:
                        marks[i].add(EMPTY, 0.9 if small else 0.85, "speck")
                for i, (y0, y1, x0, x1) in enumerate(boxes):
                    specks[i] += y0 <= cy < y1 and x0 <= cx < x1
            continue
        if not in_near[:, k].any() and pen_count[k] < 0.5 * total[k]:
            continue  # nowhere near an option, mostly print
        piece = labels[y: y + h, x: x + w] == k
        under = printed[y: y + h, x: x + w]
        body = piece & (under != FINE) & (under != OUTLINE)  # without the option labels or outlines it touches
        by, bx = np.nonzero(body)
        size = (max(bx.max() - bx.min(), by.max() - by.min()) + 1) / PX if len(bx) else 0.0
        if size < SPECK_MM:
            continue  # what is left of it off the print is a speck's worth
        ys, xs = np.nonzero(piece & free[y: y + h, x: x + w])  # ... and without any print
        xs, ys = xs + x, ys + y
        centre = _ring(piece, x, y, free, drawn)
        if centre is None:
            # run into a printed rule (a field's or section's outline, black on a black-and-white scan):
            # the ○ is looked for without the rule, off the print (box outlines joined to the rule, with a
            # speck on them, would make a ○ of their own)
            rest = _without_rules(piece)
            if rest.sum() < piece.sum():
                centre = _ring(rest, x, y, free, None)
        if centre is not None:
            cx, cy = centre
            hit = [i for i, rs in enumerate(targets) if any(r[0] <= cy < r[1] and r[2] <= cx < r[3] for r in rs)]
            if len(hit) == 1:
                marks[hit[0]].add(TICKED, 0.96, "ring")
                # one stroke that also blacks out another box (a choice taken back, then circled): that
                # box is not left as empty; read() makes it the taken-back mark a person looks at
                for i in range(len(f.options)):
                    if i != hit[0] and in_box_drawn[i, k] >= FILLED * box_px[i]:
                        marks[i].add(TICKED, 0.9, "filled")
                continue
            if len(hit) > 1:
                for i in hit:
                    marks[i].add(AMBIGUOUS, 0.3, "ring")
                continue
        inside = [int(c) for c in in_box[:, k]]
        hit = [i for i, c in enumerate(inside) if c >= MIN_IN_BOX * PX * PX]
        if not hit and pen_count[k] < 0.15 * total[k]:
            continue  # print, but for an edge of it the alignment left outside its place
        if hit:
            pen_size = (max(xs.max() - xs.min(), ys.max() - ys.min()) + 1) / PX
            bx0, bx1 = boxes[max(hit, key=lambda i: inside[i])][2:]
            # lines through it: far past the box on both sides (print they cross included), straight across
            across = (min(bx0 - x, x + w - bx1) >= STRUCK_MM * PX
                      and _longest_row(piece & drawn[y: y + h, x: x + w]) >= bx1 - bx0)
            blot = _blot(piece, piece & free[y: y + h, x: x + w], max(w, h) / PX)
            _stroke(marks, hit, inside, [c / a for c, a in zip(in_box_drawn[:, k], box_px)], int(pen_count[k]),
                    size, pen_size, across, blot)
            continue
        close = in_near[:, k]
        best = int(np.argmax(close))
        if close[best] >= 0.5 * pen_count[k]:
            marks[best].add(AMBIGUOUS, 0.4, "stray")  # near an option, but no mark we know
    for i, n_specks in enumerate(specks):
        if n_specks >= SPECKS_IN_BOX:
            # dots in the box itself: a pale stroke a black-and-white scan broke up, or dirt; for a person
            marks[i].add(AMBIGUOUS, 0.4, "specks")
    return marks, thr


def faint_near(f: F.Field, img: np.ndarray, level: float, dark: float, lang: str = "ja") -> list[str]:
    """The options near which a stroke paler than `dark` (ink and print) but darker than `level` lies: off
    the option labels and the printed words, and off the outlines' own lines (a pale ○ round a box runs
    beside its outline, a pale tick past it); specks and lines along a rule are not strokes."""
    area = _Area(img, f)
    page = F.page_of(f)
    if area.img.size == 0 or page is None:
        return []
    window = (slice(area.y0, area.y1), slice(area.x0, area.x1))
    printed = _page_print(page, img.shape[:2], lang)[window]
    lines = _page_lines(page, img.shape[:2], lang)[window]
    pale = ((area.img < level) & (area.img >= dark) & ((printed == 0) | (printed == OUTLINE))
            & ~lines).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(pale, connectivity=8)
    near = [area.rect(_near(o), 1.0) for o in f.options]
    out: list[str] = []
    for k in range(1, n):
        x, y, w, h, px = stats[k]
        if max(w, h) < MARK_MM * PX or min(w, h) <= 2 or px < 0.5 * MARK_MM * PX:
            continue
        cy, cx = y + h / 2, x + w / 2
        for o, (y0, y1, x0, x1) in zip(f.options, near):
            if y0 <= cy < y1 and x0 <= cx < x1 and o.value not in out:
                out.append(o.value)
    return out


def read(f: F.Field, img: np.ndarray, lang: str = "ja") -> Reading:
    """A tick-box field: the chosen option(s), the confidence, reason codes, whether there is ink,
    and per option the kind of mark seen."""
    marks, _ = read_field(f, img, lang)
    filled = [m.state == TICKED and m.kind == "filled" for m in marks]
    plain = [m.state == TICKED and m.kind != "filled" for m in marks]
    reasons: list[Reason] = []
    if any(m.state == CANCELLED for m in marks) or (any(filled) and any(plain)):
        # blacked out beside another mark: a tick taken back
        for m, fl in zip(marks, filled):
            if fl:
                m.state, m.confidence = CANCELLED, 0.7
        reasons.append(Reason.CANCELLED_MARK)
    ticked = [o.value for o, m in zip(f.options, marks) if m.state == TICKED]
    conf = min(m.confidence for m in marks)
    if any(m.state == AMBIGUOUS or (m.state == TICKED and m.doubt) for m in marks):
        reasons.insert(0, Reason.AMBIGUOUS_MARK)
    if f.multiple:
        value: Any = ticked
    elif len(ticked) > 1:
        value, conf = None, min(conf, 0.2)
        reasons.append(Reason.MULTIPLE_TICKS)
    else:
        value = ticked[0] if ticked else None
    ink = any(m.state != EMPTY for m in marks)
    detail = {o.value: m.kind for o, m in zip(f.options, marks)}
    return Reading(value, round(conf, 3), reasons, ink, detail)
