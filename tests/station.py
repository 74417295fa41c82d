"""One printed-and-scanned station, built once per test run and copied by each module that
changes it: a seeded store, one beat's pre-filled cards and two blank ones printed and
recorded, and every card filled in by simulated residents and scanned.

Building it takes seconds of seeding, printing and simulated scanning; a copy of its folder
(or, on PostgreSQL, a database made from it as a template) takes a fraction of one.
"""

from __future__ import annotations

import json
import shutil
import uuid
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from junkai import printing, qr
from junkai.seed import seed
from junkai.simulate import simulate
from junkai.store import Store

BEAT = "S01-P01-B1"
PREMISES, SEED = 45, 21
OPERATOR = "試験"


@dataclass(frozen=True)
class Station:
    root: Path        # everything below is inside it, so one copytree copies the station
    home: Path        # the data folder: store, station key
    cards_pdf: Path   # the beat's pre-filled cards
    blank_pdf: Path   # two blank household cards of the beat
    scans: Path       # a/ the returned pre-filled cards, b/ the returned blank ones, each with its truth.json
    as_of: date
    batches: tuple    # the print batches, to record them in another store of the same seed

    def copy(self, dest: Path) -> Station:
        """The whole station in `dest` (which must not exist): a module's own to change."""
        shutil.copytree(self.root, dest)
        return Station(*(dest / p.relative_to(self.root) for p in (self.root, self.home, self.cards_pdf,
                                                                    self.blank_pdf, self.scans)),
                       self.as_of, self.batches)

    def truth(self) -> dict:
        """What the residents wrote, by (print id, sheet), with the scan folder's name as "folder"."""
        out = {}
        for t in sorted(self.scans.glob("*/truth.json")):
            for p in json.loads(t.read_text(encoding="utf-8"))["pages"]:
                if p.get("print_id"):
                    out[(p["print_id"], p["sheet"])] = dict(p, folder=t.parent.name)
        return out


def sqlite_url(home: Path) -> str:
    return f"sqlite:///{home / 'junkai.sqlite3'}"


def _seeded(url: str, as_of: date, home: Path | None = None) -> Store:
    s = Store(url, home)  # home: where the audit key and head file live (that of a SQLite store by default)
    s.migrate()
    with s.transaction():
        seed(s, PREMISES, 1, SEED, as_of, OPERATOR)
    return s


def build(root: Path, as_of: date | None = None) -> Station:
    as_of = as_of or date.today()
    home, out, scans = root / "home", root / "print", root / "scans"
    store = _seeded(sqlite_url(home), as_of)
    key = qr.station_key(home)
    try:
        cards, cards_pdf, _ = printing.print_cards(store, out, key, beat=BEAT, operator=OPERATOR)
        blank, blank_pdf, _ = printing.print_cards(store, out, key, beat=BEAT, blank=2, operator=OPERATOR)
    finally:
        store.close()
    simulate(cards_pdf, scans / "a", SEED, key, today=as_of)
    simulate(blank_pdf, scans / "b", SEED + 1, key, today=as_of)
    return Station(root, home, cards_pdf, blank_pdf, scans, as_of, (cards, blank))


def on_postgresql(station: Station, server_url: str) -> str:
    """A database holding what the station's SQLite store holds after printing (the same seed,
    the same print batches); its name, to use as a template (no connection is left open)."""
    url = new_database(server_url)
    s = _seeded(url, station.as_of, station.root / "pg-home")  # its own audit key and head file
    try:
        with s.transaction():
            for batch, pdf in zip(station.batches, (station.cards_pdf, station.blank_pdf)):
                printing.record(s, batch, pdf)
    finally:
        s.close()
    return url.rsplit("/", 1)[1]


def _admin(server_url: str):
    import psycopg

    return psycopg.connect(server_url.replace("postgresql+psycopg", "postgresql") + "/postgres", autocommit=True)


def new_database(server_url: str, template: str | None = None) -> str:
    """An empty database, or a copy of `template` (CREATE DATABASE … TEMPLATE: a file copy, no replay)."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    with _admin(server_url) as conn:
        conn.execute(f"CREATE DATABASE {name}" + (f" TEMPLATE {template}" if template else ""))
    return f"{server_url}/{name}"


def first_cards(scans: Path, cards: int, dest: Path) -> list[dict]:
    """Copy into `dest` the first scan files of `scans` that hold at least `cards` cards; their pages."""
    pages = json.loads((scans / "truth.json").read_text(encoding="utf-8"))["pages"]
    files: list[str] = []
    for p in pages:
        if p["file"] not in files:
            if len({q["print_id"] for q in pages if q["file"] in files and q["kind"] == "card"}) >= cards:
                break
            files.append(p["file"])
    dest.mkdir(parents=True)
    for f in files:
        shutil.copy2(scans / f, dest / f)
    return [p for p in pages if p["file"] in files]
