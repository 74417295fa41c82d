"""The print id printed beside the QR code, read when the QR itself cannot be: the
identity of a pre-filled card survives a torn, stained or scribbled-over QR."""

from __future__ import annotations

import cv2
import numpy as np

from junkai import form as F, qr as Q
from ocr import align as A, tesseract as T

PX = A.PX_PER_MM


def read_print_id(image: np.ndarray, dpi: float) -> list[str]:
    """The ids the printed one could be, for the store to tell which was printed.

    Tesseract misreads about one clean printed id in twenty by a character (6 as G, 0 as Q,
    one dropped or doubled), and often differently at twice the size; both readings and the
    ids one edit from them that pass the check character are offered."""
    return candidates(readings(image, dpi))


def candidates(texts: list[str]) -> list[str]:
    """Every id the readings could stand for, in the order read, each once."""
    found: list[str] = []
    for text in texts:
        found += [c for c in Q.print_id_candidates(text) if c not in found]
    return found


def readings(image: np.ndarray, dpi: float) -> list[str]:
    """What Tesseract reads in the print id's box, at the aligned size and at twice it."""
    layout = F.page(F.TYPES[0], 1)
    title = next(t.box for t in layout.texts if t.style == "title")
    try:
        al = A.align(image, dpi, F.PAGE_W, F.PAGE_H, layout.markers, (layout.qr, title))
    except A.AlignmentError:
        return []
    box = layout.slot("print_id").box
    m = 0.8
    crop = al.image[int((box.y - m) * PX): int((box.bottom + m) * PX), int((box.x - m) * PX): int((box.right + m) * PX)]
    if crop.ndim == 3:
        crop = crop.mean(axis=2).astype(np.uint8)
    crop = np.pad(crop, 20, constant_values=255)
    twice = cv2.resize(crop, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC)
    return [T.read_code(img, Q.ALPHABET + "-") for img in (crop, twice)]
