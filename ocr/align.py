"""Putting a scanned page back onto the form's millimetres.

The four corner markers are found as solid dark squares of the form's marker size
near the corners of the page, whatever the scan's rotation, skew, shift or scale;
a homography maps the form's marker centres onto them. The four markers look
alike, so which corner is which (a card fed upside down or sideways) is decided
by where the QR code's and the title's dense ink is. The page is then resampled onto the form at
PX_PER_MM, where every box of the form definition is a plain slice.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

PX_PER_MM = 10  # the aligned page: 254 dpi, enough for handwriting, cheap to slice
WORK_DPI = 100  # markers are searched on a page reduced to this resolution


@dataclass
class Alignment:
    image: np.ndarray  # the page on the form: (page_h*PX_PER_MM) × (page_w*PX_PER_MM), grey
    rotation: int  # quarter turns clockwise the scan was fed with (0–3)
    markers_found: int  # 4, or 3 when one was inferred
    residual_mm: float  # how far the found markers are from a perfect rectangle of the form's
    homography: np.ndarray  # form px -> scan px


class AlignmentError(Exception):
    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


def to_grey(image: np.ndarray) -> np.ndarray:
    """Grey for finding shapes; a colour scan is reduced by its red channel, where the
    form's dropout colour almost vanishes and pen ink stays dark."""
    if image.ndim == 2:
        return image
    return np.ascontiguousarray(image[:, :, 0])


def luminance(image: np.ndarray) -> np.ndarray:
    if image.ndim == 2:
        return image
    return cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)


def find_markers(grey: np.ndarray, dpi: float, marker_mm: float) -> list[tuple[float, float, float]]:
    """Centres (x, y in scan px) and sizes of solid dark squares of about the marker's size."""
    scale = min(1.0, WORK_DPI / dpi)
    small = cv2.resize(grey, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else grey
    side = marker_mm / 25.4 * dpi * scale
    dark = (small < 110).astype(np.uint8)
    n, _, stats, centroids = cv2.connectedComponentsWithStats(dark, connectivity=8)
    found = []
    for i in range(1, n):
        x, y, w, h, area = stats[i]
        if not (0.6 * side <= w <= 1.6 * side and 0.6 * side <= h <= 1.6 * side):
            continue
        if not 0.7 <= w / h <= 1.4 or area < 0.55 * w * h:
            continue
        cx, cy = centroids[i]
        found.append((cx / scale, cy / scale, float(np.sqrt(area)) / scale))
    return found


def corners(found: list[tuple[float, float, float]], shape: tuple[int, int]) -> dict[str, np.ndarray]:
    """The candidate nearest each corner of the scan (within a fifth of its diagonal)."""
    h, w = shape
    reach = 0.2 * np.hypot(w, h)
    out: dict[str, np.ndarray] = {}
    for name, (ox, oy) in {"tl": (0, 0), "tr": (w, 0), "bl": (0, h), "br": (w, h)}.items():
        best = None
        for cx, cy, _ in found:
            d = np.hypot(cx - ox, cy - oy)
            if d < reach and (best is None or d < best[0]):
                best = (d, np.array([cx, cy]))
        if best is not None:
            out[name] = best[1]
    if len(out) == 3:  # a marker under a staple or a thumb: the page is a rectangle
        missing = ({"tl", "tr", "bl", "br"} - set(out)).pop()
        opposite = {"tl": "br", "tr": "bl", "bl": "tr", "br": "tl"}[missing]
        a, b = [k for k in out if k != opposite]
        out[missing] = out[a] + out[b] - out[opposite]
    return out


# corners of the scan in cyclic (clockwise) order; a quarter turn moves each one step
CYCLE = ("tl", "tr", "br", "bl")
FORM_ORDER = ("tl", "tr", "bl", "br")  # the form definition lists markers in this order


def align(image: np.ndarray, dpi: float, page_w: float, page_h: float, markers_mm, ink_mm) -> Alignment:
    """Map a scan onto the form; markers_mm are the form's 4 marker boxes, ink_mm boxes near
    one edge that are always printed dark (the QR code, the title), which tell the rotation."""
    grey = to_grey(image)
    marker_mm = float(np.mean([m.w for m in markers_mm]))
    found = find_markers(grey, dpi, marker_mm)
    pts = corners(found, grey.shape)
    if len(pts) < 4:
        raise AlignmentError("markers_not_found",
                             f"位置合わせマーカーが見つかりません ({len(pts)} / 4 個)")
    markers_found = 4 if len(pts) == 4 and all(_is_found(pts[k], found) for k in pts) else 3
    form_px = {name: np.array([(b.x + b.w / 2) * PX_PER_MM, (b.y + b.h / 2) * PX_PER_MM])
               for name, b in zip(FORM_ORDER, markers_mm)}
    out_w, out_h = int(round(page_w * PX_PER_MM)), int(round(page_h * PX_PER_MM))
    best = None
    portrait = np.hypot(*(pts["bl"] - pts["tl"])) > np.hypot(*(pts["tr"] - pts["tl"]))
    for k in ((0, 2) if portrait else (1, 3)):
        src = np.float32([form_px[CYCLE[i]] for i in range(4)])
        dst = np.float32([pts[CYCLE[(i + k) % 4]] for i in range(4)])
        hom = cv2.getPerspectiveTransform(src, dst)
        score = float(sum(_darkness(grey, hom, box) for box in ink_mm))
        if best is None or score > best[0]:
            best = (score, k, hom)
    score, k, hom = best
    if score < 0.08:
        raise AlignmentError("orientation_unknown", "カードの向きが分かりません (QR コードと表題の位置に印刷がありません)")
    aligned = cv2.warpPerspective(grey, hom, (out_w, out_h), flags=cv2.WARP_INVERSE_MAP | cv2.INTER_AREA,
                                  borderValue=255)
    residual = _residual(hom, form_px, pts, k)
    return Alignment(aligned, k, markers_found, residual, hom)


def _is_found(p: np.ndarray, found) -> bool:
    return any(abs(p[0] - cx) < 1 and abs(p[1] - cy) < 1 for cx, cy, _ in found)


def _darkness(grey: np.ndarray, hom: np.ndarray, box) -> float:
    """Share of dark pixels where a box should be, under one guess of the rotation."""
    xs = np.linspace(box.x + box.w * 0.1, box.right - box.w * 0.1, 40) * PX_PER_MM
    ys = np.linspace(box.y + box.h * 0.1, box.bottom - box.h * 0.1, 24) * PX_PER_MM
    grid = np.float32([[x, y] for y in ys for x in xs]).reshape(-1, 1, 2)
    mapped = cv2.perspectiveTransform(grid, hom).reshape(-1, 2)
    h, w = grey.shape
    inside = (mapped[:, 0] >= 0) & (mapped[:, 0] < w) & (mapped[:, 1] >= 0) & (mapped[:, 1] < h)
    if not inside.any():
        return 0.0
    px = mapped[inside].astype(int)
    return float((grey[px[:, 1], px[:, 0]] < 128).mean())


def _residual(hom: np.ndarray, form_px: dict, pts: dict, k: int) -> float:
    """How far the marker rectangle is from the form's, in mm, after an affine fit."""
    src = np.float32([form_px[CYCLE[i]] for i in range(4)])
    dst = np.float32([pts[CYCLE[(i + k) % 4]] for i in range(4)])
    affine, _ = cv2.estimateAffine2D(src, dst)
    if affine is None:
        return float("inf")
    pred = src @ affine[:, :2].T + affine[:, 2]
    scale = np.sqrt(abs(np.linalg.det(affine[:, :2])))
    return float(np.max(np.hypot(*(pred - dst).T)) / scale / PX_PER_MM)


def decode_qr(image: np.ndarray) -> list[str]:
    """Texts of the QR codes in a grey image (zxing-cpp: robust to rotation and blur)."""
    import zxingcpp

    try:
        results = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
    except Exception:
        return []
    return [r.text for r in results if r.valid and r.text]
