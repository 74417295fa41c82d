"""Visit lists with pre-filled cards (第6-1, 第6-7(3)) and the handover report (第5-1, 第6-8), read back."""

import re
from datetime import date

import pandas as pd
import pdfplumber
import pytest

from junkai import printing, qr
from junkai.handover import write as write_handover
from junkai.lists import Definitions, overdue, status
from junkai.seed import seed
from junkai.store import Store
from junkai.visitlists import SUPPORT_SHORT, write as write_lists
from junkai.wareki import wareki_text

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


def test_visit_list_is_a_walk_town_by_town_with_what_the_officer_needs_at_the_door(seeded):
    store, root = seeded
    with store.transaction():
        beat = store.summary().beat.iloc[0]
    written = write_lists(store, AS_OF, ("beat", beat), "試験", root / "walk", qr.station_key(root))
    df = overdue(store, AS_OF, ("beat", beat)).set_index("premises_id")
    with store.transaction():
        walk = printing.walking_order([store.premises(int(i)) for i in df.index])
        cards = {p["id"]: store.card(p["id"]).data for p in walk}
        visits = {p["id"]: store.visits(p["id"]) for p in walk}
    with pdfplumber.open(written.path) as pdf:
        pages = [p for p in pdf.pages if "最後の面接" in (p.extract_text() or "")]
        text = "\n".join(p.extract_text() for p in pages)
        tables = [(t, t.extract()) for p in pages for t in p.find_tables()]
    # the order is stated on the page, and the definitions say what they mean
    assert "歩いて回る順" in text and "丁目 → 番地 → 号 → 建物 → 部屋" in text
    assert "より長い間" in text and "長くない" not in text
    header = tables[0][1][0]
    for column in ("世帯主・代表者", "訪問希望 曜日・", "不在回数", "記事"):
        assert any(column in (h or "") for h in header), column
    # the notes column is wide enough to write in
    notes = next(c for c, h in zip(tables[0][0].rows[0].cells, header) if h and h.startswith("記事"))
    assert (notes[2] - notes[0]) * 25.4 / 72 >= 35
    # towns as headings, each premises under its own town, in walking order
    seen, town = [], None
    for _, rows in tables:
        for r in rows[1:]:
            if r[1] is None:
                town = r[0].split("（")[0]
                continue
            pid = int(re.search(r"各戸 (\d+)", r[1]).group(1))
            p = next(p for p in walk if p["id"] == pid)
            assert town == p["city"] + p["town"] and r[1].startswith(p["block"])
            seen.append((pid, r))
    campaign = [p["id"] for p in walk if pd.notna(df.campaign_id[p["id"]])]
    assert [pid for pid, _ in seen] == campaign + [p["id"] for p in walk if p["id"] not in campaign]
    # the card's head of household and preferred days and times, absences since the last meeting, 和暦 dates
    assert not re.search(r"\d{4}-\d{2}-\d{2}", text) and "令和" in text
    for pid, r in seen:
        card = cards[pid]
        heads = [m["name"] for m in card.get("members", {}).values() if m.get("relation") == "世帯主"]
        head, mark, support = r[2].replace("\n", "").partition("要配慮: ")
        if heads:
            assert head == heads[0]
        # the household's 要配慮 ticks in brief, under its head; none for a business or an unticked card
        ticks = [SUPPORT_SHORT[t] for t in card.get("support", [])]
        assert mark + support == ("要配慮: " + "・".join(ticks) if ticks else ""), (pid, r[2])
        for day in card.get("visit_days", []) + card.get("visit_times", []):
            assert day in r[5].replace("\n", "")
        met = [i for i, v in enumerate(visits[pid]) if v["outcome"] in ("面接", "カード作成", "カード補正")]
        after = visits[pid][met[-1] + 1:] if met else visits[pid]
        assert int(r[8]) == sum(v["outcome"] == "不在" for v in after)
        last = df.last_visit[pid]
        assert r[6] == (wareki_text(last) if pd.notna(last) else "なし")
    assert any(int(r[8]) > 0 for _, r in seen)
    assert any("要配慮: " in r[2] for _, r in seen) and "要配慮: 世帯が任意で印をつけた" in text


def test_the_walk_reads_kanji_numerals_as_numbers():
    def p(i, block, room=None):
        return dict(id=i, city="青森市", town="長島", postal_code="030-0861", block=block, building=None, room=room)

    premises = [p(1, "十丁目1-1"), p(2, "二丁目3-10"), p(3, "2丁目3-4"), p(4, "五丁目二十八番地三号"),
                p(5, "五丁目28-2"), p(6, "五丁目九番地"), p(7, "一丁目1-1", "二〇三"), p(8, "一丁目1-1", "九")]
    assert [x["id"] for x in printing.walking_order(premises)] == [8, 7, 3, 2, 6, 5, 4, 1]
