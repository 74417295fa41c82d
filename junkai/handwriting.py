"""Real handwritten digits, as a pen would put them in a comb cell, and as a scanner would return them.

The samples are UCI optdigits as scikit-learn ships them (`load_digits`: the 1,797 digits of
the set's 13 test writers, each an 8×8 grid of ink counts 0–16). Nothing is downloaded.
The grid is smoothed up to the size of the digit and cut at an ink level into a stroke
of the pen's width, with soft edges; a writer's own slant and proportions stay.

The digit recogniser (ocr/digits.py) never trains on these writers: it learns from
other people's digits, and this source only measures it. The set is cut in two by
position, which keeps most writers on one side: the first half calibrates the
recogniser's confidence, the second half is what the simulator writes and what the
benchmark scores, so neither figure is tuned on the samples it reports.

`scan` turns the ink into a grey cell as a page scan shows it: paper and ink tone,
sensor noise, and one degradation of DEGRADATIONS.
"""

from __future__ import annotations

import functools
import random

import numpy as np

PARTS = ("calibrate", "measure")
DEGRADATIONS = ("clean", "thick", "thin", "blur", "speckle", "bw", "low_contrast")


@functools.cache
def samples(part: str = "measure") -> tuple[np.ndarray, np.ndarray]:
    """(images as ink 0..1, shape n×8×8; their digits) of one half of the set."""
    from sklearn.datasets import load_digits

    if part not in PARTS:
        raise ValueError(part)
    data = load_digits()
    cut = len(data.target) // 2
    sl = slice(0, cut) if part == "calibrate" else slice(cut, None)
    return (data.images[sl] / 16.0).astype(np.float32), data.target[sl].copy()


def _np(rng) -> np.random.Generator:
    """The caller's generator, or one drawn from a `random.Random` so that a seed still fixes the result."""
    return rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng.getrandbits(64))


def _stroke_width(bits: np.ndarray) -> float:
    import cv2

    area = int(bits.sum())
    if area == 0:
        return 0.0
    edge = bits & (cv2.erode(bits.astype(np.uint8), np.ones((3, 3), np.uint8)) == 0)
    return 2.0 * area / max(1, int(edge.sum()))


def render(image: np.ndarray, rng, size: tuple[int, int], pen: float | None = None) -> np.ndarray:
    """Ink coverage (uint8, 255 = full ink) of one 8×8 sample written in a cell of size (h, w) px.

    pen: the stroke width in px (default: the writer's own, at a random ink level). The digit
    fills 55–85 % of the cell height at its writer's proportions, off-centre by up to a tenth.
    """
    import cv2

    g = _np(rng)
    h, w = size
    dh = max(8, int(h * g.uniform(0.55, 0.85)))
    dw = max(6, min(w - 2, int(dh * g.uniform(0.6, 0.9))))
    s = 2  # drawn at twice the size, then halved: soft edges, as a scanned pen line has
    field = cv2.resize(np.pad(image.astype(np.float32), 1), ((dw * 10 // 8) * s, (dh * 10 // 8) * s),
                       interpolation=cv2.INTER_CUBIC)
    if pen is None:
        # the writer's own stroke, cut at a random ink level: wider or narrower as pens are
        bits = (field > g.uniform(0.35, 0.6)).astype(np.uint8)
    else:
        # the ink level at which the stroke has about the pen's width; erode or dilate the rest of the way
        best = min((abs(_stroke_width(field > t) - pen * s), t) for t in (0.3, 0.4, 0.5, 0.6))[1]
        bits = (field > best).astype(np.uint8)
        diff = pen * s - _stroke_width(bits > 0)
        k = int(round(abs(diff) / 2))
        if k:
            kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * k + 1, 2 * k + 1))
            thinner = cv2.erode(bits, kernel)
            # never thin a stroke away: a pen that thin keeps the thinnest line the sample allows
            bits = cv2.dilate(bits, kernel) if diff > 0 else (thinner if thinner.sum() > bits.sum() * 0.35 else bits)
    cov = cv2.resize(bits.astype(np.float32), (bits.shape[1] // s, bits.shape[0] // s), interpolation=cv2.INTER_AREA)
    ys, xs = np.nonzero(cov > 0.05)
    if len(ys):
        cov = cov[ys.min(): ys.max() + 1, xs.min(): xs.max() + 1]
    ch, cw = min(cov.shape[0], h), min(cov.shape[1], w)
    cov = cv2.resize(cov, (cw, ch), interpolation=cv2.INTER_AREA) if (ch, cw) != cov.shape else cov
    out = np.zeros((h, w), np.float32)
    y0 = int(np.clip((h - ch) / 2 + g.uniform(-0.1, 0.1) * h, 0, h - ch))
    x0 = int(np.clip((w - cw) / 2 + g.uniform(-0.1, 0.1) * w, 0, w - cw))
    out[y0: y0 + ch, x0: x0 + cw] = cov
    return (np.clip(out, 0, 1) * 255).astype(np.uint8)


def digit(d: int | str, rng: random.Random | np.random.Generator, size: tuple[int, int],
          pen: float | None = None, part: str = "measure") -> np.ndarray:
    """Ink coverage (uint8, 255 = ink) of a real handwritten `d`, drawn at random from one half of the set."""
    images, targets = samples(part)
    g = _np(rng)
    choices = np.flatnonzero(targets == int(d))
    return render(images[choices[int(g.integers(len(choices)))]], g, size, pen)


def scan(coverage: np.ndarray, rng, degradation: str = "clean") -> np.ndarray:
    """The grey cell (uint8, paper light) that a scan of this ink returns, under one of DEGRADATIONS.

    thick and thin are the pen (of a sample rendered at an ordinary width); blur an out-of-focus or
    low-resolution scan; speckle dust and toner dots; bw a scanner's black-and-white mode; low_contrast
    a light pen on a grey page.
    """
    import cv2

    if degradation not in DEGRADATIONS:
        raise ValueError(degradation)
    g = _np(rng)
    c = coverage.astype(np.float32) / 255.0
    h = c.shape[0]
    k = max(2, int(round(h * 0.05)))
    if degradation == "thick":
        c = cv2.dilate(c, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k + 1, k + 1)))
    elif degradation == "thin":
        thinner = cv2.erode(c, np.ones((2, 2), np.uint8))
        c = thinner if thinner.sum() > 0.4 * c.sum() else c
    paper, ink = g.uniform(215, 250), g.uniform(0, 90)
    if degradation == "low_contrast":
        paper, ink = g.uniform(165, 200), g.uniform(105, 135)
    grey = paper * (1 - c) + ink * c
    if degradation == "blur":
        grey = cv2.GaussianBlur(grey, (0, 0), h * g.uniform(0.02, 0.035))
    grey = grey + g.normal(0, g.uniform(1.5, 5), grey.shape)
    if degradation == "speckle":
        dots = g.random(grey.shape) < g.uniform(0.003, 0.012)
        grey[dots] = g.uniform(0, 90, int(dots.sum()))
    if degradation == "bw":
        grey = np.where(grey < g.uniform(110, 170), 0.0, 255.0)
    return np.clip(grey, 0, 255).astype(np.uint8)
