"""The review page's defences: a real login (argon2 passphrase, lockout, session and CSRF bound to it),
only local host names, security headers, audited views and crops, plain error pages."""

import json
import re
from pathlib import Path

import pytest
from starlette.testclient import TestClient
from typer.testing import CliRunner

from junkai import settings as settings_mod
from junkai.actions import Context, login as L
from junkai.cli import app as cli
from junkai.review_web import create_app
from tests.test_access import AT, organise, review_queue

SECRET = "長島交番の合言葉 2026"
USERS = [("管理者 山田", "admin", {}), ("地域課長 佐藤", "custodian", dict(station_id="S01")),
         ("地域課長 鈴木", "custodian", dict(station_id="S02")), ("交番所長 田中", "handler", dict(post_id="S01-P01"))]


def as_(store, operator: str) -> Context:
    return Context(settings_mod.Settings(home=Path("."), db_url=store.url, config_path=None), store, operator)


@pytest.fixture
def site(store, tmp_path):
    """Two stations with review items in each, a custodian of each, passphrases set by each user."""
    with store.transaction():
        premises = organise(store)
        for name, role, scope in USERS:
            store.add_user(name, role, AT, "試験", **scope)
    for name, *_ in USERS:
        L.set_passphrase(as_(store, name), name, SECRET)
    items = review_queue(store, premises)
    crops = tmp_path / "crops"
    crops.mkdir()
    for key in ("s01", "s02"):
        (crops / f"{key}.png").write_bytes(b"\x89PNG\r\n\x1a\n")
        with store.transaction():
            store.conn.execute(__import__("junkai.store", fromlist=["review_item"]).review_item.update()
                               .where(__import__("junkai.store", fromlist=["review_item"]).review_item.c.id == items[key])
                               .values(crop=str(crops / f"{key}.png")))
    return store, items, tmp_path


def client(site, **kw) -> TestClient:
    store, _, home = site
    return TestClient(create_app(store, home), base_url="http://127.0.0.1", follow_redirects=False,
                      raise_server_exceptions=False, **kw)


def token_of(html: str) -> str:
    return re.search(r'name="token" value="([^"]+)"', html).group(1)


def login(c: TestClient, name: str, secret: str = SECRET):
    return c.post("/login", data={"token": token_of(c.get("/login").text), "name": name, "secret": secret})


def audit(store, action: str | None = None) -> list[dict]:
    with store.transaction():
        return [e for e in store.audit_events() if action is None or e["action"] == action]


def test_without_login_nothing_is_shown_and_a_forged_operator_cookie_is_ignored(site):
    store, items, _ = site
    c = client(site)
    for path in ("/", f"/item/{items['s01']}", f"/crop/{items['s01']}"):
        r = c.get(path)
        assert r.status_code == 303 and r.headers["location"] == "/login", path
    # the page once took the operator from this cookie
    c.cookies.set("junkai_operator", "%E5%9C%B0%E5%9F%9F%E8%AA%B2%E9%95%B7%20%E4%BD%90%E8%97%A4")  # 地域課長 佐藤
    c.cookies.set("junkai_session", "made-up", domain="127.0.0.1")
    r = c.get(f"/item/{items['s01']}")
    assert r.status_code == 303 and "017-777-1234" not in r.text
    r = c.post(f"/item/{items['s01']}", data={"token": "x", "action": "correct", "value": "017-777-1234"})
    assert r.status_code == 303
    with store.transaction():
        assert store.review_item(items["s01"])["status"] == "pending"
    # logged in as 鈴木 (S02), the cookie naming 佐藤 changes nothing: decisions are 鈴木's
    assert login(c, "地域課長 鈴木").status_code == 303
    c.cookies.set("junkai_operator", "%E5%9C%B0%E5%9F%9F%E8%AA%B2%E9%95%B7%20%E4%BD%90%E8%97%A4")
    r = c.get(f"/item/{items['s01']}")
    assert r.status_code == 403 and "地域課長 鈴木 は" in r.text and "017-777-1234" not in r.text
    r = c.get(f"/item/{items['s02']}")
    r = c.post(f"/item/{items['s02']}", data={"token": token_of(r.text), "action": "correct", "value": "017-777-1234"})
    assert r.status_code == 303
    with store.transaction():
        assert store.review_item(items["s02"])["decided_by"] == "地域課長 鈴木"


def test_a_wrong_passphrase_is_refused_and_five_lock_the_name(site):
    store, items, _ = site
    c = client(site)
    r = login(c, "地域課長 佐藤", "まちがい")
    assert r.status_code == 401 and "利用者名または合言葉が違います" in r.text and "junkai_session" not in c.cookies
    r = login(c, "知らない人", SECRET)
    assert r.status_code == 401 and "利用者名または合言葉が違います" in r.text
    for _ in range(4):
        assert login(c, "地域課長 佐藤", "まちがい").status_code == 401
    # locked now: even the right passphrase is refused, and says until when
    r = login(c, "地域課長 佐藤", SECRET)
    assert r.status_code == 401 and "ログインできません" in r.text and "junkai_session" not in c.cookies
    assert [e["target_id"] for e in audit(store, "login.failed")] == ["地域課長 佐藤", "知らない人"] + ["地域課長 佐藤"] * 4
    assert len(audit(store, "login.lockout")) == 1 and len(audit(store, "login.locked")) == 1
    assert not audit(store, "login")
    # an administrator's reset lifts the lock (audited as a reset)
    L.set_passphrase(as_(store, "管理者 山田"), "地域課長 佐藤", "新しい合言葉 2026-12")
    assert json.loads(audit(store, "user.passwd")[-1]["detail"]) == {"reset": True}
    assert login(c, "地域課長 佐藤", "新しい合言葉 2026-12").status_code == 303
    assert [e["operator"] for e in audit(store, "login")] == ["地域課長 佐藤"]
    # nobody but an administrator sets another's passphrase
    from junkai import access
    with pytest.raises(access.Refused):
        L.set_passphrase(as_(store, "地域課長 鈴木"), "地域課長 佐藤", "乗っ取りの合言葉です")


def test_a_csrf_token_of_another_session_is_refused_and_logout_ends_the_session(site):
    store, items, _ = site
    mine, theirs = client(site), client(site)
    login(mine, "地域課長 佐藤")
    login(theirs, "地域課長 佐藤")
    their_token = token_of(theirs.get(f"/item/{items['s01']}").text)
    r = mine.post(f"/item/{items['s01']}", data={"token": their_token, "action": "correct", "value": "017-777-1234"})
    assert r.status_code == 403 and "不正な送信です" in r.text
    # the login form's token needs its cookie: another site cannot log a browser in
    fresh = client(site)
    r = fresh.post("/login", data={"token": token_of(client(site).get("/login").text), "name": "地域課長 佐藤",
                                   "secret": SECRET})
    assert r.status_code == 403 and "junkai_session" not in fresh.cookies
    with store.transaction():
        assert store.review_item(items["s01"])["status"] == "pending"
    my_token = token_of(mine.get(f"/item/{items['s01']}").text)
    session = mine.cookies["junkai_session"]
    assert mine.post("/logout", data={"token": my_token}).headers["location"] == "/login"
    mine.cookies.set("junkai_session", session, domain="127.0.0.1")  # the old cookie, kept: the session is gone on the server
    assert mine.get(f"/item/{items['s01']}").headers["location"] == "/login"
    assert [e["operator"] for e in audit(store, "logout")] == ["地域課長 佐藤"]


def test_the_session_cookie_is_httponly_strict_and_new_at_each_login(site):
    c = client(site)
    c.cookies.set("junkai_session", "chosen-by-an-attacker", domain="127.0.0.1")
    r = login(c, "地域課長 佐藤")
    cookie = [v for k, v in r.headers.multi_items() if k == "set-cookie" and v.startswith("junkai_session=")][0]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie and "Max-Age=" in cookie
    assert c.cookies["junkai_session"] != "chosen-by-an-attacker"


def test_a_session_ends_after_half_an_hour_idle(site, monkeypatch):
    import junkai.review_web as web

    store, items, _ = site
    c = client(site)
    login(c, "地域課長 佐藤")
    assert c.get(f"/item/{items['s01']}").status_code == 200
    later = web.time.monotonic() + web.IDLE_MINUTES * 60 + 1
    monkeypatch.setattr(web, "time", __import__("types").SimpleNamespace(monotonic=lambda: later))  # the page's clock
    assert c.get(f"/item/{items['s01']}").headers["location"] == "/login"


def test_another_host_name_is_refused_and_every_response_has_the_headers(site, tmp_path):
    store, items, home = site
    c = client(site)
    for host in ("evil.example", "127.0.0.1.evil.example"):
        r = c.get("/login", headers={"Host": host})
        assert r.status_code == 400, host
        assert r.headers["x-frame-options"] == "DENY"
    assert c.get("/login", headers={"Host": "localhost:8765"}).status_code == 200
    login(c, "地域課長 佐藤")
    for path in ("/login", f"/item/{items['s01']}", f"/crop/{items['s01']}", "/crop/999999"):
        r = c.get(path)
        h = r.headers
        assert (h["x-frame-options"], h["x-content-type-options"], h["referrer-policy"], h["cache-control"]) == (
            "DENY", "nosniff", "no-referrer", "no-store"), path
        csp = h["content-security-policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    page = c.get(f"/item/{items['s01']}")
    nonce = re.search(r"script-src 'nonce-([^']+)'", page.headers["content-security-policy"]).group(1)
    assert f'<script nonce="{nonce}">' in page.text and page.text.count("<script") == 1
    # a host of [review] allowed_hosts is answered (a reverse proxy's name)
    proxied = TestClient(create_app(store, home, hosts=("junkai.s01.lan",)), base_url="http://junkai.s01.lan",
                         follow_redirects=False)
    assert proxied.get("/login").status_code == 200


def test_page_views_and_crops_are_audited_and_errors_are_plain_pages(site):
    store, items, _ = site
    c = client(site)
    login(c, "地域課長 佐藤")
    before = len(audit(store))
    assert c.get(f"/item/{items['s01']}").status_code == 200
    r = c.get(f"/crop/{items['s01']}")
    assert r.status_code == 200 and r.content.startswith(b"\x89PNG")
    rows = audit(store)[before:]
    assert [(e["operator"], e["action"], e["target_id"]) for e in rows] == [
        ("地域課長 佐藤", "review.show", str(items["s01"])), ("地域課長 佐藤", "review.crop", str(items["s01"]))]
    # another station's crop: refused, audited, and no word of it
    r = c.get(f"/crop/{items['s02']}")
    assert r.status_code == 404 and audit(store)[-1]["action"] == "refused"
    for path in ("/crop/999999", "/item/999999", "/nowhere"):
        r = c.get(path)
        assert r.status_code == 404 and "見つかりません" in r.text and "Traceback" not in r.text, path
    # a failure inside: a generic page, the traceback in the log only
    store.review_item, kept = None, store.review_item  # the store breaks under the page
    try:
        r = c.get(f"/item/{items['s01']}")
    finally:
        store.review_item = kept
    assert r.status_code == 500 and "処理できませんでした" in r.text
    assert "Traceback" not in r.text and "NoneType" not in r.text and r.headers["x-frame-options"] == "DENY"
    # the queue's own page, once empty, is a view too
    with store.transaction():
        store.conn.execute(__import__("junkai.store", fromlist=["review_item"]).review_item.update()
                           .values(status="rejected"))
    assert c.get("/").status_code == 200 and audit(store)[-1]["action"] == "review.page"


def test_a_user_of_s01_sees_only_s01s_items(site):
    store, items, _ = site
    c = client(site)
    login(c, "地域課長 佐藤")
    r = c.get("/")
    assert r.headers["location"] == f"/item/{items['s01']}"  # not S02's, which comes first in the whole queue
    page = c.get(f"/item/{items['s01']}")
    assert "残り 1 件" in page.text
    r = c.post(f"/item/{items['s01']}", data={"token": token_of(page.text), "action": "skip"})
    assert r.headers["location"] == f"/item/{items['s01']}"  # round to itself, never to S02
    for path in (f"/item/{items['s02']}", f"/item/{items['blank']}"):
        r = c.get(path)
        assert r.status_code == 403 and "017-777-1234" not in r.text and "範囲外" in r.text
    r = c.post(f"/item/{items['s02']}", data={"token": token_of(page.text), "action": "correct", "value": "1"})
    assert r.status_code == 403
    with store.transaction():
        assert store.review_item(items["s02"])["status"] == "pending"
    # a handler holds no review right: logged in, still refused
    h = client(site)
    login(h, "交番所長 田中")
    r = h.get(f"/item/{items['s01']}")
    assert r.status_code == 403 and "確認作業" in r.text and "017-777-1234" not in r.text


def test_user_passwd_asks_twice_and_an_admin_may_reset(home, monkeypatch):
    from junkai import identity

    run = CliRunner().invoke
    as_account = lambda name: monkeypatch.setattr(identity, "os_account", lambda: name)  # noqa: E731
    as_account("yamada")
    assert run(cli, ["seed", "--premises", "10", "--seed", "1", "--until", "2026-11-20"]).exit_code == 0
    assert run(cli, ["user", "add", "管理者 山田", "--role", "admin"]).exit_code == 0  # bound to yamada
    assert run(cli, ["user", "add", "地域課長 佐藤", "--role", "custodian", "--station", "S01"]).exit_code == 0
    assert run(cli, ["user", "bind", "地域課長 佐藤", "sato"]).exit_code == 0
    as_account("sato")
    typed = iter(["長い長い合言葉です 1", "長い長い合言葉です 2", "短い", "短い", "長い長い合言葉です 1", "長い長い合言葉です 1"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(typed))
    r = run(cli, ["user", "passwd"])
    assert r.exit_code == 2 and "一致しません" in r.output
    r = run(cli, ["user", "passwd"])
    assert r.exit_code == 2 and "10 文字以上" in r.output
    r = run(cli, ["user", "passwd"])
    assert r.exit_code == 0 and "地域課長 佐藤 の合言葉を設定しました" in r.output, r.output
    typed = iter(["誰かの合言葉にしてしまう", "誰かの合言葉にしてしまう"] * 2)
    r = run(cli, ["user", "passwd", "管理者 山田"])
    assert r.exit_code == 2 and "利用者の管理" in r.output
    as_account("yamada")
    r = run(cli, ["user", "passwd", "地域課長 佐藤"])
    assert r.exit_code == 0, r.output
    from junkai.store import Store

    store = Store(settings_mod.load().db_url)
    with store.transaction():
        rows = [(e["operator"], e["target_id"], json.loads(e["detail"])) for e in store.audit_events("", "user.passwd")]
        hashes = {u["secret_hash"] for u in store.users("地域課長 佐藤")}
    store.close()
    assert rows == [("地域課長 佐藤", "地域課長 佐藤", {"reset": False}), ("管理者 山田", "地域課長 佐藤", {"reset": True})]
    assert all(h.startswith("$argon2id$") and "合言葉" not in h for h in hashes)


def test_allowed_hosts_are_a_checked_setting(tmp_path):
    from junkai import JunkaiError

    path = tmp_path / "junkai.toml"
    path.write_text('[review]\nallowed_hosts = ["Junkai.S01.lan"]\n', encoding="utf-8")
    env = {"JUNKAI_CONFIG": str(path), "JUNKAI_HOME": str(tmp_path)}
    assert settings_mod.load(env).review_hosts == ("junkai.s01.lan",)
    assert settings_mod.load({"JUNKAI_HOME": str(tmp_path), "JUNKAI_CONFIG": str(Path(__file__).resolve().parent.parent / "junkai.toml")}
                             ).review_hosts == ()
    for bad in ('"junkai.s01.lan"', '["*"]', '["http://x/"]'):
        path.write_text(f"[review]\nallowed_hosts = {bad}\n", encoding="utf-8")
        with pytest.raises(JunkaiError, match="review.allowed_hosts"):
            settings_mod.load(env)
