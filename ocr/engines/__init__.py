"""The seam between the reader and text recognisers.

The reader cuts the crops of a page and asks one recogniser "read these crops of these
kinds"; the recogniser answers each crop with its candidates, best first (none: nothing
read). Which recogniser is the setting `[ocr] engine` of junkai.toml. Adding one is a
module with a class that has `name` and `read`, one line in ENGINES, and its thresholds
in junkai.toml (`[ocr.thresholds.<name>]`): a new engine's handwriting waits for a person
until its thresholds are calibrated.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Callable, Protocol

from junkai import JunkaiError
from junkai.readings import Candidate

if TYPE_CHECKING:
    import numpy as np


class CropKind(StrEnum):
    NAME = "name"  # a person's or business's name, handwritten
    KANA = "kana"  # furigana, in katakana
    TEXT = "text"  # other handwriting on one line (address, occupation, phone as written)
    FREE = "free"  # free writing over several lines (notes, opinions)
    PRINT_ID = "print_id"  # the id printed beside the QR code: machine print, a fixed alphabet


@dataclass(frozen=True)
class Crop:
    image: "np.ndarray"  # grey, white paper and dark ink, the printed lines already whitened
    kind: CropKind


class RecogniserUnavailable(RuntimeError):
    """The recogniser cannot run here at all (not installed): every page would fail alike."""


class RecogniserTimeout(RuntimeError):
    """The recogniser did not finish in its time: the crops of this call stay unread."""


class TextRecogniser(Protocol):
    name: str

    def read(self, crops: list[Crop]) -> list[list[Candidate]]:
        """Candidates per crop, in the crops' order, best first. Raises RecogniserUnavailable or
        RecogniserTimeout; never another error for a crop that is merely unreadable."""


def _tesseract(**options: Any) -> TextRecogniser:
    from ocr.engines.tesseract import Tesseract

    return Tesseract(**options)


def _ppocr(**options: Any) -> TextRecogniser:
    from ocr.engines.ppocr import PPOCR

    return PPOCR(**options)


def _both(**options: Any) -> TextRecogniser:
    from ocr.engines.combined import Combined

    return Combined(**options)


DEFAULT = "both"  # settings.DEFAULT_ENGINE names the same
# name -> factory: the factory imports its module, so an engine not used costs nothing
ENGINES: dict[str, Callable[..., TextRecogniser]] = {
    "tesseract": _tesseract,
    "ppocr": _ppocr,  # PP-OCR (RapidOCR, onnxruntime): reads handwriting far better
    "both": _both,  # PP-OCR, with Tesseract's agreement or disagreement in the confidence
}


def create(name: str = DEFAULT, **options: Any) -> TextRecogniser:
    try:
        factory = ENGINES[name]
    except KeyError:
        raise JunkaiError(f"文字認識エンジンが分かりません: {name!r} (使えるもの: {', '.join(ENGINES)})") from None
    return factory(**options)
