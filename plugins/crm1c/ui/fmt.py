"""Small formatting helpers of the page: every text escaped and scrubbed of credentials, times in UTC."""

from __future__ import annotations

import html
import json
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from crm1c.redaction import scrub_credentials

SYSTEMS = {"crm": "CRM", "onec": "1C"}


def esc(value: Any) -> str:
    """``value`` as text, credentials masked, HTML-escaped: the only way a stored text reaches the page."""
    return html.escape(scrub_credentials("" if value is None else str(value)))


def when(value: datetime | None) -> str:
    """``2026-12-02 19:27 UTC``; ``—`` for none."""
    return "—" if value is None else value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def moment(value: datetime | None) -> str:
    """:func:`when` as a ``<time>`` element (kept on one line)."""
    if value is None:
        return "—"
    return f'<time datetime="{esc(value.astimezone(UTC).isoformat())}">{esc(when(value))}</time>'


def waited(delta: timedelta) -> str:
    """A duration the way people say it: ``3 d 4 h``, ``5 h 12 min``, ``7 min``, ``< 1 min``."""
    minutes = max(0, int(delta.total_seconds() // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {mins} min"
    return f"{mins} min" if mins else "< 1 min"


def value(stored: Any) -> str:
    """A field value of a conflict (JSON): text as is, anything else as JSON; ``empty`` for none."""
    if stored is None:
        return '<i class="muted">пусто / empty</i>'
    text = stored if isinstance(stored, str) else json.dumps(stored, ensure_ascii=False)
    return esc(text)


def record(system: str, external_id: str) -> str:
    """``CRM 42`` / ``1C 26715c2a…`` (the whole id in the tooltip), linked to the record's story."""
    short = external_id if system != "onec" or len(external_id) <= 13 else f"{external_id[:8]}…"
    href = self_link({"q": f"{system}:{external_id}"}, "story")
    name = SYSTEMS.get(system, system)
    return f'<a href="{esc(href)}" title="{esc(external_id)}">{esc(name)} {esc(short)}</a>'


def self_link(params: dict[str, Any], anchor: str = "") -> str:
    """A link to this page with these query parameters (empty ones left out)."""
    query = urlencode({k: v for k, v in params.items() if v not in (None, "")})
    return f"?{query}" + (f"#{anchor}" if anchor else "")
