"""The generic sync engine: extract → plan → load → publish for any :class:`~crm1c.sync.spec.EntitySpec`.

No Airflow import here: a step gets a :class:`~crm1c.sync.runtime.SyncEnv` (clients, staging, the validated
mapping) and the entity's spec, and returns counters for the task log and the asset event.
"""
