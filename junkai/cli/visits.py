"""Visits (巡回連絡簿): visit add, import, approve-night (第6-3)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from junkai import model
from junkai.actions import visits as A
from junkai.cli import command, context, day, err, group, out

visit_app = group("visit", "巡回連絡の記録 (巡回連絡簿) と夜間の承認")


@command(visit_app, "add")
def visit_add(
    premises: Annotated[int, typer.Option(help="各戸 ID")],
    officer: Annotated[str, typer.Option(help="受持警察官 ID")],
    at: Annotated[str, typer.Option(help="訪問日時 'YYYY-MM-DD HH:MM'")],
    outcome: Annotated[str, typer.Option(help="/".join(model.OUTCOMES))],
    guidance: Annotated[str, typer.Option(help="行った指導連絡・情報提供の番号 (第6-4 (1)〜(5))。例: 1,3")] = "",
    notes: Annotated[Optional[str], typer.Option(help="備考")] = None,
):
    """巡回連絡を一件記録する。夜間 (設定の時間帯) で事前承認がなければ警告する (第6-3)。

    例: junkai visit add --premises 12 --officer S01-O001 --at "2026-11-20 14:30" --outcome 面接 --guidance 1,3
    """
    with context() as ctx:
        v = A.add_visit(ctx, premises, officer, at, outcome, guidance, notes)
    out.print(f"訪問 {v.id} を記録しました")
    if v.unapproved_night:
        err.print("注意: 夜間の巡回連絡ですが、地域課長等の事前承認の記録がありません (第6-3)")


@command(visit_app, "approve-night")
def visit_approve_night(
    premises: Annotated[int, typer.Option(help="各戸 ID")],
    officer: Annotated[str, typer.Option(help="受持警察官 ID")],
    on: Annotated[str, typer.Option("--date", help="夜間に訪問する日 YYYY-MM-DD")],
    approver: Annotated[str, typer.Option(help="承認した地域課長等の氏名")],
    approved_at: Annotated[Optional[str], typer.Option(help="承認した日時 'YYYY-MM-DD HH:MM' (既定: 今)")] = None,
):
    """夜間の巡回連絡の事前承認を記録する (第6-3)。承認より前の時刻の訪問は未承認のまま。

    例: junkai visit approve-night --premises 12 --officer S01-O001 --date 2026-11-21 --approver "地域課長 佐藤"
    """
    when = day(on, "--date")
    with context() as ctx:
        aid = A.approve_night(ctx, premises, officer, when, approver, approved_at)
    out.print(f"夜間の巡回連絡の承認を記録しました (承認 {aid}: 各戸 {premises}、{when}、{approver})")


@command(visit_app, "import")
def visit_import(
    path: Annotated[Path, typer.Argument(help="巡回連絡簿の CSV (UTF-8。見出し: 各戸ID,警察官ID,日時,結果,指導連絡,備考)")],
    skip_bad: Annotated[bool, typer.Option("--skip-bad", help="誤りのある行を飛ばして残りを取り込む")] = False,
):
    """巡回連絡簿の CSV をまとめて取り込む。先に全行を検査し、誤りがあれば行番号を示して何も取り込まない。

    例: junkai visit import 巡回連絡簿-2026-11.csv
    """
    with context() as ctx:
        try:
            r = A.import_visits(ctx, path, skip_bad)
        except A.BadRows as exc:
            _bad_rows(path, exc.bad)
            raise
    _bad_rows(path, r.bad)
    out.print(f"{r.visits} 件の訪問を取り込みました" + (f" ({len(r.bad)} 行は飛ばしました)" if r.bad else ""))
    if r.unapproved_night:
        err.print(f"注意: 事前承認のない夜間の巡回連絡が {r.unapproved_night} 件あります (第6-3)")


def _bad_rows(path: Path, bad: list[tuple[int, str]]) -> None:
    for line, message in bad:
        err.print(f"{path}:{line}: {message}", highlight=False, soft_wrap=True)
