"""Every kind of file junkai writes with residents' personal data: owner-only (0600), marked
取扱注意 on every page (PDFs read back with pdfplumber) or in the first line (CSV) or the
envelope (JSON), and no temporary file left beside it."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pdfplumber
import pytest
from typer.testing import CliRunner

from junkai.cli import app
from junkai.files import CLASSIFICATION, CSV_MARK

runner = CliRunner()
AS_OF = "2026-11-20"
BEAT = "S01-P01-B1"


def run(*args) -> str:
    r = runner.invoke(app, list(args))
    assert r.exit_code == 0, (args, r.output)
    return r.output


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    """Seed a store once and write one file of every kind into out/."""
    root = tmp_path_factory.mktemp("outputs")
    mp = pytest.MonkeyPatch()
    mp.setenv("JUNKAI_HOME", str(root / "home"))
    mp.delenv("JUNKAI_DB_URL", raising=False)
    mp.delenv("JUNKAI_CONFIG", raising=False)
    mp.chdir(root)
    out = root / "out"
    out.mkdir()
    try:
        run("seed", "--premises", "40", "--seed", "3", "--until", AS_OF)
        from junkai import settings
        from junkai.store import Store

        store = Store(settings.load().db_url)
        with store.transaction():
            complaint = int(store.frame("opinions").query("complaint").id.iloc[0])
        store.close()
        files = {}
        files["cards"] = Path(run("print", "cards", "--beat", BEAT, "--out-dir", str(out)).split()[-1])
        files["blank"] = Path(run("print", "cards", "--blank", "2", "--beat", BEAT, "--type", "business",
                                  "--out-dir", str(out)).split()[-1])
        files["visits"] = Path(run("overdue", "--beat", BEAT, "--as-of", AS_OF, "--format", "pdf",
                                   "--out", str(out / "visits.pdf")).split()[-1])
        files["handover"] = Path(run("handover", BEAT, "--as-of", AS_OF, "--out-dir", str(out)).split()[-1])
        files["chief"] = Path(run("report", "chief", "--station", "S01", "--period", "2026-11",
                                  "--out-dir", str(out)).split()[-1])
        files["complaint"] = Path(run("report", "complaint", str(complaint), "--out-dir", str(out)).split()[-1])
        files["hq"] = Path(run("report", "hq", "--period", "2026-11", "--out-dir", str(out)).split()[-1])
        run("overdue", "--beat", BEAT, "--as-of", AS_OF, "--out", str(out / "overdue.csv"))
        files["overdue.csv"] = out / "overdue.csv"
        for what in ("premises", "cards", "visits", "opinions", "events"):
            for fmt in ("csv", "json"):
                path = out / f"export-{what}.{fmt}"
                run("export", "--what", what, "--format", fmt, "--out", str(path))
                files[path.name] = path
        yield dict(files=files, out=out)
    finally:
        mp.undo()


@pytest.mark.slow
def test_every_output_is_owner_only_and_nothing_half_written_is_left(outputs):
    files = outputs["files"]
    assert all(p.is_file() for p in files.values()), files
    for name, path in files.items():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, (name, oct(path.stat().st_mode))
    leftovers = [p.name for p in outputs["out"].rglob("*") if p.name.startswith(".") or p.suffix == ".tmp"]
    assert leftovers == []


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["cards", "blank", "visits", "handover", "chief", "complaint", "hq"])
def test_every_page_of_every_pdf_is_marked(outputs, kind):
    path = outputs["files"][kind]
    with pdfplumber.open(path) as pdf:
        assert len(pdf.pages) >= 1
        unmarked = [i + 1 for i, page in enumerate(pdf.pages) if CLASSIFICATION not in (page.extract_text() or "")]
    assert unmarked == [], f"{path.name}: pages without {CLASSIFICATION}: {unmarked}"


@pytest.mark.slow
def test_the_card_marking_stays_out_of_what_is_read(outputs):
    """The marking sits in the top margin, clear of the markers, the QR code and every field."""
    from junkai import form as F

    for form in F.TYPES:
        for number in (1, 2):
            page = F.page(form, number)
            mark = [t for t in page.texts if t.text == CLASSIFICATION]
            assert len(mark) == 1
            box = mark[0].box
            others = [m for m in page.markers] + [page.qr] + [f.box for f in page.fields]
            for o in others:
                apart = box.x + box.w <= o.x or o.x + o.w <= box.x or box.y + box.h <= o.y or o.y + o.h <= box.y
                assert apart, (form, number, o)


@pytest.mark.slow
def test_csv_files_start_with_the_marking_and_still_read_as_tables(outputs):
    import pandas as pd

    for name, path in outputs["files"].items():
        if path.suffix != ".csv":
            continue
        text = path.read_text(encoding="utf-8-sig")
        assert text.splitlines()[0].startswith(CSV_MARK), name  # the cards CSV adds its notes on that line
        if name.startswith("export-"):
            df = pd.read_csv(path, skiprows=1, encoding="utf-8-sig")
            assert len(df.columns) > 2 and not df.empty, name


@pytest.mark.slow
def test_json_exports_name_the_marking(outputs):
    for name, path in outputs["files"].items():
        if path.suffix != ".json":
            continue
        doc = json.loads(path.read_text(encoding="utf-8"))
        assert doc["classification"] == CLASSIFICATION and isinstance(doc["rows"], list) and doc["rows"], name


def test_only_a_full_disk_is_reworded_other_write_errors_stay_as_they_are(tmp_path):
    from junkai import files

    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    with pytest.raises(OSError):  # not a JunkaiError about free space
        files.write_private(blocker / "sub" / "x.pdf", b"%PDF")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]


def test_the_later_fields_go_through_amend_history_and_the_cards_export(home, tmp_path):
    """A work phone, 要配慮 ticks and a business phone: amended, shown with their labels, exported."""
    import csv
    import io

    from junkai import settings
    from junkai.store import Store

    run("seed", "--premises", "30", "--seed", "3", "--until", AS_OF)
    store = Store(settings.load().db_url)
    with store.transaction():
        premises = store.frame("premises")
        active = premises[premises.status == "active"]
        hh = next(int(i) for i in active[active.kind == "household"].id if store.card(int(i)).data.get("members"))
        biz = int(active[active.kind == "business"].id.iloc[0])
        member = next(iter(store.card(hh).data["members"]))
    store.close()
    run("card", "amend", str(hh), f"members.{member}.work_phone=0177341111",
        "support=災害時に安否確認の連絡を希望,ひとり暮らし", f"members.{member}.sex=回答しない", "--on", AS_OF)
    # a foreign number is stored +1 ...: a spreadsheet would take it for a formula
    run("card", "amend", str(biz), "business_phone=+1 202-555-0123", "--on", AS_OF)
    doc = json.loads(run("history", str(hh), "--json"))
    assert doc["card"]["members"][member]["work_phone"] == "017-734-1111"
    assert doc["card"]["support"] == ["ひとり暮らし", "災害時に安否確認の連絡を希望"]
    shown = run("history", str(hh))
    assert "災害時などの手助け（任意）" in shown and f"世帯員{member} 勤務先・学校の電話" in shown
    assert "事業所電話" in run("history", str(biz))
    run("export", "--what", "cards", "--out", str(tmp_path / "c.csv"))
    text = (tmp_path / "c.csv").read_text(encoding="utf-8-sig")
    rows = {int(r["premises_id"]): r for r in csv.DictReader(io.StringIO(text.split("\n", 1)[1]))}
    assert rows[hh]["support"] == "ひとり暮らし|災害時に安否確認の連絡を希望"
    assert rows[hh][f"members.{member}.work_phone"] == "017-734-1111"
    assert rows[hh][f"members.{member}.sex"] == "回答しない"
    assert rows[biz]["business_phone"] == "'+1 202-555-0123"  # defused by export.csv_text
    doc = json.loads(run("export", "--what", "cards", "--format", "json", "--out", str(tmp_path / "c.json")) and
                     (tmp_path / "c.json").read_text(encoding="utf-8"))
    by_id = {r["premises_id"]: r for r in doc["rows"]}
    assert by_id[hh]["support"] == ["ひとり暮らし", "災害時に安否確認の連絡を希望"]  # JSON keeps the list
