"""Visits (巡回連絡簿): validating what an officer records, one visit or a file of them."""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from datetime import date, datetime, time
from pathlib import Path

from junkai import JunkaiError, model

# A 巡回連絡簿 exported from a spreadsheet may carry Japanese or English headers.
COLUMNS = {
    "premises_id": ("premises_id", "各戸ID", "各戸"),
    "officer_id": ("officer_id", "警察官ID", "警察官"),
    "visited_at": ("visited_at", "日時", "訪問日時"),
    "outcome": ("outcome", "結果"),
    "guidance": ("guidance", "指導連絡", "指導連絡事項"),
    "notes": ("notes", "備考"),
}
REQUIRED = ("premises_id", "officer_id", "visited_at", "outcome")


def is_night(t: time, start: time, end: time) -> bool:
    """第6-3: inside the night window; a window that starts after it ends spans midnight."""
    if start <= end:
        return start <= t < end
    return t >= start or t < end


def parse_datetime(text: str) -> datetime:
    text = unicodedata.normalize("NFKC", text or "").strip().replace("/", "-").replace("T", " ")
    for fmt in ("%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"):
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            pass
    # the right form but no such day or time (2026-11-31, 25:00): say so rather than blame the form
    if re.fullmatch(r"\d{4}-\d{1,2}-\d{1,2} \d{1,2}:\d{2}(:\d{2})?", text):
        raise JunkaiError(f"日時: {text} という日時はありません")
    raise JunkaiError(f"日時は YYYY-MM-DD HH:MM 形式です: {text!r}")


def _ascii_number(text: str) -> bool:
    # str.isdigit is true of digits int() refuses (𐩁) and int() reads "1_0" and "١": only 0-9
    return text.isascii() and text.isdigit()


def parse_guidance(text: str | None) -> list[int]:
    """第6-4 (1)-(5): "1,3" or "1・3" or "(1)(3)"."""
    text = unicodedata.normalize("NFKC", text or "")
    for ch in "()・、 ":
        text = text.replace(ch, ",")
    items = sorted({int(p) for p in text.split(",") if _ascii_number(p.strip())})
    rest = [p for p in text.split(",") if p.strip() and not _ascii_number(p.strip())]
    if rest or any(i not in model.GUIDANCE for i in items):
        raise JunkaiError(f"指導連絡事項は 1〜5 の番号です (第6-4): {text!r}")
    return items


def validate(values: dict, premises_ids: set[int], officer_ids: set[str], now: datetime) -> dict:
    """One visit's values checked and normalised; raises JunkaiError naming the first problem."""
    missing = [c for c in REQUIRED if not str(values.get(c) or "").strip()]
    if missing:
        raise JunkaiError(f"必須の項目がありません: {', '.join(missing)}")
    pid_text = unicodedata.normalize("NFKC", str(values["premises_id"])).strip()
    if not _ascii_number(pid_text):
        raise JunkaiError(f"各戸IDは数字です: {values['premises_id']!r}")
    pid = int(pid_text)
    if pid not in premises_ids:
        raise JunkaiError(f"各戸が見つかりません: {pid}")
    officer_id = str(values["officer_id"]).strip()
    if officer_id not in officer_ids:
        raise JunkaiError(f"警察官が見つかりません: {officer_id}")
    at = values["visited_at"] if isinstance(values["visited_at"], datetime) else parse_datetime(values["visited_at"])
    if at > now:
        raise JunkaiError(f"訪問日時が未来です: {at:%Y-%m-%d %H:%M}")
    outcome = str(values["outcome"]).strip()
    if outcome == model.RETURNED:
        raise JunkaiError(f"「{model.RETURNED}」は返ってきたカードの取り込みが記録する結果で、訪問の記録には使えません "
                          f"(結果は {'/'.join(model.OUTCOMES)} のいずれか)")
    if outcome not in model.OUTCOMES:
        raise JunkaiError(f"結果は {'/'.join(model.OUTCOMES)} のいずれかです: {outcome!r}")
    guidance = parse_guidance(values.get("guidance"))
    if guidance and outcome not in model.MET_OUTCOMES:
        raise JunkaiError(f"面接しなかった訪問 ({outcome}) に指導連絡事項は記録できません")
    notes = (values.get("notes") or "").strip() or None
    return dict(premises_id=pid, officer_id=officer_id, visited_at=at, outcome=outcome,
                guidance=",".join(map(str, guidance)), notes=notes)


def read_csv(path: Path) -> list[tuple[int, dict]]:
    """Rows of a visit CSV as (line number, values by canonical column)."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise JunkaiError(f"ファイルを読めません: {path}: {exc.strerror}")
    except UnicodeDecodeError:
        raise JunkaiError(f"ファイルが UTF-8 ではありません: {path}")
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except StopIteration:
        raise JunkaiError(f"ファイルが空です: {path}")
    except csv.Error as exc:
        raise JunkaiError(f"{path}:1: CSV として読めません ({exc})")
    index = {}
    for canonical, names in COLUMNS.items():
        for i, name in enumerate(header):
            if unicodedata.normalize("NFKC", name).strip() in names:
                index[canonical] = i
    missing = [COLUMNS[c][1] for c in REQUIRED if c not in index]
    if missing:
        raise JunkaiError(f"見出し行に必要な列がありません: {', '.join(missing)} (見出し: {', '.join(header)})")
    rows = []
    line = 1
    try:
        for line, cells in enumerate(reader, start=2):
            if not any(c.strip() for c in cells):
                continue
            rows.append((line, {c: (cells[i] if i < len(cells) else "") for c, i in index.items()}))
    except csv.Error as exc:  # a field beyond the csv module's limit, and the like
        raise JunkaiError(f"{path}:{line + 1}: CSV として読めません ({exc})")
    return rows
