"""Every deployment and schedule, declared in one list.

Per station: the nightly batch at 02:00 local time (one run at a time per station: a run
still going when the next is due makes the next wait) and the inbox checked every few
minutes (a check still going when the next is due makes the next one skip). For the whole
store, retention once a month. Without a schedule, run from the UI when needed: ingest,
print, handover and report.

Who runs them: every flow checks its operator's right (junkai.actions), as the commands do,
so every deployment names a registered operator: the one who serves them (the user bound to
the OS account that runs `junkai serve`). It is each deployment's default
`operator` and the one its schedules pass; a run started from the UI or the API may name
another, whose rights are then checked. The serving operator needs the "batch" right
(custodian) for the nightly and inbox runs and the "setup" right (admin) for retention; a
run whose operator lacks the right fails with the refusal, which is in the audit log. While
no user is registered (setup mode) every operator is allowed, as on the command line.

`tests/test_flows.py` checks every schedule's parameters against its flow's signature.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from prefect import Flow
from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy
from prefect.schedules import Cron, Interval, Schedule

from flows.handover import handover
from flows.inbox import inbox
from flows.ingest import ingest
from flows.nightly import nightly
from flows.print import print_cards
from flows.report import report
from flows.retention import retention
from junkai import identity
from junkai.settings import Settings


@dataclass(frozen=True)
class Planned:
    flow: Flow
    name: str
    schedules: list[Schedule] = field(default_factory=list)
    concurrency: int | None = None  # runs of this deployment at once
    skip_when_busy: bool = False  # at the limit: skip the new run (else it waits)
    when: str = "画面から実行"
    operator: str | None = None  # the default operator of its runs

    def limit(self) -> ConcurrencyLimitConfig | None:
        if self.concurrency is None:
            return None
        strategy = ConcurrencyLimitStrategy.CANCEL_NEW if self.skip_when_busy else ConcurrencyLimitStrategy.ENQUEUE
        return ConcurrencyLimitConfig(limit=self.concurrency, collision_strategy=strategy)


def declared(s: Settings, stations: list[str], operator: str | None = None) -> list[Planned]:
    """The deployments of a store with these stations, under these settings, run as `operator`
    (default: the OS account running it)."""
    operator = operator or identity.os_account()
    who = {"operator": operator}
    at = s.nightly_at
    planned: list[Planned] = []
    for station in stations:
        planned.append(Planned(
            nightly, f"nightly-{station}",
            [Cron(f"{at.minute} {at.hour} * * *", timezone=s.timezone, parameters={"station": station, **who})],
            concurrency=1, when=f"毎日 {at:%H:%M} ({s.timezone})", operator=operator))
        planned.append(Planned(
            inbox, f"inbox-{station}",
            [Interval(timedelta(minutes=s.inbox_check_minutes), parameters={"station": station, **who})],
            concurrency=1, skip_when_busy=True, when=f"{s.inbox_check_minutes} 分ごと", operator=operator))
    # retention (個人情報保護法 第66条・第69条): store-wide, monthly, an hour after the nightly batch began
    hour = (at.hour + 1) % 24
    planned.append(Planned(retention, "retention", [Cron(f"{at.minute} {hour} 1 * *", timezone=s.timezone,
                                                         parameters=who)],
                           concurrency=1, when=f"毎月 1 日 {hour:02d}:{at.minute:02d} ({s.timezone})",
                           operator=operator))
    planned += [Planned(ingest, "ingest", operator=operator), Planned(print_cards, "print", operator=operator),
                Planned(handover, "handover", operator=operator), Planned(report, "report", operator=operator)]
    return planned


def serve(planned: list[Planned]) -> None:
    """Create the deployments on the server and run them on schedule until interrupted (Ctrl-C)."""
    from prefect import serve as prefect_serve

    deployments = [p.flow.to_deployment(name=p.name, schedules=p.schedules, concurrency_limit=p.limit(),
                                        parameters={"operator": p.operator} if p.operator else None)
                   for p in planned]
    # the server stops with us: nothing to pause on the way out
    prefect_serve(*deployments, pause_on_shutdown=False, print_starting_message=False)
