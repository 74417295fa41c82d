"""The scan simulator: what it writes, how it scans, and that it stays apart from the reader."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from junkai import form as F
from junkai import simulate as S
from tests.ocr_cards import printed


def _run(home: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, JUNKAI_HOME=str(home), JUNKAI_USER="試験")
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


def test_same_seed_same_truth(simulated, tmp_path):
    home, cards_pdf, _, truth = simulated
    r = _run(home, "simulate", str(cards_pdf), "--out", str(tmp_path), "--seed", "4", "--limit", "4")
    assert r.returncode == 0, r.stderr
    again = json.loads((tmp_path / "truth.json").read_text(encoding="utf-8"))
    assert again["pages"] == truth["pages"]


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
