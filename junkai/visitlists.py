"""Visit lists for beat officers (第6-1): the overdue premises of each officer in walking
order, followed by their pre-filled cards for re-verification (第6-7(3)), as one PDF."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import pandas as pd

from junkai import JunkaiError, files, model, printing, render
from junkai.lists import CAMPAIGN, LONG_UNCONFIRMED, LONG_UNVISITED, Definitions, overdue
from junkai.store import Store


@dataclass
class Written:
    path: Path
    officers: int
    premises: int
    pages: int
    batches: list[str]


def _text(v) -> str:
    return "" if v is None or (isinstance(v, float) and pd.isna(v)) or v is pd.NaT else str(v)


def _rows(df: pd.DataFrame, premises: list[dict]) -> list[dict]:
    by_id = df.set_index("premises_id")
    rows = []
    for p in premises:
        r = by_id.loc[p["id"]]
        tags = []
        if pd.notna(r.campaign_id):
            tags.append(dict(text=f"{CAMPAIGN}{int(r.campaign_id)}", cls="camp"))
        for cat in (LONG_UNVISITED, LONG_UNCONFIRMED):
            if cat in r.category:
                tags.append(dict(text=cat, cls=""))
        if r.refusals:
            tags.append(dict(text=f"拒否 {r.refusals} 回 (最後 {r.last_refusal})", cls="refused"))
        rows.append(dict(premises_id=p["id"], address=printing.address_text(p), kind=r.kind, tags=tags,
                         campaign=pd.notna(r.campaign_id), last_visit=_text(r.last_visit) or "なし",
                         last_confirmed=_text(r.last_confirmed) or "カードなし", days_overdue=int(r.days_overdue)))
    return rows


def write(store: Store, as_of: date, scope: tuple[str, str] | None, operator: str, out_dir: Path, key: bytes,
          definitions: Definitions = Definitions(), now: datetime | None = None, path: Path | None = None) -> Written:
    """One PDF: per officer, the visit list then the cards; each officer's cards are a recorded print batch."""
    import pypdfium2 as pdfium

    now = now or datetime.now()
    df = overdue(store, as_of, scope, definitions)
    if df.empty:
        raise JunkaiError(f"{as_of} 時点で訪問の必要な各戸はありません")
    out_dir.mkdir(parents=True, exist_ok=True)
    scope_text = f"{ {'beat': '受持区', 'post': '交番・駐在所', 'station': '警察署'}[scope[0]] } {scope[1]}" \
        if scope else "全体"
    name = f"visits-{scope[1] if scope else 'all'}-{as_of:%Y%m%d}-{now:%H%M%S}.pdf"
    final = path or out_dir / name
    out_dir = final.parent
    merged = pdfium.PdfDocument.new()
    parts: list[Path] = []
    batches, pages = [], 0
    try:
        with store.transaction():
            officers = dict(zip(df.officer_id.fillna("-"), df.officer.fillna("（未配置）")))
            for officer_id in sorted(officers):
                group = df[df.officer_id.fillna("-") == officer_id]
                premises = printing.walking_order([store.premises(int(i)) for i in group.premises_id])
                rows = _rows(group, premises)
                # campaign premises first (第4-3), each part in walking order
                rows = [r for r in rows if r["campaign"]] + [r for r in rows if not r["campaign"]]
                counts = dict(campaign=sum(r["campaign"] for r in rows),
                              unvisited=int(group.category.str.contains(LONG_UNVISITED).sum()),
                              unconfirmed=int(group.category.str.contains(LONG_UNCONFIRMED).sum()),
                              refused=int((group.refusals > 0).sum()))
                listing = render.document("visit_list.html.j2", dict(
                    officer=dict(id=officer_id, name=officers[officer_id]), scope_text=scope_text,
                    as_of=as_of.isoformat(), rows=rows, counts=counts, definitions=definitions.lines(),
                    title_right=f"{scope_text} {as_of} 作成 {now:%Y-%m-%d %H:%M}"))
                doc = pdfium.PdfDocument(listing)
                merged.import_pages(doc)
                ids = [r["premises_id"] for r in rows]
                batch = printing.plan(store, premises_ids=ids, operator=operator, now=now)
                tmp, _ = printing.write_file(batch, out_dir, key)
                parts.append(tmp)
                merged.import_pages(pdfium.PdfDocument(str(tmp)))
                printing.record(store, batch, final)
                batches.append(batch.id)
            pages = len(merged)
            tmp_final, _ = files.write_temp(out_dir, final.name, merged.save)
            parts.append(tmp_final)  # removed below unless renamed into place
            files.place(tmp_final, final)
            store.audit_export(operator, "visit_list", scope, as_of=as_of.isoformat(),
                               premises=len(df), path=str(final), batches=batches)
    finally:
        for p in parts:
            p.unlink(missing_ok=True)
    return Written(final, len(officers), len(df), pages, batches)
