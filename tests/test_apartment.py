"""The 集合住宅用 card: a third card type, first published as version 2 and printed legibly;
linked to the premises of its rooms by address."""

from __future__ import annotations

import json
import random
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pdfplumber
import pytest
from typer.testing import CliRunner

from junkai import form as F, model, printing, qr
from junkai import simulate as S
from junkai.cli import app
from junkai.readings import FieldReading, Identity, PageReading, PageStatus
from junkai.reconcile import reconcile_page
from junkai.settings import DEFAULT_THRESHOLDS
from junkai.store import Store

runner = CliRunner()
MM = 25.4 / 72  # mm per point
NOW = datetime(2026, 11, 26, 9, 30)
BEAT = "S01-P01-B1"
BUILDING = dict(building_name="新町ハイツ", building_kana="シンマチハイツ", owner="株式会社青森不動産",
                owner_phone="017-723-1234", manager="青森管理サービス", manager_phone="017-734-5678", units=24,
                autolock="あり", entry="管理人室で呼出し", manager_hours="平日 9時〜17時")


def run(*args):
    return runner.invoke(app, list(args))


# --- the form ---------------------------------------------------------------------------------


def test_the_apartment_card_starts_at_version_2_and_keeps_the_anchors():
    assert F.published(model.APARTMENT) == (2,) and F.latest(model.APARTMENT) == 2
    assert F.VERSION == F.latest() == F.latest(model.HOUSEHOLD)  # existing callers: the household card's
    card, v1 = F.page(model.APARTMENT, 1), F.page(model.HOUSEHOLD, 1, 1)
    assert F._anchors(card) == F._anchors(v1)
    assert qr.decode(qr.encode(qr.Payload(model.APARTMENT, 2, qr.new_print_id(), 1, 1, 5, 3, BEAT), b"k" * 32),
                     b"k" * 32).form == model.APARTMENT
    with pytest.raises(Exception, match="apartment 第1版.*第2版から"):
        F.page(model.APARTMENT, 1, version=1)
    # every card field of the model has its box, and every box is inside the page, none overlapping
    ids = {f.id for f in card.fields}
    assert set(model.APARTMENT_FIELDS) <= ids
    assert not [(a.id, b.id) for i, a in enumerate(card.fields) for b in card.fields[i + 1:] if a.box.overlaps(b.box)]
    assert all(f.box.right <= F.RIGHT and f.box.bottom <= F.PAGE_H - 13 for f in card.fields)


def test_version_2_of_the_other_types_is_registered_beside_it(monkeypatch):
    from junkai.form import apartment_v2, v2

    monkeypatch.setattr(F, "_PUBLISHED", dict(F._PUBLISHED))
    assert F.published() == (1, 2) and F.published(model.APARTMENT) == (2,)
    assert F._PUBLISHED[2] == {model.HOUSEHOLD: v2.build, model.BUSINESS: v2.build, model.APARTMENT: apartment_v2.build}
    assert isinstance(F.page(model.APARTMENT, 1, 2), apartment_v2.Sheet)
    assert isinstance(F.page(model.BUSINESS, 1, 2), v2.Sheet)
    for types in ((model.APARTMENT,), (model.HOUSEHOLD,)):
        with pytest.raises(Exception, match="公開済み"):
            F.publish(2, lambda form, n: F.page(form, n), types=types)


def test_tick_boxes_sit_before_their_label_with_a_wider_gap_to_the_next_pair():
    for f in F.page(model.APARTMENT, 1).fields:
        opts = [o for o in f.options if o.label]
        for a, b in zip(opts, opts[1:]):
            if a.box.y == b.box.y:
                assert a.label_box.x - a.box.right < b.box.x - a.label_box.right, f.id


# --- through the command line: add, amend, print, describe, history ---------------------------


@pytest.fixture
def building(home):
    r = run("seed", "--premises", "20", "--seed", "3", "--until", "2026-11-20")
    assert r.exit_code == 0, r.output
    for name, kind, room in (("building", "apartment", None), ("room", "household", "203"),
                             ("other", "household", None)):
        args = ["premises", "add", "--beat", BEAT, "--postal-code", "030-0801", "--town", "新町", "--block", "1-2-3",
                "--kind", kind]
        if name != "other":
            args += ["--building", "新町ハイツ"] + (["--room", room] if room else [])
        r = run(*args)
        assert r.exit_code == 0, r.output
    from junkai import settings

    store = Store(settings.load().db_url)
    with store.transaction():
        p = store.frame("premises")
    store.close()
    p = p[(p.town == "新町") & (p.block == "1-2-3")]
    ids = {"building": int(p[p.kind == "apartment"].id.iloc[0]),
           "room": int(p[(p.kind == "household") & (p.room == "203")].id.iloc[0]),
           "other": int(p[(p.kind == "household") & p.building.isna()].id.iloc[0])}
    changes = [f"{k}={v}" for k, v in BUILDING.items()] + ["contacts.1.name=佐藤 一郎", "contacts.1.phone=090-1234-5678"]
    r = run("card", "amend", str(ids["building"]), *changes)
    assert r.exit_code == 0, r.output
    return ids


def test_a_building_card_is_added_amended_and_linked_to_its_rooms(building):
    doc = json.loads(run("history", str(building["building"]), "--json").output)
    assert doc["premises"]["kind"] == "apartment" and doc["card"]["units"] == 24
    assert doc["card"]["autolock"] == "あり" and doc["card"]["owner_phone"] == "017-723-1234"
    assert doc["rooms"] == [building["room"]]  # the room in the same building; not the house next door
    room = json.loads(run("history", str(building["room"]), "--json").output)
    assert room["building"] == building["building"] and room["rooms"] == []
    assert json.loads(run("history", str(building["other"]), "--json").output)["building"] is None
    r = run("history", str(building["building"]))
    assert "この建物の各戸" in r.output and "203" in r.output
    r = run("history", str(building["room"]))
    assert f"建物のカード: 各戸 {building['building']}" in r.output
    r = run("card", "amend", str(building["building"]), "autolock=たぶん")
    assert r.exit_code == 2
    out = Path("cards.json")
    r = run("export", "--what", "cards", "--format", "json", "--out", str(out))
    assert r.exit_code == 0, r.output
    rows = json.loads(out.read_text(encoding="utf-8"))["rows"]
    [row] = [x for x in rows if x["premises_id"] == building["building"]]
    assert row["units"] == 24 and row["entry"] == "管理人室で呼出し" and row["contacts.1.name"] == "佐藤 一郎"


def test_form_describe_of_the_apartment_card(home):
    r = run("form", "describe", "--type", "apartment")
    assert r.exit_code == 0 and json.loads(r.output)["version"] == 2
    r = run("form", "describe", "--type", "apartment", "--form-version", "1")
    assert r.exit_code == 2
    assert r.output.strip().splitlines() == ["エラー: この版の様式は読めません: apartment 第1版 (公開済み: 第2版)。"
                                              "この種類のカードは第2版からです"]


def _rects(page) -> list[F.Box]:
    return [F.Box(r["x0"] * MM, r["top"] * MM, r["width"] * MM, r["height"] * MM) for r in page.rects]


def _near(a: F.Box, b: F.Box, tol: float = 0.15) -> bool:
    return all(abs(p - q) <= tol for p, q in ((a.x, b.x), (a.y, b.y), (a.w, b.w), (a.h, b.h)))


@pytest.mark.slow
def test_a_beats_building_cards_are_printed_legibly(building, tmp_path):
    r = run("print", "cards", "--beat", BEAT, "--type", "apartment", "--out-dir", str(tmp_path / "out"))
    assert r.exit_code == 0, r.output
    assert "カード 1 枚" in r.output  # the building only, not the beat's households
    pdf = Path(r.output.strip().splitlines()[-1])
    layout = F.page(model.APARTMENT, 1)
    with pdfplumber.open(pdf) as doc:
        page = doc.pages[-1]  # after the cover
        chars = [c for c in page.chars if c["text"].strip()]
        rects = _rects(page)
        words = page.extract_text()
    assert "巡回連絡カード" in words and "新町ハイツ" in words and "管理人室で呼出し" in words
    # the print id keeps version 1's box (read before the version is known): it may shrink to fit there
    pid = layout.slot("print_id").box
    small = sorted({(c["text"], round(c["size"], 1)) for c in chars if c["size"] < 8.0 - 0.05
                    and not pid.contains(F.Box(c["x0"] * MM, c["top"] * MM, c["width"] * MM, c["height"] * MM), 0.5)})
    assert not small, small[:20]  # every label, caption, unit and option 8 pt or more
    value = [c for c in chars if c["text"] in "呼出" and layout.field("entry").value_box.x <= c["x0"] * MM]
    assert value and min(c["size"] for c in value) >= 10.0 - 0.05  # a printed value
    notice = [c for c in chars if c["top"] * MM < 57 and c["top"] * MM > 40]
    assert notice and min(c["size"] for c in notice) >= 10.0 - 0.05  # the instructions
    checked = 0
    for f in layout.fields:
        if f.prefilled_only or f.id.endswith(".change"):
            continue
        frame = [b for b in rects if _near(b, f.box)]
        assert frame, f.id
        if f.kind in ("text", "kana", "free", "digits", "date"):
            assert f.box.h - f.label_box.h >= 8.0, f.id  # the writing height below the strip
        for c in f.cells:
            assert any(_near(b, c) and b.w >= 6.0 and b.h >= 6.0 for b in rects), (f.id, c)
        for o in f.options:
            assert any(_near(b, o.box) and b.w >= 5.0 and b.h >= 5.0 for b in rects), (f.id, o.value)
        checked += 1
    assert checked > 15


# --- the card returned: reconcile -------------------------------------------------------------


def test_a_returned_building_card_changes_the_card(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 's.db'}")
    store.migrate()
    with store.transaction():
        from junkai.seed import seed

        seed(store, 10, 1, 3, date(2026, 11, 20), "試験")
        pid = store.add_premises(model.APARTMENT, BEAT, dict(postal_code="0300801", prefecture="青森県", city="青森市",
                                                             town="新町", block="1-2-3", building="新町ハイツ"), NOW, "試験")
        store.change_card(pid, list(BUILDING.items()), NOW, "operator", "試験")
        batch = printing.plan(store, beat=BEAT, kind=model.APARTMENT, operator="試験", now=NOW)
        printing.record(store, batch, tmp_path / "cards.pdf")
    [job] = batch.jobs
    assert job.form == model.APARTMENT
    page = F.page(job.form, 1)
    read = [("building.change", F.CHANGED), ("units", "26"), ("owner.change", F.UNCHANGED),
            ("address.change", F.UNCHANGED), ("contacts.change", F.UNCHANGED)]
    fields = [FieldReading(fid, page.field(fid).kind, page.field(fid).section, page.field(fid).path, v, 0.99,
                           ink=v != F.UNCHANGED) for fid, v in read]
    identity = Identity(print_id=job.print_id, premises_id=pid, card_version=job.version, beat=BEAT, sheet=1,
                        sheets=1, form=job.form, form_version=2)
    result = PageReading("x.pdf", 1, PageStatus.OK, form=job.form, form_version=2, sheet=1, identity=identity,
                         fields=fields)
    with store.transaction():
        out = reconcile_page(store, "p1", result, "試験", dict(DEFAULT_THRESHOLDS, digits=0.9), date(2026, 11, 27))
    with store.transaction():
        card = store.card(pid)
    assert out.confirmed and card.data["units"] == 26 and card.data["autolock"] == "あり"
    assert card.confirmed_on is not None


# --- printed, filled by the simulator, scanned clean and read back -----------------------------


@pytest.mark.slow
def test_a_blank_building_card_is_filled_scanned_and_read_back(tmp_path):
    from ocr import read as R

    key = qr.station_key(tmp_path / "home")
    job = printing.Job(qr.new_print_id(), 1, model.APARTMENT, BEAT, "試験交番", "試験 太郎")
    batch = printing.Batch(printing.new_batch_id(NOW), NOW, "試験", dict(beat=BEAT, blank=1), [job],
                           [dict(id=BEAT, name="試験区", post="試験交番", officer="試験 太郎")])
    pdf = tmp_path / "blank.pdf"
    with open(pdf, "wb") as fh:
        printing.write(batch, fh, key)
    [[sheet]] = S._printed_sheets(pdf, key)
    assert sheet.payload.form == model.APARTMENT and sheet.layout.version == 2
    rng = random.Random(5)
    S._fill_building(sheet, S.Resident(rng, ("佐藤", "サトウ")))
    scans = tmp_path / "scans"
    scans.mkdir()
    scan = S.Scan(300, "grey", 0.3, 0, (0.5, -0.5), 1.0, 0, 0, None, "clean")
    scan.apply(sheet.image, np.random.default_rng(5)).save(scans / "a.png", dpi=(300, 300))
    reader = R.Reader(key, tmp_path / "crops", tmp_path / "quarantine")
    [r] = list(reader.read_paths([scans], workers=1))
    assert r.status == R.OK, r.messages
    assert (r.form, r.form_version) == (model.APARTMENT, 2)
    # every value as written; only a real person's digit may be misread, and then never trusted
    unsure = []
    for fid, written in sheet.values.items():
        got = r.field(fid)
        if got.kind == "digits" and got.value != written:
            assert got.confidence < DEFAULT_THRESHOLDS["digits"], (fid, got.value, written)
            unsure.append(fid)
            continue
        plain = (lambda v: v.replace("\u3000", "").replace(" ", "")) if isinstance(written, str) else (lambda v: v)
        assert plain(got.value) == plain(written), (fid, got.value, written, got.detail)
    assert len(unsure) <= 1 and {"building_name", "units", "autolock", "entry", "owner"} <= set(sheet.values)
