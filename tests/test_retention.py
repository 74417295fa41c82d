"""Retention: old output files go, premises ceased longer than the set years lose their
history (and only theirs), the dry run shows exactly that without doing it, and the audit
chain still verifies. On SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import json
import os
from datetime import date, datetime, time, timedelta

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from junkai import model, retention
from junkai.cli import app
from junkai.seed import seed
from junkai.store import metadata

TODAY = date(2026, 11, 20)
NOW = datetime(2026, 11, 20, 9, 0)
YEARS = 5
SHARED, ONLY_OLD = b"%PDF-1.7 a scan of two cards", b"%PDF-1.7 a second scan of one card"
runner = CliRunner()


def counts(store) -> dict[str, int]:
    with store.transaction():
        return {t.name: store.conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
                for t in metadata.sorted_tables}


def rows_of(store, table: str, column: str, value) -> int:
    t = metadata.tables[table]
    with store.transaction():
        return store.conn.execute(sa.select(sa.func.count()).select_from(t).where(t.c[column] == value)).scalar_one()


def _scan(store, home, content: bytes, pages: list[tuple[int, str | None]]) -> str:
    """A kept scan file with pages of the given premises (and print ids), as ingest records them."""
    sha = hashlib.sha256(content).hexdigest()
    path = home / "scans" / sha[:2] / f"{sha}.pdf"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    store.add_scan_file(sha, "scan.pdf", len(content), str(path), NOW, "試験")
    for n, (pid, print_id) in enumerate(pages, start=1):
        crop = home / "crops" / f"{print_id or sha[:6]}-{n}" / "home_phone.png"
        crop.parent.mkdir(parents=True, exist_ok=True)
        crop.write_bytes(b"png")
        store.add_scan_page(id=f"{sha}:{n}", file_sha256=sha, page=n, read_status="ok",
                            state="applied" if pid else "duplicate",
                            print_id=print_id, sheet=1, premises_id=pid,
                            result={"page": n, "fields": [{"id": "home_phone", "crop": str(crop)}]},
                            summary={})
    return str(path)


@pytest.fixture
def world(store, tmp_path):
    """A seeded store where one premises ceased long ago (old), one recently (recent), and an
    active one (other) shares a scan file with the old one."""
    home = tmp_path / "home"
    with store.transaction():
        seed(store, 40, 1, 3, TODAY, "試験")
        p = store.frame("premises")
        active = p[p.status == model.ACTIVE].id.tolist()
        old, recent, other = active[0], active[1], active[2]
        store.set_status(old, model.CEASED, datetime(2019, 3, 1, 12), "operator", "試験")
        store.set_status(recent, model.CEASED, datetime(2025, 6, 1, 12), "operator", "試験")
        store.add_review_item(page_id="x:1", premises_id=old, topic="value", field="home_phone", label="電話",
                              kind="digits", guess="0177771234", crop=str(home / "crops" / "r" / "old.png"))
        (home / "crops" / "r").mkdir(parents=True)
        (home / "crops" / "r" / "old.png").write_bytes(b"png")
        store.record_print(dict(id="B1", printed_at=NOW, operator="試験", scope={"premises": [old, other]}, cards=2,
                                sheets=2, path="out.pdf"),
                           [dict(print_id="P-OLD", premises_id=old, card_version=1, beat_id=p.beat_id.iloc[0],
                                 form_type="household", form_version=1, sheets=1, rows={}),
                            dict(print_id="P-OTHER", premises_id=other, card_version=1, beat_id=p.beat_id.iloc[0],
                                 form_type="household", form_version=1, sheets=1, rows={})])
        shared = _scan(store, home, SHARED, [(old, "P-OLD"), (other, "P-OTHER")])
        only_old = _scan(store, home, ONLY_OLD, [(None, "P-OLD")])  # a second scan of the card: found by its print id
        # the inbox keeps the original it took in; a copy of the purged one must go, others stay
        archive = home / "inbox" / "S01" / "archive" / "2026-11-20"
        archive.mkdir(parents=True)
        (archive / "scan.pdf").write_bytes(ONLY_OLD)
        (archive / "scan-2.pdf").write_bytes(SHARED)
        (archive / "other.pdf").write_bytes(b"%PDF-1.7 same size as the copy, another file!"[:len(ONLY_OLD)])
        # another card's page whose address only resembled the old premises: a question that must stay
        guess = store.add_review_item(page_id=f"{hashlib.sha256(SHARED).hexdigest()}:2", premises_id=old, topic="identity", field="identity",
                                      label="各戸", kind="identity",
                                      candidates=[dict(premises_id=old, names="旧 住人", score=80.0),
                                                  dict(premises_id=other, names="他 住人", score=70.0)])
        store.audit("試験", "history", "premises", str(old))
        cutoff = retention.ceased_cutoff(TODAY, YEARS)
        due = store.frame("premises").query("status == 'ceased'")
        due = set(due[due.status_since.map(lambda d: d <= cutoff)].id)
    assert old in due and recent not in due
    return dict(store=store, home=home, old=old, recent=recent, other=other, due=due, shared=shared,
                only_old=only_old, guess=guess)


def test_dry_run_shows_counts_and_changes_nothing(world):
    store = world["store"]
    before = counts(store)
    r = retention.purge_ceased(store, world["home"], YEARS, "試験", dry_run=True, today=TODAY)
    assert counts(store) == before
    assert r.premises == len(world["due"])
    assert set(r.stations) == {"S01"} and r.stations["S01"]["scan_file"] == 1 and r.files >= 3
    assert os.path.exists(world["only_old"])


def test_purge_removes_only_what_belongs_to_the_ceased_and_the_audit_still_verifies(world):
    store, home, old = world["store"], world["home"], world["old"]
    with store.transaction():
        names = [m["name"] for m in store.card(old).data.get("members", {}).values() if m.get("name")]
    before = counts(store)
    dry = retention.purge_ceased(store, home, YEARS, "試験", dry_run=True, today=TODAY)
    r = retention.purge_ceased(store, home, YEARS, "試験", today=TODAY)
    assert r.stations == dry.stations and r.premises == len(world["due"]) and r.failed == 0
    after = counts(store)
    assert before["premises"] - after["premises"] == len(world["due"])
    for table, column in (("premises", "id"), ("card", "premises_id"), ("card_event", "premises_id"),
                          ("visit", "premises_id"), ("review_item", "premises_id"), ("printed_card", "premises_id"),
                          ("scan_page", "premises_id"), ("opinion", "premises_id"), ("night_approval", "premises_id")):
        assert rows_of(store, table, column, old) == 0, table
    assert rows_of(store, "scan_page", "print_id", "P-OLD") == 0
    # what is not theirs stays: the recent one, the other premises, its page and the shared file
    assert rows_of(store, "premises", "id", world["recent"]) == 1
    assert rows_of(store, "scan_page", "premises_id", world["other"]) == 1
    assert rows_of(store, "scan_file", "sha256", hashlib.sha256(SHARED).hexdigest()) == 1
    assert rows_of(store, "scan_file", "sha256", hashlib.sha256(ONLY_OLD).hexdigest()) == 0
    assert os.path.exists(world["shared"]) and not os.path.exists(world["only_old"])
    archive = home / "inbox" / "S01" / "archive" / "2026-11-20"
    assert sorted(p.name for p in archive.iterdir()) == ["other.pdf", "scan-2.pdf"] and r.archive_removed == 1
    assert not (home / "crops" / "r").exists() and not (home / "crops" / "P-OLD-1").exists()
    assert (home / "crops" / "P-OTHER-2" / "home_phone.png").exists()
    with store.transaction():
        question = store.review_item(world["guess"])
    assert question["premises_id"] is None and [c["premises_id"] for c in question["candidates"]] == [world["other"]]
    assert r.stations["S01"]["review_item_scrubbed"] == 1
    # the audit rows are all there, the chain verifies, and the purge is one event of counts
    assert after["audit"] == before["audit"] + 1
    with store.transaction():
        assert store.verify_audit()[1] is None
        event = store.audit_events(what="purge")[-1]
    detail = json.loads(event["detail"])
    assert event["action"] == "purge.ceased" and detail["stations"]["S01"]["premises"] == len(world["due"])
    assert not any(n in event["detail"] for n in names)
    # nothing is left to purge
    again = retention.purge_ceased(store, home, YEARS, "試験", today=TODAY)
    assert again.premises == 0


def test_old_output_files_go_and_recent_ones_stay(store, tmp_path):
    out = tmp_path / "output"
    (out / "2026-10-01" / "S01").mkdir(parents=True)
    old = out / "2026-10-01" / "S01" / "visits.pdf"
    new = out / "cards-S01.pdf"
    keep = out / "README.txt"  # not something junkai writes
    for p in (old, new, keep):
        p.write_bytes(b"x" * 10)
    past = datetime(2026, 10, 1).timestamp()
    os.utime(old, (past, past))
    os.utime(keep, (past, past))
    dry = retention.purge_output(store, [out], 30, "試験", dry_run=True, now=NOW)
    assert (dry.files, dry.bytes) == (1, 10) and old.exists()
    r = retention.purge_output(store, [out], 30, "試験", now=NOW)
    assert r.files == 1 and not old.exists() and new.exists() and keep.exists()
    assert not (out / "2026-10-01").exists()  # emptied folders go too
    with store.transaction():
        event = store.audit_events(what="purge")[-1]
        assert store.verify_audit()[1] is None
    assert event["action"] == "purge.output" and json.loads(event["detail"]) == dict(days=30, files=1, bytes=10,
                                                                                     failed=0)


@pytest.mark.slow
def test_purge_commands(home, tmp_path):
    def run(*args):
        return runner.invoke(app, list(args))

    assert run("seed", "--premises", "40", "--seed", "3", "--until", "2026-11-20").exit_code == 0
    from junkai import settings
    from junkai.store import Store

    store = Store(settings.load().db_url)
    with store.transaction():
        p = store.frame("premises")
        pid = int(p[p.status == model.ACTIVE].id.iloc[0])
        store.set_status(pid, model.CEASED, datetime.combine(date(2010, 1, 1), time(12)), "operator", "試験")
        names = [m["name"] for m in store.card(pid).data.get("members", {}).values() if m.get("name")]
    r = run("purge", "--dry-run")
    assert r.exit_code == 0, r.output
    assert "S01" in r.output and "実行していません" in r.output
    assert not any(n in r.output for n in names)
    assert rows_of(store, "premises", "id", pid) == 1
    r = run("purge")
    assert r.exit_code == 0, r.output
    assert rows_of(store, "premises", "id", pid) == 0
    assert run("audit", "verify").exit_code == 0
    out = home / "output"
    out.mkdir(parents=True, exist_ok=True)
    (out / "old.csv").write_text("x")
    os.utime(out / "old.csv", (0, 0))
    r = run("purge", "--output", "--days", "7", "--dry-run")
    assert r.exit_code == 0 and "1 件" in r.output and (out / "old.csv").exists(), r.output
    r = run("purge", "--output", "--days", "7")
    assert r.exit_code == 0 and not (out / "old.csv").exists(), r.output
    store.close()


def test_retention_settings_are_read_and_checked(tmp_path):
    from junkai import JunkaiError, settings

    conf = tmp_path / "junkai.toml"
    conf.write_text("[retention]\noutput_days = 7\nceased_years = 10\n", encoding="utf-8")
    s = settings.load({"JUNKAI_CONFIG": str(conf), "JUNKAI_HOME": str(tmp_path)})
    assert (s.output_days, s.ceased_years) == (7, 10)
    conf.write_text("[retention]\nceased_years = 0\n", encoding="utf-8")
    with pytest.raises(JunkaiError, match="retention.ceased_years"):
        settings.load({"JUNKAI_CONFIG": str(conf), "JUNKAI_HOME": str(tmp_path)})


@pytest.mark.slow
def test_the_monthly_flow_purges_by_the_settings_and_is_scheduled(home, tmp_path):
    from flows.deployments import declared
    from flows.retention import retention as flow

    assert runner.invoke(app, ["seed", "--premises", "40", "--seed", "3", "--until", "2026-11-20"]).exit_code == 0
    from junkai import settings
    from junkai.store import Store

    s = settings.load()
    store = Store(s.db_url)
    with store.transaction():
        p = store.frame("premises")
        gone, kept = (int(i) for i in p[p.status == model.ACTIVE].id.iloc[:2])
        store.set_status(gone, model.CEASED, datetime(2015, 1, 1, 12), "operator", "試験")
        store.set_status(kept, model.CEASED, datetime.now() - timedelta(days=30), "operator", "試験")
    old = s.output / "2026-01-01" / "S01" / "visits.pdf"
    old.parent.mkdir(parents=True)
    old.write_bytes(b"%PDF")
    os.utime(old, (0, 0))
    assert flow.fn(dry_run=True)["premises"] >= 1 and rows_of(store, "premises", "id", gone) == 1
    done = flow.fn()
    assert done["premises"] >= 1 and done["output_files"] == 1 and not old.exists()
    assert rows_of(store, "premises", "id", gone) == 0 and rows_of(store, "premises", "id", kept) == 1
    with store.transaction():
        assert [e["action"] for e in store.audit_events(what="purge")] == ["purge.ceased", "purge.output"]
        assert store.verify_audit()[1] is None
    store.close()
    (monthly,) = [d for d in declared(s, ["S01"]) if d.name == "retention"]
    assert monthly.schedules[0].cron == "0 3 1 * *" and monthly.limit().limit == 1


@pytest.mark.slow
def test_a_purge_larger_than_one_batch_removes_every_premises(store, tmp_path):
    """More premises than one statement's batch (2,000): every one goes, in one transaction."""
    with store.transaction():
        seed(store, 10, 1, 3, TODAY, "試験")
        beat = store.frame("premises").beat_id.iloc[0]
        before = store.frame("premises").id.tolist()
        address = dict(postal_code="0300111", prefecture="青森県", city="青森市", town="試験町", block="1-1")
        ids = [store.add_premises("household", beat, address, datetime(2010, 1, 1), "試験") for _ in range(2100)]
        for pid in ids:
            store.change_card(pid, [("home_phone", "017-777-1234")], datetime(2010, 1, 1), "operator", "試験")
            store.set_status(pid, model.CEASED, datetime(2012, 1, 1), "operator", "試験")
    r = retention.purge_ceased(store, tmp_path, YEARS, "試験", today=TODAY)
    assert r.premises >= 2100 and r.stations["S01"]["card"] >= 2100
    with store.transaction():
        left = set(store.frame("premises").id)
        assert not left & set(ids) and left <= set(before)
        assert store.verify_audit()[1] is None
