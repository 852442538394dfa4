"""Deals in the CRM → 1C documents (payment invoices and sales)."""
