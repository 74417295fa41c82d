"""The command line: real console script for the wiring, in-process runs for the cases."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from junkai.cli import app

runner = CliRunner()
JUNKAI = Path(sys.executable).with_name("junkai")


def run(*args):
    return runner.invoke(app, list(args))


@pytest.fixture
def seeded(home):
    """A seeded store; returns the id of a household premises (as text, for arguments)."""
    from junkai import settings
    from junkai.store import Store

    r = run("seed", "--premises", "40", "--seed", "3", "--until", "2026-11-20")
    assert r.exit_code == 0, r.output
    store = Store(settings.load().db_url)
    with store.transaction():
        premises = store.frame("premises")
    return str(premises[premises.kind == "household"].id.iloc[0])


@pytest.mark.slow
def test_every_command_has_help():
    top = subprocess.run([JUNKAI, "--help"], capture_output=True, text=True, check=True)
    for name in ("init", "seed", "summary", "history", "export", "premises", "card"):
        assert name in top.stdout
    for args in (["init"], ["seed"], ["summary"], ["history"], ["export"], ["premises", "add"], ["card", "amend"]):
        r = subprocess.run([JUNKAI, *args, "--help"], capture_output=True, text=True)
        assert r.returncode == 0 and "例:" in r.stdout, (args, r.stdout, r.stderr)


def test_a_command_before_init_says_so(home):
    r = run("summary")
    assert r.exit_code == 2
    assert "junkai init" in r.output


def test_seed_history_and_export(seeded, tmp_path):
    r = run("history", "1", "--json")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.output)
    assert doc["premises"]["id"] == 1 and isinstance(doc["events"], list)
    r = run("export", "--what", "visits", "--format", "json", "--out", str(tmp_path / "v.json"))
    assert r.exit_code == 0, r.output
    doc = json.loads((tmp_path / "v.json").read_text(encoding="utf-8"))
    assert doc["classification"] == "取扱注意"
    visits = doc["rows"]
    assert visits and {"premises_id", "officer_id", "outcome", "visited_at"} <= set(visits[0])
    assert (tmp_path / "v.json").stat().st_mode & 0o077 == 0  # personal data: owner only
    r = run("export", "--what", "cards", "--out", str(tmp_path / "c.csv"))
    assert r.exit_code == 0, r.output
    mark, head = (tmp_path / "c.csv").read_text(encoding="utf-8-sig").splitlines()[:2]
    assert mark.startswith("# 取扱注意") and "members.1.name" in head


def test_history_at_a_past_date_differs_from_today(seeded):
    assert run("card", "amend", "1", "notes=犬を飼っている", "--on", "2026-11-21").exit_code == 0
    today = json.loads(run("history", "1", "--json").output)
    before = json.loads(run("history", "1", "--json", "--at", "2026-11-20").output)
    assert today["card"]["notes"] == "犬を飼っている" and "notes" not in before["card"]
    assert len(today["events"]) == len(before["events"]) + 1
    ancient = json.loads(run("history", "1", "--json", "--at", "2019-01-01").output)
    assert ancient["events"] == [] and not any(ancient["card"].values())


def test_operator_is_audited(seeded, tmp_path):
    """No user registered yet (setup mode): the operator is the OS account running the command."""
    from junkai import identity, settings
    from junkai.store import Store

    assert run("history", "2").exit_code == 0
    store = Store(settings.load().db_url)
    with store.transaction():
        events = store.audit_events()
    me = identity.os_account()
    assert [(e["operator"], e["action"], e["os_account"]) for e in events][-1] == (me, "history", me)
    assert events[0]["operator"] == me and events[0]["action"] == "seed" and events[0]["host"] == identity.host()


@pytest.mark.parametrize("args,message", [
    (["premises", "add", "--beat", "S99-P01-B1", "--postal-code", "030-0861", "--town", "長島", "--block", "1-1"],
     "受持区が見つかりません: S99-P01-B1"),
    (["premises", "add", "--beat", "S01-P01-B1", "--postal-code", "030-086", "--town", "長島", "--block", "1-1"],
     "郵便番号の形式"),
    (["premises", "add", "--beat", "S01-P01-B1", "--postal-code", "999-9999", "--town", "長島", "--block", "1-1"],
     "存在しない郵便番号"),
    (["card", "amend", "{hh}", "home_phone=017-777-1234", "members.9.birth_date=2099-01-01"], "生年月日が未来"),
    (["card", "amend", "{hh}", "favourite=1"], "カードにない項目"),
    (["history", "99999"], "各戸が見つかりません"),
    (["history", "1", "--at", "2024-13-01"], "--at: 2024-13-01 という日はありません"),
    (["history", "1", "--at", "2024/12/01"], "--at は YYYY-MM-DD"),
    (["export", "--what", "cards", "--out", "/nonexistent/x.csv"], "出力先のフォルダがありません"),
    (["seed", "--premises", "10"], "すでにデータ"),
])
def test_bad_input_is_one_clear_line_nonzero_and_writes_nothing(seeded, args, message):
    from junkai import settings
    from junkai.store import Store

    store = Store(settings.load().db_url)
    with store.transaction():
        before = (store.frame("events").shape, store.frame("premises").shape, store.card(1).data)
    r = run(*[a.format(hh=seeded) for a in args])
    assert r.exit_code == 2
    assert message in r.output
    assert r.output.count("\n") == 1  # one line
    with store.transaction():
        assert (store.frame("events").shape, store.frame("premises").shape, store.card(1).data) == before


def test_amend_and_add_premises(seeded):
    r = run("card", "amend", seeded, "home_phone=017-777-1234", "--on", "2026-11-01")
    assert r.exit_code == 0, r.output
    doc = json.loads(run("history", seeded, "--json").output)
    assert doc["card"]["home_phone"] == "017-777-1234"
    from junkai import identity

    assert doc["events"][-1]["source"] == "operator" and doc["events"][-1]["operator"] == identity.os_account()
    r = run("premises", "add", "--beat", "S01-P01-B1", "--postal-code", "０３０－０８６１", "--town", "長島",
            "--block", "1-1-1")
    assert r.exit_code == 0, r.output
    assert "青森県青森市長島1-1-1" in r.output


def test_unreadable_settings_file_is_a_clear_error(home, tmp_path):
    (tmp_path / "junkai.toml").write_text("[visits\nnight_start = ", encoding="utf-8")
    r = run("init")
    assert r.exit_code == 2
    assert "設定ファイル junkai.toml を読めません" in r.output


def test_bad_setting_value_is_named(home, tmp_path):
    (tmp_path / "junkai.toml").write_text('[visits]\nnight_start = "夜"\n', encoding="utf-8")
    r = run("init")
    assert r.exit_code == 2 and "visits.night_start" in r.output


def test_audit_verify_passes_and_fails_on_a_hand_edited_store(seeded):
    import sqlite3

    from junkai import settings

    assert run("history", seeded).exit_code == 0
    r = run("audit", "verify")
    assert r.exit_code == 0 and "正常" in r.output
    r = run("audit", "show", "--what", "history", "--json")
    assert r.exit_code == 0 and json.loads(r.output)[-1]["target_id"] == seeded
    path = settings.load().sqlite_path
    with pytest.raises(sqlite3.IntegrityError, match="append-only"), sqlite3.connect(path) as conn:
        conn.execute("update audit set operator = '誰か' where action = 'history'")
    with sqlite3.connect(path) as conn:  # the trigger dropped first, as a hand with the file can
        conn.execute("drop trigger audit_no_update")
        conn.execute("update audit set operator = '誰か' where action = 'history'")
    r = run("audit", "verify")
    assert r.exit_code == 2 and "改ざん" in r.output and "id 2 " in r.output
    assert r.output.count("\n") == 1


@pytest.mark.slow
def test_everything_junkai_writes_is_readable_by_its_owner_only(tmp_path):
    """The store, the station key and the crops of a read hold residents' data: no group or world bits,
    whatever the login's umask (the real console script, so the umask is its own)."""
    import os
    import stat

    env = dict(os.environ, JUNKAI_HOME=str(tmp_path / "home"))
    env.pop("JUNKAI_DB_URL", None)
    old = os.umask(0o022)
    try:
        subprocess.run([JUNKAI, "seed", "--premises", "12", "--seed", "1"], env=env, check=True, capture_output=True)
        subprocess.run([JUNKAI, "print", "cards", "--blank", "1", "--beat", "S01-P01-B1", "--out-dir",
                        str(tmp_path / "out")], env=env, check=True, capture_output=True)
    finally:
        os.umask(old)
    written = [p for p in tmp_path.rglob("*")]
    assert any(p.name == "junkai.sqlite3" for p in written) and any(p.suffix == ".pdf" for p in written)
    loose = [str(p) for p in written if stat.S_IMODE(p.stat().st_mode) & 0o077]
    assert loose == []


# --- ingest: what it says --------------------------------------------------------------------------


def test_the_ingest_summary_is_short_lines_and_counts_cards_apart_from_sheets():
    from collections import Counter

    from junkai.cli.flows import summary_lines
    from junkai.ingest import Summary

    s = Summary(files=2, pages=5, states=Counter(applied=3, skipped=1, duplicate=1), applied=7, review=2,
                matched=4, cards=["P1", "P2"], failures=["b.pdf 3 頁: QR が読めません"])
    lines = summary_lines(s)
    assert lines[:8] == ["ファイル: 2", "頁: 5 (白紙・裏面 1)", "カード: 2 枚", "用紙: 4 枚 (各戸と照合できたもの)",
                         "反映: 7 項目", "確認待ち: 2 件 (うち矛盾 0)、各戸の確認待ち 0 頁", "重複: 1 頁",
                         "失敗: 1 (頁またはファイル)"]
    assert all(len(line) < 60 for line in lines)


def test_ingest_of_the_data_folders_own_copies_says_why_nothing_is_read(seeded, tmp_path):
    from junkai import settings

    kept = settings.load().home / "scans" / "ab"
    kept.mkdir(parents=True)
    (kept / "ab12.pdf").write_bytes(b"%PDF-1.4")
    r = run("ingest", str(kept))
    assert r.exit_code == 2
    assert "scans/" in r.output and "取り込み済みの走査の写し" in r.output and "受付フォルダを指定" in r.output
    empty = tmp_path / "empty"
    empty.mkdir()
    r = run("ingest", str(empty))
    assert r.exit_code == 2 and "取り込む走査がありません" in r.output and "PDF・TIFF・PNG・JPEG" in r.output


def test_ingest_names_each_page_by_the_path_it_came_in_with(seeded, tmp_path):
    """Two folders' scan-001.png stay apart in --json: a page's reading takes its job's source."""
    import numpy as np
    from PIL import Image

    from junkai import ingest, settings
    from junkai.store import Store

    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        Image.fromarray(np.full((2339, 1654), 255 - (folder == "b"), np.uint8)).save(tmp_path / folder / "scan-001.png")
    s = settings.load()
    store = Store(s.db_url, s.home)
    heard = []
    ingest.run(store, s, [tmp_path / "a", tmp_path / "b"], "clerk", None,
               read_map=lambda jobs: heard.extend(job.source for job in jobs) or [])
    store.close()
    assert sorted(heard) == [str(tmp_path / "a" / "scan-001.png"), str(tmp_path / "b" / "scan-001.png")]


def test_a_day_that_does_not_exist_is_named_as_such(seeded):
    r = run("amendments", "--since", "2026-11-31")
    assert r.exit_code == 2 and "2026-11-31 という日はありません" in r.output and "形式" not in r.output
    r = run("amendments", "--since", "2026/11/30")
    assert r.exit_code == 2 and "YYYY-MM-DD 形式" in r.output
    r = run("visit", "add", "--premises", seeded, "--officer", "S01-O001", "--at", "2026-11-31 14:30",
            "--outcome", "面接")
    assert r.exit_code == 2 and "2026-11-31 14:30 という日時はありません" in r.output and "形式" not in r.output
    for spec, word in (("2026-11-31", "日"), ("2026-13", "月")):
        r = run("report", "chief", "--station", "S01", "--period", spec)
        assert r.exit_code == 2 and f"{spec} という{word}はありません" in r.output and "の形で" not in r.output


def test_an_unknown_beat_suggests_the_closest_ids_and_the_list(seeded, tmp_path):
    r = run("print", "cards", "--beat", "S01-P01-B9", "--out-dir", str(tmp_path))
    assert r.exit_code == 2
    assert "受持区が見つかりません: S01-P01-B9" in r.output
    assert "近いもの: S01-P01-B1" in r.output and "junkai beat list" in r.output


def _commands(group, path=()):
    import click  # noqa: F401  (the walk below uses Typer's own command classes)

    for name, cmd in group.commands.items():
        yield (*path, name)
        if hasattr(cmd, "commands"):
            yield from _commands(cmd, (*path, name))


def test_every_commands_help_is_japanese_throughout():
    import re

    import typer

    top = typer.main.get_command(app)
    english = re.compile(r"\b[A-Z][a-z]+(?: [a-z]+){2,}|\bUsage\b|\b(?:Options|Arguments|Commands)\b")
    type_hint = re.compile(r"<(?:str|int|float|bool|path|text|list\[[^>]*\])>")
    walked = [()] + list(_commands(top))
    assert len(walked) > 40
    for path in walked:
        r = runner.invoke(app, [*path, "--help"], terminal_width=100)
        assert r.exit_code == 0, (path, r.output)
        assert "使い方:" in r.output and "この説明を表示して終了" in r.output, (path, r.output)
        found = english.search(r.output) or type_hint.search(r.output)
        assert found is None, (path, found.group(0), r.output)


@pytest.mark.parametrize("args,japanese", [
    (["report", "chief"], "オプション '--station' を指定してください"),
    (["history"], "引数 'premises_id' を指定してください"),
    (["export", "--what", "nope"], "'nope' は選べません。選べるもの: 'premises'"),
    (["overdue", "--bogus"], "--bogus というオプションはありません"),
    (["review", "list", "extra"], "余分な引数があります: extra"),
    (["visit", "record"], "record というコマンドはありません"),
    (["overdue", "--station"], "--station には値を指定してください"),
    (["history", "x"], "数を指定してください"),
])
def test_usage_errors_are_japanese_from_the_real_command(tmp_path, args, japanese):
    import os
    import re

    env = dict(os.environ, COLUMNS="100", JUNKAI_HOME=str(tmp_path))
    r = subprocess.run([JUNKAI, *args], capture_output=True, text=True, env=env)
    out = " ".join((r.stdout + r.stderr).split())  # the panel may wrap a long line
    assert r.returncode == 2, out
    assert japanese in out and "エラー" in out, out
    english = re.search(r"Missing|No such|Usage|Try |Error|Got unexpected|requires|is not one of|valid", out)
    assert english is None, (english.group(0), out)


def test_card_export_keeps_member_keys_and_splits_ticks_back(seeded, tmp_path):
    import csv

    from junkai import model

    whole = tmp_path / "cards.json"
    assert run("export", "--what", "cards", "--format", "json", "--out", str(whole)).exit_code == 0
    pid = next(str(r["premises_id"]) for r in json.loads(whole.read_text())["rows"]
               if r.get("members.1.name") and r.get("members.2.name"))
    # member 1 (the head) leaves and member 2 becomes the head, in one edit: the household keeps a head
    r = run("card", "amend", pid, "members.1=", "members.2.relation=世帯主", "visit_days=平日,日曜・祝日")
    assert r.exit_code == 0, r.output
    out = tmp_path / "cards.csv"
    assert run("export", "--what", "cards", "--out", str(out)).exit_code == 0
    text = out.read_text(encoding="utf-8-sig")
    assert "「|」で区切っています" in text.splitlines()[0]  # on the marking's line: the heading stays the 2nd
    rows = list(csv.DictReader(line for line in text.splitlines() if not line.startswith(("#", "【"))))
    row = next(r for r in rows if str(r["premises_id"]) == pid)
    # member 1 was removed: the others keep their own keys rather than moving up to 1..n
    assert not row.get("members.1.name") and row.get("members.2.name")
    assert row["visit_days"].split("|") == ["平日", "日曜・祝日"]
    every_label = [c for f in model.KIND_FIELDS[model.HOUSEHOLD].values() for c in f.choices]
    assert every_label and not any("|" in c for c in every_label)


def test_a_long_step_shows_a_bar_on_a_terminal_only(monkeypatch):
    import io

    from rich.console import Console

    from junkai import cli

    for terminal in (True, False):
        stderr = io.StringIO()
        monkeypatch.setattr(cli, "err", Console(file=stderr, force_terminal=terminal, width=100))
        with cli.working("訪問リストを作成中"):
            pass
        assert ("訪問リストを作成中" in stderr.getvalue()) is terminal


def test_export_backup_restore_and_seed_count_on_their_bars(seeded, tmp_path, monkeypatch):
    """On a terminal each long command's bar says how far it is: rows, files, kilobytes read or premises
    made, out of how many."""
    import io
    import re

    from rich.console import Console

    from junkai import cli

    stderr = io.StringIO()
    monkeypatch.setattr(cli, "err", Console(file=stderr, force_terminal=True, width=120))

    def bar_of(label: str) -> str:
        # the last drawing of the bar: its label, then the count N/M
        shown = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", stderr.getvalue())
        return re.findall(re.escape(label) + r"[^\n\r]*?(\d+/\d+)", shown)[-1]

    r = run("export", "--what", "cards", "--out", str(tmp_path / "cards.csv"))
    assert r.exit_code == 0, r.output
    rows = int(re.search(r"(\d+) 件を書き出しました", r.output).group(1))
    assert rows > 0 and bar_of("書き出し中 (行)") == f"{rows}/{rows}"
    r = run("backup-key", str(tmp_path / "backup.key"))
    assert r.exit_code == 0, r.output
    r = run("backup", str(tmp_path / "b.age"))
    assert r.exit_code == 0, r.output
    files = int(re.search(r"ファイル (\d+) 件", r.output).group(1))
    assert files > 0 and bar_of("バックアップを作成中 (ファイル)") == f"{files}/{files}"
    monkeypatch.setenv("JUNKAI_HOME", str(tmp_path / "restored"))
    r = run("restore", str(tmp_path / "b.age"), "--identity", str(tmp_path / "backup.key"))
    assert r.exit_code == 0, r.output
    kb = -(-(tmp_path / "b.age").stat().st_size // 1024)
    assert bar_of("バックアップを戻し中 (KB)") == f"{kb}/{kb}"
    monkeypatch.setenv("JUNKAI_HOME", str(tmp_path / "second"))
    r = run("seed", "--premises", "30", "--seed", "5", "--until", "2026-11-20")
    assert r.exit_code == 0, r.output
    assert bar_of("デモデータを作成中 (各戸)") == "30/30"


def test_the_simulator_counts_the_cards_it_fills(seeded, tmp_path):
    from junkai import qr, settings, simulate

    r = run("print", "cards", "--blank", "2", "--beat", "S01-P01-B1", "--out-dir", str(tmp_path))
    assert r.exit_code == 0, r.output
    pdf = next(tmp_path.glob("*.pdf"))
    heard = []
    truth = simulate.simulate(pdf, tmp_path / "scans", 1, qr.station_key(settings.load().home),
                              on_card=lambda done, total: heard.append(done))
    assert truth["cards"] == 2 and heard == [1, 2]


def test_an_export_made_in_chunks_is_the_export_made_at_once(seeded, tmp_path, monkeypatch):
    from junkai import export

    for what, fmt in (("cards", "csv"), ("visits", "json")):
        files = []
        for rows in (10**9, 7):  # at once, then 7 rows at a time
            monkeypatch.setattr(export, "CHUNK_ROWS", rows)
            files.append(tmp_path / f"{what}-{rows}.{fmt}")
            r = run("export", "--what", what, "--format", fmt, "--out", str(files[-1]))
            assert r.exit_code == 0, r.output
        assert files[0].read_bytes() == files[1].read_bytes() and files[0].stat().st_size > 1000
