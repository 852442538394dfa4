"""SQLite state of the portal (``<state_dir>/bitrix.sqlite3``): a table per entity, JSON + indexed columns.

Every table has ``id INTEGER PRIMARY KEY AUTOINCREMENT`` (ids never reused, like MySQL) and a ``data`` JSON
blob; the fields lists filter and page on (``DATE_MODIFY``, ``ORIGIN_ID``, owners, stages) are copied into
indexed columns so that ``filter[>ID]`` and ``>DATE_MODIFY`` are index range scans. Reads use one connection
per thread (WAL); writes take the store's lock and one ``BEGIN IMMEDIATE`` transaction.

SQL text is built only from schema identifiers; client values always travel as parameters.
"""
# ruff: noqa: S608

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from contour.bitrix import schemas
from contour.bitrix.fields import Schema
from contour.bitrix.values import now_us

DB_NAME = "bitrix.sqlite3"


class Table:
    """A table: its schema, the extra indexed columns (DDL) and their indexes."""

    def __init__(self, name: str, schema: Schema, ddl: str, indexes: tuple[str, ...] = ()):
        self.name, self.schema, self.ddl, self.indexes = name, schema, ddl, indexes
        self.id_key = next(f.key for f in schema.fields.values() if f.column == "id")
        self._columns = [(f.column, f.key) for f in schema.fields.values() if f.column and f.column != "id"]

    def column_values(self, record: dict[str, Any]) -> dict[str, Any]:
        return {column: record.get(key) for column, key in self._columns}


PRODUCTROW = Schema("""
ID integer ro col=id
OWNER_TYPE string col=owner_type
OWNER_ID integer col=owner_id
SORT integer
""")

TABLES = {
    t.name: t
    for t in (
        Table(
            "company",
            schemas.COMPANY,
            "date_create INTEGER, date_modify INTEGER, origin_id TEXT, originator_id TEXT",
            ("date_modify", "origin_id"),
        ),
        Table(
            "requisite",
            schemas.REQUISITE,
            "entity_type_id INTEGER, entity_id INTEGER, inn TEXT, date_create INTEGER, date_modify INTEGER",
            ("entity_type_id, entity_id", "inn", "date_modify"),
        ),
        Table("product", schemas.PRODUCT, "date_create INTEGER, date_modify INTEGER", ("date_modify",)),
        Table(
            "deal",
            schemas.DEAL,
            "date_create INTEGER, date_modify INTEGER, origin_id TEXT, originator_id TEXT, "
            "company_id INTEGER, stage_id TEXT, category_id INTEGER",
            ("date_modify", "origin_id", "company_id", "stage_id"),
        ),
        Table("productrow", PRODUCTROW, "owner_type TEXT, owner_id INTEGER", ("owner_type, owner_id",)),
        Table(
            "item",
            schemas.SMART_INVOICE,
            "entity_type_id INTEGER, date_create INTEGER, date_modify INTEGER, "
            "company_id INTEGER, stage_id TEXT, category_id INTEGER, parent_deal INTEGER",
            ("date_modify", "parent_deal", "stage_id"),
        ),
        Table("status", schemas.STATUS, "entity_id TEXT, status_id TEXT, sort INTEGER", ("entity_id, sort",)),
        Table("category", schemas.CATEGORY, "entity_type_id INTEGER", ("entity_type_id",)),
        Table("preset", schemas.PRESET, ""),
        Table(
            "stagehistory",
            schemas.STAGE_HISTORY,
            "entity_type_id INTEGER, owner_id INTEGER, created_time INTEGER, stage_id TEXT",
            ("entity_type_id, owner_id", "entity_type_id, created_time"),
        ),
        Table("userfield", schemas.USER_FIELD, "entity_id TEXT, field_name TEXT", ("entity_id, field_name",)),
        Table(
            "bankdetail",
            schemas.BANK_DETAIL,
            "entity_id INTEGER, date_create INTEGER, date_modify INTEGER",
            ("entity_id",),
        ),
        Table(
            "address",
            schemas.ADDRESS,
            "type_id INTEGER, entity_type_id INTEGER, entity_id INTEGER",
            ("entity_type_id, entity_id, type_id",),
        ),
        Table("price", schemas.CATALOG_PRICE, "product_id INTEGER", ("product_id",)),
    )
}


def _ulower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


class Store:
    """The portal database. Safe to share between threads; ``seed`` may rebuild it under a running app."""

    def __init__(self, state_dir: Path):
        self.path = Path(state_dir) / DB_NAME
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.lock = threading.RLock()
        self._local = threading.local()
        self._last_us = 0
        with self.write() as conn:
            create_schema(conn)

    def conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = connect(self.path)
            self._local.conn = conn
        return conn

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction under the app lock (keep it short: never sleep or do I/O inside)."""
        with self.lock:
            conn = self.conn()
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A consistent read snapshot (count and page of a list see the same data)."""
        conn = self.conn()
        conn.execute("BEGIN")
        try:
            yield conn
        finally:
            conn.execute("COMMIT")

    def stamp(self) -> int:
        """The server clock in µs, strictly increasing within this process (call under the lock)."""
        self._last_us = max(now_us(), self._last_us + 1)
        return self._last_us


def connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.create_function("ulower", 1, _ulower, deterministic=True)
    return conn


def create_schema(conn: sqlite3.Connection, indexes: bool = True) -> None:
    conn.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
    for table in TABLES.values():
        extra = f"{table.ddl}, " if table.ddl else ""
        conn.execute(
            f"CREATE TABLE IF NOT EXISTS {table.name} "
            f"(id INTEGER PRIMARY KEY AUTOINCREMENT, {extra}data TEXT NOT NULL)"
        )
    if indexes:
        create_indexes(conn)


def create_indexes(conn: sqlite3.Connection) -> None:
    for table in TABLES.values():
        for i, cols in enumerate(table.indexes):
            conn.execute(f"CREATE INDEX IF NOT EXISTS {table.name}_ix{i} ON {table.name} ({cols})")


def drop_schema(conn: sqlite3.Connection) -> None:
    for table in TABLES.values():
        conn.execute(f"DROP TABLE IF EXISTS {table.name}")
    conn.execute("DROP TABLE IF EXISTS meta")


_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def dumps(record: dict[str, Any], id_key: str) -> str:
    """The JSON blob of a record: without its id (the row key) and without empty (``None``) fields."""
    return _ENCODER.encode({k: v for k, v in record.items() if v is not None and k != id_key})


def insert(conn: sqlite3.Connection, table: Table, record: dict[str, Any], row_id: int | None = None) -> int:
    cols = table.column_values(record)
    names = ["id", *cols, "data"]
    args = [row_id, *cols.values(), dumps(record, table.id_key)]
    cur = conn.execute(
        f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})", args
    )
    return int(cur.lastrowid or 0)


def update(conn: sqlite3.Connection, table: Table, row_id: int, record: dict[str, Any]) -> None:
    cols = table.column_values(record)
    sets = ", ".join([*(f"{c} = ?" for c in cols), "data = ?"])
    conn.execute(
        f"UPDATE {table.name} SET {sets} WHERE id = ?", [*cols.values(), dumps(record, table.id_key), row_id]
    )


def load(table: Table, row_id: int, data: str) -> dict[str, Any]:
    record = json.loads(data)
    record[table.id_key] = row_id
    return record


def get(conn: sqlite3.Connection, table: Table, row_id: int) -> dict[str, Any] | None:
    row = conn.execute(f"SELECT id, data FROM {table.name} WHERE id = ?", (row_id,)).fetchone()
    return load(table, row[0], row[1]) if row else None


def delete(conn: sqlite3.Connection, table: Table, row_id: int) -> bool:
    return conn.execute(f"DELETE FROM {table.name} WHERE id = ?", (row_id,)).rowcount > 0


def select(
    conn: sqlite3.Connection,
    table: Table,
    where: str = "1",
    args: tuple[Any, ...] | list[Any] = (),
    order: str = "id",
    limit: int | None = None,
    offset: int = 0,
) -> list[dict[str, Any]]:
    sql = f"SELECT id, data FROM {table.name} WHERE {where} ORDER BY {order}"
    if limit is not None:
        sql += f" LIMIT {int(limit)} OFFSET {int(offset)}"
    return [load(table, rid, data) for rid, data in conn.execute(sql, list(args))]


def count(
    conn: sqlite3.Connection, table: Table, where: str = "1", args: tuple[Any, ...] | list[Any] = ()
) -> int:
    return int(conn.execute(f"SELECT COUNT(*) FROM {table.name} WHERE {where}", list(args)).fetchone()[0])


def next_seq(conn: sqlite3.Connection, name: str) -> int:
    """A named counter kept in ``meta`` (multifield value ids and the like)."""
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (f"seq:{name}",)).fetchone()
    value = int(row[0]) + 1 if row else 1
    conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (f"seq:{name}", str(value)))
    return value


def insert_many(conn: sqlite3.Connection, table: Table, rows: list[tuple[int, dict[str, Any]]]) -> None:
    """Bulk insert ``(id, record)`` pairs in one ``executemany`` (the seeder's fast path)."""
    if not rows:
        return
    names = ["id", *table.column_values(rows[0][1]), "data"]
    sql = f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"
    encode = _ENCODER.encode  # seed records carry no id key; their few nulls are kept as they are
    conn.executemany(sql, [(rid, *table.column_values(rec).values(), encode(rec)) for rid, rec in rows])


def set_seq(conn: sqlite3.Connection, name: str, value: int) -> None:
    conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (f"seq:{name}", str(value)))
