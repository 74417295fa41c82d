"""Exports of the store as files a person or another program can open."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Callable

import pandas as pd

from junkai import JunkaiError
from junkai.files import CLASSIFICATION, CSV_MARK, write_private
from junkai.store import Store, loads


# Several ticks of one field (visit days, security) in one CSV cell: a sign no choice's label holds
# (labels hold 「・」, as 日曜・祝日), so that the cell splits back into exactly the ticks.
SEPARATOR = "|"
CARDS_NOTES = [f"複数選択の欄 (訪問希望曜日など) は「{SEPARATOR}」で区切っています (例: 平日{SEPARATOR}日曜・祝日)。",
               "members.<番号>・contacts.<番号> の番号はカードの中で人ごとに変わらない番号です "
               "(削除した人の番号は再使用しないので、欠番があります)。"]


def cards_frame(store: Store, scope: tuple[str, str] | None = None, joined: bool = True) -> pd.DataFrame:
    """One row per card; members and contacts flattened to columns by their stable keys
    (members.3.name is the same person in every export, whoever was removed before them). `joined`:
    several ticks of a field in one cell, separated by SEPARATOR (a CSV); else kept as lists."""
    df = store.frame("cards", scope)
    if df.empty:
        return df.drop(columns=["data"])
    flat = pd.json_normalize([loads(d) for d in df["data"]], sep=".")
    flat = flat[sorted(flat.columns, key=_column_order)]
    if joined:
        for col in flat.columns:
            if flat[col].map(lambda v: isinstance(v, list)).any():
                flat[col] = flat[col].map(lambda v: SEPARATOR.join(v) if isinstance(v, list) else v)
    return pd.concat([df.drop(columns=["data"]).reset_index(drop=True), flat], axis=1)


def _column_order(col: str) -> tuple:
    parts = col.split(".")
    key = parts[1] if len(parts) > 1 else ""
    return (len(parts) > 1, parts[0], int(key) if key.isdigit() else 0, col)


def frame(store: Store, what: str, scope: tuple[str, str] | None = None, joined: bool = True) -> pd.DataFrame:
    """A table for export; with a scope (beat, post or station), only the rows of its premises."""
    return cards_frame(store, scope, joined) if what == "cards" else store.frame(what, scope)


CHUNK_ROWS = 2000  # rows made into text at a time, so that a progress bar can count them


def write_export(store: Store, what: str, fmt: str, path: Path, scope: tuple[str, str] | None = None,
                 on_rows: Callable[[int, int], None] | None = None) -> int:
    """Write the table; `on_rows(done, total)` is told the rows made into text so far."""
    df = frame(store, what, scope, joined=fmt == "csv")
    total = len(df)
    on_rows = on_rows or (lambda done, total: None)
    on_rows(0, total)
    parts: list = []
    for start in range(0, total or 1, CHUNK_ROWS):  # an empty table still gets its heading
        chunk = df.iloc[start:start + CHUNK_ROWS]
        if fmt == "csv":
            parts.append(csv_text(chunk, header=start == 0))
        else:
            parts.extend({k: _plain(v) for k, v in row.items()} for row in chunk.to_dict("records"))
        on_rows(min(start + CHUNK_ROWS, total), total)
    if fmt == "csv":
        write_text(path, marked_csv("".join(parts), mark_notes=CARDS_NOTES if what == "cards" else []), bom=True)
    else:
        write_text(path, marked_json(what, parts), bom=False)
    return total


# What makes a spreadsheet take a cell for a formula (OWASP, CSV injection): =HYPERLINK(...) in an
# opinion would run when the file is opened.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def defused(value):
    """A text cell that a spreadsheet would run, as plain text: a single quote before it (OWASP's rule).
    A phone written +81... or a text -3 gets the quote too; numbers of numeric columns stay numbers."""
    if not isinstance(value, str):
        return value
    if value.startswith(FORMULA_START):
        value = "'" + value
    # a lone CR is not quoted by the CSV writer (its line end is LF) yet ends the row in a spreadsheet,
    # so that what follows it would begin a cell of its own: a line break inside a cell is written LF
    return value.replace("\r\n", "\n").replace("\r", "\n")


def csv_text(df: pd.DataFrame, header: bool = True) -> str:
    """The table as CSV text, every text cell and heading defused: every CSV junkai writes goes through here."""
    safe = df.copy()
    for col in safe.columns:
        if not pd.api.types.is_numeric_dtype(safe[col]) and not pd.api.types.is_datetime64_any_dtype(safe[col]):
            safe[col] = safe[col].map(defused)
    safe.columns = [defused(str(c)) for c in safe.columns]
    return safe.to_csv(index=False, header=header)


def marked_csv(text: str, notes: list[str] = (), mark_notes: list[str] = ()) -> str:
    """CSV with the 取扱注意 line first (with `mark_notes` on it: notes that keep the heading on the
    second line, as readers skip one line), then any notes as comment lines, then the table."""
    return "\n".join([" ".join([CSV_MARK, *mark_notes]), *(f"# {n}" for n in notes)]) + "\n" + text


def marked_json(what: str, records: list[dict]) -> str:
    """JSON cannot hold a comment: the rows go inside an object that names the marking."""
    return json.dumps({"classification": CLASSIFICATION, "what": what, "rows": records}, ensure_ascii=False, indent=1)


def write_text(path: Path, text: str, bom: bool) -> None:
    """Write atomically (a temporary file renamed into place), readable by the owner only.

    CSV gets a BOM: spreadsheet programs read UTF-8 only with it.
    """
    if not path.parent.is_dir():
        raise JunkaiError(f"出力先のフォルダがありません: {path.parent}")
    write_private(path, text.encode("utf-8-sig" if bom else "utf-8"))


def _plain(v):
    if v is None or (isinstance(v, float) and pd.isna(v)):
        return None
    if isinstance(v, (pd.Timestamp, datetime, date)):
        return v.isoformat()
    if hasattr(v, "item"):
        return v.item()
    return v
