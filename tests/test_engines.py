"""The text recognisers behind the seam: PP-OCR on handwriting-style crops, and PP-OCR with Tesseract's
second opinion, whose agreement raises the confidence and whose disagreement lowers it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image, ImageDraw, ImageFont

from junkai import JunkaiError
from junkai import qr as Q
from junkai.readings import Candidate
from ocr import engines as E
from ocr.engines import combined as C
from ocr.engines import ppocr as PP

HANDS = ["/usr/share/fonts/truetype/klee/KleeOne-Regular.ttf", "/usr/share/fonts/truetype/seto/setofont.ttf",
         "/usr/share/fonts/truetype/kiloji/kiloji.ttf"]
PRINT = "/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf"
NAMES = [("佐藤　花子", "サトウ　ハナコ"), ("工藤　健一", "クドウ　ケンイチ"), ("三上　美咲", "ミカミ　ミサキ")]


def render(text: str, font: str, size: int = 44, width: int = 560, height: int = 70, lines: int = 1) -> np.ndarray:
    """A crop as the reader cuts it: grey, white paper, dark ink, a little room around the writing."""
    f = ImageFont.truetype(font, size)
    im = Image.new("L", (width, height * lines), 255)
    draw = ImageDraw.Draw(im)
    for i, line in enumerate(text.split("\n")):
        draw.text((14, 10 + i * height), line, font=f, fill=30)
    return np.array(im)


def flat(text: str) -> str:
    return C.fold(text)


# --- PP-OCR ---------------------------------------------------------------------------------


def test_the_model_ships_in_the_installed_package():
    import rapidocr

    path = PP.model_file()
    assert path.is_file() and path.stat().st_size > 1_000_000
    assert Path(rapidocr.__file__).parent in path.parents  # inside site-packages, not a download cache


def test_ppocr_reads_without_the_network_and_leaves_no_trace(tmp_path):
    """A fresh process with every network connection refused and an empty home: it reads all the same,
    so nothing is fetched at run time, and nothing is written to the home (no telemetry device id)."""
    code = """
import socket, numpy as np
def refuse(*a, **k):
    raise OSError("network refused in this test")
socket.socket.connect = refuse
socket.create_connection = refuse
from PIL import Image, ImageDraw, ImageFont
im = Image.new("L", (420, 70), 255)
ImageDraw.Draw(im).text((14, 10), "青森市新町", font=ImageFont.truetype(%r, 44), fill=30)
from ocr.engines import Crop, CropKind
from ocr.engines.ppocr import PPOCR
print(PPOCR().read([Crop(np.array(im), CropKind.TEXT)])[0][0].text)
""" % PRINT
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORT_")}
    env.update(HOME=str(tmp_path), XDG_CACHE_HOME=str(tmp_path / "cache"), NO_PROXY="",
               HTTP_PROXY="http://127.0.0.1:9", HTTPS_PROXY="http://127.0.0.1:9")
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                       cwd=Path(__file__).parent.parent, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "青森市新町"
    assert not any(tmp_path.iterdir())  # nothing was cached or written anywhere in the home


def test_ppocr_reads_handwritten_names_and_kana():
    crops, want = [], []
    for font in HANDS:
        for name, kana in NAMES:
            crops += [E.Crop(render(name, font), E.CropKind.NAME), E.Crop(render(kana, font), E.CropKind.KANA)]
            want += [name, kana]
    read = PP.PPOCR().read(crops)
    assert all(len(r) == 1 and r[0].engine == "ppocr" and 0 < r[0].confidence <= 1 for r in read)
    right = [flat(r[0].text) == flat(w) for r, w in zip(read, want)]
    # measured: all 18 right; Tesseract reads fewer than half of these
    assert sum(right) >= 16, [(r[0].text, w) for r, w in zip(read, want)]
    assert np.mean([r[0].confidence for r, ok in zip(read, right) if ok]) > 0.9


def test_kana_are_read_as_kana_and_text_in_japanese_characters():
    """The model knows Chinese too; each kind is decoded over the characters it can hold."""
    kana = PP.PPOCR().read([E.Crop(render("カワグチ　タロウ", HANDS[0]), E.CropKind.KANA)])[0][0].text
    assert all(PP._kana(c) for c in kana)
    text = PP.PPOCR().read([E.Crop(render("岩手県盛岡市本宮", HANDS[2]), E.CropKind.TEXT)])[0][0].text
    assert "宫" not in text and all(PP._japanese(c) for c in text)


@pytest.mark.parametrize("read, meant", [
    ("タッヤ", "タツヤ"), ("ダィスケ", "ダイスケ"), ("ッカサ", "ツカサ"), ("サトウ　ッヨシ", "サトウ　ツヨシ"), ("たっや", "たつや"),
    ("ハットリ", "ハットリ"), ("ホッタ", "ホッタ"), ("キョウコ", "キョウコ"), ("ティナ", "ティナ"), ("しょうた", "しょうた"),
])
def test_small_kana_where_spelling_cannot_have_them_are_big(read, meant):
    assert PP.big_kana(read) == meant


def test_ppocr_reads_the_printed_id_in_its_alphabet():
    ids = [Q.new_print_id() for _ in range(4)]
    crops = [E.Crop(render(Q.show_print_id(i), PRINT, size=34, width=300, height=54), E.CropKind.PRINT_ID)
             for i in ids]
    read = PP.PPOCR().read(crops)
    assert all(set(r[0].text) <= set(Q.ALPHABET + "-") for r in read)
    assert [Q.normalize_print_id(r[0].text) for r in read] == ids


def test_free_writing_is_read_line_by_line_in_order():
    crop = render("防犯講習会を開いてほしい。\n夜の見回りをお願いします。", HANDS[0], width=900, lines=2)
    assert len(PP.lines(crop)) == 2
    read = PP.PPOCR().read([E.Crop(crop, E.CropKind.FREE)])[0]
    assert flat(read[0].text) == "防犯講習会を開いてほしい。夜の見回りをお願いします。"


def test_nothing_written_is_nothing_read_and_a_speck_is_no_writing():
    empty = np.full((70, 560), 255, np.uint8)
    speck = empty.copy()
    speck[30:32, 200:202] = 0  # a 2×2 px dot of dust
    assert PP.PPOCR().read([E.Crop(empty, E.CropKind.NAME), E.Crop(speck, E.CropKind.TEXT)]) == [[], []]


# --- both: PP-OCR with Tesseract's second opinion ----------------------------------------------


class Fixed:
    """A sub-engine for the logic of combining: the same answers for every call."""

    def __init__(self, name: str, answers: list[tuple[str, float] | None]):
        self.name, self.answers, self.asked = name, answers, []

    def read(self, crops):
        self.asked.append([c.kind for c in crops])
        return [[Candidate(a[0], a[1], self.name)] if a else [] for a in self.answers[:len(crops)]]


def _crops(n: int, kind=E.CropKind.NAME) -> list[E.Crop]:
    return [E.Crop(np.full((10, 10), 255, np.uint8), kind) for _ in range(n)]


def test_agreement_raises_the_confidence_and_disagreement_lowers_it():
    pp = Fixed("ppocr", [("山田　太郎", 0.9), ("ヤマダ タロウ", 0.9), ("青森市", 0.99), (None), ("佐藤", 0.8)])
    ts = Fixed("tesseract", [("山田太郎", 0.6), ("ヤマダタロウ", 0.3), ("青森巾", 0.95), ("会社員", 0.9), None])
    read = C.Combined(pp, ts).read(_crops(5))
    agreed, agreed_weak, disputed, only_second, only_first = read
    # full- and half-width spaces and widths folded: the same reading
    assert agreed[0] == Candidate("山田　太郎", agreed[0].confidence, "ppocr") and agreed[0].confidence > 0.9
    assert agreed[1].engine == "tesseract" and agreed[1].text == "山田太郎"
    assert 0.9 < agreed_weak[0].confidence < agreed[0].confidence  # a surer second opinion is more evidence
    # a dispute is doubt, however sure either engine is: both readings kept, PP-OCR's first
    assert [c.engine for c in disputed] == ["ppocr", "tesseract"] and [c.text for c in disputed] == ["青森市", "青森巾"]
    assert disputed[0].confidence <= C.DOUBT * 0.99 < agreed_weak[0].confidence
    assert only_second == [Candidate("会社員", round(C.DOUBT * 0.9, 3), "tesseract")]
    assert only_first[0].confidence == round(C.DOUBT * 0.8, 3)
    assert C.Combined(Fixed("ppocr", [None]), Fixed("tesseract", [None])).read(_crops(1)) == [[]]


@given(st.floats(0, 1), st.floats(0, 1), st.floats(0, 1), st.floats(0, 1))
def test_the_combined_confidence_is_monotone_and_every_agreement_ranks_above_every_dispute(p, q, t, u):
    lo_p, hi_p = sorted((p, q))
    lo_t, hi_t = sorted((t, u))
    assert C.agreed(lo_p, lo_t) <= C.agreed(hi_p, lo_t) and C.agreed(lo_p, lo_t) <= C.agreed(lo_p, hi_t)
    assert C.disputed(lo_p) <= C.disputed(hi_p)
    assert C.agreed(p, t) >= p >= C.disputed(p)
    assert C.disputed(hi_p) <= C.DOUBT <= C.agreed(lo_p, lo_t)


def test_tesseract_is_asked_only_about_the_kinds_given():
    pp = Fixed("ppocr", [("ヤマダ", 0.99), ("メモ", 0.99)])
    ts = Fixed("tesseract", [("ヤマダ", 0.9)])
    crops = [E.Crop(np.full((10, 10), 255, np.uint8), E.CropKind.KANA),
             E.Crop(np.full((10, 10), 255, np.uint8), E.CropKind.FREE)]
    kana, free = C.Combined(pp, ts, second_kinds={E.CropKind.KANA}).read(crops)
    assert ts.asked == [[E.CropKind.KANA]]
    assert kana[0].confidence > 0.99 and free[0].confidence == round(C.DOUBT * 0.99, 3)  # not confirmed: in doubt


def test_a_tesseract_timeout_leaves_ppocrs_readings_in_doubt():
    class Slow:
        name = "tesseract"

        def read(self, crops):
            raise E.RecogniserTimeout("遅すぎます")

    read = C.Combined(Fixed("ppocr", [("山田", 0.99)]), Slow()).read(_crops(1))
    assert read == [[Candidate("山田", round(C.DOUBT * 0.99, 3), "ppocr")]]


def test_tesseract_runs_on_one_thread_unless_the_operator_says_otherwise():
    code = "import os; from ocr.engines import tesseract; print(os.environ['OMP_THREAD_LIMIT'])"
    env = {k: v for k, v in os.environ.items() if k != "OMP_THREAD_LIMIT"}
    run = lambda env: subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                                     check=True).stdout.strip()
    assert run(env) == "1"  # inherited by every Tesseract process the reader starts
    assert run(dict(env, OMP_THREAD_LIMIT="2")) == "2"


@pytest.mark.slow
def test_both_engines_for_real_agree_on_clear_writing_and_the_confidence_rises():
    """End to end: PP-OCR and Tesseract on the same printed-clear crops."""
    crops = [E.Crop(render("青森市長島", PRINT), E.CropKind.TEXT), E.Crop(render("サトウ　ハナコ", PRINT), E.CropKind.KANA)]
    alone = PP.PPOCR().read(crops)
    both = E.create("both").read(crops)
    for a, b in zip(alone, both):
        assert [c.engine for c in b] == ["ppocr", "tesseract"]
        assert flat(b[0].text) == flat(b[1].text) == flat(a[0].text)
        assert b[0].confidence >= a[0].confidence and b[0].confidence > 0.95


# --- the seam ----------------------------------------------------------------------------------


def test_engines_are_registered_and_an_unknown_one_is_told_in_japanese():
    assert {"tesseract", "ppocr", "both"} <= set(E.ENGINES)
    assert E.create("ppocr").name == "ppocr" and E.create("both").name == "both"
    with pytest.raises(JunkaiError, match="文字認識エンジンが分かりません.*ppocr.*both"):
        E.create("paddle")


def test_a_new_engines_handwriting_waits_for_a_person_until_calibrated(tmp_path):
    from junkai import settings

    config = tmp_path / "junkai.toml"
    config.write_text('[ocr]\nengine = "both"\n', encoding="utf-8")
    s = settings.load({"JUNKAI_HOME": str(tmp_path / "home"), "JUNKAI_CONFIG": str(config)})
    assert s.ocr_engine == "both"
    assert all(s.thresholds[k] > 1 for k in ("text", "kana", "free"))


@pytest.mark.slow
def test_the_reader_reads_a_filled_card_with_both_engines():
    """A blank card filled in by hand, scanned, read by the reader with "both": the handwriting is read
    right, both engines' readings are kept, and a reading they dispute waits with low confidence."""
    import random
    from datetime import date

    from junkai import simulate as S
    from ocr import pages as P
    from ocr import read as R
    from tests.ocr_cards import printed

    home, _, blank_pdf = printed()
    key = Q.station_key(home)
    card = S._printed_sheets(blank_pdf, key, limit=1)[0]
    S.fill_card(card, random.Random(5), date(2026, 11, 20))
    sheet = card[0]
    img = S.Scan(300, "grey", 0.8, 0, (1, 1), 1.0, 0, 3, None).apply(sheet.image, np.random.default_rng(1))
    r = R.Reader(key, engine="both").read(P.Page("filled.png", 0, np.asarray(img), 300.0))
    written = {fid: v for fid, v in sheet.values.items() if r.field(fid).kind in ("text", "kana", "free")}
    fields = [r.field(fid) for fid in written]
    assert len(fields) >= 4 and all(f.candidates and f.candidates[0].engine == "ppocr" for f in fields)
    right = [flat(f.value or "") == flat(written[f.id]) for f in fields]
    assert sum(right) >= len(right) - 1, [(f.value, written[f.id]) for f in fields]
    for f in fields:
        engines = {c.engine for c in f.candidates}
        if f.kind != "free":
            assert engines == {"ppocr", "tesseract"} or f.confidence <= C.DOUBT
        if f.kind != "free" and f.confidence <= C.DOUBT:  # disputed: the reviewer is told so
            assert "engines_disagree" in f.reasons or "low_confidence" in f.reasons
        if f.confidence < 0.6:
            assert "low_confidence" in f.reasons
