"""The actions without any door: each checks the operator's right (a refusal audited once), does its
work and writes its one audit row; the domain rules that used to live in the commands."""

from __future__ import annotations

import json
from datetime import date

import pytest

from junkai import JunkaiError, access
from junkai.actions import Context, admin, cards, exports, printing, review, visits
from junkai.settings import Settings
from tests.test_access import AT, organise


@pytest.fixture
def org(store):
    with store.transaction():
        premises = organise(store)
        for name, role, scope in [("管理者 山田", "admin", {}), ("地域課長 佐藤", "custodian", dict(station_id="S01")),
                                  ("署長 工藤", "chief", dict(station_id="S01")),
                                  ("交番所長 田中", "handler", dict(post_id="S01-P01"))]:
            store.add_user(name, role, AT, "試験", **scope)
    return premises


def as_(store, home, operator: str, notice=None) -> Context:
    return Context(Settings(home=home, db_url=store.url, config_path=None), store, operator, notice)


def audit_rows(store) -> list[dict]:
    with store.transaction():
        return store.audit_events()


def test_a_chief_may_not_print_and_the_refusal_is_audited_once(store, org, tmp_path):
    before = len(audit_rows(store))
    with pytest.raises(access.Refused, match="署長 工藤 は 受持区 S01-P01-B1 のカードと訪問リストの印刷を行えません"):
        printing.print_cards(as_(store, tmp_path, "署長 工藤"), tmp_path / "out", beat="S01-P01-B1", blank=1)
    rows = audit_rows(store)[before:]
    assert [(r["operator"], r["action"], r["target_id"]) for r in rows] == [("署長 工藤", "refused", "S01-P01-B1")]
    assert json.loads(rows[0]["detail"])["attempted"] == "print"
    assert not (tmp_path / "out").exists()


def test_a_successful_action_writes_exactly_one_audit_row(store, org, tmp_path):
    ctx = as_(store, tmp_path, "地域課長 佐藤")
    pid = org["S01-P01-B1"]
    for act, action in [(lambda: cards.history(ctx, pid), "history"),
                        (lambda: cards.amend_card(ctx, pid, [("home_phone", "017-777-1234")]), "card.amend"),
                        (lambda: visits.add_visit(ctx, pid, "S01-O001", "2026-11-20 14:30", "面接"), "visit.add"),
                        (lambda: exports.export(ctx, "cards", "csv", tmp_path / "c.csv", ("station", "S01")), "export"),
                        (lambda: printing.print_cards(ctx, tmp_path / "out", premises_ids=[pid]), "print")]:
        before = len(audit_rows(store))
        act()
        rows = audit_rows(store)[before:]
        assert [(r["operator"], r["action"]) for r in rows] == [("地域課長 佐藤", action)]
    assert cards.history(ctx, pid)["card"]["home_phone"] == "017-777-1234"


def test_in_setup_mode_everyone_may_act_and_the_door_is_told(store, tmp_path):
    with store.transaction():
        premises = organise(store)
    told = []
    doc = cards.history(as_(store, tmp_path, "誰か", told.append), premises["S02-P01-B1"])
    assert doc["premises"]["beat_id"] == "S02-P01-B1" and told == [access.SETUP_WARNING]


def test_the_first_user_is_an_administrator_and_the_last_one_stays(store, tmp_path):
    with store.transaction():
        organise(store)
    ctx = as_(store, tmp_path, "準備 担当")
    with pytest.raises(JunkaiError, match="最初の利用者は管理者"):
        admin.add_user(ctx, "交番所長 田中", "handler", post="S01-P01")
    assert admin.add_user(ctx, "管理者 山田", "admin")["role"] == "admin"
    head = as_(store, tmp_path, "管理者 山田")
    with pytest.raises(access.Refused):  # users exist now: the one who set up is nobody
        admin.add_user(ctx, "交番所長 田中", "handler", post="S01-P01")
    admin.add_user(head, "交番所長 田中", "handler", post="S01-P01")
    with pytest.raises(JunkaiError, match="最後の管理者"):
        admin.disable_user(head, "管理者 山田")
    assert admin.disable_user(head, "交番所長 田中") == 1
    assert [(u["name"], u["disabled_by"]) for u in admin.users(head)] == [("交番所長 田中", "管理者 山田"),
                                                                        ("管理者 山田", None)]


def test_a_visit_book_with_a_bad_row_imports_nothing_and_names_the_row(store, org, tmp_path):
    ctx = as_(store, tmp_path, "地域課長 佐藤")
    book = tmp_path / "book.csv"
    pid = org["S01-P01-B1"]
    book.write_text("各戸ID,警察官ID,日時,結果,指導連絡,備考\n"
                    f"{pid},S01-O001,2026-11-18 10:00,面接,,\n{pid},S01-O999,2026-11-18 10:30,面接,,\n",
                    encoding="utf-8")
    with pytest.raises(visits.BadRows) as bad:
        visits.import_visits(ctx, book)
    assert [line for line, _ in bad.value.bad] == [3] and "S01-O999" in bad.value.bad[0][1]
    with store.transaction():
        assert store.visits(pid) == []
    done = visits.import_visits(ctx, book, skip_bad=True)
    assert (done.visits, [line for line, _ in done.bad]) == (1, [3])
    # the handler's post is S01-P01: a book naming a premises of another post is refused as a whole
    other = tmp_path / "other.csv"
    other.write_text("各戸ID,警察官ID,日時,結果\n" f"{org['S01-P02-B1']},S01-O001,2026-11-18 11:00,面接\n",
                     encoding="utf-8")
    with pytest.raises(access.Refused, match="範囲外"):
        visits.import_visits(as_(store, tmp_path, "交番所長 田中"), other)


def test_a_night_visit_is_approved_only_by_an_approval_before_it(store, org, tmp_path):
    ctx = as_(store, tmp_path, "地域課長 佐藤")
    pid = org["S01-P01-B1"]
    visits.approve_night(ctx, pid, "S01-O001", date(2026, 11, 20), "地域課長 佐藤", "2026-11-19 10:00")
    assert not visits.add_visit(ctx, pid, "S01-O001", "2026-11-20 20:15", "面接").unapproved_night
    assert visits.add_visit(ctx, pid, "S01-O002", "2026-11-20 20:30", "面接").unapproved_night
    with pytest.raises(access.Refused, match="夜間の巡回連絡の承認"):
        visits.approve_night(as_(store, tmp_path, "交番所長 田中"), pid, "S01-O001", date(2026, 11, 21), "所長")


def test_review_decisions_keep_to_the_reviewers_scope(store, org, tmp_path):
    with store.transaction():
        item = store.add_review_item(page_id="a:1", premises_id=org["S01-P01-B1"], topic="value", field="home_phone",
                                     label="自宅電話", kind="phone", guess="017-777-1234", confidence=0.4)
    with pytest.raises(access.Refused, match="確認作業"):
        review.decide(as_(store, tmp_path, "交番所長 田中"), item, "accept")
    ctx = as_(store, tmp_path, "地域課長 佐藤")
    assert review.show(ctx, item)["address"].startswith("青森市長島")
    assert review.decide(ctx, item, "accept")["status"] == "accepted"
    actions = [(r["operator"], r["action"]) for r in audit_rows(store)[-3:]]
    assert actions == [("交番所長 田中", "refused"), ("地域課長 佐藤", "review.show"), ("地域課長 佐藤", "review.accepted")]


def test_a_custodian_runs_the_batches_of_their_own_station_only(store, org, tmp_path):
    from junkai.actions import batches

    ctx = as_(store, tmp_path, "地域課長 佐藤")
    assert batches.nightly_stations(ctx, "S01") == ["S01"] and batches.inbox_stations(ctx, "S01") == ["S01"]
    with pytest.raises(access.Refused, match="ストア全体"):
        batches.nightly_stations(ctx)  # the store holds another station too
    with pytest.raises(access.Refused, match="警察署 S02"):
        batches.ingest(ctx, [tmp_path], station="S02")
    with pytest.raises(access.Refused, match="ストアの作成・更新"):
        batches.retention(ctx)
