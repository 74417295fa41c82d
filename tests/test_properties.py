"""Properties over inputs nobody would write by hand: the QR payload, the validators on
any value (tests/test_validate.py covers them on text), and the visit CSV import."""

from __future__ import annotations

import csv
import io
import re
from datetime import date

import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from junkai import JunkaiError, model, qr
from junkai import validate as v
from junkai import visits

PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TODAY = date(2026, 11, 20)
KEY = bytes(range(32))

# characters that break naive code: lone surrogates, digits that int() refuses or reads, NUL,
# line and paragraph separators, the dashes OCR reads for hyphens
ODD = st.sampled_from(["\ud800", "\udcff", "²", "①", "\U00010a41", "١٢", "٣", "\x00", "\u2028", "\x85", "ー",
                       "－", "_", " ", "\t", "\r", "\n", "〒", "０", "９", ":", "JK", "/"])
TEXT = st.lists(st.one_of(st.text(max_size=8), ODD), max_size=6).map("".join)


# --- the QR payload ------------------------------------------------------------------------

PAYLOAD = st.builds(
    qr.Payload,
    form=st.sampled_from(list(qr.FORM_CODES)),
    form_version=st.integers(0, 99),
    print_id=st.text(alphabet=qr.ALPHABET, min_size=9, max_size=9),
    page=st.integers(1, 9),
    pages=st.integers(1, 9),
    premises_id=st.one_of(st.none(), st.integers(0, 10**9)),
    card_version=st.integers(0, 10**6),
    beat=st.from_regex(r"\A[A-Z0-9][A-Z0-9-]{0,15}\Z"),
)


def _rejected(text: str) -> bool:
    try:
        qr.decode(text, KEY)
    except qr.IntegrityError:
        return True
    return False


@pytest.mark.slow
@PROPERTY
@given(st.one_of(TEXT, st.binary(max_size=200).map(lambda b: b.decode("utf-8", "surrogateescape")),
                 st.binary(max_size=200).map(lambda b: b.decode("latin-1"))))
def test_random_text_and_bytes_never_crash_the_parser_and_never_verify(text):
    assert _rejected(text)


@PROPERTY
@given(st.one_of(TEXT, st.from_regex(r"\AJK[HBX][0-9_ ]{0,3}(:[^:]{0,12}){0,7}\Z")))
def test_a_signed_body_that_is_not_a_payload_is_refused_not_crashed_on(body):
    """What only this station's own key could sign is still parsed defensively."""
    text = f"{body}:{qr._tag(KEY, body)}"
    try:
        p = qr.decode(text, KEY)
    except qr.IntegrityError:
        return
    assert p.form in qr.FORM_CODES and all(isinstance(n, int) for n in (p.form_version, p.page, p.pages))


@pytest.mark.parametrize("text", ["JK:\x80", "JKH1:\ud800", "JKH1:X:\udcff"])
def test_a_tag_that_is_not_ascii_is_refused_like_any_other(text):
    """Found by the property above: hmac.compare_digest raised TypeError on such a tag."""
    assert _rejected(text)


@PROPERTY
@given(PAYLOAD)
def test_a_payload_decodes_to_itself(p):
    assert qr.decode(qr.encode(p, KEY), KEY) == p


@pytest.mark.slow
@PROPERTY
@given(PAYLOAD, st.data())
def test_a_payload_with_any_single_byte_changed_never_verifies(p, data):
    raw = bytearray(qr.encode(p, KEY).encode("ascii"))
    i = data.draw(st.integers(0, len(raw) - 1), label="position")
    b = data.draw(st.integers(0, 255).filter(lambda b: b != raw[i]), label="byte")
    raw[i] = b
    assert _rejected(raw.decode("utf-8", "surrogateescape"))


@PROPERTY
@given(PAYLOAD, st.binary(min_size=16, max_size=64))
def test_another_stations_key_never_verifies(p, other):
    assume(other != KEY)
    assert _rejected(qr.encode(p, other))


# --- the validators on any value -------------------------------------------------------------

ANY = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), TEXT, st.binary(max_size=12), st.dates()),
    lambda inner: st.one_of(st.lists(inner, max_size=5), st.dictionaries(st.one_of(st.sampled_from(
        ["era", "year", "month", "day"]), TEXT), inner, max_size=5)),
    max_leaves=12)
# what the reader gives for a date: the era ticked and the digits of the comb cells
READ_DATE = st.fixed_dictionaries({
    "era": st.one_of(st.none(), st.sampled_from(list(v.ERAS)), TEXT),
    "year": st.one_of(st.none(), st.text(alphabet="0123456789", max_size=4), TEXT),
    "month": st.one_of(st.none(), st.text(alphabet="0123456789", max_size=3), TEXT),
    "day": st.one_of(st.none(), st.text(alphabet="0123456789", max_size=3), TEXT),
})


@PROPERTY
@given(st.one_of(ANY, READ_DATE))
def test_a_date_of_any_shape_never_crashes_and_a_date_accepted_is_a_real_birth_date(value):
    result = v.validate_value("date", value, TODAY)
    assert all(i.code in v.RULES for i in result.issues)
    if result.value is not None:
        d = date.fromisoformat(result.value)
        if result.ok:
            assert d <= TODAY and v._age(d, TODAY) <= v.MAX_AGE
            assert v.parse_date(result.value, TODAY).value == result.value
    else:
        assert not result.issues or not result.ok


@pytest.mark.slow
@PROPERTY
@given(ANY, st.sampled_from(["mobile", "home_phone", "phone"]))
def test_a_phone_of_any_shape_never_crashes_and_a_number_accepted_is_a_real_number(value, field):
    result = v.validate_value("phone", value, TODAY, field=field)
    assert all(i.code in v.RULES for i in result.issues)
    if result.value is not None and result.ok:
        assert re.fullmatch(r"\+?[0-9][0-9 -]+[0-9]", result.value)
        assert v.phone_kind(result.value) is not None
        assert v.normalize_phone(result.value).value == result.value


@pytest.mark.slow
@PROPERTY
@given(ANY, st.one_of(st.none(), ANY))
def test_a_postal_code_of_any_shape_never_crashes_and_a_code_accepted_exists(value, address):
    result = v.validate_value("postal", value, TODAY, address=address)
    assert all(i.code in v.RULES for i in result.issues)
    if result.value is not None:
        assert re.fullmatch(r"[0-9]{7}", result.value) and v._postal_places(result.value)


# --- the visit CSV import ----------------------------------------------------------------------

HEADER = ["各戸ID", "警察官ID", "日時", "結果", "指導連絡", "備考"]
GOOD_ROW = ["3", "S01-O001", "2026-11-18 10:00", "面接", "1,3", ""]
CELL = st.one_of(TEXT, st.sampled_from(["3", "5", "999999", "S01-O001", "S01-O999", "2026-11-18 10:00",
                                        "2099-01-01 00:00", "2026-02-30 10:00", *model.OUTCOMES, "1,3", "6", "",
                                        "１２", "2026/11/18 10:00", '"', "\r\n"]))
ROW = st.lists(CELL, min_size=0, max_size=8)
VALID_ROW = st.builds(lambda pid, minute, outcome: [str(pid), "S01-O001", f"2026-11-18 10:{minute:02d}", outcome, "", ""],
                      st.sampled_from([3, 5]), st.integers(0, 59), st.sampled_from(model.OUTCOMES))
ENCODING = st.sampled_from(["utf-8", "utf-8-sig", "cp932", "utf-16", "latin-1"])


def _csv_bytes(header, rows, encoding: str) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf)
    for row in [header, *rows]:
        w.writerow(row)
    return buf.getvalue().encode(encoding, "surrogatepass" if encoding.startswith("utf-8") else "replace")


NOW = __import__("datetime").datetime(2026, 11, 20, 12, 0)
PREMISES, OFFICERS = {3, 5}, {"S01-O001"}


@pytest.mark.slow
@PROPERTY
@given(st.dictionaries(st.sampled_from(list(visits.COLUMNS)), st.one_of(CELL, ANY), max_size=6))
def test_a_visit_row_of_anything_is_either_valid_or_one_error(values):
    try:
        row = visits.validate(values, PREMISES, OFFICERS, NOW)
    except JunkaiError as exc:
        assert str(exc)
        return
    assert row["premises_id"] in PREMISES and row["officer_id"] in OFFICERS and row["outcome"] in model.OUTCOMES
    assert row["visited_at"] <= NOW
    assert all(int(g) in model.GUIDANCE for g in row["guidance"].split(",") if g)


@PROPERTY
@given(st.binary(max_size=400), st.booleans())
def test_any_bytes_read_as_rows_with_line_numbers_or_one_error(data, with_header):
    import tempfile
    from pathlib import Path

    head = ",".join(HEADER).encode() + b"\n" if with_header else b""
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "v.csv"
        path.write_bytes(head + data)
        try:
            rows = visits.read_csv(path)
        except JunkaiError as exc:
            assert str(exc)
            return
    lines = [n for n, _ in rows]
    assert lines == sorted(set(lines)) and all(n >= 2 for n in lines)
    assert all(set(r) >= set(visits.REQUIRED) for _, r in rows)


def test_digits_int_refuses_and_digits_only_int_reads_are_errors_not_crashes(tmp_path):
    """Found by the properties above: "𐩁".isdigit() is true and int() refuses it; int() reads "1_0" as 10;
    a field beyond the csv module's limit raised csv.Error."""
    with pytest.raises(JunkaiError, match="1〜5"):
        visits.parse_guidance("1,\U00010a41")
    for pid in ("1_0", "+3", "\u0663"):
        with pytest.raises(JunkaiError, match="各戸ID"):
            visits.validate(dict(premises_id=pid, officer_id="S01-O001", visited_at="2026-11-18 10:00",
                                 outcome="面接"), {3, 10}, OFFICERS, NOW)
    path = tmp_path / "v.csv"
    path.write_text(",".join(HEADER) + "\n" + ",".join(GOOD_ROW) + "\n3," + "a" * 200_000 + "\n", encoding="utf-8")
    with pytest.raises(JunkaiError, match=r"v\.csv:3: CSV として読めません"):
        visits.read_csv(path)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    """A seeded data folder; each example runs on a fresh copy of its store."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    home = tmp_path_factory.mktemp("visits") / "home"
    env = dict(os.environ, JUNKAI_HOME=str(home))
    env.pop("JUNKAI_DB_URL", None)
    env.pop("JUNKAI_CONFIG", None)
    r = subprocess.run([str(Path(sys.executable).with_name("junkai")), "seed", "--premises", "10", "--seed", "2",
                        "--until", "2026-11-20"], env=env, capture_output=True, text=True, cwd=home.parent)
    assert r.returncode == 0, r.stderr
    return home


def _visits(home) -> int:
    import sqlite3

    with sqlite3.connect(home / "junkai.sqlite3") as conn:
        return conn.execute("select count(*) from visit").fetchone()[0]


@pytest.mark.slow
def test_a_premises_id_of_a_digit_int_refuses_is_a_row_error(seeded, tmp_path):
    """The import crashed on int() of a character str.isdigit() takes for a digit, before validating the rows."""
    import shutil

    from typer.testing import CliRunner

    from junkai.cli import app

    home = tmp_path / "home"
    shutil.copytree(seeded, home)
    path = tmp_path / "v.csv"
    path.write_text(",".join(HEADER) + "\n" + ",".join(GOOD_ROW) + "\n\U00010a41,S01-O001,2026-11-18 11:00,面接,,\n",
                    encoding="utf-8")
    env = {"JUNKAI_HOME": str(home), "JUNKAI_DB_URL": None, "JUNKAI_CONFIG": None}
    before = _visits(home)
    r = CliRunner().invoke(app, ["visit", "import", str(path)], env=env)
    assert r.exit_code == 2 and f"{path}:3: 各戸IDは数字です" in r.output, r.output
    assert _visits(home) == before


@pytest.mark.slow
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(st.one_of(
    st.tuples(st.just(HEADER), st.lists(VALID_ROW, max_size=6), st.sampled_from(["utf-8", "utf-8-sig"])),
    st.tuples(st.just(HEADER), st.lists(st.one_of(VALID_ROW, ROW), max_size=6), ENCODING),
    st.tuples(st.lists(st.one_of(TEXT, st.sampled_from(HEADER)), max_size=7), st.lists(ROW, max_size=3), ENCODING),
    st.tuples(st.none(), st.binary(max_size=300), st.just("")),
))
def test_any_visit_file_is_imported_whole_or_refused_with_row_numbers(seeded, tmp_path_factory, case):
    import shutil

    from typer.testing import CliRunner

    from junkai.cli import app

    header, rows, encoding = case
    data = rows if header is None else _csv_bytes(header, rows, encoding)
    root = tmp_path_factory.mktemp("import")
    home = root / "home"
    shutil.copytree(seeded, home)
    path = root / "巡回連絡簿.csv"
    path.write_bytes(data)
    before = _visits(home)
    env = {"JUNKAI_HOME": str(home), "JUNKAI_DB_URL": None, "JUNKAI_CONFIG": None}
    r = CliRunner().invoke(app, ["visit", "import", str(path)], env=env)
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    after = _visits(home)
    event(f"exit {r.exit_code}, {after - before} imported")
    if r.exit_code == 0:
        imported = int(re.search(r"([0-9]+) 件の訪問を取り込みました", r.output).group(1))
        assert after == before + imported
        assert imported == len(visits.read_csv(path))  # every row, or it would have said which were bad
    else:
        assert r.exit_code == 2, r.output
        assert after == before  # nothing of a refused file is kept
        row_errors = re.findall(rf"{re.escape(str(path))}:([0-9]+): ", r.output)
        if row_errors:
            lines = [int(n) for n in row_errors]
            assert lines == sorted(set(lines)) and all(n >= 2 for n in lines)
