"""The scan simulator: what it writes, how it scans, and that it stays apart from the reader."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from junkai import form as F
from junkai import simulate as S
from tests.ocr_cards import printed


def _run(home: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, JUNKAI_HOME=str(home))
    env.pop("JUNKAI_DB_URL", None)
    return subprocess.run([str(Path(sys.executable).parent / "junkai"), *args], env=env, capture_output=True,
                          text=True)


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    home, cards_pdf, _ = printed()
    out = tmp_path_factory.mktemp("sim")
    r = _run(home, "simulate", str(cards_pdf), "--out", str(out), "--seed", "4", "--limit", "4")
    assert r.returncode == 0, r.stderr
    return home, cards_pdf, out, json.loads((out / "truth.json").read_text(encoding="utf-8"))


@pytest.mark.slow
def test_simulate_writes_scans_and_the_truth(simulated):
    _, _, out, truth = simulated
    assert truth["cards"] == 4
    files = {p["file"] for p in truth["pages"]}
    assert files and all((out / f).is_file() for f in files)
    for p in truth["pages"]:
        assert p["page"] >= 1 and p["kind"] in ("card", "blank_back")
        if p["kind"] == "card":
            ids = {f.id for f in F.page(p["form"], p["sheet"]).fields}
            assert set(p["values"]) <= ids
            assert p["scan"]["dpi"] in (200, 300) and p["scan"]["mode"] in ("colour", "grey", "bw")


@pytest.mark.slow
def test_same_seed_same_truth(simulated, tmp_path):
    home, cards_pdf, _, truth = simulated
    r = _run(home, "simulate", str(cards_pdf), "--out", str(tmp_path), "--seed", "4", "--limit", "4")
    assert r.returncode == 0, r.stderr
    again = json.loads((tmp_path / "truth.json").read_text(encoding="utf-8"))
    assert again["pages"] == truth["pages"]


@pytest.mark.slow
def test_read_command_prints_one_json_object_per_page(simulated, tmp_path):
    home, _, out, truth = simulated
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    r = _run(home, "read", str(out), str(empty), "--json")
    assert r.returncode == 0, r.stderr
    lines = [json.loads(line) for line in r.stdout.splitlines()]
    assert len(lines) == len(truth["pages"]) + 1
    assert lines[-1]["status"] == "failed" and lines[-1]["reasons"] == ["empty_file"]
    cards = [x for x in lines if x["identity"]]
    assert {x["identity"]["print_id"] for x in cards} == {p["print_id"] for p in truth["pages"] if p["kind"] == "card"}
    assert "頁を読みました" in r.stderr


def test_scanner_effects():
    rng = np.random.default_rng(1)
    page = Image.new("RGB", (2480, 3508), "white")
    upright = S.Scan(200, "grey", 0.0, 0, (0, 0), 1.0, 0, 0, None).apply(page, rng)
    assert upright.mode == "L" and abs(upright.size[0] - (210 + 12) / 25.4 * 200) < 3
    sideways = S.Scan(300, "bw", 3.0, 1, (2, -2), 1.01, 1.0, 5, None).apply(page, rng)
    assert sideways.mode == "1" and sideways.size[0] > sideways.size[1]


def test_handwriting_and_marks_stay_in_their_box():
    rng = random.Random(2)
    hand = S.Hand.random(rng)
    page = Image.new("RGB", (2480, 3508), "white")
    layout = F.page("household", 1)
    f = layout.field("members.1.name")
    S.write_text(page, "蝦名　隆", f.entry, hand, rng)
    S.mark(page, layout.field("members.1.sex").options[0].box, "tick", hand, rng)
    arr = np.asarray(page.convert("L"))
    ys, xs = np.nonzero(arr < 128)
    assert len(ys) > 100
    px = S.PRINT_DPI / 25.4
    box = f.entry
    tick = layout.field("members.1.sex").options[0].box
    inside = ((xs >= box.x * px) & (xs <= box.right * px) & (ys >= box.y * px) & (ys <= box.bottom * px)) | \
             ((xs >= (tick.x - 3) * px) & (xs <= (tick.right + 3) * px) & (ys >= (tick.y - 3) * px)
              & (ys <= (tick.bottom + 3) * px))
    assert inside.all()


def test_the_reader_cannot_see_the_simulator():
    """The reader shares the form, the QR check and the rasteriser, never the simulator or its truth."""
    import re

    for path in Path(__file__).resolve().parent.parent.joinpath("ocr").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        imports = re.findall(r"^\s*(?:from|import)\s+[\w.]+(?:\s+import\s+[\w, ]+)?", text, re.M)
        assert not [i for i in imports if "simulate" in i], path
        assert "truth.json" not in text, path


# --- degradation classes and varied hands -------------------------------------------------------


def _test_page() -> Image.Image:
    """A5 at the print resolution (small, quick): white paper, a solid black block (print), a grey band."""
    page = Image.new("RGB", (1748, 2480), "white")
    arr = np.asarray(page).copy()
    arr[300:700, 300:700] = 0
    arr[1100:1180, 200:1500] = 128
    return Image.fromarray(arr)


def _scan(degrade: str, seed: int = 3) -> tuple[S.Scan, Image.Image]:
    rng = random.Random(seed)
    scan = S.Scan.random(rng, *S.scanner_setting(rng, degrade), degrade=degrade)
    return scan, scan.apply(_test_page(), np.random.default_rng(seed))


@pytest.mark.parametrize("seed", [1, 2])
def test_each_degradation_class_does_what_it_says(seed):
    def grey(img):
        return np.asarray(img.convert("L"), dtype=np.float32)

    clean_scan, clean = _scan("clean", seed)
    assert clean_scan.jpeg is None and not clean_scan.noise and not clean_scan.blur and clean_scan.quarter == 0
    assert np.percentile(grey(clean), 1) <= 5 and np.percentile(grey(clean), 50) >= 250

    light_scan, light = _scan("light", seed)
    black = np.percentile(grey(light), 1)
    assert 25 <= black < 110, black  # lifted towards grey, still dark enough for the markers

    _, dark = _scan("dark", seed)
    assert np.percentile(grey(dark), 50) <= 205  # the paper is grey

    bw_scan, bw = _scan("bw", seed)
    assert bw.mode == "1" and bw_scan.dpi == 200 and abs(min(bw.size) - (148 + 12) / 25.4 * 200) < 25 * 200 / 25.4

    noisy_scan, noisy = _scan("noisy", seed)
    paper = grey(noisy)[850:1100, 700:1300]  # away from the block and the band
    specks = cv2.connectedComponents((paper < 100).astype(np.uint8))[0] - 1
    assert noisy_scan.speckle > 0 and specks >= 1
    assert paper.std() > grey(clean)[850:1100, 700:1300].std() + 1  # texture, grain

    photo_scan, photo = _scan("photo", seed)
    assert photo.mode == "RGB" and abs(photo.size[0] / photo.size[1] - 0.75) < 0.01  # a 4:3 picture
    assert photo_scan.jpeg and photo_scan.perspective > 0
    g = cv2.GaussianBlur(grey(photo), (0, 0), 25)
    h, w = g.shape
    centre = g[h // 3: 2 * h // 3, w // 4: 3 * w // 4]
    assert np.percentile(centre, 95) - np.percentile(centre, 5) > 10  # uneven light across white paper


def test_ordinary_scan_json_says_only_what_was_done():
    scan, _ = _scan("ordinary")
    j = scan.json()
    assert j["degrade"] == "ordinary" and "speckle" not in j and "perspective" not in j
    noisy, _ = _scan("noisy")
    assert noisy.json()["speckle"] > 0


def test_varied_hands_stay_in_their_box_and_differ_in_pen():
    layout = F.page("household", 1)
    box = layout.field("members.1.name").entry
    px = S.PRINT_DPI / 25.4
    inked = {}
    for pen in (-1, 0, 4):
        rng = random.Random(4)
        hand = S.Hand(S.FONTS[0], 0.8, -0.1, 0.04, (20, 20, 20), 4, pen, 0.08, 0.1, 0.12)
        page = Image.new("RGB", (2480, 3508), "white")
        S.write_text(page, "蝦名　隆", box, hand, rng)
        ys, xs = np.nonzero(np.asarray(page.convert("L")) < 128)
        assert len(ys) > 100
        assert ((xs >= box.x * px - 1) & (xs <= box.right * px + 1) & (ys >= box.y * px - 1)
                & (ys <= box.bottom * px + 1)).all()
        inked[pen] = len(ys)
    assert inked[-1] < inked[0] < inked[4]
    # the varied draw spans pens from a fine ballpoint to a felt pen, and more fonts than today's
    hands = [S.Hand.random(random.Random(i), varied=True) for i in range(200)]
    assert {h.pen for h in hands} >= {-1, 0, 4} and all(h.elastic > 0 for h in hands)
    assert len({h.font for h in hands}) > len([f for f in S.FONTS if Path(f).exists()])
    faint = [S.Hand.random(random.Random(i), faint=True) for i in range(50)]
    assert min(min(h.ink) for h in faint) >= 70  # pale pens: no ink darker than this


def test_today_hands_are_drawn_as_before():
    """The default hands are the ones the tests and the demo were made on: no new pen or distortion."""
    for i in range(50):
        h = S.Hand.random(random.Random(i))
        assert h.font in S.FONTS and 3 <= h.width <= 6 and (h.pen, h.elastic, h.wander, h.vary) == (0, 0, 0, 0)


def test_simulate_rejects_an_unknown_degradation_in_japanese(tmp_path):
    r = _run(tmp_path / "home", "simulate", str(tmp_path / "none.pdf"), "--out", str(tmp_path / "out"),
             "--degrade", "blurry")
    assert r.returncode != 0
    assert "--degrade の値が不明です: blurry" in r.stderr and "photo" in r.stderr
    assert not (tmp_path / "out").exists()
    with pytest.raises(S.JunkaiError, match="劣化の種類が不明です"):
        S.simulate(tmp_path / "none.pdf", tmp_path / "out", 1, b"k" * 32, degrade="blurry")


@pytest.fixture(scope="module")
def classes(tmp_path_factory):
    """A few pre-filled and blank cards simulated in each degradation class, and once as a mix."""
    from junkai import qr

    home, cards_pdf, blank_pdf = printed()
    key = qr.station_key(home)
    out = tmp_path_factory.mktemp("classes")
    for cls in S.DEGRADATIONS:
        S.simulate(cards_pdf, out / cls / "a", 3, key, limit=3, degrade=cls)
        S.simulate(blank_pdf, out / cls / "b", 3, key, degrade=cls)
    S.simulate(cards_pdf, out / "mix", 5, key, limit=8, degrade="mix")
    return key, out


def _aligned_and_identified(folder: Path, key: bytes) -> list[tuple[dict, bool, bool]]:
    """Every card page of a simulated folder: (truth, aligned with the right turn, identified by its QR),
    through the reader's own alignment and QR decoding."""
    from junkai import JunkaiError, qr
    from ocr import align as A
    from ocr.pages import iter_pages
    from ocr.read import align

    truth = json.loads((folder / "truth.json").read_text(encoding="utf-8"))
    want = {(p["file"], p["page"]): p for p in truth["pages"] if p["kind"] == "card"}
    out = []
    for name in sorted({f for f, _ in want}):
        for page in iter_pages(folder / name):
            t = want.get((name, page.index + 1))
            if t is None:  # a blank back side
                continue
            try:
                al = align(page.image, page.dpi)
            except A.AlignmentError:
                out.append((t, False, False))
                continue
            ids = set()
            for text in A.decode_qr(al.image) or A.decode_qr(A.luminance(page.image)):
                try:
                    p = qr.decode(text, key)
                    ids.add((p.print_id, p.page))
                except JunkaiError:
                    pass
            out.append((t, al.rotation == t["scan"]["quarter"], ids == {(t["print_id"], t["sheet"])}))
    return out


# Measured on 66 pages a class (6 seeds, 11 pages each): clean, ordinary, light, dark and bw
# 66/66 aligned and identified; noisy 66/66 aligned, QR read on 64/66 (specks and mottle on the
# code: the printed id is the reader's way then); photo (88 pages) QR read on 88/88, aligned with
# the right turn on 86/88 (a deep shadow on white paper passed the reader's fixed grey threshold for
# the printed QR and title, which decide the turn). Once the simulated marks changed (other random draws),
# a bw page here lost its QR to dithering (1 of 5). A sample of 5-7 pages a class here: one miss allowed.
MIN_IDENTIFIED = {"noisy": 0.8, "bw": 0.8}
MIN_ALIGNED = {"photo": 0.8}


@pytest.mark.slow
@pytest.mark.parametrize("cls", S.DEGRADATIONS)
def test_each_class_is_aligned_and_identified(classes, cls):
    key, out = classes
    pages = _aligned_and_identified(out / cls / "a", key) + _aligned_and_identified(out / cls / "b", key)
    assert len(pages) >= 5
    assert all(t["degrade"] == cls for t, _, _ in pages)
    aligned = sum(a for _, a, _ in pages) / len(pages)
    identified = sum(i for _, _, i in pages) / len(pages)
    assert aligned >= MIN_ALIGNED.get(cls, 1.0), [(t["file"], t["scan"]) for t, a, _ in pages if not a]
    assert identified >= MIN_IDENTIFIED.get(cls, 1.0), [(t["file"], t["scan"]) for t, _, i in pages if not i]


@pytest.mark.slow
def test_truth_records_each_page_class_and_writer(classes):
    _, out = classes
    truth = json.loads((out / "mix" / "truth.json").read_text(encoding="utf-8"))
    assert truth["degrade"] == "mix"
    pages = truth["pages"]
    assert {p["degrade"] for p in pages} <= set(S.DEGRADATIONS) and len({p["degrade"] for p in pages}) >= 2
    for p in pages:
        assert p["scan"]["degrade"] == p["degrade"]
        if p["kind"] == "card":
            assert p["writers"] == ("faint" if p["degrade"] == "light" else "varied") and p["hand"]["font"]
    # the pages of one file share a class (a scanner setting, or one phone picture a file)
    by_file = {}
    for p in pages:
        by_file.setdefault(p["file"], set()).add(p["degrade"])
    assert all(len(v) == 1 for v in by_file.values())
    assert all(p["file"].endswith(".jpg") and p["page"] == 1 for p in pages if p["degrade"] == "photo")
    bw = json.loads((out / "bw" / "a" / "truth.json").read_text(encoding="utf-8"))["pages"]
    assert all(p["scan"]["mode"] == "bw" and p["scan"]["dpi"] == 200 for p in bw)
