"""The batches, run as Prefect flows: ingest, run nightly, serve."""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from junkai import JunkaiError
from junkai.actions import batches
from junkai import settings as settings_mod
from junkai.cli import command, context, day, err, flow_progress, group, out, prefect


@contextlib.contextmanager
def prefect_server(s):
    """The Prefect server this command's flows report to: the one set in the settings, a `junkai serve`
    answering on this machine, else one of its own that stops with the command (never Prefect's
    temporary server, which could outlive a killed command). The flows run as the same user as the command
    (the one bound to the OS account: flows.common.identity)."""
    from junkai import prefect_env

    prefect(s)
    if os.environ.get("PREFECT_API_URL"):
        server = contextlib.nullcontext()
    else:
        server = prefect_env.Server(s.home)
    with server:
        yield


@command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="走査したファイルまたはフォルダ (PDF, TIFF, PNG, JPEG)")],
    as_json: Annotated[bool, typer.Option("--json", help="頁ごとの結果を JSON (1 行 1 頁) で出力する")] = False,
    station: Annotated[Optional[str], typer.Option(help="この警察署の走査として取り込む (他の署のカードの頁は記録しない)")] = None,
):
    """返ってきたカードの走査を取り込む: 読み取り → 検証 → 照合 → 補正。確信のない値は確認待ちになる。

    --station を付けると、その警察署のカードだけを取り込み、他の署のカードの頁は理由を示して記録しない。
    複数の警察署を持つストアでは、省略すると自分の警察署 (管理責任者の署) として取り込む
    (複数の署を担当するときは --station で選ぶ)。頁の警察署はカードの QR から分かる。

    同じファイルや同じカードの頁を二度取り込んでも、反映は一度だけ。途中で止まっても、もう一度実行すれば
    一度で最後まで実行したのと同じ結果になる。

    Prefect のフローとして実行する (頁の読み取りは設定 [prefect] task_runner で並列に)。

    例: junkai ingest inbox/2026-11-20/
        junkai ingest --station S01 inbox/2026-11-20/
    """
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise JunkaiError(f"ファイルまたはフォルダがありません: {', '.join(missing)}")
    from junkai.ingest import find_files, own_copies

    s = settings_mod.load()
    # the data folder keeps a copy of every scan ingested (scans/): never read again, and said so
    copies = own_copies(paths, s.home)
    why = f"データフォルダの scans/ ({(s.home / 'scans').resolve()}) は取り込み済みの走査の写しを保管する所なので読みません"
    skipped = [f"  読み飛ばし: {p}{'' if whole else ' の中の scans/'} ({why})" for p, whole in copies]
    if not find_files(paths, s.home):
        given = "、".join(str(p) for p in paths)
        if copies:
            raise JunkaiError(f"{given} に取り込む走査がありません。{why}。元のファイルか受付フォルダを指定してください")
        raise JunkaiError(f"{given} に取り込む走査がありません (読むのは PDF・TIFF・PNG・JPEG のファイルです)")
    # asked here too, so that a refusal comes before Prefect is started; the flow asks again
    with context() as ctx:
        station = batches.own_station(ctx, "batch", station)
        batches.may_run(ctx, station)
        s, operator = ctx.settings, ctx.operator

    def show(reading, outcome):
        if as_json:
            # the path as given (two folders' scan-001.pdf stay apart), and where that is
            typer.echo(json.dumps(dict(source=reading.source, resolved=str(Path(reading.source).resolve()),
                                       page=reading.page, read_status=str(reading.status),
                                       state=outcome.state, premises_id=outcome.premises_id,
                                       identity=reading.identity.to_json() if reading.identity else None,
                                       applied=outcome.applied, review=outcome.review, conflicts=outcome.conflicts,
                                       messages=reading.messages + outcome.messages),
                                  ensure_ascii=False, default=str))

    with prefect_server(s):
        from flows import ingest as ingest_flow
        from junkai.ingest import Summary

        ingest_flow.listen_pages(show)
        try:
            with flow_progress():
                result = ingest_flow.run(paths, operator, s, station=station)
        finally:
            ingest_flow.listen_pages(None)
    summary = Summary(**{k: v for k, v in result.items() if k in Summary.__dataclass_fields__})
    lines = summary_lines(summary) + skipped
    (err if as_json else out).print("\n".join(lines), highlight=False, soft_wrap=True)


def summary_lines(summary) -> list[str]:
    """An ingest's sums, one short line each (a card of two sheets is one card), then the duplicates and
    failures named."""
    st = summary.states
    lines = [f"ファイル: {summary.files}" + (f" (うち受付済み {summary.files_seen_before})" if summary.files_seen_before else ""),
             f"頁: {summary.pages} (白紙・裏面 {st.get('skipped', 0)})",
             f"カード: {len(summary.cards)} 枚",
             f"用紙: {summary.matched} 枚 (各戸と照合できたもの)",
             f"反映: {summary.applied} 項目",
             f"確認待ち: {summary.review} 件 (うち矛盾 {summary.conflicts})、各戸の確認待ち {st.get('waiting', 0)} 頁",
             f"重複: {st.get('duplicate', 0)} 頁",
             f"失敗: {len(summary.failures)} (頁またはファイル)"]
    if summary.other_station:
        lines.append(f"他の署のカード (記録せず): {summary.other_station} 頁")
    lines += [f"  重複: {n}" for n in summary.notes]
    lines += [f"  失敗: {f}" for f in summary.failures]
    return lines


run_app = group("run", "Prefect のフローを今すぐ一度実行する")


@command(run_app, "nightly")
def run_nightly(
    station: Annotated[Optional[str], typer.Option(help="警察署 ID (既定: すべての警察署)")] = None,
    as_of: Annotated[Optional[str], typer.Option("--as-of", help="基準日 YYYY-MM-DD (既定: 今日)")] = None,
):
    """夜間処理を今すぐ一度実行する: 受付フォルダの取込 → 確認済みの値の反映 → 長期不実施・長期未把握の一覧 →
    訪問リストと記入済みカード → 署長への日報 (前日分) → 本部への苦情報告 → 本部への報告 (月初め、前月分)。

    同じ署・同じ基準日に二度実行しても、済んだ処理は繰り返さない。一覧と報告は
    データフォルダの output/<基準日>/<署ID>/ に書き出し、書き出したファイルを表示する。

    例: junkai run nightly --station S01
        junkai run nightly --as-of 2026-11-20
    """
    when = day(as_of, "--as-of")
    # asked here too, so that a refusal comes before Prefect is started; the flow asks again
    with context() as ctx:
        batches.may_run(ctx, station)
        s, operator = ctx.settings, ctx.operator
    failed = None
    with prefect_server(s):
        from flows import nightly as nightly_flow
        from junkai import nightly as N

        with flow_progress():
            try:
                summary = nightly_flow.nightly(station=station, as_of=when, operator=operator)
            except nightly_flow.StepsFailed as exc:
                summary, failed = exc.summary, exc
    for st, steps in summary.items():
        table = Table(title=f"夜間処理 {st}")
        for label in ("処理", "結果", "ファイル", "内容"):
            table.add_column(label)
        for step in N.STEPS:
            r = steps.get(step)
            if r is None:
                continue
            table.add_row(N.STEPS[step], N.STATE_LABELS.get(r["state"], r["state"]), str(len(r.get("files", []))),
                          N.describe(r))
        out.print(table)
    files = [f for steps in summary.values() for step in N.STEPS for f in steps.get(step, {}).get("files", [])
             if step != "inbox"]
    out.print("書き出したファイル:" if files else "新しく書き出したファイルはありません")
    for f in files:
        typer.echo(f)
    if failed:
        err.print(f"エラー: {failed}", highlight=False, soft_wrap=True)
        raise typer.Exit(1)


@command()
def serve(
    port: Annotated[Optional[int], typer.Option(help="Prefect サーバのポート (127.0.0.1 のみ、既定: 設定 prefect.port)")] = None,
):
    """Prefect サーバを 127.0.0.1 で起動し、予定どおりにフローを実行する (Ctrl-C で停止)。

    夜間処理は毎日 02:00 (設定 nightly.at、署ごとに同時に一つまで)、受付フォルダの確認は数分ごと
    (設定 inbox.check_minutes)。サーバのデータベースはデータフォルダの prefect/ に置かれ、外部へは
    何も送らない。実行の様子はブラウザで http://127.0.0.1:4200/ を開いて見る (画面が尋ねる認証文字列は
    データフォルダの prefect/api-auth にある)。画面や API から始めた実行も、この操作者として動く。

    例: junkai serve
    """
    from junkai import prefect_env

    # the deployments run as this operator (flows.common.confined): their rights are checked on every run
    with context() as ctx:
        stations = batches.serving(ctx)
        s, operator = ctx.settings, ctx.operator
    port = port or s.prefect_port
    if prefect_env.server_answers(prefect_env.local_api_url(port)):
        raise JunkaiError(f"ポート {port} ではすでに Prefect サーバが動いています (別の junkai serve?)")
    log = prefect_env.prefect_home(s.home) / "server.log"
    out.print(f"Prefect サーバを起動しています (127.0.0.1:{port}、データベース {log.parent}) ...", highlight=False)
    # the server stops with this command, however it ends (Ctrl-C, SIGTERM, or killed)
    with prefect_env.Server(s.home, port, services=True, log=log) as server:
        from flows import deployments

        planned = deployments.declared(s, stations)
        out.print(f"Prefect の画面: {server.origin}/  (終了は Ctrl-C)", highlight=False)
        out.print(f"画面と API の認証文字列: {log.parent / prefect_env.AUTH_FILE} の内容", highlight=False)
        for d in planned:
            out.print(f"  {d.name}: {d.when}", highlight=False)
        try:
            deployments.serve(planned)
        except KeyboardInterrupt:
            pass
    out.print("停止しました")
