"""The print id printed beside the QR code, read when the QR itself cannot be: the
identity of a pre-filled card survives a torn, stained or scribbled-over QR."""

from __future__ import annotations

import numpy as np

from junkai import JunkaiError, form as F, qr as Q
from ocr import align as A, tesseract as T

PX = A.PX_PER_MM


def read_print_id(image: np.ndarray, dpi: float) -> str | None:
    """The page's print id, only if it reads with a valid check character."""
    layout = F.page(F.TYPES[0], 1)
    title = next(t.box for t in layout.texts if t.style == "title")
    try:
        al = A.align(image, dpi, F.PAGE_W, F.PAGE_H, layout.markers, (layout.qr, title))
    except A.AlignmentError:
        return None
    box = layout.slot("print_id").box
    m = 0.8
    crop = al.image[int((box.y - m) * PX): int((box.bottom + m) * PX), int((box.x - m) * PX): int((box.right + m) * PX)]
    if crop.ndim == 3:
        crop = crop.mean(axis=2).astype(np.uint8)
    crop = np.pad(crop, 20, constant_values=255)
    text = T.read_code(crop, Q.ALPHABET + "-")
    try:
        return Q.normalize_print_id(text)
    except JunkaiError:
        return None
