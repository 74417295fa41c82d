"""The reports to the chief and to HQ, read back from their PDFs and checked against an
independent computation on a seeded store: plain SQL and Python here, and the lists of
第6-1 (junkai.lists.overdue) for the long-unvisited / long-unconfirmed counts."""

from __future__ import annotations

import re
import sqlite3
from collections import Counter, defaultdict
from datetime import date, datetime, time, timedelta
from pathlib import Path

import pdfplumber
import pytest
from typer.testing import CliRunner

from junkai import JunkaiError, model, reports
from junkai.beats import beat_table
from junkai.lists import LONG_UNCONFIRMED, LONG_UNVISITED, overdue, overdue_counts
from junkai.seed import seed
from junkai.store import Store, end_of

UNTIL = date(2026, 11, 20)  # the seeded history ends here
NOW = datetime(2026, 11, 22, 9, 30)  # the report runs two days later
START, END = date(2026, 8, 1), date(2026, 11, 30)  # as of NOW: 2026-11-22
AS_OF = NOW.date()
STATION = "S01"
MET = set(model.MET_OUTCOMES)


# --- the seeded world and its reports ----------------------------------------------------


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("reports")
    db = root / "junkai.sqlite3"
    store = Store(f"sqlite:///{db}")
    store.migrate()
    with store.transaction():
        seed(store, 2000, 2, 7, UNTIL, "seed")
        beat = store.organisation(STATION).beat_id.iloc[0]
        store.add_campaign("管内で連続侵入窃盗が発生", date(2026, 10, 1), date(2026, 12, 31), "署長", NOW, [beat], [])
        # a complaint received today (not yet reported), and some printed cards
        pid = store.premises_ids_of_beat(beat)[0]
        store.add_opinion(premises_id=pid, visit_id=None, officer_id=store.officer_at(beat, AS_OF),
                          received_on=AS_OF, text="警察官の言葉遣いが乱暴だった。", complaint=True,
                          reported_to_chief_on=None, reported_to_hq_on=None, recorded_by="試験", recorded_at=NOW)
        store.record_print(dict(id="20261015-TESTAA", printed_at=datetime(2026, 10, 15, 10), operator="試験",
                                scope={"beat": beat}, cards=3, sheets=3, path="x.pdf"),
                           [dict(print_id=f"T{k}", premises_id=p, card_version=1, beat_id=beat, form_type="household",
                                 form_version=1, sheets=1, rows={})
                            for k, p in enumerate([*store.premises_ids_of_beat(beat)[:2], None])])
    out = root / "out"
    chief = reports.chief(store, STATION, START, END, out, "署長報告 試験", now=NOW)
    hq = reports.hq(store, START, END, out, "本部報告 試験", now=NOW)
    yield dict(store=store, db=db, chief=chief, hq=hq, out=out, campaign_beat=beat, complaint_premises=pid)
    store.close()


def read_tables(path: Path) -> dict[str, list[list[str]]]:
    """Every table of a PDF by its first header cell, continued across pages (the header repeats)."""
    out: dict[str, list[list[str]]] = {}
    with pdfplumber.open(path) as pdf:
        for page in pdf.pages:
            for t in page.extract_tables():
                head = (t[0][0] or "").strip() if t and t[0] else ""
                if head in HEADS:
                    skip = 2 if t[1][0] is None else 1  # a two-row header
                    out.setdefault(HEADS[head], []).extend(t[skip:])
    return out


HEADS = {"受持区": "beats", "受持警察官": "officers", "日時": "night", "番号": "numbered", "警察署": "stations",
         "月末": "trend", "操作": "audit", "重点巡回連絡": "campaigns", "要配慮の欄": "support"}


def text_of(path: Path) -> str:
    with pdfplumber.open(path) as pdf:
        return "\n".join(page.extract_text() or "" for page in pdf.pages)


def num(cell: str) -> int:
    """A table cell's figure (its first line: a compared figure has the previous period's under it)."""
    return int(cell.split("\n")[0].replace(",", ""))


def was(cell: str) -> tuple[str, int]:
    """The change and the previous period's value under a table figure: "▼24 (78)"."""
    m = re.fullmatch(r"[\d,]+\n(±0|[▲▼][\d,]+) \(([\d,]+)\)", cell)
    assert m, cell
    return m.group(1), int(m.group(2).replace(",", ""))


def sign(d: float) -> str:
    return "±0" if d == 0 else f"{'▲' if d > 0 else '▼'}{abs(d):,}"


# --- the independent computation -------------------------------------------------------------


def q(db: Path, sql: str, *args) -> list[tuple]:
    con = sqlite3.connect(db)
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()


def ts(day: date, end: bool = False) -> str:
    return (end_of(day) if end else datetime.combine(day, time.min)).isoformat(sep=" ")


def organisation(db):
    return q(db, "select s.id, s.name, p.id, p.name, b.id, b.name from beat b join post p on p.id = b.post_id "
                 "join station s on s.id = p.station_id order by s.id, p.id, b.id")


def premises_state(db, as_of: date) -> dict[int, dict]:
    """Premises that exist at the end of the day: kind, beat, whether ceased, whether a card was written."""
    last_status = {}
    for pid, after, _ in q(db, "select premises_id, after, at from card_event where path = '@status' and at <= ? "
                               "order by at, id", ts(as_of, True)):
        last_status[pid] = after == '"ceased"'
    carded = {pid for (pid,) in q(db, "select distinct premises_id from card_event where path not like '@%' "
                                      "and at <= ?", ts(as_of, True))}
    return {pid: dict(kind=kind, beat=beat, ceased=last_status.get(pid, False), card=pid in carded)
            for pid, kind, beat in q(db, "select id, kind, beat_id from premises where created_at <= ?",
                                     ts(as_of, True))}


def beat_figures(db, store, start: date, as_of: date, station: str | None) -> dict[str, Counter]:
    """Per beat, every figure of the chief's beat table and of the HQ station table."""
    beats = {b: s for s, _, _, _, b, _ in organisation(db) if station in (None, s)}
    out = {b: Counter() for b in beats}
    for pid, p in premises_state(db, as_of).items():
        if p["beat"] in out and not p["ceased"]:
            c = out[p["beat"]]
            c["premises"] += 1
            c["households" if p["kind"] == "household" else "businesses"] += 1
    sets = defaultdict(set)
    for pid, beat, outcome, night, approval in q(
            db, "select v.premises_id, p.beat_id, v.outcome, v.night, v.night_approval_id from visit v "
                "join premises p on p.id = v.premises_id where v.visited_at >= ? and v.visited_at <= ?",
            ts(start), ts(as_of, True)):
        if beat not in out:
            continue
        out[beat]["visits"] += 1
        out[beat]["night"] += night
        out[beat]["night_unapproved"] += bool(night and approval is None)
        sets[beat, "visited"].add(pid)
        if outcome in MET:
            sets[beat, "met"].add(pid)
        if outcome == "拒否":
            sets[beat, "refused"].add(pid)
    for pid, beat, version in q(
            db, "select e.premises_id, p.beat_id, e.version from card_event e join premises p on p.id = e.premises_id "
                "where e.path not like '@%' and e.at >= ? and e.at <= ?", ts(start), ts(as_of, True)):
        if beat in out:
            sets[beat, "created" if version == 1 else "amended"].add(pid)
    for (beat, what), ids in sets.items():
        out[beat][what] = len(ids)
    listed = overdue(store, as_of, ("station", station) if station else None)
    for r in listed.itertuples():
        out[r.beat_id]["long_unvisited"] += LONG_UNVISITED in r.category
        out[r.beat_id]["long_unconfirmed"] += LONG_UNCONFIRMED in r.category
    for beat, n, complaints in q(db, "select p.beat_id, count(*), sum(o.complaint) from opinion o join premises p "
                                     "on p.id = o.premises_id where o.received_on >= ? and o.received_on <= ? "
                                     "group by p.beat_id", start.isoformat(), as_of.isoformat()):
        if beat in out:
            out[beat]["opinions"], out[beat]["complaints"] = n, complaints
    return out


BEAT_COLUMNS = ["premises", "households", "businesses", "visits", "visited", "met", "created", "amended",
                "long_unvisited", "long_unconfirmed", "refused"]


# --- the chief's report ---------------------------------------------------------------------


@pytest.mark.slow
def test_the_chief_report_beat_table_matches_an_independent_count(world):
    db, store = world["db"], world["store"]
    expected = beat_figures(db, store, START, AS_OF, STATION)
    rows = read_tables(world["chief"])["beats"]
    seen, subtotals, total = {}, [], None
    for row in rows:
        first = row[0] or ""
        m = re.search(r"S\d\d-P\d\d-B\d+", first)
        if m:
            seen[m.group()] = row
        elif first == "小計":
            subtotals.append(row)
        elif first == "合計":
            total = row
    assert set(seen) == set(expected)
    with store.transaction():
        advice = beat_table(store, AS_OF, STATION, 3, 0.10).set_index("beat_id")
        months = {b: store.frequency_at(b, AS_OF) for b in expected}
    for beat, row in seen.items():
        got = dict(zip(BEAT_COLUMNS, map(num, row[1:12])))
        assert got == {k: expected[beat][k] for k in BEAT_COLUMNS}, beat
        assert num(row[12]) == months[beat]
        assert num(row[13]) == int(advice.loc[beat, "advised_months"])
    whole = sum(expected.values(), Counter())
    assert dict(zip(BEAT_COLUMNS, map(num, total[1:12]))) == {k: whole[k] for k in BEAT_COLUMNS}
    posts = defaultdict(Counter)
    for _, _, post, _, beat, _ in organisation(db):
        if beat in expected:
            posts[post] += expected[beat]
    assert [dict(zip(BEAT_COLUMNS, map(num, r[1:12]))) for r in subtotals] == \
        [{k: posts[p][k] for k in BEAT_COLUMNS} for p in sorted(posts)]


@pytest.mark.slow
def test_the_chief_report_officer_table(world):
    db, store = world["db"], world["store"]
    rows = {re.search(r"S\d\d-O\d+", r[0]).group(): r for r in read_tables(world["chief"])["officers"]}
    visits = defaultdict(Counter)
    for officer, outcome, at, night in q(
            db, "select v.officer_id, v.outcome, v.visited_at, v.night from visit v join premises p on "
                "p.id = v.premises_id join beat b on b.id = p.beat_id join post s on s.id = b.post_id "
                "where s.station_id = ? and v.visited_at >= ? and v.visited_at <= ?", STATION, ts(START),
            ts(AS_OF, True)):
        c = visits[officer]
        hour = int(at[11:13])
        c["visits"] += 1
        c["met"] += outcome in MET
        c["created"] += outcome == "カード作成"
        c["amended"] += outcome == "カード補正"
        c["refused"] += outcome == "拒否"
        c["夜間" if night else "午前" if hour < 12 else "午後" if hour < 17 else "夕方"] += 1
    listed = overdue(store, AS_OF, ("station", STATION))
    by_beat = defaultdict(Counter)
    for r in listed.itertuples():
        by_beat[r.beat_id]["long_unvisited"] += LONG_UNVISITED in r.category
        by_beat[r.beat_id]["long_unconfirmed"] += LONG_UNCONFIRMED in r.category
    # the campaign: premises of its beat existing on the day, met since it began
    campaign = world["campaign_beat"]
    state = premises_state(db, AS_OF)
    target = {pid for pid, p in state.items() if p["beat"] == campaign and not p["ceased"]}
    met = {pid for (pid,) in q(db, "select premises_id from visit where outcome in ('面接', 'カード作成', 'カード補正') "
                                   "and visited_at >= ? and visited_at <= ?", ts(date(2026, 10, 1)), ts(AS_OF, True))}
    with store.transaction():
        holders = defaultdict(list)
        for _, _, _, _, beat, _ in organisation(db):
            if beat.startswith(STATION):
                holders[store.officer_at(beat, AS_OF)].append(beat)
    assert set(rows) == set(visits) | set(holders)
    for officer, row in rows.items():
        c = visits[officer]
        held = holders.get(officer, [])
        expected = [c["visits"], c["met"], c["created"], c["amended"], c["refused"], c["午前"], c["午後"], c["夕方"],
                    c["夜間"], sum(by_beat[b]["long_unvisited"] for b in held),
                    sum(by_beat[b]["long_unconfirmed"] for b in held),
                    len(target) if campaign in held else 0, len(target & met) if campaign in held else 0]
        assert list(map(num, row[2:15])) == expected, officer
    assert sum(num(r[13]) for r in rows.values()) == len(target) > 0


@pytest.mark.slow
def test_the_chief_report_lists_night_visits_and_opinions_of_the_period(world):
    db = world["db"]
    tables = read_tables(world["chief"])
    night = q(db, "select v.visited_at, v.premises_id, a.approver from visit v join premises p on p.id = v.premises_id "
                  "join beat b on b.id = p.beat_id join post s on s.id = b.post_id left join night_approval a on "
                  "a.id = v.night_approval_id where s.station_id = ? and v.night and v.visited_at >= ? and "
                  "v.visited_at <= ? order by v.visited_at, v.id", STATION, ts(START), ts(AS_OF, True))
    assert night and any(a is None for *_, a in night), "the seed gives unapproved night visits"
    rows = tables["night"]
    assert [(r[0], num(r[1])) for r in rows] == [(at[:16], pid) for at, pid, _ in night]
    for r, (_, _, approver) in zip(rows, night):
        assert (r[5] == "未承認") == (approver is None)
        assert approver is None or r[5].startswith(approver)

    opinions = q(db, "select o.id, o.received_on, o.complaint, o.reported_to_chief_on, o.premises_id from opinion o "
                     "join premises p on p.id = o.premises_id join beat b on b.id = p.beat_id join post s on "
                     "s.id = b.post_id where s.station_id = ? and o.received_on >= ? and o.received_on <= ? "
                     "order by o.received_on, o.id", STATION, START.isoformat(), AS_OF.isoformat())
    rows = [r for r in tables["numbered"] if r[0] and r[0].isdigit()]
    assert len(opinions) > 3
    assert [(num(r[0]), r[1], r[4], r[6], int(r[2].split("\n")[0])) for r in rows] == [
        (i, received, "苦情" if complaint else "意見・要望", chief or "未報告", pid)
        for i, received, complaint, chief, pid in opinions]
    assert all(r[8] == "" for r in rows)  # the section chief's confirmation is left to be stamped


@pytest.mark.slow
def test_the_chief_report_header_classification_and_pages(world):
    with pdfplumber.open(world["chief"]) as pdf:
        pages = pdf.pages
        assert len(pages) >= 2
        # the Japanese font travels with the file, as a subset (XXXXXX+IPAexGothic)
        assert {c["fontname"].split("+")[-1].split("-")[0] for c in pages[0].chars} == {"IPAexGothic"}
        assert all(re.match(r"[A-Z]{6}\+", c["fontname"]) for c in pages[0].chars)
        for k, page in enumerate(pages, 1):
            assert page.width == pytest.approx(595.3, abs=1) and page.height == pytest.approx(841.9, abs=1)  # A4
            text = page.extract_text()
            assert "取扱注意" in text and "青森警察署" in text and "2026年8月1日〜2026年11月30日" in text
            assert "作成 2026-11-22 09:30" in text and f"{k} / {len(pages)}" in text
    assert world["chief"].name == "chief-S01-2026-08-01_2026-11-30.pdf"
    assert world["chief"].stat().st_mode & 0o077 == 0  # it names residents: owner only


def test_both_reports_end_with_the_audit_logs_anchored_head(world):
    """Small at the foot: the rows and hash of the audit log's head when the report was made, as the
    head file outside the database holds them; a later reader holds them against `junkai audit verify`."""
    lines = (world["store"].home / "audit-head.log").read_text().split("\n")
    for path in (world["chief"], world["hq"]):
        foot = re.search(r"監査ログ先端 (\d+) 行 ([0-9a-f]{16})", text_of(path))
        assert foot, path
        assert any(line.split()[1:] and line.split()[1] == foot.group(1) and line.split()[2].startswith(foot.group(2))
                   for line in lines)


# --- the HQ report -----------------------------------------------------------------------------


@pytest.mark.slow
def test_the_hq_report_station_table_matches_an_independent_count(world):
    db, store = world["db"], world["store"]
    per_beat = beat_figures(db, store, START, AS_OF, None)
    names = {s: name for s, name, *_ in organisation(db)}
    stations = defaultdict(Counter)
    for beat, c in per_beat.items():
        stations[beat[:3]] += c
    rows = {r[0]: r for r in read_tables(world["hq"])["stations"][:len(stations) + 1]}  # then card management
    columns = BEAT_COLUMNS + ["night", "night_unapproved", "opinions", "complaints"]
    order = ["premises", "households", "businesses", "visits", "visited", "met", "created", "amended",
             "long_unvisited", "long_unconfirmed", "refused", "night", "night_unapproved", "opinions", "complaints"]
    assert set(rows) == {names[s] for s in stations} | {"合計"}
    for s, c in stations.items():
        assert dict(zip(order, map(num, rows[names[s]][1:16]))) == {k: c[k] for k in columns}, s
    whole = sum(stations.values(), Counter())
    assert dict(zip(order, map(num, rows["合計"][1:16]))) == {k: whole[k] for k in columns}


@pytest.mark.slow
def test_the_hq_report_trend_is_the_lists_at_each_month_end(world):
    store = world["store"]
    rows = read_tables(world["hq"])["trend"]
    days = [date.fromisoformat(r[0]) for r in rows]
    assert len(days) == 12 and days[-1] == AS_OF and days[0] == date(2025, 12, 31)
    for day, row in zip(days, rows):
        listed = overdue(store, day)
        state = premises_state(world["db"], day)
        assert list(map(num, row[1:4])) == [sum(not p["ceased"] for p in state.values()),
                                            int(listed.category.str.contains(LONG_UNVISITED).sum()),
                                            int(listed.category.str.contains(LONG_UNCONFIRMED).sum())], day


@pytest.mark.slow
def test_the_hq_report_card_management(world):
    db = world["db"]
    names = {s: name for s, name, *_ in organisation(db)}
    held, ceased, without = Counter(), Counter(), Counter()
    for p in premises_state(db, AS_OF).values():
        if p["card"]:
            (ceased if p["ceased"] else held)[p["beat"][:3]] += 1
        elif not p["ceased"]:
            without[p["beat"][:3]] += 1
    printed = Counter()
    for beat, pid, batch in q(db, "select c.beat_id, c.premises_id, c.batch_id from printed_card c join print_batch b "
                                  "on b.id = c.batch_id where b.printed_at >= ? and b.printed_at <= ?", ts(START),
                              ts(AS_OF, True)):
        printed[beat[:3], "printed"] += 1
        printed[beat[:3], "blank"] += pid is None
    tables = read_tables(world["hq"])
    rows = {r[0]: r for r in tables["stations"][len(names) + 1:]}  # the second table headed 警察署
    for s, name in names.items():
        assert list(map(num, rows[name][1:8])) == [held[s], without[s], ceased[s], printed[s, "printed"],
                                                   printed[s, "blank"], 1 if printed[s, "printed"] else 0, 0], s
    assert list(map(num, rows["合計"][1:4])) == [sum(held.values()), sum(without.values()), sum(ceased.values())]
    assert printed["S01", "printed"] == 3


@pytest.mark.slow
def test_the_hq_report_contains_no_resident_name_phone_or_address(world):
    db = world["db"]
    officers = {name for (name,) in q(db, "select name from officer")}
    names, phones, places = set(), set(), set()
    for (data,) in q(db, "select data from card"):
        card = __import__("json").loads(data)
        for group in ("members", "contacts"):
            for person in card.get(group, {}).values():
                names.add(person.get("name"))
                phones.update(person.get(k) for k in ("mobile", "phone", "work_phone"))
                places.add(person.get("address"))
        names.update(card.get(k) for k in ("representative", "manager", "business_name"))
        phones.update(card.get(k) for k in ("home_phone", "manager_phone", "business_phone"))
    for town, block in q(db, "select town, block from premises"):
        places.add(f"{town}{block}")
    # a resident may share a name with an officer, whose name HQ does see on a complaint
    names = {n for n in names - officers if n}
    text = text_of(world["hq"])
    flat = re.sub(r"\s+", "", text)
    assert len(names) > 1000 and len(phones) > 1000
    assert [n for n in names if n in text or n.replace(" ", "") in flat] == []
    assert [p for p in phones if p and (p in text or p.replace("-", "") in flat.replace("-", ""))] == []
    assert [a for a in places if a and a.replace(" ", "") in flat] == []


@pytest.mark.slow
def test_the_hq_report_lists_the_complaints_and_flags_the_late(world):
    db = world["db"]
    rows = [r for r in read_tables(world["hq"])["numbered"] if r[0] and r[0].isdigit()]
    complaints = q(db, "select id, received_on, reported_to_hq_on from opinion where complaint and ((received_on >= ? "
                       "and received_on <= ?) or (received_on < ? and reported_to_hq_on is null)) "
                       "order by received_on, id", START.isoformat(), AS_OF.isoformat(), START.isoformat())
    assert [num(r[0]) for r in rows] == [i for i, *_ in complaints]
    for r, (i, received, reported) in zip(rows, complaints):
        days = ((date.fromisoformat(reported) if reported else AS_OF) - date.fromisoformat(received)).days
        assert r[5] == (reported or "-")
        flagged = days > 1
        assert r[6].startswith("遅延" if reported and flagged else "未報告" if not reported else "期限内"), r
        assert ("期限内" not in r[6]) == flagged or (not reported and not flagged and "期限内" in r[6])
    today = [r for r in rows if r[4] == AS_OF.isoformat()]
    assert len(today) == 1 and today[0][6] == "未報告 (報告期限内)"


# --- complaints: the nightly step and the command -------------------------------------------------


@pytest.fixture
def small(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'junkai.sqlite3'}")
    store.migrate()
    with store.transaction():
        seed(store, 300, 1, 3, UNTIL, "seed")
        beat = store.organisation().beat_id.iloc[0]
        pid = store.premises_ids_of_beat(beat)[0]
        cid = store.add_opinion(premises_id=pid, visit_id=None, officer_id=store.officer_at(beat, AS_OF),
                                received_on=AS_OF, text="巡回連絡の際の態度が横柄だった。", complaint=True,
                                reported_to_chief_on=AS_OF, reported_to_hq_on=None, recorded_by="試験",
                                recorded_at=NOW)
    yield store, cid, tmp_path / "out"
    store.close()


def complaint_rows(path: Path) -> dict[int, list[str]]:
    return {num(r[0]): r for r in read_tables(path).get("numbered", []) if r[0] and r[0].isdigit()}


@pytest.mark.slow
def test_a_complaint_recorded_today_is_in_the_next_run_and_flagged_when_a_day_late(small):
    store, cid, out = small
    month = reports.period("2026-11")
    first = complaint_rows(reports.hq(store, month.start, month.end, out, "試験", now=NOW))
    assert first[cid][6] == "未報告 (報告期限内)"
    later = complaint_rows(reports.hq(store, month.start, month.end, out, "試験", now=NOW + timedelta(days=2)))
    assert later[cid][6] == "未報告 (2 日経過)"
    page = text_of(out / f"hq-{month.slug}.pdf")
    assert "赤で示す" in page


@pytest.mark.slow
def test_the_nightly_step_writes_a_page_per_unreported_complaint_and_marks_them(small):
    store, cid, out = small
    with store.transaction():
        waiting = store.unreported_complaints()
    assert cid in waiting
    paths = reports.report_unreported_complaints(store, out, "夜間処理", now=NOW)
    assert len(paths) == len(waiting)
    with store.transaction():
        assert store.unreported_complaints() == []
        assert store.complaint(cid)["reported_to_hq_on"] == AS_OF
    mine = next(p for p in paths if p.name == f"complaint-{cid}-{AS_OF}.pdf")
    with pdfplumber.open(mine) as pdf:
        assert len(pdf.pages) == 1
        text = pdf.pages[0].extract_text()
    for expected in ("苦情報告書", "取扱注意", "警察本部長 殿", "巡回連絡の際の態度が横柄だった。", f"受理日 {AS_OF}",
                     f"警察本部への報告 {AS_OF} 期限内に報告", "措置状況"):
        assert expected in text.replace("　", " ") or expected in text, expected
    # the next run finds nothing to do, and the HQ report shows it reported in time
    assert reports.report_unreported_complaints(store, out, "夜間処理", now=NOW) == []
    month = reports.period("2026-11")
    rows = complaint_rows(reports.hq(store, month.start, month.end, out, "試験", now=NOW))
    assert rows[cid][5] == AS_OF.isoformat() and rows[cid][6] == "期限内に報告"
    with store.transaction():
        audit = store.audit_events(what="report.complaint")
    assert len(audit) == len(waiting) and audit[0]["operator"] == "夜間処理"


def test_the_complaint_command_reports_at_once_and_keeps_the_first_date(small, home):
    from junkai.cli import app

    store, cid, _ = small
    runner = CliRunner()
    env = {"JUNKAI_DB_URL": store.url}
    r = runner.invoke(app, ["report", "complaint", str(cid)], env=env)
    assert r.exit_code == 0, r.output
    path = Path(r.output.strip().splitlines()[-1])
    assert path.parent == Path("output/reports") and path.is_file()
    with store.transaction():
        assert store.complaint(cid)["reported_to_hq_on"] == date.today()
        store.mark_reported_to_hq(cid, date.today() + timedelta(days=5))
        assert store.complaint(cid)["reported_to_hq_on"] == date.today()
    r = runner.invoke(app, ["report", "complaint", "1"], env=env)
    assert r.exit_code == 2 and "苦情ではありません" in r.output


@pytest.mark.slow
def test_report_commands_write_where_they_say(small, home):
    from junkai.cli import app

    store, _, _ = small
    runner = CliRunner()
    env = {"JUNKAI_DB_URL": store.url}
    month = date.today().strftime("%Y-%m")
    r = runner.invoke(app, ["report", "chief", "--station", "S01", "--period", month], env=env)
    assert r.exit_code == 0, r.output
    assert r.output.strip().endswith(f"output/reports/chief-S01-{month}.pdf")
    r = runner.invoke(app, ["report", "hq", "--from", "2026-11-01", "--to", "2026-11-15"], env=env)
    assert r.exit_code == 0, r.output
    assert r.output.strip().endswith("output/reports/hq-2026-11-01_2026-11-15.pdf")
    for args, message in [(["report", "chief", "--station", "S09", "--period", month], "警察署が見つかりません"),
                          (["report", "hq"], "期間を"),
                          (["report", "hq", "--period", "2026-11", "--from", "2026-11-01"], "どちらか一方"),
                          (["report", "hq", "--from", "2026-11-20", "--to", "2026-11-01"], "より前"),
                          (["report", "hq", "--period", "11/2026"], "の形で")]:
        r = runner.invoke(app, args, env=env)
        assert r.exit_code == 2 and message in r.output, (args, r.output)
    with store.transaction():
        actions = Counter(e["action"] for e in store.audit_events(what="report"))
    assert actions == {"report.chief": 1, "report.hq": 1}


# --- pieces ----------------------------------------------------------------------------------------


def test_periods():
    assert reports.period("2026-11") == reports.Period(date(2026, 11, 1), date(2026, 11, 30))
    assert reports.period("2026-02").end == date(2026, 2, 28)
    assert reports.period("2026-11-20").label == "2026年11月20日"
    assert reports.period("2026").slug == "2026"
    assert reports.period(None, date(2026, 10, 5), date(2026, 11, 3)).slug == "2026-10-05_2026-11-03"
    assert reports.period("2026-11").label == "2026年11月"
    with pytest.raises(JunkaiError):
        reports.period("2026-11", date(2026, 11, 1), None)
    assert reports.trend_days(date(2026, 11, 22)) == [
        date(2025, 12, 31), date(2026, 1, 31), date(2026, 2, 28), date(2026, 3, 31), date(2026, 4, 30),
        date(2026, 5, 31), date(2026, 6, 30), date(2026, 7, 31), date(2026, 8, 31), date(2026, 9, 30),
        date(2026, 10, 31), date(2026, 11, 22)]


@pytest.mark.slow
def test_overdue_counts_on_many_days_agree_with_the_lists_on_each(store):
    """The trend's one-read counts are the lists' counts, day by day (both databases)."""
    with store.transaction():
        seed(store, 240, 2, 11, UNTIL, "seed")
        # a premises that ceased and came back: its status on each day is the last before it
        pid = store.premises_ids_of_beat(store.organisation("S02").beat_id.iloc[0])[0]
        store.set_status(pid, model.CEASED, datetime(2025, 3, 1, 12), "test", "op")
        store.set_status(pid, model.ACTIVE, datetime(2025, 9, 1, 12), "test", "op")
    days = [date(2021, 6, 30), date(2024, 2, 29), date(2025, 3, 1), date(2025, 8, 31), date(2025, 9, 1), UNTIL]
    counts = overdue_counts(store, days, ("station", "S02"))
    for day in days:
        listed = overdue(store, day, ("station", "S02"))
        got = counts[counts.day == day].set_index("beat_id")
        for beat, group in listed.groupby("beat_id"):
            assert got.loc[beat, "long_unvisited"] == group.category.str.contains(LONG_UNVISITED).sum(), (day, beat)
            assert got.loc[beat, "long_unconfirmed"] == group.category.str.contains(LONG_UNCONFIRMED).sum()
        assert got.long_unvisited.sum() == listed.category.str.contains(LONG_UNVISITED).sum()
        assert got.overdue.sum() == listed.category.str.contains(f"{LONG_UNVISITED}|{LONG_UNCONFIRMED}").sum()
        with store.transaction():
            d = store.list_inputs(day, ("station", "S02"))
        status = {r.premises_id: r.status for r in d["status"].itertuples()}  # ordered: the last one wins
        assert got.premises.sum() == sum(status.get(pid) != '"ceased"' for pid in d["premises"].premises_id)


@pytest.mark.slow
def test_the_hq_report_counts_purged_premises_and_names_each_operators_role(small, tmp_path):
    """A purge of the period shows per station; the audit table gives every operator's role."""
    from junkai import retention

    store, _, out = small
    with store.transaction():
        pid = store.premises_ids_of_beat(store.organisation().beat_id.iloc[0])[1]
        store.set_status(pid, model.CEASED, datetime(2015, 3, 1, 12), "test", "op")
        store.add_user("管理者 試験", "admin", NOW, "試験")
        store.add_user("地域課長 試験", "custodian", NOW, "管理者 試験", station_id="S01")
        assert not store.audit_events(what="export")
        org = store.organisation()
        beat, station_name = org.beat_id.iloc[0], org.station.iloc[0]
        store.audit_export("地域課長 試験", "cards", ("post", beat[:7]), rows=1)
        store.audit_export("地域課長 試験", "handover", ("beat", beat), rows=1)
        store.audit_export("管理者 試験", "visits", None, rows=5)  # the whole store: in the total only
        store.audit("名前だけの操作者", "history", "premises", str(pid))
    result = retention.purge_ceased(store, tmp_path, 5, "管理者 試験", today=AS_OF)
    assert result.stations["S01"]["premises"] >= 1
    month = reports.period(f"{date.today():%Y-%m}")  # the purge is audited at the real time
    path = reports.hq(store, month.start, month.end, out, "本部", now=datetime.now())
    tables = read_tables(path)
    rows = {r[0]: r for r in tables["stations"] if r and r[0]}
    cards = {name: r for name, r in rows.items() if len(r) == 9}  # the card management table
    assert [num(r[7]) for name, r in cards.items() if name != "合計"] == [result.stations["S01"]["premises"]]
    exported = {name: num(r[8]) for name, r in cards.items()}
    assert exported.pop("合計") == 3 and exported == {name: 2 if name == station_name else 0 for name in exported}
    assert "範囲を指定しない書き出し 1 件" in text_of(path)
    roles = {r[1]: r[2] for r in tables["audit"]}
    assert roles["地域課長 試験"].startswith("管理責任者") and roles["管理者 試験"] == "管理者"
    assert roles["名前だけの操作者"] == "未登録"


# --- layout: what the reader needs beside each figure ------------------------------------------


@pytest.mark.slow
def test_the_chief_report_marks_partial_weeks_labels_every_share_and_compares_with_the_previous_period(world):
    store, db = world["store"], world["db"]
    with pdfplumber.open(world["chief"]) as pdf:
        first = pdf.pages[0]
        text = first.extract_text()
        words = [w["text"] for w in first.extract_words()]
    # the weekly chart: the first week (Monday before START) holds only the days from START on
    partial = 7 - START.weekday()
    assert "(一部" in text and f"{partial}日)" in text
    assert text.count("(一部") == (START.weekday() != 0) + (AS_OF.weekday() != 6)
    # the coverage chart: every beat's three shares carry their numbers
    figures = beat_figures(db, store, START, AS_OF, STATION)
    listed = overdue(store, AS_OF, ("station", STATION))
    for beat, c in figures.items():
        mine = listed[listed.beat_id == beat]
        n = c["premises"]
        unvisited = round(100 * c["long_unvisited"] / n, 1)
        only = round(100 * int((~mine.category.str.contains(LONG_UNVISITED)
                                & mine.category.str.contains(LONG_UNCONFIRMED)).sum()) / n, 1)
        for share in (max(0.0, 100 - unvisited - only), only, unvisited):
            assert f"{share:.0f}%" in words, (beat, share)
    # the key figures beside their change from the previous period (2026-04-01 .. 07-23, as far into it)
    before = reports.previous(reports.period(start=START, end=END), AS_OF)
    assert (before.start, before.end) == (date(2026, 4, 1), date(2026, 7, 23))
    assert f"前の期間 {before.label}" in text
    now_t, before_t = Counter(), Counter()
    for c in figures.values():
        now_t.update(c)
    for c in beat_figures(db, store, before.start, before.end, STATION).values():
        before_t.update(c)
    keys = ["premises", "visits", "met", "long_unvisited", "long_unconfirmed", "night"]
    assert re.findall(r"前期比 ([▲▼±]\S*)", text) == [sign(now_t[k] - before_t[k]) for k in keys]
    assert re.findall(r"前期比 \S+ \(前期 ([\d,]+)\)", text) == [f"{before_t[k]:,}" for k in keys]
    assert any(now_t[k] != before_t[k] for k in keys)


COMPARED = {4: "visits", 6: "met", 9: "long_unvisited", 10: "long_unconfirmed"}  # columns of the beat table


@pytest.mark.slow
def test_the_tables_put_the_previous_periods_value_under_each_compared_figure(world):
    """Per beat, post and the whole station, per officer, and per station for HQ: the previous period's value
    (an independent count over 2026-04-01 .. 07-23) and the change, under the figure, each row whole on one page."""
    db, store = world["db"], world["store"]
    before = reports.previous(reports.period(start=START, end=END), AS_OF)
    now, was_then = beat_figures(db, store, START, AS_OF, STATION), beat_figures(db, store, before.start, before.end, STATION)
    rows = read_tables(world["chief"])["beats"]
    posts = defaultdict(list)
    for _, _, post, _, beat, _ in organisation(db):
        if beat in now:
            posts[post].append(beat)
    groups = {re.search(r"S\d\d-P\d\d-B\d+", r[0]).group(): [r] for r in rows if re.search(r"S\d\d-P\d\d-B\d+", r[0] or "")}
    expected = {b: [b] for b in groups}
    subtotals = [r for r in rows if r[0] == "小計"]
    for post, r in zip(sorted(posts), subtotals):
        groups[post], expected[post] = [r], posts[post]
    groups["合計"], expected["合計"] = [r for r in rows if r[0] == "合計"], list(now)
    assert len(subtotals) == len(posts) and len(groups["合計"]) == 1 and len(groups) == len(now) + len(posts) + 1
    for key, (row,) in groups.items():
        assert all(c for c in row[1:12]), row  # the row whole: none of its cells continued on another page
        for col, k in COMPARED.items():
            mine = sum(now[b][k] for b in expected[key])
            then = sum(was_then[b][k] for b in expected[key])
            assert num(row[col]) == mine and was(row[col]) == (sign(mine - then), then), (key, k)
    assert any(was(r[0][4])[0] != "±0" for r in groups.values())
    # per officer: their own visits and meetings of the previous period
    then = defaultdict(Counter)
    for officer, outcome in q(db, "select v.officer_id, v.outcome from visit v join premises p on p.id = v.premises_id "
                                  "join beat b on b.id = p.beat_id join post s on s.id = b.post_id where s.station_id = ? "
                                  "and v.visited_at >= ? and v.visited_at <= ?", STATION, ts(before.start),
                              ts(before.end, True)):
        then[officer]["visits"] += 1
        then[officer]["met"] += outcome in MET
    officers = read_tables(world["chief"])["officers"]
    assert officers
    for row in officers:
        officer = re.search(r"S\d\d-O\d+", row[0]).group()
        for col, k in ((2, "visits"), (3, "met")):
            assert was(row[col]) == (sign(num(row[col]) - then[officer][k]), then[officer][k]), (officer, k)
    # HQ: per station
    now, was_then = beat_figures(db, store, START, AS_OF, None), beat_figures(db, store, before.start, before.end, None)
    names = {s: name for s, name, *_ in organisation(db)}
    stations = read_tables(world["hq"])["stations"][:len(set(names)) + 1]
    for row in stations:
        beats = [b for b in now if row[0] == "合計" or names[b[:3]] == row[0]]
        for col, k in COMPARED.items():
            mine, prev = sum(now[b][k] for b in beats), sum(was_then[b][k] for b in beats)
            assert num(row[col]) == mine and was(row[col]) == (sign(mine - prev), prev), (row[0], k)


def rows_by_page(path: Path) -> list[tuple[int, list[str | None]]]:
    with pdfplumber.open(path) as pdf:
        return [(i, r) for i, page in enumerate(pdf.pages) for t in page.extract_tables() for r in t]


@pytest.mark.slow
def test_no_table_row_of_the_hq_report_is_split_across_pages(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'junkai.sqlite3'}")
    store.migrate()
    with store.transaction():
        seed(store, 300, 1, 3, UNTIL, "seed")
        beat = store.organisation().beat_id.iloc[0]
        pid = store.premises_ids_of_beat(beat)[0]
    # complaints of many lengths push the card table down the pages: across a page end at some count
    for k in range(27):
        with store.transaction():
            store.add_opinion(premises_id=pid, visit_id=None, officer_id=store.officer_at(beat, UNTIL),
                              received_on=date(2026, 11, 1 + k % 20), text="態度が横柄だった。" * (2 + k % 5),
                              complaint=True, reported_to_chief_on=None, reported_to_hq_on=None, recorded_by="試験",
                              recorded_at=NOW)
        if k < 20:
            continue
        path = reports.hq(store, date(2026, 11, 1), date(2026, 11, 30), tmp_path / "out", "試験", now=NOW)
        rows = rows_by_page(path)
        # every complaint row whole on one page: its number and its cells together, once
        numbered = [(i, r) for i, r in rows if r and r[0] and r[0].isdigit()]
        with store.transaction():
            expected = len(store.complaints(date(2026, 11, 1), NOW.date()))
        assert len(numbered) == len({r[0] for _, r in numbered}) == expected > k
        assert all(all(c for c in r[1:7]) for _, r in numbered)
        assert not [r for _, r in rows if r and not r[0] and r[-1] and len(r) == 8]  # no continued 内容 cell
        # the card table (the second one headed 警察署) on one page with its header and total
        pages = [i for i, r in rows if r and r[0] in ("青森警察署", "合計")]
        header = [i for i, r in rows if r and any(c and "カードのない" in c for c in r)]
        assert len(header) == 1 and pages[-2:] == [header[0]] * 2, k


# --- returned cards are no contacts ----------------------------------------------------------------------


def test_the_demo_stations_figures_do_not_jump_when_its_cards_come_back(tmp_path):
    """A beat's cards printed and all returned on one day (each ticked 変更なし): its coverage, 長期不実施 and
    its officer's 面接 stay as they were; only 長期未把握 may fall, as the cards are confirmed."""
    from junkai import form as F, printing
    from junkai.readings import FieldReading, Identity, PageReading, PageStatus
    from junkai.reconcile import reconcile_page

    beat, day = "S01-P01-B1", date(2026, 11, 25)
    store = Store(f"sqlite:///{tmp_path / 'demo.db'}")
    store.migrate()
    with store.transaction():
        seed(store, 45, 1, 21, day - timedelta(days=1), "試験")
        batch = printing.plan(store, beat=beat, operator="試験", now=datetime.combine(day, time(8)))
        printing.record(store, batch, tmp_path / "cards.pdf")
    period = reports.Period(date(2026, 11, 1), date(2026, 11, 30))

    def figures():
        f = reports.chief_figures(store, STATION, period, today=day)
        row = next(b for p in f["posts"] for b in p["beats"] if b["beat_id"] == beat)
        return row, {o["officer_id"]: (o["visits"], o["met"]) for o in f["officers"]}, f

    before_beat, before_officers, _ = figures()
    with store.transaction():
        store.add_scan_file("demo", "demo.pdf", 1, "scans/demo", datetime.combine(day, time(16)), "試験")
    returned = 0
    for n, job in enumerate(batch.jobs, 1):
        if not job.premises:
            continue  # a blank card
        page = F.page(job.form, 1)
        ticks = [FieldReading(f.id, f.kind, f.section, f.path, F.UNCHANGED, 0.99)
                 for f in page.fields if f.id.endswith(".change")]
        identity = Identity(print_id=job.print_id, premises_id=job.premises["id"], card_version=job.version,
                            beat=job.beat_id, sheet=1, sheets=job.sheets, form=job.form, form_version=F.VERSION)
        reading = PageReading("demo.pdf", n, PageStatus.OK, form=job.form, form_version=F.VERSION, sheet=1,
                              identity=identity, fields=ticks)
        with store.transaction():
            out = reconcile_page(store, f"demo:{n}", reading, "試験", today=day)
        returned += out.visit_id is not None
    after_beat, after_officers, after = figures()
    assert returned >= 10
    for measure in ("visits", "visited", "met", "long_unvisited", "met_within_pct"):
        assert after_beat[measure] == before_beat[measure], measure
    assert after_officers == before_officers
    assert after_beat["long_unconfirmed"] < before_beat["long_unconfirmed"]  # the cards are confirmed
    assert after["returned"]["total"] == returned and after["returned"]["scan"] == returned
    # nor do they in December's comparison with November: the previous period counts them apart too
    december = reports.chief_figures(store, STATION, reports.Period(date(2026, 12, 1), date(2026, 12, 31)),
                                     today=date(2026, 12, 31))
    row = next(b for p in december["posts"] for b in p["beats"] if b["beat_id"] == beat)
    for measure in ("visits", "visited", "met"):
        assert row["was"][measure] == after_beat[measure], measure
    assert {o["officer_id"]: (o["was"]["visits"], o["was"]["met"]) for o in december["officers"]
            if o["officer_id"] in after_officers} == after_officers
    # the chief's report says how many came back and what dated them
    pdf = reports.chief(store, STATION, period.start, period.end, tmp_path / "out", "署長報告 試験",
                        now=datetime.combine(day, time(18)))
    text = re.sub(r"\s+", "", text_of(pdf))
    assert f"返送されたカード(読み取り){returned}件は面接に数えず" in text and f"スキャンの受付日{returned}件" in text
    store.close()


def test_a_finished_month_is_compared_with_the_whole_month_before():
    month = reports.period("2026-11")
    assert reports.previous(month, date(2026, 11, 30)) == reports.Period(date(2026, 10, 1), date(2026, 10, 31))
    assert reports.previous(month, date(2026, 11, 20)) == reports.Period(date(2026, 10, 1), date(2026, 10, 20))
    year = reports.period("2025")
    assert reports.previous(year, date(2025, 12, 31)) == reports.Period(date(2024, 1, 1), date(2024, 12, 31))


def support_expected(db, as_of: date, station: str | None) -> tuple[Counter, int, int]:
    """Households per 要配慮 answer from the events alone: the last 'support' event by the end of the day."""
    beats = {b for s, _, _, _, b, _ in organisation(db) if station in (None, s)}
    state = {pid: p for pid, p in premises_state(db, as_of).items()
             if p["kind"] == "household" and not p["ceased"] and p["card"] and p["beat"] in beats}
    last = {}
    for pid, after in q(db, "select premises_id, after from card_event where path = 'support' and at <= ? "
                            "order by version, id", ts(as_of, True)):
        last[pid] = __import__("json").loads(after) if after else []
    ticks = [last.get(pid) or [] for pid in state]
    return Counter(t for chosen in ticks for t in chosen), sum(bool(t) for t in ticks), len(state)


@pytest.mark.parametrize("report, station", [("chief", STATION), ("hq", None)])
def test_the_reports_count_households_per_support_answer_and_name_none(world, report, station):
    db = world["db"]
    counted, answered, households = support_expected(db, AS_OF, station)
    rows = read_tables(world[report])["support"]
    shown = {r[0].replace("\n", ""): r[1] for r in rows}
    assert {a: num(shown[a]) for a in model.SUPPORT} == {a: counted[a] for a in model.SUPPORT}
    assert all(counted[a] > 0 for a in model.SUPPORT)
    total = next(v for k, v in shown.items() if k.startswith("いずれかに印のある世帯"))
    assert [num(x) for x in total.replace(" ", "").split("/")] == [answered, households]
    # the definition is beside the counts, and nothing near them names a household
    text = re.sub(r"\s+", "", text_of(world[report]))
    start = text.index("要配慮(災害時などの手助け)")
    end = text.index("氏名・住所はこの報告に載せない。", start)
    near = text[start:end]  # the heading, the counts and their definition
    assert "要配慮(災害時などの手助け):基準日に現存し" in near and len(near) < 700
    members = [p for (data,) in q(db, "select data from card")
               for p in __import__("json").loads(data).get("members", {}).values()]
    assert [p["name"] for p in members if p.get("name") and p["name"].replace(" ", "") in near] == []
    phones = {p.get(k) for p in members for k in ("mobile", "work_phone")} - {None}
    assert len(phones) > 100 and [n for n in phones if n in near or n.replace("-", "") in near] == []
