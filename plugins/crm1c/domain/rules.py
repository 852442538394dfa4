"""What the domain reads from a counterparty mapping, as Protocols (the domain never imports crm1c.mapping).

:class:`crm1c.mapping.schema.CounterpartyMapping` is one implementation (mypy checks that it fits, see the
end of that module); tests may pass any object of this shape. Every member is read-only here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal, Protocol

from crm1c.domain.counterparty import FieldLimits, Kind

#: Canonical fields a mapping can place in the systems (the keys of ``fields``).
MappedField = Literal["name", "full_name", "inn", "kpp", "okpo", "phone", "email", "comment"]


class FieldRules(FieldLimits, Protocol):
    """Where one canonical field lives in each system, and its rules."""

    @property
    def onec(self) -> str | None: ...

    def crm_paths(self, kind: Kind) -> tuple[str, ...]:
        """CRM paths (``company.X`` / ``requisite.X``) for ``kind``; the first is the one read."""
        ...


class CrmForm(Protocol):
    @property
    def preset_id(self) -> int: ...

    @property
    def company_type(self) -> str | None: ...


class OnecForm(Protocol):
    def attributes(self) -> dict[str, Any]:
        """The 1C legal-form attributes, by their 1C names."""
        ...


class LegalFormRules(Protocol):
    @property
    def crm(self) -> CrmForm: ...

    @property
    def onec(self) -> OnecForm: ...


class LegalFormsRules(Protocol):
    def of(self, kind: Kind) -> LegalFormRules: ...

    def items(self) -> Sequence[tuple[Kind, LegalFormRules]]: ...

    def kind_for_crm(
        self, preset_id: int | None, company_type: str | None, fallback: Kind
    ) -> Kind | None: ...

    def kind_for_onec(self, attributes: dict[str, Any]) -> Kind | None: ...


class CrmLinkRules(Protocol):
    @property
    def originator_id(self) -> str: ...


class OnecLinkRules(Protocol):
    @property
    def attribute(self) -> str: ...

    @property
    def prefix(self) -> str: ...


class LinkRules(Protocol):
    @property
    def crm(self) -> CrmLinkRules: ...

    @property
    def onec(self) -> OnecLinkRules: ...


class CrmSettingsRules(Protocol):
    @property
    def kind_without_requisite(self) -> Kind: ...


class CrmDefaultsRules(Protocol):
    @property
    def company(self) -> Mapping[str, Any]: ...

    @property
    def requisite(self) -> Mapping[str, Any]: ...


class DefaultsRules(Protocol):
    @property
    def crm(self) -> CrmDefaultsRules: ...

    @property
    def onec(self) -> Mapping[str, Any]: ...


class CounterpartyRules(Protocol):
    """A counterparty mapping as the codecs and :func:`crm1c.domain.counterparty.validate` read it."""

    @property
    def crm(self) -> CrmSettingsRules: ...

    @property
    def links(self) -> LinkRules: ...

    @property
    def legal_forms(self) -> LegalFormsRules: ...

    @property
    def fields(self) -> Mapping[MappedField, FieldRules]: ...

    @property
    def defaults(self) -> DefaultsRules: ...

    def field_map(self, name: str) -> FieldRules | None: ...
