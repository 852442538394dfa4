"""The shape of ``include/mappings/counterparties.yaml`` as pydantic models (unknown keys are errors)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated, Any, Literal, cast

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from crm1c.domain.counterparty import Kind, Side
from crm1c.domain.merge import LINK_HOMES, Ownership
from crm1c.domain.rules import MappedField
from crm1c.domain.systems import COMPANY_FIELDS, CRM_MANAGED, REQUISITE_FIELDS

if TYPE_CHECKING:
    from crm1c.domain.rules import CounterpartyRules

__all__ = ["CounterpartyMapping", "FieldMap", "MappedField", "OwnedField"]

OwnedField = Literal[
    "kind", "deleted", "name", "full_name", "inn", "kpp", "okpo", "phone", "email", "comment"
]
Scalar = str | int | bool
_CRM_PATH = re.compile(r"(company|requisite)\.([A-Z0-9_]+)")


def _check_crm_path(path: str) -> str:
    match = _CRM_PATH.fullmatch(path)
    if match is None:
        raise ValueError(f"'{path}' must look like company.<FIELD> or requisite.<FIELD>")
    entity, name = match.groups()
    if path in CRM_MANAGED:
        raise ValueError(f"'{path}' is set by crm1c from {CRM_MANAGED[path]}, not by a field map")
    known = COMPANY_FIELDS if entity == "company" else REQUISITE_FIELDS
    if name not in known and not name.startswith("UF_CRM_"):
        raise ValueError(f"unknown or read-only Bitrix24 {entity} field '{name}'")
    return path


def _as_tuple(value: Any) -> Any:
    """A single path becomes a one-item list (checked here, so an error names the key, not item 0)."""
    return (_check_crm_path(value),) if isinstance(value, str) else value


CrmPath = Annotated[str, AfterValidator(_check_crm_path)]
#: One path or a list: the first is read, all are written.
CrmPaths = Annotated[tuple[CrmPath, ...], BeforeValidator(_as_tuple), Field(min_length=1)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FieldMap(_Strict):
    """Where one canonical field lives in each system, and its rules."""

    crm: CrmPaths | None = None
    crm_by_kind: dict[Kind, CrmPaths] = {}
    onec: str | None = None
    required: frozenset[Kind] = frozenset()
    max_length: int | None = Field(default=None, ge=1)

    def crm_paths(self, kind: Kind) -> tuple[str, ...]:
        """CRM paths for ``kind`` (first = the one read); empty when the CRM does not hold the field."""
        return self.crm_by_kind.get(kind, self.crm or ())

    @property
    def in_crm(self) -> bool:
        return bool(self.crm or self.crm_by_kind)


class CrmLegalForm(_Strict):
    preset_id: int = Field(alias="PRESET_ID", ge=1)
    company_type: str | None = Field(default=None, alias="COMPANY_TYPE", min_length=1)


class OnecLegalForm(_Strict):
    legal_or_person: Literal["ЮридическоеЛицо", "ФизическоеЛицо"] = Field(alias="ЮридическоеФизическоеЛицо")
    sole_proprietor: bool = Field(alias="ИндивидуальныйПредприниматель")
    branch: bool = Field(alias="ОбособленноеПодразделение")

    def attributes(self) -> dict[str, Any]:
        """The three 1C attributes, by their 1C names."""
        return self.model_dump(by_alias=True)


class LegalForm(_Strict):
    crm: CrmLegalForm
    onec: OnecLegalForm


class LegalForms(_Strict):
    legal: LegalForm
    ip: LegalForm
    person: LegalForm
    branch: LegalForm

    def of(self, kind: Kind) -> LegalForm:
        return getattr(self, kind)

    def items(self) -> list[tuple[Kind, LegalForm]]:
        return [(kind, self.of(kind)) for kind in ("legal", "ip", "person", "branch")]

    def kind_for_crm(self, preset_id: int | None, company_type: str | None, fallback: Kind) -> Kind | None:
        """Kind of a company: its COMPANY_TYPE when a form names it, else its requisite preset."""
        typed = [k for k, f in self.items() if f.crm.company_type and f.crm.company_type == company_type]
        if preset_id is None:
            return typed[0] if typed else fallback
        exact = [k for k in typed if self.of(k).crm.preset_id == preset_id]
        plain = [k for k, f in self.items() if f.crm.preset_id == preset_id and f.crm.company_type is None]
        found = exact or plain
        return found[0] if found else None

    def kind_for_onec(self, attributes: dict[str, Any]) -> Kind | None:
        """Kind of a 1C row from its three legal-form attributes."""
        return next((k for k, f in self.items() if f.onec.attributes() == attributes), None)


class CrmLink(_Strict):
    originator_id: str = Field(pattern=r"^[A-Za-z0-9.:-]+$")


class OnecLink(_Strict):
    attribute: str
    prefix: str = Field(pattern=r"^[A-Za-z0-9.:-]+$")


class Links(_Strict):
    crm: CrmLink
    onec: OnecLink


class CrmSettings(_Strict):
    kind_without_requisite: Kind


class OnecSettings(_Strict):
    entity_set: Literal["Catalog_Контрагенты"]
    extra_attributes: dict[str, Annotated[int, Field(ge=0)]] = {}


class CrmDefaults(_Strict):
    company: dict[str, Scalar] = {}
    requisite: dict[str, Scalar] = {}


class Defaults(_Strict):
    crm: CrmDefaults = CrmDefaults()
    onec: dict[str, Scalar] = {}


class CounterpartyMapping(_Strict):
    """The whole counterparty mapping. Load it with :func:`crm1c.mapping.loader.load_counterparty_mapping`."""

    version: Literal[1]
    crm: CrmSettings
    onec: OnecSettings
    links: Links
    legal_forms: LegalForms
    fields: dict[MappedField, FieldMap]
    ownership: dict[OwnedField, Side]
    defaults: Defaults = Defaults()

    @model_validator(mode="after")
    def _cross_check(self) -> CounterpartyMapping:
        from crm1c.mapping.checks import problems

        if found := problems(self):
            raise ValueError("\n".join(found))
        return self

    def field_map(self, name: str) -> FieldMap | None:
        """The map of canonical field ``name``, or None when the mapping leaves it out."""
        return cast(dict[str, FieldMap], self.fields).get(name)

    def merge_ownership(self) -> Ownership:
        """Owners of two-way fields and homes of one-way ones, for :func:`crm1c.domain.merge.merge`."""
        two_way = {name for name, f in self.fields.items() if f.in_crm and f.onec} | {"kind", "deleted"}
        homes: dict[str, Side] = {n: ("crm" if f.in_crm else "onec") for n, f in self.fields.items()}
        owners: dict[str, Side] = {name: side for name, side in self.ownership.items() if name in two_way}
        return Ownership(
            owners=owners, homes={**LINK_HOMES, **{n: homes[n] for n in homes if n not in two_way}}
        )


if TYPE_CHECKING:

    def _fits_the_domain(mapping: CounterpartyMapping) -> CounterpartyRules:
        """mypy checks here that the model is what the domain's codecs and validation read."""
        return mapping
