"""The one door to PP-OCR: the PP-OCRv6 small recognition model shipped inside the rapidocr wheel,
run on onnxruntime. It reads handwriting far better than Tesseract.

The crops are already cut to their field, so a one-line crop goes to the recognition model alone,
trimmed to its ink; no text detection is needed. Free writing over several lines is cut into its
lines by the ink's horizontal projection, and each line is recognised alike: on notes of two and
three lines as accurate as RapidOCR's detection model (30 of 30 either way) and 0.46 s a crop
against 1.24 s.

The model knows Chinese as well as Japanese: left free it writes 宮 as 宫. So each kind of crop
is decoded over the characters it can hold: Japanese (JIS) for names and text, kana for
furigana, the id's alphabet for the printed id. The confidence is the mean probability of the
characters read, as the model gives it.

The model file is named here explicitly: nothing is ever downloaded. It is loaded once per process,
on first use; onnxruntime runs one thread per call, as the reader already runs one page per core.
onnxruntime's telemetry (a device id in the home folder, events sent to Microsoft) is switched off
before it is imported: police data on a closed network.
"""

from __future__ import annotations

import importlib.util
import math
import os
import threading
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from junkai import qr as Q
from junkai.readings import Candidate
from ocr.engines import Crop, CropKind, RecogniserUnavailable

REC_MODEL = "PP-OCRv6_rec_small.onnx"
HEIGHT = 48  # the model's input height; width follows the line
BATCH = 6  # lines per model run: lines of like width together, the narrower padded to the widest
INK = 160  # darker than this is ink on the crop (paper and printed lines are already white)
SPECK = 6  # connected ink smaller than this (px) is dust, not writing: it does not widen the trimmed crop
MARGIN = 0.25  # white kept around the ink, as a share of its height: the model was trained on such margins
LINE_GAP = 3  # rows without ink that separate two lines of free writing (px on the aligned page, 10 px/mm)
LINE_MIN = 12  # a band of ink lower than this (px) is no line of its own (a stray stroke, the tail of a letter)
ID_CHARS = Q.ALPHABET + "-"
SPACES = " \u3000"
ODD_SIGNS = "#$%&*+<=>@[\\]^_`{|}~\"'"


# Always forced, before onnxruntime is first imported (it reads them once): policy, not preference.
# The first is the name the onnxruntime installed (1.32) reads, the second the one of its sources since.
os.environ["ORT_DISABLE_TELEMETRY"] = "1"
os.environ["ORT_TELEMETRY_DISABLED"] = "1"


@dataclass
class Model:
    session: object  # onnxruntime.InferenceSession
    characters: list[str]  # class index -> character; 0 is CTC's blank
    masks: dict[CropKind, np.ndarray]  # the classes a kind of crop may be read as


_lock = threading.Lock()
_model: Model | None = None


def model_file() -> Path:
    """The recognition model: inside the installed rapidocr package (not imported: only its file is
    used), never fetched."""
    spec = importlib.util.find_spec("rapidocr")
    if spec is None or spec.origin is None:
        raise RecogniserUnavailable("PP-OCR (rapidocr) が導入されていません (make setup)")
    return Path(spec.origin).parent / "models" / REC_MODEL


def load() -> Model:
    """The model of this process, loaded on first use (a thread that comes meanwhile waits for it)."""
    global _model
    if _model is None:
        with _lock:
            if _model is None:
                _model = _open()
    return _model


def _open() -> Model:
    path = model_file()
    try:
        import onnxruntime as ort
    except ImportError as exc:
        raise RecogniserUnavailable("PP-OCR (onnxruntime) が導入されていません (make setup)") from exc
    if not path.is_file():
        raise RecogniserUnavailable(f"PP-OCR のモデルが見つかりません: {path.name}")
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    session = ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])
    # the model's own alphabet travels in its metadata; CTC's blank first, a space last (as PaddleOCR)
    characters = ["<blank>"] + session.get_modelmeta().custom_metadata_map["character"].splitlines() + [" "]
    return Model(session, characters, _masks(characters))


def _japanese(ch: str) -> bool:
    """A character Japanese writing uses: in JIS X 0213 or Windows' Japanese set (髙, 﨑), and not one of
    the ASCII signs nobody writes on a card (the model reads a stroke as # or ~ readily)."""
    if ch in ODD_SIGNS:
        return False
    for codec in ("euc_jis_2004", "cp932"):
        try:
            ch.encode(codec)
            return True
        except UnicodeEncodeError:
            pass
    return False


def _kana(ch: str) -> bool:
    return ch in SPACES or ch in "ー・" or "ぁ" <= ch <= "ゖ" or "ァ" <= ch <= "ヺ" or ch in "ゝゞヽヾ"


def _masks(characters: list[str]) -> dict[CropKind, np.ndarray]:
    def mask(allowed) -> np.ndarray:
        m = np.array([i == 0 or allowed(c) for i, c in enumerate(characters)])
        return m

    japanese = mask(_japanese)
    return {CropKind.NAME: japanese, CropKind.TEXT: japanese, CropKind.FREE: japanese,
            CropKind.KANA: mask(_kana), CropKind.PRINT_ID: mask(lambda c: c in ID_CHARS)}


def _ink_mask(image: np.ndarray) -> np.ndarray:
    """Ink, without specks of dust."""
    ink = (image < INK).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    keep = np.zeros(n, bool)
    keep[1:] = stats[1:, cv2.CC_STAT_AREA] >= SPECK
    return keep[labels]


def trim(image: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray | None:
    """The crop cut to its ink (or to the ink of `mask`) with a white margin; None: no ink."""
    mask = _ink_mask(image) if mask is None else mask
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if not len(rows):
        return None
    y0, y1, x0, x1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    part = image[y0:y1, x0:x1].copy()
    part[(part < INK) & ~mask[y0:y1, x0:x1]] = 255  # specks, and the ink of other lines
    return np.pad(part, max(4, int(MARGIN * (y1 - y0))), constant_values=255)


def lines(image: np.ndarray) -> list[np.ndarray]:
    """The lines of a crop of free writing, top to bottom, each trimmed to its ink; a band of ink too low
    to be a line of its own joins the line above."""
    mask = _ink_mask(image)
    bands: list[list[int]] = []
    gap = LINE_GAP
    for y, inked in enumerate(mask.any(axis=1)):
        if not inked:
            gap += 1
            continue
        if bands and gap < LINE_GAP:
            bands[-1][1] = y + 1
        else:
            bands.append([y, y + 1])
        gap = 0
    merged: list[list[int]] = []
    for band in bands:
        if merged and (band[1] - band[0] < LINE_MIN or merged[-1][1] - merged[-1][0] < LINE_MIN):
            merged[-1][1] = band[1]
        else:
            merged.append(band)
    out = []
    for y0, y1 in merged:
        line = np.zeros_like(mask)
        line[y0:y1] = mask[y0:y1]
        t = trim(image, line)
        if t is not None:
            out.append(t)
    return out


def _tensor(image: np.ndarray, width: int) -> np.ndarray:
    """A grey line as the model takes it: height 48, scaled to −1…1, right-padded to the batch width."""
    w = min(width, max(1, math.ceil(HEIGHT * image.shape[1] / image.shape[0])))
    line = cv2.resize(image, (w, HEIGHT)).astype(np.float32) / 127.5 - 1.0
    out = np.zeros((3, HEIGHT, width), np.float32)
    out[:, :, :w] = line
    return out


def recognise(images: list[np.ndarray], kinds: list[CropKind]) -> list[tuple[str, float]]:
    """(text, confidence) of each one-line grey image, decoded over the characters of its kind."""
    m = load()
    out: list[tuple[str, float]] = [("", 0.0)] * len(images)
    order = sorted(range(len(images)), key=lambda i: images[i].shape[1] / images[i].shape[0])
    for start in range(0, len(order), BATCH):
        batch = order[start: start + BATCH]
        ratio = max(320 / HEIGHT, *(images[i].shape[1] / images[i].shape[0] for i in batch))
        width = int(HEIGHT * ratio)
        x = np.stack([_tensor(images[i], width) for i in batch])
        probs = m.session.run(None, {m.session.get_inputs()[0].name: x})[0]
        for i, p in zip(batch, probs):
            out[i] = _decode(p, m.characters, m.masks[kinds[i]])
    return out


def digit_shares(cells: list[np.ndarray]) -> np.ndarray:
    """How strongly the model sees each of 0-9 in each grey comb cell (n × 10, rows sum to one): a
    second opinion beside the digit classifier, from a model trained on other people's writing."""
    m = load()
    columns = np.array([m.characters.index(str(d)) for d in range(10)])
    out = np.full((len(cells), 10), 0.1, np.float32)
    for start in range(0, len(cells), BATCH):
        batch = cells[start: start + BATCH]
        # a margin of paper around the digit, as a line of text has
        padded = [cv2.copyMakeBorder(c, 6, 6, 12, 12, cv2.BORDER_REPLICATE) for c in batch]
        width = max(96, *(math.ceil(HEIGHT * c.shape[1] / c.shape[0]) for c in padded))
        x = np.stack([_tensor(c, width) for c in padded])
        probs = m.session.run(None, {m.session.get_inputs()[0].name: x})[0]
        seen = probs[:, :, columns].max(axis=1)  # the digit's strongest step along the cell
        out[start: start + len(batch)] = seen / np.maximum(seen.sum(axis=1, keepdims=True), 1e-9)
    return out


def _decode(probs: np.ndarray, characters: list[str], allowed: np.ndarray) -> tuple[str, float]:
    """Greedy CTC over the allowed characters: the likeliest at each step, repeats merged, blanks dropped."""
    p = np.where(allowed, probs, -1.0)
    best = p.argmax(axis=1)
    keep = best != 0
    keep[1:] &= best[1:] != best[:-1]
    if not keep.any():
        return "", 0.0
    text = "".join(characters[i] for i in best[keep])
    return text, float(p[np.arange(len(best)), best][keep].mean())


# Small kana only follow certain kana (ッ comes before a consonant that can double): a small one
# anywhere else is the big one written a little small, as handwriting often has it (タツヤ, not タッヤ).
SMALL = dict(zip("ァィゥェォッャュョヮ", "アイウエオツヤユヨワ"))
AFTER = {"ァ": "フヴツクグウ", "ィ": "フヴウテデスズツクグ", "ゥ": "トドクグフヴ",
         "ェ": "フヴウシジチツイキギニヒミリビピクグテデ", "ォ": "フヴウツクグ", "ャ": "キシチニヒミリギジヂビピフヴ", "ュ": "キシチニヒミリギジヂビピテデフヴ",
         "ョ": "キシチニヒミリギジヂビピフヴ", "ヮ": "クグ"}
NO_DOUBLING = set("アイウエオナニヌネノマミムメモヤユヨラリルレロワヲンー") | set(SMALL) | set(SPACES)


def _katakana(ch: str) -> str:
    return chr(ord(ch) + 0x60) if "ぁ" <= ch <= "ゖ" else ch


def big_kana(text: str) -> str:
    """Small kana where Japanese spelling cannot have them made big (in katakana and hiragana alike)."""
    out = []
    for i, ch in enumerate(text):
        k = _katakana(ch)
        if k in SMALL:
            before = _katakana(text[i - 1]) if i else ""
            after = _katakana(text[i + 1]) if i + 1 < len(text) else ""
            if k == "ッ":
                wrong = not before or before in SPACES or not after or after in NO_DOUBLING
            else:
                wrong = not before or before not in AFTER[k]
            if wrong:
                big = SMALL[k]
                ch = big if k == ch else chr(ord(big) - 0x60)
        out.append(ch)
    return "".join(out)


def _join(parts: list[str]) -> str:
    """Lines in reading order; no space between two Japanese characters, as Tesseract's words are joined."""
    out = ""
    for p in parts:
        if out and not (_wide(out[-1]) and _wide(p[0])):
            out += " "
        out += p
    return out


def _wide(ch: str) -> bool:
    return unicodedata.east_asian_width(ch) in "WF"


class PPOCR:
    """PP-OCR's recognition model on every crop: one-line crops as they are, free writing line by line;
    every line of the call in as few model runs as their widths allow."""

    name = "ppocr"

    def read(self, crops: list[Crop]) -> list[list[Candidate]]:
        images: list[np.ndarray] = []
        kinds: list[CropKind] = []
        owner: list[int] = []
        for i, c in enumerate(crops):
            for line in (lines(c.image) if c.kind == CropKind.FREE else [trim(c.image)]):
                if line is not None:
                    images.append(line)
                    kinds.append(c.kind)
                    owner.append(i)
        found: list[list[tuple[str, float]]] = [[] for _ in crops]
        if images:
            for i, kind, (text, conf) in zip(owner, kinds, recognise(images, kinds)):
                text = text.strip(SPACES)
                if text:
                    found[i].append((text if kind == CropKind.PRINT_ID else big_kana(text), conf))
        out: list[list[Candidate]] = []
        for lines_read in found:
            if not lines_read:
                out.append([])
                continue
            # the least sure line is the reading's confidence
            conf = min(c for _, c in lines_read)
            out.append([Candidate(_join([t for t, _ in lines_read]), round(max(0.0, min(1.0, conf)), 3), self.name)])
        return out
