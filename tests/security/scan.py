"""A secret scanner for everything a run wrote: log records and log files, the Airflow metadata DB (XCom,
rendered fields, event log, task and run rows), staging tables, mails, Slack posts, reports, the crm1c page.

A secret is looked for in every form it could leak in: as is, URL-encoded (the Bitrix24 token sits in a URL
path), JSON- and HTML-escaped, base64 (an ``Authorization: Basic`` header carries ``user:password``). A
secret that is also an ordinary word (the contour's 1C password ``contour``) counts only as a whole token,
not inside a path or a module name (``…/contour/ca.pem``, ``contour.web``).

    secrets = [Secret("webhook token", token), Secret("1C password", "contour", word=True)]
    findings = scan(corpus, secrets)      # corpus: [(where, text), ...]
    assert not findings, report(findings)
"""

from __future__ import annotations

import base64
import datetime as dt
import email.policy
import html
import json
import logging
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import sqlalchemy as sa

Corpus = list[tuple[str, str]]


@dataclass(frozen=True)
class Secret:
    """A credential to look for. ``word``: match only where it stands alone (not inside a longer token or a
    path segment), for a value that is also a plain word."""

    name: str
    value: str
    word: bool = False
    forms: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        raw = self.value
        data = raw.encode()
        variants = {
            raw,
            quote(raw, safe=""),
            quote(raw),
            quote_plus(raw),
            json.dumps(raw)[1:-1],
            json.dumps(raw, ensure_ascii=False)[1:-1],
            html.escape(raw),
            base64.b64encode(data).decode().rstrip("="),
            base64.urlsafe_b64encode(data).decode().rstrip("="),
        }
        object.__setattr__(self, "forms", tuple(sorted(v for v in variants if v)))

    def pattern(self) -> re.Pattern[str]:
        alternatives = "|".join(re.escape(f) for f in sorted(self.forms, key=len, reverse=True))
        if not self.word:
            return re.compile(alternatives)
        return re.compile(rf"(?<![\w./\\-])(?:{alternatives})(?![\w/\\-]|\.\w)")


@dataclass(frozen=True)
class Finding:
    secret: str
    where: str
    excerpt: str

    def __str__(self) -> str:
        return f"{self.secret} in {self.where}: …{self.excerpt}…"


def scan(corpus: Iterable[tuple[str, str]], secrets: Sequence[Secret]) -> list[Finding]:
    """Every place of ``corpus`` holding a secret (one finding per secret and place)."""
    patterns = [(s, s.pattern()) for s in secrets]
    found: list[Finding] = []
    for where, text in corpus:
        for secret, pattern in patterns:
            hit = pattern.search(text)
            if hit is not None:
                start, end = max(0, hit.start() - 60), min(len(text), hit.end() + 60)
                shown = text[start : hit.start()] + f"«{secret.name}»" + text[hit.end() : end]
                found.append(Finding(secret.name, where, " ".join(shown.split())))
    return found


def report(findings: Sequence[Finding]) -> str:
    return f"{len(findings)} secret(s) found:\n" + "\n".join(f"  - {f}" for f in findings)


# ----------------------------------------------------------------------------- log records


class CapturingHandler(logging.Handler):
    """Keeps every record of every logger (attach to the root logger at DEBUG): message and traceback."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self._formatter = logging.Formatter()

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def texts(self, *, servers: tuple[str, ...] = ()) -> Corpus:
        """Each record's text; records of the loggers in ``servers`` (the test's own stand-ins for the
        external systems, e.g. the emulators' access log, where a webhook URL belongs) are left out."""
        out = []
        for n, record in enumerate(self.records):
            if record.name.split(".")[0] in servers or record.name in servers:
                continue
            try:
                text = record.getMessage()
            except Exception:  # a broken format string: scan its parts
                text = f"{record.msg} {record.args}"
            if record.exc_info:
                text += "\n" + self._formatter.formatException(record.exc_info)
            if record.stack_info:
                text += "\n" + record.stack_info
            out.append((f"log record #{n} {record.name} {record.levelname}", text))
        return out

    def lines(self, prefix: str = "") -> list[str]:
        """``logger LEVEL message`` of each record whose logger starts with ``prefix``."""
        return [f"{r.name} {r.levelname} {r.getMessage()}" for r in self.records if r.name.startswith(prefix)]


def file_texts(folder: Path) -> Corpus:
    """Every file below ``folder`` (task log files), line by line."""
    out: Corpus = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        for n, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            out.append((f"file {path.relative_to(folder)}:{n}", line))
    return out


# ----------------------------------------------------------------------------- databases


def _cell(value: Any) -> str:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).decode("utf-8", errors="replace")
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, default=str)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value)


def _row_text(row: sa.Row) -> str:
    return " | ".join(f"{k}={_cell(v)}" for k, v in row._mapping.items() if v is not None)


def table_rows(engine: sa.Engine, tables: Iterable[sa.Table], label: str) -> Iterator[tuple[str, str]]:
    """Every row of ``tables`` as one text (``column=value | …``)."""
    with engine.connect() as conn:
        for table in tables:
            for n, row in enumerate(conn.execute(sa.select(table))):
                yield f"{label} table {table.name} row {n}", _row_text(row)


def airflow_rows(engine: sa.Engine, run_ids: Iterable[str]) -> Corpus:
    """The rows of the given runs in every table of the Airflow metadata DB that has a ``run_id`` column
    (XCom, rendered template fields, the event log, task instances and their history, the runs)."""
    meta = sa.MetaData()
    meta.reflect(engine)
    ids = sorted(set(run_ids))
    out: Corpus = []
    with engine.connect() as conn:
        for table in meta.sorted_tables:
            if "run_id" not in table.c:
                continue
            rows = conn.execute(sa.select(table).where(table.c.run_id.in_(ids)))
            for n, row in enumerate(rows):
                key = "/".join(str(row._mapping.get(c) or "") for c in ("dag_id", "task_id", "key"))
                out.append((f"Airflow DB table {table.name} row {n} ({key})", _row_text(row)))
    return out


# ----------------------------------------------------------------------------- alerts


def mail_texts(messages: Iterable[EmailMessage]) -> Corpus:
    """Each mail as sent (encoded) and each of its parts decoded (base64 / quoted-printable bodies)."""
    out: Corpus = []
    for n, message in enumerate(messages):
        where = f"mail #{n} {message['Subject']!r}"
        out.append((f"{where} (as sent)", message.as_string(policy=email.policy.SMTP)))
        out.append((f"{where} headers", "\n".join(f"{k}: {v}" for k, v in message.items())))
        for part in message.walk():
            if part.is_multipart():
                continue
            payload = part.get_payload(decode=True) or b""
            charset = part.get_content_charset() or "utf-8"
            out.append((f"{where} part {part.get_content_type()}", payload.decode(charset, errors="replace")))
    return out


def slack_texts(posts: Iterable[dict[str, Any]]) -> Corpus:
    return [(f"Slack post #{n}", json.dumps(post, ensure_ascii=False)) for n, post in enumerate(posts)]
