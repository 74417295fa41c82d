"""How fit a scanned page is to be read on its own: measured once per page on the aligned image.

    paper and ink levels (the markers are printed solid black: how black comes out, how white the
    paper is) ─▶ the ink threshold for handwriting on this page
    where nothing is written or printed (outside every field, text and marker):
        specks (small isolated dots), stray ink, mid-grey (bleed-through, paper texture)
    how well the markers fit the form (one inferred, a bent sheet), how far the sheet was skewed
    how many tick boxes read as ticked at once (speckle in boxes)

A page with any problem is noisy: the reader says which and with what numbers; nothing read on
it is applied without a person (junkai.reconcile). The limits were set on simulated scans of
printed cards: the ordinary ones (200/300 dpi, grey, colour, black-and-white, skew to 5°, JPEG)
measure 0 specks, 0 stray ink and 0 mid-grey, paper 253-255, black 0-1; photocopy speckle of ~400
dots a page counts 47-78 specks, grainy paper 10-12 % mid-grey, strong bleed-through 1.3-4 %.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

import cv2
import numpy as np

from junkai import form as F
from junkai.readings import FieldKind, FieldReading, Reason
from ocr import align as A

PX = A.PX_PER_MM

# Handwriting is darker than this share of the way from black to paper; the fixed INK = 150 of a
# usual scan (black ~1, paper ~254) is 0.59 of it. The form's dropout colour sits at ~0.74 in a
# grey scan and ~0.97 in a colour one's red channel: both stay paper.
TEXT_INK_AT = 0.59
PAPER_AT = 0.67  # lighter than this share: paper and form lines, whitened before recognition
# Pale writing (a pencil, a pale pen, an over-exposed scan lifts the black and pales the mid-tones) is
# darker than this share in an entry, where the form prints nothing: on simulated light scans the
# usual level saw 8 of 21 written entries, this one 17, and no empty entry of any ordinary page.
FAINT_INK_AT = 0.75
# problems under which pale marks are paper's or the scanner's, not a pen's: no faint writing is sought
NOT_FAINT = {"speckle", "stray_ink", "bleed_through", "too_dark"}
EDGE_MM, CLEAR_MM = 4.0, 1.0  # left out: the sheet's edge, and a margin round all that is printed
SPECK_PX = (2, 16)  # a speck: an isolated dot 0.2-1.6 mm across
# Limits of an ordinary scan (see the module's docstring for how they were set).
SPECKS_MAX = 12  # specks on the page, outside the fields
STRAY_MAX = 0.004  # share of the clear area inked (blots, bleed-through that became black)
GREY_MAX = 0.008  # share of the clear area mid-grey (bleed-through, textured paper)
GREY_AT = 0.85  # mid-grey: darker than this share of the way from black to paper, lighter than ink
PAPER_MIN, BLACK_MAX, CONTRAST_MIN = 170.0, 80.0, 140.0  # too dark / too light / too flat
RESIDUAL_MAX, SKEW_MAX = 2.0, 8.0  # mm of the markers off the form's rectangle; degrees of skew
# ticked among all boxes (a few always may be); groups ticked as nobody fills a card in
TICKED_SHARE_MAX, TICKED_MIN, ODD_TICKS_MAX = 0.3, 8, 1

WORDS = {
    "speckle": "細かい汚れ・点が多い", "stray_ink": "記入欄の外にインクが多い", "bleed_through": "裏写り・用紙の地模様",
    "too_dark": "スキャンが暗すぎる", "too_light": "スキャンが薄すぎる", "low_contrast": "文字と用紙の濃さの差が小さい",
    "markers": "位置合わせマーカーの欠け・ずれ", "skew": "用紙の傾きが大きい", "ticks": "チェックの付いた欄が多すぎる",
}


@dataclass
class PageQuality:
    paper: float  # grey level of the paper
    black: float  # grey level of the printed markers
    specks: int = 0
    stray_ink: float = 0.0
    grey: float = 0.0
    markers: int = 4
    residual_mm: float = 0.0
    skew: float = 0.0
    boxes: int = 0
    ticked: int = 0
    odd_ticks: int = 0  # groups ticked in a way nobody fills a card: two in a one-choice group, every option
    problems: list[str] = field(default_factory=list)

    def level(self, share: float) -> float:
        """The grey level `share` of the way from this page's black to its paper."""
        return self.black + share * (self.paper - self.black)

    @property
    def text_ink(self) -> float:
        return self.level(TEXT_INK_AT)

    @property
    def faint_ink(self) -> float | None:
        """Where pale writing ends and paper begins on this page; None where the page's own marks
        (speckle, bleed-through, grey paper) would pass for it."""
        return None if NOT_FAINT & set(self.problems) else self.level(FAINT_INK_AT)

    def detail(self) -> dict:
        """The numbers, for the reading (and the benchmark's classes of degradation)."""
        return dict(paper=round(self.paper, 1), black=round(self.black, 1), text_ink=round(self.text_ink, 1),
                    specks=self.specks, stray_ink=round(self.stray_ink, 5), grey=round(self.grey, 5),
                    markers=self.markers, residual_mm=round(self.residual_mm, 2), skew=round(self.skew, 2),
                    boxes=self.boxes, ticked=self.ticked, odd_ticks=self.odd_ticks, problems=list(self.problems))

    def message(self) -> str:
        """The problems in words, with their numbers, for the person reviewing the page."""
        said = {"speckle": f"{self.specks} 個", "stray_ink": f"{self.stray_ink:.1%}",
                "bleed_through": f"{self.grey:.1%}",
                "too_dark": f"用紙 {self.paper:.0f}", "too_light": f"黒 {self.black:.0f}",
                "low_contrast": f"差 {self.paper - self.black:.0f}",
                "markers": f"{self.markers}/4 個、ずれ {self.residual_mm:.1f} mm", "skew": f"{self.skew:.1f}°",
                "ticks": f"{self.ticked}/{self.boxes} 箇所、不自然な組 {self.odd_ticks}"}
        parts = "、".join(f"{WORDS[p]} ({said[p]})" for p in self.problems)
        return f"頁の状態が悪いため、読み取った値はすべて確認に回します: {parts}"


def measure(al: A.Alignment, layout: F.Page) -> PageQuality:
    """Levels, specks, stray ink and grey outside the fields, and the fit of the markers."""
    img = al.image
    clear = _clear_area(layout.form, layout.version, layout.number, img.shape)
    values = img[clear]
    paper = float(np.median(values[::7])) if values.size else float(np.percentile(img, 90))
    q = PageQuality(paper, _black(img, layout), markers=al.markers_found, residual_mm=float(al.residual_mm),
                    skew=_skew(al))
    if values.size:
        ink = values < q.text_ink
        q.stray_ink = float(ink.mean())
        q.grey = float((values < q.level(GREY_AT)).mean()) - q.stray_ink
    if q.stray_ink:
        ink2d = ((img < q.text_ink) & clear).astype(np.uint8)
        # outer outlines only: a few ms, where labelling every component of the page costs tens
        contours, _ = cv2.findContours(ink2d, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        sides = [max(cv2.boundingRect(c)[2:]) for c in contours]
        q.specks = sum(SPECK_PX[0] <= side <= SPECK_PX[1] for side in sides)
    if q.specks > SPECKS_MAX:
        q.problems.append("speckle")
    if q.stray_ink > STRAY_MAX:
        q.problems.append("stray_ink")
    if q.grey > GREY_MAX:
        q.problems.append("bleed_through")
    if q.paper < PAPER_MIN:
        q.problems.append("too_dark")
    if q.black > BLACK_MAX:
        q.problems.append("too_light")
    if q.paper - q.black < CONTRAST_MIN and not {"too_dark", "too_light"} & set(q.problems):
        q.problems.append("low_contrast")
    if q.markers < 4 or q.residual_mm > RESIDUAL_MAX:
        q.problems.append("markers")
    if abs(q.skew) > SKEW_MAX:
        q.problems.append("skew")
    return q


def count_ticks(q: PageQuality, fields: list[FieldReading], layout: F.Page) -> None:
    """Ticks read over the whole page: too many at once is speckle in the boxes, not a resident."""
    for fr in fields:
        if fr.kind != FieldKind.CHECKBOX:
            continue
        options = len(layout.field(fr.id).options)
        q.boxes += options
        if Reason.MULTIPLE_TICKS in fr.reasons:
            q.ticked += 2
            q.odd_ticks += 1
        elif isinstance(fr.value, list):
            q.ticked += len(fr.value)
            q.odd_ticks += options >= 3 and len(fr.value) == options
        elif fr.value is not None:
            q.ticked += 1
    if q.ticked > max(TICKED_MIN, TICKED_SHARE_MAX * q.boxes) or q.odd_ticks > ODD_TICKS_MAX:
        q.problems.append("ticks")


def _black(img: np.ndarray, layout: F.Page) -> float:
    """How dark the solid printed markers came out (the middle of each, clear of its edges)."""
    levels = []
    for b in layout.markers:
        inner = img[int((b.y + 1.5) * PX): int((b.bottom - 1.5) * PX), int((b.x + 1.5) * PX): int((b.right - 1.5) * PX)]
        if inner.size:
            levels.append(float(np.median(inner)))
    return float(np.median(levels)) if levels else 0.0


@functools.lru_cache(maxsize=16)
def _clear_area(form: str, version: int, number: int, shape: tuple[int, ...]) -> np.ndarray:
    """Where nothing is printed or written on a card filled in as asked: outside every field,
    printed text, slot, QR code and marker, and clear of the sheet's edge (the same for every page
    of a layout: kept, read only)."""
    layout = F.page(form, number, version)
    h, w = shape[:2]
    clear = np.zeros((h, w), bool)
    e = int(EDGE_MM * PX)
    clear[e: h - e, e: w - e] = True
    boxes = [f.box for f in layout.fields] + [t.box for t in layout.texts] + [s.box for s in layout.slots]
    boxes += [layout.qr, *layout.markers]
    m = CLEAR_MM

    def cover(x: float, y: float, x1: float, y1: float) -> None:
        clear[max(0, int((y - m) * PX)): int((y1 + m) * PX), max(0, int((x - m) * PX)): int((x1 + m) * PX)] = False

    for b in boxes:
        cover(b.x, b.y, b.right, b.bottom)
    for s in layout.sections:  # the frame round each section and its band
        for b in (s.box, s.band):
            for x, y, x1, y1 in ((b.x, b.y, b.right, b.y), (b.x, b.bottom, b.right, b.bottom),
                                 (b.x, b.y, b.x, b.bottom), (b.right, b.y, b.right, b.bottom)):
                cover(x, y, x1, y1)
    clear.flags.writeable = False
    return clear


def _skew(al: A.Alignment) -> float:
    """Degrees (counter-clockwise) the sheet lay turned on the scanner, beyond its quarter turns."""
    top = np.float32([[[0, 0]], [[F.PAGE_W * PX, 0]]])
    (x0, y0), (x1, y1) = cv2.perspectiveTransform(top, al.homography).reshape(2, 2)
    angle = -math.degrees(math.atan2(y1 - y0, x1 - x0))  # the scan's y runs down
    return (angle + 45) % 90 - 45
