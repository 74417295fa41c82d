"""Reading scanned cards: accuracy against the simulator's truth, and speed.

A demo station is seeded, its beats printed (at least 200 cards, most pre-filled)
and returned through the simulator; the reader reads every scan. Reported: card
identification, checkbox, digit-cell and field accuracy, character error rate of
text, confidence calibration, cards per minute, the time of the naive way
(one Tesseract call per text field) on the same pages, and how well a card is
identified by the id printed beside its QR code when the QR cannot be read.

Targets: identification 100 %, checkboxes ≥ 99.8 %, ≥ 40 pre-filled cards per
minute on 2 cores, ≥ 3× faster than the naive way.

The confidence thresholds of junkai.toml are calibrated here too: on the cards of one half
of the set, the lowest threshold per field kind at which at most 0.5 % of the values that
pass on their own are wrong; on the other half, the error (with its 95 % confidence interval)
and the straight-through rate (the share of values that pass without a person) of those
thresholds and of the configured ones.

The set is simulated with `--degrade mix`: each scanned file is drawn from the degradation
classes (clean, ordinary, noisy, light, dark, bw, photo) and written by varied hands; every
figure is reported per class (`by_degrade`) as well as over the whole set.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time
import unicodedata
from collections import defaultdict
from pathlib import Path
from typing import Any

THRESHOLDS = (0.5, 0.7, 0.8, 0.9, 0.95)
CHECK_KINDS = {"checkbox"}
DIGIT_KINDS = {"digits", "date"}
TEXT_KINDS = {"text", "kana", "free"}


def norm_text(v: Any) -> str:
    return "".join(unicodedata.normalize("NFKC", str(v or "")).split())


def _as_set(v: Any) -> set:
    if v is None:
        return set()
    return set(v) if isinstance(v, list) else {v}


def same(kind: str, truth: Any, read: Any) -> bool:
    if kind in TEXT_KINDS:
        return norm_text(truth) == norm_text(read)
    if kind == "date":
        if not truth or not read:
            return not truth and not read
        return all(str(truth.get(k) or "") == str(read.get(k) or "") for k in ("era", "year", "month", "day"))
    if kind == "checkbox":
        return _as_set(truth) == _as_set(read)
    return (truth or None) == (read or None)


def degrade_of(page: dict) -> str:
    """A page's degradation class; a set made before the classes were recorded was all ordinary."""
    return page.get("degrade") or "ordinary"


def score(results: list[dict], truth: dict) -> dict:
    """Compare reader results (PageReading.to_json()) with the simulator's truth.json: over the
    whole set, and per degradation class under "by_degrade"."""
    out = _score(results, truth["pages"])
    classes = sorted({degrade_of(t) for t in truth["pages"]})
    out["by_degrade"] = {}
    for cls in classes:
        figures = _score(results, [t for t in truth["pages"] if degrade_of(t) == cls])
        figures.pop("_wrong")
        out["by_degrade"][cls] = figures
    return out


def _score(results: list[dict], pages: list[dict]) -> dict:
    from rapidfuzz.distance import Levenshtein

    by_page = {(r["source"], r["page"]): r for r in results}  # source: the file as truth.json names it
    cards = set()
    identified = set()
    blank_backs = blank_skipped = 0
    box_total = box_right = 0
    cell_total = cell_right = empty_cells = empty_cells_inked = 0
    exact: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    false_values: dict[str, int] = defaultdict(int)
    cer_edits = cer_chars = 0
    calib: list[tuple[float, bool]] = []
    wrong: list[dict] = []
    statuses: dict[str, int] = defaultdict(int)
    written: dict[str, int] = defaultdict(int)
    unseen: dict[str, int] = defaultdict(int)
    for t in pages:
        r = by_page.get((t["file"], t["page"]))
        if t["kind"] == "blank_back":
            blank_backs += 1
            blank_skipped += bool(r and r["status"] == "skipped")
            continue
        cards.add(t["print_id"])
        if r is None:
            continue
        statuses[r["status"]] += 1
        ident = r.get("identity") or {}
        if ident.get("print_id") == t["print_id"] and ident.get("sheet") == t["sheet"]:
            identified.add((t["print_id"], t["sheet"]))
        values = t["values"]
        ambiguous = {n.split(":", 1)[1] + ".change" for n in t.get("notes", []) if n.startswith("double_tick:")}
        for f in r["fields"]:
            fid, kind = f["id"], f["kind"]
            tv, rv = values.get(fid), f["value"]
            if kind == "checkbox":
                if fid in ambiguous:
                    ok = rv is None and "multiple_ticks" in f["reasons"]
                    box_total += 1
                    box_right += ok
                    calib.append((f["confidence"], ok))
                    continue
                opts = (f.get("detail") or {}).keys()
                for o in opts:
                    box_total += 1
                    box_right += (o in _as_set(tv)) == (o in _as_set(rv))
            if kind in DIGIT_KINDS:
                cells = (f.get("detail") or {}).get("cells") or []
                want = ""
                if isinstance(tv, dict):
                    want = (tv.get("year") or "") + (tv.get("month") or "") + (tv.get("day") or "")
                elif tv:
                    want = str(tv)
                for i, c in enumerate(cells):
                    w = want[i] if i < len(want) else None
                    if w is None:
                        empty_cells += 1
                        empty_cells_inked += c is not None
                    else:
                        cell_total += 1
                        cell_right += c == w
            if kind in TEXT_KINDS and tv:
                cer_edits += Levenshtein.distance(norm_text(tv), norm_text(rv))
                cer_chars += len(norm_text(tv))
            if tv not in (None, [], ""):
                ok = same(kind, tv, rv)
                exact[kind][0] += ok
                exact[kind][1] += 1
                written[kind] += 1
                # the resident wrote here and the reader saw no ink: nothing flags it, the value is lost
                unseen[kind] += not f.get("ink")
                calib.append((f["confidence"], ok))
                if not ok and len(wrong) < 400:
                    wrong.append(dict(page=f"{t['file']}#{t['page']}", field=fid, truth=tv, read=rv,
                                      confidence=f["confidence"], reasons=f["reasons"]))
            elif rv not in (None, [], "") or kind == "checkbox":
                ok = rv in (None, [], "")
                if not ok:
                    false_values[kind] += 1
                    if len(wrong) < 400:
                        wrong.append(dict(page=f"{t['file']}#{t['page']}", field=fid, truth=None, read=rv,
                                          confidence=f["confidence"], reasons=f["reasons"]))
                calib.append((f["confidence"], ok))
    sheets = sum(1 for t in pages if t["kind"] == "card")
    out = dict(
        cards=len(cards), sheets=sheets, page_status=dict(statuses),
        identification_rate=round(len(identified) / max(1, sheets), 4),
        blank_backs_skipped=f"{blank_skipped}/{blank_backs}",
        checkbox_accuracy=round(box_right / max(1, box_total), 5), checkbox_boxes=box_total,
        digit_cell_accuracy=round(cell_right / max(1, cell_total), 4), digit_cells=cell_total,
        empty_cells_read_as_digits=f"{empty_cells_inked}/{empty_cells}",
        field_exact_match={k: f"{v[0] / max(1, v[1]):.3f} ({v[0]}/{v[1]})" for k, v in sorted(exact.items())},
        values_where_nothing_was_written=dict(false_values),
        written_values_seen_as_blank={k: f"{unseen[k]}/{n}" for k, n in sorted(written.items())},
        text_cer=round(cer_edits / max(1, cer_chars), 4),
        calibration={f"conf>={t}": _calib(calib, t) for t in THRESHOLDS},
    )
    out["_wrong"] = wrong
    return out


def _calib(pairs: list[tuple[float, bool]], t: float) -> str:
    sel = [ok for c, ok in pairs if c >= t]
    if not sel:
        return "n/a"
    return f"{sum(sel) / len(sel):.3f} right, {len(sel) / len(pairs):.0%} of values"


# --- thresholds: what may pass without a person (junkai.toml [ocr.thresholds]) -------------

BLANK = 60  # blank cards in the set, besides the printed beats
MAX_WRONG = 0.005  # at most 0.5 % of the values that pass on their own may be wrong
MIN_PASSING = 20  # fewer values passing than this is no evidence for a threshold: a person reads them all
# never below 0.8: under it the reader itself doubts its reading, however the sample turned out
GRID = [round(0.8 + 0.01 * i, 2) for i in range(20)] + [1.0]


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval of a share k/n (95 % by default); sound at k = 0, where the normal
    approximation claims certainty."""
    if n == 0:
        return 0.0, 1.0
    p = k / n
    d = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / d
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return max(0.0, centre - half), min(1.0, centre + half)


def share_with_ci(k: int, n: int) -> str:
    if n == 0:
        return "n/a (0 passed)"
    lo, hi = wilson(k, n)
    return f"{k}/{n} = {k / n:.2%} (95 % CI {lo:.2%}–{hi:.2%})"


def decisions(results: list[dict], truth: dict, today) -> list[dict]:
    """Every inked field as reconciliation would weigh it: its kind, confidence, whether the reader
    and the validation rules left it clean (then the threshold alone decides), and whether it is right.
    Each carries its card, so that calibration and measurement can use different cards."""
    from junkai.readings import FieldReading
    from junkai.reconcile import _model_field, _value_of

    by_page = {(t["file"], t["page"]): t for t in truth["pages"] if t["kind"] != "blank_back"}
    out = []
    for r in results:
        t = by_page.get((r["source"], r["page"]))
        if t is None or r["status"] == "failed" or not r.get("form"):
            continue
        for f in r["fields"]:
            if not f.get("ink") or f["kind"] not in CHECK_KINDS | DIGIT_KINDS | TEXT_KINDS:
                continue
            path = f["path"] or ""
            spec = None if path.startswith("@") else _model_field(r["form"], path.replace("{key}", "1"))
            _, rules = _value_of(FieldReading.from_json(f), spec, today)
            truth_value = t["values"].get(f["id"])
            right = same(f["kind"], truth_value, f["value"]) if truth_value not in (None, [], "") \
                else f["value"] in (None, [], "")
            # nothing on a noisy page passes on its own (junkai.reconcile), whatever its confidence
            out.append(dict(card=t["print_id"], kind=f["kind"], confidence=f["confidence"],
                            clean=not f.get("reasons") and not rules and "noisy_page" not in r["reasons"],
                            right=right, degrade=degrade_of(t)))
    return out


def _passing(ds: list[dict], thresholds: dict) -> tuple[int, int]:
    passed = [d for d in ds if d["clean"] and d["confidence"] >= thresholds.get(d["kind"], 1.01)]
    return len(passed), sum(not d["right"] for d in passed)


def calibrate(ds: list[dict]) -> dict:
    """Per kind, the lowest confidence at which at most MAX_WRONG of the clean values passing are wrong,
    with at least MIN_PASSING of them (1.01: never on its own, when no threshold is that good)."""
    out = {}
    for kind in sorted({d["kind"] for d in ds}):
        mine = [d for d in ds if d["kind"] == kind]
        out[kind] = 1.01
        for t in GRID:
            n, wrong = _passing(mine, {kind: t})
            if n >= MIN_PASSING and wrong <= MAX_WRONG * n:
                out[kind] = t
                break
    return out


def thresholds_report(ds: list[dict], configured: dict) -> dict:
    """Calibrate on the cards of one half, measure on the other: the measured error is not the one tuned."""
    import zlib

    def half(d):
        return zlib.crc32(str(d["card"]).encode()) % 2

    fit, held = [d for d in ds if half(d) == 0], [d for d in ds if half(d) == 1]
    advised = calibrate(fit)

    def measure_on(ds: list[dict], thresholds: dict) -> dict:
        n, wrong = _passing(ds, thresholds)
        per_kind = {}
        for kind in sorted({d["kind"] for d in ds}):
            k_n, k_wrong = _passing([d for d in ds if d["kind"] == kind], thresholds)
            total = sum(d["kind"] == kind for d in ds)
            per_kind[kind] = f"{k_n}/{total} passed, {k_wrong} wrong"
        return dict(auto_accepted_wrong=round(wrong / n, 4) if n else None,
                    auto_accepted_wrong_ci95=share_with_ci(wrong, n),
                    straight_through=round(n / len(ds), 3) if ds else None, by_kind=per_kind)

    def measure(thresholds: dict) -> dict:
        out = measure_on(held, thresholds)
        out["by_degrade"] = {cls: measure_on([d for d in held if d["degrade"] == cls], thresholds)
                             for cls in sorted({d["degrade"] for d in held})}
        return out

    return dict(calibrated_on_values=len(fit), measured_on_values=len(held), advised=advised,
                advised_measured=measure(advised), configured=configured, configured_measured=measure(configured))


# --- the review page's floor: below it a reading is not put in the clerk's input (junkai.review) ---

FLOOR_GRID = [round(0.1 * i, 1) for i in range(10)]
FLOOR_RIGHT = 2 / 3  # a pre-filled value must be right at least two times in three in every band above the floor
FLOOR_BAND_MIN = 5  # fewer values than this in a band of 0.1 are no evidence either way


def _to_person(ds: list[dict], thresholds: dict) -> list[dict]:
    return [d for d in ds if not (d["clean"] and d["confidence"] >= thresholds.get(d["kind"], 1.01))]


def review_floor(ds: list[dict]) -> dict:
    """Per kind, the lowest confidence from which, band by band (0.1 wide), the readings a person sees are
    right at least FLOOR_RIGHT of the time: there a pre-filled guess helps; below, it invites a wrong Enter."""
    out = {}
    for kind in sorted({d["kind"] for d in ds}):
        mine = [d for d in ds if d["kind"] == kind]
        out[kind] = 1.0
        for t in reversed(FLOOR_GRID):
            band = [d["right"] for d in mine if t <= d["confidence"] < t + 0.1 + (t == 0.9) * 0.01]
            if len(band) >= FLOOR_BAND_MIN and sum(band) < FLOOR_RIGHT * len(band):
                break
            out[kind] = t
    return out


def review_floor_report(ds: list[dict], thresholds: dict, configured: dict) -> dict:
    """Floors chosen on one half of the cards, measured on the other: of the values a person sees, how often
    the pre-filled ones are right, and how often the held-back guesses would have been."""
    import zlib

    ds = _to_person(ds, thresholds)
    fit = [d for d in ds if zlib.crc32(str(d["card"]).encode()) % 2 == 0]
    held = [d for d in ds if zlib.crc32(str(d["card"]).encode()) % 2 == 1]

    def measure(floors: dict) -> dict:
        out = {}
        for kind in sorted({d["kind"] for d in held}):
            mine = [d for d in held if d["kind"] == kind]
            up = [d["right"] for d in mine if d["confidence"] >= floors.get(kind, 1.0)]
            down = [d["right"] for d in mine if d["confidence"] < floors.get(kind, 1.0)]
            out[kind] = dict(prefilled=len(up), prefilled_right=share_with_ci(sum(up), len(up)),
                             held_back=len(down), held_back_right=share_with_ci(sum(down), len(down)))
        return out

    advised = review_floor(fit)
    return dict(calibrated_on_values=len(fit), measured_on_values=len(held), advised=advised,
                advised_measured=measure(advised), configured=configured, configured_measured=measure(configured))


# --- the report ---------------------------------------------------------------------------

KINDS = ("checkbox", "date", "digits", "kana", "text", "free")


def markdown(figures: dict) -> list[str]:
    """The figures per degradation class as one table (results.md), the whole set in the last row."""
    if "by_degrade" not in figures:
        return []
    head = ["劣化", "頁", "識別", "チェック欄", "数字マス"] + [f"完全一致 {k}" for k in KINDS] + \
        ["CER", "確信度≥0.9 の正解率"] + [f"{t}: 自動反映の誤り (95 % 信頼区間)" if i == 0 else f"{t}: 自動反映の割合"
                                       for t in ("較正値", "junkai.toml") for i in range(2)]
    lines = ["### 劣化の種類ごと (しきい値は半数のカードで較正し、残り半数のカードで測定)", "",
             "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    th = figures.get("thresholds", {})
    rows = list(figures["by_degrade"].items()) + [("全体", dict(
        figures, thresholds_advised=th.get("advised_measured", {}), thresholds_configured=th.get("configured_measured", {})))]
    for cls, f in rows:
        exact = f.get("field_exact_match", {})
        cells = [cls, str(f.get("sheets", "")), str(f.get("identification_rate", "")),
                 str(f.get("checkbox_accuracy", "")), str(f.get("digit_cell_accuracy", ""))]
        cells += [exact.get(k, "–") for k in KINDS]
        cells += [str(f.get("text_cer", "")), str(f.get("calibration", {}).get("conf>=0.9", ""))]
        for which in ("advised", "configured"):
            m = f.get(f"thresholds_{which}") or {}
            cells += [m.get("auto_accepted_wrong_ci95", "–"), str(m.get("straight_through", "–"))]
        lines.append("| " + " | ".join(cells) + " |")
    return lines + [""]


# --- the run ------------------------------------------------------------------------------


def _cli(home: Path, *args: str) -> str:
    env = dict(os.environ, JUNKAI_HOME=str(home))
    env.pop("JUNKAI_DB_URL", None)
    junkai = Path(sys.executable).parent / "junkai"
    r = subprocess.run([str(junkai), *args], env=env, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"junkai {' '.join(args)}: {r.stderr.strip()}")
    return r.stdout


DEGRADE = "mix"  # every degradation class, drawn per scanned file


def _made_by() -> dict:
    """What a kept set was made with: the layouts printed and the simulator's source. A set made by an
    older simulator or printed in an older layout is made again, not measured as if it were today's."""
    import hashlib

    from junkai import form as F
    from junkai import simulate

    source = Path(simulate.__file__).read_bytes()
    return dict(layouts={form: F.latest(form) for form in F.FORMS},
                simulator=hashlib.sha256(source).hexdigest()[:16])


def make_set(workdir: Path, cards: int = 200, seed: int = 7, blank: int | None = None) -> tuple[Path, Path]:
    """A station, its printed beats (pre-filled) and a few blank cards, simulated and scanned."""
    from junkai import qr
    from junkai.simulate import simulate

    home = workdir / "ocr-home"
    scans = workdir / "ocr-scans"
    if blank is None:  # the same share of blank cards in a smaller set
        blank = min(BLANK, max(10, cards * BLANK // 200))
    made_by = _made_by()
    if (scans / "truth.json").exists():
        t = json.loads((scans / "truth.json").read_text())
        if t["cards"] >= cards and t.get("blank", 0) >= blank and t.get("degrade") == DEGRADE \
                and t.get("made_by") == made_by:
            return home, scans
    import shutil

    shutil.rmtree(home, ignore_errors=True)
    shutil.rmtree(scans, ignore_errors=True)
    _cli(home, "seed", "--premises", str(int(cards * 1.2)), "--stations", "1", "--seed", str(seed))
    from datetime import date

    from junkai.store import Store

    store = Store(f"sqlite:///{home / 'junkai.sqlite3'}")
    with store.transaction():
        beats = sorted(store.beats_frame(date.today())["beat_id"])
    store.close()
    pdfs = []
    for beat in beats:
        pdfs.append(Path(_cli(home, "print", "cards", "--beat", beat, "--out-dir", str(workdir / "ocr-print"))
                         .strip().splitlines()[-1]))
    # blank cards are filled in by hand from top to bottom: most of the handwriting the thresholds are set on
    pdfs.append(Path(_cli(home, "print", "cards", "--blank", str(blank), "--beat", beats[0], "--out-dir",
                          str(workdir / "ocr-print")).strip().splitlines()[-1]))
    key = qr.station_key(home)
    scans.mkdir(parents=True)
    merged: dict[str, Any] = dict(cards=0, blank=blank, degrade=DEGRADE, made_by=made_by, pages=[])
    for i, pdf in enumerate(pdfs):
        sub = scans / f"b{i:02d}"
        t = simulate(pdf, sub, seed + i, key, degrade=DEGRADE)
        merged["cards"] += t["cards"]
        for p in t["pages"]:
            merged["pages"].append(dict(p, file=f"b{i:02d}/{p['file']}"))
    (scans / "truth.json").write_text(json.dumps(merged, ensure_ascii=False) + "\n")
    return home, scans


def read_all(home: Path, scans: Path, workers: int, batched: bool = True, files: list[Path] | None = None):
    from ocr.read import Reader

    reader = Reader.for_home(home, crops_dir=scans.parent / "ocr-crops")
    reader.batched = batched
    paths = files or sorted(p for p in scans.rglob("scan-*"))
    t0 = time.perf_counter()
    results = []
    for r in reader.read_paths(paths, workers=workers):
        d = r.to_json()
        d["source"] = str(Path(r.source).relative_to(scans))
        results.append(d)
    return results, time.perf_counter() - t0


def printed_id_report(scans: Path, truth: dict) -> dict:
    """Every pre-filled first sheet identified by its printed id alone, as if its QR were torn:
    the one candidate among the printed ids, against the first reading taken as it is."""
    from junkai import JunkaiError, qr
    from ocr import engines, printed_id
    from ocr.align import AlignmentError
    from ocr.pages import iter_pages
    from ocr.read import align

    engine = engines.create()

    printed = {t["print_id"] for t in truth["pages"] if t.get("print_id")}
    sheets = {(t["file"], t["page"]): t["print_id"] for t in truth["pages"]
              if t.get("print_id") and t.get("prefilled") and t["sheet"] == 1}
    n = first = right = wrong = 0
    for name in sorted({f for f, _ in sheets}):
        for page in iter_pages(scans / name):
            pid = sheets.get((name, page.index + 1))
            if pid is None or page.image is None:
                continue
            n += 1
            try:
                aligned = align(page.image, page.dpi).image
            except AlignmentError:
                continue
            read = engine.read([engines.Crop(printed_id.crop(aligned), engines.CropKind.PRINT_ID)])[0]
            try:
                first += qr.normalize_print_id(read[0].text if read else "") == pid
            except JunkaiError:
                pass
            hits = [c for c in printed_id.candidates(read) if c in printed]
            right += hits == [pid]
            wrong += len(hits) == 1 and hits != [pid]
    return dict(sheets=n, first_reading_right=round(first / max(1, n), 4),
                identified_right=round(right / max(1, n), 4), identified_wrong=wrong)


def run(args, workdir: Path) -> dict:
    from ocr import digits

    home, scans = make_set(Path(workdir), cards=getattr(args, "ocr_cards", 200))
    truth = json.loads((scans / "truth.json").read_text())
    # fitting, timed apart from loading the fitted model that every later process reads from the cache
    t0 = time.perf_counter()
    digits.train()
    train_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    digits.model()
    load_s = time.perf_counter() - t0
    results, seconds = read_all(home, scans, workers=2)
    with open(Path(workdir) / "ocr-results.jsonl", "w", encoding="utf-8") as fh:
        for r in results:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    figures = score(results, truth)
    from datetime import date

    from junkai import settings

    figures["thresholds"] = thresholds_report(decisions(results, truth, date.today()),
                                              settings.load({"JUNKAI_HOME": str(home)}).thresholds)
    figures["printed_id"] = printed_id_report(scans, truth)
    from junkai import review

    figures["review_floor"] = review_floor_report(decisions(results, truth, date.today()),
                                                  figures["thresholds"]["configured"], review.READING_FLOOR)
    for which in ("advised", "configured"):
        for cls, measured in figures["thresholds"][f"{which}_measured"]["by_degrade"].items():
            figures["by_degrade"][cls][f"thresholds_{which}"] = measured
    wrong = figures.pop("_wrong")
    (Path(workdir) / "ocr-wrong.json").write_text(json.dumps(wrong, ensure_ascii=False, indent=1) + "\n")
    prefilled = {t["print_id"] for t in truth["pages"] if t["kind"] == "card" and t["prefilled"]}
    cards = len({t["print_id"] for t in truth["pages"] if t["kind"] == "card"})
    figures.update(
        digit_model_train_s=round(train_s, 1), digit_model_load_s=round(load_s, 2),
        digit_model_holdout_accuracy=round(digits.model().holdout_accuracy, 4),
        read_seconds=round(seconds, 1), pages=len(results),
        cards_per_minute=round(cards / seconds * 60, 1),
        prefilled_cards=len(prefilled),
    )
    # the naive way on the same pages: one Tesseract call per text field, one thread each
    sample = sorted({scans / t["file"] for t in truth["pages"]})[:4]
    fast, fast_s = read_all(home, scans, workers=1, files=sample)
    _, naive_s = read_all(home, scans, workers=1, batched=False, files=sample)
    figures.update(naive_pages=len(fast), batched_seconds=round(fast_s, 1), naive_seconds=round(naive_s, 1),
                   speedup_vs_naive=round(naive_s / fast_s, 2))
    return figures
