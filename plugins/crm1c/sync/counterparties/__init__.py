"""Counterparties both ways: Bitrix24 company + requisite ⇄ 1C ``Catalog_Контрагенты``.

The engine's first entity: :data:`crm1c.sync.counterparties.spec.COUNTERPARTIES` plugs the counterparty
model and rules (:mod:`crm1c.domain.counterparty`), the company reader (:mod:`.crm_reader`), the 1C change
scan and the two writers (:mod:`.onec_writer`, :mod:`.crm_writer`) into :mod:`crm1c.sync.engine`.
"""
