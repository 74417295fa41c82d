"""Exports of the store as files a person or another program can open."""

from __future__ import annotations

import json
import os
import tempfile
from datetime import date, datetime
from pathlib import Path

import pandas as pd

from junkai.store import Store, loads


def cards_frame(store: Store) -> pd.DataFrame:
    """One row per card; members and contacts flattened to numbered columns (members.1.name ...)."""
    df = store.frame("cards")
    if df.empty:
        return df.drop(columns=["data"])
    flat = pd.json_normalize([_renumber(loads(d)) for d in df["data"]], sep=".")
    flat = flat[sorted(flat.columns, key=_column_order)]
    for col in flat.columns:
        if flat[col].map(lambda v: isinstance(v, list)).any():
            flat[col] = flat[col].map(lambda v: "・".join(v) if isinstance(v, list) else v)
    return pd.concat([df.drop(columns=["data"]).reset_index(drop=True), flat], axis=1)


def _renumber(card: dict) -> dict:
    # keys are stable ids, not positions; a spreadsheet wants 1..n
    return {k: ({str(i + 1): row for i, row in enumerate(v.values())} if isinstance(v, dict) else v)
            for k, v in card.items()}


def _column_order(col: str) -> tuple:
    parts = col.split(".")
    return (len(parts) > 1, parts[0], int(parts[1]) if len(parts) > 1 else 0, col)


def frame(store: Store, what: str) -> pd.DataFrame:
    return cards_frame(store) if what == "cards" else store.frame(what)


def write_export(store: Store, what: str, fmt: str, path: Path) -> int:
    """Write atomically (a temporary file renamed into place), readable by the owner only."""
    df = frame(store, what)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8-sig" if fmt == "csv" else "utf-8", newline="") as fh:
            if fmt == "csv":
                df.to_csv(fh, index=False)
            else:
                records = [{k: _plain(v) for k, v in row.items()} for row in df.to_dict("records")]
                json.dump(records, fh, ensure_ascii=False, indent=1)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return len(df)


def _plain(v):
    if v is None or (isinstance(v, float) and pd.isna(v)):
        return None
    if isinstance(v, (pd.Timestamp, datetime, date)):
        return v.isoformat()
    if hasattr(v, "item"):
        return v.item()
    return v
