"""The review queue: on the command line, and in a real headless browser by keyboard."""

from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont
from typer.testing import CliRunner

from junkai import settings
from junkai.cli import app
from junkai.store import Store
from tests.web import serving

runner = CliRunner()
FONT = "/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf"


def run(*args):
    return runner.invoke(app, list(args))


def crop(home: Path, name: str, text: str) -> str:
    path = home / "crops" / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    img = Image.new("L", (420, 70), 255)
    ImageDraw.Draw(img).text((10, 12), text, fill=0, font=ImageFont.truetype(FONT, 36))
    img.save(path)
    return str(path)


# (field, label, kind, guess, printed, rules)
ITEMS = [
    ("members.1.mobile", "携帯電話", "phone", "090-1234-567", "090-1234-5670", ["phone.invalid"]),
    ("members.1.name", "氏名", "text", "髙橋 一郎", "高橋 一郎", ["name.variant_char"]),
    ("home_phone", "自宅電話", "phone", "017-777-1234", None, []),
    ("members.2.kana", "フリガナ", "kana", "さとう はなこ", None, []),
    ("members.2.birth_date", "生年月日", "date", "2099-01-01", None, ["date.future"]),
    ("members.2.relation", "続柄", "choice", "配偶者", "子", []),
    ("contacts.1.phone", "電話", "phone", "0172-33-4455", None, []),
    ("members.3.occupation", "職業・勤務先・学校", "text", "会社員", "学生", []),
    ("dwelling", "住居の種類", "choice", "一戸建", "集合住宅", []),
    ("members.3.mobile", "携帯電話", "phone", "080-9999-0000", None, []),
    ("members.4.name", "氏名", "text", "工藤 花子", None, []),
]


@pytest.fixture
def queue(home):
    assert run("seed", "--premises", "20", "--seed", "4", "--until", "2026-11-20").exit_code == 0
    store = Store(settings.load().db_url)
    ids = []
    with store.transaction():
        premises = store.frame("premises")
        # a household of four on its card: the items below are about its members 1-4 (a value for a member
        # the card does not have would make a person with no 続柄, which the household rules keep out)
        household = next(int(h) for h in premises[premises.kind == "household"].id
                         if len((store.card(int(h)).data if store.card(int(h)) else {}).get("members") or {}) == 4)
        for n, (field, label, kind, guess, printed, rules) in enumerate(ITEMS):
            ids.append(store.add_review_item(
                page_id=f"sha:{n}", premises_id=household, topic="value", field=field, label=label, kind=kind,
                guess=guess, confidence=0.4, crop=crop(home, f"c{n}", guess), printed=printed,
                rules=[{"code": c, "message": f"{c} の検査に通りません"} for c in rules]))
    yield store, ids
    store.close()


@pytest.mark.slow
def test_cli_accept_correct_reject_with_validation_and_audit(queue, monkeypatch):
    from junkai import identity

    store, ids = queue
    # a store with no users yet: the operator is the OS account running the commands
    monkeypatch.setattr(identity, "os_account", lambda: "shiken")
    r = run("review", "list")
    assert r.exit_code == 0 and f"確認待ち {len(ITEMS)} 件" in r.output
    assert run("review", "show", str(ids[0])).exit_code == 0
    # an invalid guess cannot be accepted as it is; a valid correction can
    r = run("review", "accept", str(ids[0]))
    assert r.exit_code == 2 and "取り込めません" in r.output
    r = run("review", "correct", str(ids[0]), "０９０１２３４５６７８")
    assert r.exit_code == 0, r.output
    r = run("review", "accept", str(ids[2]))
    assert r.exit_code == 0
    r = run("review", "correct", str(ids[4]), "2099-02-01")
    assert r.exit_code == 2 and "未来" in r.output
    r = run("review", "reject", str(ids[4]), "--reason", "判読できない")
    assert r.exit_code == 0
    r = run("review", "accept", str(ids[2]))
    assert r.exit_code == 2 and "すでに判断済み" in r.output
    with store.transaction():
        a, b, c = store.review_item(ids[0]), store.review_item(ids[2]), store.review_item(ids[4])
        audit = [e for e in store.audit_events() if e["action"].startswith("review.") and e["target_id"]]
    assert (a["status"], a["value"]) == ("corrected", "090-1234-5678")
    # taken values reach the card at once, with the review item as their source
    with store.transaction():
        card = store.card(a["premises_id"])
        events = store.events(a["premises_id"])
    assert card.data["members"]["1"]["mobile"] == "090-1234-5678" and card.data["home_phone"] == "017-777-1234"
    assert {e["source"] for e in events[-2:]} == {f"review:{ids[0]}", f"review:{ids[2]}"}
    assert a["applied_at"] is not None and c["applied_at"] is None
    assert (b["status"], b["value"], c["status"], c["reason"]) == ("accepted", "017-777-1234", "rejected", "判読できない")
    decisions = [e for e in audit if e["action"] in ("review.corrected", "review.accepted", "review.rejected")]
    assert [e["operator"] for e in decisions] == ["shiken"] * 3
    # the audit names the field decided, never the resident's values: audit rows outlive retention
    assert '"field": "members.1.mobile"' in decisions[0]["detail"]
    assert all("090-1234-567" not in e["detail"] and "017-777-1234" not in e["detail"] for e in decisions)


SECRET = "確認作業の合言葉 2026"


@pytest.fixture
def server(queue, home):
    from datetime import datetime

    from junkai.actions import Context, login

    store, ids = queue
    with store.transaction():
        store.add_user("管理者 山田", "admin", datetime(2026, 11, 1), "試験")
        store.add_user("地域課 試験", "custodian", datetime(2026, 11, 1), "試験", station_id="S01")
    login.set_passphrase(Context(settings.load(), store, "地域課 試験"), "地域課 試験", SECRET)
    with serving(store, home) as url:
        yield url, store, ids


@pytest.mark.slow
def test_a_queue_of_eleven_items_by_keyboard_in_a_real_browser(server, tmp_path):
    from playwright.sync_api import sync_playwright

    url, store, ids = server
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        page = browser.new_page()
        blocked = []  # what the page's Content-Security-Policy stopped: its own script and style must pass
        page.on("console", lambda m: blocked.append(m.text) if "Content Security Policy" in m.text else None)

        def press(key):
            with page.expect_navigation():
                page.keyboard.press(key)

        page.goto(url)
        assert page.url.endswith("/login")  # nothing before logging in
        page.fill("#name", "地域課 試験")
        page.fill("#secret", "まちがった合言葉です")
        press("Enter")
        assert "利用者名または合言葉が違います" in page.inner_text("#error")
        page.fill("#secret", SECRET)
        press("Enter")
        assert page.inner_text("#operator") == "地域課 試験"
        assert "残り 11 件" in page.inner_text("#progress")
        assert page.inner_text("#guess") == "090-1234-567"
        assert page.locator("img").evaluate("i => i.naturalWidth") == 420  # the crop is shown
        page.screenshot(path=str(tmp_path / "review.png"))
        # 1: the guess fails validation; Enter keeps it and the page says why
        press("Enter")
        assert "取り込めません" in page.inner_text("#error")
        # typing a correction: it is validated again and taken
        page.fill("#value", "")
        page.keyboard.type("090-1234-5670")
        press("Enter")
        assert "残り 10 件" in page.inner_text("#progress")
        # 2: skip with Esc
        press("Escape")
        assert page.inner_text("#guess") == "017-777-1234"
        # 3..11 (but item 5, the future date): Enter accepts what was read
        for _ in range(2):
            press("Enter")
        assert page.inner_text("#guess") == "2099-01-01"
        page.keyboard.press("Tab")  # to the reason of a rejection
        page.keyboard.type("生年月日が判読できない")
        press("Enter")
        assert "残り 7 件" in page.inner_text("#progress")
        for remaining in range(6, 0, -1):  # items 6..11; the skipped one stays
            press("Enter")
            assert f"残り {remaining} 件" in page.inner_text("#progress")
        # back to the skipped one, last
        assert page.inner_text("#guess") == "髙橋 一郎"
        press("Enter")
        assert "確認待ちの項目はありません" in page.inner_text("main")
        with page.expect_navigation():
            page.click("#logout button")
        assert page.url.endswith("/login")
        assert not blocked, blocked
        browser.close()
    with store.transaction():
        items = {i["id"]: i for i in store.review_items(None)}
    statuses = [items[i]["status"] for i in ids]
    assert statuses == ["corrected", "accepted", "accepted", "accepted", "rejected"] + ["accepted"] * 6
    assert items[ids[0]]["value"] == "090-1234-5670"
    assert items[ids[3]]["value"] == "サトウ ハナコ"  # kana normalised when taken
    assert items[ids[4]]["reason"] == "生年月日が判読できない"
    with store.transaction():
        decided = [e for e in store.audit_events() if e["action"] in ("review.corrected", "review.accepted",
                                                                     "review.rejected")]
    assert {e["operator"] for e in decided} == {"地域課 試験"} and len(decided) == 11


def test_the_page_refuses_posts_without_its_token_and_serves_only_data_folder_images(server):
    import re

    import httpx

    url, store, ids = server
    with httpx.Client(base_url=url) as c:
        token = re.search(r'name="token" value="([^"]+)"', c.get("/login").text).group(1)
        assert c.post("/login", data={"token": token, "name": "地域課 試験", "secret": SECRET}).status_code == 303
        r = c.post(f"/item/{ids[2]}", data={"action": "correct", "value": "x"})
        assert r.status_code == 403
        with store.transaction():
            store.conn.execute(__import__("junkai.store", fromlist=["review_item"]).review_item.update()
                               .where(__import__("junkai.store", fromlist=["review_item"]).review_item.c.id == ids[2])
                               .values(crop="/etc/passwd"))
        r = c.get(f"/crop/{ids[2]}")
        assert r.status_code == 404 and "root:" not in r.text
        # the page answers its own host names only: a rebound DNS name is refused
        assert c.get("/login", headers={"Host": "evil.example"}).status_code == 400


def test_a_new_persons_values_are_corrected_as_one_line():
    """A newcomer waits as one item: its values are shown as 項目=値 / … and read back from what a
    person types (a date may keep its slashes); an unknown item is refused in words."""
    from junkai import JunkaiError
    from junkai.review import parse_row, row_text

    values = {"name": "佐藤 蓮", "kana": "サトウ レン", "relation": "子", "birth_date": "2020-01-02"}
    line = row_text(values, "members.7")
    assert line == "氏名=佐藤 蓮 / フリガナ=サトウ レン / 続柄=子 / 生年月日=2020-01-02"
    assert parse_row(line, "members.7") == values
    assert parse_row("氏名=佐藤 蓮／生年月日=2020/01/02", "members.7") == {"name": "佐藤 蓮", "birth_date": "2020/01/02"}
    assert parse_row("氏名=工藤 一 / 関係=友人 / 電話=0172334455", "contacts.3") == {
        "name": "工藤 一", "relation": "友人", "phone": "0172334455"}
    with pytest.raises(JunkaiError, match="項目=値"):
        parse_row("血液型=A", "members.7")
