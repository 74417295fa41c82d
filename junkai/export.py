"""Exports of the store as files a person or another program can open."""

from __future__ import annotations

import json
import os
import tempfile
from datetime import date, datetime
from pathlib import Path

import pandas as pd

from junkai import JunkaiError
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
    df = frame(store, what)
    if fmt == "csv":
        write_text(path, df.to_csv(index=False), bom=True)
    else:
        records = [{k: _plain(v) for k, v in row.items()} for row in df.to_dict("records")]
        write_text(path, json.dumps(records, ensure_ascii=False, indent=1), bom=False)
    return len(df)


def write_text(path: Path, text: str, bom: bool) -> None:
    """Write atomically (a temporary file renamed into place), readable by the owner only.

    CSV gets a BOM: spreadsheet programs read UTF-8 only with it.
    """
    if not path.parent.is_dir():
        raise JunkaiError(f"出力先のフォルダがありません: {path.parent}")
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8-sig" if bom else "utf-8", newline="") as fh:
            fh.write(text)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _plain(v):
    if v is None or (isinstance(v, float) and pd.isna(v)):
        return None
    if isinstance(v, (pd.Timestamp, datetime, date)):
        return v.isoformat()
    if hasattr(v, "item"):
        return v.item()
    return v
