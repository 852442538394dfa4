"""Who is told, and when: ``include/mappings/alerts.yaml``, validated.

A problem raises :class:`AlertsConfigError` naming the file and the key, e.g.
``include/mappings/alerts.yaml: email.too: unknown key``. ``email: null`` or ``slack: null`` turns
that channel off; ``thresholds`` say when a run alerts on-call (:mod:`crm1c.watch`), ``null`` turning
one check off. Plain Python (:mod:`crm1c.datafile`), independent of ``crm1c.mapping``.
"""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from crm1c import datafile

DEFAULT_ALERTS_FILE = datafile.MAPPINGS_DIR / "alerts.yaml"
_ADDRESS = re.compile(r"^[^@\s<>,;]+@[^@\s<>,;]+$")


class AlertsConfigError(datafile.DataFileError):
    """An alerts file that cannot be used; the message has one ``<file>: <key>: <problem>`` line each."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EmailAlerts(_Strict):
    """E-mail to on-call through an SMTP connection."""

    to: list[str] = Field(default_factory=lambda: ["oncall@localhost"], min_length=1)
    conn_id: str = Field(default="smtp_default", min_length=1)
    from_email: str | None = None  # None: the connection's ``from_email`` extra

    @field_validator("to", mode="before")
    @classmethod
    def _one_address(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value

    @field_validator("to")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        bad = [a for a in value if not _ADDRESS.match(a)]
        if bad:
            raise ValueError(f"not an e-mail address: {', '.join(map(repr, bad))}")
        return value

    @field_validator("from_email")
    @classmethod
    def _sender(cls, value: str | None) -> str | None:
        if value is not None and not _ADDRESS.match(value):
            raise ValueError(f"not an e-mail address: {value!r}")
        return value


class SlackAlerts(_Strict):
    """A Slack incoming webhook connection (its token stays in the connection)."""

    conn_id: str = Field(default="slack_default", min_length=1)
    channel: str | None = None  # only legacy webhooks honour it; modern ones post to their own channel


class Thresholds(_Strict):
    """When a run alerts on-call (:mod:`crm1c.watch`); ``None`` switches that check off."""

    #: The open quarantine grew by more than this many entries since the previous published run.
    quarantine_growth: int | None = Field(default=10, ge=0)
    #: The open quarantine holds more than this many entries.
    quarantine_max: int | None = Field(default=100, ge=0)
    #: Bitrix24 refused more than this many requests in a run (503 QUERY_LIMIT_EXCEEDED, 429).
    rate_refusals_max: int | None = Field(default=0, ge=0)
    #: The rate limiter held a Bitrix24 step back for more than this share of the step's time.
    rate_wait_share: float | None = Field(default=0.5, gt=0)
    #: A run that would change more than this share of the linked records waits for a person.
    mass_change_share: float | None = Field(default=0.3, gt=0, le=1)
    #: ... and only when it changes at least this many (a few edits of a small entity are no mass change).
    mass_change_min: int = Field(default=10, ge=1)
    #: No answer within this many hours counts as Reject (``None``: wait until someone answers).
    mass_change_wait_hours: float | None = Field(default=24, gt=0)


class AlertsConfig(_Strict):
    """Both channels (``None`` switches one off) and the thresholds of the run checks."""

    email: EmailAlerts | None = EmailAlerts()
    slack: SlackAlerts | None = SlackAlerts()
    thresholds: Thresholds = Thresholds()


def load_alerts_config(path: str | Path = DEFAULT_ALERTS_FILE) -> AlertsConfig:
    """Read and validate the alerts file."""
    return datafile.load(path, AlertsConfig, AlertsConfigError)


def parse_alerts_config(text: str, source: str = "<text>") -> AlertsConfig:
    """Validate alerts YAML given as text; ``source`` names it in error messages."""
    return datafile.parse(text, AlertsConfig, source, AlertsConfigError)
