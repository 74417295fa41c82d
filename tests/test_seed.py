"""The demo seed: realistic, valid, consistent with its own events, and deterministic."""

from datetime import date

import pandas as pd
import pytest

from junkai import JunkaiError, model, validate
from junkai.export import write_export
from junkai.seed import aomori_towns, seed
from junkai.store import EXPORTS, Store

UNTIL = date(2026, 11, 20)


def seeded(url, n=120, stations=2, s=7, home=None):
    store = Store(url, home)  # home: the audit key and head file (a SQLite store's folder by default)
    store.migrate()
    with store.transaction():
        result = seed(store, n, stations, s, UNTIL, "test")
    return store, result


def exports(store, tmp_path, tag):
    files = {}
    with store.transaction():
        for what in EXPORTS:
            path = tmp_path / f"{tag}-{what}.csv"
            write_export(store, what, "csv", path)
            files[what] = path.read_bytes()
    return files


def test_same_seed_gives_the_same_export_and_another_seed_does_not(tmp_path):
    a, _ = seeded(f"sqlite:///{tmp_path / 'a.db'}")
    b, _ = seeded(f"sqlite:///{tmp_path / 'b.db'}")
    c, _ = seeded(f"sqlite:///{tmp_path / 'c.db'}", s=8)
    ea, eb, ec = exports(a, tmp_path, "a"), exports(b, tmp_path, "b"), exports(c, tmp_path, "c")
    assert ea == eb
    assert ea["cards"] != ec["cards"]
    assert ea["cards"].startswith("\ufeff".encode())  # a spreadsheet reads UTF-8 only with the BOM


def test_postgresql_seed_equals_sqlite_seed(tmp_path, pg_server):
    from tests.conftest import new_pg_database

    a, _ = seeded(f"sqlite:///{tmp_path / 'a.db'}", n=60)
    b, _ = seeded(new_pg_database(pg_server), n=60, home=tmp_path / "pg")
    assert exports(a, tmp_path, "a") == exports(b, tmp_path, "b")


def test_seeded_store_is_consistent_and_valid(tmp_path):
    store, result = seeded(f"sqlite:///{tmp_path / 'a.db'}", n=200, stations=2)
    towns = {(t["postal_code"], t["town"]) for t in aomori_towns()}
    with store.transaction():
        premises = store.frame("premises")
        visits = store.frame("visits")
        opinions = store.frame("opinions")
        assert len(premises) == result.premises == 200
        assert set(zip(premises.postal_code, premises.town)) <= towns  # real Aomori addresses
        assert (premises.prefecture == "青森県").all()
        seen = set()
        for pid, kind in zip(premises.id, premises.kind):
            card = store.card(int(pid))
            # the card view is exactly what the events add up to
            assert store.card_at(int(pid)) == card.data
            for path, value in _leaves(card.data):
                assert model.validate_field(kind, path, value, UNTIL) == value, (pid, path, value)
            if kind == model.HOUSEHOLD and card.version:
                assert sum(m.get("relation") == "世帯主" for m in card.data["members"].values()) == 1
                assert not validate.check_household(card.data)
            seen.update(path.split(".")[-1] for path, _ in _leaves(card.data))
            seen.update(f"support:{t}" for t in card.data.get("support") or [])
            seen.update(f"relation:{m.get('relation')}" for m in (card.data.get("members") or {}).values())
            seen.update(f"sex:{m.get('sex')}" for m in (card.data.get("members") or {}).values())
        # the later fields are in the demo too, each answer of 要配慮 somewhere
        assert {"work_phone", "business_phone", "support", "sex:回答しない"} <= seen
        assert {f"support:{t}" for t in model.SUPPORT} <= seen
        assert set(visits.outcome) == set(model.OUTCOMES)
        assert visits.visited_at.max().date() <= UNTIL
        assert visits.visited_at.min().date() < date(UNTIL.year - 4, 1, 1)  # years of history
        assert 2 <= len(visits) / len(premises) <= 8
        night = visits[visits.night]
        assert len(night) > 0 and night.night_approval_id.isna().any() and night.night_approval_id.notna().any()
        assert opinions.complaint.any() and (~opinions.complaint).any()
        assert (premises.status == model.CEASED).any()
        beats = store.summary()
        assert len(beats) == result.beats >= 4
        for beat in beats.beat:
            assert store.frequency_at(beat, UNTIL) in (6, 12, 24)
            assert store.officer_at(beat, UNTIL) is not None


def _leaves(card):
    for key, value in card.items():
        if key in model.GROUPS:
            for k, row in value.items():
                for f, v in row.items():
                    yield f"{key}.{k}.{f}", v
        else:
            yield key, value


def test_seed_refuses_a_store_that_has_data(tmp_path):
    store, _ = seeded(f"sqlite:///{tmp_path / 'a.db'}", n=10, stations=1)
    with pytest.raises(JunkaiError, match="すでにデータ"):
        with store.transaction():
            seed(store, 10, 1, 1, UNTIL, "test")
