"""What junkai does, one function per operation, whichever door asks: the command line, a
Prefect flow (started by a schedule, the UI or the API) or the review page.

Every operation that reads, prints, exports or changes personal data, or runs a batch, is
one function `x(ctx, ...)` in a module of this package. It asks `junkai.access.check` whether
the context's operator may do it on its targets (a refusal is audited and raises Refused),
does its work in one transaction and writes its one audit row. Actions return plain data
(dataclasses, dicts, DataFrames) and never print: the door shows what it returns.

    from junkai.actions import Context, cards
    with Context.open("地域課長 佐藤") as ctx:
        doc = cards.history(ctx, 12)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

from junkai import access
from junkai import settings as settings_mod
from junkai.store import Store


@dataclass(frozen=True)
class Context:
    """Who acts, on which store, under which settings. `notice` is where the door shows a warning
    (the store in setup mode); None shows nothing."""

    settings: settings_mod.Settings
    store: Store
    operator: str
    notice: Optional[Callable[[str], None]] = None

    @classmethod
    def open(cls, operator: str, settings: settings_mod.Settings | None = None, *, migrate: bool = False,
             ready: bool = True, notice: Callable[[str], None] | None = None) -> Context:
        """Load the settings (unless given) and open the store: brought up to date (`migrate`), checked
        to be initialised (`ready`, the default), or neither (an action that creates it)."""
        s = settings or settings_mod.load()
        store = Store(s.db_url, s.home)
        try:
            if migrate:
                store.migrate()
            elif ready:
                store.check_ready()
        except BaseException:
            store.close()
            raise
        return cls(s, store, operator, notice)

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Context:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def allow(ctx: Context, action: str, *targets: access.Target) -> access.Allowed:
    """Go on only if the operator may do `action` on every target; else the refusal is audited and
    Refused raised. Called before the action's own transaction, so that the refusal is kept."""
    allowed = access.check(ctx.store, ctx.operator, action, targets or (None,))
    if allowed.setup and ctx.notice is not None:
        ctx.notice(access.SETUP_WARNING)
    return allowed
