"""Map 1C OData error answers (protocols A.13, A.15, A.17) onto the crm1c error taxonomy.

Body: ``{"odata.error": {"code": "<internal code>", "message": {"lang": "ru", "value": "<text>"}}}``.
A structured 1C error means the platform handled the request and rolled its transaction back, so such an
answer proves a write was *not* applied (``not_applied=True``); a bare 5xx from a proxy proves nothing.
"""

from __future__ import annotations

import re
from typing import Any

from crm1c.clients.errors import (
    AuthError,
    ExternalSystemError,
    NotFound,
    PeriodClosed,
    PreconditionFailed,
    RetryableError,
    ValidationRejected,
)

SYSTEM = "onec"
PERIOD_CLOSED_TEXT = re.compile(r"Запрещено (изменять|загружать) данные|дат[аыу] запрета изменения", re.I)
VALIDATION_CODES = {"1", "2", "4", "5", "6", "7", "10", "12", "13", "14", "15", "16", "18"}


def parse_error(body: Any) -> tuple[str | None, str | None]:
    """``(code, message)`` of an ``odata.error`` body, or ``(None, None)``."""
    if not isinstance(body, dict):
        return None, None
    err = body.get("odata.error") or body.get("error")
    if not isinstance(err, dict):
        return None, None
    message = err.get("message")
    text = message.get("value") if isinstance(message, dict) else message
    code = err.get("code")
    return (None if code is None else str(code)), (None if text is None else str(text))


def auth_hint(conn_id: str | None) -> str:
    where = f"Airflow connection '{conn_id}'" if conn_id else "the 1C connection"
    return (
        f"check {where}: login/password of the 1C infobase user (Cyrillic logins are fine), and that "
        "the user has the role УдаленныйДоступOData plus read/write rights on the published objects"
    )


def map_error(status: int, body: Any, *, what: str, conn_id: str | None = None) -> ExternalSystemError:
    """Error for an HTTP status and a (possibly missing) ``odata.error`` body."""
    code, text = parse_error(body)
    message = f"{what}: {text or f'HTTP {status}'}"
    kwargs: dict[str, Any] = {"system": SYSTEM, "status": status, "code": code}
    if status in (401, 403) or code == "20":
        return AuthError(f"{message}; {auth_hint(conn_id)}", **kwargs)
    if status == 412:
        return PreconditionFailed(f"{message} (DataVersion is stale: re-read the object)", **kwargs)
    if text and PERIOD_CLOSED_TEXT.search(text):
        return PeriodClosed(message, **kwargs)
    if status == 404 or code in ("8", "9"):
        return NotFound(message, **kwargs)
    if status >= 500:
        return RetryableError(message, not_applied=code is not None, **kwargs)
    if code in VALIDATION_CODES or 400 <= status < 500:
        return ValidationRejected(message, **kwargs)
    return ExternalSystemError(message, **kwargs)
