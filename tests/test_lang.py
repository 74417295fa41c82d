"""Language versions of the printed card: the Japanese layout with other words.

Every string the newest layout prints has a translation in every language file; a print
in each language is read back from the real PDF (pdfplumber, pdffonts, fontTools): the
words are set in the typeface chosen for the language, embedded, with a glyph for every
character, and no word runs out of its box."""

from __future__ import annotations

import functools
import string
import subprocess
from collections import Counter
from datetime import date, datetime
from pathlib import Path
from types import SimpleNamespace

import pdfplumber
import pytest
from fontTools.ttLib import TTCollection, TTFont

from junkai import JunkaiError, model, printing, qr
from junkai import form as F
from junkai.form import lang as L
from junkai.pdf import MISSING
from junkai.seed import seed
from junkai.store import Store

MM = 72 / 25.4
NOW = datetime(2026, 11, 26, 9, 30)
FOREIGN = tuple(lang for lang in L.languages() if lang != L.DEFAULT)
# the PostScript name each language's words must be set in (WeasyPrint substitutes silently)
FACES = {"ja": "IPAexGothic", "en": "LiberationSansNarrow", "zh": "NotoSansCJKsc", "ko": "NotoSansCJKkr"}


def test_the_languages_of_the_card_are_those_with_a_translation_file():
    assert set(L.languages()) == set(model.LANGUAGES) and L.DEFAULT == "ja"
    assert model.HOUSEHOLD_FIELDS["language"].choices == model.LANGUAGES
    assert list(model.BUSINESS_FIELDS)[-1] == "language"


@pytest.mark.parametrize("lang", FOREIGN)
def test_every_string_of_the_newest_layout_has_a_translation(lang):
    table = L.table(lang)
    for form in F.TYPES:
        for number in (1, 2, 3):
            missing = L.strings(F.page(form, number)) - set(table)
            assert not missing, (lang, form, number, missing)
    # one language's file is no copy of the Japanese: most words change
    assert sum(k != v for k, v in table.items()) > len(table) * 0.6


@pytest.mark.parametrize("lang", FOREIGN)
def test_the_contact_line_printing_stamps_is_translated_from_its_templates(lang):
    table = L.table(lang)
    for template in printing.CONTACT_TEMPLATES:
        assert template in table, (lang, template)
        # the same names are filled in, and nothing else is left to fill
        names = [sorted(n for _, n, _, _ in string.Formatter().parse(t) if n) for t in (template, table[template])]
        assert names[0] == names[1], (lang, template)
    line = printing.contact_text("中央警察署", "駅前交番", "03-1234-5678", 5, lang=lang)
    assert "中央警察署" in line and "駅前交番" in line and "03-1234-5678" in line and "5" in line
    assert "へどうぞ" not in line and "{" not in line
    assert printing.contact_text("中央警察署", "駅前交番", "03-1234-5678", 5) == (
        "カードは中央警察署が保管し、転出・廃業から5年たつと消去します。内容の確認・訂正・削除のご希望や"
        "お問い合わせは、駅前交番（電話 03-1234-5678）へどうぞ。")


def test_a_missing_translation_is_an_error_naming_the_string(monkeypatch):
    table = dict(L.table("en"))
    del table["続柄（世帯主から見て）"]
    monkeypatch.setattr(L, "table", lambda lang: table)
    with pytest.raises(JunkaiError, match="続柄（世帯主から見て）"):
        L.translate(F.page(model.HOUSEHOLD), "en")
    with pytest.raises(JunkaiError, match="カードの言語"):
        L.check("fr")


def test_a_translated_page_keeps_every_box():
    for form in F.TYPES:
        for number in (1, 2):
            ja = F.page(form, number)
            for lang in FOREIGN:
                other = L.translate(ja, lang)
                assert [(f.id, f.box, f.label_box, f.value_box, f.entry, f.cells, [o.box for o in f.options])
                        for f in other.fields] == [(f.id, f.box, f.label_box, f.value_box, f.entry, f.cells,
                                                    [o.box for o in f.options]) for f in ja.fields]
                assert [t.box for t in other.texts] == [t.box for t in ja.texts]
                # a tick box's word may take the gap after it, never reaching the next tick box
                for f in other.fields:
                    for i, o in enumerate(f.options):
                        ja_box = ja.field(f.id).options[i].label_box
                        assert (o.label_box.x, o.label_box.y, o.label_box.h) == (ja_box.x, ja_box.y, ja_box.h)
                        assert o.label_box.w >= ja_box.w and o.label_box.right <= f.box.right
                        assert not any(o.label_box.overlaps(p.box) for p in f.options)
                        assert not any(o.label_box.overlaps(c) for c in f.cells)
                assert (other.markers, other.qr, other.slots, other.version) == (ja.markers, ja.qr, ja.slots,
                                                                                 ja.version)


# --- printed and read back -------------------------------------------------------------------


@pytest.fixture(scope="module")
def printed(tmp_path_factory):
    home = tmp_path_factory.mktemp("lang")
    store = Store(f"sqlite:///{home / 'junkai.sqlite3'}")
    store.migrate()
    with store.transaction():
        seed(store, 20, 1, 3, date(2026, 11, 20), "試験")
        cards = [c for c in store.cards_of_beat(store.summary().beat.iloc[0])
                 if c.version and c.premises["status"] == model.ACTIVE]
        household = next(c for c in cards if c.premises["kind"] == model.HOUSEHOLD)
        business = next(c for c in cards if c.premises["kind"] == model.BUSINESS)
        beat = household.premises["beat_id"]
        jobs = []
        for lang in L.languages():
            batch = printing.plan(store, premises_ids=[household.premises["id"], business.premises["id"]],
                                  operator="試験", now=NOW, lang=lang)
            jobs += batch.jobs
            for form in F.TYPES:
                jobs += printing.plan(store, beat=beat, blank=1, blank_form=form, operator="試験", now=NOW,
                                      lang=lang).jobs
        batch.jobs = jobs
        for i, job in enumerate(jobs):
            job.seq = i + 1
        path = home / "batch.pdf"
        with open(path, "wb") as fh:
            pages = printing.write(batch, fh, qr.station_key(home))
    doc = pdfplumber.open(path)
    sheets, index = [], pages - batch.sheets
    for job in jobs:
        for s in range(1, job.sheets + 1):
            sheets.append((job, s, doc.pages[index]))
            index += 1
    yield SimpleNamespace(store=store, batch=batch, path=path, doc=doc, sheets=sheets)
    doc.close()
    store.close()


def _mm(c) -> F.Box:
    return F.Box(c["x0"] / MM, c["top"] / MM, (c["x1"] - c["x0"]) / MM, (c["bottom"] - c["top"]) / MM)


def _layout(job, sheet: int) -> F.Page:
    """The page as the card's form sets it: translated, with the contact sentence in a language the
    stamped face cannot draw."""
    contact = printing._set_contact(job, _font())
    return printing._with_contact(L.translate(F.page(job.form, sheet), job.language), contact)


@functools.lru_cache(maxsize=1)
def _font():
    return printing.Font()


def _room(page: F.Page, blank: bool) -> list[tuple[F.Box, str]]:
    """Each printed string of a (translated) page and its box, on one variant."""
    out = []
    for f in page.fields:
        if blank and f.prefilled_only:
            continue
        if not f.id.endswith(".change"):
            out.append((f.label_box, f.label))
        out.extend((o.label_box, o.label) for o in f.options if o.label)
    for t in page.texts:
        if not (blank and t.prefilled_only) and not (not blank and t.blank_only):
            out.append((t.box, t.text))
    return out


def _form_chars(page, job, sheet):
    """The characters WeasyPrint set (the stamped values are in the stamp's own font)."""
    slot = F.page(job.form, sheet).slot("print_id").box
    stamp = next(c["fontname"] for c in page.chars if slot.contains(_mm(c), 1.0))
    return [c for c in page.chars if c["fontname"] != stamp and c["text"].strip()]


@pytest.mark.slow
def test_each_language_is_set_in_its_own_face_and_every_word_is_printed(printed):
    seen = set()
    for job, sheet, page in printed.sheets:
        layout = _layout(job, sheet)
        chars = _form_chars(page, job, sheet)
        # nothing stamped is drawn as the mark of a missing glyph (IPAex has no Hangul)
        assert not [c for c in page.chars if c["text"] == MISSING], (job.language, sheet)
        faces = {_face(c["fontname"]) for c in chars}
        assert faces == {FACES[job.language].lower()}, (job.language, faces)
        words = Counter(ch for _, text in _room(layout, job.blank) for ch in text if not ch.isspace())
        drawn = Counter(c["text"] for c in chars)
        assert not words - drawn, (job.language, job.variant, words - drawn)
        seen.add((job.language, job.form, job.variant, sheet > 1))
    assert len(seen) >= len(L.languages()) * 4


def _face(fontname: str) -> str:
    """'ABCDEF+Noto-Sans-CJK-SC-Bold' -> 'notosanscjksc'."""
    name = fontname.split("+")[-1]
    for style in ("-Bold", "-Condensed"):
        name = name.replace(style, "")
    return name.replace("-", "").lower()


def _cmap(face: str) -> set[int]:
    family = {"IPAexGothic": "IPAexGothic", "LiberationSansNarrow": "Liberation Sans Narrow",
              "NotoSansCJKsc": "Noto Sans CJK SC", "NotoSansCJKkr": "Noto Sans CJK KR"}[face]
    found = subprocess.run(["fc-match", "-f", "%{file}\n%{index}", family], capture_output=True, text=True,
                           check=True).stdout.split("\n")
    path, number = found[0], int(found[1] or 0)
    font = TTCollection(path).fonts[number] if path.endswith(".ttc") else TTFont(path)
    assert font["name"].getDebugName(6).split("-")[0].lower() == face.lower(), (family, path)
    return set(font.getBestCmap())


@pytest.mark.parametrize("lang", L.languages())
def test_every_character_has_a_glyph_in_the_face_of_its_language(lang):
    covered = _cmap(FACES[lang])
    for form in F.TYPES:
        for number in (1, 2):
            for _, text in _room(L.translate(F.page(form, number), lang), False) + \
                    _room(L.translate(F.page(form, number), lang), True):
                missing = {ch for ch in text if not ch.isspace() and ord(ch) not in covered}
                assert not missing, (lang, text, missing)


@pytest.mark.slow
def test_the_fonts_are_embedded(printed):
    listing = subprocess.run(["pdffonts", str(printed.path)], capture_output=True, text=True, check=True).stdout
    rows = listing.splitlines()[2:]
    assert rows and all(r.split()[-5] == "yes" for r in rows), listing
    names = {_face(r.split()[0]) for r in rows}
    assert {f.lower() for f in FACES.values()} <= names, listing


@pytest.mark.slow
def test_no_printed_word_runs_out_of_its_box_in_any_language(printed):
    out = set()
    for job, sheet, page in printed.sheets:
        layout = _layout(job, sheet)
        rooms = _room(layout, job.blank)
        for c in _form_chars(page, job, sheet):
            box = _mm(c)
            cx, cy = box.x + box.w / 2, box.y + box.h / 2
            near = [(b, t) for b, t in rooms if b.y - 0.6 <= cy <= b.bottom + 0.6 and b.x - 3 <= cx <= b.right + 3]
            if not any(b.x - 0.2 <= box.x and box.right <= b.right + 0.2 and b.y - 1.2 <= box.y
                       and box.bottom <= b.bottom + 1.2 for b, _ in near):
                out.add((job.language, c["text"], tuple(t for b, t in near)))
    assert not out, sorted(out)


@pytest.mark.slow
def test_the_language_goes_with_the_record_and_not_the_layout(printed):
    scope = printed.batch.scope
    for job, sheet, page in printed.sheets:
        # the same layout version in every QR code: the reader needs nothing new
        assert printing.payload(job, sheet).form_version == F.VERSION
    langs = {j.print_id: j.language for j in printed.batch.jobs}
    assert set(langs.values()) == set(L.languages())
    assert scope["lang"] == printed.batch.jobs[-1].language
    # the cover says how many cards are in which language
    cover = "".join(printed.doc.pages[0].extract_text().split())
    assert "日本語以外:英語4枚・韓国語4枚・中国語（簡体字）4枚" in cover


def test_the_card_keeps_its_language_and_a_print_uses_it(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'junkai.sqlite3'}")
    store.migrate()
    with store.transaction():
        seed(store, 8, 1, 3, date(2026, 11, 20), "試験")
        card = next(c for c in store.cards_of_beat(store.summary().beat.iloc[0])
                    if c.premises["status"] == model.ACTIVE)
        pid = card.premises["id"]
        value = model.validate_field(card.premises["kind"], "language", "ko", NOW.date())
        store.change_card(pid, [("language", value)], NOW, "operator", "試験")
        with pytest.raises(JunkaiError):
            model.validate_field(card.premises["kind"], "language", "fr", NOW.date())
        batch = printing.plan(store, premises_ids=[pid], operator="試験", now=NOW)
        assert batch.jobs[0].language == "ko" and batch.scope["languages"] == {batch.jobs[0].print_id: "ko"}
        assert batch.scope["lang"] is None
        # --lang wins over the preference
        assert printing.plan(store, premises_ids=[pid], operator="試験", now=NOW, lang="ja").jobs[0].language == "ja"
        with pytest.raises(JunkaiError, match="カードの言語"):
            printing.plan(store, premises_ids=[pid], operator="試験", now=NOW, lang="fr")
        printing.record(store, batch, tmp_path / "x.pdf")
        assert store.print_batch(batch.id)["scope"]["languages"] == {batch.jobs[0].print_id: "ko"}
        assert store.printed_card(batch.jobs[0].print_id)["form_version"] == F.VERSION
    store.close()


# --- read back -------------------------------------------------------------------------------


@pytest.mark.slow
def test_scans_of_every_language_read_back_as_the_japanese_ones(tmp_path):
    """The same residents fill in the same cards printed in each language; the reader gets the
    same fields right: it reads boxes, never the form's words."""
    import json

    from bench.ocr import same
    from tests.ocr_cards import BEAT, _junkai, printed as seeded

    home, _, _ = seeded()
    right: dict[str, dict[str, bool]] = {}
    for lang in L.languages():
        pdf = _junkai(home, "print", "cards", "--beat", BEAT, "--lang", lang, "--out-dir", str(tmp_path / lang))
        out = tmp_path / f"scans-{lang}"
        _junkai(home, "simulate", pdf.strip().splitlines()[-1], "--out", str(out), "--seed", "7", "--limit", "2")
        truth = json.loads((out / "truth.json").read_text(encoding="utf-8"))
        results = {(Path(r["source"]).name, r["page"]): r
                   for r in map(json.loads, _junkai(home, "read", str(out), "--json").splitlines())}
        marks = right[lang] = {}
        for t in truth["pages"]:
            if t["kind"] != "card":
                continue
            r = results[(t["file"], t["page"])]
            assert r["identity"]["print_id"] == t["print_id"], lang
            for f in r["fields"]:
                marks[f"{t['sheet']}:{f['id']}"] = same(f["kind"], t["values"].get(f["id"]), f["value"])
    ja = right["ja"]
    assert len(ja) > 40
    assert sum(ja.values()) >= len(ja) * 0.8
    for lang in FOREIGN:
        assert right[lang].keys() == ja.keys(), lang
        differ = [k for k in ja if right[lang][k] != ja[k]]
        # the same ink on the same boxes: at most a stray field of OCR noise apart
        assert sum(right[lang].values()) >= sum(ja.values()) - 2 and len(differ) <= 3, (lang, differ)
