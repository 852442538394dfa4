"""The result of one Bitrix24 ``batch`` call, decoded (protocols C.12).

The portal answers HTTP 200 even when sub-commands fail: per-command data is in ``result.result`` and
per-command errors in ``result.result_error``. PHP serialises those maps as JSON *arrays* when the keys
are 0..n-1 and as ``[]`` when empty; both forms are accepted here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from crm1c.clients.bitrix24_errors import map_error
from crm1c.clients.errors import ExternalSystemError

MAX_COMMANDS = 50


def as_map(value: Any, keys: Sequence[str]) -> dict[str, Any]:
    """Normalise a PHP-serialised map: ``{}``/``[]``/None → {}, a list → by position (its own index first)."""
    if not value:
        return {}
    if isinstance(value, Mapping):
        return {str(k): v for k, v in value.items()}
    if isinstance(value, list):
        out = {}
        for index, item in enumerate(value):
            key = str(index) if str(index) in keys or index >= len(keys) else keys[index]
            out[key] = item
        return out
    raise TypeError(f"unexpected batch map of type {type(value).__name__}")


def date_start(envelope: Mapping[str, Any]) -> str | None:
    """The portal's time when it started the request (``time.date_start``: ISO, whole seconds, with the
    portal's offset); None when the answer carries none."""
    timing = envelope.get("time")
    value = timing.get("date_start") if isinstance(timing, Mapping) else None
    return str(value) if value else None


def _reset_at(error: Any) -> float | None:
    """``operating_reset_at`` carried by a sub-command's 429 error, if any."""
    timing = error.get("time") if isinstance(error, Mapping) else None
    value = timing.get("operating_reset_at") if isinstance(timing, Mapping) else None
    return float(value) if value else None


@dataclass
class BatchResult:
    """Per-command results and errors of one batch, in the order the commands were sent; ``date_start``: when
    the portal started the request (see :func:`date_start`)."""

    keys: list[str]
    results: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, ExternalSystemError] = field(default_factory=dict)
    totals: dict[str, Any] = field(default_factory=dict)
    nexts: dict[str, Any] = field(default_factory=dict)
    time: dict[str, Any] = field(default_factory=dict)
    date_start: str | None = None

    @classmethod
    def from_envelope(
        cls, envelope: Mapping[str, Any], keys: Sequence[str], conn_id: str | None = None
    ) -> BatchResult:
        inner = envelope.get("result") or {}
        if not isinstance(inner, Mapping):
            inner = {}
        keys = list(keys)
        raw_errors = as_map(inner.get("result_error"), keys)
        errors = {
            k: map_error(None, v, what=f"batch command {k}", conn_id=conn_id, reset_at=_reset_at(v))
            for k, v in raw_errors.items()
        }
        return cls(
            keys=keys,
            results=as_map(inner.get("result"), keys),
            errors=errors,
            totals=as_map(inner.get("result_total"), keys),
            nexts=as_map(inner.get("result_next"), keys),
            time=as_map(inner.get("result_time"), keys),
            date_start=date_start(envelope),
        )

    def ok(self, key: str) -> bool:
        return key in self.results and key not in self.errors

    def __getitem__(self, key: str) -> Any:
        """Result of command ``key``; raises its mapped error, or KeyError when it did not run (halt)."""
        if key in self.errors:
            raise self.errors[key]
        return self.results[key]

    @property
    def skipped(self) -> list[str]:
        """Commands that neither succeeded nor failed (not run after ``halt``)."""
        return [k for k in self.keys if k not in self.results and k not in self.errors]

    @property
    def succeeded(self) -> list[str]:
        return [k for k in self.keys if self.ok(k)]
