"""Nomenclature (goods and services) from 1C to the Bitrix24 catalog."""
