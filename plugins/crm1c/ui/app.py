"""The crm1c page's FastAPI app, mounted by Airflow's API server (``plugins/crm1c_ui_plugin.py``).

Airflow does not authenticate plugin apps, so this one does it itself, with the API server's own
dependency: every route requires ``requires_access_dag("GET")`` — a user logged in to Airflow (JWT in the
``_token`` cookie the UI sets, or a bearer token) who may read DAGs. A browser without a session is sent
to Airflow's login page (and back here); any other client gets 401 (403 for a bad token or no right).
Staging is read through the ``crm1c_staging`` connection, read-only and never migrated from here.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from airflow.api_fastapi.app import get_auth_manager
from airflow.api_fastapi.core_api.security import requires_access_dag
from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException

from crm1c.audit.source import StagingUnavailable, open_staging
from crm1c.redaction import scrub_credentials
from crm1c.ui import data, pages

log = logging.getLogger(__name__)


def create_app() -> FastAPI:
    """The app: ``GET /`` is the page (``q``: a record's story, ``sort``, ``report``: one report's id)."""
    app = FastAPI(
        title="crm1c",
        dependencies=[Depends(requires_access_dag("GET"))],
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.add_exception_handler(HTTPException, refused)
    app.add_api_route("/", page, methods=["GET"], response_class=HTMLResponse)
    return app


def page(request: Request, q: str = "", sort: str = "oldest", report: int | None = None) -> HTMLResponse:
    """The whole page, read from staging at each request."""
    now = datetime.now(UTC)
    state: dict[str, Any] = {"q": q.strip(), "sort": sort, "report": report}
    overview, found, problems = None, None, []
    try:
        staging = open_staging(_staging_url())
    except StagingUnavailable as exc:
        problems.append(str(exc))
    else:
        try:
            overview = data.overview(staging, now, sort, report)
            found = data.story(staging, state["q"]) if state["q"] else None
        finally:
            staging.engine.dispose()
    airflow = request.scope.get("app_root_path", "").rstrip("/")
    html = pages.render(overview, found, state, airflow, problems, now)
    return HTMLResponse(html, headers={"Cache-Control": "no-store"})


def _staging_url() -> str:
    """The ``crm1c_staging`` connection's URL; StagingUnavailable (scrubbed) when it cannot be had."""
    from crm1c.hooks.staging import StagingHook

    try:
        return StagingHook().get_url()
    except Exception as exc:
        reason = scrub_credentials(f"{type(exc).__name__}: {exc}")
        log.warning("crm1c page: no staging connection: %s", reason)
        raise StagingUnavailable(f"the crm1c_staging connection cannot be read: {reason}") from None


async def refused(request: Request, exc: Exception) -> Response:
    """Not logged in: a browser goes to Airflow's login page (then back); others get the error."""
    assert isinstance(exc, HTTPException)  # noqa: S101  (registered for HTTPException only)
    if exc.status_code == 401 and "text/html" in request.headers.get("accept", ""):
        login = get_auth_manager().get_url_login(next_url=str(request.url))
        return RedirectResponse(login, status_code=303)
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)
