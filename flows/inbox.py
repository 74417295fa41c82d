"""The inbox flow: take the scans that stopped changing in a station's inbox folder, ingest
them (the ingest flow, as a subflow), then archive each file or quarantine it with its reason."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from prefect import flow, task

from flows.common import PRIVATE, task_runner
from flows.ingest import ingest
from junkai import inbox as IB
from junkai import settings as settings_mod
from junkai.inbox import FileOutcome


@task(name="走査済みファイルの確認", **PRIVATE)
def ready(folder: Path, settle_seconds: float) -> list[Path]:
    """Files unchanged for the settle time, and unchanged still after a last look."""
    return IB.unchanged(IB.waiting(folder, settle_seconds), 1.0 if settle_seconds else 0.0)


@task(name="保管・隔離", **PRIVATE)
def settle(folder: Path, files: list[Path], outcomes: dict, at: datetime) -> dict:
    moved = {IB.ARCHIVE: [], IB.QUARANTINE: []}
    for path in files:
        raw = outcomes.get(str(path))
        outcome = FileOutcome(**raw) if raw else FileOutcome(path.name, error="取込の結果がありません")
        kind, dest = IB.settle(folder, path, outcome, at)
        moved[kind].append(str(dest))
    return moved


def take(s: settings_mod.Settings, station: str, operator: str, as_of: date | None = None,
         settle_seconds: float | None = None) -> dict:
    """One pass over a station's inbox (inside a flow). Another pass holding the folder means nothing to do."""
    folder = s.inbox_of(station)
    settle_seconds = s.inbox_settle_seconds if settle_seconds is None else settle_seconds
    try:
        with IB.lock(folder):
            files = ready(folder, settle_seconds)
            if not files:
                return dict(station=station, files=0, archived=[], quarantined=[], pages=0)
            result = ingest.with_options(task_runner=task_runner(s))(
                paths=[str(f) for f in files], operator=operator, as_of=as_of, station=station)
            moved = settle(folder, files, result["by_file"], datetime.now())
    except IB.Busy as exc:
        return dict(station=station, files=0, archived=[], quarantined=[], pages=0, busy=str(exc))
    return dict(station=station, files=len(files), archived=moved[IB.ARCHIVE], quarantined=moved[IB.QUARANTINE],
                pages=result["pages"], applied=result["applied"], review=result["review"],
                states=result["states"])


@flow(name="inbox", description="受付フォルダの走査済みカードを取り込み、保管または隔離する")
def inbox(station: str | None = None, operator: str | None = None, settle_seconds: int | None = None) -> list[dict]:
    """Check the inbox of one station (or of every station in the store), as the one who serves it."""
    from flows.common import confined
    from junkai.actions import batches

    # the operator's "batch" right is checked first (refused and audited), as for `junkai ingest`
    with confined(operator, "batch") as ctx:
        s, operator, stations = ctx.settings, ctx.operator, batches.inbox_stations(ctx, station)
    return [take(s, st, operator, settle_seconds=settle_seconds) for st in stations]
