"""Reports (PDF): to the chief (第4-6, 第6-5(2)), to HQ (第4-5, 第7), a complaint to HQ, and the
handover of a beat whose officer changed (第5-1, 第6-8). Each names residents or counts them, so
each is audited by the module that writes it, in the transaction that records it."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from junkai.actions import Context, allow


def _definitions(ctx: Context):
    from junkai.lists import Definitions

    return Definitions(ctx.settings.unconfirmed_multiplier)


def chief(ctx: Context, station: str, start: date, end: date, out_dir: Path) -> Path:
    from junkai import reports

    allow(ctx, "report.chief", ("station", station))
    s = ctx.settings
    with ctx.store.transaction():
        return reports.chief(ctx.store, station, start, end, out_dir, ctx.operator, definitions=_definitions(ctx),
                             turnover_years=s.turnover_years, stale_share=s.stale_share)


def hq(ctx: Context, start: date, end: date, out_dir: Path) -> Path:
    from junkai import reports

    allow(ctx, "report.hq")
    with ctx.store.transaction():
        return reports.hq(ctx.store, start, end, out_dir, ctx.operator, definitions=_definitions(ctx))


def complaint(ctx: Context, opinion_id: int, out_dir: Path) -> Path:
    """A complaint's page, which marks it reported to HQ (an earlier date stays)."""
    from junkai import reports

    allow(ctx, "report.complaint", ("opinion", opinion_id))
    with ctx.store.transaction():
        return reports.complaint(ctx.store, opinion_id, out_dir, ctx.operator)


def handover(ctx: Context, beat: str, as_of: date, out_dir: Path) -> Path:
    """The handover report of a beat with the new officer's visit list: a print of the beat's data."""
    from junkai import handover as handover_mod

    allow(ctx, "print", ("beat", beat))
    s = ctx.settings
    with ctx.store.transaction():
        return handover_mod.write(ctx.store, beat, as_of, ctx.operator, out_dir, _definitions(ctx),
                                  s.turnover_years, s.stale_share)
