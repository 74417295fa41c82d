"""The OCR benchmark's scoring: figures per degradation class and the interval of a share."""

from __future__ import annotations

import pytest

from bench.ocr import score, share_with_ci, wilson


def _field(fid: str, kind: str, value, confidence: float = 0.99) -> dict:
    detail = {"男": 1.0, "女": 0.0} if kind == "checkbox" else None
    return dict(id=fid, kind=kind, value=value, confidence=confidence, reasons=[], detail=detail)


def test_score_reports_every_class_apart_and_the_whole_set():
    truth = {"pages": [
        dict(kind="card", file="a.pdf", page=1, print_id="P1", sheet=1, degrade="clean",
             values={"members.1.name": "青森　太郎", "members.1.sex": "男"}),
        dict(kind="card", file="b.jpg", page=1, print_id="P2", sheet=1, degrade="photo",
             values={"members.1.name": "八戸　花子", "members.1.sex": "男"}),
        dict(kind="blank_back", file="a.pdf", page=2, degrade="clean"),
    ]}
    ident = lambda pid: dict(print_id=pid, sheet=1)  # noqa: E731
    results = [
        dict(source="a.pdf", page=1, status="ok", identity=ident("P1"),
             fields=[_field("members.1.name", "text", "青森 太郎"), _field("members.1.sex", "checkbox", "男")]),
        dict(source="b.jpg", page=1, status="ok", identity=ident("P2"),
             fields=[_field("members.1.name", "text", "八戸 花"), _field("members.1.sex", "checkbox", "男")]),
        dict(source="a.pdf", page=2, status="skipped", identity=None, fields=[]),
    ]
    s = score(results, truth)
    assert s["field_exact_match"]["text"].endswith("(1/2)")
    by = s["by_degrade"]
    assert set(by) == {"clean", "photo"}
    assert by["clean"]["field_exact_match"]["text"].endswith("(1/1)") and by["clean"]["text_cer"] == 0
    assert by["photo"]["field_exact_match"]["text"].endswith("(0/1)") and by["photo"]["text_cer"] > 0
    assert by["clean"]["blank_backs_skipped"] == "1/1" and by["photo"]["blank_backs_skipped"] == "0/0"
    assert by["clean"]["sheets"] == by["photo"]["sheets"] == 1


def test_a_set_without_classes_counts_as_ordinary():
    truth = {"pages": [dict(kind="card", file="a.pdf", page=1, print_id="P1", sheet=1, values={})]}
    s = score([dict(source="a.pdf", page=1, status="ok", identity=None, fields=[])], truth)
    assert set(s["by_degrade"]) == {"ordinary"}


@pytest.mark.parametrize("k, n, lo, hi", [
    (0, 100, 0.0, 0.0370),     # Wilson at k = 0: not zero width, unlike the normal approximation
    (5, 100, 0.0215, 0.1118),
    (50, 100, 0.4038, 0.5962),
])
def test_wilson_interval(k, n, lo, hi):
    a, b = wilson(k, n)
    assert a == pytest.approx(lo, abs=5e-4) and b == pytest.approx(hi, abs=5e-4)
    assert a <= k / n <= b


def test_share_with_ci_says_when_nothing_passed():
    assert share_with_ci(0, 0).startswith("n/a")
    assert share_with_ci(1, 40).startswith("1/40 = 2.50% (95 % CI")


def test_the_review_floor_is_where_every_band_above_is_right_two_times_in_three():
    from bench.ocr import review_floor

    def band(conf, right, wrong):
        return [dict(kind="text", confidence=conf, right=True)] * right + \
            [dict(kind="text", confidence=conf, right=False)] * wrong

    ds = band(0.95, 9, 1) + band(0.85, 6, 3) + band(0.75, 2, 1) + band(0.55, 3, 4) + band(0.15, 5, 0)
    # 0.7-0.8 holds too few values to count; 0.5-0.6 is wrong too often, so below it nothing is pre-filled
    assert review_floor(ds) == {"text": 0.6}
    assert review_floor(band(0.95, 1, 9)) == {"text": 1.0}  # never: the top band itself is mostly wrong
    assert review_floor(band(0.35, 7, 0)) == {"text": 0.0}
