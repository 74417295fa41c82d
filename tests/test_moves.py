"""A returned card with a new address: the review item says what the card had, and is taken only as a
move (the premises ceases, a new one takes the household over, each history naming the other) or as a
correction of the same premises' address; accepting it without saying which is refused."""

import json
from datetime import date, datetime

import pytest
from typer.testing import CliRunner

from junkai import JunkaiError, form as F, model, printing, settings
from junkai.cli import app
from junkai.readings import FieldReading, Identity, PageReading, PageStatus
from junkai.reconcile import reconcile_page
from junkai.review import decide
from junkai.store import Store

runner = CliRunner()
TODAY = date(2026, 11, 25)
NEW_ADDRESS = "青森市本町2-4-1 コーポ本町 203"


def run(*args):
    return runner.invoke(app, list(args))


@pytest.fixture
def returned(home, tmp_path):
    """A seeded store (through the commands, as a station sets one up), a household card printed from it
    and read back with a new postal code and address written in: one review item."""
    store, card, items = read_back(tmp_path, {"postal_code": "0300802", "address": NEW_ADDRESS})
    yield store, card, items
    store.close()


def read_back(tmp_path, written: dict):
    """The store, the card printed and the review items of its page read back with `written` (form ids)."""
    assert run("seed", "--premises", "20", "--seed", "4", "--until", "2026-11-20").exit_code == 0
    store = Store(settings.load().db_url, settings.load().home)
    with store.transaction():
        card = next(c for c in store.cards_of_beat("S01-P01-B1")
                    if c.premises["kind"] == model.HOUSEHOLD and c.data.get("members")
                    and c.premises["status"] == model.ACTIVE)
        batch = printing.plan(store, premises_ids=[card.premises["id"]], operator="試験",
                              now=datetime(2026, 11, 21, 9))
        printing.record(store, batch, tmp_path / "cards.pdf")
    job = batch.jobs[0]
    page = F.page(job.form, 1)
    fields = []
    for fid, value in [("address.change", F.CHANGED), *written.items()]:
        f = page.field(fid)
        fields.append(FieldReading(fid, f.kind, f.section, f.path, value, 0.97, ink=True))
    reading = PageReading("x.pdf", 1, PageStatus.OK, form=job.form, form_version=F.VERSION, sheet=1, fields=fields,
                          identity=Identity(print_id=job.print_id, premises_id=job.premises["id"],
                                            card_version=job.version, beat=job.beat_id, sheet=1, sheets=job.sheets,
                                            form=job.form, form_version=F.VERSION))
    with store.transaction():
        reconcile_page(store, "p1", reading, "試験", today=TODAY)
        items = [i for i in store.review_items() if i["page_id"] == "p1"]
    return store, card, items


def _premises_count(store) -> int:
    with store.transaction():
        return len(store.premises_id_set())


def test_one_item_shows_the_cards_address_and_enter_alone_is_refused(returned):
    store, card, items = returned
    pid = card.premises["id"]
    assert len(items) == 1
    item = items[0]
    assert item["label"] == "所在地の変更" and item["kind"] == "address"
    # what the card had, not (空欄): the old address the resident struck through
    assert item["printed"] == model.address_line(card.premises) and item["printed"]
    assert item["guess"] == f"〒030-0802 {NEW_ADDRESS}"
    before = _premises_count(store)
    for how in (None, ""):
        with pytest.raises(JunkaiError, match="転居.*住所の訂正.*選んでください"):
            decide(store, item["id"], "accept", "試験", today=TODAY, how=how)
    with pytest.raises(JunkaiError, match="所在地の変更の項目"):  # a choice where there is none to make
        decide(store, item["id"], "reject", "試験", reason="x", how="move")
    r = run("review", "accept", str(item["id"]))
    assert r.exit_code != 0 and "--as-move" in r.output and "--as-correction" in r.output
    r = run("review", "accept", str(item["id"]), "--as-move", "--as-correction")
    assert r.exit_code != 0 and "どちらか一方" in r.output
    with store.transaction():
        assert store.review_item(item["id"])["status"] == "pending"
        assert store.premises(pid)["status"] == model.ACTIVE
        assert store.premises(pid)["town"] == card.premises["town"]
    assert _premises_count(store) == before
    r = run("review", "show", str(item["id"]))
    assert r.exit_code == 0 and f"カードの値: {item['printed']}" in r.output


def test_a_move_ceases_the_premises_and_a_new_one_takes_the_household_over(returned):
    store, card, items = returned
    pid, item = card.premises["id"], items[0]
    r = run("review", "accept", str(item["id"]), "--as-move")
    assert r.exit_code == 0, r.output
    assert "転居として採用しました" in r.output
    with store.transaction():
        old = store.premises(pid)
        new_id = store.moved_to(pid)
        new = store.card(new_id)
        old_events, new_events = store.events(pid), store.events(new_id)
        decided = store.review_item(item["id"])
        moves = [e for e in store.audit_events() if e["action"] == "premises.move"]
    assert new_id is not None and new_id != pid and f"新しい各戸 {new_id}" in r.output
    assert old["status"] == model.CEASED
    assert (new.premises["status"], new.premises["postal_code"], new.premises["town"], new.premises["block"],
            new.premises["building"]) == (model.ACTIVE, "0300802", "本町", "2-4-1", "コーポ本町 203")
    assert new.premises["beat_id"] == old["beat_id"] and new.data == card.data  # the household, keys and all
    assert decided["status"] == "accepted" and decided["value"]["as"] == "move" and decided["applied_at"]
    # both histories kept and linked
    assert [e["after"] for e in old_events if e["path"] == model.MOVED_TO] == [new_id]
    assert [e["after"] for e in new_events if e["path"] == model.MOVED_FROM] == [pid]
    assert [e["after"] for e in old_events if e["path"] == model.STATUS] == [model.CEASED]
    assert any(e["path"].startswith("members.") for e in old_events)  # the old card's history stays
    assert {e["source"] for e in new_events} == {f"review:{item['id']}"}
    assert len(moves) == 1 and json.loads(moves[0]["detail"])["to"] == new_id
    r = run("history", str(new_id))
    assert r.exit_code == 0 and "青森県青森市本町2-4-1 コーポ本町 203" in r.output and "転居元の各戸" in r.output
    r = run("history", str(pid))
    assert r.exit_code == 0 and "転出・廃業" in r.output and "転居先の各戸" in r.output
    # a second move of the ceased premises is refused
    with store.transaction():
        with pytest.raises(JunkaiError, match="すでに転出・廃業"):
            store.move_premises(pid, new.premises, datetime.now(), "operator", "試験")


def test_a_correction_keeps_the_premises_and_changes_its_address(returned):
    store, card, items = returned
    pid, item = card.premises["id"], items[0]
    before = _premises_count(store)
    # the person corrects what was read, then says it is the same premises
    r = run("review", "correct", str(item["id"]), "〒030-0801 青森市新町1-2-3", "--as-correction")
    assert r.exit_code == 0, r.output
    assert "住所の訂正として採用しました" in r.output
    with store.transaction():
        p = store.premises(pid)
        events = store.events(pid)
        decided = store.review_item(item["id"])
    assert _premises_count(store) == before
    assert (p["status"], p["postal_code"], p["town"], p["block"], p["building"]) == (
        model.ACTIVE, "0300801", "新町", "1-2-3", None)
    assert decided["status"] == "corrected" and decided["value"]["as"] == "correction"
    fixed = [e for e in events if e["path"] == model.ADDRESS]
    assert len(fixed) == 1 and fixed[0]["before"] == model.address_line(card.premises)
    assert fixed[0]["after"] == "〒030-0801 青森県青森市新町1-2-3"
    r = run("history", str(pid))
    assert r.exit_code == 0 and "青森県青森市新町1-2-3" in r.output and "所在地 (訂正)" in r.output


def test_an_address_that_does_not_agree_with_its_postal_code_is_refused_with_the_reason(returned):
    store, card, items = returned
    with pytest.raises(JunkaiError, match="郵便番号"):
        decide(store, items[0]["id"], "correct", "試験", value="〒030-0801 弘前市本町1-2-3", today=TODAY,
               how="correction")
    with pytest.raises(JunkaiError, match="番地"):
        decide(store, items[0]["id"], "correct", "試験", value="〒030-0801 青森市新町", today=TODAY, how="move")
    with store.transaction():
        assert store.review_item(items[0]["id"])["status"] == "pending"
        assert store.premises(card.premises["id"])["status"] == model.ACTIVE


@pytest.fixture
def page_server(returned, home):
    """The review page on the returned card's store, with a custodian of its station logged in."""
    from junkai.actions import Context, login
    from tests.test_review import SECRET
    from tests.web import serving

    store, card, items = returned
    with store.transaction():
        store.add_user("管理者 山田", "admin", datetime(2026, 11, 1), "試験")
        store.add_user("地域課 試験", "custodian", datetime(2026, 11, 1), "試験", station_id="S01")
    login.set_passphrase(Context(settings.load(), store, "地域課 試験"), "地域課 試験", SECRET)
    with serving(store, home) as url:
        yield url, store, card, items[0], SECRET


@pytest.mark.slow
def test_the_page_offers_three_choices_refuses_enter_alone_and_moves_on_the_button(page_server):
    from playwright.sync_api import sync_playwright

    url, store, card, item, secret = page_server
    pid = card.premises["id"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        page = browser.new_page()
        blocked = []
        page.on("console", lambda m: blocked.append(m.text) if "Content Security Policy" in m.text else None)

        def press(key):
            with page.expect_navigation():
                page.keyboard.press(key)

        page.goto(url)
        page.fill("#name", "地域課 試験")
        page.fill("#secret", secret)
        press("Enter")
        assert page.inner_text("h1") == "所在地の変更"
        assert "@premises" not in page.content() and "pending" not in page.content()  # no internal names
        assert page.inner_text("#printed") == model.address_line(card.premises)  # not (空欄)
        assert page.input_value("#value") == f"〒030-0802 {NEW_ADDRESS}"
        choices = page.locator("#choices button")
        assert [t.split("\n")[0] for t in choices.all_inner_texts()] == ["転居", "住所の訂正", "却下"]
        # Enter alone takes nothing: it says which to choose
        press("Enter")
        assert "転居" in page.inner_text("#error") and "選んでください" in page.inner_text("#error")
        with store.transaction():
            assert store.review_item(item["id"])["status"] == "pending"
            assert store.premises(pid)["status"] == model.ACTIVE
        # 却下 goes to the reason of a rejection, and takes nothing by itself
        page.click("#as-reject")
        assert page.evaluate("document.activeElement.id") == "reason"
        with page.expect_navigation():
            page.click("#as-move")
        assert "確認待ちの項目はありません" in page.inner_text("main")
        assert not blocked, blocked
        browser.close()
    with store.transaction():
        new_id = store.moved_to(pid)
        assert store.premises(pid)["status"] == model.CEASED
        assert store.premises(new_id)["town"] == "本町" and store.card(new_id).data == card.data
        assert store.review_item(item["id"])["decided_by"] == "地域課 試験"


def test_other_structural_items_either_do_what_they_say_or_refuse_with_the_reason(returned):
    store, card, items = returned
    pid = card.premises["id"]
    value = dict(topic="value", confidence=0.4, crop=None, rules=[])
    with store.transaction():
        gone = store.add_review_item(page_id="p2", premises_id=pid, field="members.99", label="世帯員99 の転出・削除",
                                     kind="removal", guess="削除", **value)
        stray = store.add_review_item(page_id="no-such-page", field="identity", label="どの各戸のカードか",
                                      kind="premises", guess=str(pid), **dict(value, topic="identity"))
        phone = store.add_review_item(page_id="p1", premises_id=pid, field="home_phone", label="自宅電話",
                                      kind="phone", guess="017-777-1234", **value)
    # a removal of a row the card no longer has would change nothing
    with pytest.raises(JunkaiError, match="すでにカードにありません"):
        decide(store, gone, "accept", "試験", today=TODAY)
    # which premises a page is, for a page not waiting for it, would change nothing
    with pytest.raises(JunkaiError, match="待っていません"):
        decide(store, stray, "accept", "試験", today=TODAY)
    # after the move, a value of the old card is refused, naming where the household went
    decide(store, items[0]["id"], "accept", "試験", today=TODAY, how="move")
    with store.transaction():
        new_id = store.moved_to(pid)
    with pytest.raises(JunkaiError, match=f"転居先の各戸 {new_id}"):
        decide(store, phone, "accept", "試験", today=TODAY)
    with store.transaction():
        assert [store.review_item(i)["status"] for i in (gone, stray, phone)] == ["pending"] * 3
        assert store.card(pid).data == card.data


def test_show_says_how_an_address_change_was_taken(returned):
    store, card, items = returned
    assert run("review", "accept", str(items[0]["id"]), "--as-correction").exit_code == 0
    r = run("review", "show", str(items[0]["id"]))
    assert r.exit_code == 0 and "判断: 住所の訂正 〒030-0802 青森県青森市本町2-4-1 コーポ本町 203" in r.output


def test_an_address_written_without_its_postal_code_takes_its_towns_own(home, tmp_path):
    """As residents often write it (and the simulator does): the town's postal code, the only one it has."""
    store, card, items = read_back(tmp_path, {"address": "青森市本町1-2-3"})
    try:
        assert len(items) == 1 and items[0]["guess"] == "青森市本町1-2-3"
        r = run("review", "accept", str(items[0]["id"]), "--as-move")
        assert r.exit_code == 0, r.output
        with store.transaction():
            new = store.premises(store.moved_to(card.premises["id"]))
        assert (new["postal_code"], new["city"], new["town"], new["block"]) == ("0300802", "青森市", "本町", "1-2-3")
    finally:
        store.close()


def test_the_stores_move_and_correction_on_both_databases(store):
    from tests.test_access import AT, organise

    member = {"name": "山田 太郎", "relation": "世帯主"}
    there = dict(postal_code="0300802", prefecture="青森県", city="青森市", town="本町", block="2-4-1",
                 building="コーポ本町 203", room=None)
    with store.transaction():
        pid = organise(store)["S01-P01-B1"]
        store.change_card(pid, [("members.3", member), ("home_phone", "017-777-1234")], AT, "operator", "試験")
        new = store.move_premises(pid, there, AT, "review:1", "試験")
        store.correct_address(new, dict(there, block="2-4-2"), AT, "review:2", "試験")
        old_p, new_p, new_card = store.premises(pid), store.premises(new), store.card(new)
        paths = [e["path"] for e in store.events(new)]
        assert store.moved_to(pid) == new and store.moved_to(new) is None
    assert old_p["status"] == model.CEASED and new_p["status"] == model.ACTIVE and new_p["block"] == "2-4-2"
    assert new_card.data == {"members": {"3": member}, "contacts": {}, "home_phone": "017-777-1234"}
    assert sorted(paths[:2]) == ["home_phone", "members.3"] and paths[2:] == [model.MOVED_FROM, model.ADDRESS]
