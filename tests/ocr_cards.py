"""Printed cards for the reader and simulator tests, made once per test run through
the real commands (seed, print) in a throw-away data folder."""

from __future__ import annotations

import functools
import os
import subprocess
import sys
import tempfile
from pathlib import Path

BEAT = "S01-P01-B1"


def _junkai(home: Path, *args: str) -> str:
    env = dict(os.environ, JUNKAI_HOME=str(home))
    env.pop("JUNKAI_DB_URL", None)
    env.pop("JUNKAI_CONFIG", None)
    r = subprocess.run([str(Path(sys.executable).parent / "junkai"), *args], env=env, capture_output=True,
                       text=True, cwd=home.parent)
    assert r.returncode == 0, r.stderr
    return r.stdout


@functools.cache
def printed() -> tuple[Path, Path, Path]:
    """(data folder, PDF of a beat's pre-filled cards, PDF of blank cards)."""
    root = Path(tempfile.mkdtemp(prefix="junkai-ocr-"))
    home = root / "home"
    _junkai(home, "seed", "--premises", "24", "--stations", "1", "--seed", "5")
    out = root / "print"
    cards = Path(_junkai(home, "print", "cards", "--beat", BEAT, "--out-dir", str(out)).strip().splitlines()[-1])
    blank = Path(_junkai(home, "print", "cards", "--blank", "2", "--beat", BEAT, "--type", "business",
                         "--out-dir", str(out)).strip().splitlines()[-1])
    return home, cards, blank


@functools.cache
def printed_v1() -> Path:
    """A PDF of the same beat's pre-filled cards in layout version 1, printed while it was the newest:
    such cards stay out with residents for years and are read by their own layout."""
    from junkai import form as F, printing, qr
    from junkai.store import Store

    home, _, _ = printed()
    store = Store(f"sqlite:///{home / 'junkai.sqlite3'}", home)
    real = dict(F._PUBLISHED)
    F._PUBLISHED.clear()
    F._PUBLISHED[1] = real[1]
    path = home.parent / "print" / "cards-v1.pdf"
    try:
        with store.transaction():
            batch = printing.plan(store, beat=BEAT, operator="試験")
            with open(path, "wb") as fh:
                printing.write(batch, fh, qr.station_key(home))
            printing.record(store, batch, path)
    finally:
        F._PUBLISHED.clear()
        F._PUBLISHED.update(real)
        store.close()
    return path
