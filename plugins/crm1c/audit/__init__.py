"""The story of a record: everything staging knows about one CRM or 1C record, in time order, and the
verified audit chain. Plain Python (no Airflow import unless the staging URL comes from an Airflow
connection)::

    PYTHONPATH=plugins .venv/bin/python -m crm1c.audit story crm:42
    scripts/crm1c-audit story 7707083893 --json

Modules: :mod:`~crm1c.audit.query` (what was asked), :mod:`~crm1c.audit.story` (gathers),
:mod:`~crm1c.audit.timeline` (the events), :mod:`~crm1c.audit.chain` (verifies), :mod:`~crm1c.audit.render`
(text / JSON), :mod:`~crm1c.audit.source` (which staging database), :mod:`~crm1c.audit.__main__` (CLI).
"""
