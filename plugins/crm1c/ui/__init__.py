"""The crm1c page in Airflow's UI: modes, last runs, quarantine, conflicts, reconciliation, a story.

:mod:`~crm1c.ui.data` gathers (plain Python), :mod:`~crm1c.ui.pages` renders (with :mod:`~crm1c.ui.sections`,
:mod:`~crm1c.ui.fmt`, :mod:`~crm1c.ui.sanitize`), :mod:`~crm1c.ui.app` is the FastAPI app behind Airflow's
login, registered by ``plugins/crm1c_ui_plugin.py`` through :mod:`~crm1c.ui.lazy`.
"""
