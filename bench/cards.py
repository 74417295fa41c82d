"""Printing pre-filled cards: pages per second for a 1,000-card batch, and peak memory.

A station of 4,000 premises is seeded (three beats of about 1,300). Batches of
250 and 1,000 pre-filled cards are printed with `junkai print cards --premises ...`,
each in a fresh process as an officer would run it; the process reports its own time
and peak memory. Two sizes show whether memory grows with the batch.

Target: at least 30 pages/s on this 2-core machine, memory flat in the batch size.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

SEED_PREMISES = 4000
BATCHES = (250, 1000)
UNTIL = date(2026, 11, 20)


def _child(home: Path, ids_file: Path, out_dir: Path) -> None:
    """Run one print as the command does, and report time and memory of this process."""
    import os

    os.environ["JUNKAI_HOME"] = str(home)
    t0 = time.perf_counter()
    from junkai import render
    from junkai.cli import app

    imported = time.perf_counter() - t0
    weasy = []
    original = render.render

    def timed(*a, **kw):
        t = time.perf_counter()
        try:
            return original(*a, **kw)
        finally:
            weasy.append(time.perf_counter() - t)

    render.render = timed
    t1 = time.perf_counter()
    try:
        app(["print", "cards", "--premises", ids_file.read_text().strip(), "--out-dir", str(out_dir)],
            standalone_mode=False)
    finally:
        render.render = original
    seconds = time.perf_counter() - t1
    print(json.dumps(dict(seconds=seconds, import_seconds=imported, weasyprint_seconds=sum(weasy),
                          peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)))


def run(args, workdir) -> dict:
    from bench.store import fresh_store
    from junkai.seed import seed

    home = workdir / "cards"
    store = fresh_store(home)
    with store.transaction():
        seed(store, SEED_PREMISES, 1, 1, UNTIL, "bench")
        beats = store.summary().sort_values("premises", ascending=False)
        beat = beats.beat.iloc[0]
        cards = [c for c in store.cards_of_beat(beat) if c.version and c.premises["status"] == "active"]
    store.close()
    figures: dict = dict(seeded_premises=SEED_PREMISES, beat=beat)
    for n in BATCHES:
        if len(cards) < n:
            raise RuntimeError(f"only {len(cards)} cards in beat {beat}")
        ids_file = home / f"ids-{n}.txt"
        ids_file.write_text(",".join(str(c.premises["id"]) for c in cards[:n]))
        out_dir = home / f"out-{n}"
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "bench.cards", str(home), str(ids_file), str(out_dir)],
                              capture_output=True, text=True, cwd=Path(__file__).resolve().parent.parent)
        wall = time.perf_counter() - t0
        if proc.returncode != 0:
            raise RuntimeError(proc.stderr[-2000:])
        child = json.loads(proc.stdout.strip().splitlines()[-1])
        pdf = next(out_dir.glob("*.pdf"))
        pages = _pages(pdf)
        sheets = _sheets(home, pdf)
        figures.update({
            f"batch_{n}_cards": n,
            f"batch_{n}_card_pages": sheets,
            f"batch_{n}_pdf_pages": pages,
            f"batch_{n}_pdf_mb": round(pdf.stat().st_size / 1e6, 1),
            f"batch_{n}_seconds": round(child["seconds"], 1),
            f"batch_{n}_weasyprint_seconds": round(child["weasyprint_seconds"], 1),
            f"batch_{n}_process_wall_seconds": round(wall, 1),
            f"batch_{n}_card_pages_per_second": round(sheets / child["seconds"], 1),
            f"batch_{n}_card_pages_per_second_whole_process": round(sheets / wall, 1),
            f"batch_{n}_peak_rss_mb": round(child["peak_rss_mb"]),
        })
    small, large = BATCHES
    figures["peak_rss_growth_mb_per_1000_pages"] = round(
        (figures[f"batch_{large}_peak_rss_mb"] - figures[f"batch_{small}_peak_rss_mb"])
        / (figures[f"batch_{large}_card_pages"] - figures[f"batch_{small}_card_pages"]) * 1000, 1)
    figures["target"] = ">= 30 card pages/s for 1,000 cards on 2 cores; memory flat in batch size"
    return figures


def _sheets(home: Path, pdf: Path) -> int:
    """Card pages of the batch written to `pdf`, as the print record has them (the rest is the cover)."""
    from junkai.store import Store

    store = Store(f"sqlite:///{home / 'junkai.sqlite3'}")
    try:
        with store.transaction():
            return store.printed_sheets(str(pdf))
    finally:
        store.close()


def _pages(pdf: Path) -> int:
    import pypdfium2

    doc = pypdfium2.PdfDocument(str(pdf))
    try:
        return len(doc)
    finally:
        doc.close()


if __name__ == "__main__":
    _child(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]))
