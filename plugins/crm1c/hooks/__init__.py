"""Thin Airflow hooks: read a Connection, mask its secrets, build a plain client from crm1c.clients."""
