"""The printed card and reading it back: form describe, print cards, read, simulate, bench ocr."""

from __future__ import annotations

import json
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from junkai import JunkaiError
from junkai import settings as settings_mod
from junkai.cli import Kind, bar, command, context, err, group, notice, out

form_app = group("form", "カードの様式 (欄の種類と位置)")
print_app = group("print", "カードの印刷 (PDF)")


class DescribeFormat(str, Enum):
    json = "json"


@command(form_app, "describe")
def form_describe(
    type_: Annotated[Kind, typer.Option("--type", help="household (世帯用)、business (事業所用) または apartment (集合住宅用)")] = Kind.household,
    fmt: Annotated[DescribeFormat, typer.Option("--format", help="json")] = DescribeFormat.json,
    pages: Annotated[int, typer.Option(help="何枚目の用紙まで出すか (2 枚目からは続きの用紙)")] = 2,
    form_version: Annotated[Optional[int], typer.Option(
        "--form-version", help="様式の版 (QR コードの版。省略時は最新版)")] = None,
):
    """カードの様式を表示する: 用紙、位置合わせマーカー、QR、各欄の種類と位置 (mm、左上が原点)。

    公開済みのどの版も表示できる (印刷済みのカードはその版で読む)。

    例: junkai form describe --type household --format json --form-version 1
    """
    # the form's layout only, no personal data: no store, no operator
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
    blank_type: Annotated[Optional[Kind], typer.Option(
        "--type", help="カードの種類: 白紙カードの種類 (省略時は世帯用)、--beat だけのときはその種類の各戸だけ")] = None,
    members: Annotated[int, typer.Option(help="白紙カード 1 枚に書く人数: その人数分の続きの用紙をつける")] = 0,
    out_dir: Annotated[Path, typer.Option("--out-dir", help="出力フォルダ")] = Path("output"),
    lang: Annotated[Optional[str], typer.Option(
        "--lang", help="カードの言語 ja / en / zh / ko (省略時: 各戸のカードの言語、なければ ja)")] = None,
):
    """巡回連絡カードを一つの PDF に印刷する。記入済みのカードは住所順、先頭に表紙 (第6-7)。

    印刷は個人情報の出力なので、誰が・いつ・どのカードのどの版を印刷したかを記録する。
    作成したファイルのパスを表示する。

    例: junkai print cards --beat S01-P01-B1
        junkai print cards --premises 12,15
        junkai print cards --blank 3 --beat S01-P01-B1
        junkai print cards --beat S01-P01-B1 --type apartment
        junkai print cards --blank 2 --members 6 --beat S01-P01-B1
        junkai print cards --premises 12 --lang en

    言語を変えても欄の位置は同じ (印刷される文字だけが変わる)。
    """
    from junkai.actions import printing

    ids = []
    for item in premises or []:
        for part in item.replace(" ", ",").split(","):
            if part:
                if not part.isdigit():
                    raise JunkaiError(f"各戸 ID は数字です: {part!r}")
                ids.append(int(part))
    with context() as ctx, bar("カードの印刷") as on_card:
        printed = printing.print_cards(ctx, out_dir, premises_ids=ids, beat=beat, blank=blank,
                                       blank_form=blank_type.value if blank_type else "household",
                                       kind=blank_type.value if blank_type and not blank and not ids else None,
                                       members=members, on_card=on_card, lang=lang)
    out.print(f"カード {printed.cards} 枚 (用紙 {printed.sheets} 枚、表紙を含め {printed.pages} 頁) を書き出しました "
              f"(印刷番号 {printed.batch_id})", highlight=False)
    typer.echo(str(printed.path))


# --- reading returned cards, and the scan simulator ------------------------------


@command(name="read")
def read_scans(
    files: Annotated[list[Path], typer.Argument(help="走査画像 (PDF・TIFF・PNG・JPEG) またはそれらのフォルダ")],
    as_json: Annotated[bool, typer.Option("--json", help="1 頁につき 1 行の JSON で出力する")] = False,
    crops: Annotated[Optional[Path], typer.Option(help="各欄の切り出し画像の保存先 (既定: データフォルダの crops)")] = None,
    workers: Annotated[int, typer.Option(help="同時に読む頁の数")] = 2,
    station: Annotated[Optional[str], typer.Option(
        help="この警察署の走査として読む (既定: 自分の警察署。複数の署を担当するときは指定する)")] = None,
):
    """走査したカードを読み取る: QR でカードを特定し、マーカーで位置を合わせ、各欄を確からしさつきで読む。

    読めない頁は止まらずに「失敗」とし、理由を添えてデータフォルダの quarantine に保存する。
    白紙の頁 (裏面) は読み飛ばす。欄の ID は `junkai form describe` と同じ。

    例: junkai read scans/ --json > results.jsonl
        junkai read --station S01 scans/
    """
    from junkai.actions import batches
    from ocr.read import Reader

    missing = [str(f) for f in files if not f.exists()]
    if missing:
        raise JunkaiError(f"ファイルがありません: {', '.join(missing)}")
    if workers < 1:
        raise JunkaiError(f"--workers は 1 以上です: {workers}")
    s = settings_mod.load()
    if batches.has_store(s):  # what is read off the scans is personal data: asked and audited
        with context(ready=False, upgrading=False) as ctx:
            batches.read_scans(ctx, files, station)
    reader = Reader.for_home(s.home, crops, engine=s.ocr_engine)
    reader.max_pages, reader.page_seconds = s.max_pages, s.page_seconds
    counts: dict[str, int] = {}
    results = reader.read_paths(files, workers=workers)
    if as_json:
        with bar("読み取り中 (頁)") as on_page:
            for r, line in _tee(results, counts, on_page):
                typer.echo(line)
    else:
        table = Table(title="読み取り結果")
        for label in ("ファイル", "頁", "状態", "カード", "様式", "読めた欄", "要確認", "理由"):
            table.add_column(label)
        status_label = {"ok": "成功", "partial": "一部", "failed": "失敗", "skipped": "読み飛ばし"}
        with bar("読み取り中 (頁)") as on_page:
            read = list(_tee(results, counts, on_page))
        for r, _ in read:
            filled = [f for f in r.fields if f.value not in (None, [], "")]
            unsure = [f for f in filled if f.confidence < 0.8 or f.reasons]
            ident = r.identity.print_id if r.identity else "-"
            table.add_row(Path(r.source).name, str(r.page), status_label[r.status], ident,
                          f"{r.form or '-'} {r.sheet or ''}".strip(), str(len(filled)), str(len(unsure)),
                          " / ".join(r.messages))
        out.print(table)
    summary = "、".join(f"{k} {v}" for k, v in counts.items())
    err.print(f"{sum(counts.values())} 頁を読みました ({summary})", highlight=False)


def _tee(results, counts: dict[str, int], on_page=None):
    for r in results:
        counts[r.status] = counts.get(r.status, 0) + 1
        if on_page:  # the number of pages is known only once every file is opened
            on_page(sum(counts.values()), None)
        yield r, r.dumps()


@command()
def simulate(
    cards_pdf: Annotated[Path, typer.Argument(help="`junkai print cards` で作った PDF")],
    out_dir: Annotated[Path, typer.Option("--out", help="走査画像と truth.json の出力先フォルダ")],
    seed: Annotated[int, typer.Option(help="乱数の種 (同じ種なら同じ結果)")] = 1,
    limit: Annotated[Optional[int], typer.Option(help="先頭から何枚のカードを使うか")] = None,
    degrade: Annotated[str, typer.Option(
        help="走査の劣化の種類: ordinary (既定) / clean / noisy / light / dark / bw / photo / mix")] = "ordinary",
):
    """印刷したカードに住民が記入し、警察署で走査した状態を模擬する (試験・デモ用)。

    手書き風の文字・チェック・訂正線を書き込み、傾き・回転・ぼけ・雑音・JPEG 圧縮・解像度・
    白黒/グレー/カラーの違いを付けて、走査画像と、書き込んだ内容の正解 (truth.json) を出力する。
    --degrade で劣化の種類を選ぶ: ordinary は普段の走査、clean はきれいな走査、noisy はしみ・
    複写の筋・紙の地模様・裏写り・インクのにじみ、light は薄い走査と薄いペン、dark は濃い走査、
    bw は 200 dpi の白黒 2 値 (しきい値・誤差拡散の乱れ)、photo はスマートフォンで撮った写真
    (斜めから・明るさのむら・ぼけ・JPEG)、mix はファイルごとに種類を混ぜる。ordinary 以外では、
    書き手もペンの太さ・文字のゆがみ・大きさのばらつきが多様になる。正解には頁ごとに劣化の
    種類が記録される。

    例: junkai simulate output/cards-S01-P01-B1-xxxx.pdf --out data/scans --seed 1 --degrade mix
    """
    from junkai import qr
    from junkai.simulate import DEGRADE_CHOICES
    from junkai.simulate import simulate as run_simulate

    if degrade not in DEGRADE_CHOICES:
        raise JunkaiError(f"--degrade の値が不明です: {degrade} (選べるのは {' / '.join(DEGRADE_CHOICES)})")
    if not cards_pdf.is_file():
        raise JunkaiError(f"ファイルがありません: {cards_pdf}")
    if out_dir.exists() and not out_dir.is_dir():
        raise JunkaiError(f"--out はフォルダを指定してください ({out_dir} はファイルです)")
    s = settings_mod.load()
    with bar("記入と走査を模擬中 (カード)") as on_card:
        truth = run_simulate(cards_pdf, out_dir, seed, qr.station_key(s.home), limit=limit, degrade=degrade,
                             on_card=on_card)
    files = len({p["file"] for p in truth["pages"]})
    out.print(f"カード {truth['cards']} 枚を {files} ファイル ({len(truth['pages'])} 頁) に走査しました: {out_dir}",
              highlight=False)


bench_app = group("bench", "ベンチマーク")


@command(bench_app, "ocr")
def bench_ocr():
    """読み取りの精度と速さを、200 枚以上の模擬カードで測る (bench/results.json に記録)。

    例: junkai bench ocr
    """
    import subprocess

    root = Path(__file__).resolve().parents[2]  # the repository: junkai/cli/ocr.py
    if not (root / "bench" / "run.py").is_file():
        raise JunkaiError("bench/ が見つかりません (リポジトリの中で実行してください)")
    code = subprocess.call([sys.executable, "-m", "bench.run", "--only", "ocr"], cwd=root)
    if code:
        raise JunkaiError(f"ベンチマークが失敗しました (終了コード {code})")
