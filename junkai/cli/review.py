"""The review queue on the command line: review list, show, accept, correct, reject, undo, serve."""

from __future__ import annotations

import json
from typing import Annotated, Optional

import typer
from rich import box
from rich.table import Table

from junkai import JunkaiError, model
from junkai.actions import review as A
from junkai.cli import command, context, group, out, plain, scope, show
from junkai.review import HOW
from junkai.store import scope_text

review_app = group("review", "確認待ちの値 (読み取りに自信がない、または検証に通らなかった値)")
COMPLAINT = typer.Option("--complaint", help="要望・意見が警察活動への苦情であるとき (本部へ報告、第4-5)")
MOVE = typer.Option("--as-move", help="所在地の変更を転居として採用する (この各戸は転出、新しい住所に各戸を作り世帯を移す)")
FIX = typer.Option("--as-correction", help="所在地の変更を住所の訂正として採用する (同じ各戸の住所を直す)")
YES = typer.Option("--yes", "-y", help="各戸の確認で、答えた各戸の住所を示したあと尋ねずに採用する")


STATUS = {"pending": "未確認", "accepted": "採用", "corrected": "訂正", "rejected": "却下"}


def _shown(v) -> str:
    if isinstance(v, dict) and v.get("as") in HOW:  # an address change taken: how, and the address
        return f"{HOW[v['as']]} {model.address_line(v)}"
    return "(空欄)" if v in (None, "", []) else show(v)


def _candidates(i: dict) -> str:
    """An identity item's candidates (those within the operator's scope), one premises each."""
    if i["kind"] != "premises" or not isinstance(i["candidates"], list):
        return _shown(i["candidates"])
    return " / ".join(f"各戸 {c['premises_id']} {c.get('address', '')} {c.get('names', '')} (一致 {c.get('score', '-')})"
                      for c in i["candidates"]) or "(範囲内の候補なし)"


def _confirmed(ctx, item_id: int, value: str | None, yes: bool) -> None:
    """Which premises a card is: the premises answered shown by its address, and taken only once the
    person says so (or --yes), so that a mistyped id is seen before it writes onto another's card."""
    chosen = A.choose(ctx, item_id, value, accept=value is None)
    if chosen is None:
        return
    out.print(f"各戸 {chosen['chosen']}: {chosen['chosen_address']}", highlight=False)
    try:
        if yes or typer.confirm("この各戸のカードとして採用しますか", default=False):
            return
    except typer.Abort:
        pass
    raise JunkaiError("採用しませんでした (各戸 ID を確かめてください)")


def _how(as_move: bool, as_correction: bool) -> str | None:
    """Move or correction, for an address change: never both (neither is refused by the decision itself)."""
    if as_move and as_correction:
        raise JunkaiError("--as-move と --as-correction はどちらか一方だけを指定してください")
    return "move" if as_move else "correction" if as_correction else None


def _answered(item_id: int, item: dict) -> str:
    """What was taken; for which premises a card is, that premises with its address; for an address change,
    the move or the correction."""
    value = item.get("value")
    if isinstance(value, dict) and value.get("as") == "move":
        return (f"項目 {item_id}: 転居として採用しました。各戸 {item['premises_id']} は転出とし、"
                f"新しい各戸 {item.get('moved_to')} ({item.get('moved_address')}) に世帯を移しました")
    if isinstance(value, dict) and value.get("as") == "correction":
        return f"項目 {item_id}: 住所の訂正として採用しました。各戸 {item['premises_id']} の住所を直しました"
    if item.get("chosen"):
        return f"項目 {item_id}: 各戸 {item['chosen']} ({item['chosen_address']}) のカードとして採用しました"
    return f"項目 {item_id} を {_shown(item['value'])} として採用しました"


@command(review_app, "list")
def review_list(
    as_json: Annotated[bool, typer.Option("--json", help="JSON で出力する")] = False,
    everything: Annotated[bool, typer.Option("--all", help="判断済みのものも含める")] = False,
    beat: Annotated[Optional[str], typer.Option(help="この受持区の項目だけ")] = None,
    post: Annotated[Optional[str], typer.Option(help="この交番・駐在所の項目だけ")] = None,
    station: Annotated[Optional[str], typer.Option(help="この警察署の項目だけ")] = None,
):
    """確認待ちの項目の一覧。範囲を指定すると、その各戸と、その受持区に印刷した白紙カードの項目だけ。

    複数の警察署を持つストアでは、省略すると自分の警察署の項目 (複数の署を担当するときは --station で選ぶ)。

    例: junkai review list
        junkai review list --station S01
    """
    from junkai.actions.batches import own_station

    where = scope(beat, post, station)
    with context() as ctx:
        if where is None and (own := own_station(ctx, "review")):
            where = ("station", own)
        items = A.items(ctx, everything, where)
    if as_json:
        out.print_json(json.dumps([{k: plain(v) for k, v in i.items()} for i in items], ensure_ascii=False))
        return
    # 理由 last and folded, the other columns folded too: at 100 columns every reason is read whole
    table = Table(title=f"確認待ち {sum(i['status'] == 'pending' for i in items)} 件", box=box.SIMPLE_HEAD,
                  pad_edge=False)
    for label in ("番号", "各戸", "項目", "読み取り", "確信度", "カードの値", "状態", "理由"):
        table.add_column(label, overflow="fold", ratio=3 if label == "理由" else None,
                         min_width=14 if label == "理由" else None)
    for i in items:
        table.add_row(str(i["id"]), str(i["premises_id"] or "-"), i["label"], _shown(i["guess"]),
                      f"{i['confidence']:.2f}" if i["confidence"] is not None else "-", _shown(i["printed"]),
                      STATUS.get(i["status"], i["status"]),
                      " / ".join(r["message"] for r in i["rules"]) or "確信度が低い")
    out.print(table)


@command(review_app, "show")
def review_show(item_id: Annotated[int, typer.Argument(help="項目の番号")]):
    """確認待ちの項目を一つ表示する (画像の切り出しのパスを含む)。

    例: junkai review show 12
    """
    with context() as ctx:
        i = A.show(ctx, item_id)
    rows = [("番号", i["id"]), ("状態", i["status"]), ("各戸", i["premises_id"] or "-"),
            ("項目", f"{i['label']} ({i['field']})"), ("読み取り", _shown(i["guess"])),
            ("確信度", i["confidence"]), ("カードの値", _shown(i["printed"])),
            ("理由", " / ".join(r["message"] for r in i["rules"]) or "確信度が低い"),
            ("候補", _candidates(i)), ("画像", i["crop"] or "-"), ("読み取り元", i["page_id"]),
            ("判断", f"{_shown(i['value'])} ({i['decided_by']}、{i['decided_at']})" if i["decided_by"] else "-")]
    if i.get("chosen_address"):  # the premises read for an identity item, by its address
        rows.append(("読み取りの各戸", f"各戸 {i['chosen']} {i['chosen_address']}"))
    for label, value in rows:
        out.print(f"{label}: {value}", highlight=False)


@command(review_app, "accept")
def review_accept(item_id: Annotated[int, typer.Argument(help="項目の番号")],
                  complaint: Annotated[bool, COMPLAINT] = False, yes: Annotated[bool, YES] = False,
                  as_move: Annotated[bool, MOVE] = False, as_correction: Annotated[bool, FIX] = False):
    """読み取った値をそのまま採用する (検証に通る場合のみ)。カードにすぐ反映される。

    各戸の確認では、その各戸の住所を示して採用してよいかを尋ねる (--yes で尋ねない)。
    所在地の変更は、転居 (--as-move) か住所の訂正 (--as-correction) かを必ず指定する
    (どちらでもなければ junkai review reject で却下)。

    例: junkai review accept 12
        junkai review accept 14 --as-move
    """
    how = _how(as_move, as_correction)
    with context() as ctx:
        _confirmed(ctx, item_id, None, yes)
        item = A.decide(ctx, item_id, "accept", complaint=complaint, how=how)
    shown = _answered(item_id, item) if item.get("chosen") or how else \
        f"項目 {item_id} を採用しました: {_shown(item['value'])}"
    out.print(shown, highlight=False)


@command(review_app, "correct")
def review_correct(item_id: Annotated[int, typer.Argument(help="項目の番号")],
                   value: Annotated[str, typer.Argument(help="正しい値 (各戸の確認では各戸 ID、新しい各戸なら new)")],
                   complaint: Annotated[bool, COMPLAINT] = False, yes: Annotated[bool, YES] = False,
                   as_move: Annotated[bool, MOVE] = False, as_correction: Annotated[bool, FIX] = False):
    """正しい値に直して採用する。直した値も検証する。カードにすぐ反映される。

    各戸の確認では、答えた各戸の住所を示して採用してよいかを尋ねる (--yes で尋ねない)。
    所在地の変更は、郵便番号と住所を直し、転居 (--as-move) か住所の訂正 (--as-correction) かを必ず指定する。

    例: junkai review correct 12 090-1234-5678
        junkai review correct 13 117 --yes
        junkai review correct 14 "〒030-0801 青森市新町1-2-3" --as-correction
    """
    how = _how(as_move, as_correction)
    with context() as ctx:
        _confirmed(ctx, item_id, value, yes)
        item = A.decide(ctx, item_id, "correct", value=value, complaint=complaint, how=how)
    out.print(_answered(item_id, item), highlight=False)


@command(review_app, "reject")
def review_reject(item_id: Annotated[int, typer.Argument(help="項目の番号")],
                  reason: Annotated[str, typer.Option(help="却下の理由")]):
    """値を採用しない (カードは変わらない)。理由を残す。

    例: junkai review reject 12 --reason "判読できない"
    """
    with context() as ctx:
        A.decide(ctx, item_id, "reject", reason=reason)
    out.print(f"項目 {item_id} を却下しました")


@command(review_app, "undo")
def review_undo(item_id: Annotated[int, typer.Argument(help="項目の番号")]):
    """判断を取り消して確認待ちに戻す。カードに反映済みの値は元に戻す補正を加える (履歴は消さない)。

    転居・新しい各戸・世帯員の追加や転出・意見の記録は取り消せない (カードの補正で直す)。
    例: junkai review undo 12
    """
    with context() as ctx:
        A.undo(ctx, item_id)
    out.print(f"項目 {item_id} の判断を取り消しました (確認待ちに戻しました)")


@command(review_app, "serve")
def review_serve(
    port: Annotated[int, typer.Option(help="ポート番号 (127.0.0.1 のみで待ち受ける)")] = 8765,
    beat: Annotated[Optional[str], typer.Option(help="この受持区の項目だけ")] = None,
    post: Annotated[Optional[str], typer.Option(help="この交番・駐在所の項目だけ")] = None,
    station: Annotated[Optional[str], typer.Option(help="この警察署の項目だけ")] = None,
):
    """確認作業の画面をブラウザで開けるようにする (http://127.0.0.1:8765/)。Enter で採用、Esc で飛ばす。

    所在地の変更は「転居」「住所の訂正」「却下」のボタンで選ぶ (Enter だけでは採用しない)。

    画面では利用者名と合言葉 (junkai user passwd で設定) でログインし、その利用者の範囲の項目だけを扱う。
    範囲を指定すると、その範囲の項目だけを順に示す (指定しなければ、ログインした利用者の警察署の項目)。

    例: junkai review serve --port 8765
        junkai review serve --station S01
    """
    import uvicorn

    from junkai.review_web import create_app

    where = scope(beat, post, station)
    with context() as ctx:
        A.may_review_queue(ctx, where)
        text = f"、範囲: {scope_text(where)}" if where else ""
        out.print(f"確認画面: http://127.0.0.1:{port}/  (起動した操作者: {ctx.operator}{text}、"
                  "画面では各自の利用者名と合言葉でログイン、終了は Ctrl-C)")
        uvicorn.run(create_app(ctx.store, ctx.settings.home, where, ctx.settings.review_hosts), host="127.0.0.1",
                    port=port, log_level="warning")
