"""Printed cards, read back the way a scan will be: real WeasyPrint form pages, the real
stamped PDF parsed with pdfplumber, pages rasterised with pdfium and QR codes decoded
with zxing-cpp. One batch is rendered for the whole module and examined from many sides."""

from __future__ import annotations

import json
import re
import stat
from datetime import date, datetime
from types import SimpleNamespace

import pdfplumber
import pypdfium2
import pytest
import zxingcpp
from typer.testing import CliRunner

from junkai import form as F, model, printing, qr
from junkai.cli import app
from junkai.seed import seed
from junkai.store import Store

MM = 72 / 25.4
TOL = 1.0  # mm: the tolerance for a printed value and its box
NOW = datetime(2026, 11, 26, 9, 30)
# every test renders cards through WeasyPrint, most of them from one batch printed for the module
pytestmark = pytest.mark.slow

# Long but real: a four-character surname, the longest town names of Aomori Prefecture in
# the postal data, an apartment name from the demo word lists stacked twice.
LONG_NAME, LONG_KANA = "勅使河原 佐和子", "テシガワラ サワコ"
LONG_TOWN = ("東津軽郡外ヶ浜町", "三厩源兵衛間", "0301711")
LONG_BUILDING = "ロイヤルエスポワールレジデンス外ヶ浜"
LONG_CONTACT_ADDRESS = "北海道札幌市中央区南一条西10丁目1-23 ロイヤルエスポワールレジデンス 1203号室"
ABSURD_NOTE = ("日中は不在が多く、夕方以降は高齢の母のみ在宅。大型犬（秋田犬）を二頭飼っており、門扉の内側に"
               "入る際は必ずインターホンで声をかけてください。冬期は除雪のため裏口を使用。") * 2


def _add(store, kind, beat, town, block, building=None, room=None, changes=()):
    city, name, code = town
    pid = store.add_premises(kind, beat, dict(postal_code=code, prefecture="青森県", city=city, town=name,
                                              block=block, building=building, room=room), NOW, "試験")
    if changes:
        store.change_card(pid, changes, NOW, "operator", "試験")
    return pid


def _member(n: int, name: str, kana: str, relation: str, born: str, **more):
    return (f"members.{n}", dict(name=name, kana=kana, relation=relation, sex="女" if n % 2 else "男",
                                  birth_date=born, **more))


@pytest.fixture(scope="module")
def printed(tmp_path_factory):
    home = tmp_path_factory.mktemp("print")
    store = Store(f"sqlite:///{home / 'junkai.sqlite3'}")
    store.migrate()
    with store.transaction():
        seed(store, 40, 1, 3, date(2026, 11, 20), "試験")
        beat = store.summary().beat.iloc[0]
        town = ("青森市", "試験町", "0300111")
        # a large household with long values: 11 members, 3 contacts -> three sheets
        big = [_member(1, LONG_NAME, LONG_KANA, "世帯主", "1942-03-04", occupation="青森県立青森東高等学校 教諭",
                       mobile="090-1234-5678")]
        big += [_member(n, f"勅使河原 {g}", f"テシガワラ {k}", "子" if n > 2 else "配偶者", f"19{60 + n}-0{1 + n % 9}-1{n % 9}")
                for n, (g, k) in enumerate([("一郎", "イチロウ"), ("二郎", "ジロウ"), ("三郎", "サブロウ"), ("四郎", "シロウ"),
                                            ("五郎", "ゴロウ"), ("六郎", "ロクロウ"), ("七郎", "シチロウ"),
                                            ("八郎", "ハチロウ"), ("九郎", "クロウ"), ("十郎", "ジュウロウ")], start=2)]
        contacts = [(f"contacts.{n}", dict(name=f"勅使河原 {g}", relation="長男", address=LONG_CONTACT_ADDRESS,
                                           phone="03-1234-5678")) for n, g in ((1, "太郎"), (2, "花子"), (3, "幸子"))]
        big_id = _add(store, model.HOUSEHOLD, beat, LONG_TOWN, "10丁目123-45", LONG_BUILDING, "1203",
                      big + contacts + [("home_phone", "0174-31-2345"), ("dwelling", "集合住宅"),
                                        ("visit_days", ["平日", "日曜・祝日"]), ("visit_times", ["夕方", "夜間"]),
                                        ("notes", ABSURD_NOTE)])
        # walking order: "2" before "10" in the same town
        ten = _add(store, model.HOUSEHOLD, beat, town, "10-1", changes=[_member(1, "佐藤 一", "サトウ ハジメ", "世帯主", "1980-01-02")])
        two = _add(store, model.HOUSEHOLD, beat, town, "2-1", changes=[_member(1, "佐藤 二", "サトウ ツギ", "世帯主", "1981-01-02")])
        biz = _add(store, model.BUSINESS, beat, town, "2-5", changes=[
            ("business_name", "有限会社三厩源兵衛間りんご園工務店"), ("business_kana", "ユウゲンガイシャミンマヤゲンベエマリンゴエンコウムテン"),
            ("industry", "建設業"), ("employees", 120), ("representative", LONG_NAME), ("manager_phone", "0174-35-1111"),
            ("security", ["防犯カメラ", "補助錠・防犯ガラス", "その他"]), ("business_hours", "7:00-23:00"),
            *[(f"contacts.{n}", dict(name=f"工藤 {g}", relation="従業員", phone="090-1000-200" + str(n)))
              for n, g in enumerate(["一郎", "次郎", "三郎", "四郎", "五郎"], start=1)]])
        seeded = [c.premises["id"] for c in store.cards_of_beat(beat)
                  if c.version and c.premises["status"] == model.ACTIVE][:4]
        batch = printing.plan(store, premises_ids=seeded + [big_id, ten, two, biz], operator="試験", now=NOW)
        for form_type in F.TYPES:
            batch.jobs += printing.plan(store, beat=beat, blank=1, blank_form=form_type, operator="試験", now=NOW).jobs
        for i, job in enumerate(batch.jobs):
            job.seq = i + 1
        key = qr.station_key(home)
        path = home / "batch.pdf"
        with open(path, "wb") as fh:
            pages = printing.write(batch, fh, key)
        printing.record(store, batch, path)
    doc = pdfplumber.open(path)
    cover = pages - batch.sheets
    sheets = []  # (job, sheet, page index in the file)
    for job in batch.jobs:
        for s in range(1, job.sheets + 1):
            sheets.append((job, s, cover + len(sheets)))
    yield SimpleNamespace(store=store, batch=batch, key=key, path=path, doc=doc, pages=pages, cover=cover,
                          sheets=sheets, ids=dict(big=big_id, ten=ten, two=two, biz=biz), beat=beat)
    doc.close()
    store.close()


def mm_box(obj) -> F.Box:
    return F.Box(obj["x0"] / MM, obj["top"] / MM, (obj["x1"] - obj["x0"]) / MM, (obj["bottom"] - obj["top"]) / MM)


def chars_in(page, box: F.Box, tol: float = TOL):
    return [c for c in page.chars if box.contains(mm_box(c), tol)]


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def stamp_font(printed) -> str:
    job, sheet, index = next(s for s in printed.sheets if not s[0].blank)
    box = F.page(job.form, sheet).slot("print_id").box
    return chars_in(printed.doc.pages[index], box)[0]["fontname"]


# --- the batch as a whole ---------------------------------------------------------------


def test_the_batch_starts_with_a_cover_sheet(printed):
    assert printed.cover >= 1 and printed.pages == printed.cover + printed.batch.sheets
    assert len(printed.doc.pages) == printed.pages
    text = printed.doc.pages[0].extract_text()
    assert "巡回連絡カード 印刷一覧" in text and printed.batch.id in text and "印刷者" in text
    assert f"カード {len(printed.batch.jobs)} 枚" in text and "白紙 2" in text
    assert "三厩源兵衛間" in text  # the towns inside are listed
    for page in printed.doc.pages[:printed.cover]:
        assert page.width == pytest.approx(595.28, abs=0.1) and page.height == pytest.approx(841.89, abs=0.1)


def test_cards_come_in_walking_order(printed):
    order = [j.premises["id"] for j in printed.batch.jobs if not j.blank]
    assert order.index(printed.ids["two"]) < order.index(printed.ids["biz"]) < order.index(printed.ids["ten"])
    blocks = ["10-1", "2-1", "2-10", "2-9", "1丁目3-2", "１０丁目1"]
    premises = [dict(id=i, city="青森市", town="本町", postal_code="0300802", block=b) for i, b in enumerate(blocks)]
    assert [p["block"] for p in printing.walking_order(premises)] == ["1丁目3-2", "2-1", "2-9", "2-10", "10-1",
                                                                      "１０丁目1"]


def test_a_large_household_gets_continuation_sheets_not_truncation(printed):
    job = next(j for j in printed.batch.jobs if not j.blank and j.premises["id"] == printed.ids["big"])
    assert len(job.rows["members"]) == 11 and len(job.rows["contacts"]) == 3
    assert job.sheets == F.pages_needed(model.HOUSEHOLD, {"members": 11, "contacts": 3}) >= 3
    mine = [(s, i) for j, s, i in printed.sheets if j is job]
    printed_names = ""
    for sheet, index in mine:
        page = printed.doc.pages[index]
        assert squash("".join(c["text"] for c in chars_in(page, F.page(job.form, sheet).slot("page").box))) == \
            f"{job.sheets}枚中{sheet}枚目"
        printed_names += page.extract_text()
    for member in job.data["members"].values():
        assert squash(member["name"]) in squash(printed_names)
    assert squash(LONG_CONTACT_ADDRESS)[:20] in squash(printed_names)


# --- values: present, inside their boxes, legible --------------------------------------------


def test_every_prefilled_value_is_inside_its_box_at_a_legible_size(printed):
    font = stamp_font(printed)
    checked = 0
    for job, sheet, index in printed.sheets:
        page_def = F.page(job.form, sheet)
        page = printed.doc.pages[index]
        stamped = [c for c in page.chars if c["fontname"] == font]
        expected = printing.values(job, page_def)
        if job.blank:
            assert not expected
        claimed = set()
        for fid, text in expected.items():
            box = page_def.field(fid).value_box
            found = [c for c in stamped if box.contains(mm_box(c), TOL)]
            assert squash("".join(c["text"] for c in found)) == squash(text), (job.print_id, fid)
            for c in found:
                assert box.contains(mm_box(c), 0.05), (fid, c["text"])  # inside, not merely within 1 mm
                assert 4.0 <= c["size"] <= page_def.value_pt + 0.01, (fid, c["size"])
            if len(squash(text)) <= 20:
                assert min(c["size"] for c in found) >= 6.0, (fid, text)
            claimed.update(id(c) for c in found)
            checked += 1
        for s in page_def.slots:
            claimed.update(id(c) for c in stamped if s.box.contains(mm_box(c), 0.05))
        stray = [c["text"] for c in stamped if id(c) not in claimed]
        assert not stray, (job.print_id, sheet, stray)  # nothing printed outside a value box or slot
    assert checked > 100


def test_long_values_shrink_or_wrap_and_never_overlap_another_box(printed):
    font = stamp_font(printed)
    mine = [s for s in printed.sheets if not s[0].blank and s[0].premises["id"] == printed.ids["big"]]

    def sheet_with(fid: str):  # a card of the newest layout may take two sheets
        job, sheet, index = next((j, s, i) for j, s, i in mine if any(f.id == fid for f in F.page(j.form, s).fields))
        return job, F.page(job.form, sheet), printed.doc.pages[index]

    job, page_def, page = sheet_with("notes")
    notes = [c for c in page.chars if c["fontname"] == font and page_def.field("notes").value_box.contains(mm_box(c), 0.05)]
    assert len({round(c["top"]) for c in notes}) >= 2  # wrapped onto more lines
    assert squash("".join(c["text"] for c in notes)) == squash(job.data["notes"])  # the store keeps it NFKC
    for f in page_def.fields:  # no stamped character reaches into a writing area or a label
        for c in page.chars:
            if c["fontname"] == font:
                assert not f.entry.overlaps(mm_box(c)), (f.id, c["text"])
    job, page_def, page = sheet_with("address")
    address = [c for c in page.chars if c["fontname"] == font and page_def.field("address").value_box.contains(mm_box(c), 0.05)]
    assert squash("".join(c["text"] for c in address)) == squash(
        f"青森県{LONG_TOWN[0]}{LONG_TOWN[1]}10丁目123-45 {LONG_BUILDING} 1203")
    # no stamped character reaches into a writing area or a label
    for f in page_def.fields:
        for c in page.chars:
            if c["fontname"] == font:
                assert not f.entry.overlaps(mm_box(c)), (f.id, c["text"])


# --- the machine side: QR codes and markers -------------------------------------------------


def render(path, index: int, dpi: int):
    pdf = pypdfium2.PdfDocument(str(path))
    try:
        return pdf[index].render(scale=dpi / 72, grayscale=True).to_numpy()
    finally:
        pdf.close()


@pytest.mark.parametrize("dpi", [150, 300])
def test_every_qr_code_decodes_from_a_rasterised_page(printed, dpi):
    pdf = pypdfium2.PdfDocument(str(printed.path))
    try:
        for job, sheet, index in printed.sheets:
            image = pdf[index].render(scale=dpi / 72, grayscale=True).to_numpy()
            found = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
            assert len(found) == 1, (job.print_id, sheet, dpi)
            assert qr.decode(found[0].text, printed.key) == printing.payload(job, sheet)
            # and it sits in the QR box of the definition
            k = dpi / 25.4
            xs = [p.x / k for p in (found[0].position.top_left, found[0].position.bottom_right)]
            ys = [p.y / k for p in (found[0].position.top_left, found[0].position.bottom_right)]
            box = F.page(job.form, sheet).qr
            assert box.x <= min(xs) and max(xs) <= box.right and box.y <= min(ys) and max(ys) <= box.bottom
    finally:
        pdf.close()


def test_a_tampered_payload_from_a_printed_card_fails(printed):
    job, sheet, index = printed.sheets[0]
    text = qr.encode(printing.payload(job, sheet), printed.key)
    premises = str(job.premises["id"])
    with pytest.raises(qr.IntegrityError):
        qr.decode(text.replace(f":{premises}:", f":{int(premises) + 1}:"), printed.key)
    with pytest.raises(qr.IntegrityError):
        qr.decode(text.replace(job.print_id, qr.new_print_id()), printed.key)


def test_markers_are_where_the_definition_says(printed):
    for job, sheet, index in printed.sheets:
        page = printed.doc.pages[index]
        black = [mm_box(r) for r in page.rects if r["fill"] and r["non_stroking_color"] in ((0,), (0, 0, 0), 0)]
        for marker in F.page(job.form, sheet).markers:
            assert any(abs(b.x - marker.x) < 0.2 and abs(b.y - marker.y) < 0.2 and abs(b.w - marker.w) < 0.2
                       and abs(b.h - marker.h) < 0.2 for b in black), (job.print_id, marker)


# --- the printed PDF and `junkai form describe` agree -----------------------------------------


def describe(kind: str) -> dict:
    r = CliRunner().invoke(app, ["form", "describe", "--type", kind, "--format", "json", "--pages", "8"])
    assert r.exit_code == 0, r.output
    return json.loads(r.output)


def test_form_describe_and_the_printed_pdf_agree(printed):
    docs = {kind: describe(kind) for kind in F.TYPES}
    seen = set()
    for job, sheet, index in printed.sheets:
        if (job.form, sheet, job.blank) in seen:
            continue
        seen.add((job.form, sheet, job.blank))
        page = printed.doc.pages[index]
        rects = [mm_box(r) for r in page.rects]
        spec = docs[job.form]["pages"][sheet - 1]

        def drawn(box: dict) -> bool:
            return any(abs(r.x - box["x"]) < 0.25 and abs(r.y - box["y"]) < 0.25 and abs(r.w - box["w"]) < 0.25
                       and abs(r.h - box["h"]) < 0.25 for r in rects)

        for m in spec["markers"]:
            assert drawn(m["box"]), m
        for f in spec["fields"]:
            present = not (job.blank and f.get("prefilled_only"))
            for cell in f.get("cells", []):
                assert drawn(cell), f["id"]
            for o in f.get("options", []):
                assert drawn(o["box"]) == present, (f["id"], o["value"], job.blank)
                if o["label"] and present:
                    lb = F.Box(**o["label_box"])
                    assert squash(o["label"]) in squash("".join(c["text"] for c in chars_in(page, lb, 0.6))), f["id"]
            if present and not f["id"].endswith(".change"):
                assert drawn(f["box"]), f["id"]
                lb = F.Box(**f["label_box"])
                assert squash("".join(c["text"] for c in chars_in(page, lb, 0.6))).startswith(squash(f["label"])[:4])
        qr_box = F.Box(**spec["qr"])
        modules = [r for r in rects if r.w < 20 and r.h < 2 and qr_box.contains(r, 0.01)]
        assert len(modules) > 100
    assert {(t, 1, False) for t in F.TYPES} <= seen and (model.HOUSEHOLD, 3, False) in seen
    assert {(t, 1, True) for t in F.TYPES} <= seen


def test_the_japanese_fonts_are_embedded(printed):
    raw = printed.path.read_bytes()
    descriptors = raw.count(b"/Type /FontDescriptor")
    assert descriptors >= 2 and raw.count(b"/FontFile2") == descriptors
    assert b"http" not in raw.split(b"stream")[0]  # nothing fetched or linked


# --- the record a scan will need ----------------------------------------------------------------


def test_every_printed_card_is_recorded_with_the_version_it_was_printed_from(printed):
    store = printed.store
    with store.transaction():
        batch = store.print_batch(printed.batch.id)
        assert batch["cards"] == len(printed.batch.jobs) == len(batch["printed"]) and batch["operator"] == "試験"
        for job in printed.batch.jobs:
            row = store.printed_card(job.print_id)
            assert row["batch_id"] == printed.batch.id and row["form_version"] == F.VERSION
            assert row["sheets"] == job.sheets and row["form_type"] == job.form
            if job.blank:
                assert row["premises_id"] is None and row["card_version"] == 0 and row["rows"] == {}
            else:
                card = store.card(job.premises["id"])
                assert row["premises_id"] == job.premises["id"] and row["card_version"] == card.version
                # a read field of this card finds its card path through the recorded rows
                last = str(len(row["rows"]["members"] if job.form == model.HOUSEHOLD else row["rows"]["contacts"]))
                group = "members" if job.form == model.HOUSEHOLD else "contacts"
                path = F.model_path(f"{group}.{last}.name", row["rows"], job.form)
                newest = max(card.data[group], key=int)  # rows follow the keys' numeric order
                assert model.get_path(card.data, path) == card.data[group][newest]["name"]
        audit = [a for a in store.audit_events() if a["action"] == "print"]
        assert audit and json.loads(audit[-1]["detail"])["cards"] == len(printed.batch.jobs)


# --- the command ---------------------------------------------------------------------------------


def test_print_cards_command_writes_a_private_file_and_says_where(home):
    runner = CliRunner()
    r = runner.invoke(app, ["seed", "--premises", "30", "--seed", "2", "--until", "2026-11-20"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["print", "cards", "--blank", "2", "--beat", "S01-P01-B1", "--type", "business"])
    assert r.exit_code == 0, r.output
    path = home.parent / r.output.strip().splitlines()[-1]
    assert path.is_file() and path.parent.name == "output" and path.suffix == ".pdf"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".")]  # no temporary file left
    assert stat.S_IMODE((home / qr.KEY_FILE).stat().st_mode) == 0o600
    with pdfplumber.open(path) as doc:
        assert "白紙 2" in doc.pages[0].extract_text()
        assert len(doc.pages) >= 3
    for args, message in [
        (["print", "cards"], "--premises、--beat、--blank"),
        (["print", "cards", "--blank", "2"], "受持区"),
        (["print", "cards", "--premises", "99999"], "各戸が見つかりません"),
        (["print", "cards", "--premises", "1", "--blank", "1", "--beat", "S01-P01-B1"], "同時に"),
        (["print", "cards", "--beat", "NOPE"], "受持区が見つかりません"),
    ]:
        r = runner.invoke(app, args)
        assert r.exit_code == 2 and message in r.output, (args, r.output)
    assert len([p for p in path.parent.iterdir()]) == 1  # failures leave nothing behind
    # a blank card for six people: the card's two sheets and two continuation sheets
    r = runner.invoke(app, ["print", "cards", "--blank", "1", "--members", "6", "--beat", "S01-P01-B1"])
    assert r.exit_code == 0 and "用紙 4 枚" in r.output, r.output
    r = runner.invoke(app, ["print", "cards", "--members", "6", "--beat", "S01-P01-B1"])
    assert r.exit_code == 2 and "--members は白紙カード" in r.output, r.output


def test_a_print_that_cannot_be_recorded_leaves_no_file(printed, tmp_path, monkeypatch):
    def fail(*_a, **_k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(printing, "record", fail)
    with pytest.raises(RuntimeError):
        printing.print_cards(printed.store, tmp_path / "out", printed.key, beat=printed.beat, blank=1,
                             operator="試験")
    assert not list((tmp_path / "out").iterdir())
    with printed.store.transaction():
        assert len([a for a in printed.store.audit_events() if a["action"] == "print"]) == 1
