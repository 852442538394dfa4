"""SQLite state of the 1C emulator (``<state_dir>/onec.sqlite3``).

Every object is one row of ``entities``: its JSON plus indexed columns (Ref_Key, Code, Number, Date, ИНН, КПП,
Description) so lookups and paging of 100k rows stay in SQL. Accounting-register rows live in ``records`` with
their subconto kept aside in ``ext`` (real rows carry none). ``requests`` is the request log; ``meta`` holds
the
data-version counter and the seed token; ``users`` the infobase users and their rights.
"""

from __future__ import annotations

import base64
import json
import queue
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from contour.onec.filter import sql_function

DB_NAME = "onec.sqlite3"

SCHEMA = """
CREATE TABLE IF NOT EXISTS entities (
    id INTEGER PRIMARY KEY, set_name TEXT NOT NULL, ref TEXT NOT NULL, code TEXT, number TEXT, date TEXT,
    inn TEXT, kpp TEXT, description TEXT, data TEXT NOT NULL, UNIQUE (set_name, ref));
CREATE INDEX IF NOT EXISTS entities_set ON entities (set_name, id);
CREATE INDEX IF NOT EXISTS entities_code ON entities (set_name, code);
CREATE INDEX IF NOT EXISTS entities_number ON entities (set_name, number);
CREATE INDEX IF NOT EXISTS entities_date ON entities (set_name, date);
CREATE INDEX IF NOT EXISTS entities_inn ON entities (set_name, inn, kpp);
CREATE INDEX IF NOT EXISTS entities_description ON entities (set_name, description);
CREATE TABLE IF NOT EXISTS records (
    id INTEGER PRIMARY KEY, recorder TEXT NOT NULL, recorder_type TEXT NOT NULL, line_number INTEGER NOT NULL,
    period TEXT NOT NULL, account_dr TEXT, account_cr TEXT, dr_ext1 TEXT, cr_ext1 TEXT, amount REAL,
    data TEXT NOT NULL, ext TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS records_recorder ON records (recorder, line_number);
CREATE INDEX IF NOT EXISTS records_dr ON records (account_dr, dr_ext1);
CREATE INDEX IF NOT EXISTS records_cr ON records (account_cr, cr_ext1);
CREATE INDEX IF NOT EXISTS records_period ON records (period);
CREATE TABLE IF NOT EXISTS requests (
    id INTEGER PRIMARY KEY, ts TEXT NOT NULL, user TEXT, method TEXT NOT NULL, entity_set TEXT,
    status INTEGER NOT NULL, duration_ms REAL, path TEXT);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS users (name TEXT PRIMARY KEY, password TEXT NOT NULL, rights TEXT NOT NULL);
"""

RECORD_COLUMNS = {
    "Recorder": "recorder",
    "Recorder_Type": "recorder_type",
    "LineNumber": "line_number",
    "Period": "period",
    "AccountDr_Key": "account_dr",
    "AccountCr_Key": "account_cr",
}


def index_columns(data: dict[str, Any]) -> tuple[Any, ...]:
    """The indexed columns of an entity row, taken from its JSON."""
    date = data.get("Date") or data.get("Period")
    return (
        data.get("Code"),
        data.get("Number"),
        date,
        data.get("ИНН"),
        data.get("КПП"),
        data.get("Description"),
    )


RECORD_INSERT = (
    "INSERT INTO records (recorder, recorder_type, line_number, period, account_dr, account_cr, "
    "dr_ext1, cr_ext1, amount, data, ext) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def record_params(d: dict[str, Any], e: dict[str, Any]) -> tuple[Any, ...]:
    return (
        d["Recorder"],
        d["Recorder_Type"],
        d["LineNumber"],
        d["Period"],
        d["AccountDr_Key"],
        d["AccountCr_Key"],
        e.get("ExtDimensionDr1"),
        e.get("ExtDimensionCr1"),
        d["Сумма"],
        dumps(d),
        dumps(e),
    )


def dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def data_version(counter: int) -> str:
    """An opaque base64 DataVersion like real 1C's ``AAAAAAAETag=``."""
    return base64.b64encode(counter.to_bytes(8, "big")).decode("ascii")


def connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=30, check_same_thread=False, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA busy_timeout=30000")
    conn.create_function("odata_fn", -1, sql_function, deterministic=True)
    return conn


def ensure_schema(conn: sqlite3.Connection) -> None:
    conn.executescript(SCHEMA)
    conn.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('version', '1000')")


class Store:
    """A small pool of SQLite connections; writes go through :meth:`transaction` under one lock."""

    def __init__(self, state_dir: Path):
        state_dir.mkdir(parents=True, exist_ok=True)
        self.path = state_dir / DB_NAME
        self._pool: queue.SimpleQueue[sqlite3.Connection] = queue.SimpleQueue()
        self.lock = threading.RLock()
        with self.conn() as conn:
            ensure_schema(conn)

    @contextmanager
    def conn(self) -> Iterator[sqlite3.Connection]:
        try:
            conn = self._pool.get_nowait()
        except queue.Empty:
            conn = connect(self.path)
        try:
            yield conn
        finally:
            if conn.in_transaction:
                conn.rollback()
            self._pool.put(conn)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self.lock, self.conn() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.rollback()
                raise
            conn.commit()

    # ------------------------------------------------------------ entities

    def get(self, conn: sqlite3.Connection, set_name: str, ref: str) -> dict[str, Any] | None:
        row = conn.execute(
            "SELECT data FROM entities WHERE set_name = ? AND ref = ?", (set_name, ref)
        ).fetchone()
        return json.loads(row[0]) if row else None

    def put(self, conn: sqlite3.Connection, set_name: str, ref: str, data: dict[str, Any]) -> None:
        conn.execute(
            "INSERT INTO entities (set_name, ref, code, number, date, inn, kpp, description, data) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (set_name, ref) DO UPDATE SET "
            "code = excluded.code, "
            "number = excluded.number, date = excluded.date, inn = excluded.inn, kpp = excluded.kpp, "
            "description = excluded.description, data = excluded.data",
            (set_name, ref, *index_columns(data), dumps(data)),
        )

    def delete(self, conn: sqlite3.Connection, set_name: str, ref: str) -> None:
        conn.execute("DELETE FROM entities WHERE set_name = ? AND ref = ?", (set_name, ref))

    def next_version(self, conn: sqlite3.Connection) -> str:
        row = conn.execute(
            "UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'version' RETURNING value"
        ).fetchone()
        return data_version(int(row[0]))

    def meta(self, key: str) -> str | None:
        with self.conn() as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    # ------------------------------------------------------------ register

    def records_of(self, conn: sqlite3.Connection, recorder: str) -> list[tuple[dict, dict]]:
        rows = conn.execute(
            "SELECT data, ext FROM records WHERE recorder = ? ORDER BY line_number", (recorder,)
        ).fetchall()
        return [(json.loads(d), json.loads(e)) for d, e in rows]

    def replace_records(self, conn: sqlite3.Connection, recorder: str, rows: list[tuple[dict, dict]]) -> None:
        conn.execute("DELETE FROM records WHERE recorder = ?", (recorder,))
        conn.executemany(RECORD_INSERT, [record_params(d, e) for d, e in rows])

    def balance(self, conn: sqlite3.Connection, account: str, ext1: str, until: str, exclude: str) -> float:
        """Dr − Cr of ``account`` for subconto 1 ``ext1``, records up to ``until`` (not of ``exclude``)."""
        row = conn.execute(
            "SELECT (SELECT coalesce(sum(amount), 0) FROM records WHERE account_dr = ?1 AND dr_ext1 = ?2 "
            "AND period <= ?3 AND recorder <> ?4) - (SELECT coalesce(sum(amount), 0) FROM records "
            "WHERE account_cr = ?1 AND cr_ext1 = ?2 AND period <= ?3 AND recorder <> ?4)",
            (account, ext1, until, exclude),
        ).fetchone()
        return float(row[0])

    # ------------------------------------------------------------ request log

    def log_request(
        self,
        ts: str,
        user: str | None,
        method: str,
        entity_set: str | None,
        status: int,
        duration_ms: float,
        path: str,
    ) -> None:
        with self.conn() as conn:
            conn.execute(
                "INSERT INTO requests (ts, user, method, entity_set, status, duration_ms, path) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (ts, user, method, entity_set, status, duration_ms, path),
            )

    def recent_requests(self, limit: int) -> list[dict[str, Any]]:
        with self.conn() as conn:
            rows = conn.execute(
                "SELECT id, ts, user, method, entity_set, status, duration_ms, path FROM requests "
                "ORDER BY id DESC LIMIT ?",
                (limit,),
            ).fetchall()
        keys = ("id", "time", "user", "method", "entity_set", "status", "duration_ms", "path")
        return [dict(zip(keys, row, strict=True)) for row in rows]
