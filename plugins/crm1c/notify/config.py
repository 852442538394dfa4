"""Who is told about failures: ``include/mappings/alerts.yaml``, validated.

A problem raises :class:`AlertsConfigError` naming the file and the key, e.g.
``include/mappings/alerts.yaml: email.too: unknown key``. ``email: null`` or ``slack: null`` turns
that channel off. Plain Python (pydantic + PyYAML), independent of ``crm1c.mapping``.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_core import ErrorDetails

PROJECT_ROOT = Path(__file__).resolve().parents[3]
DEFAULT_ALERTS_FILE = PROJECT_ROOT / "include" / "mappings" / "alerts.yaml"
_ADDRESS = re.compile(r"^[^@\s<>,;]+@[^@\s<>,;]+$")


class AlertsConfigError(ValueError):
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


class AlertsConfig(_Strict):
    """Both channels; ``None`` switches one off."""

    email: EmailAlerts | None = EmailAlerts()
    slack: SlackAlerts | None = SlackAlerts()


def load_alerts_config(path: str | Path = DEFAULT_ALERTS_FILE) -> AlertsConfig:
    """Read and validate the alerts file."""
    path = Path(path)
    source = _display(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise AlertsConfigError(f"{source}: cannot read the file: {exc}") from exc
    return parse_alerts_config(text, source)


def parse_alerts_config(text: str, source: str = "<text>") -> AlertsConfig:
    """Validate alerts YAML given as text; ``source`` names it in error messages."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise AlertsConfigError(f"{source}: not valid YAML: {exc}") from exc
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise AlertsConfigError(f"{source}: the top level must be a mapping (email:, slack:)")
    try:
        return AlertsConfig.model_validate(data)
    except ValidationError as exc:
        lines = [f"{source}: {_key(e['loc'])}: {_problem(e)}" for e in exc.errors()]
        raise AlertsConfigError("\n".join(lines)) from exc


def _key(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(p) for p in loc) or "(top level)"


def _problem(error: ErrorDetails) -> str:
    if error["type"] == "extra_forbidden":
        return "unknown key"
    if error["type"] == "missing":
        return "required key is missing"
    return error["msg"].removeprefix("Value error, ")


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(PROJECT_ROOT))
    except ValueError:
        return str(path)
