"""The review page's server time per decision: cards of three doubtful values each, decided through the
card form (login, access check, validation, the value onto the card, audit) and one undo in five."""

from __future__ import annotations

import re
import statistics
import time
from datetime import date, datetime

from bench.store import fresh_store
from junkai.seed import seed

UNTIL = date(2026, 11, 20)
CARDS = 60
SECRET = "ベンチマークの合言葉 2026"


def run(args, workdir) -> dict:
    from starlette.testclient import TestClient

    from junkai import access, model
    from junkai.actions import Context, login
    from junkai.review_web import create_app
    from junkai.settings import Settings

    home = workdir / "review"
    store = fresh_store(home)
    premises = min(args.premises, 5000)
    with store.transaction():
        seed(store, premises, 17, 1, UNTIL, "bench")
        station = store.station_ids()[0]
        households = [int(h) for h in store.frame("premises").query("kind == 'household'").id]
        store.add_user("管理者", "admin", datetime(2026, 11, 1), "bench")
        store.add_user("地域課長", "custodian", datetime(2026, 11, 1), "bench", station_id=station)
        # the custodian's own station's households only
        households = [pid for pid in households if access.covers(store, "地域課長", "review", ("premises", pid))
                      and store.premises(pid)["status"] == model.ACTIVE]
        cards = []
        for n, pid in enumerate(households[:CARDS]):
            members = store.card(pid).data.get("members") or {}
            key = next(iter(members), None)
            if key is None:
                continue
            value = dict(page_id=f"bench:{n}", premises_id=pid, topic="value", crop=None, printed=None, rules=[])
            cards.append([store.add_review_item(field="home_phone", label="自宅電話", kind="phone",
                                                guess=f"017-777-{n:04d}", confidence=0.9, **value),
                          store.add_review_item(field=f"members.{key}.mobile", label="携帯電話", kind="phone",
                                                guess=f"090-1234-{n:04d}", confidence=0.3, **value),
                          store.add_review_item(field=f"members.{key}.occupation", label="職業・勤務先・学校",
                                                kind="text", guess="会社員", confidence=0.8, **value)])
    ctx = Context(Settings(home=home, db_url=store.url, config_path=None), store, "地域課長")
    login.set_passphrase(ctx, "地域課長", SECRET)
    c = TestClient(create_app(store, home), base_url="http://127.0.0.1", follow_redirects=False)
    token = re.search(r'name="token" value="([^"]+)"', c.get("/login").text).group(1)
    c.post("/login", data={"token": token, "name": "地域課長", "secret": SECRET})
    per, posts, undos = [], [], []
    for n, ids in enumerate(cards):
        html = c.get(f"/item/{ids[0]}").text
        token = re.search(r'name="token" value="([^"]+)"', html).group(1)
        form = {"token": token, f"v{ids[0]}": f"017-777-{n:04d}", f"v{ids[1]}": f"090-5555-{n:04d}",
                f"why{ids[2]}": "判読できない"}
        t0 = time.perf_counter()
        r = c.post(f"/card/{ids[0]}", data=form)
        posts.append((time.perf_counter() - t0) * 1000 / len(ids))
        assert r.status_code == 303, r.text
        per.append(float(r.headers["server-timing"].split("dur=")[1].split(";")[0]))
        if n % 5 == 4:
            t0 = time.perf_counter()
            assert c.post("/undo", data={"token": token}).status_code == 303
            undos.append((time.perf_counter() - t0) * 1000 / len(ids))
    q = lambda xs, p: sorted(xs)[min(len(xs) - 1, int(len(xs) * p))]  # noqa: E731
    store.close()
    return {"premises": premises, "cards": len(cards), "decisions": 3 * len(cards),
            "decide_ms_median": round(statistics.median(per), 1), "decide_ms_p95": round(q(per, 0.95), 1),
            "request_ms_per_decision_median": round(statistics.median(posts), 1),
            "request_ms_per_decision_p95": round(q(posts, 0.95), 1),
            "undo_ms_per_decision_median": round(statistics.median(undos), 1)}
