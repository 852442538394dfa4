"""Counterparty domain: canonical model, requisite checks, codecs for Bitrix24 / 1C and the three-way merge.

Pure Python (pydantic only): no Airflow, HTTP or database imports.
"""
