"""Recording visits: one at a time, a 巡回連絡簿 CSV, and night visits with their approval (第6-3)."""

from datetime import time

import pytest
from typer.testing import CliRunner

from junkai import JunkaiError, settings
from junkai.cli import app
from junkai.store import Store
from junkai.visits import is_night, parse_guidance

runner = CliRunner()


def run(*args):
    return runner.invoke(app, list(args))


@pytest.fixture
def store(home):
    assert run("seed", "--premises", "30", "--seed", "2", "--until", "2026-11-20").exit_code == 0
    s = Store(settings.load().db_url)
    yield s
    s.close()


def visits_of(store, pid):
    with store.transaction():
        return store.visits(pid)


@pytest.mark.parametrize("t,night", [(time(18, 59), False), (time(19, 0), True), (time(23, 59), True),
                                     (time(0, 0), True), (time(5, 59), True), (time(6, 0), False)])
def test_night_window_spans_midnight(t, night):
    assert is_night(t, time(19), time(6)) is night


def test_guidance_items_are_those_of_6_4():
    assert parse_guidance("1・3") == [1, 3] and parse_guidance("(2)(5)") == [2, 5] and parse_guidance("") == []
    with pytest.raises(JunkaiError, match="1〜5"):
        parse_guidance("6")


def test_visit_add_and_an_unapproved_night_visit_is_flagged(store):
    r = run("visit", "add", "--premises", "3", "--officer", "S01-O001", "--at", "2026-11-21 20:15",
            "--outcome", "面接", "--guidance", "1,3")
    assert r.exit_code == 0, r.output
    assert "事前承認の記録がありません" in r.output
    v = visits_of(store, 3)[-1]
    assert v["night"] and v["night_approval_id"] is None and v["guidance"] == "1,3"


def test_an_approval_given_before_the_visit_is_linked_and_one_after_is_not(store):
    r = run("visit", "approve-night", "--premises", "3", "--officer", "S01-O001", "--date", "2026-11-20",
            "--approver", "地域課長 佐藤", "--approved-at", "2026-11-19 10:00")
    assert r.exit_code == 0, r.output
    r = run("visit", "add", "--premises", "3", "--officer", "S01-O001", "--at", "2026-11-20 20:15",
            "--outcome", "面接")
    assert r.exit_code == 0 and "事前承認" not in r.output
    approved = visits_of(store, 3)[-1]
    assert approved["night"] and approved["night_approval_id"] is not None
    # an approval recorded after the visit is not prior approval
    run("visit", "approve-night", "--premises", "4", "--officer", "S01-O001", "--date", "2026-11-20",
        "--approver", "地域課長 佐藤", "--approved-at", "2026-11-20 21:00")
    r = run("visit", "add", "--premises", "4", "--officer", "S01-O001", "--at", "2026-11-20 20:15",
            "--outcome", "面接")
    assert "事前承認の記録がありません" in r.output
    assert visits_of(store, 4)[-1]["night_approval_id"] is None
    # another officer's approval does not cover this one
    r = run("visit", "add", "--premises", "3", "--officer", "S01-O002", "--at", "2026-11-20 20:30",
            "--outcome", "面接")
    assert "事前承認の記録がありません" in r.output


CSV_HEADER = "各戸ID,警察官ID,日時,結果,指導連絡,備考\n"


def test_import_validates_every_row_and_imports_nothing_when_one_is_bad(store, tmp_path):
    f = tmp_path / "book.csv"
    f.write_text(CSV_HEADER + "1,S01-O001,2026-11-18 10:00,面接,1・2,\n"
                 "2,S01-O999,2026-11-18 10:30,面接,,\n"
                 "3,S01-O001,2026-11-18 11:00,留守,,\n"
                 "99999,S01-O001,2026-11-18 11:00,面接,,\n"
                 "4,S01-O001,2099-01-01 11:00,面接,,\n"
                 "5,S01-O001,2026-11-18 11:30,不在,1,\n", encoding="utf-8-sig")
    before = [len(visits_of(store, p)) for p in (1, 2, 3)]
    r = run("visit", "import", str(f))
    assert r.exit_code == 2
    reported = {int(l.split("book.csv:")[1].split(":")[0]): l for l in r.output.splitlines() if "book.csv:" in l}
    expected = {3: "警察官が見つかりません: S01-O999", 4: "結果は", 5: "各戸が見つかりません: 99999",
                6: "訪問日時が未来", 7: "指導連絡事項は記録できません"}
    assert set(reported) == set(expected)
    for line, message in expected.items():
        assert message in reported[line]
    assert "何も取り込みませんでした" in r.output
    assert [len(visits_of(store, p)) for p in (1, 2, 3)] == before
    r = run("visit", "import", str(f), "--skip-bad")
    assert r.exit_code == 0 and "1 件の訪問を取り込みました" in r.output
    assert visits_of(store, 1)[-1]["guidance"] == "1,2"
    # the same book again: recognised as duplicates
    r = run("visit", "import", str(f), "--skip-bad")
    assert "0 件" in r.output and "重複" in r.output


def test_import_of_a_file_without_the_needed_columns(store, tmp_path):
    f = tmp_path / "x.csv"
    f.write_text("a,b\n1,2\n", encoding="utf-8")
    r = run("visit", "import", str(f))
    assert r.exit_code == 2 and "必要な列がありません" in r.output
    f.write_bytes("各戸ID,警察官ID,日時,結果\n".encode("cp932") + "1,S01-O001,2026-11-18 10:00,面接\n".encode("cp932"))
    r = run("visit", "import", str(f))
    assert r.exit_code == 2 and "UTF-8 ではありません" in r.output


def test_beat_frequency_is_effective_dated_and_audited(store):
    from datetime import date
    with store.transaction():
        before = store.frequency_at("S01-P01-B1", date(2026, 11, 30))
    r = run("beat", "frequency", "S01-P01-B1", "36", "--by", "青森警察署長 工藤", "--from", "2026-12-01")
    assert r.exit_code == 0, r.output
    with store.transaction():
        assert store.frequency_at("S01-P01-B1", date(2026, 12, 1)) == 36
        assert store.frequency_at("S01-P01-B1", date(2026, 11, 30)) == before != 36
        assert store.audit_events()[-1]["action"] == "beat.frequency"
    assert run("beat", "frequency", "S01-P01-B9", "6", "--by", "署長", "--from", "2026-12-01").exit_code == 2
    r = run("beat", "frequency", "S01-P01-B1", "0", "--by", "署長", "--from", "2026-12-01")
    assert r.exit_code == 2 and "1〜120" in r.output


def test_overdue_csv_has_the_definitions_at_its_head(store, tmp_path):
    import pandas as pd

    r = run("overdue", "--beat", "S01-P01-B1", "--as-of", "2026-11-20", "--out", str(tmp_path / "o.csv"))
    assert r.exit_code == 0, r.output
    text = (tmp_path / "o.csv").read_text(encoding="utf-8-sig")
    assert text.startswith("# 取扱注意") and text.splitlines()[1].startswith("# 基準日 2026-11-20")
    assert "長期不実施:" in text and "長期未把握:" in text
    df = pd.read_csv(tmp_path / "o.csv", comment="#", encoding="utf-8-sig")
    assert set(df.beat_id) == {"S01-P01-B1"} and len(df) > 0
    r = run("overdue", "--beat", "S01-P01-B1", "--post", "S01-P01")
    assert r.exit_code == 2 and "どれか一つだけ" in r.output


def test_a_returned_card_is_not_an_outcome_an_officer_records():
    from datetime import datetime

    from junkai import JunkaiError, model
    from junkai.visits import validate

    values = dict(premises_id="1", officer_id="S01-O001", visited_at="2026-11-20 10:00", outcome=model.RETURNED)
    with pytest.raises(JunkaiError, match="取り込みが記録する結果"):
        validate(values, {1}, {"S01-O001"}, datetime(2026, 11, 21))
