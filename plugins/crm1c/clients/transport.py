"""HTTP plumbing shared by both clients: per-thread sessions, secret scrubbing, transport-error mapping.

Secrets (the Bitrix webhook token lives in the URL path) are registered with :func:`register_secret`;
:class:`ScrubFilter` then removes them from every record of the ``urllib3``/``requests`` loggers, and
:func:`scrub` is applied to every message this package puts into an exception.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable

import requests
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError

from crm1c.clients.errors import ExternalSystemError, RetryableError

MASK = "***"
_SECRETS: set[str] = set()
_SECRETS_LOCK = threading.Lock()
_CERT_FAILURE = re.compile(r"certificate verify failed|CERTIFICATE_VERIFY_FAILED|hostname .*mismatch", re.I)
_LOGGERS = ("urllib3", "urllib3.connectionpool", "urllib3.util.retry", "requests")


def register_secret(secret: str) -> None:
    """Remember a secret so that it is scrubbed from logs and exception messages of this process."""
    if secret and len(secret) >= 4:
        with _SECRETS_LOCK:
            _SECRETS.add(secret)
    _install_filter()


def scrub(text: str, extra: tuple[str, ...] = ()) -> str:
    """Replace every registered secret (and ``extra`` ones) in ``text`` by ``***``."""
    with _SECRETS_LOCK:
        secrets = sorted({*_SECRETS, *(s for s in extra if s)}, key=len, reverse=True)
    for secret in secrets:
        text = text.replace(secret, MASK)
    return text


class ScrubFilter(logging.Filter):
    """Logging filter that formats the record and removes registered secrets from it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if _SECRETS:
            try:
                message = record.getMessage()
            except Exception:  # a broken format string must not break logging
                return True
            record.msg, record.args = scrub(message), None
        return True


_FILTER = ScrubFilter()


def _install_filter() -> None:
    for name in _LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)


def environment_session(base_url: str) -> requests.Session:
    """A Session with the environment's proxies and CA bundle for ``base_url`` read once, here.

    A default Session reads them (and ``~/.netrc``) again on every request, which costs more CPU than the
    rest of a small request. Pass ``verify=None`` per request to use the bundle found here.
    """
    found = requests.Session().merge_environment_settings(base_url, {}, None, None, None)
    session = requests.Session()
    session.trust_env = False
    session.proxies.update(found["proxies"])
    session.verify = found["verify"] if found["verify"] is not None else True
    return session


class ThreadSessions:
    """One ``requests.Session`` per thread (a Session is not safe to share between threads)."""

    def __init__(self, factory: Callable[[], requests.Session] | None = None) -> None:
        self._factory = factory or requests.Session
        self._local = threading.local()
        self._all: list[requests.Session] = []
        self._lock = threading.Lock()

    def get(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._factory()
            self._local.session = session
            with self._lock:
                self._all.append(session)
        return session

    def close(self) -> None:
        with self._lock:
            sessions, self._all = self._all, []
        for session in sessions:
            session.close()
        self._local = threading.local()


def _proves_not_sent(exc: BaseException) -> bool:
    """True when the request never reached the server (connection could not be opened)."""
    if isinstance(exc, requests.exceptions.ConnectTimeout | requests.exceptions.SSLError):
        return True
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if isinstance(cur, NewConnectionError | NameResolutionError | ConnectTimeoutError):
            return True
        reason = getattr(cur, "reason", None)
        nxt = reason if isinstance(reason, BaseException) else None
        if nxt is None and cur.args and isinstance(cur.args[0], BaseException):
            nxt = cur.args[0]
        cur = nxt or cur.__cause__ or cur.__context__
    return False


def transport_error(exc: requests.RequestException, system: str, what: str) -> ExternalSystemError:
    """Map a ``requests`` exception to a scrubbed error (``not_applied`` when the request was never sent).

    Certificate failures are fatal (a configuration or security problem, never retried); everything else is a
    :class:`RetryableError`. The original exception is not chained (its text holds the URL): callers raise the
    result outside the ``except`` block so that no ``__context__`` keeps it either.
    """
    detail = scrub(str(exc))
    if isinstance(exc, requests.exceptions.SSLError) and _CERT_FAILURE.search(detail):
        return ExternalSystemError(
            f"{what}: TLS certificate verification failed ({detail}); check the CA bundle (ca_bundle) of the "
            "connection and the server certificate",
            system=system,
            code="TLS_VERIFY_FAILED",
            not_applied=True,
        )
    return RetryableError(
        f"{what}: {type(exc).__name__}: {detail}",
        system=system,
        code=type(exc).__name__,
        not_applied=_proves_not_sent(exc),
    )
