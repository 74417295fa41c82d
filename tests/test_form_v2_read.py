"""Version 2 cards read back: a card of two sheets scanned duplex with blank backs, and a
version 1 card still out with a resident, read and reconciled after version 2 was published.

Cards are printed through the printing code, filled by the simulator's resident, scanned
clean, read by the reader and ingested into a real store.
"""

from __future__ import annotations

import random
from datetime import date, datetime
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import sqlalchemy as sa
from PIL import Image

from junkai import form as F, model, printing, qr, settings
from junkai import ingest as I
from junkai import simulate as S
from junkai.seed import seed
from junkai.store import Store, review_item
from ocr import read as R

NOW = datetime(2026, 11, 26, 9, 30)
TODAY = date(2026, 11, 27)
CLEAN = S.Scan(300, "grey", 0.3, 0, (0.5, -0.5), 1.0, 0, 2, None, degrade="clean")
pytestmark = pytest.mark.slow  # renders cards and reads them by OCR


def _print(store: Store, path: Path, key: bytes, **plan_args) -> printing.Batch:
    with store.transaction():
        batch = printing.plan(store, operator="試験", now=NOW, keep_years=5, **plan_args)
        with open(path, "wb") as fh:
            printing.write(batch, fh, key)
        printing.record(store, batch, path)
    return batch


@pytest.fixture(scope="module")
def station(tmp_path_factory):
    home = tmp_path_factory.mktemp("formv2read") / "home"
    home.mkdir()
    store = Store(f"sqlite:///{home / 'junkai.sqlite3'}", home)
    store.migrate()
    key = qr.station_key(home)
    with store.transaction():
        seed(store, 40, 1, 3, date(2026, 11, 20), "試験")
        beat = store.summary().beat.iloc[0]
        households = [c.premises["id"] for c in store.cards_of_beat(beat)
                      if c.version and c.premises["kind"] == model.HOUSEHOLD and c.premises["status"] == model.ACTIVE]
    real = dict(F._PUBLISHED)
    F._PUBLISHED.clear()
    F._PUBLISHED[1] = real[1]
    try:  # a card printed while version 1 was the newest, returned after version 2 was published
        old = _print(store, home / "v1.pdf", key, premises_ids=households[:1])
    finally:
        F._PUBLISHED.clear()
        F._PUBLISHED.update(real)
    new = _print(store, home / "v2.pdf", key, beat=beat, blank=1)
    yield SimpleNamespace(home=home, store=store, key=key, old=old, new=new, premises=households[0])
    store.close()


def _scan(sheet: S.Sheet, seed_: int) -> Image.Image:
    return CLEAN.apply(sheet.image, np.random.default_rng(seed_))


def _blank_back(size: tuple[int, int], seed_: int) -> Image.Image:
    """The back of a sheet fed duplex: paper, no print, no ink."""
    return CLEAN.apply(Image.new("RGB", size, "white"), np.random.default_rng(seed_))


@pytest.fixture(scope="module")
def duplex(station, tmp_path_factory):
    """The version 2 blank card filled by a resident and scanned duplex: front, blank back, front, blank back."""
    [sheets] = S._printed_sheets(station.home / "v2.pdf", station.key)
    assert [s.payload.page for s in sheets] == [1, 2] and all(s.layout.version == 2 for s in sheets)
    r = S.Resident(random.Random(7), ("佐藤", "サトウ"))
    S._fill_blank(sheets, r, model.HOUSEHOLD, TODAY)
    # the new fields of version 2, written for certain
    first = sheets[0]
    r.tick(first, first.layout.field("support"), ["ひとり暮らし"])
    r.digits(first, first.layout.field("members.1.work_phone"), "0177231234")
    pages = []
    for i, s in enumerate(sheets):
        front = _scan(s, i)
        pages += [front, _blank_back(front.size, 100 + i)]
    out = tmp_path_factory.mktemp("duplex") / "duplex.pdf"
    pages[0].save(out, save_all=True, append_images=pages[1:], resolution=300)
    return SimpleNamespace(path=out, sheets=sheets)


def _listed(value) -> list:
    return sorted(value) if isinstance(value, list) else [] if value is None else [value]


def test_a_two_sheet_card_scanned_duplex_reads_in_qr_order_and_its_blank_backs_are_skipped(station, duplex, tmp_path):
    reader = R.Reader(station.key, tmp_path / "crops", tmp_path / "quarantine")
    results = list(reader.read_paths([duplex.path], workers=1))
    assert [r.status for r in results] == [R.OK, R.SKIPPED, R.OK, R.SKIPPED], [r.messages for r in results]
    assert [r.sheet for r in results if r.status == R.OK] == [1, 2]  # from the QR code, not the page order
    assert all(r.reasons == ["blank_page"] and not r.fields for r in results if r.status == R.SKIPPED)
    read = {f.id: f for r in results if r.status == R.OK for f in r.fields}
    # on a clean page every tick is read exactly, the new fields too; handwritten digits are real
    # people's: one cell may be misread, and then the value is not trusted (it waits for a person)
    written = {fid: v for s in duplex.sheets for fid, v in s.values.items()}
    digits = 0
    for fid, value in written.items():
        f = read[fid]
        if f.kind == "checkbox":
            assert _listed(f.value) == _listed(value), (fid, f.value, value)
        elif f.kind == "digits":
            want = str(value).replace("-", "")
            assert sum(a == b for a, b in zip(f.value or "", want)) >= len(want) - 1, (fid, f.value, want)
            assert f.value == want or f.confidence < settings.DEFAULT_THRESHOLDS["digits"], (fid, f.value, want)
            digits += f.value == want
    assert digits >= 2
    assert read["support"].value == ["ひとり暮らし"] and len(read["members.1.work_phone"].value or "") == 10
    assert any(fid.startswith("visit_") for fid in written) and "contacts.1.phone" in written  # sheet 2 read too


def test_blank_backs_make_no_review_item_and_the_card_waits_as_a_new_premises(station, duplex):
    run = I.run(station.store, settings.load({"JUNKAI_HOME": str(station.home)}), [duplex.path], "地域課 試験", TODAY)
    done = run.summary
    assert done.pages == 4 and done.states["skipped"] == 2 and not done.failures, (done.states, done.failures)
    with station.store.transaction():
        items = station.store.conn.execute(sa.select(review_item.c.print_id, review_item.c.field)).all()
    # the blank card waits for a person to accept its address; nothing waits for the empty backs
    assert items and {p for p, _ in items} == {station.new.jobs[0].print_id}, items


def test_a_version_1_card_still_reads_and_reconciles_after_version_2_is_published(station, tmp_path):
    assert F.latest() == 2
    [sheets] = S._printed_sheets(station.home / "v1.pdf", station.key)
    assert [s.layout.version for s in sheets] == [1] * len(sheets)
    first = sheets[0]
    r = S.Resident(random.Random(3), ("佐藤", "サトウ"))
    r.tick(first, first.layout.field("address.change"), [F.CHANGED])
    r.digits(first, first.layout.field("home_phone"), "0177761234")
    for f in first.layout.fields:
        if f.id.endswith(".change") and f.id != "address.change":
            r.tick(first, f, [F.UNCHANGED])
    scans = tmp_path / "v1scans"
    scans.mkdir()
    for i, s in enumerate(sheets):
        _scan(s, 20 + i).save(scans / f"p{i + 1}.png", dpi=(300, 300))
    run = I.run(station.store, settings.load({"JUNKAI_HOME": str(station.home)}), [scans], "地域課 試験", TODAY)
    done = run.summary
    assert not done.failures and done.states["failed"] == 0 and done.matched == len(sheets), run.as_dict()
    with station.store.transaction():
        card = station.store.card(station.premises)
        waiting = station.store.conn.execute(sa.select(review_item.c.field, review_item.c.guess).where(
            review_item.c.premises_id == station.premises)).all()
    # applied, or (a handwritten digit read with doubt) waiting for a person, with the value read
    phone = (card.data.get("home_phone") or "").replace("-", "")
    assert phone == "0177761234" or any(f == "home_phone" for f, _ in waiting), (card.data, waiting, run.as_dict())
