"""The form definition (junkai/form/) and the QR payload (junkai/qr.py): plain data, no rendering."""

import dataclasses
import hashlib
import itertools
import json
import random
import stat
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from junkai import JunkaiError, form as F, model, qr, wareki as W
from junkai.cli import app

SHEETS = [(v, model.HOUSEHOLD, n) for v in F.published() for n in (1, 2, 3, 4)] + \
    [(v, model.BUSINESS, n) for v in F.published() for n in (1, 2, 3)]

# Each published layout, fingerprinted: scans are read with the layout they were printed
# with, so a published version never changes. A changed layout is published as a new
# version (junkai.form) with its own fingerprints here.
FINGERPRINTS = {
    1: {
        "household": "0ef18ca06e4e5bde0f8c655172c819a859ed4e3a748335f091e16c53e261c818",
        "business": "911382248a4c2511fc63862d2403adb13a5e0fb2c0b0d8789d3419e1d0aa39e8",
    },
    2: {
        "household": "a38c45cfb008a63cb50e8949e6a03dfad98dc3018a14e1cf46534ccdd5d84074",
        "business": "bc6a0aab199adff41a8a2e0d6304e4c22acf4ba02876c2078cbf5b6e8089856c",
    },
}


def fingerprint(kind: str, version: int) -> str:
    return hashlib.sha256(json.dumps(F.describe(kind, 3, version), sort_keys=True).encode()).hexdigest()


def all_boxes(page: F.Page):
    for f in page.fields:
        yield f.id, f.box
    for s in page.slots:
        yield f"slot:{s.id}", s.box
    yield "qr", page.qr
    for i, m in enumerate(page.markers):
        yield f"marker{i}", m


@pytest.mark.parametrize("version,kind,number", SHEETS)
def test_every_box_is_on_the_page_and_nothing_overlaps(version, kind, number):
    page = F.page(kind, number, version)
    sheet = F.Box(0, 0, F.PAGE_W, F.PAGE_H)
    boxes = list(all_boxes(page))
    for name, box in boxes:
        assert sheet.contains(box), name
        if not name.startswith("marker"):
            assert box.x >= F.LEFT - 1e-6 and box.right <= F.RIGHT + 1e-6, name
    for (a, box_a), (b, box_b) in itertools.combinations(boxes, 2):
        assert not box_a.overlaps(box_b), (a, b)
    for s, t in itertools.combinations(page.sections, 2):
        assert not s.box.overlaps(t.box), (s.id, t.id)
    for f in page.fields:
        section = next(s for s in page.sections if s.id == f.section) if f.section != "header" else None
        if section:
            assert section.box.contains(f.box), f.id
        assert f.box.contains(f.entry) and f.box.contains(f.label_box), f.id
        if f.value_box:
            assert f.box.contains(f.value_box) and not f.value_box.overlaps(f.entry), f.id
            assert not f.value_box.overlaps(f.label_box) and f.value_box.w > 5, f.id
        for box in list(f.cells) + [o.box for o in f.options] + [o.label_box for o in f.options]:
            assert f.entry.contains(box, tol=1e-6), f.id
        for a, b in itertools.combinations(list(f.cells) + [o.box for o in f.options], 2):
            assert not a.overlaps(b), f.id


@pytest.mark.parametrize("version,kind,number", SHEETS)
def test_boxes_are_large_enough_for_a_pen(version, kind, number):
    for f in F.page(kind, number, version).fields:
        for c in f.cells:
            assert c.w >= 6.0 and c.h >= 6.5, f.id
        for o in f.options:
            assert o.box.w == o.box.h >= 5.0, f.id
        if f.kind in ("text", "kana", "free"):
            assert f.entry.h >= 6.5 and f.entry.w >= 30, f.id
        if version >= 2:  # written by elderly residents too: room for kanji, a box each tick belongs to
            assert all(c.w >= 6.0 and c.h >= 8.0 for c in f.cells), f.id
            if f.kind in ("text", "kana", "free", "digits", "date"):
                assert f.entry.h >= 8.0, f.id
            for a, b in zip(f.options, f.options[1:]):
                if a.box.y == b.box.y:
                    own = a.label_box.x - a.box.right
                    assert b.box.x - a.label_box.right >= 3 * own, f.id  # clearly wider than box-to-label


def test_markers_sit_in_the_four_corners_and_the_qr_code_is_clear_of_them():
    page = F.page(model.HOUSEHOLD)
    tl, tr, bl, br = page.markers
    assert (tl.x, tl.y) == (F.MARKER_INSET, F.MARKER_INSET)
    assert (br.right, br.bottom) == (F.PAGE_W - F.MARKER_INSET, F.PAGE_H - F.MARKER_INSET)
    assert tr.y == tl.y and bl.x == tl.x and tr.x == br.x and bl.y == br.y
    assert page.qr.w == page.qr.h >= 20


@pytest.mark.parametrize("kind", F.TYPES)
def test_every_card_field_of_the_model_is_on_the_form(kind):
    sheets = [F.page(kind, n) for n in range(1, F.page(kind).card_sheets + 1)]
    page = dataclasses.replace(sheets[0], fields=tuple(f for p in sheets for f in p.fields),
                               sections=tuple(s for p in sheets for s in p.sections))
    ids = {f.id for f in page.fields}
    for fid in model.KIND_FIELDS[kind]:
        if fid != "language":  # the language the card is printed in: kept by the office, not written on it
            assert fid in ids, fid
    for group in model.KIND_GROUPS[kind]:
        for fid in model.GROUPS[group]:
            assert f"{group}.1.{fid}" in ids, (group, fid)
        assert f"{group}.1.remove" in ids
    for section in page.sections:
        if section.id != "opinion" and "（続き）" not in section.title:
            assert page.field(f"{section.id}.change").prefilled_only
    kinds = {f.id: f.kind for f in page.fields}
    assert kinds["postal_code"] == "digits" and kinds["opinion"] == "free"
    if kind == model.HOUSEHOLD:
        assert kinds["members.1.birth_date"] == "date" and kinds["members.1.kana"] == "kana"
        assert kinds["home_phone"] == "digits" and kinds["members.1.relation"] == "checkbox"
        assert [o.value for o in page.field("members.1.relation").options] == list(model.RELATIONS)
        assert [o.value for o in page.field("members.1.birth_date").options] == [e for e, _ in W.ERAS]
        assert page.field("visit_days").multiple and not page.field("dwelling").multiple
    else:
        assert [o.value for o in page.field("security").options] == list(model.SECURITY)
        assert kinds["employees"] == "digits"


def test_field_ids_map_onto_card_paths_through_the_printed_rows():
    rows = {"members": {"1": "1", "2": "4"}, "contacts": {"1": "2"}}
    assert F.model_path("members.2.birth_date", rows) == "members.4.birth_date"
    assert F.model_path("members.2.remove", rows) == "members.4"
    assert F.model_path("contacts.1.phone", rows) == "contacts.2.phone"
    assert F.model_path("members.3.name", rows) is None  # an empty row: a newcomer
    assert F.model_path("home_phone", rows) == "home_phone"
    assert F.model_path("postal_code", rows) == "@premises.postal_code"
    assert F.model_path("members.change", rows) == "@change.members"
    assert F.model_path("security", {}, model.BUSINESS) == "security"
    with pytest.raises(JunkaiError):
        F.model_path("nonsense", rows)
    # every path the form names is one the model accepts
    for kind in F.TYPES:
        for f in F.page(kind, 2).fields + F.page(kind, 1).fields:
            if f.path and not f.path.startswith("@"):
                model.field_spec(kind, f.path.format(key="7"))


def test_continuation_sheets_number_their_rows_after_the_first_sheet():
    first, more = F.rows_per_sheet(model.HOUSEHOLD, 1)["members"]
    assert F.rows_per_sheet(model.BUSINESS, 1) == {"contacts": (4, 9)}
    assert F.page(model.HOUSEHOLD, 2, 1).rows["members"] == (first + 1, first + more)
    assert F.page(model.HOUSEHOLD, 3, 1).rows["members"] == (first + more + 1, first + 2 * more)
    assert F.pages_needed(model.HOUSEHOLD, {"members": first - 1, "contacts": 2}, 1) == 1
    assert F.pages_needed(model.HOUSEHOLD, {"members": first, "contacts": 0}, 1) == 2  # no empty row left
    assert F.pages_needed(model.HOUSEHOLD, {"members": first + more + 1, "contacts": 0}, 1) == 3
    assert F.pages_needed(model.HOUSEHOLD, {"members": 1, "contacts": 3}, 1) == 2
    assert F.pages_needed(model.BUSINESS, {"contacts": 4}, 1) == 1
    assert F.pages_needed(model.BUSINESS, {"contacts": 5}, 1) == 2
    with pytest.raises(JunkaiError):
        F.page("shop")
    with pytest.raises(JunkaiError):
        F.page(model.HOUSEHOLD, 1, version=F.VERSION + 1)


def test_version_2_is_a_card_of_two_sheets_with_continuation_sheets_after():
    assert F.page(model.HOUSEHOLD, 1, 2).card_sheets == 2 and not F.page(model.HOUSEHOLD, 2, 2).continuation
    assert F.page(model.HOUSEHOLD, 3, 2).continuation
    # 2 people on the card (one on each sheet), 2 more on each continuation sheet
    assert F.rows_per_sheet(model.HOUSEHOLD, 2) == {"members": (2, 2), "contacts": (2, 1)}
    assert F.rows_per_sheet(model.BUSINESS, 2) == {"contacts": (4, 4)}
    assert F.page(model.HOUSEHOLD, 3, 2).rows == {"members": (3, 4), "contacts": (3, 3)}
    assert F.pages_needed(model.HOUSEHOLD, {"members": 1}, 2) == 2  # one row spare for a newcomer
    assert F.pages_needed(model.HOUSEHOLD, {"members": 2}, 2) == 3
    assert F.pages_needed(model.HOUSEHOLD, {"members": 5, "contacts": 3}, 2) == 4
    assert F.pages_needed(model.BUSINESS, {"contacts": 5}, 2) == 3
    # the fields of the second sheet map like those of the first
    assert F.model_path("visit_days", {}, model.HOUSEHOLD, 2) == "visit_days"
    assert F.model_path("members.2.work_phone", {"members": {"2": "5"}}, model.HOUSEHOLD, 2) == "members.5.work_phone"
    assert F.model_path("support", {}, model.HOUSEHOLD, 2) == "support"
    assert F.model_path("business_phone", {}, model.BUSINESS, 2) == "business_phone"
    assert F.describe(model.HOUSEHOLD, version=2)["card_sheets"] == 2
    assert "card_sheets" not in F.describe(model.HOUSEHOLD, version=1)


def test_describe_prints_the_definition_as_json():
    r = CliRunner().invoke(app, ["form", "describe", "--type", "business", "--format", "json", "--form-version", "1"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.output)
    assert doc["version"] == 1 and doc["form"] == "business" and doc["units"] == "mm"
    assert doc["page_size"] == {"w": 210.0, "h": 297.0, "name": "A4"}
    first = doc["pages"][0]
    assert len(first["markers"]) == 4 and first["qr"] == F.page(model.BUSINESS).qr.json()
    fields = {f["id"]: f for f in first["fields"]}
    assert fields["manager_phone"]["kind"] == "digits" and len(fields["manager_phone"]["cells"]) == 11
    assert {o["value"] for o in fields["security"]["options"]} == set(model.SECURITY)
    assert fields["contacts.1.phone"]["path"] == "contacts.{key}.phone"
    assert doc["pages"][1]["kind"] == "continuation"
    r = CliRunner().invoke(app, ["form", "describe", "--type", "household", "--pages", "3"])
    assert r.exit_code == 0 and len(json.loads(r.output)["pages"]) == 3
    date_field = {f["id"]: f for f in json.loads(r.output)["pages"][0]["fields"]}["members.1.birth_date"]
    assert date_field["cell_groups"] == {"year": [0, 1], "month": [2, 3], "day": [4, 5]}
    assert [o["label"] for o in date_field["options"]] == ["明", "大", "昭", "平", "令"]


@pytest.mark.parametrize("version", F.published())
@pytest.mark.parametrize("kind", F.TYPES)
def test_a_published_layout_never_changes(kind, version):
    assert fingerprint(kind, version) == FINGERPRINTS[version][kind], (
        f"the layout of published version {version} changed: publish the change as a new version instead")


# Each version as it was published: every box, text and slot of its first pages (version 1:
# 1-3, version 2: 1-4, its two card sheets and two continuation sheets), exact to the float,
# and the head of its description. A printed card is read by these numbers for as long as it
# is out with a resident, so a published version never changes.
PUBLISHED = Path(__file__).parent / "published_forms"


@pytest.mark.parametrize("version", [1, 2])
@pytest.mark.parametrize("kind", ["household", "business"])
def test_a_version_is_the_layout_it_was_published_with(kind, version):
    frozen = json.loads((PUBLISHED / f"v{version}.json").read_text())[kind]
    for n, want in enumerate(frozen["pages"], start=1):
        got = json.loads(json.dumps(dataclasses.asdict(F.page(kind, n, version))))
        assert got == want, f"{kind} page {n} of version {version} changed"
    pages = len(frozen["pages"])
    doc = F.describe(kind, pages, version=version)
    assert doc.pop("pages") == [F.page(kind, n, version).json() for n in range(1, pages + 1)]
    assert doc == frozen["describe"]


# --- dates --------------------------------------------------------------------------------


def test_era_of_a_date():
    assert W.wareki_text(date(1989, 1, 7)) == "昭和64年1月7日"
    assert W.wareki_text(date(1989, 1, 8)) == "平成元年1月8日"
    assert W.wareki_text("2019-04-30") == "平成31年4月30日"
    assert W.wareki_text("2019-05-01") == "令和元年5月1日"
    assert W.wareki_text("1926-12-25") == "昭和元年12月25日"
    assert W.wareki_text(None) == ""
    assert F.wareki_text is W.wareki_text and F.to_wareki is W.to_wareki  # the names callers use


def test_era_dates_back_to_days():
    assert W.from_wareki("平成", 1, 1, 8) == date(1989, 1, 8)
    assert W.from_wareki("昭和", 64, 1, 7) == date(1989, 1, 7)
    assert W.from_wareki("令和", 1, 2, 30) is None and W.from_wareki("令和", 0, 5, 1) is None
    assert W.from_wareki("昭和", 70, 1, 1) == date(1995, 1, 1)  # a day outside the era: the caller checks
    assert W.era_name("S") == "昭和" and W.era_name("平") == "平成" and W.era_name("令和") == "令和"
    assert W.era_name("X") is None and W.era_name("") is None


# --- QR payload and print ids ---------------------------------------------------------------

KEY = bytes(range(32))


def payload(**kw) -> qr.Payload:
    values = dict(form=model.HOUSEHOLD, form_version=1, print_id=qr.new_print_id(), page=1, pages=2,
                  premises_id=123, card_version=5, beat="S01-P01-B1")
    values.update(kw)
    return qr.Payload(**values)


def test_payload_round_trip_is_compact():
    p = payload()
    text = qr.encode(p, KEY)
    assert qr.decode(text, KEY) == p
    assert len(text) <= 61  # QR version 3 at error correction M, alphanumeric
    assert set(text) <= set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:")
    assert len(qr.matrix(text)) <= 29
    blank = payload(premises_id=None, card_version=0, pages=1, form=model.BUSINESS)
    assert qr.decode(qr.encode(blank, KEY), KEY) == blank
    # a card printed in another language says so (the reader masks its words), a Japanese one as before
    english = payload(language="en", form_version=2)
    text = qr.encode(english, KEY)
    assert text.startswith("JKH2EN:") and qr.decode(text, KEY) == english
    assert len(text) <= 61 and len(qr.matrix(text)) <= 29
    assert qr.encode(payload(form_version=2), KEY).startswith("JKH2:")


def test_a_tampered_or_foreign_payload_fails_the_integrity_check():
    text = qr.encode(payload(premises_id=123), KEY)
    forged = text.replace(":123:", ":124:")
    with pytest.raises(qr.IntegrityError):
        qr.decode(forged, KEY)
    for i in range(len(text)):  # any one character misread
        if text[i] == ":":
            continue
        other = "0" if text[i] != "0" else "1"
        with pytest.raises(qr.IntegrityError):
            qr.decode(text[:i] + other + text[i + 1:], KEY)
    with pytest.raises(qr.IntegrityError):
        qr.decode(text, bytes(32))  # another station's key
    with pytest.raises(qr.IntegrityError):
        qr.decode("hello", KEY)


def test_print_ids_carry_a_check_character():
    ids = {qr.new_print_id() for _ in range(500)}
    assert len(ids) == 500
    pid = next(iter(ids))
    assert qr.normalize_print_id(qr.show_print_id(pid).lower()) == pid
    for i in range(9):
        for c in qr.ALPHABET:
            if c != pid[i]:
                with pytest.raises(JunkaiError):
                    qr.normalize_print_id(pid[:i] + c + pid[i + 1:])


def test_a_misread_print_id_offers_the_ids_one_edit_away_that_pass_their_check():
    """OCR misreads seen on scans: one character wrong (6 as G, 0 as Q), one dropped, one extra."""
    rng = random.Random(5)
    for _ in range(200):
        pid = qr.new_print_id()
        i = rng.randrange(9)
        wrong = rng.choice([c for c in qr.ALPHABET if c != pid[i]])
        for read in (pid[:i] + wrong + pid[i + 1:], pid[:i] + pid[i + 1:], pid[:i] + wrong + pid[i:]):
            shown = qr.show_print_id(read) if len(read) == 9 else read
            candidates = qr.print_id_candidates(shown)
            assert pid in candidates
            assert all(qr.normalize_print_id(c) == c for c in candidates)
            assert len(candidates) <= 12  # each checked against the store: few lookups
        assert qr.print_id_candidates(qr.show_print_id(pid)) == [pid]
    assert qr.print_id_candidates("") == [] and qr.print_id_candidates("ABC") == []
    assert qr.print_id_candidates("日本語の文字です") == []


def test_station_key_is_made_once_and_private(tmp_path):
    key = qr.station_key(tmp_path / "home")
    path = tmp_path / "home" / qr.KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and len(key) == 32
    assert qr.station_key(tmp_path / "home") == key
    assert qr.station_key(tmp_path / "other") != key
