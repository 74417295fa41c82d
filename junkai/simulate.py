"""Returned cards for tests and the demo: residents fill printed cards, a station scans them.

`simulate(pdf, out, seed, key)` takes a PDF of printed cards (`junkai print cards`),
writes on each card as a resident would, in handwriting-style fonts (Klee, Seto,
Kiloji) at varied size, slant, baseline and pen darkness, with ticks, circles and
crosses in boxes and a strike-through where a printed value is changed; then scans
the cards as a station would: rotated, skewed, shifted, blurred, noisy, JPEG-
compressed, at 200 or 300 dpi, in colour, grey or black and white, several cards
in one multi-page PDF, some single pages as TIFF, PNG or JPEG, some fed upside
down or sideways, with blank back sides between them. That is the `ordinary` class;
`simulate(..., degrade=...)` picks another (clean, noisy, light, dark, bw, photo) or a mix
of all of them per file, with varied writers (see Hand.random).

It writes the scans and `truth.json`: for every scanned page, what was written or
ticked in each field (field ids of the form definition). The reader (ocr/) never
imports this module and never sees the truth; this module only shares the form
definition, the QR payload check and the PDF rasteriser with it.
"""

from __future__ import annotations

import functools
import json
import math
import random
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from junkai import JunkaiError, model, qr, seed_data
from junkai import form as F
from junkai.wareki import to_wareki

PRINT_DPI = 300
FONTS = (
    "/usr/share/fonts/truetype/klee/KleeOne-Regular.ttf",
    "/usr/share/fonts/truetype/klee/KleeOne-SemiBold.ttf",
    "/usr/share/fonts/truetype/seto/setofont.ttf",
    "/usr/share/fonts/truetype/kiloji/kiloji.ttf",
    "/usr/share/fonts/truetype/kiloji/kiloji_b.ttf",
)
# more writers for the varied hands only, so that today's hands (the default) stay as they were
MORE_FONTS = (
    "/usr/share/fonts/truetype/yozvox-yozfont/YOzRSF.ttf",
    "/usr/share/fonts/truetype/yozvox-yozfont/YOzBSF.ttf",
)


def _px(mm: float) -> int:
    return int(round(mm / 25.4 * PRINT_DPI))


# --- a resident's hand ----------------------------------------------------------------------


@dataclass
class Hand:
    font: str
    size: float  # share of the box height
    slant: float
    jitter: float  # baseline jitter, share of height
    ink: tuple[int, int, int]
    width: int  # pen width in px for ticks and lines
    # the varied hands only (0: as the font draws it)
    pen: int = 0  # px added to each side of a stroke (felt pen), or taken off (-1: fine ballpoint)
    elastic: float = 0.0  # elastic distortion of each character, share of its size
    wander: float = 0.0  # slow baseline wander along the line, share of the box height
    vary: float = 0.0  # character size varies by up to this share

    @classmethod
    def random(cls, rng: random.Random, varied: bool = False, faint: bool = False) -> Hand:
        """A resident's pen and writing. Today's hands by default; `varied` draws from more fonts,
        pens from a fine ballpoint to a thick felt pen, with elastic distortion, wandering baselines
        and characters of varying size; `faint` gives a pale pen or a pencil (a varied hand)."""
        fonts = [f for f in FONTS if Path(f).exists()]
        if not fonts:
            raise JunkaiError("手書き風フォント (fonts-klee, fonts-seto, fonts-kiloji) が見つかりません")
        if not (varied or faint):
            dark = rng.randint(0, 70)
            blue = rng.random() < 0.3
            ink = (dark // 2, dark // 2, dark + 60) if blue else (dark, dark, dark)
            return cls(rng.choice(fonts), rng.uniform(0.62, 0.85), rng.uniform(-0.18, 0.12), rng.uniform(0.0, 0.06),
                       ink, rng.randint(3, 6))
        fonts += [f for f in MORE_FONTS if Path(f).exists()]
        pen = rng.choices([-1, 0, 1, 2, 3, 4], [15, 35, 20, 15, 10, 5])[0]
        if faint:  # a pale ballpoint, a pencil or a light-blue pen
            grey = rng.randint(110, 170)
            ink = rng.choice([(grey, grey, grey), (grey - 40, grey - 20, min(255, grey + 60))])
        else:
            dark = rng.randint(0, 80)
            ink = rng.choices([(dark, dark, dark), (dark // 2, dark // 2, dark + 60), (dark // 3, dark // 3, dark // 2 + 40),
                               (80 + dark // 2,) * 3], [50, 25, 15, 10])[0]  # black, blue, blue-black, pencil
        return cls(rng.choice(fonts), rng.uniform(0.5, 0.95), rng.uniform(-0.3, 0.2), rng.uniform(0.0, 0.08), ink,
                   max(2, min(14, rng.randint(3, 5) + 2 * pen)), pen, rng.uniform(0.02, 0.11), rng.uniform(0.0, 0.12),
                   rng.uniform(0.0, 0.15))

    def json(self) -> dict:
        return dict(font=Path(self.font).stem, size=round(self.size, 2), slant=round(self.slant, 2), ink=list(self.ink),
                    width=self.width, pen=self.pen, elastic=round(self.elastic, 3), wander=round(self.wander, 3),
                    vary=round(self.vary, 3))


_font_cache: dict[tuple[str, int], ImageFont.FreeTypeFont] = {}


def _font(path: str, size: int) -> ImageFont.FreeTypeFont:
    key = (path, size)
    if key not in _font_cache:
        _font_cache[key] = ImageFont.truetype(path, size)
    return _font_cache[key]


def _stamp(page: Image.Image, patch: np.ndarray, x: int, y: int, ink: tuple[int, int, int]) -> None:
    """Darken the page with a coverage patch (0–255) in the pen's colour."""
    h, w = patch.shape
    region = np.asarray(page.crop((x, y, x + w, y + h)), dtype=np.float32)
    a = (patch.astype(np.float32) / 255.0)[:, :, None]
    out = region * (1 - a) + np.array(ink, np.float32) * a
    page.paste(Image.fromarray(np.minimum(region, out).astype(np.uint8)), (x, y))


def write_text(page: Image.Image, text: str, box: F.Box, hand: Hand, rng: random.Random) -> None:
    """Handwriting along a box, left-aligned, shrunk to fit its width."""
    if hand.pen or hand.elastic or hand.wander or hand.vary:
        _write_varied(page, text, box, hand, rng)
        return
    bh, bw = _px(box.h), _px(box.w)
    size = max(10, int(bh * hand.size))
    font = _font(hand.font, size)
    advance = [font.getlength(ch) * rng.uniform(0.95, 1.1) for ch in text]
    total = sum(advance) + size * 0.6
    if total > bw:
        size = max(10, int(size * bw / total))
        font = _font(hand.font, size)
        advance = [font.getlength(ch) for ch in text]
    canvas = Image.new("L", (bw + size, bh), 0)
    draw = ImageDraw.Draw(canvas)
    x = rng.uniform(0.2, 0.6) * size
    for ch, adv in zip(text, advance):
        y = bh / 2 + rng.uniform(-hand.jitter, hand.jitter) * bh
        draw.text((x, y), ch, font=font, fill=255, anchor="lm")
        x += adv * font.size / max(1, size)
    arr = np.array(canvas)
    shear = np.float32([[1, hand.slant, -hand.slant * bh / 2], [0, 1, 0]])
    arr = cv2.warpAffine(arr, shear, (arr.shape[1], bh))
    _stamp(page, arr[:, :bw], _px(box.x), _px(box.y), hand.ink)


def _write_varied(page: Image.Image, text: str, box: F.Box, hand: Hand, rng: random.Random) -> None:
    """A varied hand: each character drawn alone with its own size, turn and elastic distortion,
    in the hand's pen width, on a baseline that wanders; the line still fits the box."""
    bh, bw = _px(box.h), _px(box.w)
    size = max(10, int(bh * hand.size))
    scales = [1 + rng.uniform(-hand.vary, hand.vary) for _ in text]
    font = _font(hand.font, size)
    advance = [font.getlength(ch) * k * rng.uniform(0.92, 1.12) for ch, k in zip(text, scales)]
    total = sum(advance) + size * 0.6
    if total > bw:  # a writer near the edge squeezes the line
        shrink = bw / total
        size = max(10, int(size * shrink))
        advance = [a * shrink for a in advance]
    canvas = np.zeros((bh, bw + size), np.uint8)
    wave, phase = rng.uniform(1.5, 4.0) * size, rng.uniform(0, 2 * math.pi)
    drift = rng.uniform(-1, 1) * hand.wander * bh
    x = rng.uniform(0.2, 0.6) * size
    for i, (ch, adv, k) in enumerate(zip(text, advance, scales)):
        along = x / max(1, bw)
        y = (bh / 2 + rng.uniform(-hand.jitter, hand.jitter) * bh
             + hand.wander * bh * 0.5 * math.sin(x / wave * 2 * math.pi + phase) + drift * along)
        glyph = _glyph(ch, hand, max(8, int(size * k)), rng)
        gh, gw = glyph.shape
        x0, y0 = int(x + adv / 2 - gw / 2), int(y - gh / 2)
        # clip to the canvas: a character never leaves its box
        sx0, sy0 = max(0, -x0), max(0, -y0)
        ex, ey = min(gw, canvas.shape[1] - x0), min(gh, bh - y0)
        if ex > sx0 and ey > sy0:
            region = canvas[y0 + sy0: y0 + ey, x0 + sx0: x0 + ex]
            np.maximum(region, glyph[sy0:ey, sx0:ex], out=region)
        x += adv
    shear = np.float32([[1, hand.slant, -hand.slant * bh / 2], [0, 1, 0]])
    arr = cv2.warpAffine(canvas, shear, (canvas.shape[1], bh))
    _stamp(page, arr[:, :bw], _px(box.x), _px(box.y), hand.ink)


def _glyph(ch: str, hand: Hand, size: int, rng: random.Random) -> np.ndarray:
    """One character as coverage (0–255): in the hand's pen width, turned a little and bent
    by a smooth random displacement field (elastic distortion, as in handwriting augmentation)."""
    # a felt pen thickens strokes, but not into blots on a small character (readable to a person)
    stroke = max(0, min(hand.pen, size // 24))
    pad = size // 2 + stroke
    side = size + 2 * pad
    img = Image.new("L", (side, side), 0)
    ImageDraw.Draw(img).text((side / 2, side / 2), ch, font=_font(hand.font, size), fill=255, anchor="mm",
                             stroke_width=stroke, stroke_fill=255)
    arr = np.array(img)
    if hand.pen < 0:  # a fine ballpoint: thinner than the font's stroke
        arr = cv2.erode(arr, np.ones((2, 2), np.uint8))
    turn = cv2.getRotationMatrix2D((side / 2, side / 2), rng.uniform(-5, 5), 1.0)
    if hand.elastic:
        grid = np.float32([[rng.uniform(-1, 1) for _ in range(4)] for _ in range(8)]).reshape(2, 4, 4)
        amp = hand.elastic * size
        dx = cv2.resize(grid[0], (side, side), interpolation=cv2.INTER_CUBIC) * amp
        dy = cv2.resize(grid[1], (side, side), interpolation=cv2.INTER_CUBIC) * amp
        ys, xs = np.mgrid[0:side, 0:side].astype(np.float32)
        # the turn and the bending in one resampling
        c, s_ = float(turn[0, 0]), float(turn[0, 1])
        cx = side / 2
        mx = c * (xs - cx) - s_ * (ys - cx) + cx + dx
        my = s_ * (xs - cx) + c * (ys - cx) + cx + dy
        return cv2.remap(arr, mx.astype(np.float32), my.astype(np.float32), cv2.INTER_LINEAR, borderValue=0)
    return cv2.warpAffine(arr, turn, (side, side))


def write_digit(page: Image.Image, digit: str, cell: F.Box, hand: Hand, rng: random.Random) -> None:
    """Four digits in five are real people's (junkai/handwriting.py: writers the reader never learned
    from), the rest in the hand's handwriting font."""
    bh, bw = _px(cell.h), _px(cell.w)
    if rng.random() < 0.8:
        from junkai import handwriting

        arr = handwriting.digit(digit, rng, (bh, bw))
    else:
        font = _font(hand.font, max(10, int(bh * rng.uniform(0.6, 0.85))))
        canvas = Image.new("L", (bw, bh), 0)
        ImageDraw.Draw(canvas).text((bw / 2 + rng.uniform(-0.08, 0.08) * bw, bh / 2 + rng.uniform(-0.06, 0.06) * bh),
                                    digit, font=font, fill=255, anchor="mm")
        arr = np.array(canvas)
    shear = np.float32([[1, hand.slant, -hand.slant * bh / 2], [0, 1, 0]])
    _stamp(page, cv2.warpAffine(arr, shear, (bw, bh)), _px(cell.x), _px(cell.y), hand.ink)


# The ways residents mark a choice (ocr/marks.py reads every one of them as that choice), and
# how often each turns up when they were asked to tick, circle or cross a box.
MARK_STYLES = ("check", "check_out", "cross", "fill", "ring_in", "ring_box", "ring_label")
_STYLE_MIX = {"tick": (("check", 6), ("check_out", 2), ("fill", 1)),
              "circle": (("ring_in", 1), ("ring_box", 2), ("ring_label", 2)),
              "cross": (("cross", 1),)}
SPECK_RATE = 0.12  # share of marks with a speck of dust or ink somewhere near the box


@functools.lru_cache(maxsize=1)
def _labels() -> dict[F.Box, F.Box]:
    """Each tick box of every published layout and where its label is printed."""
    return {o.box: o.label_box for form in F.FORMS for v in F.published(form) for n in (1, 2)
            for f in F.page(form, n, v).fields for o in f.options}


def _pen(page: Image.Image, x0: float, y0: float, x1: float, y1: float, hand: Hand, paint) -> None:
    """Ink a patch of the page (mm bounds): paint(canvas, to_px) draws the pen's coverage on it."""
    ox, oy = _px(x0), _px(y0)
    w, h = max(1, _px(x1) - ox), max(1, _px(y1) - oy)
    canvas = np.zeros((h, w), np.uint8)

    def to_px(x_mm: float, y_mm: float) -> tuple[int, int]:
        return int(round(x_mm / 25.4 * PRINT_DPI)) - ox, int(round(y_mm / 25.4 * PRINT_DPI)) - oy

    paint(canvas, to_px)
    _stamp(page, canvas, ox, oy, hand.ink)


def _stroke(canvas: np.ndarray, pts: list[tuple[int, int]], width: int, rng: random.Random) -> None:
    """A hand-drawn line through the points: a little wobble between them."""
    path = []
    for (ax, ay), (bx, by) in zip(pts, pts[1:]):
        for t in np.linspace(0, 1, 6, endpoint=False):
            path.append((ax + (bx - ax) * t + rng.uniform(-0.6, 0.6), ay + (by - ay) * t + rng.uniform(-0.6, 0.6)))
    path.append(pts[-1])
    cv2.polylines(canvas, [np.array(path, np.int32)], False, 255, width, cv2.LINE_AA)


def _ring(canvas: np.ndarray, to_px, cx: float, cy: float, a: float, b: float, width: int,
          rng: random.Random) -> None:
    """An ellipse drawn in one go (mm): it rarely closes exactly, and its radius drifts."""
    start, extent = rng.uniform(0, 2 * math.pi), math.radians(rng.uniform(325, 385))
    drift, tilt = rng.uniform(-0.08, 0.08), math.radians(rng.uniform(-8, 8))
    pts = []
    for t in np.linspace(0, 1, 72):
        th = start + extent * t
        r = 1 + drift * t
        ex, ey = a * r * math.cos(th), b * r * math.sin(th)
        pts.append(to_px(cx + ex * math.cos(tilt) - ey * math.sin(tilt),
                         cy + ex * math.sin(tilt) + ey * math.cos(tilt)))
    cv2.polylines(canvas, [np.array(pts, np.int32)], False, 255, width, cv2.LINE_AA)


def _fill(canvas: np.ndarray, to_px, box: F.Box, width: int, rng: random.Random, over: float = 0.0) -> None:
    """A box blacked out with a zigzag of the pen, or shaded solid; `over` mm past its edges."""
    inset = rng.uniform(-0.3, 0.5) - over
    x0, y0, x1, y1 = box.x + inset, box.y + inset, box.right - inset, box.bottom - inset
    if rng.random() < 0.3:
        quad = [to_px(x + rng.uniform(-0.3, 0.3), y + rng.uniform(-0.3, 0.3))
                for x, y in ((x0, y0), (x1, y0), (x1, y1), (x0, y1))]
        cv2.fillPoly(canvas, [np.array(quad, np.int32)], 255, cv2.LINE_AA)
        return
    step = max(0.18, width / PRINT_DPI * 25.4 * rng.uniform(0.6, 1.0))
    pts, y, left = [], y0, True
    while y <= y1:
        pts.append(to_px((x0 if left else x1) + rng.uniform(-0.3, 0.3), y))
        y += step
        left = not left
    cv2.polylines(canvas, [np.array(pts, np.int32)], False, 255, width, cv2.LINE_AA)


def speck(page: Image.Image, x: float, y: float, size: float, rng: random.Random) -> None:
    """A speck of dust or a dot of ink (mm, its size across): not a mark."""
    ink = (rng.randint(0, 60),) * 3

    def paint(canvas, to_px):
        cx, cy = to_px(x, y)
        r = max(1.0, size / 2 / 25.4 * PRINT_DPI)
        cv2.ellipse(canvas, (cx, cy), (max(1, int(r * rng.uniform(0.7, 1.0))), max(1, int(r * rng.uniform(0.7, 1.0)))),
                    rng.uniform(0, 180), 0, 360, 255, -1, cv2.LINE_AA)

    _pen(page, x - size, y - size, x + size, y + size, Hand("", 0, 0, 0, ink, 1), paint)


def mark(page: Image.Image, box: F.Box, style: str, hand: Hand, rng: random.Random,
         label: F.Box | None = None) -> None:
    """A resident's mark for the option of a tick box: one of MARK_STYLES; 'tick', 'circle' or 'cross'
    (what they were asked for, drawn in one of its ways); or a tick taken back: 'scribble' (blacked
    out) or 'strike' (two lines through it, 二重線).
    Pen width and size vary from mark to mark; now and then a speck falls near the box."""
    if style in _STYLE_MIX:
        names, weights = zip(*_STYLE_MIX[style])
        style = rng.choices(names, weights)[0]
    label = label if label is not None else _labels().get(box)
    if style == "ring_label" and (label is None or label.w <= 0):
        style = "ring_box"  # a box without a printed label of its own (転出・削除)
    width = max(2, int(round(hand.width * rng.uniform(0.6, 1.6))))
    s, size = box.w, rng.uniform(0.65, 1.2)
    cx, cy = box.x + s / 2 + rng.uniform(-0.3, 0.3), box.y + box.h / 2 + rng.uniform(-0.3, 0.3)
    if style == "check_out":  # half of it outside the box, to any side
        angle = rng.uniform(0, 2 * math.pi)
        cx, cy = cx + math.cos(angle) * s * rng.uniform(0.3, 0.5), cy + math.sin(angle) * s * rng.uniform(0.3, 0.5)

    def at(fx: float, fy: float) -> tuple[float, float]:  # a point of the mark, as a share of the box from its centre
        return (cx + (fx - 0.5) * s * size + rng.uniform(-0.05, 0.05) * s,
                cy + (fy - 0.5) * s * size + rng.uniform(-0.05, 0.05) * s)

    def paint(canvas, to_px):
        if style in ("check", "check_out", "scribble", "strike"):
            pts = [at(rng.uniform(0.1, 0.25), rng.uniform(0.42, 0.6)),
                   at(rng.uniform(0.35, 0.5), rng.uniform(0.78, 0.92)),
                   at(rng.uniform(0.85, 1.05), rng.uniform(-0.05, 0.15))]
            _stroke(canvas, [to_px(*p) for p in pts], width, rng)
        if style == "cross":
            for a, b in ((at(0.12, 0.12), at(0.88, 0.88)), (at(0.88, 0.12), at(0.12, 0.88))):
                _stroke(canvas, [to_px(*a), to_px(*b)], width, rng)
        elif style == "fill":
            _fill(canvas, to_px, box, max(width, 3), rng)
        elif style == "scribble":
            _fill(canvas, to_px, box, max(width, 3) + 2, rng, over=0.3)
        elif style == "strike":
            y, gap, slope = box.y + box.h / 2 + rng.uniform(-0.8, 0.2), rng.uniform(0.7, 1.4), rng.uniform(-0.4, 0.4)
            x0, x1 = box.x - rng.uniform(1.5, 3.0), box.right + rng.uniform(1.5, 3.0)
            for dy in (0.0, gap):
                _stroke(canvas, [to_px(x0, y + dy), to_px(x1, y + dy + slope)], width, rng)
        elif style == "ring_in":
            r = s * rng.uniform(0.3, 0.42)
            _ring(canvas, to_px, cx, cy, r * rng.uniform(0.9, 1.1), r * rng.uniform(0.9, 1.1), width, rng)
        elif style == "ring_box":
            r = s * rng.uniform(0.62, 0.82)
            _ring(canvas, to_px, cx, cy, r * rng.uniform(0.92, 1.1), r * rng.uniform(0.92, 1.1), width, rng)
        elif style == "ring_label":
            lx, ly = label.x + label.w / 2 + rng.uniform(-0.3, 0.3), label.y + label.h / 2 + rng.uniform(-0.3, 0.3)
            _ring(canvas, to_px, lx, ly, label.w / 2 + rng.uniform(0.7, 1.5), rng.uniform(1.9, 2.9), width, rng)

    right = max(box.right, label.right if label is not None else 0.0) + 1.5 * s
    _pen(page, box.x - 1.5 * s, box.y - 1.5 * s, right, box.bottom + 1.5 * s, hand, paint)
    if rng.random() < SPECK_RATE:
        speck(page, rng.uniform(box.x - 4, box.right + 4), rng.uniform(box.y - 2, box.bottom + 2),
              rng.uniform(0.25, 1.1), rng)


def strike(page: Image.Image, box: F.Box, hand: Hand, rng: random.Random) -> None:
    """Two lines through a printed value that the resident changes."""
    draw = ImageDraw.Draw(page)
    y = _px(box.y + box.h / 2)
    for dy in (-4, 4):
        draw.line([(_px(box.x + 1), y + dy + rng.randint(-3, 3)), (_px(box.right - 2), y + dy + rng.randint(-3, 3))],
                  fill=hand.ink, width=hand.width)


# --- what residents write -------------------------------------------------------------------


def _person(rng: random.Random, born: int) -> dict:
    decade = max(k for k in seed_data.GIVEN if k <= max(min(seed_data.GIVEN), born))
    sex = rng.choice(model.SEXES[:2])  # given names are drawn by sex
    given = rng.choice(seed_data.GIVEN[decade][0 if sex == "男" else 1])
    return dict(sex=sex, given=given)


def _phone(rng: random.Random, mobile: bool) -> str:
    if mobile:
        # the subscriber part never starts with 0: such numbers are not in use, and a reader that
        # checks numbers would rightly doubt them
        return rng.choice(["090", "080", "070"]) + f"{rng.randint(10000000, 99999999):08d}"
    return "017" + f"{rng.randint(7000000, 7999999)}"


def _date_value(d: date) -> dict:
    era, year = to_wareki(d)
    return dict(era=era, year=f"{year:02d}", month=f"{d.month:02d}", day=f"{d.day:02d}")


@dataclass
class Sheet:
    """One printed sheet and what was put on it."""
    image: Image.Image
    payload: qr.Payload
    layout: F.Page
    values: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    hand: Hand | None = None  # who wrote on it


class Resident:
    """Fills one card (all its sheets) following a scenario."""

    def __init__(self, rng: random.Random, surname: tuple[str, str], writers: str = "today"):
        self.rng = rng
        self.hand = Hand.random(rng, varied=writers != "today", faint=writers == "faint")
        self.surname = surname

    def tick(self, sheet: Sheet, f: F.Field, values: list[str], cancel: str | None = None) -> None:
        style = self.rng.choices(["tick", "circle", "cross"], [6, 2, 2])[0]
        for o in f.options:
            if o.value == cancel:
                mark(sheet.image, o.box, "scribble", self.hand, self.rng)
            elif o.value in values:
                mark(sheet.image, o.box, style, self.hand, self.rng)
        if not values:
            return
        sheet.values[f.id] = list(values) if f.multiple else (values[0] if len(values) == 1 else values)

    def digits(self, sheet: Sheet, f: F.Field, text: str, change: bool = False) -> None:
        for ch, cell in zip(text, f.cells):
            write_digit(sheet.image, ch, cell, self.hand, self.rng)
        if change and f.value_box is not None:  # the printed value struck through, after the new one
            strike(sheet.image, f.value_box, self.hand, self.rng)
        sheet.values[f.id] = text[: len(f.cells)]

    def date(self, sheet: Sheet, f: F.Field, d: date) -> None:
        v = _date_value(d)
        era = next(o for o in f.options if o.value == v["era"])
        mark(sheet.image, era.box, "tick", self.hand, self.rng)
        for ch, cell in zip(v["year"] + v["month"] + v["day"], f.cells):
            write_digit(sheet.image, ch, cell, self.hand, self.rng)
        sheet.values[f.id] = v

    def text(self, sheet: Sheet, f: F.Field, text: str, change: bool = False) -> None:
        if change and f.value_box is not None:
            strike(sheet.image, f.value_box, self.hand, self.rng)
        entry = F.Box(f.entry.x + 0.8, f.entry.y + 0.3, f.entry.w - 1.6, min(f.entry.h - 0.6, 6.0))
        write_text(sheet.image, text, entry, self.hand, self.rng)
        sheet.values[f.id] = text

    # -- whole rows --------------------------------------------------------------

    def member(self, sheet: Sheet, row: int, born: date, relation: str) -> None:
        p = _person(self.rng, born.year)
        L = sheet.layout
        pre = f"members.{row}"
        self.text(sheet, L.field(f"{pre}.name"), f"{self.surname[0]}　{p['given'][0]}")
        self.text(sheet, L.field(f"{pre}.kana"), f"{self.surname[1]}　{p['given'][1]}")
        self.tick(sheet, L.field(f"{pre}.relation"), [relation])
        self.tick(sheet, L.field(f"{pre}.sex"), [p["sex"]])
        self.date(sheet, L.field(f"{pre}.birth_date"), born)
        if self.rng.random() < 0.6:
            self.digits(sheet, L.field(f"{pre}.mobile"), _phone(self.rng, True))
        if self.rng.random() < 0.5:
            self.text(sheet, L.field(f"{pre}.occupation"), self.rng.choice(seed_data.OCCUPATIONS))
        if _has(L, f"{pre}.work_phone") and self.rng.random() < 0.4:  # fields of later layouts only
            self.digits(sheet, L.field(f"{pre}.work_phone"), _phone(self.rng, False))

    def contact(self, sheet: Sheet, row: int) -> None:
        L = sheet.layout
        pre = f"contacts.{row}"
        given = self.rng.choice(self.rng.choice(list(seed_data.GIVEN.values()))[0])
        self.text(sheet, L.field(f"{pre}.name"), f"{self.rng.choice(seed_data.SURNAMES)[0]}　{given[0]}")
        self.text(sheet, L.field(f"{pre}.relation"), self.rng.choice(seed_data.CONTACT_RELATIONS))
        self.digits(sheet, L.field(f"{pre}.phone"), _phone(self.rng, self.rng.random() < 0.6))
        self.text(sheet, L.field(f"{pre}.address"), "".join(self.rng.choice(seed_data.FAR_CITIES))
                  + f"{self.rng.randint(1, 9)}-{self.rng.randint(1, 30)}-{self.rng.randint(1, 20)}")


def _has(layout: F.Page, field_id: str) -> bool:
    return any(f.id == field_id for f in layout.fields)


def _at(sheets: list[Sheet], field_id: str) -> tuple[Sheet, F.Field]:
    """The sheet of a card that has a field, and the field (a card may take more than one sheet)."""
    for s in sheets:
        if _has(s.layout, field_id):
            return s, s.layout.field(field_id)
    raise KeyError(field_id)


def _has_print(sheet: Sheet, box: F.Box | None) -> bool:
    """Is something printed in a value box (a pre-filled row)? The simulator looks at its own input."""
    if box is None:
        return False
    region = np.asarray(sheet.image.crop((_px(box.x), _px(box.y), _px(box.right), _px(box.bottom))).convert("L"))
    return bool((region < 100).mean() > 0.01)


WRITERS = ("today", "varied", "faint")


def fill_card(sheets: list[Sheet], rng: random.Random, today: date, writers: str = "today") -> str:
    """Write on a card's sheets; returns the scenario. `writers`: today's hands, the varied ones
    (more fonts and pens, distorted characters), or varied hands with faint pens."""
    first = sheets[0]
    prefilled = first.payload.premises_id is not None
    r = Resident(rng, rng.choice(seed_data.SURNAMES), writers)
    for s in sheets:
        s.hand = r.hand
    form = first.payload.form
    roll = rng.random()
    if roll < 0.04:
        return "blank"  # returned as it was given
    if roll < 0.07:
        r.text(*_at(sheets, "opinion"), "記入を拒否されました")
        return "refused"
    L = first.layout
    if rng.random() < 0.7:
        r.date(first, L.field("filled_on"), today)
    if not prefilled:
        _fill_blank(sheets, r, form, today)
        scenario = "new"
    else:
        scenario = _fill_prefilled(sheets, r, form, today)
    if rng.random() < 0.15:
        r.text(*_at(sheets, "opinion"), rng.choice(seed_data.OPINIONS)[:28])
    return scenario


@functools.lru_cache(maxsize=1)
def _aomori_city_towns() -> list[dict]:
    from junkai.seed import aomori_towns

    return [t for t in aomori_towns() if t["city"] == "青森市" and not t["chome"]]


def _fill_blank(sheets: list[Sheet], r: Resident, form: str, today: date) -> None:
    sheet, rng = sheets[0], r.rng
    L = sheet.layout
    town = rng.choice(_aomori_city_towns())  # a real postal code with its own town, as a resident writes them
    r.digits(sheet, L.field("postal_code"), town["postal_code"])
    r.text(sheet, L.field("address"), f"{town['city']}{town['town']}{rng.randint(1, 5)}-{rng.randint(1, 30)}-{rng.randint(1, 20)}")
    if form == model.HOUSEHOLD:
        r.tick(sheet, L.field("dwelling"), [rng.choice(model.DWELLINGS)])
        if rng.random() < 0.7:
            r.digits(sheet, L.field("home_phone"), _phone(rng, False))
        head_born = date(rng.randint(1945, 1995), rng.randint(1, 12), rng.randint(1, 28))
        r.member(_at(sheets, "members.1.name")[0], 1, head_born, "世帯主")
        n = rng.randint(0, 3)
        for i in range(n):
            born = date(rng.randint(head_born.year, 2020), rng.randint(1, 12), rng.randint(1, 28))
            if any(_has(s.layout, f"members.{2 + i}.name") for s in sheets):  # as many as the sheets have rows
                r.member(_at(sheets, f"members.{2 + i}.name")[0], 2 + i, born,
                         "配偶者" if i == 0 and born.year < 1998 else "子")
        r.tick(*_at(sheets, "visit_days"), rng.sample(model.VISIT_DAYS, rng.randint(1, 2)))
        r.tick(*_at(sheets, "visit_times"), rng.sample(model.VISIT_TIMES, rng.randint(1, 2)))
        if _has(L, "support") and rng.random() < 0.5:
            r.tick(sheet, L.field("support"), rng.sample(model.SUPPORT, rng.randint(1, 2)))
    elif form == model.APARTMENT:
        _fill_building(sheet, r)
    else:
        r.text(sheet, L.field("business_name"), f"{r.surname[0]}商店")
        r.text(sheet, L.field("industry"), rng.choice(seed_data.INDUSTRIES))
        r.digits(sheet, L.field("employees"), str(rng.randint(1, 300)))
        r.text(sheet, L.field("representative"), f"{r.surname[0]}　{rng.choice(seed_data.GIVEN[1950][0])[0]}")
        r.digits(sheet, L.field("manager_phone"), _phone(rng, False))
        r.tick(sheet, L.field("security"), rng.sample(model.SECURITY, rng.randint(1, 3)))
        if _has(L, "business_phone") and rng.random() < 0.7:
            r.digits(sheet, L.field("business_phone"), _phone(rng, False))
    r.contact(_at(sheets, "contacts.1.name")[0], 1)


def _fill_building(sheet: Sheet, r: Resident) -> None:
    """What an owner or a manager writes on a building's blank card."""
    L, rng = sheet.layout, r.rng
    name, kana = rng.choice(APARTMENT_NAMES)
    r.text(sheet, L.field("building_name"), f"{r.surname[0]}{name}")
    r.text(sheet, L.field("building_kana"), f"{r.surname[1]}{kana}")
    r.digits(sheet, L.field("units"), str(rng.randint(4, 60)))
    lock = rng.choice(model.AUTOLOCK)
    r.tick(sheet, L.field("autolock"), [lock])
    r.text(sheet, L.field("entry"), "管理人室で呼出し" if lock == "あり" else "各戸を直接訪問")
    r.text(sheet, L.field("owner"), f"{r.surname[0]}　{rng.choice(seed_data.GIVEN[1950][0])[0]}")
    r.digits(sheet, L.field("owner_phone"), _phone(rng, False))
    if rng.random() < 0.7:
        r.text(sheet, L.field("manager"), f"{rng.choice(seed_data.SURNAMES)[0]}管理")
        r.digits(sheet, L.field("manager_phone"), _phone(rng, False))
        r.text(sheet, L.field("manager_hours"), "平日9時から17時")


APARTMENT_NAMES = (("ハイツ", "ハイツ"), ("コーポ", "コーポ"), ("荘", "ソウ"), ("マンション", "マンション"))


def _fill_prefilled(sheets: list[Sheet], r: Resident, form: str, today: date) -> str:
    rng = r.rng
    changed_any = []
    # the change boxes of every sheet of the card itself (a continuation sheet has none)
    for first, f in [(s, f) for s in sheets for f in s.layout.fields if f.id.endswith(".change")]:
        section = f.section
        if rng.random() < 0.06:
            continue  # the resident ticked nothing in this section
        change = rng.random() < 0.25
        if change and _change_section(sheets, r, section):
            if rng.random() < 0.05:  # first ticked 変更なし, then cancelled it
                r.tick(first, f, [F.CHANGED], cancel=F.UNCHANGED)
            else:
                r.tick(first, f, [F.CHANGED])
            changed_any.append(section)
        elif rng.random() < 0.02:
            r.tick(first, f, [F.UNCHANGED, F.CHANGED])  # both: ambiguous, the reader must say so
            first.notes.append(f"double_tick:{section}")
        else:
            r.tick(first, f, [F.UNCHANGED])
    return "changed" if changed_any else "unchanged"


def _change_section(sheets: list[Sheet], r: Resident, section: str) -> bool:
    """Change something in a section; False when nothing there could be changed."""
    first, rng = sheets[0], r.rng
    L = first.layout
    if section == "address":
        household = first.payload.form == model.HOUSEHOLD
        what = rng.random()
        if household and what < 0.4:
            r.digits(first, L.field("home_phone"), _phone(rng, False), change=True)
        elif household and what < 0.7:
            r.tick(first, L.field("dwelling"), [rng.choice(model.DWELLINGS)])
        else:
            r.text(first, L.field("address"), f"青森市本町{rng.randint(1, 5)}-{rng.randint(1, 30)}-{rng.randint(1, 9)}",
                   change=True)
        return True
    if section == "members":
        rows = [(s, n) for s in sheets if "members" in s.layout.rows
                for n in range(s.layout.rows["members"][0], s.layout.rows["members"][1] + 1)]
        filled = [(s, n) for s, n in rows if _has_print(s, s.layout.field(f"members.{n}.name").value_box)]
        empty = [(s, n) for s, n in rows if (s, n) not in filled]
        what = rng.random()
        if what < 0.35 and empty:  # a new member
            s, n = empty[0]
            r.member(s, n, date(rng.randint(1990, 2024), rng.randint(1, 12), rng.randint(1, 28)), "子")
        elif what < 0.6 and len(filled) > 1:  # a member moved out
            s, n = rng.choice(filled[1:])
            r.tick(s, s.layout.field(f"members.{n}.remove"), [F.REMOVED])
        elif filled:
            s, n = rng.choice(filled)
            if rng.random() < 0.5:
                r.digits(s, s.layout.field(f"members.{n}.mobile"), _phone(rng, True), change=True)
            else:
                r.text(s, s.layout.field(f"members.{n}.occupation"), rng.choice(seed_data.OCCUPATIONS), change=True)
        else:
            return False
        return True
    if section == "contacts":
        s, f = _at(sheets, "contacts.1.phone")
        r.digits(s, f, _phone(rng, True), change=True)
        return True
    if section == "visit":
        r.tick(*_at(sheets, "visit_times"), rng.sample(model.VISIT_TIMES, rng.randint(1, 2)))
        return True
    if section == "support":
        r.tick(*_at(sheets, "support"), rng.sample(model.SUPPORT, 1))
        return True
    if section == "building":
        r.digits(first, L.field("units"), str(rng.randint(4, 60)), change=True)
        return True
    if section == "owner":
        r.digits(first, L.field("manager_phone"), _phone(rng, False), change=True)
        return True
    if section == "business":
        r.digits(first, L.field("employees"), str(rng.randint(1, 300)), change=True)
        return True
    if section == "notes":
        r.text(*_at(sheets, "notes"), rng.choice(seed_data.NOTES), change=True)
        return True
    return False


# --- a station's scanner ------------------------------------------------------------------

# Degradation classes, each a named profile of the scan; the truth records each page's class.
# ordinary: today's scanner mix; clean: a careful flat scan; noisy: specks, photocopy streaks and
# mottle, paper texture, the back side showing through, ink bleed; light / dark: the paper and
# ink levels shifted (light pages also carry faint pens); bw: 1 bit at 200 dpi with threshold or
# dithering artefacts; photo: a phone-camera picture (perspective, uneven light, blur, JPEG).
DEGRADATIONS = ("clean", "ordinary", "noisy", "light", "dark", "bw", "photo")
DEGRADE_CHOICES = ("mix", *DEGRADATIONS)


def scanner_setting(rng: random.Random, degrade: str) -> tuple[int, str]:
    """Resolution and colour of one scanned file (the scanner's setting, or the phone's)."""
    if degrade == "bw":
        return 200, "bw"
    if degrade == "photo":
        return rng.randint(180, 260), "colour"  # the page's resolution in the picture
    if degrade in ("ordinary", "noisy"):
        return rng.choice([200, 300]), rng.choices(["colour", "grey", "bw"], [3, 4, 3])[0]
    return rng.choice([200, 300]), rng.choice(["colour", "grey"])


@dataclass
class Scan:
    dpi: int
    mode: str  # colour | grey | bw
    angle: float  # degrees, counter-clockwise, small skew
    quarter: int  # quarter turns clockwise (fed sideways or upside down)
    shift: tuple[float, float]  # mm
    scale: float
    blur: float
    noise: float
    jpeg: int | None  # quality, None for lossless
    # the degradation class and its effects (0: none), beyond today's scanner
    degrade: str = "ordinary"
    levels: tuple[int, int] = (0, 255)  # what black ink and white paper become
    gamma: float = 1.0  # > 1 darkens the mid-tones, < 1 lightens them
    speckle: float = 0.0  # dark specks (toner, dust) per cm², a few up to about 1 mm across
    streaks: int = 0  # photocopy streaks along the feed
    texture: float = 0.0  # paper texture and toner mottle, in grey levels
    show_through: float = 0.0  # the back side's print seen through the paper (opacity)
    ink_bleed: float = 0.0  # mm that ink and print spread into the paper
    bw_method: str = "threshold"  # threshold | dither | adaptive
    bw_threshold: int = 140
    perspective: float = 0.0  # photo: corners moved by up to this share of the page width
    lighting: float = 0.0  # photo: strength of the uneven light (gradient, vignette, a shadow)

    @classmethod
    def random(cls, rng: random.Random, dpi: int, mode: str, degrade: str = "ordinary") -> Scan:
        """One page's placement and degradation; resolution and colour are the setting for a file."""
        if degrade == "clean":
            return cls(dpi, mode, rng.uniform(-0.5, 0.5), 0, (rng.uniform(-2, 2), rng.uniform(-2, 2)), 1.0, 0, 0,
                       None, degrade)
        if degrade == "photo":
            return cls(dpi, mode, rng.uniform(-4, 4), rng.choices([0, 2], [9, 1])[0], (0, 0), 1.0,
                       rng.uniform(0.4, 1.2), rng.choice([4, 6, 8]), rng.randint(55, 85), degrade,
                       texture=rng.uniform(0, 4), perspective=rng.uniform(0.02, 0.06), lighting=rng.uniform(0.3, 1.0))
        quarter = rng.choices([0, 2, 1, 3], [85, 9, 3, 3])[0]
        scan = cls(dpi, mode,
                   rng.uniform(-5, 5) if rng.random() < 0.3 else rng.uniform(-1.5, 1.5), quarter,
                   (rng.uniform(-4, 4), rng.uniform(-4, 4)), rng.uniform(0.97, 1.03),
                   rng.choice([0, 0, 0.6, 1.0]), rng.choice([0, 3, 6]), rng.choice([None, None, 85, 70]), degrade)
        if degrade == "noisy":
            scan.noise = rng.choice([3, 6])
            scan.speckle = rng.uniform(0.2, 1.5)
            scan.streaks = rng.choice([0, 0, 1, 2, 4])
            scan.texture = rng.uniform(3, 12)
            scan.show_through = rng.uniform(0.05, 0.2) if rng.random() < 0.7 else 0.0
            scan.ink_bleed = rng.choice([0.0, 0.05, 0.1])  # more closes the printed QR code's light modules
        elif degrade == "light":  # over-exposed: black lifted towards grey, mid-tones paler
            scan.levels = (rng.randint(40, 95), 255)
            scan.gamma = rng.uniform(0.6, 0.9)
        elif degrade == "dark":  # under-exposed or grey paper: white pulled down, mid-tones darker
            scan.levels = (0, rng.randint(150, 200))
            scan.gamma = rng.uniform(1.2, 1.8)
            scan.texture = rng.uniform(0, 6)
        elif degrade == "bw":
            scan.bw_method = rng.choice(["threshold", "dither", "adaptive"])
            scan.bw_threshold = rng.randint(100, 190)
            scan.noise = rng.choice([3, 6])
            scan.speckle = rng.uniform(0.1, 0.5) if rng.random() < 0.3 else 0.0
        return scan

    def apply(self, page: Image.Image, rng: np.random.Generator) -> Image.Image:
        # a grey or black-and-white scan is made grey first: a third of the work
        arr = np.asarray(page.convert("RGB" if self.mode == "colour" else "L"))
        f = self.dpi / PRINT_DPI
        h, w = int(arr.shape[0] * f), int(arr.shape[1] * f)
        arr = cv2.resize(arr, (w, h), interpolation=cv2.INTER_AREA)
        px = self.dpi / 25.4
        # on the paper, before it meets the scanner
        if self.ink_bleed:
            arr = _ink_bleed(arr, self.ink_bleed * px)
        if self.show_through:
            arr = _show_through(arr, self.show_through, px, rng)
        if self.texture:
            arr = _texture(arr, self.texture, px, rng)
        if self.perspective:
            arr = self._photograph(arr, px, rng)
        else:
            m = cv2.getRotationMatrix2D((w / 2, h / 2), self.angle, self.scale)
            # the scanner's window is the page's bounding box plus a margin (auto size), so
            # a skewed sheet keeps its corners; the lid shows light grey around it
            a = math.radians(abs(self.angle))
            out_w = int((w * math.cos(a) + h * math.sin(a)) * self.scale + 12 * px)
            out_h = int((w * math.sin(a) + h * math.cos(a)) * self.scale + 12 * px)
            m[:, 2] += ((out_w - w) / 2 + self.shift[0] * px, (out_h - h) / 2 + self.shift[1] * px)
            arr = cv2.warpAffine(arr, m, (out_w, out_h), flags=cv2.INTER_LINEAR, borderValue=(228, 228, 228))
        if self.levels != (0, 255) or self.gamma != 1.0:
            arr = _levels(arr, self.levels, self.gamma)
        if self.blur:
            arr = cv2.GaussianBlur(arr, (0, 0), self.blur * self.dpi / 300)
        if self.noise:
            tile = _noise_tile()
            hh, ww = min(arr.shape[0], tile.shape[0]), min(arr.shape[1], tile.shape[1])
            y0 = int(rng.integers(0, tile.shape[0] - hh + 1))
            x0 = int(rng.integers(0, tile.shape[1] - ww + 1))
            noise = np.zeros(arr.shape[:2], np.int16)
            noise[:hh, :ww] = (tile[y0: y0 + hh, x0: x0 + ww] * (self.noise / 8)).astype(np.int16)
            if arr.ndim == 3:
                noise = cv2.merge([noise, noise, noise])
            arr = cv2.add(arr, noise, dtype=cv2.CV_8U)
        if self.speckle or self.streaks:
            arr = _specks_and_streaks(arr, self.speckle, self.streaks, px, rng)
        if self.quarter:
            arr = cv2.rotate(arr, {1: cv2.ROTATE_90_CLOCKWISE, 2: cv2.ROTATE_180,
                                   3: cv2.ROTATE_90_COUNTERCLOCKWISE}[self.quarter])
        if self.mode == "bw":
            return _one_bit(arr, self.bw_method, self.bw_threshold, px)
        return Image.fromarray(arr)

    def _photograph(self, arr: np.ndarray, px: float, rng: np.random.Generator) -> np.ndarray:
        """The page as a phone sees it on a table: seen at an angle (a perspective warp), in a
        4:3 picture with the table around it, lit unevenly, with the camera's colour cast."""
        h, w = arr.shape[:2]
        out_h = int(h * rng.uniform(1.08, 1.2))
        out_w = int(out_h * 3 / 4)
        a = math.radians(self.angle)
        c, s = math.cos(a), math.sin(a)
        centre = np.array([out_w / 2, out_h / 2]) + rng.uniform(-0.02, 0.02, 2) * out_h
        src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
        dst = []
        for x, y in src:
            x, y = x - w / 2, y - h / 2
            dst.append(centre + [c * x - s * y, s * x + c * y] + rng.uniform(-1, 1, 2) * self.perspective * w)
        hom = cv2.getPerspectiveTransform(src, np.float32(dst))
        table = np.array(rng.choice([(150, 110, 72), (118, 118, 120), (196, 194, 186), (70, 62, 58)]), np.float32)
        table = table * (1 + 0.08 * cv2.resize(rng.standard_normal((6, 8), dtype=np.float32), (out_w, out_h),
                                              interpolation=cv2.INTER_CUBIC))[:, :, None]
        ground = np.clip(table, 0, 255).astype(np.uint8)
        photo = cv2.warpPerspective(arr, hom, (out_w, out_h), dst=ground, flags=cv2.INTER_LINEAR,
                                    borderMode=cv2.BORDER_TRANSPARENT)
        # light: brighter on one side, darker in the corners, sometimes the shadow of the phone or a hand
        # (the light is smooth: worked out on a coarse grid and resized)
        ys, xs = np.mgrid[0:out_h:8, 0:out_w:8].astype(np.float32)
        u, v = (xs - out_w / 2) / out_h, (ys - out_h / 2) / out_h
        t = rng.uniform(0, 2 * math.pi)
        light = 1 - self.lighting * 0.25 * (1 + (math.cos(t) * u + math.sin(t) * v) * 2)
        light *= 1 - self.lighting * 0.35 * (u * u + v * v) * 2
        if rng.random() < 0.5:
            sx, sy = rng.uniform(-0.3, 0.3, 2)
            light *= 1 - self.lighting * 0.3 * np.exp(-((u - sx) ** 2 + (v - sy) ** 2) / 0.03)
        cast = np.array([1.0, rng.uniform(0.94, 1.0), rng.uniform(0.82, 0.97)], np.float32)
        # no corner darker than half the light: a deeper shadow, and nobody would take the picture
        light = cv2.resize(np.maximum(light, 0.5).astype(np.float32), (out_w, out_h), interpolation=cv2.INTER_LINEAR)
        return cv2.multiply(photo, cv2.merge([light * c for c in cast]), dtype=cv2.CV_8U)

    def json(self) -> dict:
        out = dict(dpi=self.dpi, mode=self.mode, angle=round(self.angle, 2), quarter=self.quarter,
                   shift_mm=[round(v, 1) for v in self.shift], scale=round(self.scale, 3), blur=round(self.blur, 2),
                   noise=self.noise, jpeg=self.jpeg, degrade=self.degrade)
        extra = dict(levels=list(self.levels), gamma=round(self.gamma, 2), speckle=round(self.speckle, 2),
                     streaks=self.streaks, texture=round(self.texture, 1), show_through=round(self.show_through, 2),
                     ink_bleed=round(self.ink_bleed, 2), perspective=round(self.perspective, 3),
                     lighting=round(self.lighting, 2))
        defaults = dict(levels=[0, 255], gamma=1.0, speckle=0.0, streaks=0, texture=0.0, show_through=0.0,
                        ink_bleed=0.0, perspective=0.0, lighting=0.0)
        out.update({k: v for k, v in extra.items() if v != defaults[k]})
        if self.mode == "bw":
            out.update(bw_method=self.bw_method, bw_threshold=self.bw_threshold)
        return out


@functools.lru_cache(maxsize=1)
def _noise_tile() -> np.ndarray:
    """Sensor noise (sigma 8) to cut each page's noise from at a random offset: drawing it
    anew for every page cost more than the rest of the scan."""
    return np.random.default_rng(0).standard_normal((4000, 3000), dtype=np.float32) * 8


def _smooth_field(shape: tuple[int, int], cells: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """Smooth random values (about -1..1) over an image: a coarse grid resized, cheap at any size."""
    return cv2.resize(rng.standard_normal(cells, dtype=np.float32), (shape[1], shape[0]),
                      interpolation=cv2.INTER_CUBIC)


def _levels(arr: np.ndarray, levels: tuple[int, int], gamma: float) -> np.ndarray:
    lo, hi = levels
    x = np.arange(256, dtype=np.float32) / 255
    lut = np.clip(lo + (hi - lo) * x ** gamma, 0, 255).astype(np.uint8)
    return cv2.LUT(arr, lut)


def _ink_bleed(arr: np.ndarray, spread: float) -> np.ndarray:
    """Ink soaks into the paper: every dark stroke grows a soft fringe of about `spread` px."""
    r = max(1, round(spread))
    grown = cv2.erode(arr, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1,) * 2))
    soft = cv2.GaussianBlur(grown, (0, 0), max(0.5, spread))
    weight = 0.6 * min(1.0, spread)
    return np.minimum(arr, cv2.addWeighted(arr, 1 - weight, soft, weight, 0))


def _show_through(arr: np.ndarray, opacity: float, px: float, rng: np.random.Generator) -> np.ndarray:
    """The print of the back side seen through thin paper: a mirrored, blurred, faint ghost."""
    back = cv2.flip(arr, 1)
    dx, dy = (int(v * px) for v in rng.uniform(-4, 4, 2))
    back = np.roll(back, (dy, dx), axis=(0, 1))
    back = cv2.GaussianBlur(back, (0, 0), 0.4 * px)
    dark = (255 - back.astype(np.float32)) * opacity
    return np.clip(arr.astype(np.float32) - dark, 0, 255).astype(np.uint8)


def _texture(arr: np.ndarray, amount: float, px: float, rng: np.random.Generator) -> np.ndarray:
    """Paper fibres and photocopy mottle: blotches of a few cm and a fine grain, darkening the paper."""
    h, w = arr.shape[:2]
    blotch = _smooth_field((h, w), (max(2, int(h / px / 25)), max(2, int(w / px / 25))), rng)
    grain = _smooth_field((h, w), (max(2, int(h / px * 2)), max(2, int(w / px * 2))), rng)
    dark = np.abs(blotch * 0.7 + grain * 0.5) * amount
    if arr.ndim == 3:
        dark = dark[:, :, None]
    return np.clip(arr.astype(np.float32) - dark, 0, 255).astype(np.uint8)


def _specks_and_streaks(arr: np.ndarray, density: float, streaks: int, px: float,
                        rng: np.random.Generator) -> np.ndarray:
    """Toner specks and dust (salt-and-pepper, mostly dots, a few up to about 1 mm), white
    drop-outs in ink, and streaks along the feed from a dirty glass."""
    arr = arr.copy()
    h, w = arr.shape[:2]
    n = int(density * (h / px / 10) * (w / px / 10))
    colour = (40, 40, 40) if arr.ndim == 3 else 40
    for _ in range(n):
        r = px * (0.05 if rng.random() < 0.8 else rng.uniform(0.1, 0.55))
        centre = (int(rng.integers(0, w)), int(rng.integers(0, h)))
        if r < 1:
            arr[centre[1], centre[0]] = colour
        else:
            axes = (max(1, int(r * rng.uniform(0.6, 1.4))), max(1, int(r * rng.uniform(0.6, 1.4))))
            cv2.ellipse(arr, centre, axes, float(rng.uniform(0, 180)), 0, 360, colour, -1, cv2.LINE_AA)
    if density:  # salt: white pixels where ink is
        salt = rng.random((h, w), dtype=np.float32) < density * 0.01
        arr[salt] = 255
    for _ in range(streaks):
        x = int(rng.integers(0, w))
        width = max(1, int(px * rng.uniform(0.1, 0.4)))
        shade = float(rng.uniform(0.55, 0.85))
        arr[:, x: x + width] = (arr[:, x: x + width] * shade).astype(np.uint8)
    return arr


def _one_bit(arr: np.ndarray, method: str, threshold: int, px: float) -> Image.Image:
    """1 bit per pixel: a fixed threshold (faint ink lost, or grey paper gone black), error
    diffusion (grey print and faint ink turned into dot patterns) or a local threshold (halos)."""
    if method == "dither":
        # the scanner sets its white point first, then diffuses the grey that is left
        white = np.clip(arr.astype(np.float32) * (255 / 235), 0, 255).astype(np.uint8)
        return Image.fromarray(white).convert("1")  # Pillow diffuses the error (Floyd-Steinberg)
    if method == "adaptive":
        # against the mean of about 1 cm around: paper grain turns to dots, large solid print keeps its
        # inside (a smaller window hollows the markers out, which no scanner setting does)
        block = 2 * int(5 * px) + 1
        out = cv2.adaptiveThreshold(arr, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY, block, threshold // 10)
        return Image.fromarray(out).convert("1")
    return Image.fromarray(np.where(arr > threshold, 255, 0).astype(np.uint8)).convert("1")


def blank_back(rng: random.Random, dpi: int) -> Image.Image:
    """The back of a sheet: paper with a little show-through and dust."""
    w, h = int(210 / 25.4 * dpi), int(297 / 25.4 * dpi)
    nr = np.random.default_rng(rng.randint(0, 2 ** 31))
    arr = cv2.add(np.full((h, w), 246, np.float32), nr.standard_normal((h, w), dtype=np.float32) * 3, dtype=cv2.CV_8U)
    for _ in range(rng.randint(0, 6)):
        cv2.circle(arr, (rng.randint(0, w - 1), rng.randint(0, h - 1)), rng.randint(1, 3), 90, -1)
    return Image.fromarray(arr)


# --- the whole run ---------------------------------------------------------------------------


def _read_payload(image: Image.Image, key: bytes) -> qr.Payload | None:
    import zxingcpp

    for r in zxingcpp.read_barcodes(np.asarray(image.convert("L")), formats=zxingcpp.BarcodeFormat.QRCode):
        try:
            return qr.decode(r.text, key)
        except JunkaiError:
            continue
    return None


def iter_cards(pdf: Path, key: bytes, limit: int | None = None):
    """The cards of a printed PDF one by one, each a list of its sheets (the cover is left out)."""
    from ocr.pages import rasterise_pdf  # the one door to the PDF rasteriser

    current: list[Sheet] = []
    count = 0
    for arr in rasterise_pdf(pdf, PRINT_DPI):
        img = Image.fromarray(arr)
        p = _read_payload(img, key)
        if p is None:
            continue
        if current and current[0].payload.print_id != p.print_id:
            yield current
            count += 1
            current = []
            if limit and count >= limit:
                return
        current.append(Sheet(img, p, F.page(p.form, p.page, p.form_version)))
    if current:
        yield current


def _printed_sheets(pdf: Path, key: bytes, limit: int | None = None) -> list[list[Sheet]]:
    return list(iter_cards(pdf, key, limit))


def simulate(pdf: Path, out: Path, seed: int, key: bytes, today: date | None = None,
             cards_per_pdf: int = 6, limit: int | None = None, degrade: str = "ordinary",
             writers: str | None = None, on_card=None) -> dict:
    """Fill and scan every card of a printed PDF; returns the truth (also written to out/truth.json).
    `on_card(done, total)` is told after every card (a progress bar; the total is not known ahead).

    `degrade` is one degradation class for every file, or "mix": a class drawn for each file.
    `writers` (see fill_card) defaults to today's hands for "ordinary", the set that tests and the
    demo were made on, and to the varied hands for every other choice (faint pens on light pages)."""
    if degrade not in DEGRADE_CHOICES:
        raise JunkaiError(f"劣化の種類が不明です: {degrade} (選べるのは {', '.join(DEGRADE_CHOICES)})")
    if writers is not None and writers not in WRITERS:
        raise JunkaiError(f"書き手の種類が不明です: {writers} (選べるのは {', '.join(WRITERS)})")
    rng = random.Random(seed)
    nrng = np.random.default_rng(seed)
    today = today or date.today()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    truth: dict[str, Any] = dict(source=Path(pdf).name, seed=seed, degrade=degrade, cards=0, pages=[])
    batch: list[tuple[Image.Image, dict, Scan]] = []
    n_file = 0

    def flush() -> None:
        nonlocal n_file, batch
        if not batch:
            return
        n_file += 1
        _write_file(out, n_file, batch, truth, rng)
        batch = []

    setting = (300, "grey")
    cls = degrade
    new_group, group = True, 0  # a group: one scanned file, or one phone session of single pictures
    for sheets in iter_cards(Path(pdf), key, limit):  # one card in memory at a time
        truth["cards"] += 1
        if degrade != "ordinary" and new_group:  # before writing: a light page's writer has a faint pen
            cls = _next_class(rng, truth["pages"]) if degrade == "mix" else degrade
            setting = scanner_setting(rng, cls)
            new_group, group = False, 0
        hands = writers or ("today" if degrade == "ordinary" else "faint" if cls == "light" else "varied")
        scenario = fill_card(sheets, rng, today, hands)
        for s in sheets:
            if (degrade == "ordinary" and not batch) or cls == "photo":  # the phone is nearer or farther each time
                setting = scanner_setting(rng, cls)
            scan = Scan.random(rng, *setting, degrade=cls)
            entry = dict(kind="card", print_id=s.payload.print_id, premises_id=s.payload.premises_id,
                         form=s.payload.form, sheet=s.payload.page, sheets=s.payload.pages,
                         prefilled=s.payload.premises_id is not None, scenario=scenario, degrade=cls,
                         writers=hands, hand=s.hand.json() if s.hand else None, scan=scan.json(),
                         values=s.values, notes=s.notes)
            batch.append((scan.apply(s.image, nrng), entry, scan))
            if cls == "photo":  # one picture, one file; nobody photographs the blank back
                flush()
                continue
            if rng.random() < 0.08:
                back = Scan(scan.dpi, scan.mode, 0, 0, (0, 0), 1.0, 0, 0, scan.jpeg, cls)
                batch.append((back.apply(blank_back(rng, PRINT_DPI), nrng),
                              dict(kind="blank_back", degrade=cls, scan=back.json()), back))
        group += 1
        # a session of pictures ends as a scanned file does, so that a mix holds as many pages of each
        if len(batch) >= cards_per_pdf or (cls == "photo" and group >= cards_per_pdf) or rng.random() < 0.1:
            flush()
            new_group = True
        if on_card:
            on_card(truth["cards"], None)
    flush()
    if not truth["cards"]:
        raise JunkaiError(f"印刷されたカードが見つかりません (QR コードを確認できません): {pdf}")
    (out / "truth.json").write_text(json.dumps(truth, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return truth


def _next_class(rng: random.Random, pages: list[dict]) -> str:
    """The class of a mix's next file: drawn among those with the fewest card pages so far, so that
    a small set still holds every class (a picture is one page, a scanned file several)."""
    count = {c: 0 for c in DEGRADATIONS}
    for p in pages:
        if p["kind"] == "card":
            count[p["degrade"]] += 1
    least = min(count.values())
    return rng.choice([c for c in DEGRADATIONS if count[c] == least])


def _write_file(out: Path, n: int, batch: list, truth: dict, rng: random.Random) -> None:
    """Several pages as one PDF (as an ADF scanner writes), or a lone page as TIFF, PNG or JPEG."""
    if batch[0][2].degrade == "photo":  # a phone's JPEG, which says 72 dpi whatever the page's resolution
        img, entry, scan = batch[0]
        path = out / f"scan-{n:03d}.jpg"
        img.save(path, quality=scan.jpeg or 80, dpi=(72, 72))
        truth["pages"].append(dict(entry, file=path.name, page=1))
        return
    if len(batch) == 1 and rng.random() < 0.6:
        img, entry, scan = batch[0]
        fmt = rng.choice(["tiff", "png", "jpg"])
        if fmt == "jpg" and img.mode == "1":
            img = img.convert("L")
        path = out / f"scan-{n:03d}.{fmt}"
        kwargs: dict[str, Any] = dict(dpi=(scan.dpi, scan.dpi))
        if fmt == "jpg":
            kwargs["quality"] = scan.jpeg or 90
        elif fmt == "tiff":
            kwargs["compression"] = "group4" if img.mode == "1" else "tiff_lzw"
        img.save(path, **kwargs)
        truth["pages"].append(dict(entry, file=path.name, page=1))
        return
    if rng.random() < 0.2 and all(s.jpeg is None for _, _, s in batch):
        path = out / f"scan-{n:03d}.tiff"
        imgs = [img for img, _, _ in batch]
        imgs[0].save(path, save_all=True, append_images=imgs[1:], dpi=(batch[0][2].dpi,) * 2, compression="tiff_lzw")
    else:
        path = out / f"scan-{n:03d}.pdf"
        imgs = []
        for img, _, scan in batch:
            # PDF pages carry JPEG (lossy) or Flate (lossless) images, at the scan's resolution
            imgs.append(img if scan.jpeg is None or img.mode == "1" else _jpeg(img, scan.jpeg))
        imgs[0].save(path, save_all=True, append_images=imgs[1:], resolution=float(batch[0][2].dpi))
    for i, (_, entry, _) in enumerate(batch):
        truth["pages"].append(dict(entry, file=path.name, page=i + 1))


def _jpeg(img: Image.Image, quality: int) -> Image.Image:
    import io

    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=quality)
    buf.seek(0)
    return Image.open(buf)
