"""Visit lists for beat officers (第6-1): the overdue premises of each officer in walking
order, followed by their pre-filled cards for re-verification (第6-7(3)), as one PDF."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import pandas as pd

from junkai import JunkaiError, files, model, printing, render, wareki
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


def _wareki(v) -> str:
    return wareki.wareki_text(v) if _text(v) else ""


# 要配慮 ticks as the officer reads them at a glance, in the model's order
SUPPORT_SHORT = dict(zip(model.SUPPORT, ("ひとり暮らし", "75歳以上のみ", "手助けが必要", "安否確認希望")))


def _support(card) -> str:
    """The household's 要配慮 ticks in brief: 要配慮: ひとり暮らし・75歳以上のみ; empty when none."""
    ticks = [SUPPORT_SHORT[t] for t in card.data.get("support") or [] if t in SUPPORT_SHORT]
    return "要配慮: " + "・".join(ticks) if ticks else ""


def _head(card) -> str:
    """The head of household (世帯主) or, for a business, its representative, as the card holds them."""
    data = card.data
    if card.premises["kind"] == model.BUSINESS:
        return data.get("representative") or data.get("business_name") or ""
    members = data.get("members", {})
    heads = [m.get("name") for m in members.values() if m.get("relation") == "世帯主" and m.get("name")]
    return heads[0] if heads else ""


def _absences(visits: list[dict]) -> int:
    """Visits that found no one (不在) since the last one that met a resident."""
    n = 0
    for v in visits:
        n = 0 if v["outcome"] in model.MET_OUTCOMES else n + (v["outcome"] == "不在")
    return n


def _rows(store: Store, df: pd.DataFrame, premises: list[dict]) -> list[dict]:
    by_id = df.set_index("premises_id")
    rows = []
    for p in premises:
        r = by_id.loc[p["id"]]
        card = store.card(p["id"])
        tags = []
        if pd.notna(r.campaign_id):
            tags.append(dict(text=f"{CAMPAIGN}{int(r.campaign_id)}", cls="camp"))
        for cat in (LONG_UNVISITED, LONG_UNCONFIRMED):
            if cat in r.category:
                tags.append(dict(text=cat, cls=""))
        if r.refusals:
            tags.append(dict(text=f"拒否 {r.refusals} 回 (最後 {_wareki(r.last_refusal)})", cls="refused"))
        if p["kind"] == model.HOUSEHOLD:
            days, times = ("、".join(card.data.get(k) or []) for k in ("visit_days", "visit_times"))
        else:  # a business has no preference boxes: its closed days and hours say when to call
            closed = _text(card.data.get("closed_days"))
            days, times = (f"休業 {closed}" if closed else ""), _text(card.data.get("business_hours"))
        place = " ".join(x for x in (p.get("building"), p.get("room")) if x)
        rows.append(dict(premises_id=p["id"], town=f"{p['city']}{p['town']}", block=p["block"], place=place,
                         kind=r.kind, tags=tags, campaign=pd.notna(r.campaign_id), head=_head(card),
                         support=_support(card) if p["kind"] == model.HOUSEHOLD else "",
                         days=days, times=times, absences=_absences(store.visits(p["id"])),
                         last_visit=_wareki(r.last_visit) or "なし",
                         last_confirmed=_wareki(r.last_confirmed) or "カードなし", days_overdue=int(r.days_overdue)))
    return rows


def _sections(rows: list[dict]) -> list[dict]:
    """Campaign premises first (第4-3), then the rest; each part in walking order under its towns' headings."""
    out = []
    for title, part in (("重点巡回連絡の対象 (先に訪問)", [r for r in rows if r["campaign"]]),
                        ("長期不実施・長期未把握", [r for r in rows if not r["campaign"]])):
        if not part:
            continue
        towns: list[dict] = []
        for r in part:
            if not towns or towns[-1]["town"] != r["town"]:
                towns.append(dict(town=r["town"], rows=[]))
            towns[-1]["rows"].append(r)
        out.append(dict(title=title, towns=towns))
    return out


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
                sections = _sections(_rows(store, group, premises))
                rows = [r for s in sections for t in s["towns"] for r in t["rows"]]
                for i, r in enumerate(rows, 1):
                    r["order"] = i
                counts = dict(campaign=sum(r["campaign"] for r in rows),
                              unvisited=int(group.category.str.contains(LONG_UNVISITED).sum()),
                              unconfirmed=int(group.category.str.contains(LONG_UNCONFIRMED).sum()),
                              refused=int((group.refusals > 0).sum()))
                listing = render.document("visit_list.html.j2", dict(
                    officer=dict(id=officer_id, name=officers[officer_id]), scope_text=scope_text,
                    as_of=wareki.wareki_text(as_of), rows=rows, sections=sections, counts=counts,
                    definitions=definitions.lines(),
                    title_right=f"{scope_text} 基準日 {wareki.wareki_text(as_of)} 作成 {wareki.wareki_text(now.date())}"
                                f" {now:%H:%M}"))
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
