"""Field descriptions as data: a tiny line format, input coercion and the two output styles.

A schema line is ``NAME type [flags] [| Title]``; flags: ``req`` ``ro`` ``imm`` ``multi`` ``money``
``hidden`` ``col=<sql column>`` ``status=<ENTITY_ID>`` ``src=<storage key>``. Classic methods print every
scalar as a string; ``crm.item.*`` and ``catalog.*`` print typed JSON.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from contour.bitrix import values as v

_INT_TYPES = {
    "integer",
    "user",
    "crm_company",
    "crm_contact",
    "crm_lead",
    "crm_quote",
    "crm_category",
    "crm_entity",
    "catalog_section",
    "catalog_measure",
    "catalog_vat",
    "product_property",
}
_KINDS = {
    "double": "float",
    "char": "yn",
    "boolean": "yn",
    "datetime": "datetime",
    "date": "date",
    "crm_multifield": "multifield",
    "object": "any",
    "file": "any",
}


@dataclass(frozen=True)
class Field:
    name: str
    type: str
    title: str = ""
    required: bool = False
    readonly: bool = False
    immutable: bool = False
    multiple: bool = False
    money: bool = False
    hidden: bool = False
    column: str | None = None
    status_type: str | None = None
    src: str | None = None  # storage key when the API name differs (catalog.product views crm.product rows)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        base = "int" if self.type in _INT_TYPES else _KINDS.get(self.type, "str")
        return "intlist" if self.multiple and base == "int" else base

    @property
    def key(self) -> str:
        return self.src or self.name

    @property
    def sql(self) -> str:
        """SQL expression that reads this field from its table."""
        return self.column or f"json_extract(data, '$.\"{self.key}\"')"

    def describe(self, upper_name: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": self.type,
            "isRequired": self.required,
            "isReadOnly": self.readonly,
            "isImmutable": self.immutable,
            "isMultiple": self.multiple,
            "isDynamic": False,
        }
        if self.status_type:
            out["statusType"] = self.status_type
        out["title"] = self.title or self.name
        if upper_name:
            out["upperName"] = upper(self.name)
        return out | self.extra


class Schema:
    """An ordered set of fields with case-insensitive lookup (``stageId`` = ``STAGE_ID`` = ``stageid``)."""

    def __init__(self, text: str):
        self.fields: dict[str, Field] = {}
        for line in text.strip().splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                f = parse_line(line)
                self.fields[f.name] = f
        self._lookup = {_fold(name): f for name, f in self.fields.items()}

    def get(self, name: str) -> Field | None:
        return self.fields.get(name) or self._lookup.get(_fold(name))

    def public(self) -> list[Field]:
        return [f for f in self.fields.values() if not f.hidden]

    def columns(self) -> dict[str, str]:
        return {f.name: f.column for f in self.fields.values() if f.column}


def _fold(name: str) -> str:
    return name.replace("_", "").lower()


def upper(camel: str) -> str:
    """``stageId`` -> ``STAGE_ID``, ``parentId2`` -> ``PARENT_ID_2``."""
    text = re.sub(r"(?<=[a-z])(?=[A-Z])", "_", camel)
    return re.sub(r"(?<=[A-Za-z])(?=\d)", "_", text).upper()


def parse_line(line: str) -> Field:
    spec, _, title = line.partition("|")
    name, ftype, *flags = spec.split()
    opts: dict[str, Any] = {"title": title.strip()}
    names = {
        "req": "required",
        "ro": "readonly",
        "imm": "immutable",
        "multi": "multiple",
        "money": "money",
        "hidden": "hidden",
    }
    for flag in flags:
        key, _, value = flag.partition("=")
        if key == "col":
            opts["column"] = value
        elif key == "src":
            opts["src"] = value
        elif key == "status":
            opts["status_type"] = value
        else:
            opts[names[key]] = True
    return Field(name, ftype, **opts)


def coerce(f: Field, value: Any) -> Any:
    """A client's value as stored: ints, floats, Y/N, µs for datetimes, ISO dates, lists for multiples."""
    kind = f.kind
    if kind == "intlist":
        items = (
            value if isinstance(value, list) else list(value.values()) if isinstance(value, dict) else [value]
        )
        return [i for i in (v.to_int(x) for x in items) if i is not None]
    if isinstance(value, list | dict) and kind not in ("multifield", "any"):
        value = next(iter(value.values() if isinstance(value, dict) else value), None)
    if kind == "int":
        return v.to_int(value)
    if kind == "float":
        return v.to_float(value)
    if kind == "yn":
        return None if value is None or value == "" else v.yn(value)
    if kind == "datetime":
        return v.parse_datetime(value)
    if kind == "date":
        return v.parse_date(value)
    if kind in ("multifield", "any"):
        return value
    return None if value is None else value if isinstance(value, str) else _scalar_str(value)


def _scalar_str(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return v.float_str(value) or ""
    return str(value)


def classic_out(f: Field, value: Any) -> Any:
    """A stored value as a classic method prints it (strings, Y/N, ISO datetimes)."""
    if value is None:
        return None
    kind = f.kind
    if kind == "int":
        return str(value)
    if kind == "float":
        return v.money_str(value) if f.money else v.float_str(value)
    if kind == "datetime":
        return v.iso(value)
    if kind == "date":
        return v.iso_date(value)
    if kind == "intlist":
        return [str(x) for x in value]
    if kind == "multifield":
        return [{**m, "ID": str(m.get("ID"))} for m in value]
    return value


def typed_out(f: Field, value: Any) -> Any:
    """A stored value as ``crm.item.*``/``catalog.*`` print it (typed JSON)."""
    if value is None:
        return [] if f.kind == "intlist" else None
    kind = f.kind
    if kind == "float":
        return v.num(value)
    if kind == "datetime":
        return v.iso(value)
    if kind == "date":
        return v.iso_date(value)
    return value


def uf_coerce(value: Any) -> Any:
    """User fields (``UF_CRM_*``) are kept as strings (lists of strings when multiple)."""
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list):
        return [x if isinstance(x, str) else _scalar_str(x) for x in value if x is not None]
    return None if value is None else value if isinstance(value, str) else _scalar_str(value)


def uf_typed(user_type: str, multiple: bool, value: Any) -> Any:
    """A value of a defined user field as a portal stores and prints it: ``double`` a number, ``boolean``
    ``Y``/``N``, ``date`` midnight (the time dropped), ``datetime`` ISO, ``money`` ``"300|RUB"``,
    ``enumeration`` the item ID; a list when multiple."""
    if multiple:
        items = (
            value if isinstance(value, list) else list(value.values()) if isinstance(value, dict) else [value]
        )
        return [x for x in (uf_typed(user_type, False, i) for i in items) if x is not None]
    if isinstance(value, list | dict):
        value = next(iter(value.values() if isinstance(value, dict) else value), None)
    if value is None or value == "":
        return None
    if user_type == "double":
        return v.num(v.to_float(value))
    if user_type == "boolean":
        return v.yn(value)
    if user_type == "date":
        return v.iso_date(v.parse_date(value))
    if user_type == "datetime":
        return v.iso(v.parse_datetime(value))
    if user_type == "money":
        text = str(value) if isinstance(value, str) else _scalar_str(value)
        return text if "|" in text else f"{text}|RUB"
    if user_type == "enumeration":
        item = v.to_int(value)
        return None if item is None else str(item)
    return uf_coerce(value)
