"""The store's engine, transactions and schema upgrades, and what every aggregate shares."""

from __future__ import annotations

import os
import sqlite3
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from junkai import JunkaiError
from junkai.store.schema import beat, metadata, night_approval, opinion, post, premises, station, visit

if TYPE_CHECKING:
    import pandas as pd

    from junkai.store import Store

MIGRATIONS = Path(__file__).parent.parent / "migrations"


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def display_url(url: str) -> str:
    """A database URL fit to print or to audit: the password hidden."""
    return sa.engine.make_url(url).render_as_string(hide_password=True)


def snapshot_row_counts(db: Path) -> dict[str, int]:
    """Rows per table of a SQLite snapshot, read-only: opening it as a store would switch it to WAL."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return {t.name: conn.execute(f'SELECT count(*) FROM "{t.name}"').fetchone()[0] for t in metadata.sorted_tables}
    finally:
        conn.close()


def service_role_sql(role: str) -> list[str]:
    """On PostgreSQL, what the owner of the tables (who runs `junkai init`) grants the role that the
    tool runs as day to day: every table, but audit rows can only be added, never changed, removed
    or truncated. Not owning the tables, the role cannot switch off their trigger either."""
    return [f"GRANT USAGE ON SCHEMA public TO {role}",
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}",
            f"REVOKE UPDATE, DELETE, TRUNCATE ON audit FROM {role}",
            f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}"]


class StoreBase:
    """One database: its engine, the transaction of the command in progress, and shared helpers."""

    def __init__(self, url: str, home: Path | None = None):
        """`home`: the data folder, which holds the audit key and the audit head file (default: that of
        a SQLite store, else JUNKAI_HOME)."""
        from junkai import identity

        self.url = url
        if home is None:
            home = (Path(url.removeprefix("sqlite:///")).parent if url.startswith("sqlite:///")
                    else Path(os.environ.get("JUNKAI_HOME") or "data"))
        self.home = home.resolve()
        # who runs this process, where: recorded on every audit row
        self.os_account, self.host = identity.os_account(), identity.host()
        self._anchors: list[str] = []
        self._audit_key: bytes | None = None
        if url.startswith("sqlite:///"):
            db = Path(url.removeprefix("sqlite:///"))
            db.parent.mkdir(parents=True, exist_ok=True)
            # made here rather than by SQLite (0644): as the umask allows, so that in a data folder a
            # station's group shares, every member can write it (its -wal and -shm take its mode)
            if db.name and not db.exists():
                os.close(os.open(db, os.O_WRONLY | os.O_CREAT, 0o660))
        # concurrent writers (two ingests at once) wait for each other rather than fail at once
        connect_args = {"timeout": 60} if url.startswith("sqlite") else {}
        self.engine: Engine = sa.create_engine(url, future=True, connect_args=connect_args)
        if self.engine.dialect.name == "sqlite":
            sa.event.listen(self.engine, "connect", _sqlite_pragmas)
        self._conn: Connection | None = None

    def migrate(self) -> None:
        """Create or upgrade the schema to the newest migration."""
        from alembic import command
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        with self.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")

    def has_table(self, name: str) -> bool:
        """Whether the database has the table yet (a store from before a migration may not)."""
        return sa.inspect(self.engine).has_table(name)

    def is_initialised(self) -> bool:
        return self.has_table("premises")

    def check_ready(self) -> None:
        if not self.is_initialised():
            raise JunkaiError("ストアが初期化されていません。先に `junkai init` を実行してください")

    @property
    def dialect(self) -> str:
        """sqlite or postgresql."""
        return self.engine.dialect.name

    @property
    def sqlite_path(self) -> Path | None:
        """The database file of a SQLite store; None on a server."""
        return Path(self.engine.url.database) if self.dialect == "sqlite" else None

    def snapshot(self, dest: Path) -> None:
        """A consistent copy of a live SQLite store, through SQLite's online backup API, into `dest`
        (an empty file the caller created with the permissions it wants) as one self-contained file."""
        src = sqlite3.connect(self.sqlite_path, timeout=60)
        dst = sqlite3.connect(dest)
        try:
            src.backup(dst)
            # no -wal beside it: the backup is one file that opens anywhere
            dst.execute("PRAGMA journal_mode=DELETE")
        finally:
            dst.close()
            src.close()

    def row_counts(self) -> dict[str, int]:
        """Rows per table, in one transaction."""
        with self.transaction():
            return {t.name: self.conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
                    for t in metadata.sorted_tables}

    @contextmanager
    def transaction(self) -> Iterator[Store]:
        """One transaction per command: all of it is written, or none."""
        if self._conn is not None:
            yield self
            return
        self._anchors = []
        try:
            with self.engine.begin() as conn:
                self._conn = conn
                try:
                    yield self
                finally:
                    self._conn = None
        except BaseException:
            self._anchors = []
            raise
        if self._anchors:  # committed: now the audit rows it wrote are anchored outside the database
            from junkai.store.audit import append_head

            lines, self._anchors = self._anchors, []
            append_head(self.home, lines)

    @property
    def conn(self) -> Connection:
        if self._conn is None:
            raise RuntimeError("store used outside a transaction")
        return self._conn

    def close(self) -> None:
        self.engine.dispose()

    def bulk_insert(self, table_name: str, rows: list[dict]) -> None:
        if rows:
            self.conn.execute(metadata.tables[table_name].insert(), rows)

    def fix_sequences(self) -> None:
        """After rows were loaded with explicit ids, let PostgreSQL's sequences continue past them."""
        if self.engine.dialect.name != "postgresql":
            return
        for t in (visit, night_approval, opinion):
            self.conn.execute(sa.text(
                f"SELECT setval(pg_get_serial_sequence('{t.name}', 'id'), GREATEST((SELECT max(id) FROM {t.name}), 1))"))

    def _tuples(self, q) -> "pd.DataFrame":
        # plain tuples: per-value conversion by the ORM layer would cost more than the query
        import pandas as pd

        return pd.DataFrame([tuple(r) for r in self.conn.execute(q)], columns=[c.name for c in q.selected_columns])

    def _raw_tuples(self, q) -> "pd.DataFrame":
        """As _tuples, for queries of plain numbers and text only: the driver's rows as they come, without
        SQLAlchemy's per-row processing (half the time on the million-row reads of a prefecture's lists)."""
        import pandas as pd

        rows = self.conn.execute(q).cursor.fetchall()
        return pd.DataFrame.from_records(rows, columns=[c.name for c in q.selected_columns], nrows=len(rows))

    def _in_scope(self, scope: tuple[str, str]):
        """The condition, on beat joined to post, that a beat lies in a beat, post or station; refuses an unknown one."""
        level, key = scope
        table, column = {"beat": (beat, beat.c.id), "post": (post, post.c.id),
                         "station": (station, post.c.station_id)}[level]
        if self.conn.execute(sa.select(table.c.id).where(table.c.id == key)).first() is None:
            raise JunkaiError(f"{ {'beat': '受持区', 'post': '交番・駐在所', 'station': '警察署'}[level] }が見つかりません: {key}")
        return column == key

    def scope_filter(self, scope: tuple[str, str] | None):
        """premises ids within a beat, post or station (None: the whole store), as a subquery."""
        q = sa.select(premises.c.id).select_from(premises.join(beat).join(post))
        return q if scope is None else q.where(self._in_scope(scope))
