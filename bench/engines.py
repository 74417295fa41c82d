"""Text recognisers side by side on the same crops: Tesseract alone, PP-OCR alone, and both.

The crops are those the reader sends its recogniser: cut from simulated filled cards (the set of
bench/ocr.py) with the reader's own alignment and field slicing, one per handwritten field that holds
a value in the simulator's truth, and the printed id of every pre-filled first sheet. Each page's
crops go to the engine in one call, as the reader sends them, on one thread.

Each engine reads all the crops on its own, one after the other; "both" as the reader runs it
(ocr.engines.combined: Tesseract in its own process while PP-OCR reads, Tesseract not asked about
free writing).

Reported per engine and crop kind: exact match (width and spaces folded; ids in their plain form),
character error rate, milliseconds per field, and for each confidence threshold the accuracy of the
values at or above it with their share — what a threshold of that engine would let through.
"""

from __future__ import annotations

import json
import time
import unicodedata
from collections import defaultdict
from pathlib import Path

THRESHOLDS = (0.6, 0.8, 0.9, 0.95, 0.98)
MAX_PAGES = 120  # sheets read; the set of bench/ocr.py holds more


def norm(kind: str, text: str) -> str:
    if kind == "print_id":
        from junkai.qr import _plain_id

        return _plain_id(text or "")
    return "".join(unicodedata.normalize("NFKC", text or "").split())


def cut(scans: Path, truth: dict, max_pages: int = MAX_PAGES) -> list[dict]:
    """The crops of the set's card sheets, each with its page, kind and the value written there."""
    from junkai import form as F
    from ocr import printed_id
    from ocr import read as R
    from ocr.align import AlignmentError
    from ocr.engines import Crop, CropKind
    from ocr.pages import iter_pages

    cards = [t for t in truth["pages"] if t["kind"] == "card"]
    # the sheets with handwriting first (most cards come back with ticks only), then the first sheets of
    # pre-filled cards for their printed ids
    written = [t for t in cards if any(isinstance(t["values"].get(f), str) for f in _text_ids(t))]
    ids = [t for t in cards if t.get("prefilled") and t["sheet"] == 1 and t not in written]
    chosen = (written + ids)[:max_pages]
    wanted = {(t["file"], t["page"]): t for t in chosen}
    out: list[dict] = []
    for name in sorted({f for f, _ in wanted}):
        last = max(p for f, p in wanted if f == name)
        for page in iter_pages(scans / name):
            if page.index + 1 > last:
                break
            t = wanted.get((name, page.index + 1))
            if t is None or page.image is None:
                continue
            try:
                aligned = R.align(page.image, page.dpi).image
            except AlignmentError:
                continue
            key = f"{name}#{page.index + 1}"
            layout = F.page(t["form"], t["sheet"])
            for f in layout.fields:
                value = t["values"].get(f.id)
                if f.kind not in ("text", "kana", "free") or not isinstance(value, str) or not value:
                    continue
                _, crop = R._text_field(f, aligned, force=True)
                out.append(dict(page=key, field=f.id, kind=crop.kind.value, truth=value, crop=crop))
            if t.get("prefilled") and t["sheet"] == 1:
                crop = Crop(printed_id.crop(aligned), CropKind.PRINT_ID)
                out.append(dict(page=key, field="print_id", kind="print_id", truth=t["print_id"], crop=crop))
    return out


def _text_ids(t: dict) -> list[str]:
    from junkai import form as F

    return [f.id for f in F.page(t["form"], t["sheet"]).fields if f.kind in ("text", "kana", "free")]


def timed(engine, samples: list[dict]) -> tuple[list, float]:
    """The engine's candidates for every sample, in order, reading each page's crops in one call as the
    reader does; and the seconds its calls took."""
    by_page: dict[str, list[int]] = defaultdict(list)
    for i, s in enumerate(samples):
        by_page[s["page"]].append(i)
    out: list = [None] * len(samples)
    seconds = 0.0
    for idx in by_page.values():
        t0 = time.perf_counter()
        read = engine.read([samples[i]["crop"] for i in idx])
        seconds += time.perf_counter() - t0
        for i, r in zip(idx, read):
            out[i] = r
    return out, seconds


def read_all(samples: list[dict]) -> dict:
    """Per engine: the candidates of every sample (in order) and the seconds spent; each engine alone on
    the machine, its model loaded (and Tesseract's files warm) before the clock starts."""
    from ocr import engines

    first = samples[:1]
    out = {}
    t0 = time.perf_counter()
    engines.create("ppocr").read([s["crop"] for s in first])
    out["ppocr_load_s"] = time.perf_counter() - t0
    for name in ("tesseract", "ppocr", "both"):
        engine = engines.create(name)
        engine.read([s["crop"] for s in first])
        out[name] = timed(engine, samples)
    return out


def figures(name: str, samples: list[dict], read: list, seconds: float) -> dict:
    """One engine's rows: per kind exact match and CER, then per kind the values at or above each
    threshold (right / share of the kind's values)."""
    from rapidfuzz.distance import Levenshtein

    out = {f"{name} ms_per_field": round(1000 * seconds / max(1, len(samples)))}
    kinds = sorted({s["kind"] for s in samples})
    for kind in kinds + ["all"]:
        mine = [(s, r) for s, r in zip(samples, read) if kind in ("all", s["kind"])]
        exact = edits = chars = 0
        pairs = []
        for s, cands in mine:
            want, have = norm(s["kind"], s["truth"]), norm(s["kind"], cands[0].text if cands else "")
            exact += want == have
            edits += Levenshtein.distance(want, have)
            chars += len(want)
            pairs.append((cands[0].confidence if cands else 0.0, want == have))
        out[f"{name} {kind}"] = f"exact {exact / len(mine):.3f} ({exact}/{len(mine)}), CER {edits / max(1, chars):.3f}"
        passing = []
        for t in THRESHOLDS:
            sel = [ok for c, ok in pairs if c >= t]
            passing.append(f"≥{t}: {sum(sel) / len(sel):.3f} right of {len(sel) / len(pairs):.0%}" if sel
                           else f"≥{t}: none")
        out[f"{name} {kind} by confidence"] = " · ".join(passing)
    return out


def agreement(samples: list[dict], ppocr: list, tesseract: list) -> dict:
    """Per kind: how often the two engines agree, and how often PP-OCR is right when they do and when not."""
    from ocr.engines.combined import fold

    out = {}
    for kind in sorted({s["kind"] for s in samples}):
        counts = defaultdict(int)
        for s, p, t in zip(samples, ppocr, tesseract):
            if s["kind"] != kind:
                continue
            agreed = bool(p) and any(fold(c.text) == fold(p[0].text) for c in t)
            right = bool(p) and norm(kind, p[0].text) == norm(kind, s["truth"])
            counts[agreed, right] += 1
        n_agreed = counts[True, True] + counts[True, False]
        n_disputed = counts[False, True] + counts[False, False]
        out[f"engines agree {kind}"] = (f"agreed {n_agreed} (wrong {counts[True, False]}), "
                                         f"disputed {n_disputed} (wrong {counts[False, False]})")
    return out


def run(args, workdir: Path) -> dict:
    from bench.ocr import make_set

    _, scans = make_set(Path(workdir), cards=getattr(args, "ocr_cards", 200))
    truth = json.loads((scans / "truth.json").read_text())
    samples = cut(scans, truth, getattr(args, "engine_pages", MAX_PAGES))
    read = read_all(samples)
    out: dict = dict(crops=len(samples), ppocr_model_load_s=round(read.pop("ppocr_load_s"), 2))
    for name, (cands, seconds) in read.items():
        out.update(figures(name, samples, cands, seconds))
    out.update(agreement(samples, read["ppocr"][0], read["tesseract"][0]))
    first = {name: [r[0].text if r else "" for r in cands] for name, (cands, _) in read.items()}
    wrong = [dict(page=s["page"], field=s["field"], truth=s["truth"],
                  **{name: [c.to_json() for c in read[name][0][i]] for name in read})
             for i, s in enumerate(samples) if any(norm(s["kind"], first[n][i]) != norm(s["kind"], s["truth"])
                                                   for n in read)]
    (Path(workdir) / "engines-wrong.json").write_text(json.dumps(wrong, ensure_ascii=False, indent=1) + "\n")
    return out
