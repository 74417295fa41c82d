"""A scanned page in, a PageReading out: identity, form, and every field with a
confidence, its crop and its reason codes.

    pages.iter_pages ─▶ blank? ─▶ align once (markers, rotation) ─▶ QR (identity, form)
        ─▶ page quality (ocr.quality): paper and ink levels, speckle, bleed-through, markers
        ─▶ fields: ink? ─▶ tick boxes by the shape of their ink (ocr.marks), comb cells by the digit
           classifier, text by one call to the text recogniser (ocr.engines)
        ─▶ too many ticks? a noisy page says why (nothing on it passes without a person)
        ─▶ no verified QR: the printed id's crop, from the same alignment ─▶ PageReading

Nothing here raises out of a batch: a page that cannot be read is a reading with
status failed and its reasons, kept in the quarantine folder. The form definition
(junkai.form) is the only source of coordinates; nothing here opens the store.
"""

from __future__ import annotations

import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Iterable, Iterator

import cv2
import numpy as np

from junkai import JunkaiError
from junkai import form as F
from junkai import qr as Q
from junkai.readings import (MESSAGES, PARTIAL_REASONS, FieldKind, FieldReading, Identity, PageReading, PageStatus,
                             Reason)
from ocr import align as A
from ocr import digits as D
from ocr import engines as E
from ocr.engines.combined import fold
from ocr import evidence
from ocr import marks as M
from ocr import pages as P
from ocr import printed_id
from ocr import quality

OK, PARTIAL, FAILED, SKIPPED = PageStatus.OK, PageStatus.PARTIAL, PageStatus.FAILED, PageStatus.SKIPPED
PX = A.PX_PER_MM

# Ink: darker than this on the aligned page. The form's dropout colour is ~185 in a
# grey scan and ~242 in the red channel of a colour one; pen ink is far below.
INK = 150
TEXT_INK_MIN = 0.004  # share of inked pixels for an entry to hold writing
# Below TEXT_INK_MIN, a mark of 0.4 mm² or 1.5 mm long is still ink a person looks at (a dust dot is not)
STROKE_PX, STROKE_LONG = 40, 15
# Pale ink covering this share of a box's inside (0.6 mm clear of its outline) is a mark to look at:
# on simulated light scans it caught 58 of 62 ticks seen as nothing, and 1 of 2,085 empty boxes
BOX_FAINT_MIN, BOX_INSET = 0.03, 0.6
BOX_BELOW_PAPER = 45  # grey levels under the page's paper that are ink inside a box (noise stays within ~20)
BOX_FAINT_FILL = 0.3  # of a box beside a mark, in pale ink only: a faint ■ (specks and strokes are darker)
CELL_INSET, ENTRY_INSET = 0.45, 0.6  # mm kept clear of printed lines


@dataclass
class Reader:
    """What reading needs besides the page: the station key, the text recogniser (a name in
    ocr.engines.ENGINES, or one made already), and where crops and failed pages go."""
    key: bytes | None
    crops_dir: Path | None = None
    quarantine_dir: Path | None = None
    skip_unchanged: bool = True
    batched: bool = True  # False: the naive way, one recogniser call per text field (benchmark only)
    engine: Any = E.DEFAULT
    max_pages: int | None = None  # pages per file (default pages.MAX_PAGES)
    page_seconds: float | None = None  # to decode one page (default pages.PAGE_SECONDS)

    @classmethod
    def for_home(cls, home: Path, crops_dir: Path | None = None, engine: Any = E.DEFAULT) -> Reader:
        home = Path(home)
        return cls(Q.station_key(home), crops_dir or home / "crops", home / "quarantine", engine=engine)

    @property
    def recogniser(self) -> E.TextRecogniser:
        if isinstance(self.engine, str):
            self.engine = E.create(self.engine)
        return self.engine

    # --- batches --------------------------------------------------------------

    def read_paths(self, paths: Iterable[Path], workers: int = 2) -> Iterator[PageReading]:
        """Readings of every page of every file, in order; at most a few pages in memory."""
        files = P.find_files(list(paths))
        pages = (pg for f in files for pg in P.iter_pages(f, max_pages=self.max_pages, seconds=self.page_seconds))
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

    def read(self, page: P.Page) -> PageReading:
        """One page; never raises."""
        _one_blas_thread()
        t0 = time.perf_counter()
        reading = PageReading(page.source, page.index + 1, OK, dpi=page.dpi)
        try:
            if page.image is None and page.reason == Reason.BLANK_PAGE:
                reading.status = SKIPPED
                reading.note(Reason.BLANK_PAGE)
            elif page.image is None:
                reading.fail(Reason(page.reason or Reason.UNREADABLE), page.error)
            else:
                self._read(page, reading)
        except E.RecogniserUnavailable as exc:
            reading.fields = []
            reading.fail(Reason.OCR_UNAVAILABLE, str(exc))
        except Exception as exc:  # a page never stops the batch
            reading.fields = []
            reading.fail(Reason.INTERNAL_ERROR,
                         f"{MESSAGES[Reason.INTERNAL_ERROR]}: {type(exc).__name__}: {exc}")
        if reading.status == FAILED:
            self._quarantine(page, reading)
        reading.seconds = round(time.perf_counter() - t0, 3)
        return reading

    # --- one page ---------------------------------------------------------------

    def _read(self, page: P.Page, reading: PageReading) -> None:
        image = page.image
        grey = A.to_grey(image)
        if _is_blank(grey):
            reading.status = SKIPPED
            reading.note(Reason.BLANK_PAGE)
            return
        try:
            al = align(grey, page.dpi)  # the grey page, not the scan: a colour page is not reduced twice
        except A.AlignmentError as exc:
            reading.fail(Reason(exc.reason), str(exc))
            return
        reading.rotation = al.rotation
        if al.markers_found < 4:
            reading.note(Reason.MARKERS_INFERRED)
        if al.residual_mm > 2.0:
            reading.note(Reason.SKEWED_MARKERS)
        payload = self._identity(al, image, reading)
        if reading.status == FAILED:
            return
        if payload is not None:
            try:
                layout = F.page(payload.form, payload.page, payload.form_version)
            except JunkaiError as exc:
                reading.fail(Reason.FORM_VERSION, str(exc))
                return
            reading.prefilled = payload.premises_id is not None
        else:
            layout = _guess_layout(al.image)
            reading.note(Reason.FORM_GUESSED)
        reading.form, reading.form_version, reading.sheet = layout.form, layout.version, layout.number
        q = quality.measure(al, layout)
        reading.fields = self._fields(layout, al.image, reading, q, payload.language if payload else "ja")
        evidence.weigh(reading)
        quality.count_ticks(q, reading.fields, layout)
        reading.quality = q.detail()
        if q.problems:
            reading.note(Reason.NOISY_PAGE, q.message())
        if reading.identity is None:
            reading.printed_ids = self._printed_ids(al.image)
        if reading.reasons and reading.status == OK:
            reading.status = PARTIAL if any(r in PARTIAL_REASONS for r in reading.reasons) else OK

    def _identity(self, al: A.Alignment, image: np.ndarray, reading: PageReading) -> Q.Payload | None:
        box = F.page(F.TYPES[0], 1).qr
        m = 4.0
        crop = al.image[int((box.y - m) * PX): int((box.bottom + m) * PX), int((box.x - m) * PX): int((box.right + m) * PX)]
        texts = A.decode_qr(crop) or A.decode_qr(A.luminance(image))
        if not texts:
            reading.note(Reason.QR_UNREADABLE)
            return None
        if self.key is None:
            reading.note(Reason.QR_INTEGRITY, "署の鍵がないため QR コードを確かめられません")
            return None
        for text in texts:
            try:
                p = Q.decode(text, self.key)
            except JunkaiError:
                continue
            reading.identity = Identity(print_id=p.print_id, premises_id=p.premises_id, card_version=p.card_version,
                                        beat=p.beat, sheet=p.page, sheets=p.pages, form=p.form,
                                        form_version=p.form_version)
            return p
        # Reed-Solomon inside the code makes a misread all but impossible: a code that decodes
        # and does not verify was printed elsewhere or altered, so nothing on the page is trusted
        ours = any(t.strip().startswith(Q.PREFIX) for t in texts)
        reading.fail(Reason.QR_INTEGRITY if ours else Reason.QR_FOREIGN, None)
        return None

    def _printed_ids(self, aligned: np.ndarray) -> list[str]:
        """The ids the one printed beside the QR could be, for the store to tell which was printed."""
        try:
            read = self.recogniser.read([E.Crop(printed_id.crop(aligned), E.CropKind.PRINT_ID)])
        except E.RecogniserTimeout:
            return []  # an id not read: the card is matched by its address and names instead
        return printed_id.candidates(read[0])

    # --- fields -----------------------------------------------------------------

    def _fields(self, layout: F.Page, img: np.ndarray, reading: PageReading,
                levels: quality.PageQuality | None = None, lang: str = "ja") -> list[FieldReading]:
        prefilled = reading.prefilled
        out: list[FieldReading | None] = []
        crops_dir = self._crops_for(reading)
        changes: dict[str, FieldReading] = {}
        # change boxes first: a section ticked 変更なし needs no handwriting read
        for f in layout.fields:
            if f.id.endswith(".change"):
                if prefilled is False:
                    continue
                fr = _checkbox(f, img, levels, lang)
                changes[f.section] = fr
        texts: list[tuple[FieldReading, E.Crop]] = []
        digit_jobs: list[tuple[F.Field, FieldReading]] = []
        boxes: list[tuple[int, F.Field]] = []
        for f in layout.fields:
            if f.prefilled_only and prefilled is False:
                continue
            if f.id.endswith(".change"):
                fr = changes[f.section]
            elif f.kind == FieldKind.CHECKBOX:
                fr = None  # read below, while the writing is read
                boxes.append((len(out), f))
            elif f.kind in (FieldKind.DIGITS, FieldKind.DATE):
                fr = FieldReading(f.id, f.kind, f.section, f.path, None, 1.0)
                digit_jobs.append((f, fr))
            else:
                fr, crop = _text_field(f, img, force=not self.batched, levels=levels)
                if crop is not None:
                    texts.append((fr, crop))
            out.append(fr)
        # The writing is read on another thread meanwhile: the recognisers run outside the interpreter
        # (onnxruntime, Tesseract's own process), so a page's tick boxes and digits do not wait for them.
        with ThreadPoolExecutor(1) as pool:
            writing = pool.submit(self._read_texts, texts, reading) if texts else None
            for i, f in boxes:
                out[i] = _checkbox(f, img, levels, lang)
            self._read_digits(digit_jobs, img, lang)
            if writing is not None:
                writing.result()
        for fr in out:
            ch = changes.get(fr.section)
            if ch is not None and fr is not ch and ch.value == F.UNCHANGED and ch.confidence >= 0.8:
                if fr.ink:
                    fr.reasons.append(Reason.INK_IN_UNCHANGED_SECTION)
                else:
                    fr.reasons.append(Reason.SECTION_UNCHANGED)
            if crops_dir is not None and (fr.ink or fr.value not in (None, [], "")):
                fr.crop = _save_crop(crops_dir, layout.field(fr.id), img)
        return out

    def _read_digits(self, jobs: list[tuple[F.Field, FieldReading]], img: np.ndarray, lang: str = "ja") -> None:
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
            _digits_value(f, fr, ds, img, lang)

    def _read_texts(self, texts: list[tuple[FieldReading, E.Crop]], reading: PageReading) -> None:
        if not texts:
            return
        crops = [c for _, c in texts]
        engine = self.recogniser
        try:
            # one call for the page (the recogniser batches it); the naive way, one call per crop
            read = engine.read(crops) if self.batched else [engine.read([c])[0] for c in crops]
        except E.RecogniserTimeout as exc:
            # the tick boxes and digits of the page stand; its writing goes to a person
            for fr, _ in texts:
                fr.value, fr.confidence = None, 0.0
                fr.reasons.append(Reason.OCR_TIMEOUT)
            reading.note(Reason.OCR_TIMEOUT, str(exc))
            return
        for (fr, _), candidates in zip(texts, read):
            fr.candidates = list(candidates)
            best = candidates[0] if candidates and candidates[0].text.strip() else None
            fr.value = best.text if best else None
            fr.confidence = round(best.confidence, 3) if best else 0.0
            if best is None:
                # ink that read as nothing is a value for a person, never an empty one
                if Reason.UNREAD_INK not in fr.reasons:
                    fr.reasons.append(Reason.UNREAD_INK)
            else:
                if best.confidence < 0.6:
                    fr.reasons.append(Reason.LOW_CONFIDENCE)
                # the reviewer is told why a reading both engines did not give waits, and sees both
                others = [c for c in candidates[1:] if c.engine != best.engine]
                if others and fold(others[0].text) != fold(best.text):
                    fr.reasons.append(Reason.ENGINES_DISAGREE)

    # --- files --------------------------------------------------------------------

    def _crops_for(self, reading: PageReading) -> Path | None:
        if self.crops_dir is None:
            return None
        ident = reading.identity
        name = f"{ident.print_id}-{ident.sheet}" if ident else f"{Path(reading.source).stem}-p{reading.page}"
        d = Path(self.crops_dir) / name
        d.mkdir(parents=True, exist_ok=True)
        return d

    def _quarantine(self, page: P.Page, reading: PageReading) -> None:
        if self.quarantine_dir is None:
            return
        try:
            q = Path(self.quarantine_dir)
            q.mkdir(parents=True, exist_ok=True)
            stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
            base = f"{stamp}-{Path(page.source).name}"
            if page.image is not None:
                target = q / f"{base}-p{reading.page}.png"
                cv2.imwrite(str(target), page.image if page.image.ndim == 2 else page.image[:, :, ::-1])
            else:
                target = q / base
                src = Path(page.source)
                # never through a link, never a FIFO or a device: those are refused, not copied
                if P.refusal(src) is None and src.is_file() and src.stat().st_size <= 200 * 1024 * 1024:
                    with P.open_regular(src) as fh, open(target, "xb") as out:
                        shutil.copyfileobj(fh, out, 1 << 20)
                else:
                    target.touch()
            reason = "\n".join([f"{page.source} の {reading.page} 頁目"] + reading.messages) + "\n"
            Path(str(target) + ".reason.txt").write_text(reason, encoding="utf-8")
            reading.quarantine = str(target)
        except OSError as exc:
            reading.messages.append(f"隔離フォルダに保存できません: {exc}")


_blas_limited = False


def _one_blas_thread() -> None:
    """numpy's BLAS (the digit classifier's products) on the calling thread only, once per reading process:
    the reader already runs a page per core, and BLAS threads of its own only take turns with them (a
    quarter of the reader's CPU on 2 cores, for the same results)."""
    global _blas_limited
    if not _blas_limited:
        from threadpoolctl import threadpool_limits

        threadpool_limits(1, user_api="blas")
        _blas_limited = True


def align(image: np.ndarray, dpi: float | None) -> A.Alignment:
    """The page aligned to the form by its markers (the same on every form and sheet); raises AlignmentError."""
    layout1 = F.page(F.TYPES[0], 1)
    title = next(t.box for t in layout1.texts if t.style == "title")
    return A.align(image, dpi or P.DEFAULT_DPI, F.PAGE_W, F.PAGE_H, layout1.markers, (layout1.qr, title))


def _is_blank(grey: np.ndarray) -> bool:
    small = cv2.resize(grey, (grey.shape[1] // 8 or 1, grey.shape[0] // 8 or 1), interpolation=cv2.INTER_AREA)
    # dark against this page's paper: a light scan of a card is not a blank back (show-through stays lighter)
    paper = float(np.percentile(small, 90))
    return float((small < max(128.0, paper - 80)).mean()) < 0.002


def _slice(img: np.ndarray, box: F.Box, inset: float = 0.0) -> np.ndarray:
    y0, y1 = int(round((box.y + inset) * PX)), int(round((box.bottom - inset) * PX))
    x0, x1 = int(round((box.x + inset) * PX)), int(round((box.right - inset) * PX))
    return img[max(0, y0): max(y0 + 1, y1), max(0, x0): max(x0 + 1, x1)]


def _ink_share(region: np.ndarray) -> float:
    return float((region < INK).mean()) if region.size else 0.0


# --- tick boxes ----------------------------------------------------------------------------


def _checkbox(f: F.Field, img: np.ndarray, levels: quality.PageQuality | None = None,
              lang: str = "ja") -> FieldReading:
    r = M.read(f, img, lang)
    fr = FieldReading(f.id, f.kind, f.section, f.path, r.value, r.confidence, None, r.reasons, r.ink, r.detail)
    if levels is None or levels.faint_ink is None:
        return fr
    # inside a box (clear of its outline) nothing is printed: a thin pale ring as light as the outlines
    # is still well below the paper
    pale = max(levels.faint_ink, levels.paper - BOX_BELOW_PAPER)
    if not fr.ink:
        # no mark at the usual level, but pale ink inside a box or beside its outline (a pencil or pale
        # pen on a light scan): not an empty field, a doubtful one
        faint = [o.value for o in f.options if _faint_share(_slice(img, o.box, BOX_INSET), pale) >= BOX_FAINT_MIN]
        faint = faint or M.faint_near(f, img, pale, levels.text_ink, lang)
        if faint:
            fr.ink, fr.value, fr.confidence = True, None, 0.0
    else:
        # a mark beside a box filled in pale ink the marks left unseen (a faint ■ beside a darker
        # scribble): not the chosen option on its own, for a person to look at
        chosen = fr.value if isinstance(fr.value, list) else [fr.value]
        faint = [o.value for o in f.options if o.value not in chosen
                 and _faint_share(_slice(img, o.box, BOX_INSET), pale, levels.text_ink) >= BOX_FAINT_FILL]
        if faint:
            fr.confidence = min(fr.confidence, 0.5)
    if faint:
        fr.reasons = [*fr.reasons, Reason.FAINT_INK]
        fr.detail = {**(fr.detail or {}), "faint": faint}
    return fr


def _faint_share(region: np.ndarray, pale: float, dark: float = 0.0) -> float:
    """The share of the region lighter than `dark` (ink already seen) and darker than `pale`."""
    return float(((region < pale) & (region >= dark)).mean()) if region.size else 0.0


# --- comb cells -----------------------------------------------------------------------------


def _digits_value(f: F.Field, fr: FieldReading, ds: list[D.Digit], img: np.ndarray,
                  lang: str = "ja") -> None:
    written = [d.value is not None for d in ds]
    fr.detail = {"cells": [d.value for d in ds], "confidence": [round(d.confidence, 3) for d in ds]}
    reasons = [Reason(r) for r in sorted({d.reason for d in ds if d.reason})]
    confs = [d.confidence for d in ds if d.value is not None]
    era = None
    if f.kind == FieldKind.DATE:
        eras = _checkbox(f, img, lang=lang)
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
        if not all(written[first: last + 1]) and f.kind == FieldKind.DIGITS:
            reasons.append(Reason.GAP_IN_DIGITS)
    if f.kind == FieldKind.DATE:
        parts = {}
        for name, start, n in f.groups:
            cells = ds[start: start + n]
            parts[name] = "".join(d.value for d in cells if d.value) or None
        fr.value = dict(era=era, **parts)
        if era is None:
            reasons.append(Reason.ERA_MISSING)
        if any(v is None for v in parts.values()):
            reasons.append(Reason.DATE_INCOMPLETE)
    else:
        fr.value = "".join(d.value or "" for d in ds)
    # every cell must be right for the value to be right: the cells' calibrated confidences multiply
    # (a ten-digit number of cells each right 99 times in 100 is right about 90 times in 100)
    fr.confidence = round(float(np.prod(confs)) if confs else 0.0, 3)
    fr.reasons = reasons


# --- text -----------------------------------------------------------------------------------


def _text_field(f: F.Field, img: np.ndarray, force: bool = False,
                levels: quality.PageQuality | None = None) -> tuple[FieldReading, E.Crop | None]:
    """The field, and the crop to read (None when there is no ink); force: read it anyway. levels: the
    page's paper and ink (a light or dark scan moves where ink ends), else the usual scan's."""
    region = _slice(img, f.entry, ENTRY_INSET)
    inked = region < (levels.text_ink if levels else INK)
    ink = float(inked.mean()) if region.size else 0.0
    fr = FieldReading(f.id, f.kind, f.section, f.path, None, 1.0, None, [], ink >= TEXT_INK_MIN)
    if not fr.ink and ink and _has_stroke(inked):
        # too little to call writing, too much to call paper: a short word, a faint line, a blot
        fr.ink = True
        fr.reasons.append(Reason.UNREAD_INK)
    pale = levels.faint_ink if levels else None
    faint = not fr.ink and pale is not None and _faint_share(region, pale) >= TEXT_INK_MIN
    if faint:
        # writing too pale for the usual level: never taken for an empty entry, always doubted
        fr.ink = True
        fr.reasons.append(Reason.FAINT_INK)
    if not fr.ink and not force:
        fr.confidence = round(1.0 - min(1.0, ink / TEXT_INK_MIN) * 0.2, 3)
        return fr, None
    crop = region.copy()
    if faint:
        # the pale strokes stretched to dark, so the recogniser sees them as it sees a pen's
        lo = float(crop.min())
        crop = np.clip((crop.astype(np.float32) - lo) * 255.0 / max(1.0, pale - lo), 0, 255).astype(np.uint8)
    else:
        # paper and dropout lines to white, so the recogniser sees ink only
        crop[crop > (levels.level(quality.PAPER_AT) if levels else 170)] = 255
    return fr, E.Crop(crop, _crop_kind(f))


def _has_stroke(inked: np.ndarray) -> bool:
    n, _, stats, _ = cv2.connectedComponentsWithStats(inked.astype(np.uint8), connectivity=8)
    s = stats[1:]
    return bool(n > 1 and ((s[:, cv2.CC_STAT_AREA] >= STROKE_PX)
                           | (np.maximum(s[:, cv2.CC_STAT_WIDTH], s[:, cv2.CC_STAT_HEIGHT]) >= STROKE_LONG)).any())


def _crop_kind(f: F.Field) -> E.CropKind:
    if f.kind == FieldKind.KANA:
        return E.CropKind.KANA
    if f.kind == FieldKind.FREE:
        return E.CropKind.FREE
    last = f.id.split(".")[-1]
    return E.CropKind.NAME if last == "name" or last.endswith("_name") else E.CropKind.TEXT


def _save_crop(d: Path, f: F.Field, img: np.ndarray) -> str:
    path = d / f"{f.id}.png"
    cv2.imwrite(str(path), _slice(img, f.box))
    return str(path)


# --- a page whose QR could not be read ----------------------------------------------------


BAND_LINE_MM = 4.5  # a line of a section title, at the largest size a layout prints them


def _guess_layout(img: np.ndarray) -> F.Page:
    """The layout, of any published version, whose section titles and change-box words (printed black in
    the band column) match the ink there. Newest first: a tie goes to the version most cards out were printed with."""
    best, best_score = None, -1.0
    for version in sorted({v for form in F.FORMS for v in F.published(form)}, reverse=True):
        for c in (F.page(form, n, version) for form in F.FORMS if version in F.published(form)
                  for n in range(1, F.page(form, 1, version).card_sheets + 2)):
            band = c.sections[0].band
            column = img[:, int((band.x + 0.8) * PX): int((band.right - 0.8) * PX)]
            inked = (column < INK).mean(axis=1) > 0.01
            want = np.zeros(len(inked), bool)
            for t in c.texts:  # the titles, a line each
                if t.style == "band":
                    lines = t.text.count("\n") + 1
                    want[int(t.box.y * PX): int((t.box.y + min(t.box.h, BAND_LINE_MM * lines)) * PX)] = True
            for f in c.fields:  # and the words of the boxes set in the band (変更なし / 変更あり)
                for o in f.options:
                    if o.label and band.x <= o.label_box.x < band.right:
                        mid = o.label_box.y + o.label_box.h / 2
                        want[int((mid - 1.8) * PX): int((mid + 1.8) * PX)] = True
            union = (want | inked).sum()
            score = (want & inked).sum() / union if union else 0.0
            if score > best_score:
                best, best_score = c, score
    return best

