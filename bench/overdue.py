"""Long-unvisited / long-unconfirmed lists for the whole prefecture, as of one day.

Target: under 30 s and under 2 GB peak memory. The computation runs in a fresh
process so that its peak memory is its own. The baseline is the obvious loop of
queries per premises, timed on a sample and scaled to the whole store.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time
from datetime import date, datetime, time as dtime

from dateutil.relativedelta import relativedelta

from bench.store import UNTIL, ensure_store
from junkai import model
from junkai.store import Store

SAMPLE = 2000


def child(url: str, as_of: str) -> None:
    import resource

    from junkai.lists import overdue

    t0 = time.perf_counter()
    df = overdue(Store(url), date.fromisoformat(as_of))
    seconds = time.perf_counter() - t0
    print(json.dumps(dict(seconds=seconds, rows=len(df), peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)))


def per_premises(store: Store, pid: int, as_of: date) -> bool:
    """The obvious way: a handful of queries for one premises."""
    end = datetime.combine(as_of, dtime.max)
    p = store.premises(pid)
    events = store.events(pid, as_of)
    statuses = [e for e in events if e["path"] == model.STATUS]
    if p["created_at"] > end or (statuses and statuses[-1]["after"] == model.CEASED):
        return False
    months = store.frequency_at(p["beat_id"], as_of)
    met = [v["visited_at"] for v in store.visits(pid) if v["outcome"] in model.MET_OUTCOMES and v["visited_at"] <= end]
    kept = [e["at"] for e in events if e["path"] != model.STATUS]
    unvisited = not met or as_of > max(met).date() + relativedelta(months=months)
    unconfirmed = not kept or as_of > max(kept).date() + relativedelta(months=2 * months)
    return unvisited or unconfirmed


def run(args, workdir) -> dict:
    url, n = ensure_store(args, workdir)
    r = subprocess.run([sys.executable, "-c", f"from bench.overdue import child; child({url!r}, {UNTIL.isoformat()!r})"],
                       capture_output=True, text=True)
    if r.returncode:
        raise RuntimeError(f"the overdue computation failed:\n{r.stderr}")
    fast = json.loads(r.stdout.strip().splitlines()[-1])
    store = Store(url)
    with store.transaction():
        ids = sorted(store.premises_id_set())
        sample = random.Random(1).sample(ids, min(SAMPLE, len(ids)))
        t0 = time.perf_counter()
        for pid in sample:
            per_premises(store, pid, UNTIL)
        loop = (time.perf_counter() - t0) * len(ids) / len(sample)
    with store.transaction():
        visits = store.visit_count()
    return {
        "premises": n,
        "visits": visits,
        "as_of": UNTIL.isoformat(),
        "listed_premises": fast["rows"],
        "seconds": round(fast["seconds"], 1),
        "peak_rss_mb": round(fast["peak_rss_mb"]),
        "per_premises_loop_seconds_extrapolated": round(loop, 1),
        "per_premises_loop_sample": len(sample),
        "speedup_vs_loop": round(loop / fast["seconds"], 1),
        "target": "< 30 s, < 2048 MB",
    }
