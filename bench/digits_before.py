"""The digit classifier as it was before it learned from MNIST, kept only to compare with in bench/digits.py.

ExtraTrees over 8×8 ink counts, trained on scikit-learn's optdigits (all 13 writers) and
warped IPAex digits. Measured on optdigits it has seen those writers; on the simulator's
handwriting fonts neither classifier has seen the writing.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import cv2
import numpy as np

PEN = 6.0  # the data set's pen width in its 32 px boxes


@dataclass(frozen=True)
class Digit:
    value: str | None  # "0"-"9", or None for an empty cell
    confidence: float  # calibrated: how often a digit of this confidence was right
    reason: str | None = None  # "low_confidence" | "ambiguous" | None


def ink_mask(cell: np.ndarray, threshold: int | None = None) -> np.ndarray:
    """Binary ink (uint8 0/1) of a grey cell, with specks and border lines removed.

    Without a threshold it sits halfway between paper and the darkest ink of the
    cell, so a light or thin pen keeps its strokes; a cell without contrast is empty.
    """
    if threshold is None:
        paper, dark = np.percentile(cell, 90), np.percentile(cell, 0.5)
        if paper - dark < 60:
            return np.zeros(cell.shape, np.uint8)
        threshold = (paper + dark) / 2
    ink = (cell < threshold).astype(np.uint8)
    h, w = ink.shape
    n, labels, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    keep = np.zeros(n, bool)
    min_area = max(4, int(h * w * 0.004))
    for i in range(1, n):
        x, y, bw, bh, area = stats[i]
        if area < min_area:
            continue
        # a remnant of the printed cell border: long and thin along an edge
        along_edge = (x <= 1 or y <= 1 or x + bw >= w - 1 or y + bh >= h - 1)
        if along_edge and (bw <= 0.12 * w or bh <= 0.12 * h):
            continue
        keep[i] = True
    return keep[labels].astype(np.uint8)


def features(mask: np.ndarray) -> np.ndarray | None:
    """8×8 block counts (0–16) of a binary ink mask, as optdigits; None when there is no ink."""
    ys, xs = np.nonzero(mask)
    if len(ys) == 0:
        return None
    crop = mask[ys.min(): ys.max() + 1, xs.min(): xs.max() + 1].astype(np.uint8) * 255
    h, w = crop.shape
    scale = 32.0 / max(h, w * 32 / 28)  # the set keeps digits within ~28 px of width
    nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
    # thin the stroke to a skeleton-ish line, then redraw at the data set's pen width
    small = cv2.resize(crop, (nw, nh), interpolation=cv2.INTER_AREA)
    canvas = np.zeros((32, 32), np.uint8)
    y0, x0 = (32 - nh) // 2, (32 - nw) // 2
    canvas[y0: y0 + nh, x0: x0 + nw] = small
    bits = canvas > 90
    stroke = _stroke_width(bits)
    if stroke < PEN:
        k = int(round(PEN - stroke)) + 1
        bits = cv2.dilate(bits.astype(np.uint8), np.ones((k, k), np.uint8)) > 0
    return bits.reshape(8, 4, 8, 4).sum(axis=(1, 3)).astype(np.float32).ravel()


def _stroke_width(bits: np.ndarray) -> float:
    area = bits.sum()
    if area == 0:
        return 0.0
    edge = bits & ~(cv2.erode(bits.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0)
    return float(2 * area / max(1, edge.sum()))


def _augment(images: np.ndarray, targets: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Variants of the 8×8 images: upsample to 32×32, shift, slant, thin or thicken, re-reduce."""
    xs, ys = [], []
    for img, t in zip(images, targets):
        big = cv2.resize(img.astype(np.float32) / 16.0, (32, 32), interpolation=cv2.INTER_CUBIC)
        for _ in range(2):
            shear = rng.uniform(-0.25, 0.25)
            m = np.float32([[1, shear, -shear * 16 + rng.uniform(-1.5, 1.5)], [0, 1, rng.uniform(-1, 1)]])
            warped = cv2.warpAffine(big, m, (32, 32), borderValue=0)
            bits = warped > rng.uniform(0.3, 0.6)
            f = features(bits.astype(np.uint8))
            if f is not None:
                xs.append(f)
                ys.append(t)
    return np.array(xs), np.array(ys)


# The form's printed fonts (IPAex, installed with the system packages), bent by
# random warps: they widen what the 43 writers showed. The handwriting fonts
# that the scan simulator writes with are never used here, so that measuring on
# simulated scans measures handwriting the model has not seen.
FONT_SAMPLES = 1500
TRAIN_FONTS = ("/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf",
               "/usr/share/fonts/opentype/ipaexfont-mincho/ipaexm.ttf")


def _font_digits(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Printed digits bent by random elastic warps, some thinned, zeros sometimes slashed."""
    from PIL import Image, ImageDraw, ImageFont

    fonts = [ImageFont.truetype(p, 48) for p in TRAIN_FONTS if os.path.exists(p)]
    xs, ys = [], []
    if not fonts or n == 0:
        return np.zeros((0, 64)), np.zeros(0, int)
    for i in range(n):
        d = i % 10
        im = Image.new("L", (72, 72), 0)
        ImageDraw.Draw(im).text((36, 36), str(d), font=fonts[i % len(fonts)], fill=255, anchor="mm")
        a = np.array(im, np.float32) / 255
        # elastic: a smooth random displacement field
        dx = cv2.GaussianBlur(rng.uniform(-1, 1, a.shape).astype(np.float32), (0, 0), 6) * rng.uniform(40, 90)
        dy = cv2.GaussianBlur(rng.uniform(-1, 1, a.shape).astype(np.float32), (0, 0), 6) * rng.uniform(40, 90)
        gy, gx = np.mgrid[0:72, 0:72].astype(np.float32)
        shear = rng.uniform(-0.3, 0.3)
        a = cv2.remap(a, gx + dx + shear * (gy - 36), gy + dy, cv2.INTER_LINEAR)
        k = int(rng.integers(1, 6))
        bits = (a > 0.5).astype(np.uint8)
        if d == 0 and rng.random() < 0.3:  # the slashed zero some people write
            cv2.line(bits, (46, 18), (26, 54), 1, int(rng.integers(2, 5)))
        bits = cv2.erode(bits, np.ones((k, k), np.uint8)) if rng.random() < 0.5 else bits
        f = features(bits)
        if f is not None:
            xs.append(f)
            ys.append(d)
    return np.array(xs), np.array(ys)


@dataclass
class Model:
    trees: object  # sklearn ExtraTreesClassifier over features / 16
    calibration: object  # IsotonicRegression: vote share of the winner -> P(right)
    holdout_accuracy: float  # on data-set samples (other writers) kept out of training


def train(seed: int = 0) -> Model:
    """Fit the classifier, and calibrate its confidence on samples it did not see.

    A fifth of the data set is held out: the trees never see those writers'
    samples, and the vote share of the winning class is mapped to how often it was
    right there (isotonic), so a confidence of 0.9 means nine in ten.
    """
    from sklearn.datasets import load_digits
    from sklearn.ensemble import ExtraTreesClassifier
    from sklearn.isotonic import IsotonicRegression

    data = load_digits()
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(data.target))
    cut = int(len(order) * 0.8)
    train_idx, test_idx = order[:cut], order[cut:]
    images, targets = data.images[train_idx], data.target[train_idx]
    renormalised = np.array([features((cv2.resize(im.astype(np.float32) / 16, (32, 32),
                                                  interpolation=cv2.INTER_CUBIC) > 0.45).astype(np.uint8))
                             for im in images])
    ax, ay = _augment(images, targets, rng)
    fx, fy = _font_digits(rng, FONT_SAMPLES)
    # printed digits are held out in the same share, so calibration sees them too
    fcut = int(len(fy) * 0.8)
    x = np.vstack([data.data[train_idx], renormalised, ax, fx[:fcut]])
    y = np.concatenate([targets, targets, ay, fy[:fcut]])
    # extremely randomised trees: a few seconds to fit on two cores, and their vote
    # shares order the answers well by how sure they are
    trees = ExtraTreesClassifier(n_estimators=200, random_state=seed, n_jobs=2).fit(x / 16, y)
    # pages are read in parallel already, and a page has a few dozen cells: predict in the calling thread
    trees.set_params(n_jobs=1)
    hx = np.vstack([data.data[test_idx], fx[fcut:]]) / 16
    hy = np.concatenate([data.target[test_idx], fy[fcut:]])
    proba = trees.predict_proba(hx)
    right = (trees.classes_[proba.argmax(1)] == hy).astype(float)
    calibration = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(proba.max(1), right)
    holdout_accuracy = float(right[: len(test_idx)].mean())
    return Model(trees, calibration, holdout_accuracy)


def classify(m: Model, cells: list[np.ndarray], threshold: int | None = None) -> list[Digit]:
    """One Digit per grey cell crop (already without the printed box), in one model call."""
    feats, where = [], []
    out: list[Digit] = []
    for i, cell in enumerate(cells):
        f = features(ink_mask(cell, threshold))
        if f is None:
            out.append(Digit(None, 1.0))
        else:
            out.append(Digit(None, 0.0))
            feats.append(f)
            where.append(i)
    if feats:
        proba = m.trees.predict_proba(np.array(feats) / 16)
        calibrated = m.calibration.predict(proba.max(1))
        for i, p, conf in zip(where, proba, calibrated):
            order = np.argsort(p)[::-1]
            margin = float(p[order[0]] - p[order[1]])
            reason = "ambiguous" if margin < 0.1 else ("low_confidence" if conf < 0.8 else None)
            out[i] = Digit(str(int(m.trees.classes_[order[0]])), float(conf), reason)
    return out
