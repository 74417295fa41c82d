"""Frequency advice for the chief (第6-2): "an appropriate frequency according to how
residents change". Turnover is measured from the history; the advice is the time in
which an expected share of cards goes stale.

Rule: with r changes per premises per year (premises appearing or ceasing, members
coming or leaving), and changes arriving at random, the share of cards still right
after t years is exp(-r t). The advised frequency is the t at which the stale share
reaches `stale_share` (10% by default): t = -ln(1 - stale_share) / r, rounded down to
a customary step and kept between 1 and 60 months.
"""

from __future__ import annotations

import math
from datetime import date

import pandas as pd
from dateutil.relativedelta import relativedelta

from junkai.store import Store

STEPS = (1, 2, 3, 4, 6, 9, 12, 18, 24, 36, 48, 60)


def advised_months(changes_per_100_per_year: float, stale_share: float) -> int:
    r = changes_per_100_per_year / 100
    if r <= 0:
        return STEPS[-1]
    months = 12 * -math.log(1 - stale_share) / r
    return max([s for s in STEPS if s <= months], default=STEPS[0])


def beat_table(store: Store, as_of: date, station_id: str | None, years: int, stale_share: float) -> pd.DataFrame:
    """Each beat with its frequency in force, its turnover and the advised frequency."""
    with store.transaction():
        beats = store.beats_frame(as_of, station_id)
        counts = store.turnover_counts(as_of - relativedelta(years=years), as_of, station_id)
    df = beats.merge(counts, on="beat_id", how="left").fillna(
        {"premises": 0, "premises_in": 0, "premises_out": 0, "members_in": 0, "members_out": 0})
    changes = df.premises_in + df.premises_out + df.members_in + df.members_out
    df["turnover"] = (changes / df.premises.where(df.premises > 0) / years * 100).round(1)
    df["advised_months"] = [None if pd.isna(t) else advised_months(t, stale_share) for t in df.turnover]
    return df
