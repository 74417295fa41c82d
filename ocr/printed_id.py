"""The print id printed beside the QR code, read when the QR itself cannot be: the
identity of a pre-filled card survives a torn, stained or scribbled-over QR.

The reader cuts the id's box from the page it has already aligned and has it read
through the recogniser like any crop (kind print_id); what is read is widened to the
ids it could stand for, and the store tells at recording which of them was printed."""

from __future__ import annotations

import numpy as np

from junkai import form as F, qr as Q
from junkai.readings import Candidate
from ocr import align as A

PX = A.PX_PER_MM
MARGIN = 0.8  # mm around the printed box: a slightly shifted print stays whole


def crop(aligned: np.ndarray) -> np.ndarray:
    """The id's box on an aligned page, grey."""
    box = F.page(F.TYPES[0], 1).slot("print_id").box  # the same place on every form and sheet
    m = MARGIN
    out = aligned[int((box.y - m) * PX): int((box.bottom + m) * PX), int((box.x - m) * PX): int((box.right + m) * PX)]
    if out.ndim == 3:
        out = out.mean(axis=2).astype(np.uint8)
    return out


def candidates(read: list[Candidate] | list[str]) -> list[str]:
    """Every id the readings could stand for, in the order read, each once: a reading as it is and
    the ids one edit from it that pass the check character."""
    found: list[str] = []
    for r in read:
        text = r.text if isinstance(r, Candidate) else r
        found += [c for c in Q.print_id_candidates(text) if c not in found]
    return found
