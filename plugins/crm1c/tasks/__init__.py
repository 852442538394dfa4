"""Glue between Airflow tasks and the sync engine: connections → clients, params → a run, errors → retries."""
