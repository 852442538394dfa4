"""Money flows: VAT, 1C row arithmetic, deal rows → 1C document rows, currencies, units and payments.

Pure Python (pydantic for the reference data only): no Airflow, HTTP or database imports. Money is
``Decimal`` everywhere and rounded as 1C does (per row, half up to the kopeck). Rates, dates and codes
are data (``include/mappings/vat.yaml``, ``currencies.yaml``, ``units.yaml``), never literals here.
"""
