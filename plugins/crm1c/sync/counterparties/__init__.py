"""Counterparties both ways: Bitrix24 company + requisite ⇄ 1C ``Catalog_Контрагенты``.

Steps, in DAG order: :func:`extract_crm` and :func:`extract_onec` (read changes into staging),
:func:`plan` (validate, match, merge → write intents), :func:`load_onec` then :func:`load_crm`
(execute intents exactly once), :func:`publish` (advance watermarks, report).
"""

from crm1c.sync.counterparties.extract import extract_crm, extract_onec
from crm1c.sync.counterparties.load_crm import load_crm
from crm1c.sync.counterparties.load_onec import load_onec
from crm1c.sync.counterparties.plan import plan
from crm1c.sync.counterparties.publish import publish

__all__ = ["extract_crm", "extract_onec", "load_crm", "load_onec", "plan", "publish"]
