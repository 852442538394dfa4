"""One error taxonomy for both external systems (Bitrix24 REST and 1C OData).

Every error carries ``system`` ("bitrix24" | "onec"), the HTTP ``status``, the system's ``code`` and a
message that never contains a secret. ``not_applied`` is True only when the error *proves* the request had
no effect (connect failure, 503 QUERY_LIMIT_EXCEEDED, 429, a structured 1C error that rolled back), which is
what makes a write safe to retry (see :mod:`crm1c.clients.retry`).
"""

from __future__ import annotations


class ExternalSystemError(Exception):
    """Base of all errors raised by the crm1c clients."""

    retryable = False

    def __init__(
        self,
        message: str,
        *,
        system: str,
        status: int | None = None,
        code: str | None = None,
        not_applied: bool = False,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.system = system
        self.status = status
        self.code = code
        self.not_applied = not_applied

    def __str__(self) -> str:
        parts = [self.system]
        if self.status is not None:
            parts.append(f"HTTP {self.status}")
        if self.code:
            parts.append(self.code)
        return f"[{' '.join(parts)}] {self.message}"

    def __reduce__(self):  # keep keyword-only fields when pickled (multiprocessing, XCom of errors)
        return (_rebuild, (type(self), self.message, dict(self.__dict__)))


def _rebuild(cls: type[ExternalSystemError], message: str, state: dict) -> ExternalSystemError:
    err = cls.__new__(cls)
    Exception.__init__(err, message)
    err.__dict__.update(state)
    return err


class RetryableError(ExternalSystemError):
    """Transient: 5xx, timeouts, connection errors, Bitrix 503 QUERY_LIMIT_EXCEEDED."""

    retryable = True


class RateLimited(RetryableError):
    """Bitrix 429 OPERATION_TIME_LIMIT: the method is blocked until ``reset_at`` (unix seconds, or None)."""

    def __init__(self, message: str, *, reset_at: float | None = None, **kwargs) -> None:
        kwargs.setdefault("not_applied", True)
        super().__init__(message, **kwargs)
        self.reset_at = reset_at


class AuthError(ExternalSystemError):
    """401/403: bad or revoked credentials, missing rights. Never retried; the message says what to check."""


class NotFound(ExternalSystemError):
    """The entity (or entity set / method) does not exist."""


class PreconditionFailed(ExternalSystemError):
    """1C 412: the ``If-Match`` DataVersion is stale: someone changed the object since it was read."""


class PeriodClosed(ExternalSystemError):
    """1C refused a write into a closed period (BSP "Запрещено изменять данные…", дата запрета изменения)."""


class ValidationRejected(ExternalSystemError):
    """The system rejected the data: 1C codes 4/5/13/14 (and other 4xx), Bitrix 400 business errors."""


class OutcomeUnknown(ExternalSystemError):
    """A WRITE failed in a way that does not tell whether it was applied (timeout, reset, 5xx).

    The caller must look the object up by its business key before trying again: never re-POST blindly.
    ``cause`` is the underlying (already scrubbed) error.
    """

    def __init__(self, message: str, *, cause: ExternalSystemError | None = None, **kwargs) -> None:
        super().__init__(message, **kwargs)
        self.cause = cause


__all__ = [
    "AuthError",
    "ExternalSystemError",
    "NotFound",
    "OutcomeUnknown",
    "PeriodClosed",
    "PreconditionFailed",
    "RateLimited",
    "RetryableError",
    "ValidationRejected",
]
