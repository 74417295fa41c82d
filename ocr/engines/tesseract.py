"""The one door to Tesseract (through pytesseract), and the recogniser the reader uses by default.

Starting Tesseract costs about 150 ms before it reads anything, so the reader
sends all text crops of a page in one call: the crops are stacked on one tall
white image with gaps between them, read with `image_to_data`, and every word is
given back to the crop it lies in by its coordinates. `read_each` is the naive
way, one call per crop, kept for the benchmark.
"""

from __future__ import annotations

import os
import unicodedata
from dataclasses import dataclass

import cv2
import numpy as np

from junkai import qr as Q
from junkai.readings import Candidate
from ocr.engines import Crop, CropKind, RecogniserTimeout, RecogniserUnavailable

LANG = "jpn"
GAP = 48  # white pixels between stacked crops: more than any line spacing inside one
PAD = 24
CONFIG_BLOCK = "--oem 1 --psm 6 -c preserve_interword_spaces=1"
CONFIG_LINE = "--oem 1 --psm 7 -c preserve_interword_spaces=1"
# Every call is given up after TIMEOUT_BASE + TIMEOUT_PER_MPX × its image's megapixels, so a
# Tesseract stuck on a hostile image cannot hold a worker for ever. Measured on 2 shared cores:
# start and jpn model about 0.5 s; a sheet of 27 crops fully written in dense print (4.6 Mpx,
# beyond any real card) 17 s. The margin is for a machine busy with other readers.
TIMEOUT_BASE = 20.0
TIMEOUT_PER_MPX = 15.0

# Tesseract runs its LSTM on OpenMP threads, as many as there are cores, which spin while they wait.
# The reader already runs a page per core beside PP-OCR, so more threads only take turns on the same
# cores (a quarter more CPU per page on 2 cores); one thread reads the same text. Inherited by every
# Tesseract process started from here; a value set by the operator stands.
os.environ.setdefault("OMP_THREAD_LIMIT", "1")


class TesseractMissing(RecogniserUnavailable):
    pass


class TesseractTimeout(RecogniserTimeout):
    """Tesseract did not finish in its time; its process was killed."""


@dataclass(frozen=True)
class Text:
    text: str
    confidence: float  # 0–1: mean word confidence, 0 when nothing was read


def available() -> bool:
    import pytesseract

    try:
        return LANG in pytesseract.get_languages(config="")
    except Exception:
        return False


def _join(words: list[str]) -> str:
    """Words in reading order; no space between two Japanese characters."""
    out = ""
    for w in words:
        if out and not (_wide(out[-1]) and _wide(w[0])):
            out += " "
        out += w
    return out


def _wide(ch: str) -> bool:
    return unicodedata.east_asian_width(ch) in "WF"


def timeout_for(image: np.ndarray) -> float:
    return TIMEOUT_BASE + TIMEOUT_PER_MPX * image.shape[0] * image.shape[1] / 1e6


def _run(call, image: np.ndarray, **kwargs):
    """One pytesseract call with its timeout; the errors that matter turned into ours."""
    import pytesseract

    seconds = timeout_for(image)
    try:
        return call(image, timeout=seconds, **kwargs)
    except pytesseract.TesseractNotFoundError as exc:
        raise TesseractMissing("Tesseract が見つかりません (make setup で導入してください)") from exc
    except RuntimeError as exc:
        if str(exc) != "Tesseract process timeout":  # pytesseract's only sign of a timeout
            raise
        raise TesseractTimeout(f"文字認識 (Tesseract) が {seconds:.0f} 秒で終わらないため打ち切りました") from exc


def _data(image: np.ndarray, config: str) -> dict:
    import pytesseract

    return _run(pytesseract.image_to_data, image, lang=LANG, config=config, output_type=pytesseract.Output.DICT)


def read_batch(crops: list[np.ndarray]) -> list[Text]:
    """Read many grey crops (white paper, dark ink) in one Tesseract call."""
    if not crops:
        return []
    width = max(c.shape[1] for c in crops) + 2 * PAD
    height = sum(c.shape[0] for c in crops) + GAP * (len(crops) - 1) + 2 * PAD
    sheet = np.full((height, width), 255, np.uint8)
    spans = []
    y = PAD
    for c in crops:
        sheet[y: y + c.shape[0], PAD: PAD + c.shape[1]] = c
        spans.append((y - GAP // 2, y + c.shape[0] + GAP // 2))
        y += c.shape[0] + GAP
    data = _data(sheet, CONFIG_BLOCK)
    words: list[list[tuple]] = [[] for _ in crops]
    for w in _words(data):
        middle = w[0] + w[4] / 2
        for i, (a, b) in enumerate(spans):
            if a <= middle < b:
                words[i].append(w)
                break
    return [_text(w) for w in words]


def _words(data: dict) -> list[tuple]:
    """(top, left, text, confidence, height, line id) of every word Tesseract read."""
    out = []
    for i, text in enumerate(data["text"]):
        text = (text or "").strip()
        if not text or float(data["conf"][i]) < 0:
            continue
        line = (data["block_num"][i], data["par_num"][i], data["line_num"][i])
        out.append((data["top"][i], data["left"][i], text, float(data["conf"][i]), data["height"][i], line))
    return out


def _text(words: list[tuple]) -> Text:
    """Words of one crop in reading order: its lines top to bottom, each left to right."""
    if not words:
        return Text("", 0.0)
    lines: dict[tuple, list[tuple]] = {}
    for w in words:
        lines.setdefault(w[5], []).append(w)
    ordered = sorted(lines.values(), key=lambda ws: float(np.median([w[0] + w[4] / 2 for w in ws])))
    texts = [w[2] for ws in ordered for w in sorted(ws, key=lambda w: w[1])]
    conf = float(np.mean([w[3] for w in words])) / 100.0
    return Text(_join(texts), max(0.0, min(1.0, conf)))


def read_each(crops: list[np.ndarray]) -> list[Text]:
    """The naive way: one Tesseract call per crop (for comparison only)."""
    out = []
    for c in crops:
        padded = np.pad(c, PAD, constant_values=255)
        out.append(_text(_words(_data(padded, CONFIG_LINE))))
    return out


def read_code(image: np.ndarray, alphabet: str) -> str:
    """One printed line of code characters (an id printed beside the QR code): English model, whitelisted."""
    import pytesseract

    try:
        return _run(pytesseract.image_to_string, image, lang="eng",
                    config=f"--oem 1 --psm 7 -c tessedit_char_whitelist={alphabet}").strip()
    except TesseractTimeout:
        return ""  # an id not read: the card is matched by its address and names instead


class Tesseract:
    """The text recogniser: handwriting with the Japanese model, all crops of a call stacked into
    one Tesseract run (or one run per crop: batched=False, for comparison only); a printed id with
    the English model limited to the id's alphabet."""

    name = "tesseract"

    def __init__(self, batched: bool = True):
        self.batched = batched

    def read(self, crops: list[Crop]) -> list[list[Candidate]]:
        out: list[list[Candidate]] = [[] for _ in crops]
        writing = [i for i, c in enumerate(crops) if c.kind != CropKind.PRINT_ID]
        if writing:
            images = [crops[i].image for i in writing]
            texts = read_batch(images) if self.batched else read_each(images)
            for i, t in zip(writing, texts):
                if t.text:
                    out[i] = [Candidate(t.text, round(t.confidence, 3), self.name)]
        for i, c in enumerate(crops):
            if c.kind == CropKind.PRINT_ID:
                out[i] = self._print_id(c.image)
        return out

    def _print_id(self, image: np.ndarray) -> list[Candidate]:
        """Read at the aligned size and at twice it: Tesseract misreads about one clean printed id in
        twenty by a character, and often differently at twice the size. Plain-text mode gives no
        confidence (0): the store tells which of the ids was printed."""
        crop = np.pad(image, 20, constant_values=255)
        twice = cv2.resize(crop, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC)
        out = []
        for img in (crop, twice):
            text = read_code(img, Q.ALPHABET + "-")
            if text:
                out.append(Candidate(text, 0.0, self.name))
        return out
