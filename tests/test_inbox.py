"""The scan inbox: what is taken, where it goes, and that nothing is lost or overwritten."""

from __future__ import annotations

import threading
import time
from datetime import datetime

import pytest

from junkai import inbox as IB

AT = datetime(2026, 11, 20, 2, 0)


def test_a_file_still_being_written_is_not_taken(tmp_path):
    scan = tmp_path / "scan-001.pdf"
    scan.write_bytes(b"%PDF-1.7 partial")
    assert IB.waiting(tmp_path, settle_seconds=60) == []
    # the same file once it has been left alone for the settle time
    assert IB.waiting(tmp_path, settle_seconds=60, now=time.time() + 61) == [scan]


def test_a_file_growing_under_the_last_look_is_not_taken(tmp_path):
    scan = tmp_path / "scan-002.tiff"
    scan.write_bytes(b"II*\x00")
    stop = threading.Event()

    def scanner():
        while not stop.is_set():
            with open(scan, "ab") as fh:
                fh.write(b"\x00" * 4096)
            time.sleep(0.02)

    writer = threading.Thread(target=scanner)
    writer.start()
    try:
        assert IB.unchanged([scan], 0.3) == []
    finally:
        stop.set()
        writer.join()
    assert IB.unchanged([scan, tmp_path / "gone.pdf"], 0.1) == [scan]


def test_hidden_partial_and_folder_entries_are_left_alone(tmp_path):
    for name in (".scan.pdf", "~scan.pdf", "scan.pdf.part", "scan.tmp", IB.LOCK):
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "archive").mkdir()
    (tmp_path / "ready.pdf").write_bytes(b"x")
    assert [p.name for p in IB.waiting(tmp_path, 0, now=time.time() + 1)] == ["ready.pdf"]


def test_a_quarantined_file_keeps_its_reason_and_nothing_is_overwritten(tmp_path):
    first = tmp_path / "scan.pdf"
    first.write_bytes(b"one")
    q1 = IB.quarantine(tmp_path, first, "1 頁: 位置合わせマーカーが見つかりません")
    second = tmp_path / "scan.pdf"  # the scanner reused the name
    second.write_bytes(b"two")
    q2 = IB.quarantine(tmp_path, second, "ファイルが空です")
    assert q1 == tmp_path / "quarantine" / "scan.pdf" and q2 == tmp_path / "quarantine" / "scan-2.pdf"
    assert q1.read_bytes() == b"one" and q2.read_bytes() == b"two"
    assert "マーカー" in (tmp_path / "quarantine" / "scan.pdf.reason.txt").read_text(encoding="utf-8")
    assert "空" in (tmp_path / "quarantine" / "scan-2.pdf.reason.txt").read_text(encoding="utf-8")
    assert not first.exists() and not second.exists()


def test_processed_files_are_archived_by_date_and_failed_ones_quarantined_with_why(tmp_path):
    good, bad, broken = (tmp_path / n for n in ("good.pdf", "bad.pdf", "broken.pdf"))
    for p in (good, bad, broken):
        p.write_bytes(p.name.encode())
    kind, dest = IB.settle(tmp_path, good, IB.FileOutcome("good.pdf", pages=[1, 2]), AT)
    assert (kind, dest) == (IB.ARCHIVE, tmp_path / "archive" / "2026-11-20" / "good.pdf")
    kind, dest = IB.settle(tmp_path, bad, IB.FileOutcome("bad.pdf", pages=[1, 3],
                                                         failures=["2 頁: QR コードを読めません"]), AT)
    assert kind == IB.QUARANTINE
    reason = (dest.parent / "bad.pdf.reason.txt").read_text(encoding="utf-8")
    assert "2 頁: QR コードを読めません" in reason and "1, 3 頁" in reason and "走査し直して" in reason
    kind, dest = IB.settle(tmp_path, broken, IB.FileOutcome("broken.pdf", error="ファイルが空です"), AT)
    assert kind == IB.QUARANTINE and "ファイルが空です" in (dest.parent / "broken.pdf.reason.txt").read_text("utf-8")
    assert sorted(p.name for p in tmp_path.rglob("*.pdf")) == ["bad.pdf", "broken.pdf", "good.pdf"]


def test_one_pass_at_a_time_per_folder(tmp_path):
    with IB.lock(tmp_path):
        with pytest.raises(IB.Busy):
            with IB.lock(tmp_path):
                pass
    with IB.lock(tmp_path):  # released
        pass


def test_each_station_has_its_folder(tmp_path):
    from junkai import settings

    config = tmp_path / "junkai.toml"
    config.write_text('[inbox]\nfolder = "scans-in"\n[inbox.stations]\nS02 = "/srv/scanner/s2"\n', encoding="utf-8")
    s = settings.load({"JUNKAI_HOME": str(tmp_path / "home"), "JUNKAI_CONFIG": str(config)})
    assert s.inbox_of("S01") == tmp_path / "home" / "scans-in" / "S01"
    assert str(s.inbox_of("S02")) == "/srv/scanner/s2"
    assert not (tmp_path / "home").exists()  # settings load without making folders
