"""Errors raised by the staging repository."""

from __future__ import annotations


class StagingError(Exception):
    """Base class for staging-database errors."""


class XrefConflictError(StagingError):
    """Linking would break the 1:1 mapping between a CRM record and a 1C record."""


class IntentStateError(StagingError):
    """A write intent is not in a state that allows the requested transition."""


class NotFoundError(StagingError):
    """The requested staging row does not exist."""
