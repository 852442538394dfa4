"""Map Bitrix24 error answers (protocols C.13, C.14) onto the crm1c error taxonomy."""

from __future__ import annotations

import re
from typing import Any

from crm1c.clients.errors import (
    AuthError,
    ExternalSystemError,
    NotFound,
    RateLimited,
    RetryableError,
    ValidationRejected,
)

SYSTEM = "bitrix24"
NOT_APPLIED_CODES = {"QUERY_LIMIT_EXCEEDED", "OVERLOAD_LIMIT"}
AUTH_CODES = {
    "NO_AUTH_FOUND",
    "INVALID_CREDENTIALS",
    "ACCESS_DENIED",
    "insufficient_scope",
    "expired_token",
    "user_access_error",
    "invalid_token",
    "WRONG_AUTH_TYPE",
    "PAYMENT_REQUIRED",
    "PORTAL_DELETED",
}
NOT_FOUND_CODES = {
    "NOT_FOUND",
    "ERROR_NOT_FOUND",
    "ERROR_METHOD_NOT_FOUND",
    "ERROR_MANIFEST_IS_NOT_AVAILABLE",
}
_NOT_FOUND_TEXT = re.compile(r"\bnot found\b|не найден", re.I)


def auth_hint(conn_id: str | None) -> str:
    """What an operator should check after a 401/403 (never includes the token)."""
    where = f"Airflow connection '{conn_id}'" if conn_id else "the Bitrix24 connection"
    return (
        f"check {where}: login = webhook user id, password = webhook token (no URL), host = portal; "
        "the incoming webhook must exist, be active, not expired, and have the 'crm' scope, and its user "
        "must have CRM rights"
    )


def map_error(
    status: int | None,
    body: Any,
    *,
    what: str,
    conn_id: str | None = None,
    reset_at: float | None = None,
) -> ExternalSystemError:
    """Error for an HTTP status and a Bitrix error body ``{"error": code, "error_description": text}``."""
    body = body if isinstance(body, dict) else {}
    code = str(body.get("error") or "") or None
    text = str(body.get("error_description") or body.get("error") or f"HTTP {status}")
    message = f"{what}: {text}"
    kwargs: dict[str, Any] = {"system": SYSTEM, "status": status, "code": code}
    if code == "OPERATION_TIME_LIMIT" or status == 429:
        return RateLimited(
            f"{message} (method blocked by the operating-time limit)", reset_at=reset_at, **kwargs
        )
    if code in NOT_APPLIED_CODES:
        return RetryableError(message, not_applied=True, **kwargs)
    if status in (401, 403) or code in AUTH_CODES:
        return AuthError(
            f"{what}: Bitrix24 refused the credentials or rights ({code or status}); {auth_hint(conn_id)}",
            **kwargs,
        )
    if status == 404 or code in NOT_FOUND_CODES or _NOT_FOUND_TEXT.search(text):
        return NotFound(message, **kwargs)
    if status is not None and status >= 500:
        return RetryableError(message, **kwargs)
    if code in ("INTERNAL_SERVER_ERROR", "ERROR_UNEXPECTED_ANSWER"):
        return RetryableError(message, **kwargs)
    return ValidationRejected(message, **kwargs)
