"""The store on both databases: the organisation, effective dates, events and history."""

from datetime import date, datetime, timedelta

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings, strategies as st

from junkai import JunkaiError, model
from junkai.store import card_event

AT = datetime(2024, 4, 1, 10, 0)
ADDRESS = dict(postal_code="0300861", prefecture="青森県", city="青森市", town="長島", block="1-1-1",
               building=None, room=None)


def organise(store):
    store.add_station("S01", "青森警察署")
    store.add_post("S01-P01", "S01", "長島交番", "交番")
    store.add_beat("S01-P01-B1", "S01-P01", "長島交番第1受持区")
    store.add_officer("S01-O001", "S01", "佐藤 誠")
    store.add_officer("S01-O002", "S01", "工藤 健一")


def test_migrations_build_exactly_the_schema_the_code_declares(store):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from junkai.store import metadata

    with store.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []


def test_frequency_and_officer_are_effective_dated(store):
    with store.transaction():
        organise(store)
        store.set_frequency("S01-P01-B1", 12, date(2020, 4, 1), "署長", AT)
        store.set_frequency("S01-P01-B1", 6, date(2024, 10, 1), "署長", AT)
        store.assign("S01-P01-B1", "S01-O001", date(2020, 4, 1), "署長", AT)
        store.assign("S01-P01-B1", "S01-O002", date(2025, 4, 1), "署長", AT)
    with store.transaction():
        assert store.frequency_at("S01-P01-B1", date(2020, 3, 31)) is None
        assert store.frequency_at("S01-P01-B1", date(2020, 4, 1)) == 12
        assert store.frequency_at("S01-P01-B1", date(2024, 9, 30)) == 12
        assert store.frequency_at("S01-P01-B1", date(2024, 10, 1)) == 6
        assert store.officer_at("S01-P01-B1", date(2025, 3, 31)) == "S01-O001"
        assert store.officer_at("S01-P01-B1", date(2025, 4, 1)) == "S01-O002"
        assert [a["officer_id"] for a in store.assignments("S01-P01-B1")] == ["S01-O001", "S01-O002"]


def test_unknown_beat_and_officer_are_refused(store):
    with store.transaction():
        organise(store)
        with pytest.raises(JunkaiError, match="受持区が見つかりません: S09"):
            store.add_premises(model.HOUSEHOLD, "S09", ADDRESS, AT, "op")
        with pytest.raises(JunkaiError, match="警察官が見つかりません"):
            store.assign("S01-P01-B1", "S01-O999", date(2020, 1, 1), "署長", AT)


def test_a_failed_command_writes_nothing(store):
    with store.transaction():
        organise(store)
        pid = store.add_premises(model.HOUSEHOLD, "S01-P01-B1", ADDRESS, AT, "op")
        store.change_card(pid, [("home_phone", "017-777-1234")], AT, "operator", "op")
    with pytest.raises(JunkaiError, match="各戸が見つかりません"):
        with store.transaction():
            store.change_card(pid, [("home_phone", "017-777-9999")], AT + timedelta(days=1), "operator", "op")
            store.change_card(pid + 1, [("home_phone", "017-777-9999")], AT + timedelta(days=1), "operator", "op")
    with store.transaction():
        card = store.card(pid)
        assert card.data["home_phone"] == "017-777-1234"
        assert card.version == 1
        assert len(store.events(pid)) == 1


def test_the_store_keeps_values_as_given_and_callers_validate_them_first(store):
    with store.transaction():
        organise(store)
        pid = store.add_premises(model.HOUSEHOLD, "S01-P01-B1", ADDRESS, AT, "op")
        store.change_card(pid, [("home_phone", "０１７-７７７-１２３４")], AT, "operator", "op")
        assert store.card(pid).data["home_phone"] == "０１７-７７７-１２３４"
    checked = model.validate_changes(model.HOUSEHOLD, [("home_phone", "０１７-７７７-１２３４"), ("notes", None)],
                                     AT.date())
    assert checked == [("home_phone", "017-777-1234"), ("notes", None)]
    with pytest.raises(JunkaiError, match="未来"):
        model.validate_changes(model.HOUSEHOLD, [("home_phone", "017-777-9999"),
                                                 ("members.1", {"name": "佐藤 一郎", "birth_date": "2099-01-01"})],
                               AT.date())
    with pytest.raises(JunkaiError, match="カードにない項目"):
        model.validate_changes(model.BUSINESS, [("members.1.name", "佐藤 一郎")], AT.date())


def test_card_versions_confirmation_and_status(store):
    with store.transaction():
        organise(store)
        pid = store.add_premises(model.HOUSEHOLD, "S01-P01-B1", ADDRESS, AT, "op")
        assert store.card(pid).version == 0
        v1 = store.change_card(pid, [("members.1", {"name": "佐藤 太郎", "relation": "世帯主"})], AT, "scan:1", "op")
        same = store.change_card(pid, [("members.1.name", "佐藤 太郎")], AT + timedelta(days=1), "scan:2", "op")
        store.confirm_card(pid, AT + timedelta(days=30), "scan:3", "op")
        store.set_status(pid, model.CEASED, AT + timedelta(days=40), "operator", "op")
    with store.transaction():
        card = store.card(pid)
        assert (v1, same, card.version) == (1, 1, 1)
        assert card.created_on == AT.date()
        assert card.confirmed_on == AT.date() + timedelta(days=30)
        assert card.confirmed_source == "scan:3"
        assert store.premises(pid)["status"] == model.CEASED
        assert [e["path"] for e in store.events(pid)] == ["members.1", model.CONFIRM, model.STATUS]


def test_history_rebuilds_the_card_as_it_stood_on_a_past_day(store):
    with store.transaction():
        organise(store)
        pid = store.add_premises(model.HOUSEHOLD, "S01-P01-B1", ADDRESS, AT, "op")
        store.change_card(pid, [("home_phone", "017-777-1111")], datetime(2021, 5, 1, 10), "seed", "op")
        store.change_card(pid, [("home_phone", "017-777-2222")], datetime(2023, 5, 1, 10), "seed", "op")
    with store.transaction():
        assert store.card_at(pid, date(2021, 4, 30)) == model.empty_card(model.HOUSEHOLD)
        assert store.card_at(pid, date(2021, 5, 1))["home_phone"] == "017-777-1111"
        assert store.card_at(pid, date(2023, 4, 30))["home_phone"] == "017-777-1111"
        assert store.card_at(pid)["home_phone"] == "017-777-2222"


# Random sequences of changes: the card view always equals the rebuild from events,
# and every earlier state can be rebuilt.

names = st.sampled_from(["佐藤 太郎", "工藤 花子", "髙橋 一", "渡邉 美咲", "今 勝"])
phones = st.sampled_from(["017-777-1234", "0172-33-4455", "090-1234-5678", "080-9999-0000"])
member = st.fixed_dictionaries({"name": names}, optional={
    "relation": st.sampled_from(model.RELATIONS), "sex": st.sampled_from(model.SEXES), "mobile": phones,
    "birth_date": st.dates(date(1920, 1, 1), date(2024, 1, 1)).map(date.isoformat)})
contact = st.fixed_dictionaries({"name": names}, optional={
    "relation": st.sampled_from(["長男", "知人"]), "phone": phones, "address": st.just("東京都練馬区豊玉北1-2-3")})
change = st.one_of(
    st.tuples(st.just("home_phone"), st.one_of(st.none(), phones)),
    st.tuples(st.just("dwelling"), st.sampled_from(model.DWELLINGS)),
    st.tuples(st.just("visit_days"), st.lists(st.sampled_from(model.VISIT_DAYS), unique=True)),
    st.tuples(st.sampled_from(["members.1", "members.2", "members.3"]), st.one_of(st.none(), member)),
    st.tuples(st.just("contacts.1"), st.one_of(st.none(), contact)),
    st.tuples(st.sampled_from(["members.1.mobile", "contacts.1.phone"]), st.one_of(st.none(), phones)),
    st.tuples(st.just("members.2.name"), st.one_of(st.none(), names)),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(st.lists(change, min_size=1, max_size=4), min_size=1, max_size=25))
def test_rebuild_from_events_equals_the_card_after_random_changes(store, steps):
    with store.transaction():
        if store.is_empty():
            organise(store)
        pid = store.add_premises(model.HOUSEHOLD, "S01-P01-B1", ADDRESS, AT, "op")
    expected = []
    for i, step in enumerate(steps):
        at = AT + timedelta(days=i)
        with store.transaction():
            store.change_card(pid, step, at, f"scan:{i}", "op")
        with store.transaction():
            expected.append(store.card(pid).data)
    with store.transaction():
        assert store.card_at(pid) == store.card(pid).data
        for i, snapshot in enumerate(expected):
            assert store.card_at(pid, AT + timedelta(days=i)) == snapshot
        versions = [v for (v,) in store.conn.execute(
            sa.select(card_event.c.version).where(card_event.c.premises_id == pid).order_by(card_event.c.id))]
        assert versions == sorted(versions)



def lift_the_guard(store) -> None:
    """What an attacker with the tables' owner or the SQLite file does first: the trigger that keeps
    audit rows append-only goes (in this transaction only)."""
    if store.dialect == "postgresql":
        store.conn.exec_driver_sql("ALTER TABLE audit DISABLE TRIGGER USER")
    else:  # a write first, so that pysqlite opens the transaction that the rollback undoes
        store.conn.exec_driver_sql("UPDATE audit_head SET count = count")
        store.conn.exec_driver_sql("DROP TRIGGER audit_no_update")
        store.conn.exec_driver_sql("DROP TRIGGER audit_no_delete")


def rechain(store, digest) -> None:
    """Recompute every row's hash after an edit, and the head, as a forger would."""
    from junkai.store import GENESIS, audit, audit_head

    prev = GENESIS
    for r in store.conn.execute(sa.select(audit).order_by(audit.c.id)).mappings().all():
        h = digest(prev, dict(r))
        store.conn.execute(audit.update().where(audit.c.id == r["id"]).values(prev_hash=prev, hash=h))
        prev = h
    store.conn.execute(audit_head.update().values(hash=prev))


def five_rows(store):
    with store.transaction():
        for i in range(5):
            store.audit("地域課 試験", "export", "cards", str(i), rows=i)
    with store.transaction():
        assert store.verify_audit() == (5, None)


def test_the_audit_log_is_a_hash_chain_that_shows_edits_and_deletions(store):
    from junkai.store import audit

    five_rows(store)
    with store.transaction():  # someone edits a row by hand
        lift_the_guard(store)
        store.conn.execute(audit.update().where(audit.c.target_id == "2").values(detail='{"rows": 99}'))
        n, problem = store.verify_audit()
        assert "内容が記録時から変わっています" in problem and problem.startswith("id 3 ")
        store.conn.rollback()
    with store.transaction():
        lift_the_guard(store)
        store.conn.execute(audit.delete().where(audit.c.target_id == "1"))
        assert "つながっていません" in store.verify_audit()[1]
        store.conn.rollback()
    with store.transaction():
        lift_the_guard(store)
        store.conn.execute(audit.delete().where(audit.c.target_id == "4"))
        assert "末尾" in store.verify_audit()[1]
        store.conn.rollback()
    with store.transaction():
        assert store.verify_audit() == (5, None)
        assert [e["target_id"] for e in store.audit_events(what="export")] == ["0", "1", "2", "3", "4"]
        assert {(e["os_account"], e["host"]) for e in store.audit_events()} == {(store.os_account, store.host)}


def test_the_database_refuses_to_change_or_remove_an_audit_row(store):
    from junkai.store import audit

    five_rows(store)
    for statement in (audit.update().values(detail="{}"), audit.delete()):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"):
            with store.transaction():
                store.conn.execute(statement)
    with store.transaction():
        assert store.verify_audit() == (5, None)


def test_a_rechained_log_shows_without_the_key_and_with_it(store):
    """Rows edited and every hash recomputed: without the key (plain SHA-256, or a key of one's own)
    the keyed hashes do not check; with the key, the head file's lines still hold the old hashes."""
    from junkai.store import audit, audit_hash, audit_mac
    from junkai.store.audit import read_key

    five_rows(store)
    key = read_key(store.home)
    for digest, says in ((audit_hash, "鍵なしでハッシュが計算し直されています"),
                         (lambda p, r: audit_mac(b"guessed", p, r), "内容が記録時から変わっています"),
                         (lambda p, r: audit_mac(key, p, r), "先端の記録")):
        with store.transaction():
            lift_the_guard(store)
            store.conn.execute(audit.update().where(audit.c.target_id == "2").values(detail='{"rows": 99}'))
            rechain(store, digest)
            n, problem = store.verify_audit()
            assert problem is not None and says in problem, problem
            store.conn.rollback()


def test_a_truncated_log_with_its_head_reset_shows(store):
    from junkai.store import audit, audit_head

    five_rows(store)
    with store.transaction():
        lift_the_guard(store)
        store.conn.execute(audit.delete().where(audit.c.target_id.in_(["3", "4"])))
        last = store.conn.execute(sa.select(audit.c.hash).order_by(audit.c.id.desc()).limit(1)).scalar_one()
        store.conn.execute(audit_head.update().values(count=3, hash=last))
        n, problem = store.verify_audit()
        assert problem.startswith("末尾: 先端の記録") and "5 行あるはずが 3 行" in problem, problem
        store.conn.rollback()
    (store.home / "audit-head.log").unlink()  # the head file itself removed
    with store.transaction():
        assert "先端の記録 audit-head.log がデータフォルダにありません" in store.verify_audit()[1]


def test_without_the_key_the_log_cannot_be_checked(store):
    five_rows(store)
    (store.home / "keys" / "audit.key").unlink()
    with store.transaction():
        assert "監査の鍵" in store.verify_audit()[1]


def test_the_key_is_no_one_elses_and_each_row_has_a_line_in_the_head_file(store):
    five_rows(store)
    assert (store.home / "keys" / "audit.key").stat().st_mode & 0o007 == 0
    lines = (store.home / "audit-head.log").read_text().splitlines()
    assert [int(line.split()[1]) for line in lines] == [1, 2, 3, 4, 5]


def test_rows_written_before_the_chain_existed_are_chained_by_the_migration(db_url, tmp_path):
    from alembic import command
    from alembic.config import Config
    import junkai.store as st

    s = st.Store(db_url, tmp_path)
    cfg = Config()
    cfg.set_main_option("script_location", str(st.MIGRATIONS))
    with s.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0005")
        for i in range(3):
            conn.execute(sa.text("insert into audit (at, operator, action, target_kind, target_id, detail) "
                                 "values (:at, 'op', 'export', 'cards', :i, '{}')"),
                         {"at": datetime(2026, 1, 1, 10, 0, i, 500 * i), "i": str(i)})
    s.migrate()
    with s.transaction():
        assert s.verify_audit() == (3, None)
        s.audit("op", "export", "cards", "3")
        assert s.verify_audit() == (4, None)
    with s.transaction():  # the rows from before the key stay checked as before
        lift_the_guard(s)
        s.conn.execute(sa.text("UPDATE audit SET detail = '{\"x\": 1}' WHERE id = 2"))
        assert s.verify_audit()[1].startswith("id 2 の行: 内容が記録時から変わっています")
        s.conn.rollback()


def test_the_service_role_on_postgresql_can_add_audit_rows_but_never_change_them(pg_server, tmp_path):
    """The tool runs as a role that does not own the tables: it appends audit rows, and PostgreSQL
    refuses it any UPDATE, DELETE or TRUNCATE of them, and switching their trigger off."""
    from tests.conftest import new_pg_database
    from junkai.store import Store, audit, service_role_sql

    url = new_pg_database(pg_server)
    owner = Store(url, tmp_path)
    owner.migrate()
    role = "junkai_app_test"
    with owner.engine.begin() as conn:
        if not conn.exec_driver_sql(f"SELECT 1 FROM pg_roles WHERE rolname = '{role}'").first():
            conn.exec_driver_sql(f"CREATE ROLE {role} LOGIN")
        for statement in service_role_sql(role):
            conn.exec_driver_sql(statement)
    app = Store(sa.engine.make_url(url).set(username=role).render_as_string(hide_password=False), tmp_path)
    try:
        with app.transaction():
            app.add_station("S01", "青森警察署")
            app.audit("地域課 試験", "export", "cards", "1")
        for statement in ("UPDATE audit SET detail = '{}'", "DELETE FROM audit", "TRUNCATE audit",
                          "ALTER TABLE audit DISABLE TRIGGER USER"):
            with pytest.raises(sa.exc.DBAPIError, match="permission denied|must be owner|append-only"):
                with app.transaction():
                    app.conn.exec_driver_sql(statement)
        with pytest.raises(sa.exc.DBAPIError, match="append-only"):  # nor the owner, while the trigger is on
            with owner.engine.begin() as conn:
                conn.execute(audit.update().values(detail="{}"))
        with app.transaction():
            assert app.verify_audit() == (1, None)
    finally:
        app.close()
        owner.close()
