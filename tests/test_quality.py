"""Doubt at the level of a page, on real printed cards scanned through the simulator: an ordinary
scan reads as it always did; speckle, bleed-through, a light or dark scan, a missing marker or ticks
everywhere make the page noisy, said in words with its numbers; handwriting on a light page is found
by the page's own levels; and ink that reads as nothing is a value for a person, never dropped.

Degradations are drawn here, on the printed sheet or on its scan, at strengths measured to break
reading (or just short of it, for the ordinary cases)."""

from __future__ import annotations

import copy
import dataclasses
import random
from datetime import date

import cv2
import numpy as np
import pytest
from PIL import Image

from junkai import qr
from junkai import simulate as S
from junkai.readings import Candidate, PageStatus, Reason
from ocr import engines as E
from ocr import pages as P
from ocr import quality as Q
from ocr import read as R
from tests.ocr_cards import printed

FONT = "/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf"


# fields on the first sheet of a blank business card in the newest layout: a person's name, a big free box
NAME, BIG = "representative", "notes"


@pytest.fixture(scope="module")
def cards():
    """(key, a pre-filled household card's first sheet filled in by a resident, a blank business card's)."""
    home, cards_pdf, blank_pdf = printed()
    key = qr.station_key(home)
    filled = S._printed_sheets(cards_pdf, key, limit=1)[0]
    S.fill_card(filled, random.Random(3), date(2026, 11, 20))
    blank = S._printed_sheets(blank_pdf, key, limit=1)[0]
    return key, filled[0], blank[0]


def hand(ink: int = 30) -> S.Hand:
    return S.Hand(S.FONTS[0], 0.75, 0.0, 0.02, (ink, ink, ink), 4)


def scan(sheet_image: Image.Image, mode: str = "grey", dpi: int = 200, skew: float = 0.8,
         after=None, seed: int = 1) -> P.Page:
    img = S.Scan(dpi, mode, skew, 0, (1.0, -1.0), 1.0, 0.0, 4, None).apply(sheet_image, np.random.default_rng(seed))
    a = np.asarray(img.convert("L") if img.mode == "1" else img)
    if after is not None:
        a = after(a)
    return P.Page("scan.png", 0, np.ascontiguousarray(a), float(dpi))


def speckle(a: np.ndarray, n: int = 400) -> np.ndarray:
    """Photocopy noise: dots of 0.1-0.4 mm all over the page."""
    rng = np.random.default_rng(7)
    a = a.copy()
    for _ in range(n):
        cv2.circle(a, (int(rng.integers(0, a.shape[1])), int(rng.integers(0, a.shape[0]))), int(rng.integers(1, 3)),
                   (20, 20, 20) if a.ndim == 3 else 20, -1)
    return a


def texture(a: np.ndarray) -> np.ndarray:
    """Grainy recycled paper: blotches of ±60 grey a few tenths of a mm across."""
    rng = np.random.default_rng(5)
    h, w = a.shape[:2]
    t = cv2.GaussianBlur(cv2.resize(rng.normal(0, 1, (h // 6, w // 6)).astype(np.float32), (w, h)), (0, 0), 2) * 60
    return np.clip(a.astype(np.float32) + (t[:, :, None] if a.ndim == 3 else t), 0, 255).astype(np.uint8)


def light(a: np.ndarray) -> np.ndarray:
    """Over-exposed: black comes out at ~100, a ballpoint lighter still."""
    return (255 - (255 - a.astype(np.float32)) * 0.6).astype(np.uint8)


def dark(a: np.ndarray) -> np.ndarray:
    """Under-exposed: the paper comes out at ~155."""
    return (a.astype(np.float32) * 0.62).astype(np.uint8)


def bled(sheet: S.Sheet, back: S.Sheet, strength: float = 0.45) -> Image.Image:
    """The other side showing through, mirrored (thin paper, strong ink)."""
    front = np.asarray(sheet.image.convert("RGB"), np.float32)
    behind = np.asarray(back.image.convert("RGB"), np.float32)[:, ::-1]
    return Image.fromarray(np.clip(front - strength * (255 - behind), 0, 255).astype(np.uint8))


def one_marker_covered(sheet: S.Sheet) -> Image.Image:
    from PIL import ImageDraw

    img = sheet.image.copy()
    b = sheet.layout.markers[3]
    px = S.PRINT_DPI / 25.4
    ImageDraw.Draw(img).rectangle([(b.x - 1) * px, (b.y - 1) * px, (b.right + 1) * px, (b.bottom + 1) * px],
                                  fill="white")
    return img


def ticked_everywhere(sheet: S.Sheet) -> Image.Image:
    """Every box of three groups ticked, two of them one-choice groups: not how anyone fills a card.
    The groups are the last member row on the sheet and its largest many-choice group, in any layout."""
    img = sheet.image.copy()
    rng = random.Random(2)
    last = sheet.layout.rows["members"][1]
    many = max((f for f in sheet.layout.fields if f.multiple), key=lambda f: len(f.options))
    for fid in (f"members.{last}.relation", f"members.{last}.sex", many.id):
        for o in sheet.layout.field(fid).options:
            S.mark(img, o.box, "tick", hand(), rng)
    return img


@pytest.fixture(scope="module")
def reader(cards):
    return R.Reader(cards[0])


@pytest.mark.parametrize("mode,dpi,skew", [("grey", 200, 0.4), ("bw", 200, 4.8), ("colour", 300, -2.0)])
def test_an_ordinary_scan_is_not_noisy(cards, reader, mode, dpi, skew):
    _, sheet, _ = cards
    r = reader.read(scan(sheet.image, mode, dpi, skew))
    assert r.status == PageStatus.OK and Reason.NOISY_PAGE not in r.reasons, r.messages
    q = r.quality
    assert q["problems"] == [] and q["specks"] <= Q.SPECKS_MAX // 3 and q["grey"] <= Q.GREY_MAX / 4
    assert q["paper"] >= 240 and q["black"] <= 30 and q["markers"] == 4 and q["residual_mm"] < 0.5
    assert abs(q["skew"] - skew) < 0.3
    assert not any(Reason.UNREAD_INK in f.reasons for f in r.fields)  # an empty entry is paper, not ink


NOISE = {
    "speckle": dict(after=speckle),
    "bleed_through": dict(image="bled"),
    "texture": dict(after=texture),
    "too_light": dict(after=light),
    "too_dark": dict(after=dark),
    "markers": dict(image=one_marker_covered),
    "ticks": dict(image=ticked_everywhere),
}
SAID = {"texture": "bleed_through"}  # grainy paper is told with bleed-through: mid-grey where paper should be


@pytest.mark.parametrize("noise", list(NOISE))
def test_a_noisy_page_says_which_noise_with_its_numbers(cards, reader, noise):
    _, sheet, blank = cards
    how = NOISE[noise]
    image = how.get("image")
    if image == "bled":
        image = bled(sheet, blank)
    elif callable(image):
        image = image(sheet)
    r = reader.read(scan(image or sheet.image, after=how.get("after")))
    problem = SAID.get(noise, noise)
    assert r.status == PageStatus.PARTIAL and Reason.NOISY_PAGE in r.reasons, (r.reasons, r.quality)
    assert problem in r.quality["problems"]
    message = r.messages[r.reasons.index(Reason.NOISY_PAGE)]
    assert Q.WORDS[problem] in message and "確認に回します" in message
    assert any(ch.isdigit() for ch in message.split(Q.WORDS[problem])[1].split("、")[0])  # its number
    assert r.identity is not None and r.identity.print_id == sheet.payload.print_id  # still read and identified


def test_handwriting_on_a_light_scan_is_found_by_the_pages_own_levels(cards, reader):
    """A ballpoint that comes out light on an over-exposed scan: the fixed grey threshold misses the
    name (the newcomer of the issue lost his), the page's own levels find it."""
    _, _, blank = cards
    sheet = copy.copy(blank)
    sheet.image = blank.image.copy()
    f = sheet.layout.field(NAME)
    entry = S.F.Box(f.entry.x + 0.8, f.entry.y + 0.3, f.entry.w - 1.6, 6.0)
    S.write_text(sheet.image, "山田　花子", entry, hand(ink=95), random.Random(1))
    page = scan(sheet.image, after=light)
    r = reader.read(page)
    read = r.field(NAME)
    assert read.ink and read.value, (read, r.quality)
    al = R.align(page.image, page.dpi)
    fixed, _ = R._text_field(f, al.image)  # the old fixed threshold, on the same aligned page
    assert not fixed.ink
    assert r.quality["text_ink"] > R.INK + 20


def over_exposed(a: np.ndarray) -> np.ndarray:
    """A scanner's levels lifted and its mid-tones paled (black at ~70, a grey pen near the paper)."""
    lifted = 70 + a.astype(np.float32) * (185 / 255)
    return np.clip(255 * (lifted / 255) ** 0.7, 0, 255).astype(np.uint8)


def test_pale_writing_on_an_over_exposed_scan_is_doubted_never_dropped(cards, reader):
    """A pencil-grey name and tick on an over-exposed scan come out paler than the page's ink level:
    they are found as pale writing for a person to read, not taken for empty fields; the empty
    fields of the same page stay empty."""
    _, _, blank = cards
    img = blank.image.copy()
    f = blank.layout.field(NAME)
    S.write_text(img, "山田　花子", S.F.Box(f.entry.x + 0.8, f.entry.y + 0.3, f.entry.w - 1.6, 6.0), hand(ink=150),
                 random.Random(1))
    security = blank.layout.field("security")
    S.mark(img, security.options[1].box, "tick", hand(ink=175), random.Random(2))
    page = scan(img, after=over_exposed)
    al = R.align(page.image, page.dpi)
    usual = Q.measure(al, blank.layout)
    fixed, _ = R._text_field(f, al.image, levels=dataclasses.replace(usual, problems=["speckle"]))
    assert not fixed.ink  # at the page's usual ink level the name is paper: it was lost before
    r = reader.read(page)
    name, tick = r.field(NAME), r.field("security")
    assert name.ink and Reason.FAINT_INK in name.reasons, (name, r.quality)
    assert tick.ink and Reason.FAINT_INK in tick.reasons and tick.value is None, tick
    untouched = [x for x in r.fields if x.id in ("industry", "manager", "closed_days")]
    assert untouched and not any(x.ink for x in untouched)


def test_a_few_strokes_in_a_big_box_are_a_value_to_review(cards, reader):
    """Under the share of ink that makes an entry written (a big box, one short word): still ink,
    read, and marked for a person; an empty big box stays empty."""
    _, _, blank = cards
    f = blank.layout.field(BIG)
    img = blank.image.copy()
    S.write_text(img, "特になし", S.F.Box(f.entry.x + 2, f.entry.y + 2, 24.0, 6.0), hand(), random.Random(4))
    r = reader.read(scan(img))
    opinion = r.field(BIG)
    region = R._slice(R.align(scan(img).image, 200).image, f.entry, R.ENTRY_INSET)
    assert 0 < R._ink_share(region) < R.TEXT_INK_MIN  # below the share that made it writing before
    assert opinion.ink and Reason.UNREAD_INK in opinion.reasons and opinion.value
    clean = reader.read(scan(blank.image)).field(BIG)
    assert not clean.ink and not clean.reasons


class Nothing:
    """A recogniser that finds no text in any crop (as one does on circled or scribbled entries)."""
    name = "nothing"

    def __init__(self, empty_text: bool):
        self.empty_text = empty_text

    def read(self, crops):
        return [[Candidate("", 0.99, self.name)] if self.empty_text else [] for _ in crops]


@pytest.mark.parametrize("empty_text", [False, True])
def test_ink_the_recogniser_reads_as_nothing_is_a_value_to_review(cards, empty_text):
    key, sheet, _ = cards
    image = sheet.image.copy()
    # the resident changed a member's occupation, whatever else the simulated resident did
    S.mark(image, sheet.layout.field("members.change").options[1].box, "tick", hand(), random.Random(1))
    S.write_text(image, "会社員", sheet.layout.field("members.1.occupation").box, hand(), random.Random(1))
    r = R.Reader(key, engine=Nothing(empty_text)).read(scan(image))
    written = [f for f in r.fields if f.kind in ("text", "kana", "free") and f.ink]
    assert written
    for f in written:
        assert f.value is None and f.confidence == 0.0 and Reason.UNREAD_INK in f.reasons, f


def test_ticks_counted_over_the_page_and_their_limits():
    """The count on hand-made readings: two one-choice groups with two ticks each is speckle, one is a
    resident's slip; many ticks on a page of few boxes are a blank card filled in."""
    from junkai import form as F
    from junkai.readings import FieldReading

    layout = F.page("household", 1, version=1)  # 40 one-choice groups on a sheet (version 2 spreads them out)

    def fields(multiple_in: int, ticked: int = 0):
        out = []
        for i, f in enumerate(fi for fi in layout.fields if fi.kind == "checkbox" and not fi.multiple):
            if i < multiple_in:
                out.append(FieldReading(f.id, f.kind, f.section, f.path, None, 0.2, reasons=[Reason.MULTIPLE_TICKS]))
            else:
                value = f.options[0].value if i < ticked else None
                out.append(FieldReading(f.id, f.kind, f.section, f.path, value, 1.0))
        return out

    for odd, ticked, noisy in ((1, 0, False), (2, 0, True), (0, 12, False), (0, 40, True)):
        q = Q.PageQuality(250.0, 10.0)
        Q.count_ticks(q, fields(odd, ticked), layout)
        assert ("ticks" in q.problems) == noisy, (odd, ticked, q)


def test_a_pale_filled_box_beside_a_darker_mark_is_doubted(cards, reader):
    """A resident blacks out one box in a pale pen and marks another darker: the darker mark alone
    is not taken as the choice while a box beside it is filled paler than the page's ink."""
    _, _, blank = cards
    img = blank.image.copy()
    security = blank.layout.field("security")
    S.mark(img, security.options[0].box, "tick", hand(), random.Random(2))
    S.mark(img, security.options[1].box, "fill", hand(ink=175), random.Random(3))
    r = reader.read(scan(img, after=over_exposed))
    tick = r.field("security")
    assert Reason.FAINT_INK in tick.reasons and tick.confidence < 0.8, (tick, r.quality)


@pytest.mark.parametrize("style,ink", [("ring_in", 195), ("ring_box", 190)])
def test_a_pale_ring_as_light_as_the_outlines_is_doubted_not_an_empty_field(cards, reader, style, ink):
    """A thin ○ in a pale pen, no darker than the printed outlines, in a box or round it: the page's faint
    level (set by the writing around it) misses it; the paper inside the box, or the pale ink beside the
    outline, does not, and the field goes to a person."""
    _, _, blank = cards
    img = blank.image.copy()
    security = blank.layout.field("security")
    pale = hand(ink=ink)
    pale.width = 2
    S.mark(img, security.options[1].box, style, pale, random.Random(2))
    tick = reader.read(scan(img)).field("security")
    assert tick.ink and Reason.FAINT_INK in tick.reasons and tick.confidence < 0.8, tick
    untouched = [x for x in reader.read(scan(blank.image.copy())).fields if x.kind == "checkbox"]
    assert not any(Reason.FAINT_INK in x.reasons for x in untouched)
