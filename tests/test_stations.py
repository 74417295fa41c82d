"""Each station keeps to its own cards, in a store of two stations: a station's batch refuses a page of
another station's card (audited, nothing recorded, the file quarantined with the reason), and a custodian
answering which premises a card is may name only a premises of their own station, seeing its address.

The cards are printed and read for real (Tesseract): one pre-filled card of each station and a blank
card of S01, each scanned as an image of its first sheet."""

from __future__ import annotations

import shutil
from datetime import date, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from junkai import inbox as IB
from junkai import printing, qr, settings
from junkai.actions import Context, batches
from junkai.cli import app
from junkai.seed import seed
from junkai.store import Store, review_item

pytestmark = pytest.mark.slow
runner = CliRunner()
TODAY = date.today()
ADMIN, CUSTODIAN_1, CUSTODIAN_2 = "管理 試験", "地域課長 一署", "地域課長 二署"


def _scan(pdf: Path, dest: Path) -> Path:
    """The first card sheet of a printed batch (after its cover) as a 200 dpi scan."""
    import pypdfium2 as pdfium

    pdfium.PdfDocument(str(pdf))[1].render(scale=200 / 72, grayscale=True).to_pil().save(dest, dpi=(200, 200))
    return dest


@pytest.fixture(scope="module")
def two(tmp_path_factory):
    root = tmp_path_factory.mktemp("stations")
    home, scans = root / "home", root / "scans"
    scans.mkdir()
    store = Store(f"sqlite:///{home / 'junkai.sqlite3'}")
    store.migrate()
    now = datetime.now().replace(microsecond=0)
    with store.transaction():
        seed(store, 12, 2, 7, TODAY, "試験")
        households = store.frame("premises").query("kind == 'household'").id.tolist()
        by_station = {}
        for pid in households:
            by_station.setdefault(store.place("premises", int(pid))["station"], []).append(int(pid))
        beat_1 = store.premises(by_station["S01"][0])["beat_id"]
        store.add_user(ADMIN, "admin", now, "試験", os_account="yamada")
        store.add_user(CUSTODIAN_1, "custodian", now, ADMIN, station_id="S01", os_account="custodian1")
        store.add_user(CUSTODIAN_2, "custodian", now, ADMIN, station_id="S02", os_account="custodian2")
    key = qr.station_key(home)  # the store's one key, as every card printed so far was signed
    files = {}
    for name, args in (("S01", dict(premises_ids=[by_station["S01"][0]])),
                       ("S02", dict(premises_ids=[by_station["S02"][0]])),
                       ("blank", dict(beat=beat_1, blank=1)), ("blank2", dict(beat=beat_1, blank=1))):
        _, pdf, _ = printing.print_cards(store, root / "print", key, operator="試験", **args)
        files[name] = _scan(pdf, scans / f"{name}.png")
    yield dict(root=root, home=home, store=store, files=files, s01=by_station["S01"], s02=by_station["S02"])
    store.close()


def _ctx(two, operator: str) -> Context:
    return Context(settings.load({"JUNKAI_HOME": str(two["home"])}), two["store"], operator)


def _events(store: Store, pid: int) -> int:
    with store.transaction():
        return len(store.events(pid))


def test_a_card_of_another_station_is_refused_by_a_stations_batch_and_taken_by_its_own(two):
    store, home = two["store"], two["home"]
    s = settings.load({"JUNKAI_HOME": str(home)})
    folder = s.inbox_of("S01")
    folder.mkdir(parents=True, exist_ok=True)
    dropped = folder / "scan-0001.png"
    shutil.copy(two["files"]["S02"], dropped)  # an S02 card dropped into S01's inbox
    events_before = _events(store, two["s02"][0])

    run = batches.ingest(_ctx(two, CUSTODIAN_1), [dropped], TODAY, station="S01")
    assert run.summary.other_station == 1 and run.summary.pages == 0 and run.summary.applied == 0
    assert any("他の署 (S02) のカードです" in f for f in run.summary.failures), run.summary.failures
    with store.transaction():
        assert store.scan_pages() == []  # nothing recorded: S02's own batch can still take the page
        refused = [e for e in store.audit_events(what="refused") if e["target_kind"] == "scan_page"]
    assert _events(store, two["s02"][0]) == events_before
    assert len(refused) == 1 and refused[0]["operator"] == CUSTODIAN_1 and "S02" in refused[0]["detail"]
    # the inbox puts the file in quarantine, saying why
    kind, dest = IB.settle(folder, dropped, run.files[str(dropped)], datetime.now())
    assert kind == IB.QUARANTINE
    assert "他の署 (S02) のカードです" in Path(str(dest) + ".reason.txt").read_text(encoding="utf-8")

    # S02's batch takes it (the same file: its page was never recorded)
    run = batches.ingest(_ctx(two, CUSTODIAN_2), [dest], TODAY, station="S02")
    assert run.summary.other_station == 0 and run.summary.pages == 1 and run.summary.matched == 1
    with store.transaction():
        assert [p["premises_id"] for p in store.scan_pages()] == [two["s02"][0]]


def test_a_card_signed_with_the_stores_key_still_reads_in_its_own_stations_batch(two):
    """Cards printed before the stations were told apart carry the same QR, signed with the store's one key."""
    store = two["store"]
    run = batches.ingest(_ctx(two, CUSTODIAN_1), [two["files"]["S01"]], TODAY, station="S01")
    assert run.summary.other_station == 0 and run.summary.failures == []
    assert run.summary.pages == 1 and run.summary.matched == 1
    with store.transaction():
        pages = {p["premises_id"] for p in store.scan_pages()}
    assert two["s01"][0] in pages


def _identity_item(two, scan: str, ours: int, theirs: int) -> dict:
    """The identity item of a blank card of S01 read in S01's batch, with candidates of both stations,
    as a match by postal code across the store could give."""
    store = two["store"]
    run = batches.ingest(_ctx(two, CUSTODIAN_1), [two["files"][scan]], TODAY, station="S01")
    assert run.summary.states.get("waiting") == 1, run.summary
    with store.transaction():
        item = max((i for i in store.review_items(("pending",)) if i["topic"] == "identity"), key=lambda i: i["id"])
        store.conn.execute(review_item.update().where(review_item.c.id == item["id"]).values(
            candidates=sa.literal(
                f'[{{"premises_id": {theirs}, "address": "二署の住所", "names": "", "score": 90.0}},'
                f' {{"premises_id": {ours}, "address": "一署の住所", "names": "", "score": 80.0}}]')))
    return item


def test_a_custodian_may_answer_only_a_premises_of_their_station_and_sees_its_address(two, monkeypatch):
    store, home = two["store"], two["home"]
    ours, theirs = two["s01"][1], two["s02"][1]
    item = _identity_item(two, "blank", ours, theirs)
    with store.transaction():
        ours_address = store.premises(ours)["town"]
    events_before = _events(store, theirs)
    monkeypatch.setenv("JUNKAI_HOME", str(home))
    from junkai import identity

    monkeypatch.setattr(identity, "os_account", lambda: "custodian1")  # the command runs as CUSTODIAN_1's account
    monkeypatch.delenv("JUNKAI_DB_URL", raising=False)
    monkeypatch.delenv("JUNKAI_CONFIG", raising=False)

    # only the premises of S01 are offered
    r = runner.invoke(app, ["review", "show", str(item["id"])])
    assert r.exit_code == 0, r.output
    assert f"各戸 {ours} " in r.output and f"各戸 {theirs} " not in r.output and "二署の住所" not in r.output

    # an S02 premises is refused, audited, and nothing is written onto its card
    r = runner.invoke(app, ["review", "correct", str(item["id"]), str(theirs)])
    assert r.exit_code == 2 and f"各戸 {theirs}" in r.output and "範囲外" in r.output, r.output
    with store.transaction():
        assert store.review_item(item["id"])["status"] == "pending"
        refused = [e for e in store.audit_events(who=CUSTODIAN_1, what="refused") if e["target_id"] == str(theirs)]
    assert len(refused) == 1 and _events(store, theirs) == events_before

    # an S01 premises: its address is shown before it is taken, and taken only when the person says so
    r = runner.invoke(app, ["review", "correct", str(item["id"]), str(ours)], input="n\n")
    assert r.exit_code == 2 and ours_address in r.output.split("採用しますか")[0], r.output
    with store.transaction():
        assert store.review_item(item["id"])["status"] == "pending"
    r = runner.invoke(app, ["review", "correct", str(item["id"]), str(ours)], input="y\n")
    assert r.exit_code == 0, r.output
    assert f"各戸 {ours} (" in r.output.split("採用しますか")[1] and ours_address in r.output.split("採用しますか")[1]
    with store.transaction():
        assert store.review_item(item["id"])["status"] == "corrected"


def test_the_review_page_offers_and_takes_only_premises_of_the_operators_station(two, tmp_path):
    from playwright.sync_api import sync_playwright

    from junkai.actions import login
    from tests.web import serving

    store, home = two["store"], two["home"]
    ours, theirs = two["s01"][2], two["s02"][2]
    item = _identity_item(two, "blank2", ours, theirs)
    secret = "一署の確認作業の合言葉"
    login.set_passphrase(_ctx(two, CUSTODIAN_1), CUSTODIAN_1, secret)
    with store.transaction():
        ours_town = store.premises(ours)["town"]
    events_before = _events(store, theirs)
    with serving(store, home) as url:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=[
                "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run"])
            page = browser.new_page()

            def answer(value: str | None) -> None:
                if value is not None:
                    page.fill("#value", value)
                with page.expect_navigation():
                    page.keyboard.press("Enter")

            page.goto(f"{url}/login")
            page.fill("#name", CUSTODIAN_1)
            page.fill("#secret", secret)
            with page.expect_navigation():
                page.keyboard.press("Enter")
            page.goto(f"{url}/item/{item['id']}")
            offered = page.inner_text("#candidates")
            assert f"各戸 {ours} " in offered and f"各戸 {theirs} " not in offered and "二署の住所" not in offered
            # a premises of S02: refused
            answer(str(theirs))
            assert "範囲外" in page.inner_text("#error")
            # a premises of S01: its address first, then taken on a second Enter
            page.goto(f"{url}/item/{item['id']}")
            answer(str(ours))
            assert ours_town in page.inner_text("#chosen") and ours_town in page.inner_text("#error")
            with store.transaction():
                assert store.review_item(item["id"])["status"] == "pending"
            answer(None)
            browser.close()
    with store.transaction():
        decided = store.review_item(item["id"])
    assert (decided["status"], decided["value"]) == ("corrected", ours)
    assert _events(store, theirs) == events_before
