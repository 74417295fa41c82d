"""Handwritten digits, cell by cell: accuracy on writers the model never learned from, and speed.

The cells are UCI optdigits digits (junkai/handwriting.py) of the half that was used for
neither fitting nor calibrating, each written once under every degradation of the scan
(clean, thick and thin pen, blur, speckle, black-and-white, low contrast). Reported: the
share read right per degradation, digits taken for empty cells, the calibration table of the
cells read as digits (confidence ≥ t: share right, share of cells), the share of cells that
pass at the threshold which the calibration half advises for ≤ 0.5 % wrong, empty cells with
dust and box remnants read as digits, fit and load seconds (and a fresh process's start with
the kept model), and ms per cell.

The previous classifier (bench/digits_before.py) is fitted and read in the same run. It was
trained on all optdigits writers, so on them it is measured on writers it has seen: its
figure there flatters it. On the simulator's handwriting fonts neither has seen the writing;
the ratios compare the two on both.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

THRESHOLDS = (0.5, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995)
TARGET = 0.995  # share right among the cells that pass on their own
GRID = [round(0.5 + 0.005 * i, 3) for i in range(101)]


def empty_cells(rng: np.random.Generator, n: int, size: tuple[int, int] = (56, 51)) -> list[np.ndarray]:
    """Cells nobody wrote in, as scans leave them: paper noise, dust specks up to 1.5 mm, smudges,
    and remnants of the printed box along an edge when the page is a little off its markers."""
    import cv2

    out = []
    h, w = size
    for i in range(n):
        paper = rng.uniform(170, 250)
        cell = np.full(size, paper, np.float32) + rng.normal(0, rng.uniform(1, 5), size)
        kind = i % 4
        if kind in (0, 2):  # dust: a few specks of 0.3-1.5 mm (10 px/mm)
            for _ in range(int(rng.integers(1, 4))):
                r = float(rng.uniform(1.5, 7.5))
                cv2.circle(cell, (int(rng.integers(3, w - 3)), int(rng.integers(3, h - 3))), int(round(r)),
                           float(rng.uniform(0, paper - 60)), -1, cv2.LINE_AA)
        if kind in (1, 2):  # the box line: 2-4 px along one or two edges
            t = int(rng.integers(2, 5))
            ink = float(rng.uniform(0, 80))
            for edge in rng.choice(4, size=int(rng.integers(1, 3)), replace=False):
                if edge == 0:
                    cell[:t] = ink
                elif edge == 1:
                    cell[-t:] = ink
                elif edge == 2:
                    cell[:, :t] = ink
                else:
                    cell[:, -t:] = ink
        if kind == 3:  # a short smudge of toner
            x, y = int(rng.integers(5, w - 12)), int(rng.integers(5, h - 12))
            cv2.line(cell, (x, y), (x + int(rng.integers(2, 8)), y + int(rng.integers(-3, 4))),
                     float(rng.uniform(0, paper - 60)), int(rng.integers(2, 4)))
        out.append(np.clip(cell, 0, 255).astype(np.uint8))
    return out


def font_cells(rng: np.random.Generator, per_font: int = 100) -> tuple[list[np.ndarray], list[str]]:
    """Digits in the simulator's handwriting fonts, which neither classifier learned from."""
    import cv2
    from PIL import Image, ImageDraw, ImageFont

    from junkai.simulate import FONTS

    cells, truth = [], []
    for path in FONTS:
        if not os.path.exists(path):
            continue
        for _ in range(per_font):
            d = str(rng.integers(0, 10))
            im = Image.new("L", (51, 56), 255)
            ImageDraw.Draw(im).text((25 + int(rng.integers(-4, 5)), 28 + int(rng.integers(-3, 4))), d,
                                    font=ImageFont.truetype(path, int(rng.integers(30, 46))),
                                    fill=int(rng.integers(0, 90)), anchor="mm")
            cells.append(cv2.GaussianBlur(np.array(im), (3, 3), 0.7))
            truth.append(d)
    return cells, truth


def table(conf: np.ndarray, right: np.ndarray) -> dict:
    out = {}
    for t in THRESHOLDS:
        sel = conf >= t
        out[f"conf>={t}"] = (f"{right[sel].mean():.4f} right, {sel.mean():.1%} of cells" if sel.any()
                             else "n/a")
    return out


def advised_threshold(conf: np.ndarray, right: np.ndarray) -> float | None:
    """The lowest confidence at which at most 0.5 % of the cells passing are wrong (at least 20 passing)."""
    for t in GRID:
        sel = conf >= t
        if sel.sum() >= 20 and right[sel].mean() >= TARGET:
            return t
    return None


def _values(read) -> tuple[np.ndarray, np.ndarray]:
    return (np.array([d.value if d.value is not None else "" for d in read]),
            np.array([d.confidence for d in read]))


def run(args, workdir: Path) -> dict:
    from bench import digits_before
    from junkai import handwriting as H
    from ocr import digits as D

    t0 = time.perf_counter()
    fitted = D.train()
    fit_s = time.perf_counter() - t0
    D._keep(D.cache_path(), fitted)
    t0 = time.perf_counter()
    loaded = D._load(D.cache_path())
    load_s = time.perf_counter() - t0
    # a fresh process, as a reader worker starts: import, unpickle, read one cell
    probe = ("import time; t = time.perf_counter(); import numpy as np; from ocr import digits as D; "
             "D.classify([np.full((56, 51), 250, np.uint8)]); m = D.model(); "
             "print(time.perf_counter() - t)")
    cold = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert loaded is not None
    D._model = loaded

    t0 = time.perf_counter()
    before = digits_before.train()
    before_fit_s = time.perf_counter() - t0

    cells, truth, kinds = D.calibration_set(seed=7, part="measure")
    truth = truth.astype(str)
    kinds = np.array(kinds)
    t0 = time.perf_counter()
    read, conf = _values(D.classify(cells))
    ms_per_cell = (time.perf_counter() - t0) / len(cells) * 1000
    t0 = time.perf_counter()
    old, old_conf = _values(digits_before.classify(before, cells))
    old_ms = (time.perf_counter() - t0) / len(cells) * 1000
    right, old_right = read == truth, old == truth

    # the threshold the calibration half advises, measured on this half
    c_cells, c_truth, _ = D.calibration_set(seed=11, part="calibrate")
    c_read, c_conf = _values(D.classify(c_cells))
    c_read_any = c_read != ""
    advised = advised_threshold(c_conf[c_read_any], (c_read == c_truth.astype(str))[c_read_any])
    passing = (read != "") & (conf >= (advised if advised is not None else 1.01))

    f_cells, f_truth = font_cells(np.random.default_rng(3))
    f_read, _ = _values(D.classify(f_cells))
    f_old, _ = _values(digits_before.classify(before, f_cells))
    f_right, f_old_right = np.mean(f_read == np.array(f_truth)), np.mean(f_old == np.array(f_truth))

    empties = empty_cells(np.random.default_rng(5), 400)
    inked = sum(d.value is not None for d in D.classify(empties))
    old_inked = sum(d.value is not None for d in digits_before.classify(before, empties))

    def per_kind(ok: np.ndarray) -> dict:
        return {k: round(float(ok[kinds == k].mean()), 4) for k in H.DEGRADATIONS}

    def err_ratio(old_ok: float, new_ok: float) -> float | None:
        return round((1 - old_ok) / (1 - new_ok), 2) if new_ok < 1 else None

    return dict(
        test_source="optdigits, half never used to fit or calibrate (writers not in the training data)",
        cells=len(cells),
        accuracy=round(float(right.mean()), 4),
        accuracy_by_degradation=per_kind(right),
        read_as_empty=int((read == "").sum()),
        calibration=table(conf[read != ""], right[read != ""]),
        wrong_mean_confidence=round(float(conf[~right & (read != "")].mean()), 3)
        if (~right & (read != "")).any() else None,
        right_mean_confidence=round(float(conf[right].mean()), 3),
        advised_threshold=advised,
        passing_at_advised=f"{passing.mean():.1%} of cells, {right[passing].mean():.4f} right"
        if passing.any() else "none",
        handwriting_fonts_accuracy=round(float(f_right), 4),
        empty_cells_read_as_digits=f"{inked}/{len(empties)}",
        fit_s=round(fit_s, 1),
        load_s=round(load_s, 3),
        cold_start_s=round(float(cold.stdout.strip()), 2),
        ms_per_cell=round(ms_per_cell, 2),
        before=dict(
            accuracy_on_writers_it_saw=round(float(old_right.mean()), 4),
            accuracy_by_degradation=per_kind(old_right),
            calibration=table(old_conf, old_right),
            handwriting_fonts_accuracy=round(float(f_old_right), 4),
            empty_cells_read_as_digits=f"{old_inked}/{len(empties)}",
            fit_s=round(before_fit_s, 1),
            ms_per_cell=round(old_ms, 2),
        ),
        error_ratio_before_over_now=dict(optdigits=err_ratio(float(old_right.mean()), float(right.mean())),
                                         handwriting_fonts=err_ratio(float(f_old_right), float(f_right))),
    )
