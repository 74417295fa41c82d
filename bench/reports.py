"""The reports at prefecture scale: the chief's monthly report for a station of about
40,000 premises, and the HQ report for the whole 600,000-premises store.

Target: each under 20 s. Each report is written in a fresh process, timed from the call
(imports done first and timed apart), so that its peak memory is its own.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import datetime, time as dtime

from bench.store import UNTIL, ensure_store
from junkai.store import Store

STATION_SIZE = 40_000


def child(url: str, which: str, station: str, out_dir: str) -> None:
    import resource
    from pathlib import Path

    t0 = time.perf_counter()
    from junkai import charts, reports

    charts._pyplot()
    import weasyprint  # noqa: F401

    imports = time.perf_counter() - t0
    store = Store(url)
    now = datetime.combine(UNTIL, dtime(22, 0))
    month = reports.period(f"{UNTIL:%Y-%m}")
    t0 = time.perf_counter()
    if which == "chief":
        path = reports.chief(store, station, month.start, month.end, Path(out_dir), "bench", now=now)
    else:
        path = reports.hq(store, month.start, month.end, Path(out_dir), "bench", now=now)
    seconds = time.perf_counter() - t0
    import pdfplumber

    with pdfplumber.open(path) as pdf:
        pages = len(pdf.pages)
    print(json.dumps(dict(seconds=seconds, imports=imports, pages=pages, bytes=path.stat().st_size,
                          peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)))


def _run(url: str, which: str, station: str, out_dir: str) -> dict:
    r = subprocess.run([sys.executable, "-c", f"from bench.reports import child; "
                        f"child({url!r}, {which!r}, {station!r}, {out_dir!r})"], capture_output=True, text=True)
    if r.returncode:
        raise RuntimeError(f"the {which} report failed:\n{r.stderr}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def run(args, workdir) -> dict:
    url, n = ensure_store(args, workdir)
    store = Store(url)
    with store.transaction():
        sizes = store.premises_per_station()
        names = store.station_names()
    chosen = min(sizes, key=lambda s: abs(sizes[s] - STATION_SIZE))
    out_dir = str(workdir / "reports")
    chief = _run(url, "chief", chosen, out_dir)
    hq = _run(url, "hq", "", out_dir)
    return {
        "premises": n,
        "month": f"{UNTIL:%Y-%m}",
        "chief_station": f"{chosen} {names[chosen]}",
        "chief_station_premises": sizes[chosen],
        "chief_seconds": round(chief["seconds"], 1),
        "chief_pages": chief["pages"],
        "chief_peak_rss_mb": round(chief["peak_rss_mb"]),
        "hq_seconds": round(hq["seconds"], 1),
        "hq_pages": hq["pages"],
        "hq_peak_rss_mb": round(hq["peak_rss_mb"]),
        "imports_seconds": round(hq["imports"], 1),
        "target": "each < 20 s",
    }
