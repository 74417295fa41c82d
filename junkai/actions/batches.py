"""Batches: ingesting scans, the nightly run, the inbox, retention, reading scans without
recording them, and serving the schedules. Each needs the "batch" right (retention: "setup",
as `junkai purge`), whichever door starts it: the command line, a schedule, the Prefect UI or API.

A batch keeps its own transactions (a page, a nightly step), so that a stop part-way keeps
what was done; its one audit row says what the run did."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Callable

from junkai import JunkaiError
from junkai import settings as settings_mod
from junkai.actions import Context, allow


def own_station(ctx: Context, action: str, station: str | None = None) -> str | None:
    """The station a command acts on when none is given: in a store of several stations, the one
    station of the operator's grants for `action` (a custodian of S01: S01); an operator of several
    stations must choose, and is told how. None where the whole store is meant (one station, setup mode,
    or an operator without such a grant, whom the right's check then refuses and audits)."""
    from junkai import access

    if station:
        return station
    with ctx.store.transaction():
        if not ctx.store.has_users():
            return None
        stations = ctx.store.station_ids()
        if len(stations) < 2:
            return None
        roles = access.ACTIONS[action][1]
        own = sorted({g["station_id"] for g in ctx.store.users(ctx.operator)
                      if g["disabled_at"] is None and g["role"] in roles and g["station_id"]})
    if len(own) == 1:
        return own[0]
    if not own:
        return None
    raise JunkaiError(f"ストアに警察署が {len(stations)} つあります。--station {own[0]} のように指定してください"
                      f" (担当の警察署: {'、'.join(own)})")


def may_run(ctx: Context, station: str | None = None) -> None:
    """Refused (audited) unless the operator may run batches on the station (or the whole store); an
    unknown station is refused."""
    allow(ctx, "batch", ("station", station) if station else None)
    if station:
        with ctx.store.transaction():
            ctx.store.place("station", station)


def ingest(ctx: Context, paths: list[Path], today: date | None = None, read_map: Callable | None = None,
           on_page: Callable | None = None, *, station: str | None = None):
    """Ingest scan files or folders: receive, read, validate, reconcile and record each page in its own
    transaction; then one "ingest" audit row with the run's counts. Returns the run (its summary and
    an outcome per file). `station`: the scans are that station's (its inbox), so that its custodian
    may ingest them in a store of several stations; a page of another station's card is refused."""
    from junkai import ingest as I

    may_run(ctx, station)
    run = I.run(ctx.store, ctx.settings, paths, ctx.operator, today or date.today(), read_map=read_map,
                on_page=on_page, station=station)
    with ctx.store.transaction():
        ctx.store.audit(ctx.operator, "ingest", "scan_file", None, **{k: (len(v) if k == "cards" else v)
                                                                      for k, v in run.summary.as_dict().items()
                                                                      if k not in ("failures", "notes")})
    return run


def nightly_stations(ctx: Context, station: str | None = None) -> list[str]:
    """The stations a nightly run covers (one, or every one of the store), once the operator may run
    it there; an unknown station is refused."""
    may_run(ctx, station)
    with ctx.store.transaction():
        if station:
            ctx.store.scope_filter(("station", station))  # refuses an unknown station
            return [station]
        return ctx.store.station_ids()


def inbox_stations(ctx: Context, station: str | None = None) -> list[str]:
    """The stations whose inbox folders a pass covers, once the operator may run batches there."""
    may_run(ctx, station)
    if station:
        return [station]
    with ctx.store.transaction():
        return ctx.store.station_ids()


def retention(ctx: Context, dry_run: bool = False) -> dict:
    """The monthly purge: premises ceased longer than [retention] ceased_years, output files older than
    [retention] output_days (each audited with counts only, as `junkai purge`)."""
    from junkai.actions import admin

    _, ceased = admin.purge_ceased(ctx, dry_run=dry_run)
    _, output = admin.purge_output(ctx, folders=[ctx.settings.output], dry_run=dry_run)
    return dict(premises=ceased.premises, files=ceased.files_removed + ceased.archive_removed,
                output_files=output.files, failed=ceased.failed + output.failed)


def has_store(settings: settings_mod.Settings) -> bool:
    """Whether there is a store to ask (reading scans works without one): a server, or the SQLite file."""
    url = settings.db_url
    return not url.startswith("sqlite:///") or Path(url.removeprefix("sqlite:///")).exists()


def read_scans(ctx: Context, files: list[Path], station: str | None = None) -> None:
    """What is read off scans is personal data: the operator needs the "batch" right (on `station`, by
    default the operator's own: own_station), and the reading is audited (with the files named) before
    it starts, so that a reading cut short is recorded too."""
    if not ctx.store.is_initialised():
        return
    station = own_station(ctx, "batch", station)
    may_run(ctx, station)
    with ctx.store.transaction():
        ctx.store.audit(ctx.operator, "read", "scan_file", None, files=[str(f) for f in files],
                        **({"station": station} if station else {}))


def serving(ctx: Context) -> list[str]:
    """The stations whose schedules `junkai serve` runs, once the operator may run batches; the
    deployments then run as this operator."""
    may_run(ctx)
    with ctx.store.transaction():
        stations = ctx.store.station_ids()
    if not stations:
        raise JunkaiError("警察署が登録されていません (先に junkai seed などでデータを作成してください)")
    return stations
