"""Visits (巡回連絡簿): one at a time, a whole book from a CSV, and the prior approval of a night
visit (第6-3)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from junkai import JunkaiError
from junkai.actions import Context, allow


def _record(ctx: Context, values: dict, source: str) -> tuple[int, bool]:
    """Store one validated visit; returns its id and whether it is a night visit without prior approval
    (an approval recorded before the visit, for the same premises and officer)."""
    from junkai.visits import is_night

    s, store = ctx.settings, ctx.store
    night = is_night(values["visited_at"].time(), s.night_start, s.night_end)
    approval = store.night_approval_for(values["premises_id"], values["officer_id"], values["visited_at"]) \
        if night else None
    vid = store.add_visit(night=night, night_approval_id=approval, source=source, recorded_by=ctx.operator,
                          recorded_at=datetime.now(), **values)
    return vid, night and approval is None


def _exists(lookup, key) -> bool:
    try:
        lookup(key)
        return True
    except JunkaiError:
        return False


@dataclass
class Visit:
    id: int
    unapproved_night: bool


def add_visit(ctx: Context, premises: int, officer: str, at: str, outcome: str, guidance: str = "",
              notes: str | None = None) -> Visit:
    """Record one visit (`at` as written: 'YYYY-MM-DD HH:MM')."""
    from junkai.visits import validate

    allow(ctx, "card.change", ("premises", premises))
    store = ctx.store
    with store.transaction():
        values = validate(dict(premises_id=premises, officer_id=officer, visited_at=at, outcome=outcome,
                               guidance=guidance, notes=notes),
                          {premises} if _exists(store.premises, premises) else set(),
                          {officer} if _exists(store.officer, officer) else set(), datetime.now())
        vid, unapproved = _record(ctx, values, "operator")
        store.audit(ctx.operator, "visit.add", "visit", str(vid), premises_id=premises)
    return Visit(vid, unapproved)


def approve_night(ctx: Context, premises: int, officer: str, day: date, approver: str,
                  approved_at: str | None = None) -> int:
    """Record the prior approval of a night visit; returns its id. Visits before it stay unapproved."""
    from junkai.visits import parse_datetime

    when = parse_datetime(approved_at) if approved_at else datetime.now()
    if when > datetime.now():
        raise JunkaiError(f"承認した日時が未来です: {approved_at}")
    if not approver.strip():
        raise JunkaiError("承認者の氏名を指定してください")
    allow(ctx, "approve", ("premises", premises))
    with ctx.store.transaction():
        aid = ctx.store.add_night_approval(premises, officer, day, approver.strip(), when)
        ctx.store.audit(ctx.operator, "visit.approve_night", "night_approval", str(aid), premises_id=premises,
                        officer_id=officer, date=day.isoformat(), approver=approver)
    return aid


class BadRows(JunkaiError):
    """Some rows of the book are wrong, so nothing was imported; `bad` has (line, message) of each."""

    def __init__(self, message: str, bad: list[tuple[int, str]]):
        super().__init__(message)
        self.bad = bad


@dataclass
class Imported:
    visits: int
    unapproved_night: int
    bad: list[tuple[int, str]] = field(default_factory=list)  # (line, message) of the rows skipped


def import_visits(ctx: Context, path: Path, skip_bad: bool = False) -> Imported:
    """A 巡回連絡簿 CSV: every row is checked first; with a wrong row nothing is imported (BadRows),
    unless `skip_bad`. A visit already recorded is a wrong row (a duplicate)."""
    from junkai.visits import read_csv, validate

    rows = read_csv(path)
    store = ctx.store
    with store.transaction():
        known = store.premises_id_set()
    # every premises named in the file must be in the operator's scope; unknown ids are the rows' errors
    ids = {int(v["premises_id"]) for _, v in rows if str(v.get("premises_id", "")).strip().isdecimal()}
    allow(ctx, "card.change", *[("premises", i) for i in sorted(ids & known)])
    now = datetime.now()
    with store.transaction():
        premises_ids, officer_ids = store.premises_id_set(), store.officer_id_set()
        good, bad, seen = [], [], set()
        for line, values in rows:
            try:
                v = validate(values, premises_ids, officer_ids, now)
            except JunkaiError as exc:
                bad.append((line, str(exc)))
                continue
            key = (v["premises_id"], v["officer_id"], v["visited_at"], v["outcome"])
            if key in seen or store.visit_exists(*key):
                bad.append((line, "同じ訪問がすでに記録されています (重複)"))
                continue
            seen.add(key)
            good.append(v)
        if bad and not skip_bad:
            raise BadRows(f"{len(bad)} 行に誤りがあるため、何も取り込みませんでした (--skip-bad で残りを取り込めます)",
                          bad)
        unapproved = sum(_record(ctx, v, f"import:{path.name}")[1] for v in good)
        store.audit(ctx.operator, "visit.import", "visit", None, file=path.name, rows=len(good), skipped=len(bad))
    return Imported(len(good), unapproved, bad)
