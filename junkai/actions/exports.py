"""Personal data written out: the store's tables, the amendments, the overdue lists (第6-1). Each
is audited with the beat, post or station it covered (HQ counts each station's exports, 第7)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from junkai import JunkaiError
from junkai.actions import Context, allow

if TYPE_CHECKING:  # pandas costs a second at start-up; only the hints name it here
    import pandas as pd

Scope = tuple[str, str] | None


def export(ctx: Context, what: str, fmt: str, out_path: Path, scope: Scope = None,
           on_rows: Callable[[int, int], None] | None = None) -> int:
    """Write a table (premises, cards, visits, opinions, events) as CSV or JSON; returns its rows.
    `on_rows(done, total)` follows the rows written."""
    from junkai.export import write_export

    if not out_path.parent.is_dir():
        raise JunkaiError(f"出力先のフォルダがありません: {out_path.parent}")
    allow(ctx, "export", scope)
    with ctx.store.transaction():
        rows = write_export(ctx.store, what, fmt, out_path, scope, on_rows)
        ctx.store.audit_export(ctx.operator, what, scope, format=fmt, rows=rows, path=str(out_path))
    return rows


def amendments(ctx: Context, since: date | None = None, beat: str | None = None) -> pd.DataFrame:
    """The cards' changes with their source (the page read, the review, a member of staff)."""
    scope = ("beat", beat) if beat else None
    allow(ctx, "export", scope)
    with ctx.store.transaction():
        df = ctx.store.amendments(since, beat)
        ctx.store.audit_export(ctx.operator, "amendments", scope, since=since.isoformat() if since else None,
                               rows=len(df))
    return df


@dataclass
class Overdue:
    rows: pd.DataFrame
    text: str  # the CSV with the definitions at its head


def overdue(ctx: Context, as_of: date, scope: Scope = None, out_path: Path | None = None) -> Overdue:
    """The long-unvisited and long-unconfirmed premises (第6-1), largest excess first, with the
    definitions at the head; written to `out_path` (marked, with a BOM) when given."""
    from junkai.export import csv_text, marked_csv, write_text
    from junkai.lists import Definitions, overdue as compute

    allow(ctx, "export", scope)
    definitions = Definitions(ctx.settings.unconfirmed_multiplier)
    with ctx.store.transaction():
        df = compute(ctx.store, as_of, scope, definitions)
        lines = [f"# 基準日 {as_of}  範囲 {scope[0] + ' ' + scope[1] if scope else '全体'}  {len(df)} 戸"]
        lines += [f"# {line}" for line in definitions.lines()]
        text = "\n".join(lines) + "\n" + csv_text(df)
        if out_path is not None:
            write_text(out_path, marked_csv(text), bom=True)
        ctx.store.audit_export(ctx.operator, "overdue", scope, as_of=as_of.isoformat(), rows=len(df),
                               path=str(out_path) if out_path else "-")
    return Overdue(df, text)
