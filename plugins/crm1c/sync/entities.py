"""The entities crm1c syncs, by the name used in DAG ids (``sync_<name>``).

Plain Python, no Airflow import. The operators reach an entity only through :func:`entity` and the engine
only through :mod:`crm1c.sync.pipeline`; what an :class:`EntityRef` carries is all they rely on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from crm1c.sync.spec import EntitySpec


@dataclass(frozen=True)
class EntityRef:
    """One synced entity.

    Attributes:
        name: as in DAG ids, e.g. ``"counterparties"``.
        key: the staging entity name (run stats, quarantine, xref), e.g. ``"counterparty"``.
        asset_uri: the asset its ``publish`` step emits, e.g. ``"crm1c://counterparties"``.
        load_mapping: reads and validates its mapping; raises :class:`crm1c.mapping.loader.MappingError`.
        spec: loads its :class:`~crm1c.sync.spec.EntitySpec` (imported on demand: DAG parsing stays cheap).
    """

    name: str
    key: str
    asset_uri: str
    load_mapping: Callable[[], Any]
    spec: Callable[[], EntitySpec]


def _counterparty_spec() -> EntitySpec:
    from crm1c.sync.counterparties.spec import COUNTERPARTIES

    return COUNTERPARTIES


def _counterparty_mapping() -> Any:
    # imported on call: DAG files import this module at parse time, the mapping schema is not cheap
    from crm1c.mapping.loader import load_counterparty_mapping

    return load_counterparty_mapping()


def _nomenclature_spec() -> EntitySpec:
    from crm1c.sync.nomenclature.spec import NOMENCLATURE

    return NOMENCLATURE


def _nomenclature_mapping() -> Any:
    from crm1c.mapping.nomenclature import load_nomenclature_mapping

    return load_nomenclature_mapping()


def _invoices_spec() -> EntitySpec:
    from crm1c.sync.invoices.spec import INVOICES_SPEC

    return INVOICES_SPEC


def _invoices_mapping() -> Any:
    from crm1c.mapping.invoices import load_invoice_mapping

    return load_invoice_mapping()


def _payments_spec() -> EntitySpec:
    from crm1c.sync.payments.spec import PAYMENTS

    return PAYMENTS


def _payments_mapping() -> Any:
    from crm1c.mapping.payments import load_payments_mapping

    return load_payments_mapping()


_ENTITIES: dict[str, EntityRef] = {
    ref.name: ref
    for ref in (
        EntityRef(
            name="counterparties",
            key="counterparty",
            asset_uri="crm1c://counterparties",
            load_mapping=_counterparty_mapping,
            spec=_counterparty_spec,
        ),
        EntityRef(
            name="nomenclature",
            key="nomenclature",
            asset_uri="crm1c://nomenclature",
            load_mapping=_nomenclature_mapping,
            spec=_nomenclature_spec,
        ),
        EntityRef(
            name="invoices",
            key="invoice",
            asset_uri="crm1c://invoices",
            load_mapping=_invoices_mapping,
            spec=_invoices_spec,
        ),
        EntityRef(
            name="payments",
            key="payment",
            asset_uri="crm1c://payments",
            load_mapping=_payments_mapping,
            spec=_payments_spec,
        ),
    )
}

#: Every entity name :func:`entity` knows, in DAG order.
ENTITY_NAMES: tuple[str, ...] = tuple(_ENTITIES)


def entity(name: str) -> EntityRef:
    """The entity called ``name``; an unknown name raises :class:`ValueError` listing the known ones."""
    try:
        return _ENTITIES[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown entity {name!r}; known: {', '.join(ENTITY_NAMES)}") from None
