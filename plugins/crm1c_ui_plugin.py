"""The crm1c page in Airflow's UI (Airflow scans this module; its import stays cheap).

A FastAPI app at ``/crm1c/`` on the API server, behind Airflow's login (:mod:`crm1c.ui.app`), and a
top-level navigation entry ``crm1c`` that shows it inside the UI (``/plugin/crm1c``).
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from crm1c.ui.lazy import LazyApp

URL_PREFIX = "/crm1c"
PAGE_APP = {"app": LazyApp("crm1c.ui.app:create_app"), "url_prefix": URL_PREFIX, "name": "crm1c page"}
NAV_ENTRY = {
    "name": "crm1c",
    "href": URL_PREFIX.lstrip("/") + "/",  # relative: under the API server's base URL
    "url_route": "crm1c",
    "destination": "nav",
    "nav_top_level": True,
}


class Crm1cUiPlugin(AirflowPlugin):
    name = "crm1c_ui"
    fastapi_apps = [PAGE_APP]  # noqa: RUF012  (AirflowPlugin declares these as plain class lists)
    external_views = [NAV_ENTRY]  # noqa: RUF012
