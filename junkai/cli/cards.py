"""Premises and cards: premises add, card amend, history; beat frequency and list; campaigns."""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated, Optional

import typer
from rich.table import Table

from junkai import JunkaiError, model
from junkai.actions import cards as A
from junkai.cli import Kind, command, context, day, group, out, plain, show

premises_app = group("premises", "各戸 (世帯・事業所) の登録")
card_app = group("card", "巡回連絡カードの内容")


@command(premises_app, "add")
def premises_add(
    beat: Annotated[str, typer.Option(help="受持区 ID")],
    postal_code: Annotated[str, typer.Option(help="郵便番号 (7桁)")],
    town: Annotated[str, typer.Option(help="町名")],
    block: Annotated[str, typer.Option(help="番地・号")],
    kind: Annotated[Kind, typer.Option(help="household (世帯)、business (事業所) または apartment (集合住宅)")] = Kind.household,
    building: Annotated[Optional[str], typer.Option(help="建物名")] = None,
    room: Annotated[Optional[str], typer.Option(help="部屋番号")] = None,
):
    """各戸を登録する。都道府県・市区町村は郵便番号から決まる。

    例: junkai premises add --beat S01-P01-B1 --postal-code 030-0861 --town 長島 --block 1-1-1
    """
    with context() as ctx:
        p = A.add_premises(ctx, beat, kind.value, postal_code, town, block, building, room)
    out.print(f"各戸 {p.id} を登録しました: {p.address}")


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
    when = day(on, "--on")
    with context() as ctx:
        version = A.amend_card(ctx, premises_id, parsed, when)
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
    when = day(at, "--at")
    with context() as ctx:
        doc = A.history(ctx, premises_id, when)
    p, card, events = doc["premises"], doc["card"], doc["events"]
    if as_json:
        doc = dict(premises={k: plain(v) for k, v in p.items()}, at=at, card=card,
                   events=[{k: plain(v) for k, v in e.items()} for e in events],
                   building=doc["building"] and doc["building"]["id"], rooms=[r["id"] for r in doc["rooms"]])
        out.print_json(json.dumps(doc, ensure_ascii=False))
        return
    kind = p["kind"]
    address = f"{p['prefecture']}{p['city']}{p['town']}{p['block']} {p['building'] or ''} {p['room'] or ''}".strip()
    out.print(f"[bold]各戸 {premises_id}[/] {model.PREMISES_KINDS[kind]}  {address}  受持区 {p['beat_id']}  "
              f"状態 {model.PREMISES_STATUSES[p['status']]}")
    out.print(f"{at + ' 時点の' if at else '現在の'}カード:" if card != model.empty_card(kind) else "カードなし")
    _print_card(kind, card)
    if doc["building"]:
        out.print(f"建物のカード: 各戸 {doc['building']['id']} (集合住宅 {doc['building']['building']})")
    if doc["rooms"]:
        rooms = Table(title="この建物の各戸")
        for label in ("各戸", "部屋", "種別", "状態"):
            rooms.add_column(label)
        for r in doc["rooms"]:
            rooms.add_row(str(r["id"]), r["room"] or "", model.PREMISES_KINDS[r["kind"]],
                          model.PREMISES_STATUSES[r["status"]])
        out.print(rooms)
    table = Table(title="変更履歴")
    for label in ("版", "日時", "項目", "変更前", "変更後", "出所", "記録者"):
        table.add_column(label)
    for e in events:
        table.add_row(str(e["version"]), f"{e['at']:%Y-%m-%d %H:%M}", model.label_of(kind, e["path"]),
                      show(e["before"]), show(e["after"]), e["source"], e["operator"])
    out.print(table)


def _print_card(kind: str, card: dict) -> None:
    for fid, spec in model.KIND_FIELDS[kind].items():
        if fid in card:
            out.print(f"  {spec.label}: {show(card[fid])}")
    for name in model.KIND_GROUPS[kind]:
        rows = card.get(name, {})
        if not rows:
            continue
        table = Table(title={"members": "世帯員", "contacts": "緊急連絡先"}[name])
        table.add_column("#")
        for spec in model.GROUPS[name].values():
            table.add_column(spec.label)
        for key, row in rows.items():
            table.add_row(key, *[show(row.get(f)) for f in model.GROUPS[name]])
        out.print(table)


# --- beats: frequencies and officers (第6-2) -------------------------------------------------------

beat_app = group("beat", "受持区の実施頻度と受持警察官")


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
    start = day(since, "--from")
    if not by.strip():
        raise JunkaiError("定めた署長の氏名を --by で指定してください")
    with context() as ctx:
        A.set_frequency(ctx, beat, months, start, by)
    out.print(f"受持区 {beat} の実施頻度を {start} から {months} か月としました ({by})")


@command(beat_app, "list")
def beat_list(
    station: Annotated[Optional[str], typer.Option(help="警察署 ID (既定: すべて)")] = None,
    as_of: Annotated[Optional[str], typer.Option("--as-of", help="基準日 YYYY-MM-DD (既定: 今日)")] = None,
):
    """受持区ごとの受持警察官・実施頻度と、異動状況から見た推奨頻度 (第6-2 の判断材料)。

    例: junkai beat list --station S01
    """
    when = day(as_of, "--as-of") or date.today()
    with context() as ctx:
        df = A.beats(ctx, when, station)
        s = ctx.settings
    table = Table(title=f"受持区の実施頻度 ({when} 現在)",
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


# --- campaigns (重点巡回連絡, 第4-3) ------------------------------------------------------------------

campaign_app = group("campaign", "重点巡回連絡 (重大な事件などで住民の不安を解消するため、第4-3)")


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
    start = day(since, "--from")
    end = day(until, "--until")
    with context() as ctx:
        c = A.add_campaign(ctx, reason, end, A.split(beats), A.split(towns), start, by)
    out.print(f"重点巡回連絡 {c.id} を登録しました: 対象 {c.premises} 戸、{c.start} 〜 {c.until}")


@command(campaign_app, "list")
def campaign_list(
    as_of: Annotated[Optional[str], typer.Option("--as-of", help="基準日 YYYY-MM-DD (既定: 今日)")] = None,
):
    """実施中の重点巡回連絡と進み具合 (対象の各戸のうち開始後に面接した数)。

    例: junkai campaign list
    """
    when = day(as_of, "--as-of") or date.today()
    with context() as ctx:
        df = A.campaigns(ctx, when)
    table = Table(title=f"実施中の重点巡回連絡 ({when} 現在)")
    for label in ("番号", "理由", "期間", "対象", "面接済", "進捗"):
        table.add_column(label)
    for (cid, reason, start, end), g in df.groupby(["campaign_id", "reason", "starts_on", "until"]):
        met = int(g.met.astype(bool).sum())
        table.add_row(str(cid), reason, f"{start} 〜 {end}", str(len(g)), str(met), f"{met / len(g):.0%}")
    out.print(table if len(df) else "実施中の重点巡回連絡はありません")
