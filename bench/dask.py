"""The ingest flow on the same 200-card batch (bench/ocr.py's set) with the thread runner and
with a 2-worker Dask LocalCluster, each into a fresh copy of the printed store.

Each run is timed from the flow's call to its return, after the temporary Prefect server
has started; the Dask run includes starting its cluster and each worker's first use of
the digit classifier, since a real run pays both. Both must end with the same pages.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path


def _fresh_home(src: Path, dest: Path) -> Path:
    """The printed store and its key, without anything an earlier ingest kept."""
    from junkai import qr

    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    shutil.copy2(src / "junkai.sqlite3", dest / "junkai.sqlite3")
    shutil.copy2(src / qr.KEY_FILE, dest / qr.KEY_FILE)
    return dest


def run(args, workdir: Path) -> dict:
    import os

    from bench.ocr import make_set
    from junkai import prefect_env

    workdir = Path(workdir)
    prefect_env.configure(workdir / "dask-prefect", quiet=True, find_server=False)
    home, scans = make_set(workdir, cards=getattr(args, "ocr_cards", 200))
    from prefect import flow

    from flows import common
    from flows import ingest as ingest_flow
    from junkai import settings
    from ocr import digits

    @flow
    def warm_up() -> None:  # starts the temporary server outside the timings
        digits.model()

    warm_up()
    files = sorted(p for p in scans.rglob("scan-*"))
    figures: dict = dict(files=len(files))
    results = {}
    for name in ("threads", "dask"):
        h = _fresh_home(home, workdir / f"dask-{name}-home")
        os.environ["JUNKAI_HOME"] = str(h)
        os.environ.pop("JUNKAI_DB_URL", None)
        s = settings.load()
        runner = common.task_runner(s) if name == "threads" else None
        if name == "dask":
            from prefect_dask import DaskTaskRunner

            runner = DaskTaskRunner(cluster_class="distributed.LocalCluster",
                                    cluster_kwargs=common.local_cluster(2))
        t0 = time.perf_counter()
        r = ingest_flow.run(files, "ベンチ", s, runner=runner)
        seconds = time.perf_counter() - t0
        results[name] = r
        cards = r["matched"] + r["states"].get("waiting", 0)
        figures[f"{name}_seconds"] = round(seconds, 1)
        figures[f"{name}_pages"] = r["pages"]
        figures[f"{name}_pages_per_minute"] = round(r["pages"] / seconds * 60, 1)
        figures[f"{name}_cards"] = cards
    figures["same_result"] = all(results["threads"][k] == results["dask"][k]
                                 for k in ("pages", "states", "applied", "review", "matched"))
    figures["dask_vs_threads"] = round(figures["dask_seconds"] / figures["threads_seconds"], 2)
    figures["workers"] = 2
    return figures
