"""Payments 1C → CRM: how far each deal is paid, from the 1C bank receipts and the crm1c-made documents."""
