"""Bitrix24 error answers: ``{"error": CODE, "error_description": TEXT}`` with the portal's HTTP status."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An error answer. ``code`` may be ``""`` (business errors of classic methods) or a number (catalog)."""

    def __init__(self, status: int, code: Any, description: str, extra: dict[str, Any] | None = None):
        super().__init__(f"{code}: {description}")
        self.status = status
        self.code = code
        self.description = description
        self.extra = extra or {}

    def body(self) -> dict[str, Any]:
        return {"error": self.code, "error_description": self.description, **self.extra}


def business(description: str) -> ApiError:
    """HTTP 400 with an empty code, as classic crm.* methods answer ("Not found", "ID is not defined…")."""
    return ApiError(400, "", description)


def bad_id() -> ApiError:
    return business("ID is not defined or invalid.")


def not_found(description: str = "Not found") -> ApiError:
    return business(description)


def method_not_found() -> ApiError:
    return ApiError(404, "ERROR_METHOD_NOT_FOUND", "Method not found!")


def no_auth() -> ApiError:
    return ApiError(401, "NO_AUTH_FOUND", "Wrong authorization data")


def invalid_credentials() -> ApiError:
    return ApiError(401, "INVALID_CREDENTIALS", "Invalid request credentials")


def query_limit() -> ApiError:
    return ApiError(503, "QUERY_LIMIT_EXCEEDED", "Too many requests")


def operation_time_limit(extra: dict[str, Any]) -> ApiError:
    return ApiError(429, "OPERATION_TIME_LIMIT", "Method is blocked due to operation time limit.", extra)


def internal() -> ApiError:
    return ApiError(500, "INTERNAL_SERVER_ERROR", "Internal server error")
