"""A streaming PDF writer for card batches: pages go to the file as they are made.

WeasyPrint lays out each form page once per batch (junkai.render); every card page
then draws that page as a shared Form XObject and stamps its own values, identity and
QR code on top with a Japanese font embedded once for the whole file. Only object
offsets and the set of glyphs used stay in memory, so a batch of ten thousand cards
needs no more memory than a batch of ten.
"""

from __future__ import annotations

import functools
import hashlib
import re
import subprocess
import unicodedata
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterable

from junkai import JunkaiError

MM = 72 / 25.4  # points per millimetre
PT_MM = 25.4 / 72
A4 = (210.0, 297.0)

FONT_CANDIDATES = (
    "/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf",
    "/usr/share/fonts/truetype/ipaexfont-gothic/ipaexg.ttf",
    "/usr/share/fonts/truetype/fonts-japanese-gothic.ttf",
)
MISSING = "〓"  # the customary mark for a character the typeface lacks


def font_path() -> Path:
    for candidate in FONT_CANDIDATES:
        if Path(candidate).is_file():
            return Path(candidate)
    for found in sorted(Path("/usr/share/fonts").rglob("ipaexg.ttf")):
        return found
    raise JunkaiError("IPAex ゴシックのフォントが見つかりません (apt-get install fonts-ipaexfont)")


# the typeface of each language's printed words, as templates/card.css names it (fontconfig finds it)
FAMILIES = {"en": "Liberation Sans Narrow", "zh": "Noto Sans CJK SC", "ko": "Noto Sans CJK KR"}


@functools.lru_cache(maxsize=None)
def face(lang: str = "ja") -> tuple[Path, int]:
    """The font file (and its index in a collection) a card in `lang` prints its words in."""
    family = FAMILIES.get(lang)
    if family is None:
        return font_path(), 0
    try:
        found = subprocess.run(["fc-match", "-f", "%{file}\n%{index}\n%{family}", family], capture_output=True,
                               text=True, check=True, timeout=30).stdout.split("\n")
    except (OSError, subprocess.SubprocessError) as exc:
        raise JunkaiError(f"フォントを探せません (fc-match): {exc}") from exc
    if len(found) < 3 or family not in found[2].split(","):
        raise JunkaiError(f"フォント {family} がありません (make setup で導入します)")
    return Path(found[0]), int(found[1] or 0)


def _num(v: float) -> bytes:
    return (b"%.3f" % v).rstrip(b"0").rstrip(b".") or b"0"


# --- the font --------------------------------------------------------------------------


class Font:
    """IPAex Gothic for stamped text: widths for fitting, glyph ids for drawing, a subset at the end."""

    ASCENT, DESCENT = 0.88, -0.12  # the em box IPAex Gothic declares, as fractions of the size

    def __init__(self, path: Path | None = None):
        from fontTools.ttLib import TTFont

        self.path = path or font_path()
        tt = TTFont(self.path, lazy=True)
        self.upem = tt["head"].unitsPerEm
        order = tt.getGlyphOrder()
        index = {name: i for i, name in enumerate(order)}
        self.gids = {cp: index[name] for cp, name in tt.getBestCmap().items()}
        metrics = tt["hmtx"].metrics
        self.advance = [metrics[name][0] for name in order]
        self.used: dict[int, str] = {}
        tt.close()

    def glyphs(self, text: str) -> list[int]:
        out = []
        for ch in text:
            gid = self.gids.get(ord(ch))
            if gid is None:
                alt = unicodedata.normalize("NFKC", ch)
                gid = self.gids.get(ord(alt[0])) if len(alt) == 1 else None
                if gid is None:
                    ch, gid = MISSING, self.gids[ord(MISSING)]
            out.append(gid)
            self.used.setdefault(gid, ch)
        return out

    def ems(self, text: str) -> float:
        """Width of a line in ems (not recorded as used: fitting measures many candidates)."""
        total = 0
        for ch in text:
            gid = self.gids.get(ord(ch))
            total += self.advance[gid] if gid is not None else self.upem
        return total / self.upem

    def width_mm(self, text: str, pt: float) -> float:
        return self.ems(text) * pt * PT_MM

    def subset(self) -> bytes:
        """The font with only the glyphs used, glyph ids kept, so stamped text stays valid."""
        import io

        from fontTools import subset
        from fontTools.ttLib import TTFont

        opts = subset.Options()
        opts.retain_gids = True
        opts.hinting = False
        opts.layout_features = []
        opts.name_IDs = [0, 1, 2, 3, 4, 5, 6]
        opts.notdef_outline = True
        opts.drop_tables += ["GSUB", "GPOS", "BASE", "vhea", "vmtx", "VORG"]
        tt = TTFont(self.path)
        sub = subset.Subsetter(opts)
        sub.populate(gids=sorted(self.used))
        sub.subset(tt)
        buf = io.BytesIO()
        tt.save(buf)
        return buf.getvalue()


# --- fitting text into a box -----------------------------------------------------------


@dataclass(frozen=True)
class Line:
    text: str
    pt: float
    x: float  # mm from the left edge
    baseline: float  # mm from the top edge


def fit(font: Font, text: str, box, max_pt: float = 9.0, min_pt: float = 6.0, max_lines: int = 3,
        align: str = "left") -> list[Line]:
    """Lay `text` inside `box` (mm): one line as large as fits up to max_pt; when that falls
    below min_pt, wrap into the number of lines (up to max_lines) that gives the largest size.
    The result never leaves the box; very long text gets small rather than cut."""
    text = " ".join(text.split())
    if not text:
        return []
    best: tuple[float, list[str]] | None = None
    for n in range(1, max_lines + 1):
        lines = [text] if n == 1 else _balanced(font, text, n)
        if lines is None:
            break
        widest = max(font.ems(line) for line in lines) or 1.0
        pt = min(max_pt, box.h / (n * PT_MM), box.w / (widest * PT_MM))
        if best is None or pt > best[0] + 0.01:
            best = (pt, lines)
        if pt >= min_pt and n == 1:
            break
    pt, lines = best
    h = pt * PT_MM
    top = box.y + (box.h - h * len(lines)) / 2
    out = []
    for i, line in enumerate(lines):
        w = font.width_mm(line, pt)
        x = box.x if align == "left" else box.x + (box.w - w) / 2
        out.append(Line(line, pt, x, top + h * i + Font.ASCENT * h))
    return out


_BREAK_AFTER = set(" 、。・，,)）」")
_LATIN = re.compile(r"[A-Za-z]")
_NO_LINE_START = set("、。・，,)）」ー々ぁぃぅぇぉっゃゅょァィゥェォッャュョ")


def _balanced(font: Font, text: str, n: int) -> list[str] | None:
    """Split into n lines with the widest as narrow as possible (any character may break,
    as Japanese allows, but not before closing punctuation or small kana)."""
    if len(text) < n:
        return None
    widths = [font.ems(ch) for ch in text]
    prefix = [0.0]
    for w in widths:
        prefix.append(prefix[-1] + w)
    # nor inside a word of Latin letters (a translated card's notice reads in English)
    candidates = [i for i in range(1, len(text)) if text[i] not in _NO_LINE_START
                  and not (_LATIN.match(text[i - 1]) and _LATIN.match(text[i]))]

    def cost(a: int, b: int) -> float:
        return prefix[b] - prefix[a] - (widths[b - 1] if text[b - 1] == " " else 0)

    # dynamic programme over break points: minimise the widest line, prefer natural breaks
    memo: dict[tuple[int, int], tuple[float, list[int]]] = {}

    def solve(start: int, k: int) -> tuple[float, list[int]]:
        if k == 1:
            return cost(start, len(text)), []
        key = (start, k)
        if key not in memo:
            best = (float("inf"), [])
            for c in candidates:
                if c <= start:
                    continue
                if len(text) - c < k - 1:
                    break
                w = cost(start, c) - (0.01 if text[c - 1] in _BREAK_AFTER else 0.0)
                rest, breaks = solve(c, k - 1)
                value = max(w, rest)
                if value < best[0]:
                    best = (value, [c] + breaks)
            memo[key] = best
        return memo[key]

    _, breaks = solve(0, n)
    if len(breaks) != n - 1:
        return None
    points = [0] + breaks + [len(text)]
    return [text[a:b].strip() for a, b in zip(points, points[1:])]


# --- a page's stamped content ----------------------------------------------------------


class Canvas:
    """Content-stream operators for one page, in millimetres from the top-left corner."""

    def __init__(self, font: Font, font_name: bytes = b"JV", page_h: float = A4[1]):
        self.font, self.font_name, self.page_h = font, font_name, page_h
        self.ops: list[bytes] = []

    def form(self, name: bytes) -> None:
        self.ops.append(b"q /" + name + b" Do Q")

    def lines(self, lines: Iterable[Line], gray: float = 0.0) -> None:
        ops = [b"BT", b"%s g" % _num(gray)]
        for ln in lines:
            gids = self.font.glyphs(ln.text)
            ops.append(b"/%s %s Tf 1 0 0 1 %s %s Tm <%s> Tj" % (
                self.font_name, _num(ln.pt), _num(ln.x * MM), _num((self.page_h - ln.baseline) * MM),
                "".join(f"{g:04X}" for g in gids).encode()))
        ops.append(b"ET")
        self.ops.extend(ops)

    def text(self, text: str, box, max_pt: float = 9.0, min_pt: float = 6.0, align: str = "left",
             max_lines: int = 3) -> list[Line]:
        laid = fit(self.font, text, box, max_pt, min_pt, max_lines=max_lines, align=align)
        if laid:
            self.lines(laid)
        return laid

    def modules(self, matrix: list[list[bool]], box, quiet: int = 4) -> None:
        """A QR code filling `box` (quiet zone included), one rectangle per run of dark modules."""
        n = len(matrix)
        size = min(box.w, box.h) / (n + 2 * quiet)
        x0, y0 = box.x + quiet * size, box.y + quiet * size
        ops = [b"q 0 g"]
        for r, row in enumerate(matrix):
            c = 0
            while c < n:
                if row[c]:
                    start = c
                    while c < n and row[c]:
                        c += 1
                    ops.append(b"%s %s %s %s re" % (_num((x0 + start * size) * MM),
                                                     _num((self.page_h - y0 - (r + 1) * size) * MM),
                                                     _num((c - start) * size * MM), _num(size * MM)))
                else:
                    c += 1
        ops.append(b"f Q")
        self.ops.extend(ops)

    def data(self) -> bytes:
        return b"\n".join(self.ops)


# --- the file --------------------------------------------------------------------------


class Writer:
    """Writes numbered objects straight to `fh`; the page tree, font and xref come last."""

    def __init__(self, fh: BinaryIO, first_number: int):
        self.fh = fh
        self.pos = 0
        self.offsets: dict[int, int] = {}
        self.next_number = first_number
        self.page_numbers: list[int] = []
        self._write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
        self.pages_number = self.reserve()

    def _write(self, data: bytes) -> None:
        self.fh.write(data)
        self.pos += len(data)

    def reserve(self) -> int:
        n = self.next_number
        self.next_number += 1
        return n

    def object(self, number: int, data: bytes) -> int:
        if number in self.offsets:
            raise ValueError(f"object {number} written twice")
        self.offsets[number] = self.pos
        self._write(b"%d 0 obj\n" % number + data + b"\nendobj\n")
        return number

    def stream(self, number: int, data: bytes, extra: bytes = b"", compress: bool = True) -> int:
        if compress:
            data = zlib.compress(data, 6)
            extra += b"/Filter /FlateDecode"
        return self.object(number, b"<<%s/Length %d>>\nstream\n" % (extra, len(data)) + data + b"\nendstream")

    def page(self, number: int, resources: int, contents: list[int], media=A4) -> int:
        refs = b" ".join(b"%d 0 R" % c for c in contents)
        self.object(number, b"<</Type /Page/Parent %d 0 R/MediaBox [0 0 %s %s]/Resources %d 0 R/Contents [%s]>>" % (
            self.pages_number, _num(media[0] * MM), _num(media[1] * MM), resources, refs))
        self.page_numbers.append(number)
        return number

    def add_page_ref(self, number: int) -> None:
        """A page written by someone else (a cover page), in its place in the page order."""
        self.page_numbers.append(number)

    def font(self, font: Font, number: int) -> None:
        """The Type 0 font stamped text uses, with just the glyphs used."""
        data = font.subset()
        tag = "".join(chr(65 + b % 26) for b in hashlib.sha256(data).digest()[:6])
        base = f"/{tag}+IPAexGothic".encode()
        cid, desc, file, tounicode = (self.reserve() for _ in range(4))
        self.stream(file, data, b"/Length1 %d" % len(data))
        self.object(desc, b"<</Type /FontDescriptor/FontName %s/Flags 4/FontBBox [0 -120 1000 880]/ItalicAngle 0"
                          b"/Ascent 880/Descent -120/CapHeight 880/StemV 80/FontFile2 %d 0 R>>" % (base, file))
        widths = b" ".join(b"%d [%d]" % (g, round(font.advance[g] * 1000 / font.upem)) for g in sorted(font.used))
        self.object(cid, b"<</Type /Font/Subtype /CIDFontType2/BaseFont %s/CIDSystemInfo <</Registry (Adobe)"
                         b"/Ordering (Identity)/Supplement 0>>/FontDescriptor %d 0 R/CIDToGIDMap /Identity"
                         b"/DW 1000/W [%s]>>" % (base, desc, widths))
        self.stream(tounicode, _to_unicode(font.used))
        self.object(number, b"<</Type /Font/Subtype /Type0/BaseFont %s/Encoding /Identity-H"
                            b"/DescendantFonts [%d 0 R]/ToUnicode %d 0 R>>" % (base, cid, tounicode))

    def close(self, info: dict[str, str]) -> None:
        kids = b" ".join(b"%d 0 R" % n for n in self.page_numbers)
        self.object(self.pages_number, b"<</Type /Pages/Kids [%s]/Count %d>>" % (kids, len(self.page_numbers)))
        catalog = self.object(self.reserve(), b"<</Type /Catalog/Pages %d 0 R>>" % self.pages_number)
        info_num = self.object(self.reserve(), b"<<" + b"".join(
            b"/%s %s" % (k.encode(), _text_string(v)) for k, v in info.items()) + b">>")
        size = self.next_number
        xref = self.pos
        free = [n for n in range(1, size) if n not in self.offsets]
        chain = dict(zip([0] + free, free + [0]))
        rows = [b"xref\n0 %d\n" % size]
        for n in range(size):
            if n in self.offsets:
                rows.append(b"%010d 00000 n \n" % self.offsets[n])
            else:
                rows.append(b"%010d %05d f \n" % (chain[n], 65535 if n == 0 else 1))
        file_id = hashlib.md5(b"%d:%d" % (self.pos, size) + repr(sorted(info.items())).encode()).hexdigest().encode()
        rows.append(b"trailer\n<</Size %d/Root %d 0 R/Info %d 0 R/ID [<%s> <%s>]>>\nstartxref\n%d\n%%%%EOF\n" % (
            size, catalog, info_num, file_id, file_id, xref))
        self._write(b"".join(rows))


def _text_string(value: str) -> bytes:
    """A PDF text string in UTF-16BE, so Japanese titles show in the viewer."""
    return b"<FEFF" + value.encode("utf-16-be").hex().upper().encode() + b">"


def _to_unicode(used: dict[int, str]) -> bytes:
    entries = sorted(used.items())
    body = [b"/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
            b"/CIDSystemInfo <</Registry (Adobe)/Ordering (UCS)/Supplement 0>> def\n"
            b"/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"
            b"1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n"]
    for i in range(0, len(entries), 100):
        chunk = entries[i:i + 100]
        body.append(b"%d beginbfchar\n" % len(chunk))
        body.extend(b"<%04X> <%s>\n" % (g, ch.encode("utf-16-be").hex().upper().encode()) for g, ch in chunk)
        body.append(b"endbfchar\n")
    body.append(b"endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n")
    return b"".join(body)
