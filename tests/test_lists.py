"""The lists of 第6-1 pinned on hand-made cases, and checked against an independent
computation on seeded data."""

from datetime import date, datetime, time, timedelta

import pandas as pd
import pytest
from dateutil.relativedelta import relativedelta

from junkai import model
from junkai.lists import LONG_UNCONFIRMED, LONG_UNVISITED, Definitions, overdue
from junkai.seed import seed
from junkai.store import Store

START = date(2024, 1, 10)
ADDRESS = dict(postal_code="0300861", prefecture="青森県", city="青森市", town="長島", block="1-1-1",
               building=None, room=None)


@pytest.fixture
def beat(store):
    with store.transaction():
        store.add_station("S01", "青森警察署")
        store.add_post("S01-P01", "S01", "長島交番", "交番")
        store.add_beat("S01-P01-B1", "S01-P01", "長島交番第1受持区")
        store.add_officer("S01-O001", "S01", "佐藤 誠")
        store.set_frequency("S01-P01-B1", 12, date(2020, 1, 1), "署長", datetime(2020, 1, 1))
        store.assign("S01-P01-B1", "S01-O001", date(2020, 1, 1), "署長", datetime(2020, 1, 1))
    return "S01-P01-B1"


def add(store, created=date(2020, 1, 1)):
    with store.transaction():
        return store.add_premises(model.HOUSEHOLD, "S01-P01-B1", ADDRESS, datetime.combine(created, time(9)), "op")


def visit(store, pid, day, outcome="面接"):
    with store.transaction():
        store.add_visit(premises_id=pid, officer_id="S01-O001", visited_at=datetime.combine(day, time(10)),
                        outcome=outcome, night=False, guidance="", source="test", recorded_by="op",
                        recorded_at=datetime.now())


def card(store, pid, day):
    with store.transaction():
        store.change_card(pid, [("members.1", {"name": "佐藤 太郎", "relation": "世帯主"})],
                          datetime.combine(day, time(10)), "test", "op")


def categories(store, as_of):
    df = overdue(store, as_of, ("beat", "S01-P01-B1"))
    return {row.premises_id: row.category for row in df.itertuples()}


def test_a_visit_exactly_one_frequency_ago_is_not_overdue_and_the_next_day_is(store, beat):
    pid = add(store)
    visit(store, pid, START)
    card(store, pid, START)
    assert pid not in categories(store, START + relativedelta(months=12))
    assert categories(store, START + relativedelta(months=12) + timedelta(days=1))[pid] == LONG_UNVISITED
    df = overdue(store, START + relativedelta(months=12) + timedelta(days=5))
    assert df.set_index("premises_id").loc[pid, "days_overdue"] == 5


def test_only_visits_that_met_a_resident_count(store, beat):
    pid = add(store)
    card(store, pid, START)
    visit(store, pid, START, "面接")
    for k in range(1, 6):
        visit(store, pid, START + relativedelta(months=3 * k), "不在")
    as_of = START + relativedelta(months=13)
    assert categories(store, as_of)[pid] == LONG_UNVISITED
    row = overdue(store, as_of).set_index("premises_id").loc[pid]
    assert row.last_visit == START


def test_a_returned_card_confirms_but_is_no_contact(store, beat):
    """A card that came back (返送) with its confirmation: 長期未把握 clears, 長期不実施 does not."""
    pid = add(store)
    card(store, pid, START)
    visit(store, pid, START, "面接")
    back = START + relativedelta(months=12, days=10)
    visit(store, pid, back, model.RETURNED)
    with store.transaction():
        store.confirm_card(pid, datetime.combine(back, time(12)), "scan:x:1", "op")
    as_of = START + relativedelta(months=25)
    assert categories(store, as_of)[pid] == LONG_UNVISITED  # no longer 長期未把握, still 長期不実施
    assert overdue(store, as_of).set_index("premises_id").loc[pid].last_visit == START


def test_a_frequency_changed_mid_way_applies_from_its_date(store, beat):
    pid = add(store)
    visit(store, pid, START)
    card(store, pid, START)
    as_of = START + relativedelta(months=8)
    assert pid not in categories(store, as_of)
    with store.transaction():
        store.set_frequency(beat, 6, as_of - timedelta(days=30), "署長", datetime.now())
    assert categories(store, as_of)[pid] == LONG_UNVISITED
    # as of a day before the change took effect, the old frequency still held
    assert pid not in categories(store, as_of - timedelta(days=31))


def test_a_premises_that_ceased_leaves_the_lists_from_that_day(store, beat):
    pid = add(store)
    with store.transaction():
        store.set_status(pid, model.CEASED, datetime(2023, 6, 1, 12), "operator", "op")
    assert pid in categories(store, date(2023, 5, 31))
    assert pid not in categories(store, date(2023, 6, 1))


def test_refusals_stay_on_the_list_marked(store, beat):
    pid = add(store)
    visit(store, pid, START, "拒否")
    visit(store, pid, START + timedelta(days=40), "拒否")
    row = overdue(store, START + timedelta(days=50)).set_index("premises_id").loc[pid]
    assert row.category == f"{LONG_UNVISITED}・{LONG_UNCONFIRMED}"
    assert row.refusals == 2 and row.last_refusal == START + timedelta(days=40)


def test_long_unconfirmed_is_twice_the_frequency_and_no_card_counts(store, beat):
    pid = add(store)
    card(store, pid, START)
    no_card = add(store)
    for k in range(0, 30, 6):  # met every six months, so never long-unvisited
        visit(store, pid, START + relativedelta(months=k))
        visit(store, no_card, START + relativedelta(months=k))
    limit = START + relativedelta(months=24)
    cats = categories(store, limit)
    assert pid not in cats and cats[no_card] == LONG_UNCONFIRMED
    assert categories(store, limit + timedelta(days=1))[pid] == LONG_UNCONFIRMED
    with store.transaction():
        store.confirm_card(pid, datetime.combine(limit, time(11)), "scan:1", "op")
    assert pid not in categories(store, limit + timedelta(days=1))
    # the multiplier is a setting
    year_on = START + relativedelta(months=13)
    assert pid not in set(overdue(store, year_on).premises_id)
    assert pid in set(overdue(store, year_on, None, Definitions(1)).premises_id)


def test_never_visited_premises_are_listed(store, beat):
    pid = add(store, created=date(2026, 1, 1))
    row = overdue(store, date(2026, 2, 1)).set_index("premises_id").loc[pid]
    assert row.category == f"{LONG_UNVISITED}・{LONG_UNCONFIRMED}" and row.days_overdue == 0
    assert pid not in set(overdue(store, date(2025, 12, 31)).premises_id)  # not yet known then


def test_unknown_scope_is_refused(store, beat):
    from junkai import JunkaiError
    with pytest.raises(JunkaiError, match="交番・駐在所が見つかりません: P9"):
        overdue(store, START, ("post", "P9"))


# --- against an independent computation on seeded data --------------------------


def independent(store, as_of, multiplier=2):
    """The definitions applied premises by premises with the store's plain lookups."""
    end = datetime.combine(as_of, time.max)
    out = {}
    with store.transaction():
        for pid in sorted(store.premises_id_set()):
            p = store.premises(pid)
            if p["created_at"] > end:
                continue
            statuses = [e for e in store.events(pid, as_of) if e["path"] == model.STATUS]
            if statuses and statuses[-1]["after"] == model.CEASED:
                continue
            months = store.frequency_at(p["beat_id"], as_of)
            met = [v["visited_at"] for v in store.visits(pid)
                   if v["outcome"] in model.MET_OUTCOMES and v["visited_at"] <= end]
            events = [e for e in store.events(pid, as_of) if e["path"] != model.STATUS]
            has_card = any(not e["path"].startswith("@") for e in events)
            created = p["created_at"].date()
            last_met = max(met).date() if met else None
            confirmed = max(e["at"] for e in events).date() if events else None
            unvisited = last_met is None or as_of > last_met + relativedelta(months=months)
            unconfirmed = not has_card or as_of > (confirmed or created) + relativedelta(months=months * multiplier)
            if unvisited or unconfirmed:
                out[pid] = "・".join(c for c, on in ((LONG_UNVISITED, unvisited), (LONG_UNCONFIRMED, unconfirmed))
                                    if on)
    return out


@pytest.mark.slow
@pytest.mark.parametrize("as_of", [date(2023, 3, 1), date(2026, 11, 20)])
def test_lists_equal_an_independent_computation_on_seeded_data(tmp_path, as_of):
    store = Store(f"sqlite:///{tmp_path / 's.db'}")
    store.migrate()
    with store.transaction():
        seed(store, 150, 1, 5, date(2026, 11, 20), "test")
    df = overdue(store, as_of)
    assert dict(zip(df.premises_id, df.category)) == independent(store, as_of)
    assert df.days_overdue.is_monotonic_decreasing
    with store.transaction():
        beat = store.summary().beat.iloc[0]
    scoped = overdue(store, as_of, ("beat", beat))
    assert set(scoped.premises_id) == set(df[df.beat_id == beat].premises_id)


def test_a_campaign_puts_its_premises_first_until_they_are_met(store, beat):
    quiet = add(store)  # visited and confirmed: on no list of its own
    visit(store, quiet, date(2026, 10, 1))
    card(store, quiet, date(2026, 10, 1))
    late = add(store)  # long overdue
    with store.transaction():
        store.add_campaign("連続侵入窃盗", date(2026, 11, 1), date(2026, 11, 30), "署長", datetime.now(),
                           ["S01-P01-B1"], [])
    df = overdue(store, date(2026, 11, 10))
    assert list(df.premises_id) == [late, quiet]  # campaign first, then the most overdue
    first = df.set_index("premises_id")
    assert first.loc[quiet, "category"] == "重点" and first.loc[late, "category"].startswith("重点・")
    assert set(df.premises_id[df.campaign_id.notna()]) == {quiet, late}
    # met after the campaign began: no longer a campaign premises
    visit(store, quiet, date(2026, 11, 5))
    assert quiet not in set(overdue(store, date(2026, 11, 10)).premises_id)
    # after it ended nothing is left of it
    assert overdue(store, date(2026, 12, 1)).campaign_id.isna().all()
    with store.transaction():
        progress = store.campaign_premises(date(2026, 11, 10))
    assert progress.met.astype(bool).sum() == 1 and len(progress) == 2


def test_a_campaign_by_town_and_bad_campaigns(store, beat):
    from junkai import JunkaiError
    pid = add(store)
    with store.transaction():
        store.add_campaign("不審者情報", date(2026, 11, 1), date(2026, 11, 30), "署長", datetime.now(), [], ["長島"])
        assert list(store.campaign_premises(date(2026, 11, 2)).premises_id) == [pid]
        with pytest.raises(JunkaiError, match="その町名の各戸がありません: 新町"):
            store.add_campaign("x", date(2026, 11, 1), date(2026, 11, 30), "署長", datetime.now(), [], ["新町"])
        with pytest.raises(JunkaiError, match="終了日"):
            store.add_campaign("x", date(2026, 11, 1), date(2026, 10, 30), "署長", datetime.now(), ["S01-P01-B1"], [])


def test_months_are_added_as_the_calendar_does_on_whole_columns():
    """Month ends, leap years and missing values, against pandas' own month offset."""
    from junkai.lists import _add_months

    days = pd.Series(pd.to_datetime(["2024-01-31", "2023-01-31", "2024-02-29", "2024-03-31", "2025-08-31",
                                     "1999-12-31", None, "2026-11-25", "2026-05-31"]))
    months = pd.Series([1, 1, 12, 6, 6, 2, 3, None, 24], dtype="Int64")
    got = _add_months(days, months)
    assert got.tolist()[:6] == [pd.Timestamp(x) for x in
                                ("2024-02-29", "2023-02-28", "2025-02-28", "2024-09-30", "2026-02-28", "2000-02-29")]
    assert got.iloc[6:8].isna().all() and got.iloc[8] == pd.Timestamp("2028-05-31")
    every = pd.Series(pd.date_range("2019-12-01", "2028-03-31", freq="D"))
    for m in (1, 2, 3, 6, 12, 24):
        assert (_add_months(every, pd.Series(m, index=every.index)) == every + pd.DateOffset(months=m)).all(), m
