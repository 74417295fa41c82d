"""The store and its users: init, seed, summary, user, audit, purge, backup, restore."""

from __future__ import annotations

import json
from datetime import date
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from junkai import JunkaiError, access
from junkai import settings as settings_mod
from junkai.actions import admin as A
from junkai.cli import command, context, counting, day, err, group, os_operator, out, plain


@command()
def init():
    """ストア (データフォルダのデータベース) を作成または最新の形に更新する。

    例: junkai init
    """
    with context(ready=False) as ctx:
        url = A.init(ctx)
    out.print(f"ストアを準備しました: {url}")


@command()
def seed(
    premises: Annotated[int, typer.Option(help="各戸の総数")] = 300,
    stations: Annotated[int, typer.Option(help="警察署の数 (1〜17)")] = 1,
    seed: Annotated[int, typer.Option(help="乱数の種 (同じ種なら同じデータ)")] = 1,
    until: Annotated[Optional[str], typer.Option(help="履歴の最終日 YYYY-MM-DD (既定: 今日)")] = None,
    users: Annotated[bool, typer.Option("--users", help="最初の警察署に役割ごとのデモの利用者を作る (操作者は管理者・管理責任者)")] = False,
):
    """デモ用の警察署・交番・受持区・各戸・訪問履歴を作成する (架空のデータ)。

    --users を付けると、操作者を管理者と管理責任者にし、署長・交番所長・受持警察官・本部の利用者を一人ずつ作る。

    例: junkai seed --premises 300 --stations 1 --seed 1
        junkai seed --premises 150 --users
    """
    end = day(until, "--until") or date.today()
    with context(migrate=True) as ctx:
        with counting("デモデータを作成中 (各戸)") as on_premises:
            seeded = A.seed(ctx, premises, stations, seed, end, users, on_premises)
        result = seeded.result
        out.print(
            f"デモデータを作成しました: 警察署 {result.stations}、交番・駐在所 {result.posts}、受持区 {result.beats}、"
            f"警察官 {result.officers}、各戸 {result.premises} (世帯 {result.households}・事業所 {result.businesses})、"
            f"カード {result.cards}、訪問 {result.visits} (夜間 {result.night_visits})、"
            f"意見・要望 {result.opinions} (うち苦情 {result.complaints})")
        for name, grant in seeded.users:
            out.print(f"利用者 {name}: {access.describe_grant(grant)}", highlight=False)
        _print_summary(ctx)


@command()
def summary():
    """受持区ごとの各戸・カード・訪問の件数を表示する。

    例: junkai summary
    """
    with context() as ctx:
        _print_summary(ctx)


def _print_summary(ctx) -> None:
    df = A.summary(ctx)
    table = Table(title="受持区ごとの状況")
    for col, label in [("station", "警察署"), ("post", "交番・駐在所"), ("beat", "受持区"), ("premises", "各戸"),
                       ("households", "世帯"), ("cards", "カード"), ("visits", "訪問")]:
        table.add_column(label, justify="right" if df[col].dtype.kind in "iu" else "left")
    for row in df.itertuples(index=False):
        table.add_row(*[str(v) for v in row])
    table.add_row("合計", "", "", *[str(int(df[c].sum())) for c in ("premises", "households", "cards", "visits")],
                  style="bold")
    out.print(table)


# --- the audit log ------------------------------------------------------------------------------

audit_app = group("audit", "監査ログ (誰が、いつ、何を読み・出力し・変更したか)")


@command(audit_app, "verify")
def audit_verify():
    """監査ログを検査し、改ざん・削除・連鎖の作り直し・末尾の切り詰めがあれば最初の行を示す。

    各行の鍵付きハッシュ (データフォルダの keys/audit.key) と、データベースの外の先端の記録
    (データフォルダの audit-head.log) の両方と照合する。

    例: junkai audit verify
    """
    with context() as ctx:
        n = A.verify_audit(ctx)
    out.print(f"監査ログは正常です ({n} 行)")


@command(audit_app, "show")
def audit_show(
    who: Annotated[Optional[str], typer.Option(help="操作者")] = None,
    what: Annotated[Optional[str], typer.Option(help="操作 (前方一致。例: export, review)")] = None,
    since: Annotated[Optional[str], typer.Option(help="この日以降 YYYY-MM-DD")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON で出力する")] = False,
):
    """監査ログを表示する。

    例: junkai audit show --what export --since 2026-11-01
    """
    start = day(since, "--since")
    with context() as ctx:
        events = A.audit_events(ctx, who, what, start)
    if as_json:
        out.print_json(json.dumps([{k: plain(v) for k, v in e.items()} for e in events], ensure_ascii=False))
        return
    table = Table(title=f"監査ログ {len(events)} 件")
    for label in ("id", "日時", "操作者", "OS アカウント@ホスト", "操作", "対象", "内容"):
        table.add_column(label)
    for e in events:
        where = f"{e['os_account']}@{e['host']}" if e["os_account"] else "-"  # rows from before 0011 have none
        table.add_row(str(e["id"]), f"{e['at']:%Y-%m-%d %H:%M:%S}", e["operator"], where, e["action"],
                      f"{e['target_kind']} {e['target_id'] or ''}".strip(), e["detail"])
    out.print(table)


# --- retention, backup and restore (個人情報保護法 第66条・第69条) ----------------------------


@command()
def purge(
    output: Annotated[bool, typer.Option("--output", help="古い出力ファイル (PDF・CSV・JSON) を削除する")] = False,
    days: Annotated[Optional[int], typer.Option(help="--output: この日数より前に書かれたもの (既定: [retention] output_days)")] = None,
    years: Annotated[Optional[int], typer.Option(help="転出・廃業からこの年数を過ぎた各戸 (既定: [retention] ceased_years)")] = None,
    folder: Annotated[Optional[list[Path]], typer.Option(help="--output: 対象のフォルダ (既定: [nightly] output と ./output)")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="削除せず、削除されるものの数だけを示す")] = False,
):
    """保存期間を過ぎた個人情報を削除する。監査ログには件数だけを記録する。

    --output なし: 転出・廃業 (状態 ceased) から [retention] ceased_years 年を過ぎた各戸の、各戸・カード・変更履歴・
    訪問・意見要望・確認待ち・印刷したカード・走査頁と、その各戸だけの走査ファイルと切り出し画像を削除する。
    --output: 出力フォルダの [retention] output_days 日より古い PDF・CSV・JSON を削除する。

    例: junkai purge --dry-run
        junkai purge
        junkai purge --output --days 30
    """
    from junkai import retention

    with context() as ctx:
        if output:
            n, r = A.purge_output(ctx, days, folder, dry_run=dry_run)
            verb = "削除します (実行していません)" if dry_run else "削除しました"
            out.print(f"{n} 日より前の出力ファイル {r.files} 件 ({r.bytes:,} バイト) を{verb}"
                      + (f"。削除できなかったもの {r.failed} 件" if r.failed else ""), highlight=False)
            return
        n, r = A.purge_ceased(ctx, years, dry_run=dry_run)
    labels = retention.describe_counts()
    table = Table(title=f"{r.ceased_before} 以前に転出・廃業した各戸 ({n} 年を経過)"
                        + (" — 削除します (実行していません)" if dry_run else " — 削除しました"))
    # one row per kind, one column per station: 17 stations fit a terminal, a dozen kinds side by side do not
    table.add_column("")
    for station in r.stations:
        table.add_column(station, justify="right")
    for key, label in labels.items():
        table.add_row(label, *(str(counts.get(key, 0)) for counts in r.stations.values()))
    out.print(table)
    out.print(f"各戸 {r.premises} 戸、ファイル {r.files} 件"
              + ("" if dry_run else f" (削除 {r.files_removed} 件、受付フォルダに残っていた写し {r.archive_removed} 件)")
              + (f"。削除できなかったファイル {r.failed} 件" if r.failed else ""), highlight=False)


@command()
def backup(out_path: Annotated[Path, typer.Argument(help="作成するバックアップのファイル (まだないもの)")]):
    """ストアとデータフォルダ (走査の原本 scans/、切り出し画像 crops/、隔離 quarantine/、印刷の鍵) を、暗号化した
    一つのファイルにバックアップする。鍵 (junkai backup-key で作る) がなければ中身は何も読めない。

    SQLite のストアは他の処理が書き込み中でも一貫した状態で写す。ファイルは所有者のみ読み書き (0600)。
    PostgreSQL のときはファイルと鍵だけを写す (データベースは pg_dump で。README 参照)。

    例: junkai backup /mnt/backup/junkai-2026-11-20.age
    """
    with context() as ctx, counting("バックアップを作成中 (ファイル)") as on_files:
        r = A.backup(ctx, out_path, on_files)
    out.print(f"バックアップを作成しました: {r.path} (暗号化済み、ファイル {r.files} 件、{r.bytes:,} バイト)",
              highlight=False)
    if r.database != "sqlite":
        err.print("データベースはこのバックアップに含まれません。pg_dump で別にバックアップしてください "
                  "(例: pg_dump -Fc -f junkai.dump \"$JUNKAI_DB_URL\" の URL から +psycopg を除いたもの)",
                  highlight=False, soft_wrap=True)


@command(name="backup-key")
def backup_key(identity_file: Annotated[Path, typer.Argument(
        help="秘密鍵を書き出すファイル (データフォルダの外、バックアップとも別の媒体)")]):
    """バックアップの鍵を作る (一度だけ)。秘密鍵のファイルは復元に要るので、データフォルダとバックアップとは別に
    保管する (例: 管理責任者の金庫の USB メモリ)。データフォルダには暗号化用の公開鍵と署名鍵だけを残す。

    例: junkai backup-key /media/usb/junkai-backup.key
    """
    with context() as ctx:
        recipient = A.backup_key(ctx, identity_file)
    out.print(f"バックアップ鍵を作りました: {identity_file} (公開鍵 {recipient})。"
              "このファイルはデータフォルダやバックアップとは別の場所に保管してください", highlight=False)


@command()
def restore(
    backup_path: Annotated[Path, typer.Argument(help="junkai backup で作ったファイル")],
    identity: Annotated[Path, typer.Option("--identity", help="junkai backup-key で作った秘密鍵のファイル")],
):
    """バックアップを空のデータフォルダ (JUNKAI_HOME) に戻す。既存のストアは上書きしない。

    復号し、署名した manifest とすべてのファイルを照合してから戻し、戻した後に監査ログを検査する。
    戻すストアの管理者 (admin) だけが戻せる。

    例: JUNKAI_HOME=/srv/junkai/data junkai restore /mnt/backup/junkai-2026-11-20.age --identity /media/usb/junkai-backup.key
    """
    with counting("バックアップを戻し中 (KB)") as on_read:
        r = A.restore(settings_mod.load(), os_operator(), backup_path, identity,
                      lambda done, total: on_read(-(-done // 1024), -(-total // 1024)))
    out.print(f"バックアップを戻しました: {r.path} (ファイル {r.files} 件、各戸 {r.rows.get('premises', 0)} 戸)",
              highlight=False)


# --- users: who may do what, within which station, post or beats --------------------------------

user_app = group("user", "利用者と役割 (誰が、どの範囲で、何をできるか)")


class Role(str, Enum):
    custodian = "custodian"
    handler = "handler"
    officer = "officer"
    chief = "chief"
    hq = "hq"
    admin = "admin"


@command(user_app, "add")
def user_add(
    name: Annotated[str, typer.Argument(help="利用者名 (監査ログに記録される名前)")],
    role: Annotated[Role, typer.Option(help="custodian (管理責任者・地域課長)、handler (取扱責任者・交番所長・駐在所長)、"
                                            "officer (受持警察官)、chief (署長)、hq (警察本部)、admin (管理者)")],
    station: Annotated[Optional[str], typer.Option(help="警察署 ID (custodian・chief)")] = None,
    post: Annotated[Optional[str], typer.Option(help="交番・駐在所 ID (handler)")] = None,
    officer: Annotated[Optional[str], typer.Option(help="警察官 ID (officer: その日に受け持つ受持区)")] = None,
):
    """利用者に役割を与える (第7-2)。同じ名前に複数の役割を与えることもできる。最初の利用者は管理者にする。

    最初の管理者は、このコマンドを実行した OS アカウントに結び付く。ほかの利用者は junkai user bind で
    OS アカウントに結び付けるまで junkai を使えない。

    例: junkai user add "地域課長 佐藤" --role custodian --station S01
        junkai user add "交番所長 田中" --role handler --post S01-P01
        junkai user add "巡査 木村" --role officer --officer S01-O001
    """
    name = name.strip()
    with context() as ctx:
        grant = A.add_user(ctx, name, role.value, station, post, officer)
    out.print(f"利用者 {name} に {access.describe_grant(grant)} の役割を与えました", highlight=False)


@command(user_app, "list")
def user_list(as_json: Annotated[bool, typer.Option("--json", help="JSON で出力する")] = False):
    """利用者と役割の一覧 (無効にした利用者も、いつ誰が無効にしたかとともに示す)。

    例: junkai user list
    """
    with context() as ctx:
        users = A.users(ctx)
    if as_json:
        out.print_json(json.dumps([{k: plain(v) for k, v in u.items()} for u in users], ensure_ascii=False))
        return
    if not users:
        out.print(access.SETUP_WARNING, highlight=False)
        return
    table = Table(title=f"利用者 {len({u['name'] for u in users if not u['disabled_at']})} 名")
    for label in ("利用者", "OS アカウント", "役割", "範囲", "登録", "無効"):
        table.add_column(label)
    for u in users:
        table.add_row(u["name"], u["os_account"] or "-", access.ROLES[u["role"]],
                      u["station_id"] or u["post_id"] or u["officer_id"] or "-",
                      f"{u['created_at']:%Y-%m-%d %H:%M} {u['created_by']}",
                      f"{u['disabled_at']:%Y-%m-%d %H:%M} {u['disabled_by']}" if u["disabled_at"] else "")
    out.print(table)


@command(user_app, "disable")
def user_disable(name: Annotated[str, typer.Argument(help="利用者名")]):
    """利用者を無効にする (すべての役割)。記録は消さず、いつ誰が無効にしたかを残す。

    例: junkai user disable "交番所長 田中"
    """
    with context() as ctx:
        A.disable_user(ctx, name)
    out.print(f"利用者 {name} を無効にしました", highlight=False)


@command(user_app, "passwd")
def user_passwd(name: Annotated[Optional[str], typer.Argument(help="利用者名 (既定: 操作者自身)")] = None):
    """確認作業の画面にログインする合言葉を設定する (10 文字以上、2 回入力)。

    自分の合言葉は本人が設定する。管理者はほかの利用者の合言葉を設定し直せる (忘れたとき、ロックの解除。
    監査ログに残る)。合言葉は画面に表示されず、ストアには復元できない形 (argon2) でだけ保存する。

    例: junkai user passwd
        junkai user passwd "地域課長 佐藤"   # 管理者が設定し直す
    """
    import getpass

    from junkai.actions import login as L

    with context() as ctx:
        who = (name or ctx.operator).strip()
        try:
            first = getpass.getpass(f"{who} の新しい合言葉: ")
            second = getpass.getpass("もう一度: ")
        except (EOFError, KeyboardInterrupt):
            raise JunkaiError("合言葉の入力が中断されました (何も変えていません)")
        if first != second:
            raise JunkaiError("2 回の入力が一致しません (何も変えていません)")
        L.set_passphrase(ctx, who, first)
    out.print(f"{who} の合言葉を設定しました", highlight=False)


@command(user_app, "bind")
def user_bind(name: Annotated[str, typer.Argument(help="利用者名")],
              account: Annotated[str, typer.Argument(help="OS アカウント (ログイン名)")]):
    """利用者を OS アカウントに結び付ける。その OS アカウントで実行したコマンドはこの利用者の操作になる。

    一つの OS アカウントには一人の利用者だけを結び付けられる。

    例: junkai user bind "地域課長 佐藤" sato
    """
    with context() as ctx:
        A.bind_user(ctx, name, account)
    out.print(f"利用者 {name} を OS アカウント {account.strip()} に結び付けました", highlight=False)


@command(user_app, "unbind")
def user_unbind(name: Annotated[str, typer.Argument(help="利用者名")]):
    """利用者と OS アカウントの結び付きを外す (その OS アカウントでは junkai を使えなくなる)。

    例: junkai user unbind "地域課長 佐藤"
    """
    with context() as ctx:
        account = A.unbind_user(ctx, name)
    out.print(f"利用者 {name} と OS アカウント {account} の結び付きを外しました", highlight=False)
