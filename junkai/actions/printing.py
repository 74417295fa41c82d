"""Printing cards (第6-7) and the officers' visit lists with their pre-filled cards (第6-1): each
print batch is recorded with the card versions printed, and audited."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Callable

from junkai.actions import Context, allow

Scope = tuple[str, str] | None


@dataclass
class Printed:
    path: Path
    batch_id: str
    cards: int
    sheets: int
    pages: int


def print_cards(ctx: Context, out_dir: Path, premises_ids: list[int] | None = None, beat: str | None = None,
                blank: int = 0, blank_form: str = "household", kind: str | None = None, members: int = 0,
                on_card: Callable[[int, int], None] | None = None, lang: str | None = None) -> Printed:
    """One PDF of a beat's cards, some premises' cards, or blank cards for a beat. The cards are read in
    one transaction, the file written outside any (a long print holds no lock), and its record and
    final name appear together (junkai.printing.print_cards)."""
    from junkai import printing, qr

    ids = list(premises_ids or [])
    allow(ctx, "print", *([("beat", beat)] if beat else []), *[("premises", i) for i in ids])
    batch, final, pages = printing.print_cards(ctx.store, out_dir, qr.station_key(ctx.settings.home), on_card,
                                               premises_ids=ids, beat=beat, blank=blank, blank_form=blank_form,
                                               members=members, keep_years=ctx.settings.ceased_years,
                                               operator=ctx.operator, kind=kind, lang=lang)
    return Printed(final, batch.id, len(batch.jobs), batch.sheets, pages)


def visit_lists(ctx: Context, as_of: date, scope: Scope, out_dir: Path, path: Path | None = None):
    """Each officer's visit list in walking order with the pre-filled cards to carry (one PDF)."""
    from junkai import qr, visitlists
    from junkai.lists import Definitions

    allow(ctx, "print", scope)
    with ctx.store.transaction():
        return visitlists.write(ctx.store, as_of, scope, ctx.operator, out_dir, qr.station_key(ctx.settings.home),
                                Definitions(ctx.settings.unconfirmed_multiplier), path=path)
