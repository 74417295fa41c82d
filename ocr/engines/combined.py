"""Two independent recognisers on the same crops: PP-OCR reads, Tesseract gives a second opinion.

Two engines that share no model agreeing on a reading is evidence that it is right; their disagreeing
is doubt. The confidence of the reading is PP-OCR's own, then

    agreed (the same text once width, case and spaces are folded):
        DOUBT + (1 − DOUBT) × (1 − (1 − p)(1 − AGREE × t))
    disagreed, or the second engine read nothing:
        DOUBT × p

with p PP-OCR's confidence and t Tesseract's. Both are monotone in p and t, and every agreed reading
ranks above every disputed one (on 480 crops of simulated cards: 1 of 269 agreed readings wrong, 10
of 211 disputed ones, most of those at p > 0.9), so a threshold per kind can be calibrated on it as
on a single engine's confidence. Both readings are kept as candidates, PP-OCR's first (it reads
handwriting far better), each with the engine that read it.
"""

from __future__ import annotations

import unicodedata
from concurrent.futures import ThreadPoolExecutor

from junkai.readings import Candidate
from ocr.engines import Crop, CropKind, RecogniserTimeout, TextRecogniser

AGREE = 0.5  # how much of PP-OCR's remaining doubt a fully confident agreeing Tesseract takes away
# A disputed reading keeps at most this share of PP-OCR's confidence, an agreed one at least this: every
# agreement ranks above every dispute, yet a dispute is not a veto. Tesseract misreads most handwritten
# names (it agreed on 39 % of them), so a veto would send nearly every name to a person whatever PP-OCR
# and the name dictionary say; the thresholds calibrated per kind (make bench, ocr) decide how sure a
# disputed reading must be to pass.
DOUBT = 0.9
# The kinds Tesseract is asked about; the others keep PP-OCR's reading, capped as disputed. Not free
# writing: a big crop costs Tesseract about as much as all the names of a page, and two engines seldom
# agree on every character of a long note (7 of 21 on simulated cards), which a person reads anyway.
SECOND_KINDS = frozenset({CropKind.NAME, CropKind.KANA, CropKind.TEXT, CropKind.PRINT_ID})


def fold(text: str) -> str:
    """A reading as compared between engines: full and half width alike, no spaces, upper case."""
    return "".join(unicodedata.normalize("NFKC", text).upper().split())


def agreed(p: float, t: float) -> float:
    return DOUBT + (1.0 - DOUBT) * (1.0 - (1.0 - p) * (1.0 - AGREE * t))


def disputed(p: float) -> float:
    return DOUBT * p


def combine(first: list[Candidate], second: list[Candidate]) -> list[Candidate]:
    """One crop's candidates from both engines, best first, with the combined confidence."""
    doubted = [Candidate(c.text, round(disputed(c.confidence), 3), c.engine) for c in first + second]
    if not first or not second:
        return doubted
    best = first[0]
    same = next((c for c in second if fold(c.text) == fold(best.text)), None)
    if same is None:
        return doubted
    conf = round(agreed(best.confidence, same.confidence), 3)
    rest = [d for c, d in zip(first + second, doubted) if c is not best and c is not same]
    return [Candidate(best.text, conf, best.engine), Candidate(same.text, conf, same.engine)] + rest


class Combined:
    """PP-OCR first, Tesseract as an independent second opinion (on the kinds in `second_kinds`)."""

    name = "both"

    def __init__(self, first: TextRecogniser | None = None, second: TextRecogniser | None = None,
                 second_kinds: frozenset[CropKind] | set[CropKind] = SECOND_KINDS):
        if first is None:
            from ocr.engines.ppocr import PPOCR

            first = PPOCR()
        if second is None:
            from ocr.engines.tesseract import Tesseract

            second = Tesseract()
        self.first, self.second, self.second_kinds = first, second, frozenset(second_kinds)

    def read(self, crops: list[Crop]) -> list[list[Candidate]]:
        asked = [i for i, c in enumerate(crops) if c.kind in self.second_kinds]
        seconds: list[list[Candidate]] = [[] for _ in crops]
        # Tesseract works in its own process: PP-OCR reads meanwhile, on the other core when it is free
        with ThreadPoolExecutor(1) as pool:
            pending = pool.submit(self.second.read, [crops[i] for i in asked]) if asked else None
            firsts = self.first.read(crops)
            try:
                for i, cands in zip(asked, pending.result() if pending else []):
                    seconds[i] = cands
            except RecogniserTimeout:
                pass  # no second opinion: PP-OCR's readings stand, as disputed
        return [combine(f, s) for f, s in zip(firsts, seconds)]
