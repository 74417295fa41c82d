"""Pages of whatever a station scanner wrote, one at a time.

PDF (rasterised with pypdfium2 at the resolution of the scan inside it), TIFF
(multi-page), PNG and JPEG. Each page is decoded only when its turn comes and is
dropped after, so memory does not grow with the length of a file. A file or page
that cannot be read becomes a Page with an error, never an exception: the rest of
the batch goes on.

This module is the one door to the PDF rasteriser.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Collection, Iterator

import numpy as np

SUFFIXES = {".pdf", ".tif", ".tiff", ".png", ".jpg", ".jpeg"}
MIN_DPI, MAX_DPI, DEFAULT_DPI = 150, 600, 300
# A4 at 600 dpi is about 35 million pixels; anything far beyond is not a scan of a card.
MAX_PIXELS = 60_000_000
MAX_SIDE = 12_000


@dataclass
class Page:
    source: str  # file path
    index: int  # 0-based page number within the file
    image: np.ndarray | None  # H×W grey or H×W×3 RGB, uint8
    dpi: float | None
    error: str | None = None  # why the page could not be loaded (Japanese, one line)
    reason: str | None = None  # machine code of the error, or "blank_page" (no image, nothing to read)

    @property
    def name(self) -> str:
        return f"{Path(self.source).name}#{self.index + 1}"


def find_files(paths: list[Path]) -> list[Path]:
    """Files given, and the scans inside folders given (sorted by name)."""
    out: list[Path] = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            out.extend(sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in SUFFIXES))
        else:
            out.append(p)
    return out


def page_count(path: Path) -> int:
    """How many pages a file holds, without decoding any (1 for a file that cannot be read:
    its one page is the error)."""
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            head = fh.read(8)
        if head.startswith(b"%PDF"):
            import pypdfium2 as pdfium

            doc = pdfium.PdfDocument(str(path))
            try:
                return max(1, len(doc))
            finally:
                doc.close()
        from PIL import Image

        with Image.open(path) as img:
            return max(1, getattr(img, "n_frames", 1))
    except Exception:  # whatever is wrong shows when the page is read
        return 1


def empty_pages(path: Path) -> list[int]:
    """0-based indexes of the pages of a PDF with nothing drawn on them, found without rendering any
    (none for another file, or a PDF that cannot be opened: what is wrong shows when it is read)."""
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            if not fh.read(8).startswith(b"%PDF"):
                return []
        import pypdfium2 as pdfium

        doc = pdfium.PdfDocument(str(path))
    except Exception:
        return []
    out = []
    try:
        for i in range(len(doc)):
            try:
                page = doc[i]
            except Exception:
                continue
            try:
                if not pdfium.raw.FPDFPage_CountObjects(page.raw):
                    out.append(i)
            finally:
                page.close()
    finally:
        doc.close()
    return out


def iter_pages(path: Path, only: Collection[int] | None = None) -> Iterator[Page]:
    """Every page of a file, or only those whose 0-based index is in `only` (the others are not decoded)."""
    path = Path(path)
    src = str(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        yield Page(src, 0, None, None, f"ファイルを開けません: {exc.strerror or exc}", "unreadable_file")
        return
    if size == 0:
        yield Page(src, 0, None, None, "ファイルが空です (0 バイト)", "empty_file")
        return
    with open(path, "rb") as fh:
        head = fh.read(8)
    if head.startswith(b"%PDF"):
        yield from _pdf_pages(path, only)
    else:
        yield from _image_pages(path, only)


# --- PDF --------------------------------------------------------------------------------


def _pdf_pages(path: Path, only: Collection[int] | None = None) -> Iterator[Page]:
    import pypdfium2 as pdfium

    src = str(path)
    try:
        doc = pdfium.PdfDocument(str(path))
        count = len(doc)
    except Exception as exc:  # pdfium reports a broken file in several ways
        yield Page(src, 0, None, None, f"PDF を読めません (壊れているか途中で切れています): {exc}", "bad_pdf")
        return
    try:
        for i in range(count):
            if only is not None and i not in only:
                continue
            try:
                page = doc[i]
            except Exception as exc:
                yield Page(src, i, None, None, f"PDF の {i + 1} 頁目を読めません: {exc}", "bad_pdf_page")
                continue
            try:
                w_pt, h_pt = page.get_size()
                if not pdfium.raw.FPDFPage_CountObjects(page.raw):
                    # nothing drawn on it: blank without rendering, so a run of empty pages costs little
                    yield Page(src, i, None, None, None, "blank_page")
                    continue
                dpi, image_px = _scan_dpi(page, w_pt, h_pt)
                scale = dpi / 72.0
                if image_px > MAX_PIXELS:
                    # an image inside can be huge though its file is small: pdfium would decode it whole
                    yield Page(src, i, None, dpi, f"頁の中の画像が大きすぎます ({image_px // 1_000_000} 百万画素、"
                               f"上限 {MAX_PIXELS // 1_000_000} 百万画素)", "too_large")
                    continue
                if w_pt * scale * h_pt * scale > MAX_PIXELS:
                    yield Page(src, i, None, dpi, "頁が大きすぎます (カードの走査画像ではありません)", "too_large")
                    continue
                bitmap = page.render(scale=scale, grayscale=False)
                image = np.array(bitmap.to_numpy(), copy=True)
                if image.ndim == 3:
                    image = _to_rgb(image, bitmap.mode)
                yield Page(src, i, image, dpi)
            except Exception as exc:
                yield Page(src, i, None, None, f"PDF の {i + 1} 頁目を画像にできません: {exc}", "bad_pdf_page")
            finally:
                page.close()
    finally:
        doc.close()


def _to_rgb(image: np.ndarray, mode: str | None) -> np.ndarray:
    if mode in ("BGRA", "BGRX", "BGR"):
        return np.ascontiguousarray(image[:, :, 2::-1])
    return np.ascontiguousarray(image[:, :, :3])


def _scan_dpi(page, w_pt: float, h_pt: float) -> tuple[float, int]:
    """The resolution of the largest image on the page (a scan is one image), else the default;
    and the pixel count of the largest image."""
    import pypdfium2.raw as raw

    best, largest = 0.0, 0
    try:
        for obj in page.get_objects(filter=(raw.FPDF_PAGEOBJ_IMAGE,), max_depth=2):
            px_w, px_h = obj.get_px_size()
            largest = max(largest, px_w * px_h)
            left, bottom, right, top = obj.get_bounds()
            if right - left > 0.5 * w_pt:
                best = max(best, px_w / ((right - left) / 72.0), px_h / max(1e-6, (top - bottom) / 72.0))
    except Exception:
        best = 0.0
    if best <= 0:
        return float(DEFAULT_DPI), largest
    return float(min(MAX_DPI, max(MIN_DPI, round(best)))), largest


def rasterise_pdf(path: Path, dpi: float) -> Iterator[np.ndarray]:
    """Every page of a PDF at a given resolution, RGB (for printing checks and the simulator)."""
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(str(path))
    try:
        for i in range(len(doc)):
            page = doc[i]
            try:
                bitmap = page.render(scale=dpi / 72.0)
                yield _to_rgb(np.array(bitmap.to_numpy(), copy=True), bitmap.mode)
            finally:
                page.close()
    finally:
        doc.close()


# --- images -----------------------------------------------------------------------------


def _image_pages(path: Path, only: Collection[int] | None = None) -> Iterator[Page]:
    from PIL import Image, UnidentifiedImageError

    src = str(path)
    Image.MAX_IMAGE_PIXELS = None  # sizes are checked below, before any pixel is decoded
    try:
        img = Image.open(path)
    except UnidentifiedImageError:
        yield Page(src, 0, None, None, "画像ファイルとして読めません (PDF・TIFF・PNG・JPEG ではありません)",
                   "not_an_image")
        return
    except OSError as exc:
        yield Page(src, 0, None, None, f"画像ファイルを開けません: {exc}", "unreadable_file")
        return
    with img:
        i = 0
        while True:
            try:
                img.seek(i)
            except EOFError:
                break
            except Exception as exc:
                yield Page(src, i, None, None, f"{i + 1} 頁目を読めません: {exc}", "bad_image")
                break
            if only is None or i in only:
                yield _image_page(src, i, img)
            i += 1


def _image_page(src: str, i: int, img) -> Page:
    w, h = img.size
    if w * h > MAX_PIXELS or max(w, h) > MAX_SIDE:
        return Page(src, i, None, None, f"画像が大きすぎます ({w}×{h} 画素、上限 {MAX_PIXELS // 1_000_000} 百万画素)",
                    "too_large")
    dpi = None
    info_dpi = img.info.get("dpi")
    if info_dpi:
        try:
            dpi = float(info_dpi[0])
        except (TypeError, ValueError, IndexError):
            dpi = None
    if not dpi or not MIN_DPI / 2 <= dpi <= MAX_DPI * 2:
        dpi = max(w, h) / (297 / 25.4)  # an A4 page fills the scan
    try:
        frame = img.convert("RGB") if img.mode not in ("L", "1") else img.convert("L")
        image = np.asarray(frame, dtype=np.uint8).copy()
    except Exception as exc:  # truncated data and the like
        return Page(src, i, None, dpi, f"{i + 1} 頁目の画像が壊れています: {exc}", "bad_image")
    return Page(src, i, image, dpi)
