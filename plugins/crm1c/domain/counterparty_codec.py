"""Counterparty ⇄ Bitrix24 (company + requisite) and ⇄ 1C ``Catalog_Контрагенты``, driven by the mapping.

Readers ignore fields they do not know and normalise text; writers never cut a value. For every mapped
field ``from_x(to_x(cp)) == cp`` — except the key the target assigns itself (company ``ID``, 1C
``Ref_Key``) and values the target does not hold (see the mapping).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from pydantic import ValidationError

from crm1c.domain import systems as s
from crm1c.domain.counterparty import Counterparty, Kind
from crm1c.domain.issues import Issue, IssueError, preview
from crm1c.domain.rules import CounterpartyRules
from crm1c.domain.text import normalize_line

#: Given a head's 1C ``Ref_Key``, the head as a Counterparty (or None when it is not known).
HeadLookup = Callable[[str], Counterparty | None]


class CodecError(IssueError):
    """A source record that cannot become a Counterparty; ``issue`` says why, for the quarantine."""


# ---------------------------------------------------------------- Bitrix24


def from_bitrix(
    company: dict[str, Any], requisite: dict[str, Any] | None, mapping: CounterpartyRules
) -> Counterparty:
    """A company (``crm.company.get``) and its requisite (``crm.requisite.list``, or None) → Counterparty."""
    who = (f"Компания Битрикс24 {company.get('ID')}", f"Bitrix24 company {company.get('ID')}")
    preset = _int(requisite.get("PRESET_ID")) if requisite else None
    company_type = normalize_line(str(company.get("COMPANY_TYPE") or ""))
    kind = None
    if not requisite or preset is not None:  # an unreadable PRESET_ID is not a missing requisite
        kind = mapping.legal_forms.kind_for_crm(preset, company_type, mapping.crm.kind_without_requisite)
    if kind is None:
        raise CodecError(
            Issue(
                "kind",
                "unknown_legal_form",
                f"{who[0]}: шаблон реквизита PRESET_ID={preset} с типом {company_type}"
                " не описан в legal_forms",
                f"{who[1]}: requisite PRESET_ID={preset} with type {company_type} is not in legal_forms",
            )
        )
    sources = {"company": company, "requisite": requisite or {}}
    values: dict[str, Any] = {}
    for name, spec in mapping.fields.items():
        if paths := spec.crm_paths(kind):
            entity, field = paths[0].split(".")
            raw = sources[entity].get(field)
            values[name] = _first_value(raw) if _is_multifield(entity, field) else raw
    if kind == "branch":
        values["head_inn"] = values.get("inn")  # a branch's head has the branch's ИНН by law
    values["crm_id"] = company.get("ID")
    if company.get("ORIGINATOR_ID") == mapping.links.crm.originator_id:
        values["onec_ref"] = _guid(company.get("ORIGIN_ID"))
    return _build(kind, values, who)


def to_bitrix(
    cp: Counterparty,
    mapping: CounterpartyRules,
    *,
    only: Iterable[str] | None = None,
    current_company: dict[str, Any] | None = None,
    current_requisite: dict[str, Any] | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(company_fields, requisite_fields)`` for ``crm.company.add/update`` and ``crm.requisite.add/update``.

    ``only``: canonical fields to write (default all). ``current_*``: the record as it is now, or None
    to create it (then the mapping's defaults are added). Multi-value fields (PHONE, EMAIL) update the
    current first value by its ID instead of adding another. The engine adds ``ENTITY_ID`` and ids.
    """
    wanted = _wanted(only)
    # A new kind moves fields between requisite fields (RQ_COMPANY_FULL_NAME ↔ RQ_NAME): write them all.
    wanted_field = _wanted(None) if wanted("kind") else wanted
    company: dict[str, Any] = dict(mapping.defaults.crm.company) if current_company is None else {}
    requisite: dict[str, Any] = {}
    if current_requisite is None:
        requisite = {**mapping.defaults.crm.requisite, "ENTITY_TYPE_ID": s.REQUISITE_ENTITY_TYPE_COMPANY}
    if wanted("kind"):
        requisite["PRESET_ID"] = str(mapping.legal_forms.of(cp.kind).crm.preset_id)
        if company_type := _company_type(cp, mapping, current_company):
            company["COMPANY_TYPE"] = company_type
    targets = {"company": company, "requisite": requisite}
    for name, spec in mapping.fields.items():
        if not wanted_field(name):
            continue
        value = getattr(cp, name)
        for path in spec.crm_paths(cp.kind):
            entity, field = path.split(".")
            if _is_multifield(entity, field):
                if items := _multifield_write(value, (current_company or {}).get(field)):
                    company[field] = items
            else:
                targets[entity][field] = "" if value is None else value
    if wanted("onec_ref") and cp.onec_ref is not None:
        company["ORIGINATOR_ID"] = mapping.links.crm.originator_id
        company["ORIGIN_ID"] = cp.onec_ref
    return company, requisite


def _company_type(cp: Counterparty, mapping: CounterpartyRules, current: dict[str, Any] | None) -> str | None:
    """The COMPANY_TYPE the kind needs: its own, or the default again when leaving a typed form (BRANCH)."""
    own = mapping.legal_forms.of(cp.kind).crm.company_type
    if own or current is None:
        return own
    typed = {f.crm.company_type for _, f in mapping.legal_forms.items() if f.crm.company_type}
    default = mapping.defaults.crm.company.get("COMPANY_TYPE")
    return str(default) if current.get("COMPANY_TYPE") in typed and default is not None else None


def bitrix_select(mapping: CounterpartyRules) -> tuple[list[str], list[str]]:
    """``select`` lists (company, requisite) that bring every field :func:`from_bitrix` reads."""
    paths = {
        p
        for spec in mapping.fields.values()
        for k in ("legal", "ip", "person", "branch")
        for p in spec.crm_paths(k)
    }
    company = {"ID", "COMPANY_TYPE", "ORIGINATOR_ID", "ORIGIN_ID"} | {
        p[8:] for p in paths if p.startswith("company.")
    }
    requisite = {"ID", "ENTITY_ID", "PRESET_ID"} | {p[10:] for p in paths if p.startswith("requisite.")}
    return sorted(company), sorted(requisite)


def _is_multifield(entity: str, field: str) -> bool:
    return entity == "company" and field in s.COMPANY_MULTIFIELDS


def _first_item(items: Any) -> dict[str, Any] | None:
    """The first multi-value item with a non-blank VALUE: the one the canonical field stands for."""
    if not isinstance(items, list):
        return None
    return next((i for i in items if isinstance(i, dict) and normalize_line(str(i.get("VALUE") or ""))), None)


def _first_value(items: Any) -> Any:
    first = _first_item(items)
    return first.get("VALUE") if first is not None else None


def _multifield_write(value: str | None, current: Any) -> list[dict[str, Any]]:
    first = _first_item(current)
    if first is None or first.get("ID") is None:
        return [{"VALUE": value, "VALUE_TYPE": "WORK"}] if value is not None else []
    if value is None:
        return [{"ID": first["ID"], "VALUE": ""}]  # Bitrix24 deletes a value sent empty with its ID
    if normalize_line(str(first.get("VALUE"))) == value:
        return []
    return [{"ID": first["ID"], "VALUE": value, "VALUE_TYPE": first.get("VALUE_TYPE") or "WORK"}]


# ---------------------------------------------------------------- 1C


def from_onec(
    row: dict[str, Any], mapping: CounterpartyRules, head_lookup: HeadLookup | None = None
) -> Counterparty:
    """A ``Catalog_Контрагенты`` row (OData JSON) → Counterparty.

    ``head_lookup`` turns a branch's ``ГоловнойКонтрагент_Key`` into its head, to fill head_inn/head_kpp.
    """
    ref = _guid(row.get(s.ONEC_REF_KEY))
    who = (f"Контрагент 1С {ref or row.get('Code')}", f"1C counterparty {ref or row.get('Code')}")
    if _bool(row.get(s.ONEC_IS_FOLDER)):
        raise CodecError(
            Issue("kind", "folder", f"{who[0]}: это группа, а не контрагент", f"{who[1]}: a folder")
        )
    flags = {
        s.ONEC_LEGAL_OR_PERSON: row.get(s.ONEC_LEGAL_OR_PERSON),
        s.ONEC_SOLE_PROPRIETOR: _bool(row.get(s.ONEC_SOLE_PROPRIETOR)),
        s.ONEC_BRANCH: _bool(row.get(s.ONEC_BRANCH)),
    }
    kind = mapping.legal_forms.kind_for_onec(flags)
    if kind is None:
        shown = ", ".join(f"{k}={v}" for k, v in flags.items())
        raise CodecError(
            Issue(
                "kind",
                "unknown_legal_form",
                f"{who[0]}: сочетание {shown} не описано в legal_forms",
                f"{who[1]}: {shown} is not in legal_forms",
            )
        )
    values: dict[str, Any] = {n: row.get(spec.onec) for n, spec in mapping.fields.items() if spec.onec}
    values |= {"deleted": _bool(row.get(s.ONEC_DELETION_MARK)), "onec_ref": ref}
    values["crm_id"] = _crm_id_from(row.get(mapping.links.onec.attribute), mapping.links.onec.prefix, who)
    if kind == "branch" and (head := _guid(row.get(s.ONEC_HEAD))) not in (None, ref):
        values["head_ref"] = head
        found = head_lookup(head) if head_lookup is not None else None
        if found is not None:
            values |= {"head_inn": found.inn, "head_kpp": found.kpp}
    return _build(kind, values, who)


def to_onec(
    cp: Counterparty,
    mapping: CounterpartyRules,
    head_ref_key: str | None = None,
    *,
    only: Iterable[str] | None = None,
    current: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """OData JSON body for ``Catalog_Контрагенты`` (POST when ``current`` is None, else PATCH).

    A branch needs its head's ``Ref_Key`` (``head_ref_key`` or ``cp.head_ref``). ``deleted`` becomes
    ``DeletionMark`` (never a physical delete). The CRM id is written into the link attribute as one
    tagged line, keeping whatever else the accountant wrote there (``current``).
    """
    wanted = _wanted(only)
    row: dict[str, Any] = dict(mapping.defaults.onec) if current is None else {}
    if wanted("kind"):
        row |= mapping.legal_forms.of(cp.kind).onec.attributes()
    if cp.kind == "branch" and (wanted("kind") or wanted("head_ref")):
        head = head_ref_key or cp.head_ref
        if head is None:
            raise CodecError(
                Issue(
                    "head_ref",
                    "head_required",
                    f"Подразделение {cp.name or cp.inn}: в 1С не найдена головная организация с ИНН {cp.inn}",
                    f"Branch {cp.name or cp.inn}: no head organisation with INN {cp.inn} in 1C",
                )
            )
        row[s.ONEC_HEAD] = head
    for name, spec in mapping.fields.items():
        if spec.onec and wanted(name):
            row[spec.onec] = getattr(cp, name) or ""
    if wanted("deleted"):
        row[s.ONEC_DELETION_MARK] = cp.deleted
    link = mapping.links.onec
    if wanted("crm_id") and cp.crm_id is not None:
        row[link.attribute] = _with_crm_id((current or {}).get(link.attribute) or "", link.prefix, cp.crm_id)
    return row


def onec_select(mapping: CounterpartyRules) -> list[str]:
    """``$select`` list that brings every attribute :func:`from_onec` reads."""
    standard = {s.ONEC_REF_KEY, "DataVersion", "Code", s.ONEC_DELETION_MARK, s.ONEC_IS_FOLDER, s.ONEC_HEAD}
    legal = {s.ONEC_LEGAL_OR_PERSON, s.ONEC_SOLE_PROPRIETOR, s.ONEC_BRANCH, mapping.links.onec.attribute}
    return sorted(standard | legal | {f.onec for f in mapping.fields.values() if f.onec})


def _tag_pattern(prefix: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![A-Za-z0-9.:-]){re.escape(prefix)}([0-9]+)(?![0-9])")


def _crm_id_from(text: Any, prefix: str, who: tuple[str, str]) -> str | None:
    found = sorted(set(_tag_pattern(prefix).findall(text))) if isinstance(text, str) else []
    if len(found) > 1:
        ids = ", ".join(found)
        raise CodecError(
            Issue(
                "crm_id",
                "crm_id_ambiguous",
                f"{who[0]}: в «Дополнительной информации» несколько компаний CRM ({ids})"
                f" — оставьте одну строку {prefix}…",
                f"{who[1]}: several CRM companies ({ids}) tagged — keep one {prefix}… line",
            )
        )
    return found[0] if found else None


def _with_crm_id(text: str, prefix: str, crm_id: str) -> str:
    """``text`` with exactly one ``<prefix><crm_id>`` line; other content is kept as written."""
    pattern = _tag_pattern(prefix)
    if set(pattern.findall(text)) == {crm_id}:
        return text
    lines = [pattern.sub("", line) if pattern.search(line) else line for line in text.splitlines()]
    kept = [
        line
        for line, old in zip(lines, text.splitlines(), strict=True)
        if line.strip() or not pattern.search(old)
    ]
    return "\n".join([*kept, f"{prefix}{crm_id}"]).lstrip("\n")


# ---------------------------------------------------------------- shared


def _build(kind: Kind, values: dict[str, Any], who: tuple[str, str]) -> Counterparty:
    try:
        return Counterparty(kind=kind, **values)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = str(err["loc"][0]) if err["loc"] else "record"
        shown = preview(str(err.get("input")))
        raise CodecError(
            Issue(
                field,
                "bad_value",
                f"{who[0]}: поле {field}: недопустимое значение {shown}",
                f"{who[1]}: field {field}: invalid value {shown} ({err['msg']})",
            )
        ) from exc


def _wanted(only: Iterable[str] | None) -> Callable[[str], bool]:
    chosen = None if only is None else set(only)
    return lambda name: chosen is None or name in chosen


def _guid(value: Any) -> str | None:
    text = value.strip().lower() if isinstance(value, str) else ""
    return None if text in ("", s.ZERO_GUID) else text


def _bool(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() in ("true", "y"))


def _int(value: Any) -> int | None:
    try:
        return int(str(value).strip())
    except ValueError:
        return None
