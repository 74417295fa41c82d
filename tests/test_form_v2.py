"""Form version 2 as printed: legible for an elderly resident, measured on the PDF itself.

Household and business cards, pre-filled and blank, are printed through the printing
code and read back with pdfplumber: the sizes of the printed characters and of the drawn
boxes are checked, not only the definition they were drawn from.
"""

from __future__ import annotations

from datetime import date, datetime
from types import SimpleNamespace

import pdfplumber
import pytest

from junkai import form as F, model, printing, qr
from junkai.seed import seed
from junkai.store import Store

MM = 72 / 25.4
NOW = datetime(2026, 11, 26, 9, 30)
pytestmark = pytest.mark.slow  # renders cards through WeasyPrint

LABEL_MIN, READ_MIN = 8.0, 10.0  # pt: labels; instructions, printed values and tick box labels
ENTRY_MIN, CELL_MIN, TICK_MIN = 8.0, 6.0, 5.0  # mm
NOT_FOR_RESIDENTS = ("print_id", "page", "seq")  # slots for the station, stamped as small as they fit


@pytest.fixture(scope="module")
def printed(tmp_path_factory):
    home = tmp_path_factory.mktemp("formv2")
    store = Store(f"sqlite:///{home / 'junkai.sqlite3'}")
    store.migrate()
    with store.transaction():
        seed(store, 40, 1, 3, date(2026, 11, 20), "試験")
        beat = store.summary().beat.iloc[0]
        cards = [c for c in store.cards_of_beat(beat) if c.version and c.premises["status"] == model.ACTIVE]
        big = max((c for c in cards if c.premises["kind"] == model.HOUSEHOLD), key=lambda c: len(c.data["members"]))
        biz = next(c for c in cards if c.premises["kind"] == model.BUSINESS)
        ids = [big.premises["id"], biz.premises["id"]]
        batch = printing.plan(store, premises_ids=ids, operator="試験", now=NOW, keep_years=5)
        for form_type in F.TYPES:
            batch.jobs += printing.plan(store, beat=beat, blank=1, blank_form=form_type, operator="試験", now=NOW,
                                        members=5).jobs
        path = home / "batch.pdf"
        with open(path, "wb") as fh:
            pages = printing.write(batch, fh, qr.station_key(home))
    doc = pdfplumber.open(path)
    cover = pages - batch.sheets
    sheets = []
    for job in batch.jobs:
        for s in range(1, job.sheets + 1):
            sheets.append((job, s, doc.pages[cover + len(sheets)]))
    yield SimpleNamespace(batch=batch, sheets=sheets, store=store)
    doc.close()
    store.close()


def mm_box(obj) -> F.Box:
    return F.Box(obj["x0"] / MM, obj["top"] / MM, (obj["x1"] - obj["x0"]) / MM, (obj["bottom"] - obj["top"]) / MM)


def chars_in(page, box: F.Box, tol: float = 0.3):
    return [c for c in page.chars if box.contains(mm_box(c), tol)]


def drawn(page) -> list[F.Box]:
    return [mm_box(r) for r in page.rects]


def rect_at(rects: list[F.Box], box: F.Box, tol: float = 0.25) -> F.Box:
    """The drawn rectangle where the definition puts `box` (its measured size is what is checked)."""
    hits = [r for r in rects if abs(r.x - box.x) < tol and abs(r.y - box.y) < tol and abs(r.w - box.w) < tol
            and abs(r.h - box.h) < tol]
    assert hits, box
    return hits[0]


def shown(job, page_def: F.Page):
    blank = job.blank
    fields = [f for f in page_def.fields if not (blank and f.prefilled_only)]
    texts = [t for t in page_def.texts if not (blank and t.prefilled_only) and not (not blank and t.blank_only)]
    return fields, texts


def test_the_batch_is_printed_with_version_2_two_sheets_a_card(printed):
    kinds = {(j.form, j.blank): j.sheets for j in printed.batch.jobs}
    assert set(kinds) == {(k, b) for k in F.TYPES for b in (True, False)}
    assert kinds[(model.HOUSEHOLD, True)] == 4  # five people: one row on each card sheet, two on a continuation
    assert kinds[(model.BUSINESS, True)] == 2
    assert all(n >= 2 for n in kinds.values())
    assert all(F.page(j.form, s).version == 2 for j, s, _ in printed.sheets)


def test_every_label_instruction_value_and_tick_label_is_large_enough(printed):
    checked = dict(label=0, read=0, value=0, option=0)
    for job, sheet, page in printed.sheets:
        page_def = F.page(job.form, sheet, 2)
        fields, texts = shown(job, page_def)
        for f in fields:
            if not f.id.endswith(".change"):
                found = chars_in(page, f.label_box)
                assert found and min(c["size"] for c in found) >= LABEL_MIN - 0.01, (f.id, sheet)
                checked["label"] += 1
            for o in f.options:
                if o.label:
                    found = chars_in(page, o.label_box, 0.6)
                    assert found and min(c["size"] for c in found) >= READ_MIN - 0.01, (f.id, o.label)
                    checked["option"] += 1
        for t in texts:
            if t.style in ("notice", "howto", "band", "unit", "rowno"):
                found = chars_in(page, t.box, 0.6)
                assert found and min(c["size"] for c in found) >= READ_MIN - 0.01, (t.text[:12], sheet)
                checked["read"] += 1
        for fid in printing.values(job, page_def):
            found = chars_in(page, page_def.field(fid).value_box, 0.1)
            assert found and min(c["size"] for c in found) >= READ_MIN - 0.01, (fid, sheet)
            checked["value"] += 1
        for s in page_def.slots:
            found = chars_in(page, s.box, 0.1)
            if s.id in ("post", "officer", "contact") or (s.id == "created_on" and not job.blank):
                assert found and min(c["size"] for c in found) >= READ_MIN - 0.01, (s.id, sheet)
        # and nothing on the sheet smaller than a label, but the station's own numbers
        small = [s.box for s in page_def.slots if s.id in NOT_FOR_RESIDENTS]
        tiny = [c["text"] for c in page.chars if c["size"] < LABEL_MIN - 0.01
                and not any(b.contains(mm_box(c), 0.3) for b in small)]
        assert not tiny, (job.form, sheet, tiny[:20])
    assert checked["value"] > 20 and min(checked.values()) > 0, checked


def test_the_notice_names_the_keeper_the_period_and_whom_to_ask(printed):
    with printed.store.transaction():
        post = printed.store.post(printed.store.beat(printed.batch.jobs[0].beat_id)["post_id"])
    assert post["phone"]  # the demo gives its posts a phone number
    for job, sheet, page in printed.sheets:
        text = page.extract_text().replace("\n", "").replace(" ", "")
        if sheet == 1:
            assert "任意" in text and "目的" in text and "警察署が保管" in text, job.form
            # the period from [retention] when the print was given it (the command always is)
            assert ("定められた期間" if job.blank else "5年") in text, job.form
            assert post["name"] in text and post["phone"] in text, job.form
            assert "訂正・削除" in text and "二重線" in text, job.form


def test_writing_boxes_comb_cells_and_tick_boxes_are_drawn_large_enough(printed):
    measured = dict(entry=0, cell=0, tick=0)
    for job, sheet, page in printed.sheets:
        page_def = F.page(job.form, sheet, 2)
        rects = drawn(page)
        fields, _ = shown(job, page_def)
        for f in fields:
            if f.kind in ("text", "kana", "free", "digits", "date"):
                frame = rect_at(rects, f.box)
                strip = rect_at(rects, F.Box(f.box.x, f.box.y, f.box.w, f.label_box.h))
                assert frame.h - strip.h >= ENTRY_MIN, (f.id, frame.h - strip.h)
                measured["entry"] += 1
            for c in f.cells:
                cell = rect_at(rects, c)
                assert cell.w >= CELL_MIN and cell.h >= ENTRY_MIN, (f.id, cell)
                measured["cell"] += 1
            pairs = []
            for o in f.options:
                tick = rect_at(rects, o.box)
                assert tick.w >= TICK_MIN and tick.h >= TICK_MIN, (f.id, tick)
                measured["tick"] += 1
                found = chars_in(page, o.label_box, 0.6)
                if found:
                    pairs.append((tick, min(c["x0"] for c in found) / MM, max(c["x1"] for c in found) / MM))
            # each box directly before its own label, a clearly wider gap to the next pair
            for (tick, left, right), (next_tick, _, _) in zip(pairs, pairs[1:]):
                if abs(tick.y - next_tick.y) < 0.1:
                    own = left - tick.right
                    assert 0 <= own <= 1.5 and next_tick.x - right >= 3 * own + 1.5, (f.id, own, next_tick.x - right)
    assert min(measured.values()) > 20, measured


def test_the_address_box_has_room_for_two_lines(printed):
    for job, sheet, page in printed.sheets:
        if sheet == 1:
            f = F.page(job.form, 1, 2).field("address")
            assert f.entry.h >= 2 * ENTRY_MIN
            frame = rect_at(drawn(page), f.box)
            assert frame.h - f.label_box.h >= 2 * ENTRY_MIN
