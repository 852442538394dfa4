"""1C steps of an entity's sync: read 1C's changes into staging, write the queued 1C changes."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

from crm1c.operators._params import as_pool, early
from crm1c.operators.base import SyncStepOperator
from crm1c.operators.steps import ExtractStep, LoadStep

if TYPE_CHECKING:
    from crm1c.hooks.onec import OneCODataHook


class OneCOperator(SyncStepOperator):
    """A step that talks to 1C through :class:`~crm1c.hooks.onec.OneCODataHook`.

    :param onec_conn_id: the 1C OData connection (templated).
    :param onec_pool: parallel 1C connections, 1–16 (templated: ``"{{ params.onec_pool }}"``).
    """

    system: ClassVar[str | None] = "onec"
    template_fields: Sequence[str] = (*SyncStepOperator.template_fields, "onec_conn_id", "onec_pool")
    ui_color = "#fdf0d5"

    def __init__(
        self, *, onec_conn_id: str = "onec_default", onec_pool: int | str = 4, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.onec_conn_id = onec_conn_id
        self.onec_pool = early(onec_pool, as_pool)

    @cached_property
    def hook(self) -> OneCODataHook:
        from crm1c.hooks.onec import OneCODataHook

        return OneCODataHook(self.onec_conn_id)

    def clients(self) -> dict[str, Any]:
        return {"onec": self.hook.get_client()}

    def checked_params(self) -> dict[str, Any]:
        return {**super().checked_params(), "onec_pool": as_pool(self.onec_pool)}


class OneCExtractOperator(OneCOperator, ExtractStep):
    """Reads the counterparties changed in 1C (by data version) into staging."""

    template_fields: Sequence[str] = (*OneCOperator.template_fields, "mode")


class OneCLoadOperator(OneCOperator, LoadStep):
    """Makes the queued 1C writes, each exactly once, ``onec_pool`` at a time."""
