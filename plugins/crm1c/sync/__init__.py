"""The sync engine: plain Python steps (extract, plan, load, publish) that DAG tasks call.

No Airflow import here: a step gets a :class:`~crm1c.sync.runtime.SyncEnv` with ready clients, the staging
repository and the validated mapping, and returns counters for the task log and the asset event.
"""
