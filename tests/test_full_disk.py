"""A full disk while writing output: a clear Japanese error, a non-zero exit, nothing left
under the final name (nor a temporary file), and the store unchanged (no audit row claims
what did not happen). The output folder, or the data folder itself, is a real, tiny tmpfs;
the test is skipped when this machine does not let it mount one. And --out naming a folder
is one line too, before any work."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from junkai import settings
from junkai.cli import app
from junkai.store import Store, metadata

runner = CliRunner()


def run(*args):
    return runner.invoke(app, list(args))


@contextlib.contextmanager
def tmpfs(folder: Path, size: str, before_filling=lambda: None, leave: int = 8192):
    """`folder` as a tmpfs of `size`, filled up but for `leave` bytes after `before_filling()` ran."""
    folder.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(folder)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"this machine does not permit mounting a tmpfs: {r.stderr.strip()}")
    try:
        before_filling()
        filler = folder / "filler"
        fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            while os.write(fd, b"\0" * 4096):
                pass
        except OSError:
            pass
        finally:
            os.close(fd)
        os.truncate(filler, max(0, filler.stat().st_size - leave))
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)


@pytest.fixture
def full(tmp_path):
    """A 64 KiB tmpfs, nearly full: room for a temporary file to start, not for any PDF."""
    with tmpfs(tmp_path / f"full-{uuid.uuid4().hex[:6]}", "64k") as folder:
        yield folder


def counts() -> dict[str, int]:
    store = Store(settings.load().db_url)
    try:
        with store.transaction():
            return {t.name: store.conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
                    for t in metadata.sorted_tables}
    finally:
        store.close()


@pytest.fixture
def seeded(home):
    r = run("seed", "--premises", "40", "--seed", "3", "--until", "2026-11-20")
    assert r.exit_code == 0, r.output
    return home


@pytest.mark.parametrize("args", [
    pytest.param(("print", "cards", "--beat", "S01-P01-B1"), marks=pytest.mark.slow),
    pytest.param(("report", "chief", "--station", "S01", "--period", "2026-11"), marks=pytest.mark.slow),
    ("handover", "S01-P01-B1", "--as-of", "2026-11-20"),
    pytest.param(("overdue", "--beat", "S01-P01-B1", "--as-of", "2026-11-20", "--format", "pdf",
                  "--out", "{full}/visits.pdf"), marks=pytest.mark.slow),
    ("export", "--what", "cards", "--out", "{full}/cards.csv"),
], ids=["print", "report", "handover", "visit-list", "export"])
def test_a_full_disk_is_a_clear_error_and_leaves_the_store_as_it_was(seeded, full, args):
    before = counts()
    given = [a.format(full=full) for a in args]
    r = run(*given, *([] if any("{full}" in a for a in args) else ["--out-dir", str(full)]))
    assert r.exit_code == 2, r.output
    assert "空き容量が足りない" in r.output and "Traceback" not in r.output
    assert [p.name for p in full.iterdir()] == ["filler"]  # neither the final name nor a temporary file
    assert counts() == before  # no print batch, no audit row: nothing happened


def audit_rows() -> list[tuple]:
    store = Store(settings.load().db_url)
    try:
        with store.transaction():
            return [tuple(r) for r in store.conn.execute(sa.text("SELECT id, action FROM audit ORDER BY id"))]
    finally:
        store.close()


def test_a_backup_to_a_full_disk_is_a_clear_error_and_no_backup_row(seeded, full, tmp_path):
    assert run("backup-key", str(tmp_path / "backup.key")).exit_code == 0
    before = counts()
    r = run("backup", str(full / "bk.age"))
    assert r.exit_code == 2, r.output
    assert "空き容量が足りない" in r.output and "Traceback" not in r.output
    assert len(r.output.strip().splitlines()) == 1
    assert [p.name for p in full.iterdir()] == ["filler"]
    assert counts() == before  # no `backup` row for a backup that is not there
    assert [p.name for p in seeded.iterdir() if p.name.startswith(".backup")] == []


@pytest.mark.parametrize("args", [
    ("export", "--what", "cards", "--out", "{dir}"),
    ("export", "--what", "visits", "--format", "json", "--out", "{dir}"),
    ("overdue", "--beat", "S01-P01-B1", "--as-of", "2026-11-20", "--out", "{dir}"),
    ("overdue", "--beat", "S01-P01-B1", "--as-of", "2026-11-20", "--format", "pdf", "--out", "{dir}"),
], ids=["export-csv", "export-json", "overdue-csv", "overdue-pdf"])
def test_out_naming_a_folder_is_one_line_and_nothing_happens(seeded, tmp_path, args):
    folder = tmp_path / "a-folder"
    folder.mkdir()
    before = counts()
    r = run(*[a.format(dir=folder) for a in args])
    assert r.exit_code == 2, r.output
    assert "フォルダ" in r.output and "Traceback" not in r.output and len(r.output.strip().splitlines()) == 1
    assert list(folder.iterdir()) == []
    assert counts() == before


def test_simulate_out_naming_a_file_is_one_line(seeded, tmp_path):
    pdf, taken = tmp_path / "cards.pdf", tmp_path / "taken"
    pdf.write_bytes(b"%PDF-1.7")
    taken.write_text("x")
    r = run("simulate", str(pdf), "--out", str(taken))
    assert r.exit_code == 2 and "フォルダを指定" in r.output and "Traceback" not in r.output


def test_a_full_data_folder_read_only_commands_work_or_say_so_in_one_line(seeded, tmp_path, monkeypatch):
    """The data folder (store and all) on a disk with no room left: a command works or fails in one
    Japanese line (history must write its audit row before it shows a card: it fails), recording nothing."""
    size = sum(p.stat().st_size for p in seeded.rglob("*") if p.is_file())
    rows = audit_rows()
    target = tmp_path / "fullhome"

    def copy_in():
        shutil.copytree(seeded, target / "data", dirs_exist_ok=True)

    with tmpfs(target, f"{size // 1024 + 2048}k", copy_in, leave=0):
        home = target / "data"
        monkeypatch.setenv("JUNKAI_HOME", str(home))
        for args in (("history", "1"), ("summary",), ("beat", "list"), ("audit", "verify"),
                     ("export", "--what", "cards", "--out", str(tmp_path / "cards.csv"))):
            r = run(*args)
            assert "Traceback" not in r.output and (r.exception is None or isinstance(r.exception, SystemExit)), \
                (args, r.output, r.exception)
            if r.exit_code != 0:
                assert r.exit_code == 2 and len(r.output.strip().splitlines()) == 1, (args, r.output)
                assert "空き容量が足りない" in r.output, (args, r.output)
        r = run("history", "1")
        assert r.exit_code == 2 and "空き容量が足りない" in r.output and "何も記録していません" in r.output, r.output
        assert not (tmp_path / "cards.csv").exists()
        (target / "filler").unlink()
        assert audit_rows() == rows  # nothing claims a read that was not shown
