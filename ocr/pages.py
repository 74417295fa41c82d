"""Pages of whatever a station scanner wrote, one at a time.

PDF (rasterised with pypdfium2 at the resolution of the scan inside it), TIFF
(multi-page), PNG and JPEG. Each page is decoded only when its turn comes and is
dropped after, so memory does not grow with the length of a file. A file or page
that cannot be read becomes a Page with an error, never an exception: the rest of
the batch goes on.

Files are hostile until decoded: a symbolic link or a special file (FIFO, device) is
refused, never followed; a file of more pages than the cap is refused whole; and every
PDF or image is decoded in a child process with a memory limit (RLIMIT_AS) and a time
limit per page, so a content stream that inflates to gigabytes of drawing or a
decompression bomb costs that page, not the batch.

This module is the one door to the PDF rasteriser.
"""

from __future__ import annotations

import multiprocessing
import os
import stat
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Collection, Iterator

import numpy as np

SUFFIXES = {".pdf", ".tif", ".tiff", ".png", ".jpg", ".jpeg"}
MIN_DPI, MAX_DPI, DEFAULT_DPI = 150, 600, 300
# A4 at 600 dpi is about 35 million pixels; anything far beyond is not a scan of a card.
MAX_PIXELS = 60_000_000
MAX_SIDE = 12_000
# Pages in one file unless [ocr] max_pages says otherwise (an ADF batch is tens, a box of cards hundreds).
MAX_PAGES = 1000
MAX_PAGES_KEPT = 1_000_000  # a file already taken in (its cap checked then), read one page at a time
# A child decoding a file: its address space, and how long one page (or counting a file's pages) may take.
# A card at 600 dpi renders in under a second and needs about 300 MB.
MEMORY_LIMIT = 2 << 30
PAGE_SECONDS = 60.0
STARTUP_SECONDS = 30.0


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
    """Files given, and the scans inside folders given (sorted by name). Links and special files
    with a scan's name are listed too, so that reading them says why they are refused; no
    symbolic link to a folder is entered."""
    out: list[Path] = []
    for p in paths:
        p = Path(p)
        if p.is_dir() and not p.is_symlink():
            found = []
            for root, dirs, names in os.walk(p):  # does not follow links
                found += [Path(root) / n for n in names + [d for d in dirs if (Path(root) / d).is_symlink()]
                          if Path(n).suffix.lower() in SUFFIXES]
            out.extend(sorted(found))
        else:
            out.append(p)
    return out


def refusal(path: Path) -> str | None:
    """Why a path is not read as a scan (a link, a FIFO, a device, a folder), or None for a regular file."""
    try:
        st = os.lstat(path)
    except OSError:
        return None  # a missing file shows when it is opened
    if stat.S_ISLNK(st.st_mode):
        return "シンボリックリンクは読みません (リンク先をたどらず、写しも作りません)"
    if not stat.S_ISREG(st.st_mode):
        kind = ("名前付きパイプ (FIFO)" if stat.S_ISFIFO(st.st_mode) else
                "デバイスファイル" if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode) else
                "フォルダ" if stat.S_ISDIR(st.st_mode) else "ソケット" if stat.S_ISSOCK(st.st_mode) else "特殊なファイル")
        return f"通常のファイルではありません ({kind}) ので読みません"
    return None


def open_regular(path: Path):
    """A regular file opened for reading, never through a link, never blocking on a FIFO; OSError otherwise."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(f"通常のファイルではありません: {path}")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def page_count(path: Path) -> int:
    """How many pages a file holds, without decoding any (1 for a file that cannot be read:
    its one page is the error). Counted in a child under the decoding limits."""
    if refusal(Path(path)):
        return 1
    n = _run_limited(_page_count, str(path))
    return n if isinstance(n, int) else 1


def _page_count(path: str) -> int:
    path = Path(path)
    try:
        with open_regular(path) as fh:
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
    (none for another file, or a PDF that cannot be opened: what is wrong shows when it is read).
    Looking loads each page's content stream, so it runs in a child under the decoding limits."""
    if refusal(Path(path)):
        return []
    found = _run_limited(_empty_pages, str(path))
    return found if isinstance(found, list) else []


def _empty_pages(path: str) -> list[int]:
    path = Path(path)
    try:
        with open_regular(path) as fh:
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


def iter_pages(path: Path, only: Collection[int] | None = None, max_pages: int | None = None,
               seconds: float | None = None) -> Iterator[Page]:
    """Every page of a file, or only those whose 0-based index is in `only` (the others are not decoded).
    Never raises: a file or page that cannot be read is a Page with an error. A file of more than
    `max_pages` pages (default MAX_PAGES) is one such page, and none of it is decoded. A page that takes
    longer than `seconds` (default PAGE_SECONDS) or more memory than MEMORY_LIMIT fails alone."""
    path = Path(path)
    src = str(path)
    why = refusal(path)
    if why:
        yield Page(src, 0, None, None, why, "not_a_file")
        return
    try:
        size = path.stat().st_size
    except OSError as exc:
        yield Page(src, 0, None, None, f"ファイルを開けません: {exc.strerror or exc}", "unreadable_file")
        return
    if size == 0:
        yield Page(src, 0, None, None, "ファイルが空です (0 バイト)", "empty_file")
        return
    cap = MAX_PAGES if max_pages is None else max_pages
    wanted: list[int] | None = None if only is None else sorted(only)
    count = None
    while True:
        last = -1
        for item in _stream_limited(seconds or PAGE_SECONDS, _decode_pages, src, wanted, cap):
            if isinstance(item, int):  # the child counted the pages first
                count = item
                if wanted is None:
                    wanted = list(range(count))
                continue
            if isinstance(item, Page):
                last = item.index
                yield item
                continue
            # the child was stopped or died: that page fails, the next ones are decoded afresh
            rest = wanted if wanted is not None else [0]
            failed = next((i for i in rest if i > last), None)
            if failed is None:
                return
            yield Page(src, failed, None, None, item, "decode_limit")
            if count is None:  # died before counting: the file as a whole failed
                return
            wanted = [i for i in rest if i > failed]
            break
        else:
            return
        if not wanted:
            return


def _decode_pages(path: str, wanted: list[int] | None, cap: int) -> Iterator[Page | int]:
    """In the child: the number of pages, then the pages wanted (all if None) decoded; a file of
    more than `cap` pages is one failed page."""
    path = Path(path)
    try:
        with open_regular(path) as fh:
            head = fh.read(8)
    except OSError as exc:
        yield Page(str(path), 0, None, None, f"ファイルを開けません: {exc.strerror or exc}", "unreadable_file")
        return
    count = _page_count(str(path))
    yield count
    if count > cap:
        yield Page(str(path), 0, None, None, f"頁が多すぎます ({count} 頁、上限 {cap} 頁。設定 [ocr] max_pages)",
                   "too_many_pages")
        return
    only = set(range(count) if wanted is None else wanted)
    if head.startswith(b"%PDF"):
        yield from _pdf_pages(path, only)
    else:
        yield from _image_pages(path, only)


# --- the child that decodes -----------------------------------------------------------------

_context: Any = None


def _mp():
    """A fork server: a small process that imported this module, forked for each file (a few ms,
    and safe although the reader runs threads)."""
    global _context
    if _context is None:
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["ocr.pages", "numpy", "PIL.Image", "PIL.PngImagePlugin", "pypdfium2"])
        _context = ctx
    return _context


def _limit(memory: int) -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))


def _child_stream(conn, memory: int, fn: Callable, args: tuple) -> None:
    _limit(memory)
    try:
        for item in fn(*args):
            if isinstance(item, Page) and item.image is not None:
                # the pixels as raw bytes after the page: a pickle would copy a 26 MB page several times
                image = np.ascontiguousarray(item.image)
                item.image = None
                conn.send(("page", item, image.shape, image.dtype.str))
                conn.send_bytes(memoryview(image).cast("B"))
            else:
                conn.send(item)
        conn.send(None)
    except MemoryError:
        conn.send("decode_memory")
    finally:
        conn.close()


def _child_call(conn, memory: int, fn: Callable, args: tuple) -> None:
    _limit(memory)
    try:
        conn.send(("ok", fn(*args)))
    except MemoryError:
        conn.send("decode_memory")
    except Exception as exc:
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
    finally:
        conn.close()


def _limit_message(what: str, seconds: float = PAGE_SECONDS) -> str:
    if what == "decode_memory":
        return f"画像にするのに使える記憶域 ({MEMORY_LIMIT >> 20} MB) を超えたため打ち切りました"
    if what == "timeout":
        return f"画像にするのに {seconds:g} 秒を超えたため打ち切りました (設定 [ocr] page_seconds)"
    return "画像にする処理が異常終了しました (壊れたファイルか、作為的なファイルです)"


def _start(target: Callable, args: tuple):
    """A child of the fork server running `target(conn, *args)`; returns (process, receiving end)."""
    ctx = _mp()
    receive, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=target, args=(send, *args), daemon=True)
    # The child needs nothing of the program that started it; without the main script's __file__,
    # multiprocessing does not import the whole command line (typer, every command) again in each child.
    main = sys.modules.get("__main__")
    hidden = main.__dict__.pop("__file__", None) if main is not None and getattr(main, "__spec__", None) is None \
        else None
    try:
        proc.start()
    finally:
        if hidden is not None:
            main.__file__ = hidden
    send.close()
    return proc, receive


def _may_fork() -> bool:
    """A daemonic process (a Dask worker under its nanny, by default) may not start children: there the
    decoding runs in the worker itself, without the limits (set distributed.worker.daemon to false)."""
    return not multiprocessing.current_process().daemon


def _stream_limited(seconds: float, fn: Callable, *args) -> Iterator[Page | int | str]:
    """What `fn(*args)` yields in a child under the limits, each within `seconds` (the first, the page
    count, within STARTUP_SECONDS more: a busy machine may be slow to start the child); ends with a
    Japanese message (a str) if the child had to be stopped or died."""
    if not _may_fork():
        try:
            yield from fn(*args)
        except MemoryError:
            yield _limit_message("decode_memory")
        return
    proc, receive = _start(_child_stream, (MEMORY_LIMIT, fn, args))
    first = True
    try:
        while True:
            if not receive.poll(seconds + STARTUP_SECONDS if first else seconds):
                yield _limit_message("timeout", seconds)
                return
            try:
                item = receive.recv()
            except (EOFError, OSError):
                yield _limit_message("died")
                return
            first = False
            if item is None:
                return
            if isinstance(item, str):
                yield _limit_message(item)
                return
            if isinstance(item, tuple):
                _, page, shape, dtype = item
                buf = bytearray(int(np.prod(shape)) * np.dtype(dtype).itemsize)
                receive.recv_bytes_into(buf)
                page.image = np.frombuffer(buf, dtype).reshape(shape)  # writable: it owns the bytearray
                item = page
            yield item
    finally:
        if proc.is_alive():
            proc.kill()
        proc.join()
        receive.close()


def _run_limited(fn: Callable, *args):
    """`fn(*args)` in a child under the limits, or None if it failed, took too long or died."""
    if not _may_fork():
        try:
            return fn(*args)
        except Exception:
            return None
    proc, receive = _start(_child_call, (MEMORY_LIMIT, fn, args))
    try:
        if not receive.poll(PAGE_SECONDS + STARTUP_SECONDS):
            return None
        item = receive.recv()
        return item[1] if isinstance(item, tuple) and item[0] == "ok" else None
    except (EOFError, OSError):
        return None
    finally:
        if proc.is_alive():
            proc.kill()
        proc.join()
        receive.close()


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
    # PIL's own caps on PNG text chunks stay as they are (1 MB each, 64 MB in all): a zTXt/iTXt bomb is
    # a ValueError at open, caught below as any decoder error is
    try:
        img = Image.open(path)
    except UnidentifiedImageError:
        yield Page(src, 0, None, None, "画像ファイルとして読めません (PDF・TIFF・PNG・JPEG ではありません)",
                   "not_an_image")
        return
    except OSError as exc:
        yield Page(src, 0, None, None, f"画像ファイルを開けません: {exc}", "unreadable_file")
        return
    except Exception as exc:  # a decoder's refusal: a text chunk bomb, a broken header
        yield Page(src, 0, None, None, f"画像ファイルを読めません (壊れているか、作為的なファイルです): "
                   f"{type(exc).__name__}: {exc}", "bad_image")
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
    try:
        return _image_frame(src, i, img)
    except Exception as exc:  # a decoder error on this frame: the page fails, not the batch
        return Page(src, i, None, None, f"{i + 1} 頁目の画像が壊れています: {type(exc).__name__}: {exc}", "bad_image")


def _image_frame(src: str, i: int, img) -> Page:
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
