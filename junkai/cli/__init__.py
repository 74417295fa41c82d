"""The `junkai` command: each command parses its arguments, calls one action (junkai.actions),
which checks the operator's right, does the work in one transaction and audits it, and shows
what the action returned. One module per area; this one holds the app and what they share."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import os
import re
import sys
from datetime import date, datetime
from enum import Enum
from typing import Annotated, Iterator, Optional

import typer
from rich.console import Console

from junkai import JunkaiError
from junkai import settings as settings_mod
from junkai.cli import help_ja
from junkai.cli.help_ja import OPTIONS_METAVAR, SUBCOMMAND_METAVAR

app = typer.Typer(help="巡回連絡カードの管理 (印刷・読取・補正・集計)", no_args_is_help=True,
                  pretty_exceptions_enable=False, add_completion=False, options_metavar=OPTIONS_METAVAR,
                  subcommand_metavar=SUBCOMMAND_METAVAR, cls=help_ja.Group)

# piped output (logs, make) gets room for the wide tables instead of the 80 columns default
out = Console(width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 160)
_state: dict = {"as": None}


@app.callback()
def _main(as_: Annotated[Optional[str], typer.Option(
        "--as", help="利用者名の確認 (このコマンドを実行する OS アカウントに結び付いた利用者だけを指定できます)")] = None):
    _state["as"] = as_
    # everything junkai writes (store, scans, crops, quarantine, outputs) holds residents' data: owner only
    os.umask(0o077)


def _shared_umask(home) -> None:
    """A data folder shared by a group (mode 2770: the station's users each run junkai as themselves)
    gets files the group can use too; any other stays owner only."""
    try:
        if home.stat().st_mode & 0o070 == 0o070:
            os.umask(0o007)
    except OSError:
        pass


def command(group: typer.Typer = app, name: str | None = None):
    """Register a command whose JunkaiError becomes a one-line message and exit status 2."""
    def deco(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            try:
                return fn(*args, **kwargs)
            except JunkaiError as exc:
                err.print(f"エラー: {exc}{unknown_place_hint(str(exc))}{whole_store_hint(exc, kwargs)}",
                          highlight=False, soft_wrap=True)
                raise typer.Exit(2)
            except Exception as exc:  # a full disk, wherever it was met: one line, not a traceback
                from junkai.files import full_disk_message

                try:
                    home = settings_mod.load().home
                except Exception:
                    home = None
                message = full_disk_message(exc, home)
                if message is None:
                    raise
                err.print(f"エラー: {message}", highlight=False, soft_wrap=True)
                raise typer.Exit(2)
        return group.command(name, options_metavar=OPTIONS_METAVAR, cls=help_ja.Command)(wrapper)
    return deco


UNKNOWN_PLACE = re.compile(r"(受持区|交番・駐在所|警察署)が見つかりません: (\S+)")
PLACE_COLUMNS = {"受持区": ("beat_id", "junkai beat list"), "交番・駐在所": ("post_id", "junkai beat list"),
                 "警察署": ("station_id", "junkai beat list")}


def unknown_place_hint(message: str) -> str:
    """For an unknown beat, post or station: the closest ids of the store, and where to see them all.
    The organisation's ids only (no resident's data); nothing when the store cannot be asked."""
    m = UNKNOWN_PLACE.search(message)
    if m is None:
        return ""
    column, command_ = PLACE_COLUMNS[m.group(1)]
    try:
        from rapidfuzz import process

        from junkai.store import Store

        s = settings_mod.load()
        store = Store(s.db_url, s.home)
        try:
            with store.transaction():
                ids = sorted(set(store.organisation()[column]))
        finally:
            store.close()
        close = [c for c, score, _ in process.extract(m.group(2), ids, limit=3) if score >= 50]
    except Exception:  # the hint only: the error itself is what matters
        close = []
    near = f"近いもの: {'、'.join(close)}。" if close else ""
    return f" ({near}一覧は {command_} で見られます)"


def whole_store_hint(exc: JunkaiError, options: dict) -> str:
    """A refusal of the whole store, from a command that can be given a scope: which option to add
    (a custodian of one station in a store of several)."""
    from junkai.access import Refused

    if not isinstance(exc, Refused) or "ストア全体" not in str(exc):
        return ""
    can = [f"--{k}" for k in ("station", "post", "beat") if k in options]
    if not can:
        return ""
    return f" ({'・'.join(can)} で担当の範囲を指定してください。例: {can[0]} S01)"


def group(name: str, help: str) -> typer.Typer:
    """A group of commands (`junkai <name> ...`)."""
    sub = typer.Typer(help=help, no_args_is_help=True, options_metavar=OPTIONS_METAVAR,
                      subcommand_metavar=SUBCOMMAND_METAVAR, cls=help_ja.Group)
    app.add_typer(sub, name=name)
    return sub


def os_operator() -> str:
    """Who runs a command that has no store to ask (restoring into an empty data folder): the OS account."""
    from junkai import identity

    return identity.os_account()


def notice(text: str) -> None:
    """A warning from an action (the store in setup mode), for a person at a terminal only."""
    if err.is_terminal:
        err.print(text, highlight=False, soft_wrap=True)


@contextlib.contextmanager
def context(migrate: bool = False, ready: bool = True, upgrading: bool | None = None) -> Iterator:
    """The actions' context for this command: its settings, store and operator."""
    from junkai.actions import Context

    s = settings_mod.load()
    _shared_umask(s.home)
    ctx = Context.open("", s, migrate=migrate, ready=ready, notice=notice)
    try:
        ctx = operate(ctx, upgrading=(migrate or not ready) if upgrading is None else upgrading)
        yield ctx
    finally:
        ctx.close()


def operate(ctx, upgrading: bool = False):
    """The context acting as the user bound to the OS account that runs this command (--as may only
    name that user; refused otherwise). No environment variable chooses who acts."""
    from junkai import identity

    who = identity.operator(ctx.store, ctx.settings.home, _state["as"], upgrading=upgrading)
    return dataclasses.replace(ctx, operator=who)


def day(value: str | None, what: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        # the right form but no such day (2026-11-31, 2026-02-29): say so rather than blame the form
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            raise JunkaiError(f"{what}: {value} という日はありません")
        raise JunkaiError(f"{what} は YYYY-MM-DD 形式の日付です: {value!r}")


def scope(beat: str | None, post: str | None, station: str | None) -> tuple[str, str] | None:
    given = [(k, v) for k, v in (("beat", beat), ("post", post), ("station", station)) if v]
    if len(given) > 1:
        raise JunkaiError("--beat、--post、--station はどれか一つだけ指定してください")
    return given[0] if given else None


def plain(v):
    return v.isoformat() if isinstance(v, (date, datetime)) else v


def show(v) -> str:
    if v is None:
        return ""
    if isinstance(v, dict):
        return " ".join(str(x) for x in v.values())
    if isinstance(v, list):  # 「、」: choices' labels hold 「・」 (日曜・祝日)
        return "、".join(v)
    return str(v)


class Kind(str, Enum):
    household = "household"
    business = "business"
    apartment = "apartment"


# --- progress and Prefect ---------------------------------------------------------------------


def rich_progress():
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    # on stderr, so that stdout stays data; left on screen only in a terminal
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=err, transient=not err.is_terminal)


@contextlib.contextmanager
def bar(label: str):
    """One bar; yields the callback (done, total) that moves it."""
    with rich_progress() as progress:
        task = progress.add_task(label, total=None)
        yield lambda done, total: progress.update(task, completed=done, total=total)


@contextlib.contextmanager
def working(label: str):
    """A long step with no count to show (a report, the visit lists, the simulator): a moving bar and
    the time taken, on stderr and only at a terminal, so that a person sees it has not stopped."""
    if not err.is_terminal:
        yield
        return
    with bar(label):
        yield


@contextlib.contextmanager
def counting(label: str):
    """A long step that knows how much it has to do (rows, files, premises): a bar with N/M and the time
    taken, on stderr and only at a terminal; yields the callback (done, total) that moves it."""
    if not err.is_terminal:
        yield lambda done, total: None
        return
    with bar(label) as on:
        yield on


@contextlib.contextmanager
def flow_progress():
    """A bar per long step of the flows run in this process."""
    from flows import common

    bars: dict[str, int] = {}
    with rich_progress() as progress:
        def on(label: str, done: int, total: int) -> None:
            if label not in bars:
                bars[label] = progress.add_task(label, total=total)
            progress.update(bars[label], completed=done, total=total)

        common.listen(on)
        try:
            yield
        finally:
            common.listen(None)


def prefect(s: settings_mod.Settings, quiet: bool = True) -> None:
    """Prefect's environment (data folder, telemetry off) before Prefect is first imported."""
    from junkai import prefect_env

    prefect_env.configure(s.home, quiet=quiet, api_url=s.prefect_api_url, port=s.prefect_port)


# the commands, area by area (their order is that of `junkai --help`)
from junkai.cli import admin, cards, exports, visits, review, reports, ocr, flows  # noqa: E402,F401


def main() -> None:
    app()
