"""A scanned page in, a PageResult out: identity, form, and every field with a
confidence, its crop and its reason codes.

    pages.iter_pages ─▶ blank? ─▶ align (markers, rotation) ─▶ QR (identity, form)
        ─▶ fields: ink? ─▶ checkboxes by fill ratio, comb cells by the digit
           classifier, text by one batched Tesseract call ─▶ PageResult

Nothing here raises out of a batch: a page that cannot be read is a result with
status "failed" and its reasons, kept in the quarantine folder. The form
definition (junkai.form) is the only source of coordinates.
"""

from __future__ import annotations

import json
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Iterable, Iterator

import cv2
import numpy as np

from junkai import JunkaiError
from junkai import form as F
from junkai import qr as Q
from ocr import align as A
from ocr import digits as D
from ocr import pages as P
from ocr import tesseract as T

OK, PARTIAL, FAILED, SKIPPED = "ok", "partial", "failed", "skipped"
PX = A.PX_PER_MM

# Ink: darker than this on the aligned page. The form's dropout colour is ~185 in a
# grey scan and ~242 in the red channel of a colour one; pen ink is far below.
INK = 150
# Tick boxes, by the share of inked pixels inside the box (calibrated on simulated
# scans, see bench/ocr.py): below EMPTY_MAX empty, from TICK_MIN ticked, in between
# ambiguous; from CANCEL_MIN the box is scribbled over, which cancels a tick.
EMPTY_MAX, TICK_MIN, CANCEL_MIN = 0.02, 0.05, 0.55
TEXT_INK_MIN = 0.004  # share of inked pixels for an entry to hold writing
CELL_INSET, BOX_INSET, ENTRY_INSET = 0.45, 0.7, 0.6  # mm kept clear of printed lines


@dataclass
class FieldResult:
    id: str
    kind: str
    section: str
    path: str | None  # the form's card path ("members.{key}.name"): form.model_path maps it
    value: Any
    confidence: float
    crop: str | None
    reasons: list[str] = field(default_factory=list)
    ink: bool = False
    detail: dict | None = None  # fill ratios of tick boxes, digit confidences


@dataclass
class PageResult:
    source: str
    page: int  # 1-based within its file
    status: str  # ok | partial | failed | skipped
    reasons: list[str] = field(default_factory=list)  # machine codes
    messages: list[str] = field(default_factory=list)  # the same, for a person (Japanese)
    identity: dict | None = None  # from the verified QR code
    form: str | None = None
    form_version: int | None = None
    sheet: int | None = None  # 1: the card; 2 and after: continuation sheets
    prefilled: bool | None = None
    rotation: int | None = None  # quarter turns clockwise it was fed with
    dpi: float | None = None
    fields: list[FieldResult] = field(default_factory=list)
    quarantine: str | None = None
    seconds: float = 0.0

    def json(self) -> dict:
        return asdict(self)

    def field(self, field_id: str) -> FieldResult:
        return next(f for f in self.fields if f.id == field_id)

    def values(self) -> dict[str, Any]:
        return {f.id: f.value for f in self.fields}


MESSAGES = {
    "blank_page": "白紙の頁 (裏面など) のため読み飛ばしました",
    "markers_not_found": "位置合わせマーカーが見つかりません",
    "orientation_unknown": "カードの向きが分かりません",
    "qr_unreadable": "QR コードを読めません。カードの特定は住所・氏名による照合に回します",
    "qr_integrity": "QR コードの署名が合いません (他の署で印刷したカードか、書き換えられたカードです)",
    "qr_foreign": "QR コードが巡回連絡カードのものではありません",
    "form_guessed": "様式は QR コードでなく印刷の配置から推定しました",
    "form_version": "この版の様式は読めません",
    "markers_inferred": "マーカー 1 個が見つからず、残り 3 個から補いました",
    "skewed_markers": "マーカーの配置が様式とずれています (用紙の折れ・しわの可能性)",
    "ocr_unavailable": "文字認識 (Tesseract) を実行できません",
    "ocr_timeout": "文字認識 (Tesseract) が時間内に終わらず、手書きの欄は確認待ちにします",
    "internal_error": "読み取り中に予期しないエラーが起きました",
}


@dataclass
class Reader:
    """What reading needs besides the page: the station key, and where crops and
    failed pages go."""
    key: bytes | None
    crops_dir: Path | None = None
    quarantine_dir: Path | None = None
    skip_unchanged: bool = True
    batched: bool = True  # False: the naive way, one Tesseract call per text field (benchmark only)

    @classmethod
    def for_home(cls, home: Path, crops_dir: Path | None = None) -> Reader:
        home = Path(home)
        return cls(Q.station_key(home), crops_dir or home / "crops", home / "quarantine")

    # --- batches --------------------------------------------------------------

    def read_paths(self, paths: Iterable[Path], workers: int = 2) -> Iterator[PageResult]:
        """Results of every page of every file, in order; at most a few pages in memory."""
        files = P.find_files(list(paths))
        pages = (pg for f in files for pg in P.iter_pages(f))
        if workers <= 1:
            for pg in pages:
                yield self.read(pg)
            return
        # threads: Tesseract runs in its own process and OpenCV releases the GIL
        with ThreadPoolExecutor(workers) as pool:
            pending = []
            for pg in pages:
                pending.append(pool.submit(self.read, pg))
                del pg
                while len(pending) >= 2 * workers:
                    yield pending.pop(0).result()
            for fut in pending:
                yield fut.result()

    def read(self, page: P.Page) -> PageResult:
        """One page; never raises."""
        t0 = time.perf_counter()
        result = PageResult(page.source, page.index + 1, OK, dpi=page.dpi)
        try:
            if page.image is None and page.reason == "blank_page":
                result.status = SKIPPED
                _note(result, "blank_page")
            elif page.image is None:
                _fail(result, page.reason or "unreadable", page.error)
            else:
                self._read(page, result)
        except T.TesseractMissing as exc:
            _fail(result, "ocr_unavailable", str(exc))
        except Exception as exc:  # a page never stops the batch
            _fail(result, "internal_error", f"{MESSAGES['internal_error']}: {type(exc).__name__}: {exc}")
        if result.status == FAILED:
            self._quarantine(page, result)
        result.seconds = round(time.perf_counter() - t0, 3)
        return result

    # --- one page ---------------------------------------------------------------

    def _read(self, page: P.Page, result: PageResult) -> None:
        image = page.image
        grey = A.to_grey(image)
        if _is_blank(grey):
            result.status = SKIPPED
            _note(result, "blank_page")
            return
        layout1 = F.page(F.TYPES[0], 1)  # markers, QR box and title are the same on every page
        title = next(t.box for t in layout1.texts if t.style == "title")
        try:
            al = A.align(image, page.dpi or P.DEFAULT_DPI, F.PAGE_W, F.PAGE_H, layout1.markers, (layout1.qr, title))
        except A.AlignmentError as exc:
            _fail(result, exc.reason, str(exc))
            return
        result.rotation = al.rotation
        if al.markers_found < 4:
            _note(result, "markers_inferred")
        if al.residual_mm > 2.0:
            _note(result, "skewed_markers")
        payload = self._identity(al, image, result)
        if result.status == FAILED:
            return
        if payload is not None:
            try:
                layout = F.page(payload.form, payload.page, payload.form_version)
            except JunkaiError as exc:
                _fail(result, "form_version", str(exc))
                return
            result.prefilled = payload.premises_id is not None
        else:
            layout = _guess_layout(al.image)
            _note(result, "form_guessed")
        result.form, result.form_version, result.sheet = layout.form, layout.version, layout.number
        result.fields = self._fields(layout, al.image, result)
        if result.reasons and result.status == OK:
            result.status = PARTIAL if any(r in PARTIAL_REASONS for r in result.reasons) else OK

    def _identity(self, al: A.Alignment, image: np.ndarray, result: PageResult) -> Q.Payload | None:
        box = F.page(F.TYPES[0], 1).qr
        m = 4.0
        crop = al.image[int((box.y - m) * PX): int((box.bottom + m) * PX), int((box.x - m) * PX): int((box.right + m) * PX)]
        texts = A.decode_qr(crop) or A.decode_qr(A.luminance(image))
        if not texts:
            _note(result, "qr_unreadable")
            return None
        if self.key is None:
            _note(result, "qr_integrity", "署の鍵がないため QR コードを確かめられません")
            return None
        for text in texts:
            try:
                p = Q.decode(text, self.key)
            except JunkaiError:
                continue
            result.identity = dict(print_id=p.print_id, premises_id=p.premises_id, card_version=p.card_version,
                                   beat=p.beat, sheet=p.page, sheets=p.pages, form=p.form, form_version=p.form_version)
            return p
        # Reed-Solomon inside the code makes a misread all but impossible: a code that decodes
        # and does not verify was printed elsewhere or altered, so nothing on the page is trusted
        ours = any(t.strip().startswith(Q.PREFIX) for t in texts)
        _fail(result, "qr_integrity" if ours else "qr_foreign", None)
        return None

    # --- fields -----------------------------------------------------------------

    def _fields(self, layout: F.Page, img: np.ndarray, result: PageResult) -> list[FieldResult]:
        prefilled = result.prefilled
        out: list[FieldResult] = []
        crops_dir = self._crops_for(result)
        changes: dict[str, FieldResult] = {}
        # change boxes first: a section ticked 変更なし needs no handwriting read
        for f in layout.fields:
            if f.id.endswith(".change"):
                if prefilled is False:
                    continue
                fr = _checkbox(f, img)
                changes[f.section] = fr
        texts: list[tuple[FieldResult, np.ndarray]] = []
        digit_jobs: list[tuple[F.Field, FieldResult]] = []
        for f in layout.fields:
            if f.prefilled_only and prefilled is False:
                continue
            if f.id.endswith(".change"):
                fr = changes[f.section]
            elif f.kind == "checkbox":
                fr = _checkbox(f, img)
            elif f.kind in ("digits", "date"):
                fr = FieldResult(f.id, f.kind, f.section, f.path, None, 1.0, None)
                digit_jobs.append((f, fr))
            else:
                fr, crop = _text_field(f, img, force=not self.batched)
                if crop is not None:
                    texts.append((fr, crop))
            out.append(fr)
        self._read_digits(digit_jobs, img)
        self._read_texts(texts, result)
        for fr in out:
            ch = changes.get(fr.section)
            if ch is not None and fr is not ch and ch.value == F.UNCHANGED and ch.confidence >= 0.8:
                if fr.ink:
                    fr.reasons.append("ink_in_unchanged_section")
                else:
                    fr.reasons.append("section_unchanged")
            if crops_dir is not None and (fr.ink or fr.value not in (None, [], "")):
                fr.crop = _save_crop(crops_dir, layout.field(fr.id), img)
        return out

    def _read_digits(self, jobs: list[tuple[F.Field, FieldResult]], img: np.ndarray) -> None:
        cells, owners = [], []
        for f, fr in jobs:
            for i, c in enumerate(f.cells):
                cells.append(_slice(img, c, CELL_INSET))
                owners.append((fr, i))
        read = D.classify(cells) if cells else []
        per: dict[int, list[D.Digit]] = {}
        for (fr, i), d in zip(owners, read):
            per.setdefault(id(fr), []).append(d)
        for f, fr in jobs:
            ds = per.get(id(fr), [])
            _digits_value(f, fr, ds, img)

    def _read_texts(self, texts: list[tuple[FieldResult, np.ndarray]], result: PageResult) -> None:
        if not texts:
            return
        crops = [c for _, c in texts]
        try:
            read = T.read_batch(crops) if self.batched else T.read_each(crops)
        except T.TesseractTimeout as exc:
            # the tick boxes and digits of the page stand; its writing goes to a person
            for fr, _ in texts:
                fr.value, fr.confidence = None, 0.0
                fr.reasons.append("ocr_timeout")
            _note(result, "ocr_timeout", str(exc))
            return
        for (fr, _), t in zip(texts, read):
            fr.value = t.text or None
            fr.confidence = round(t.confidence, 3) if t.text else 0.0
            if not t.text:
                fr.reasons.append("unreadable")
            elif t.confidence < 0.6:
                fr.reasons.append("low_confidence")

    # --- files --------------------------------------------------------------------

    def _crops_for(self, result: PageResult) -> Path | None:
        if self.crops_dir is None:
            return None
        ident = result.identity
        name = f"{ident['print_id']}-{ident['sheet']}" if ident else f"{Path(result.source).stem}-p{result.page}"
        d = Path(self.crops_dir) / name
        d.mkdir(parents=True, exist_ok=True)
        return d

    def _quarantine(self, page: P.Page, result: PageResult) -> None:
        if self.quarantine_dir is None:
            return
        try:
            q = Path(self.quarantine_dir)
            q.mkdir(parents=True, exist_ok=True)
            stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
            base = f"{stamp}-{Path(page.source).name}"
            if page.image is not None:
                target = q / f"{base}-p{result.page}.png"
                cv2.imwrite(str(target), page.image if page.image.ndim == 2 else page.image[:, :, ::-1])
            else:
                target = q / base
                src = Path(page.source)
                if src.is_file() and src.stat().st_size <= 200 * 1024 * 1024:
                    shutil.copyfile(src, target)
                else:
                    target.touch()
            reason = "\n".join([f"{page.source} の {result.page} 頁目"] + result.messages) + "\n"
            Path(str(target) + ".reason.txt").write_text(reason, encoding="utf-8")
            result.quarantine = str(target)
        except OSError as exc:
            result.messages.append(f"隔離フォルダに保存できません: {exc}")


PARTIAL_REASONS = {"qr_unreadable", "qr_integrity", "form_guessed", "markers_inferred", "skewed_markers",
                   "ocr_timeout"}


def _note(result: PageResult, reason: str, message: str | None = None) -> None:
    result.reasons.append(reason)
    result.messages.append(message or MESSAGES.get(reason, reason))


def _fail(result: PageResult, reason: str, message: str | None) -> None:
    result.status = FAILED
    _note(result, reason, message)


def _is_blank(grey: np.ndarray) -> bool:
    small = cv2.resize(grey, (grey.shape[1] // 8 or 1, grey.shape[0] // 8 or 1), interpolation=cv2.INTER_AREA)
    return float((small < 128).mean()) < 0.002


def _slice(img: np.ndarray, box: F.Box, inset: float = 0.0) -> np.ndarray:
    y0, y1 = int(round((box.y + inset) * PX)), int(round((box.bottom - inset) * PX))
    x0, x1 = int(round((box.x + inset) * PX)), int(round((box.right - inset) * PX))
    return img[max(0, y0): max(y0 + 1, y1), max(0, x0): max(x0 + 1, x1)]


def _ink_share(region: np.ndarray) -> float:
    return float((region < INK).mean()) if region.size else 0.0


# --- tick boxes ----------------------------------------------------------------------------


def _box_state(r: float) -> tuple[str, float]:
    """(ticked | empty | ambiguous | cancelled, confidence) from a box's fill ratio."""
    if r >= CANCEL_MIN:
        return "cancelled", min(1.0, 0.75 + (r - CANCEL_MIN))
    if r >= TICK_MIN:
        if r > CANCEL_MIN - 0.1:
            return "ticked", 0.6
        return "ticked", min(1.0, 0.9 + (r - TICK_MIN))
    if r <= EMPTY_MAX:
        return "empty", 1.0 - 0.1 * r / EMPTY_MAX
    return "ambiguous", 0.3


def _checkbox(f: F.Field, img: np.ndarray) -> FieldResult:
    ratios = [_ink_share(_slice(img, o.box, BOX_INSET)) for o in f.options]
    states = [_box_state(r) for r in ratios]
    ticked = [o.value for o, (s, _) in zip(f.options, states) if s == "ticked"]
    reasons = []
    conf = min(c for _, c in states)
    if any(s == "ambiguous" for s, _ in states):
        reasons.append("ambiguous_mark")
    if any(s == "cancelled" for s, _ in states):
        reasons.append("cancelled_mark")
    if f.multiple:
        value: Any = ticked
    elif len(ticked) > 1:
        value, conf = None, min(conf, 0.2)
        reasons.append("multiple_ticks")
    else:
        value = ticked[0] if ticked else None
    detail = {o.value: round(r, 4) for o, r in zip(f.options, ratios)}
    ink = any(s != "empty" for s, _ in states)
    return FieldResult(f.id, f.kind, f.section, f.path, value, round(conf, 3), None, reasons, ink, detail)


# --- comb cells -----------------------------------------------------------------------------


def _digits_value(f: F.Field, fr: FieldResult, ds: list[D.Digit], img: np.ndarray) -> None:
    written = [d.value is not None for d in ds]
    fr.detail = {"cells": [d.value for d in ds], "confidence": [round(d.confidence, 3) for d in ds]}
    reasons = sorted({d.reason for d in ds if d.reason})
    confs = [d.confidence for d in ds if d.value is not None]
    era = None
    if f.kind == "date":
        eras = _checkbox(f, img)
        era = eras.value
        if eras.ink:
            confs.append(eras.confidence)
        reasons += [r for r in eras.reasons if r not in reasons]
        fr.detail["era"] = eras.detail
    fr.ink = any(written) or era is not None
    if not fr.ink:
        fr.value, fr.confidence = None, round(min([d.confidence for d in ds] or [1.0]), 3)
        return
    if any(written):
        first, last = written.index(True), len(written) - 1 - written[::-1].index(True)
        if not all(written[first: last + 1]) and f.kind == "digits":
            reasons.append("gap_in_digits")
    if f.kind == "date":
        parts = {}
        for name, start, n in f.groups:
            cells = ds[start: start + n]
            parts[name] = "".join(d.value for d in cells if d.value) or None
        fr.value = dict(era=era, **parts)
        if era is None:
            reasons.append("era_missing")
        if any(v is None for v in parts.values()):
            reasons.append("date_incomplete")
    else:
        fr.value = "".join(d.value or "" for d in ds)
    fr.confidence = round(min(confs) if confs else 0.0, 3)
    fr.reasons = reasons


# --- text -----------------------------------------------------------------------------------


def _text_field(f: F.Field, img: np.ndarray, force: bool = False) -> tuple[FieldResult, np.ndarray | None]:
    """The field, and the crop to read (None when there is no ink); force: read it anyway."""
    region = _slice(img, f.entry, ENTRY_INSET)
    ink = _ink_share(region)
    fr = FieldResult(f.id, f.kind, f.section, f.path, None, 1.0, None, [], ink >= TEXT_INK_MIN)
    if not fr.ink and not force:
        fr.confidence = round(1.0 - min(1.0, ink / TEXT_INK_MIN) * 0.2, 3)
        return fr, None
    # paper and dropout lines to white, so Tesseract sees ink only
    crop = region.copy()
    crop[crop > 170] = 255
    return fr, crop


def _save_crop(d: Path, f: F.Field, img: np.ndarray) -> str:
    path = d / f"{f.id}.png"
    cv2.imwrite(str(path), _slice(img, f.box))
    return str(path)


# --- a page whose QR could not be read ----------------------------------------------------


def _guess_layout(img: np.ndarray) -> F.Page:
    """The layout whose section titles (printed black in the band column) match the ink there."""
    candidates = [F.page(form, n) for form in F.TYPES for n in (1, 2)]
    band = candidates[0].sections[0].band
    column = img[:, int((band.x + 0.8) * PX): int((band.right - 0.8) * PX)]
    inked = (column < INK).mean(axis=1) > 0.01
    best, best_score = candidates[0], -1.0
    for c in candidates:
        want = np.zeros(len(inked), bool)
        for t in c.texts:
            if t.style == "band":
                want[int(t.box.y * PX): int((t.box.y + 4.0) * PX)] = True
        union = (want | inked).sum()
        score = (want & inked).sum() / union if union else 0.0
        if score > best_score:
            best, best_score = c, score
    return best


def results_json(results: Iterable[PageResult]) -> Iterator[str]:
    for r in results:
        yield json.dumps(r.json(), ensure_ascii=False)
