"""Tick boxes as people mark them: accuracy per mark style and per kind of scan.

Printed cards (a seeded station's pre-filled cards) get, in every tick-box field, one
option marked in one style of junkai.simulate.MARK_STYLES (in turn), or nothing; specks
of 0.3-1.2 mm fall into empty boxes. The pages are scanned grey, colour and black-and-
white at 200/300 dpi, some light, some dark, some covered with speckle, and read by the
real reader (ocr.read.Reader). Reported per style: % of marks read as the intended
option, % read wrong while sure (confidence at the checkbox threshold, no reason code:
what would pass without a person), and the specks read as ticks (sure or not).

Targets: ≥ 99 % per style, no speck read as a sure tick.
"""

from __future__ import annotations

import json
import random
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

SURE = 0.8  # junkai.toml [ocr.thresholds] checkbox: a reading at or above it, without reasons, needs no person
CONDITIONS = ("grey300", "grey200", "colour200", "bw200", "bw300", "bw_dither", "bw_adaptive", "bw_dark",
              "light", "dark", "speckle")
SPECK_SHARE = 0.35  # of the empty boxes, those given a speck


def fill_marks(sheet, rng: random.Random, styles: list[str], empty_share: float = 0.15) -> list[dict]:
    """Mark every tick-box field of a printed sheet (junkai.simulate.Sheet) in the next style of
    `styles` (consumed from the front, refilled by the caller) or leave it empty; specks in
    empty boxes. The truth: one entry per field."""
    from junkai import simulate as S

    truth = []
    for f in sheet.layout.fields:
        if not f.options:
            continue
        hand = S.Hand.random(rng)
        marked: dict[str, str] = {}
        if rng.random() >= empty_share and styles:
            style = styles.pop(0)
            if style == "cancel" and (f.multiple or len(f.options) < 2):
                style = "check"
            o = rng.choice(f.options)
            if style == "cancel":  # ticked one option, blacked it out, ticked another: the other
                first = rng.choice([x for x in f.options if x is not o])
                S.mark(sheet.image, first.box, rng.choice(["scribble", "strike"]), hand, rng, label=first.label_box)
                S.mark(sheet.image, o.box, "check", hand, rng, label=o.label_box)
                marked[first.value] = None
            else:
                S.mark(sheet.image, o.box, style, hand, rng, label=o.label_box)
            marked[o.value] = style
        specks = []
        for o in f.options:
            if o.value not in marked and rng.random() < SPECK_SHARE:
                size = rng.uniform(0.3, 1.2)
                S.speck(sheet.image, rng.uniform(o.box.x + 0.6, o.box.right - 0.6),
                        rng.uniform(o.box.y + 0.6, o.box.bottom - 0.6), size, rng)
                specks.append(o.value)
        truth.append(dict(field=f.id, marked=marked, specks=specks, multiple=f.multiple))
    return truth


def degrade(sheet_image: Image.Image, condition: str, rng: random.Random,
            nrng: np.random.Generator) -> tuple[np.ndarray, int]:
    """The sheet as a station's scanner gives it under a condition; (image, dpi)."""
    from junkai import simulate as S

    dpi = 300 if condition in ("grey300", "bw300") else 200
    mode = "colour" if condition == "colour200" else "bw" if condition.startswith("bw") else "grey"
    if condition == "speckle":
        mode = rng.choice(["grey", "bw"])
    scan = S.Scan(dpi, mode, rng.uniform(-2.0, 2.0), 0, (rng.uniform(-3, 3), rng.uniform(-3, 3)),
                  rng.uniform(0.98, 1.02), rng.choice([0, 0.6, 1.0]), rng.choice([0, 3, 6]), None)
    # black-and-white as scanners make it: error diffusion (the dropout outlines turn into dots), a local
    # threshold (every outline black), a fixed threshold set dark (the outlines as black as a pen)
    if condition == "bw_dither":
        scan.bw_method = "dither"
    elif condition == "bw_adaptive":
        scan.bw_method, scan.bw_threshold = "adaptive", 150
    elif condition == "bw_dark":
        scan.bw_threshold = 190
    img = scan.apply(sheet_image, nrng)
    arr = np.asarray(img.convert("L") if img.mode == "1" else img).astype(np.float32)
    if condition == "light":  # a scanner set too bright: ink grey, the dropout all but gone
        arr = 255 - (255 - arr) * rng.uniform(0.58, 0.7)
    elif condition == "dark":
        arr = arr * rng.uniform(0.72, 0.85)
    elif condition == "speckle":
        arr = speckle(arr, nrng, dpi)
    return np.clip(arr, 0, 255).astype(np.uint8), dpi


def speckle(arr: np.ndarray, nrng: np.random.Generator, dpi: int, per_cm2: float = 3.0) -> np.ndarray:
    """Photocopy and scanner speckle: dark dots of 1-4 px, some in small clusters."""
    out = arr.copy()
    h, w = arr.shape[:2]
    area_cm2 = h * w / (dpi / 2.54) ** 2
    n = int(area_cm2 * per_cm2)
    ys, xs = nrng.integers(0, h, n), nrng.integers(0, w, n)
    sizes = nrng.choice([1, 1, 1, 2, 2, 3, 4], n)
    for y, x, s in zip(ys, xs, sizes):
        for j in range(1 if nrng.random() < 0.85 else int(nrng.integers(2, 5))):  # a cluster now and then
            dy, dx = (0, 0) if j == 0 else nrng.integers(-4, 5, 2)
            y0, x0 = min(h - 1, max(0, y + dy)), min(w - 1, max(0, x + dx))
            out[y0: y0 + s, x0: x0 + s] = nrng.uniform(0, 90)
    return out


def score(fields: list[dict]) -> dict:
    """Per style: marks read right and sure-and-wrong; specks read as ticks; empty boxes read as ticked.
    Each entry: the truth of fill_marks plus the reading (value, confidence, reasons)."""
    per: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])  # n, right, sure, sure & wrong
    specks = speck_ticked = speck_sure = empty_boxes = empty_ticked = 0
    wrong = []
    for e in fields:
        value, conf, reasons = e["value"], e["confidence"], e["reasons"]
        read = set(value if isinstance(value, list) else ([value] if value is not None else []))
        want = {o for o, s in e["marked"].items() if s is not None}
        sure = conf >= SURE and not reasons
        for option, style in e["marked"].items():
            if style is None:
                continue  # the option blacked out to take its tick back
            ok = read == want and (style != "cancel" or "cancelled_mark" in reasons)
            p = per[style]
            p[0] += 1
            p[1] += ok
            p[2] += sure
            p[3] += sure and not ok
            if not ok and len(wrong) < 80:
                wrong.append(dict(e, style=style))
        for option in e["specks"]:
            specks += 1
            speck_ticked += option in read
            speck_sure += option in read and sure
        empty_boxes += e["options"] - len(e["marked"])
        empty_ticked += len(read - set(e["marked"]))
    return dict(styles={s: tuple(v) for s, v in sorted(per.items())}, specks=(specks, speck_ticked, speck_sure),
                empty=(empty_boxes, empty_ticked), wrong=wrong)


def report(s: dict) -> dict:
    out: dict[str, Any] = {}
    for style, (n, right, sure, sure_wrong) in s["styles"].items():
        out[style] = dict(marks=n, right=f"{right / n:.2%}", sure=f"{sure / n:.1%}",
                          sure_and_wrong=f"{sure_wrong / n:.2%}")
    n, ticked, sure = s["specks"]
    out["specks"] = dict(in_empty_boxes=n, read_as_tick=ticked, read_as_sure_tick=sure)
    out["empty_boxes"] = dict(boxes=s["empty"][0], read_as_ticked=s["empty"][1])
    return out


def read_sheets(sheets: list, conditions: tuple[str, ...], seed: int, styles: list[str],
                empty_share: float = 0.15) -> list[dict]:
    """Mark each sheet, scan it under the next condition, align it and read its tick boxes as the
    reader does; one entry per field."""
    from ocr import read as R

    rng, nrng = random.Random(seed), np.random.default_rng(seed)
    queue: list[str] = []
    out = []
    for i, sheet in enumerate(sheets):
        if len(queue) < 60:
            queue += rng.sample(styles, len(styles)) * 10
        truth = fill_marks(sheet, rng, queue, empty_share)
        condition = conditions[i % len(conditions)]
        arr, dpi = degrade(sheet.image, condition, rng, nrng)
        aligned = R.align(arr, dpi).image  # the reader's own alignment and tick-box reading
        for t in truth:
            f = R._checkbox(sheet.layout.field(t["field"]), aligned)
            out.append(dict(t, condition=condition, page=i, value=f.value, confidence=f.confidence,
                            reasons=[str(r) for r in f.reasons], detail=f.detail, options=len(f.detail or {})))
    return out


def run(args, workdir: Path) -> dict:
    from junkai import qr
    from junkai import simulate as S
    from bench.ocr import _cli

    workdir = Path(workdir)
    home = workdir / "marks-home"
    out = workdir / "marks-print"
    if not home.exists():
        _cli(home, "seed", "--premises", "24", "--stations", "1", "--seed", "5")
    pdfs = sorted(out.glob("cards-*.pdf"))
    if not pdfs:
        text = _cli(home, "print", "cards", "--beat", "S01-P01-B1", "--out-dir", str(out))
        pdfs = [Path(text.strip().splitlines()[-1])]
    key = qr.station_key(home)
    pages = getattr(args, "marks_pages", 96)
    sheets = []
    while len(sheets) < pages:
        for card in S.iter_cards(pdfs[0], key):
            sheets.extend(card)
            if len(sheets) >= pages:
                break
    t0 = time.perf_counter()
    fields = read_sheets(sheets[:pages], CONDITIONS, 15, list(S.MARK_STYLES) + ["cancel"])
    seconds = time.perf_counter() - t0
    s = score(fields)
    figures = report(s)
    by_condition = {}
    for c in CONDITIONS:
        sc = score([f for f in fields if f["condition"] == c])
        n = sum(v[0] for v in sc["styles"].values())
        right = sum(v[1] for v in sc["styles"].values())
        sure_wrong = sum(v[3] for v in sc["styles"].values())
        by_condition[c] = f"{right}/{n} right, {sure_wrong} sure and wrong, specks as ticks {sc['specks'][1]}"
    figures["by_condition"] = by_condition
    (workdir / "marks-wrong.json").write_text(json.dumps(s["wrong"], ensure_ascii=False, indent=1, default=str) + "\n")
    figures.update(pages=pages, seconds_per_page=round(seconds / pages, 2))
    return figures
