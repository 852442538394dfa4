"""crm1c: keeps Bitrix24 CRM and 1C:Accounting 3.0 in step (Airflow 3 plugins package)."""
