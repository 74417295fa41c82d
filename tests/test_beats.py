"""Frequency advice (第6-2): turnover measured from the history, and the documented rule."""

import math
from datetime import date, datetime

import pytest

from junkai import model
from junkai.beats import advised_months, beat_table

ADDRESS = dict(postal_code="0300861", prefecture="青森県", city="青森市", town="長島", block="1-1-1",
               building=None, room=None)


@pytest.mark.parametrize("rate,months", [(0, 60), (1, 60), (5, 24), (10, 12), (20, 6), (50, 2), (500, 1)])
def test_advice_is_the_time_in_which_a_tenth_of_cards_go_stale(rate, months):
    assert advised_months(rate, 0.10) == months
    # the rule itself: the advised months never exceed the exact time, and the next step would
    exact = 12 * -math.log(0.9) / (rate / 100) if rate else math.inf
    assert months <= max(exact, 1)


def test_turnover_counts_arrivals_departures_and_new_and_ceased_premises(store):
    with store.transaction():
        store.add_station("S01", "青森警察署")
        store.add_post("S01-P01", "S01", "長島交番", "交番")
        store.add_beat("S01-P01-B1", "S01-P01", "第1受持区")
        store.set_frequency("S01-P01-B1", 12, date(2020, 1, 1), "署長", datetime(2020, 1, 1))
        old = [store.add_premises(model.HOUSEHOLD, "S01-P01-B1", ADDRESS, datetime(2020, 1, 1), "op")
               for _ in range(8)]
        for pid in old:
            store.change_card(pid, [("members.1", {"name": "佐藤 太郎", "relation": "世帯主"}),
                                    ("members.2", {"name": "佐藤 花子", "relation": "配偶者"})],
                              datetime(2020, 2, 1), "seed", "op")
        # within the last three years: a baby, a member leaving, a premises ceasing, two new premises
        store.change_card(old[0], [("members.3", {"name": "佐藤 蓮", "relation": "子"})], datetime(2025, 5, 1), "s", "op")
        store.change_card(old[1], [("members.2", None)], datetime(2025, 6, 1), "s", "op")
        store.set_status(old[2], model.CEASED, datetime(2024, 6, 1), "s", "op")
        for _ in range(2):
            store.add_premises(model.HOUSEHOLD, "S01-P01-B1", ADDRESS, datetime(2025, 1, 1), "op")
        # before the window: not counted
        store.change_card(old[3], [("members.2", None)], datetime(2021, 6, 1), "s", "op")
    df = beat_table(store, date(2026, 11, 20), None, 3, 0.10).set_index("beat_id").loc["S01-P01-B1"]
    assert (df.members_in, df.members_out, df.premises_out, df.premises_in, df.premises) == (1, 1, 1, 2, 10)
    assert df.turnover == round(5 / 10 / 3 * 100, 1)
    assert df.advised_months == advised_months(df.turnover, 0.10)
    assert df.months == 12
