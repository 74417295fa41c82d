"""Bad scans, written at test time (nothing large is committed): each function writes one
case into a folder and returns its path. `write_all` writes the whole corpus beside one
good card; `EXPECTED` says how the reader must end each of them.

Cards are real printed cards (tests/ocr_cards.py) scanned by the simulator; the QR cases
stamp a new code over the printed one, so only the code differs from a good card.
"""

from __future__ import annotations

import random
import secrets
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

from junkai import qr
from junkai import simulate as S

DPI = 200

# file name → (status, reason code) the reader must give its page(s)
EXPECTED = {
    "empty.pdf": ("failed", "empty_file"),
    "truncated.pdf": ("failed", "bad_pdf"),
    "malformed.pdf": ("failed", "bad_pdf"),
    "text.png": ("failed", "not_an_image"),
    "huge-header.png": ("failed", "too_large"),
    "bomb.png": ("failed", "too_large"),
    "huge-header.tiff": ("failed", "too_large"),
    "huge-image.pdf": ("failed", "too_large"),
    "other-station.png": ("failed", "qr_integrity"),
    "wrong-tag.png": ("failed", "qr_integrity"),
    "random-bytes.png": ("failed", "qr_foreign"),
    "noise.png": ("failed", "markers_not_found"),
}


def _scan(sheet_image: Image.Image, seed: int) -> Image.Image:
    """A plain, straight grey scan at DPI."""
    return S.Scan(DPI, "grey", 0.3, 0, (1, 1), 1.0, 0, 3, None).apply(sheet_image, np.random.default_rng(seed))


def _stamp_qr(sheet: S.Sheet, content: str | bytes) -> Image.Image:
    """The printed sheet with its QR replaced by a code holding `content`, drawn as printing does."""
    import segno

    img = sheet.image.copy()
    box = sheet.layout.qr
    px = S.PRINT_DPI / 25.4
    code = segno.make_qr(content, error="m", boost_error=False, mask=2)
    m = code.matrix
    quiet = 4
    size = min(box.w, box.h) / (len(m) + 2 * quiet)
    arr = np.asarray(img).copy()
    y0, y1, x0, x1 = (int(box.y * px), int(box.bottom * px), int(box.x * px), int(box.right * px))
    arr[y0:y1, x0:x1] = 255
    for r, row in enumerate(m):
        for c, dark in enumerate(row):
            if dark:
                top, left = box.y + (quiet + r) * size, box.x + (quiet + c) * size
                arr[int(top * px): int((top + size) * px), int(left * px): int((left + size) * px)] = 0
    return Image.fromarray(arr)


def good_card(folder: Path, sheet: S.Sheet, name: str = "good.png") -> Path:
    path = folder / name
    _scan(sheet.image, 1).save(path, dpi=(DPI, DPI))
    return path


def empty(folder: Path) -> Path:
    path = folder / "empty.pdf"
    path.write_bytes(b"")
    return path


def truncated_pdf(folder: Path, whole: bytes) -> Path:
    """The first third of a real PDF: a transfer cut short."""
    path = folder / "truncated.pdf"
    path.write_bytes(whole[: len(whole) // 3])
    return path


def malformed_pdf(folder: Path) -> Path:
    """A PDF header and then nothing a PDF parser can use."""
    path = folder / "malformed.pdf"
    path.write_bytes(b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 9 0 R >> endobj\n"
                     + bytes(random.Random(3).randrange(256) for _ in range(4000)) + b"\n%%EOF\n")
    return path


def text_as_png(folder: Path) -> Path:
    path = folder / "text.png"
    path.write_text("これは画像ではありません\n" * 20, encoding="utf-8")
    return path


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def huge_png_header(folder: Path, w: int = 100_000, h: int = 100_000) -> Path:
    """A PNG whose header claims w × h pixels, followed by a little real data: nothing may decode it."""
    path = folder / "huge-header.png"
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", zlib.compress(b"\0" * 1000))
                     + _chunk(b"IEND", b""))
    return path


def bomb_png(folder: Path, side: int = 30_000) -> Path:
    """A valid PNG of a white side × side image (900 million pixels) that compresses to a few
    hundred kilobytes: every byte of it is real."""
    path = folder / "bomb.png"
    comp = zlib.compressobj(1)
    row = b"\0" + b"\xff" * (side // 8)  # filter byte, then 1-bit pixels
    data = b"".join(comp.compress(row) for _ in range(side)) + comp.flush()
    ihdr = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", data) + _chunk(b"IEND", b""))
    return path


def huge_tiff_header(folder: Path, w: int = 200_000, h: int = 200_000) -> Path:
    """A one-strip TIFF that claims w × h grey pixels (40 gigapixels) in a few hundred bytes."""
    path = folder / "huge-header.tiff"
    data = zlib.compress(b"\0" * 4096)
    entries = [(256, 4, 1, w), (257, 4, 1, h), (258, 3, 1, 8), (259, 3, 1, 8), (262, 3, 1, 1),
               (273, 4, 1, 0), (277, 3, 1, 1), (278, 4, 1, h), (279, 4, 1, len(data))]
    ifd_at = 8
    data_at = ifd_at + 2 + 12 * len(entries) + 4
    ifd = struct.pack("<H", len(entries))
    for tag, typ, count, value in entries:
        value = data_at if tag == 273 else value
        packed = struct.pack("<HH", value, 0) if typ == 3 else struct.pack("<I", value)
        ifd += struct.pack("<HHI", tag, typ, count) + packed
    path.write_bytes(b"II*\x00" + struct.pack("<I", ifd_at) + ifd + struct.pack("<I", 0) + data)
    return path


def huge_image_pdf(folder: Path, side: int = 20_000) -> Path:
    """An A4 page holding one side × side black-and-white image of stripes, flate-compressed to
    a few kilobytes: 400 million pixels if anything decoded it whole."""
    path = folder / "huge-image.pdf"
    comp = zlib.compressobj(1)
    row = b"\x55" * (side // 8)  # stripes, so it is not taken for a blank page
    stream = b"".join(comp.compress(row) for _ in range(side)) + comp.flush()
    content = b"q 595 0 0 842 0 0 cm /Im0 Do Q"
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /XObject << /Im0 4 0 R >> >> "
        b"/Contents 5 0 R >>",
        b"<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceGray /BitsPerComponent 1 "
        b"/Filter /FlateDecode /Length %d >>\nstream\n" % (side, side, len(stream)) + stream + b"\nendstream",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
    ]
    path.write_bytes(_pdf(objs))
    return path


def _pdf(objs: list[bytes]) -> bytes:
    """A PDF file of numbered objects (1 is the catalog), with a correct cross-reference table."""
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for n, body in enumerate(objs, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    return bytes(out)


def many_empty_pages(folder: Path, pages: int = 10_000) -> Path:
    """One PDF of `pages` A4 pages with nothing on them (an ADF run with the feeder empty, or a
    file made to exhaust the reader). All pages share one empty content stream."""
    path = folder / "empty-pages.pdf"
    first_page = 4
    kids = b" ".join(b"%d 0 R" % (first_page + i) for i in range(pages))
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [" + kids + b"] /Count %d /MediaBox [0 0 595 842] >>" % pages,
            b"<< /Length 0 >>\nstream\n\nendstream"]
    objs += [b"<< /Type /Page /Parent 2 0 R /Contents 3 0 R /Resources << >> >>"] * pages
    path.write_bytes(_pdf(objs))
    return path


def other_station(folder: Path, sheet: S.Sheet) -> Path:
    """The card as another station would print it: the same payload signed with another key."""
    path = folder / "other-station.png"
    _scan(_stamp_qr(sheet, qr.encode(sheet.payload, secrets.token_bytes(32))), 2).save(path, dpi=(DPI, DPI))
    return path


def wrong_tag(folder: Path, sheet: S.Sheet, key: bytes) -> Path:
    """This station's payload with its premises changed and the old tag kept (an edited code)."""
    path = folder / "wrong-tag.png"
    good = qr.encode(sheet.payload, key)
    body, _, tag = good.rpartition(":")
    forged = body.replace(f":{sheet.payload.card_version}:", f":{sheet.payload.card_version + 1}:", 1)
    assert forged != body
    _scan(_stamp_qr(sheet, f"{forged}:{tag}"), 3).save(path, dpi=(DPI, DPI))
    return path


def random_bytes(folder: Path, sheet: S.Sheet) -> Path:
    path = folder / "random-bytes.png"
    _scan(_stamp_qr(sheet, random.Random(4).randbytes(40)), 4).save(path, dpi=(DPI, DPI))
    return path


def noise(folder: Path) -> Path:
    """A page of only noise, A4 at DPI."""
    path = folder / "noise.png"
    w, h = int(210 / 25.4 * DPI), int(297 / 25.4 * DPI)
    Image.fromarray(np.random.default_rng(6).integers(0, 256, (h, w), dtype=np.uint8)).save(path, dpi=(DPI, DPI))
    return path


def write_all(folder: Path, sheet: S.Sheet, key: bytes, pdf_bytes: bytes) -> dict[str, Path]:
    """The whole corpus (but the 10,000-page PDF) and one good card, in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = [good_card(folder, sheet), empty(folder), truncated_pdf(folder, pdf_bytes), malformed_pdf(folder),
             text_as_png(folder), huge_png_header(folder), bomb_png(folder), huge_tiff_header(folder), huge_image_pdf(folder),
             other_station(folder, sheet), wrong_tag(folder, sheet, key), random_bytes(folder, sheet), noise(folder)]
    return {p.name: p for p in paths}


# --- files made to exhaust the decoder, and files that are not files ----------------------------


def path_bomb_pdf(folder: Path, megabytes: int = 150) -> Path:
    """An A4 page whose content stream is a few hundred kilobytes that inflate to `megabytes` MB of
    path operators: rasterising it runs for minutes and takes gigabytes."""
    path = folder / "path-bomb.pdf"
    op = b"10 10 m 500 800 l 20 700 l 580 30 l h f\n"
    comp = zlib.compressobj(9)
    block = op * (1 << 20 // len(op))
    parts = [comp.compress(block) for _ in range(megabytes * (1 << 20) // len(block))]
    stream = b"".join(parts) + comp.flush()
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << >> /Contents 4 0 R >>",
        b"<< /Filter /FlateDecode /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
    ]
    path.write_bytes(_pdf(objs))
    return path


def text_bomb_png(folder: Path, sheet: S.Sheet | None = None, megabytes: int = 64) -> Path:
    """A small valid PNG carrying a zTXt chunk that inflates to `megabytes` MB of text (and an iTXt
    beside it): a decoder that trusted it would hold it all in memory."""
    path = folder / "text-bomb.png"
    Image.new("L", (64, 64), 255).save(path)
    raw = path.read_bytes()
    comp = zlib.compressobj(9)
    text = b"".join(comp.compress(b"A" * (1 << 20)) for _ in range(megabytes)) + comp.flush()
    ztxt = _chunk(b"zTXt", b"Comment\0\0" + text)
    itxt = _chunk(b"iTXt", b"Note\0\1\0\0\0" + text)
    at = raw.index(b"IDAT") - 4  # before the image data, where text chunks are read at open
    path.write_bytes(raw[:at] + ztxt + itxt + raw[at:])
    return path


def many_pages_pdf(folder: Path, pages: int = 2000) -> Path:
    """`pages` A4 pages each with a line drawn on it (so none is skipped as empty)."""
    path = folder / "many-pages.pdf"
    first_page = 4
    kids = b" ".join(b"%d 0 R" % (first_page + i) for i in range(pages))
    content = b"0 0 m 595 842 l S"
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [" + kids + b"] /Count %d /MediaBox [0 0 595 842] >>" % pages,
            b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream"]
    objs += [b"<< /Type /Page /Parent 2 0 R /Contents 3 0 R /Resources << >> >>"] * pages
    path.write_bytes(_pdf(objs))
    return path


def link_to_secret(folder: Path, target: str = "/etc/passwd") -> Path:
    """A symbolic link named like a scan, pointing at a file that must never be read or copied."""
    path = folder / "passwd.png"
    path.symlink_to(target)
    return path


def fifo(folder: Path) -> Path:
    """A named pipe named like a scan: opening it to read would wait for ever."""
    import os

    path = folder / "pipe.pdf"
    os.mkfifo(path)
    return path
