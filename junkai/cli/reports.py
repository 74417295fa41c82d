"""Reports to the chief and to HQ (第4-5, 第4-6, 第6-5(2), 第7) and the handover of a beat (第5-1)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Optional

import typer

from junkai.actions import reports as A
from junkai.cli import command, context, day, group, out, working

report_app = group("report", "署長・警察本部への報告 (PDF)")
REPORTS_DIR = Path("output/reports")
PERIOD = typer.Option("--period", help="期間: 2026-11 (月)、2026-11-20 (日)、2026 (年)")
SINCE = typer.Option("--from", help="期間の初日 YYYY-MM-DD (--to と使う)")
UNTIL = typer.Option("--to", help="期間の末日 YYYY-MM-DD")
OUT_DIR = typer.Option("--out-dir", help="出力フォルダ")


def _period(period: str | None, since: str | None, until: str | None):
    from junkai.reports import period as make

    return make(period, day(since, "--from"), day(until, "--to"))


@command(report_app, "chief")
def report_chief(
    station: Annotated[str, typer.Option(help="警察署 ID")],
    period: Annotated[Optional[str], PERIOD] = None,
    since: Annotated[Optional[str], SINCE] = None,
    until: Annotated[Optional[str], UNTIL] = None,
    out_dir: Annotated[Path, OUT_DIR] = REPORTS_DIR,
):
    """署長への報告: 受持区ごとの実施状況、受持警察官ごとの活動 (第4-6)、意見・要望等 (第6-5(2))、夜間の承認 (第6-3)。

    住民の住所を含むため、作成は監査ログに記録される。作成したファイルのパスを表示する。

    例: junkai report chief --station S01 --period 2026-11
        junkai report chief --station S01 --from 2026-10-01 --to 2026-11-20
    """
    p = _period(period, since, until)
    with context() as ctx, working("署長への報告を作成中"):
        path = A.chief(ctx, station, p.start, p.end, out_dir)
    typer.echo(str(path))


@command(report_app, "hq")
def report_hq(
    period: Annotated[Optional[str], PERIOD] = None,
    since: Annotated[Optional[str], SINCE] = None,
    until: Annotated[Optional[str], UNTIL] = None,
    out_dir: Annotated[Path, OUT_DIR] = REPORTS_DIR,
):
    """警察本部への報告: 警察署ごとの数値 (個人の情報は含まない)、苦情の報告状況 (第4-5)、カードの管理 (第7)。

    例: junkai report hq --period 2026-11
    """
    p = _period(period, since, until)
    with context() as ctx, working("本部への報告を作成中"):
        path = A.hq(ctx, p.start, p.end, out_dir)
    typer.echo(str(path))


@command(report_app, "complaint")
def report_complaint(
    opinion_id: Annotated[int, typer.Argument(help="苦情 (意見・要望) の番号")],
    out_dir: Annotated[Path, OUT_DIR] = REPORTS_DIR,
):
    """苦情一件の報告書 (1 枚) を作り、警察本部へ報告済みとする (第4-5)。夜間の処理を待たずにすぐ報告するとき。

    すでに報告済みの苦情は、報告日を変えずに報告書を作り直す。

    例: junkai report complaint 12
    """
    with context() as ctx, working("苦情の報告書を作成中"):
        path = A.complaint(ctx, opinion_id, out_dir)
    typer.echo(str(path))


@command()
def handover(
    beat: Annotated[str, typer.Argument(help="受持区 ID")],
    as_of: Annotated[Optional[str], typer.Option("--as-of", help="基準日 YYYY-MM-DD (既定: 今日)")] = None,
    out_dir: Annotated[Path, typer.Option("--out-dir", help="出力フォルダ")] = Path("output"),
):
    """受持警察官が代わった受持区の引継ぎ報告と、新任者の訪問リスト (全戸、住所順) を PDF にする (第5-1、第6-8)。

    例: junkai handover S01-P01-B1
    """
    when = day(as_of, "--as-of") or date.today()
    with context() as ctx, working("引継ぎ報告を作成中"):
        path = A.handover(ctx, beat, when, out_dir)
    out.print(f"受持区 {beat} の引継ぎ報告を書き出しました", highlight=False)
    typer.echo(str(path))
