"""Visit lists with pre-filled cards (第6-1, 第6-7(3)) and the handover report (第5-1, 第6-8), read back."""

import re
from datetime import date

import pdfplumber
import pytest

from junkai import printing, qr
from junkai.handover import write as write_handover
from junkai.lists import Definitions, overdue, status
from junkai.seed import seed
from junkai.store import Store
from junkai.visitlists import write as write_lists

AS_OF = date(2026, 11, 20)
# both tests render every card of a beat into one PDF and read it back
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    root = tmp_path_factory.mktemp("lists")
    store = Store(f"sqlite:///{root / 'store.db'}")
    store.migrate()
    with store.transaction():
        seed(store, 90, 1, 11, AS_OF, "試験")
    return store, root


def test_visit_list_pdf_lists_each_officers_premises_in_walking_order_then_their_cards(seeded):
    store, root = seeded
    with store.transaction():
        beat = store.summary().beat.iloc[0]
    written = write_lists(store, AS_OF, ("beat", beat), "試験", root / "out", qr.station_key(root))
    df = overdue(store, AS_OF, ("beat", beat))
    with store.transaction():
        expected = [p["id"] for p in printing.walking_order([store.premises(int(i)) for i in df.premises_id])]
        batches = [store.print_batch(b) for b in written.batches]
    assert written.path.stat().st_mode & 0o077 == 0 and not list((root / "out").glob(".*"))
    with pdfplumber.open(written.path) as pdf:
        texts = [p.extract_text() or "" for p in pdf.pages]
        assert len(pdf.pages) == written.pages
    listing = [t for t in texts if "最後の面接" in t]  # the table header repeats on every list page
    listed = [int(n) for t in listing for n in re.findall(r"各戸 (\d+)", t)]
    assert listed == expected
    assert "長期不実施:" in listing[0] and "取扱注意" in listing[0]
    # the cards follow, one recorded print batch per officer, with the same premises
    assert sorted(c["premises_id"] for b in batches for c in b["printed"]) == \
        sorted(expected)
    card_pages = sum(c["sheets"] for b in batches for c in b["printed"])
    cover_pages = sum("印刷一覧" in t for t in texts)
    assert len(texts) == len(listing) + cover_pages + card_pages


def test_handover_report_for_a_new_officer(seeded):
    store, root = seeded
    with store.transaction():
        beat = store.summary().beat.iloc[0]
        officer = store.officer(store.officer_at(beat, AS_OF))["name"]
    path = write_handover(store, beat, AS_OF, "地域課長 試験", root / "out", Definitions(), 3, 0.1)
    df = status(store, AS_OF, ("beat", beat))
    with pdfplumber.open(path) as pdf:
        text = "\n".join(p.extract_text() or "" for p in pdf.pages)
        words = pdf.pages[0].extract_words()
    assert officer in text and "第6-8" in text
    assert len(re.findall(r"各戸 \d+", text)) == len(df)  # every premises of the beat, not only the overdue

    def figure(label):  # the number printed under a figure's label
        box = next(w for w in words if w["text"] == label)
        below = [w for w in words if w["top"] > box["top"] + 2 and box["x0"] - 3 <= w["x0"] <= box["x1"]]
        return min(below, key=lambda w: w["top"])["text"]

    assert figure("長期不実施") == str(int(df.category.str.contains("長期不実施").sum()))
    assert figure("長期未把握") == str(int(df.category.str.contains("長期未把握").sum()))
    assert figure("各戸") == str(len(df))
