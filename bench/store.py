"""The store at prefecture scale: seed, then read one beat's cards and rebuild one card."""

from __future__ import annotations

import resource
import shutil
import statistics
import time
from datetime import date

from junkai.seed import seed
from junkai.store import Store

UNTIL = date(2026, 11, 20)


def _median_time(fn, repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def fresh_store(home) -> Store:
    """An empty, migrated SQLite store in `home`, whatever an earlier run left there."""
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    store = Store(f"sqlite:///{home / 'junkai.sqlite3'}")
    store.migrate()
    return store


def seed_store(args, workdir):
    home = workdir / "store"
    store = fresh_store(home)
    with store.transaction():
        result = seed(store, args.premises, 17, 1, UNTIL, "bench")
    (home / "premises.txt").write_text(str(args.premises))
    return store, result


def ensure_store(args, workdir) -> tuple[str, int]:
    """The seeded benchmark store of `--premises` premises, made by the store benchmark or now."""
    home = workdir / "store"
    marker = home / "premises.txt"
    if not (marker.exists() and marker.read_text() == str(args.premises)):
        seed_store(args, workdir)
    url = f"sqlite:///{home / 'junkai.sqlite3'}"
    Store(url).migrate()  # a store kept from an earlier run may predate the newest tables
    return url, args.premises


def run(args, workdir) -> dict:
    home = workdir / "store"
    t0 = time.perf_counter()
    store, result = seed_store(args, workdir)
    seed_s = time.perf_counter() - t0
    seed_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    with store.transaction():
        beats = store.summary().sort_values("premises")
        beat = beats.beat.iloc[len(beats) // 2]
        ids = store.premises_ids_of_beat(beat)
        # the card with the longest history
        busiest = max(ids, key=lambda pid: len(store.events(pid)))
        n_events = len(store.events(busiest))
        load_view = _median_time(lambda: store.cards_of_beat(beat))
        # baseline: the same cards rebuilt from their events one by one
        load_rebuild = _median_time(lambda: [store.card_at(pid) for pid in ids], repeat=1)
        rebuild_one = _median_time(lambda: store.card_at(busiest), repeat=20)
        rebuild_past = _median_time(lambda: store.card_at(busiest, date(2023, 1, 1)), repeat=20)
    size_mb = (home / "junkai.sqlite3").stat().st_size / 1e6
    return {
        "premises": result.premises,
        "visits": result.visits,
        "card_events": result.events,
        "seed_seconds": round(seed_s, 1),
        "seed_peak_rss_mb": round(seed_rss),
        "sqlite_file_mb": round(size_mb),
        "beat": beat,
        "beat_premises": len(ids),
        "load_beat_cards_seconds": round(load_view, 3),
        "load_beat_cards_by_rebuild_seconds": round(load_rebuild, 3),
        "view_speedup_vs_rebuild": round(load_rebuild / load_view, 1),
        "rebuild_one_card_ms": round(rebuild_one * 1000, 2),
        "rebuild_one_card_at_past_date_ms": round(rebuild_past * 1000, 2),
        "events_of_that_card": n_events,
    }
