"""A full disk while writing output: a clear Japanese error, a non-zero exit, nothing left
under the final name (nor a temporary file), and the store unchanged. The output folder is
a real, tiny tmpfs; the test is skipped when this machine does not let it mount one."""

from __future__ import annotations

import os
import subprocess
import uuid

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from junkai import settings
from junkai.cli import app
from junkai.store import Store, metadata

runner = CliRunner()


def run(*args):
    return runner.invoke(app, list(args))


@pytest.fixture
def full(tmp_path):
    """A 64 KiB tmpfs, nearly full."""
    folder = tmp_path / f"full-{uuid.uuid4().hex[:6]}"
    folder.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k,mode=0700", "tmpfs", str(folder)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"this machine does not permit mounting a tmpfs: {r.stderr.strip()}")
    try:
        # fill it, then free 8 KiB: room for a temporary file to start, not for any PDF
        filler = folder / "filler"
        fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            while os.write(fd, b"\0" * 4096):
                pass
        except OSError:
            pass
        finally:
            os.close(fd)
        os.truncate(filler, max(0, filler.stat().st_size - 8192))
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], capture_output=True)


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
