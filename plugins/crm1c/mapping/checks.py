"""Cross-checks of a counterparty mapping that one key alone cannot show. Each problem names its key path."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from crm1c.domain.counterparty import KINDS
from crm1c.domain.systems import (
    COMPANY_FIELDS,
    ONEC_MANAGED,
    ONEC_OTHER_ATTRIBUTES,
    ONEC_TEXT_ATTRIBUTES,
    REQUISITE_FIELDS,
)

if TYPE_CHECKING:
    from crm1c.mapping.schema import CounterpartyMapping

_IDENTITY = ("name", "inn", "kpp")
_MIN_LINK_ROOM = 20  # prefix + a Bitrix24 id


def problems(m: CounterpartyMapping) -> list[str]:
    """Every cross-reference problem, as ``"<key path>: <what is wrong>"``; empty when consistent."""
    checks = (_fields, _duplicates, _identity, _links, _legal_forms, _ownership, _defaults)
    return list(dict.fromkeys(p for check in checks for p in check(m)))


def _text_attributes(m: CounterpartyMapping) -> dict[str, int]:
    return {**ONEC_TEXT_ATTRIBUTES, **m.onec.extra_attributes}


def _onec_attribute_problem(m: CounterpartyMapping, attr: str) -> str | None:
    if attr in ONEC_MANAGED:
        return f"'{attr}' is set by crm1c from {ONEC_MANAGED[attr]}, not by a field map"
    if attr == m.links.onec.attribute:
        return f"'{attr}' holds the CRM id (links.onec.attribute) and cannot carry a field too"
    if attr in ONEC_OTHER_ATTRIBUTES:
        return f"1C attribute '{attr}' is not text; only text attributes can be mapped"
    if attr not in _text_attributes(m):
        return f"unknown 1C attribute '{attr}' (a newer BP release? declare it in onec.extra_attributes)"
    return None


def _fields(m: CounterpartyMapping) -> Iterator[str]:
    for name, f in m.fields.items():
        if not f.in_crm and not f.onec:
            yield f"fields.{name}: mapped to neither system (give crm and/or onec)"
        if f.onec is None:
            continue
        if problem := _onec_attribute_problem(m, f.onec):
            yield f"fields.{name}.onec: {problem}"
            continue
        size = _text_attributes(m)[f.onec]
        if size and (f.max_length is None or f.max_length > size):
            yield f"fields.{name}.max_length: must be at most {size}, the length of 1C attribute {f.onec}"


def _duplicates(m: CounterpartyMapping) -> Iterator[str]:
    owner_of: dict[str, str] = {}
    for name, f in m.fields.items():
        if f.onec is not None and owner_of.setdefault(f.onec, name) != name:
            yield f"fields.{name}.onec: 1C attribute '{f.onec}' is also mapped by fields.{owner_of[f.onec]}"
    for kind in KINDS:
        crm_owner: dict[str, str] = {}
        for name, f in m.fields.items():
            for path in f.crm_paths(kind):
                if crm_owner.setdefault(path, name) != name:
                    yield f"fields.{name}.crm: '{path}' is already mapped by fields.{crm_owner[path]}"


def _identity(m: CounterpartyMapping) -> Iterator[str]:
    for name in _IDENTITY:
        f = m.field_map(name)
        if f is None or not (f.in_crm and f.onec):
            yield f"fields.{name}: must be mapped in both systems (crm and onec): matching depends on it"


def _links(m: CounterpartyMapping) -> Iterator[str]:
    link = m.links.onec
    if link.attribute in ONEC_MANAGED or link.attribute not in _text_attributes(m):
        yield f"links.onec.attribute: '{link.attribute}' is not a 1C text attribute crm1c may write"
        return
    size = _text_attributes(m)[link.attribute]
    if size and size < len(link.prefix) + _MIN_LINK_ROOM:
        yield f"links.onec.attribute: '{link.attribute}' holds {size} characters, too few for the CRM id"


def _legal_forms(m: CounterpartyMapping) -> Iterator[str]:
    crm_seen: dict[object, str] = {}
    onec_seen: dict[object, str] = {}
    for kind, form in m.legal_forms.items():
        crm_key = (form.crm.preset_id, form.crm.company_type)
        if crm_seen.setdefault(crm_key, kind) != kind:
            yield (
                f"legal_forms.{kind}.crm: PRESET_ID and COMPANY_TYPE as in legal_forms.{crm_seen[crm_key]}: "
                "the two kinds could not be told apart"
            )
        onec_key = tuple(form.onec.attributes().values())
        if onec_seen.setdefault(onec_key, kind) != kind:
            yield (
                f"legal_forms.{kind}.onec: same 1C attributes as legal_forms.{onec_seen[onec_key]}: "
                "the two kinds could not be told apart"
            )


def _ownership(m: CounterpartyMapping) -> Iterator[str]:
    two_way = ["kind", "deleted", *(n for n, f in m.fields.items() if f.in_crm and f.onec)]
    for name in two_way:
        if name not in m.ownership:
            yield f"ownership: '{name}' is held by both systems and needs an owner (crm or onec)"
    for name, side in m.ownership.items():
        f = m.field_map(name)
        if name in two_way:
            continue
        if f is None:
            yield f"ownership.{name}: the field is not mapped (see fields)"
        elif side != (home := "crm" if f.in_crm else "onec"):
            yield f"ownership.{name}: only {home} holds this field, so its owner must be {home}"


def _defaults(m: CounterpartyMapping) -> Iterator[str]:
    crm_targets = {p: n for n, f in m.fields.items() for k in KINDS for p in f.crm_paths(k)}
    onec_targets = {f.onec: n for n, f in m.fields.items() if f.onec}
    entities = (
        ("company", COMPANY_FIELDS, m.defaults.crm.company),
        ("requisite", REQUISITE_FIELDS, m.defaults.crm.requisite),
    )
    for entity, known, values in entities:
        for key in values:
            where = f"defaults.crm.{entity}.{key}"
            if key not in known and not key.startswith("UF_CRM_"):
                yield f"{where}: unknown or read-only Bitrix24 {entity} field '{key}'"
            elif f"{entity}.{key}" in crm_targets:
                yield f"{where}: already set by fields.{crm_targets[f'{entity}.{key}']}"
    typed = [kind for kind, form in m.legal_forms.items() if form.crm.company_type]
    if typed and "COMPANY_TYPE" not in m.defaults.crm.company:
        yield (
            f"defaults.crm.company.COMPANY_TYPE: required because legal_forms.{typed[0]} sets COMPANY_TYPE "
            "(a company that stops being one gets this type back)"
        )
    for key in m.defaults.onec:
        where = f"defaults.onec.{key}"
        if key in ONEC_MANAGED or key not in _text_attributes(m).keys() | ONEC_OTHER_ATTRIBUTES:
            yield f"{where}: unknown 1C attribute '{key}', or one crm1c sets itself"
        elif key in onec_targets:
            yield f"{where}: already set by fields.{onec_targets[key]}"
