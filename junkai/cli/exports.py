"""Personal data written out: export, amendments, overdue (第6-1)."""

from __future__ import annotations

import json
from datetime import date
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from junkai import files
from junkai.actions import exports as A
from junkai.cli import command, context, counting, day, out, scope, show, working


class What(str, Enum):
    premises = "premises"
    cards = "cards"
    visits = "visits"
    opinions = "opinions"
    events = "events"


class Format(str, Enum):
    csv = "csv"
    json = "json"


@command()
def export(
    what: Annotated[What, typer.Option(help="書き出すもの: premises (各戸)、cards (カード)、visits (巡回連絡簿)、"
                                            "opinions (意見・要望)、events (カードの変更履歴)")],
    out_path: Annotated[Path, typer.Option("--out", help="出力ファイル")],
    fmt: Annotated[Format, typer.Option("--format", help="csv (UTF-8 BOM 付き、表計算ソフト向け) または json")] = Format.csv,
    beat: Annotated[Optional[str], typer.Option(help="この受持区の各戸だけ")] = None,
    post: Annotated[Optional[str], typer.Option(help="この交番・駐在所の各戸だけ")] = None,
    station: Annotated[Optional[str], typer.Option(help="この警察署の各戸だけ")] = None,
):
    """ストアの内容をファイルに書き出す (個人情報を含む。監査ログに記録される)。

    範囲を指定しなければストア全体。取扱責任者や受持警察官は担当の範囲を指定して書き出す。

    例: junkai export --what cards --format csv --out output/cards.csv
        junkai export --what visits --post S01-P01 --out output/visits-P01.csv
    """
    where = scope(beat, post, station)
    files.out_file(out_path)
    with context() as ctx, counting("書き出し中 (行)") as on_rows:
        rows = A.export(ctx, what.value, fmt.value, out_path, where, on_rows)
    out.print(f"{rows} 件を書き出しました: {out_path}")


class AmendFormat(str, Enum):
    csv = "csv"
    json = "json"


@command()
def amendments(
    since: Annotated[Optional[str], typer.Option(help="この日以降に記録されたもの YYYY-MM-DD")] = None,
    beat: Annotated[Optional[str], typer.Option(help="受持区 ID")] = None,
    fmt: Annotated[AmendFormat, typer.Option("--format", help="csv または json")] = AmendFormat.csv,
):
    """カードの変更 (補正) の一覧を、出所 (読み取った頁、確認、職員) とともに標準出力に出す。

    例: junkai amendments --since 2026-11-01 --beat S01-P01-B1
    """
    start = day(since, "--since")
    with context() as ctx:
        df = A.amendments(ctx, start, beat)
    if fmt is AmendFormat.csv:
        for col in ("before", "after"):
            # a list as JSON too: ticks are labels that may hold 「・」, and must split back
            df[col] = df[col].map(lambda v: json.dumps(v, ensure_ascii=False) if isinstance(v, (dict, list)) else show(v))
        from junkai.export import csv_text

        typer.echo(csv_text(df), nl=False)
    else:
        from junkai.export import _plain
        typer.echo(json.dumps([{k: _plain(v) for k, v in r.items()} for r in df.to_dict("records")],
                              ensure_ascii=False, indent=1))


class ListFormat(str, Enum):
    csv = "csv"
    pdf = "pdf"


@command()
def overdue(
    beat: Annotated[Optional[str], typer.Option(help="受持区 ID")] = None,
    post: Annotated[Optional[str], typer.Option(help="交番・駐在所 ID")] = None,
    station: Annotated[Optional[str], typer.Option(help="警察署 ID")] = None,
    as_of: Annotated[Optional[str], typer.Option("--as-of", help="基準日 YYYY-MM-DD (既定: 今日)")] = None,
    fmt: Annotated[ListFormat, typer.Option("--format", help="csv (一覧) または pdf (警察官ごとの訪問リストと記入済みカード)")] = ListFormat.csv,
    out_path: Annotated[Optional[Path], typer.Option("--out", help="出力ファイル (既定: CSV は標準出力、PDF は output/)")] = None,
):
    """長期不実施・長期未把握の各戸の一覧 (第6-1)。超過の大きい順。定義を先頭に示す。

    PDF は受持警察官ごとの訪問リスト (住所順) に、その各戸の記入済みカードを続けたもの。
    カードの印刷は記録され、読み取りのときに印刷した版と照合される。

    例: junkai overdue --beat S01-P01-B1 --as-of 2026-11-20 --out output/overdue.csv
        junkai overdue --beat S01-P01-B1 --format pdf
    """
    when = day(as_of, "--as-of") or date.today()
    where = scope(beat, post, station)
    files.out_file(out_path)
    with context() as ctx:
        if fmt is ListFormat.pdf:
            from junkai.actions import printing

            with working("訪問リストを作成中"):
                written = printing.visit_lists(ctx, when, where, Path("output"), path=out_path)
            out.print(f"訪問リスト: 警察官 {written.officers} 名、各戸 {written.premises} 戸、{written.pages} 頁",
                      highlight=False)
            typer.echo(str(written.path))
            return
        r = A.overdue(ctx, when, where, out_path)
    if out_path is None:
        typer.echo(r.text, nl=False)
    else:
        df = r.rows
        counts = "・".join(f"{c} {int(df.category.str.contains(c).sum())}" for c in ("重点", "長期不実施", "長期未把握"))
        out.print(f"{len(df)} 戸の一覧を書き出しました ({counts}): {out_path}", highlight=False)
