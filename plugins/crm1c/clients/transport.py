"""HTTP plumbing shared by both clients: per-thread sessions, the direct path through a Session's connection
pool, secret scrubbing, transport-error mapping.

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
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError

from crm1c.clients.errors import ExternalSystemError, RetryableError

MASK = "***"
_SECRETS: set[str] = set()
_SECRETS_LOCK = threading.Lock()
_CERT_FAILURE = re.compile(r"certificate verify failed|CERTIFICATE_VERIFY_FAILED|hostname .*mismatch", re.I)
_SSL_ERRORS = requests.exceptions.SSLError | urllib3.exceptions.SSLError
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


class DirectPool:
    """Requests to one base URL sent straight through the urllib3 connection pool that a Session's adapter
    would use for it — the same pool, TLS verification, client certificate, proxy and socket options — without
    the Session's per-request work (settings merge, URL re-quoting, cookies, hooks, response wrapping): half
    the CPU of a small request, which bounds how many writes a pool of threads can make. Thread-safe.

    ``headers`` are the Session's (User-Agent, Accept-Encoding, …); the caller adds its own, auth included.
    """

    def __init__(self, pool: urllib3.HTTPConnectionPool, origin: str, headers: dict[str, str]) -> None:
        self.pool, self.origin, self.headers = pool, origin, headers

    @classmethod
    def of(cls, session: requests.Session, base_url: str, verify: str | bool) -> DirectPool | None:
        """The direct path of ``session`` for ``base_url`` (``verify`` True: the session's own); None when the
        Session must make the requests itself: its ``request`` is overridden or its adapter is not urllib3's
        (a test double, a custom transport), or a plain-http proxy needs absolute URLs."""
        if type(session).request is not requests.Session.request:
            return None
        adapter = session.get_adapter(base_url)
        if not isinstance(adapter, HTTPAdapter):
            return None
        chosen = (True if session.verify is None else session.verify) if verify is True else verify
        prepared = session.prepare_request(requests.Request("GET", base_url))
        pool = adapter.get_connection_with_tls_context(prepared, chosen, session.proxies, session.cert)
        if not isinstance(pool, urllib3.HTTPConnectionPool):
            return None
        adapter.cert_verify(pool, base_url, chosen, session.cert)
        if pool.scheme == "http" and getattr(pool, "proxy", None) is not None:
            return None
        split = urllib3.util.parse_url(base_url)
        origin = f"{split.scheme}://{split.netloc}"
        return cls(pool, origin, {str(k): str(v) for k, v in session.headers.items()})

    def send(
        self, verb: str, url: str, body: bytes | None, headers: dict[str, str], timeout: float
    ) -> tuple[int, bytes]:
        """One request (no retries, no redirects) for ``url`` under the base URL; (status, body)."""
        if not url.startswith(self.origin + "/"):
            raise ValueError("the direct path sends only under its base URL")
        answer = self.pool.urlopen(
            verb,
            url[len(self.origin) :],
            body=body,
            headers=self.headers | headers,
            retries=False,
            redirect=False,
            assert_same_host=False,
            timeout=urllib3.Timeout(connect=timeout, read=timeout),
            preload_content=True,
        )
        return answer.status, answer.data


def _proves_not_sent(exc: BaseException) -> bool:
    """True when the request never reached the server (connection could not be opened)."""
    if isinstance(exc, requests.exceptions.ConnectTimeout | _SSL_ERRORS):
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


#: What a request can raise below the HTTP answer, through a Session or the direct path.
TRANSPORT_ERRORS = (requests.RequestException, urllib3.exceptions.HTTPError)


def transport_error(
    exc: requests.RequestException | urllib3.exceptions.HTTPError, system: str, what: str
) -> ExternalSystemError:
    """Map a ``requests`` or ``urllib3`` exception to a scrubbed error (``not_applied`` when the request was
    never sent).

    Certificate failures are fatal (a configuration or security problem, never retried); everything else is a
    :class:`RetryableError`. The original exception is not chained (its text holds the URL): callers raise the
    result outside the ``except`` block so that no ``__context__`` keeps it either.
    """
    detail = scrub(str(exc))
    if isinstance(exc, _SSL_ERRORS) and _CERT_FAILURE.search(detail):
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
