"""Bitrix24 steps of an entity's sync: read the CRM's changes into staging, write the queued CRM changes."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

from crm1c.operators.base import SyncStepOperator
from crm1c.operators.steps import ExtractStep, LoadStep

if TYPE_CHECKING:
    from crm1c.hooks.bitrix24 import Bitrix24Hook


class Bitrix24Operator(SyncStepOperator):
    """A step that talks to Bitrix24 through :class:`~crm1c.hooks.bitrix24.Bitrix24Hook`.

    :param bitrix24_conn_id: the Bitrix24 incoming-webhook connection (templated).
    """

    system: ClassVar[str | None] = "crm"
    template_fields: Sequence[str] = (*SyncStepOperator.template_fields, "bitrix24_conn_id")
    ui_color = "#d6ecfa"

    def __init__(self, *, bitrix24_conn_id: str = "bitrix24_default", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.bitrix24_conn_id = bitrix24_conn_id

    @cached_property
    def hook(self) -> Bitrix24Hook:
        from crm1c.hooks.bitrix24 import Bitrix24Hook

        return Bitrix24Hook(self.bitrix24_conn_id)

    def clients(self) -> dict[str, Any]:
        return {"crm": self.hook.get_client()}


class Bitrix24ExtractOperator(Bitrix24Operator, ExtractStep):
    """Reads the companies (with requisites) changed in Bitrix24 into staging."""

    template_fields: Sequence[str] = (*Bitrix24Operator.template_fields, "mode")


class Bitrix24LoadOperator(Bitrix24Operator, LoadStep):
    """Makes the queued Bitrix24 writes, each exactly once (batch requests)."""
