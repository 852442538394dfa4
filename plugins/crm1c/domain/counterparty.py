"""The canonical counterparty (контрагент), its identity key, content hash and validation."""

from __future__ import annotations

from collections.abc import Set
from typing import Any, Literal, Protocol, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator

from crm1c import hashing
from crm1c.domain.issues import Issue, preview
from crm1c.domain.requisites import validate_inn, validate_kpp
from crm1c.domain.text import control_chars, normalize_line, normalize_multiline, utf16_len

Kind = Literal["legal", "ip", "person", "branch"]
Side = Literal["crm", "onec"]
KINDS: tuple[Kind, ...] = get_args(Kind)

LINE_FIELDS = ("name", "full_name", "inn", "kpp", "head_inn", "head_kpp", "okpo", "phone", "email")
TEXT_FIELDS = (*LINE_FIELDS, "comment")
#: Fields whose values the sync carries between the systems (ids and references excluded).
SYNCED_FIELDS = ("kind", *TEXT_FIELDS, "deleted")
#: Where each record lives: CRM company ID, 1C ``Ref_Key``, and the 1C ``Ref_Key`` of a branch's head.
LINK_FIELDS = ("crm_id", "onec_ref", "head_ref")

FIELD_TITLES: dict[str, tuple[str, str]] = {
    "kind": ("Вид контрагента", "kind"),
    "name": ("Наименование", "Name"),
    "full_name": ("Полное наименование", "Full name"),
    "inn": ("ИНН", "INN"),
    "kpp": ("КПП", "KPP"),
    "head_inn": ("ИНН головной организации", "Head INN"),
    "head_kpp": ("КПП головной организации", "Head KPP"),
    "head_ref": ("Головной контрагент", "Head counterparty"),
    "okpo": ("Код по ОКПО", "OKPO"),
    "phone": ("Телефон", "Phone"),
    "email": ("E-mail", "E-mail"),
    "comment": ("Комментарий", "Comment"),
}
_KIND_RU = {
    "legal": "организации",
    "ip": "ИП",
    "person": "физического лица",
    "branch": "обособленного подразделения",
}
_KIND_EN = {"legal": "an organisation", "ip": "a sole proprietor", "person": "a person", "branch": "a branch"}
_INN_DIGITS = {"legal": 10, "branch": 10, "ip": 12, "person": 12}
_GUID = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"


def _as_text(value: Any) -> Any:
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


class Counterparty(BaseModel):
    """A counterparty as both systems should agree on it. Text is normalised on construction, never cut.

    ``kpp`` is None for ИП and persons; a branch has the head's ИНН and its own КПП, its head given by
    ``head_ref`` (1C ``Ref_Key``) and/or ``head_inn``/``head_kpp``. ``deleted`` marks a tombstone.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Kind
    name: str | None = None
    full_name: str | None = None
    inn: str | None = None
    kpp: str | None = None
    head_inn: str | None = None
    head_kpp: str | None = None
    okpo: str | None = None
    phone: str | None = None
    email: str | None = None
    comment: str | None = None
    deleted: bool = False
    crm_id: str | None = Field(default=None, pattern=r"^[1-9][0-9]*$")
    onec_ref: str | None = Field(default=None, pattern=_GUID)
    head_ref: str | None = Field(default=None, pattern=_GUID)

    @field_validator("crm_id", mode="before")
    @classmethod
    def _id(cls, value: Any) -> Any:
        return _as_text(value)

    @field_validator(*LINE_FIELDS, mode="before")
    @classmethod
    def _line(cls, value: Any) -> Any:
        value = _as_text(value)
        return normalize_line(value) if isinstance(value, str) else value

    @field_validator("comment", mode="before")
    @classmethod
    def _multiline(cls, value: Any) -> Any:
        value = _as_text(value)
        return normalize_multiline(value) if isinstance(value, str) else value


def tombstone(cp: Counterparty) -> Counterparty:
    """``cp`` marked deleted (the values stay, for the record)."""
    return cp.model_copy(update={"deleted": True})


def identity_key(cp: Counterparty) -> str | None:
    """Matching key: ``inn:<ИНН>/kpp:<КПП>`` for organisations and branches, ``inn:<ИНН>`` for ИП/persons."""
    if cp.inn is None:
        return None
    if cp.kind in ("legal", "branch"):
        return f"inn:{cp.inn}/kpp:{cp.kpp}" if cp.kpp is not None else None
    return f"inn:{cp.inn}"


def synced_values(cp: Counterparty) -> dict[str, Any]:
    """The values the sync carries, by canonical field name."""
    return {name: getattr(cp, name) for name in SYNCED_FIELDS}


def content_hash(cp: Counterparty) -> str:
    """sha256 of the canonical JSON of :data:`SYNCED_FIELDS` ."""
    return hashing.content_hash(synced_values(cp))


class FieldLimits(Protocol):
    """What :func:`validate` reads of one field's map: the kinds that need it, its length limit."""

    @property
    def required(self) -> Set[str]: ...

    @property
    def max_length(self) -> int | None: ...


class FieldLimitsLookup(Protocol):
    """A mapping as :func:`validate` reads it (see :class:`crm1c.domain.rules.CounterpartyRules`)."""

    def field_map(self, name: str) -> FieldLimits | None: ...


def validate(cp: Counterparty, mapping: FieldLimitsLookup) -> list[Issue]:
    """Everything wrong with ``cp`` before it may be written; a tombstone needs no checks.

    Legal-form rules (ИНН/КПП by kind, a branch's head) come first; then, for fields not already
    flagged, control characters, the mapping's required fields and its length limits.
    """
    if cp.deleted:
        return []
    issues = _kind_issues(cp)
    for name in TEXT_FIELDS:
        if not any(i.field == name for i in issues):
            issues += _field_issues(cp, name, mapping)
    return issues


def _field_issues(cp: Counterparty, name: str, mapping: FieldLimitsLookup) -> list[Issue]:
    value: str | None = getattr(cp, name)
    spec = mapping.field_map(name)
    ru, en = FIELD_TITLES[name]
    if value is None:
        if spec is not None and cp.kind in spec.required:
            return [Issue(name, "required", f"Не заполнено поле «{ru}»", f"{en} is empty")]
        return []
    if bad := control_chars(value):
        codes = ", ".join(f"U+{ord(c):04X}" for c in bad)
        return [
            Issue(
                name,
                "control_char",
                f"{ru}: недопустимые символы {codes}",
                f"{en}: control characters {codes}",
            )
        ]
    limit = spec.max_length if spec is not None else None
    if limit is not None and (size := utf16_len(value)) > limit:
        shown = preview(value, 30)
        return [
            Issue(
                name,
                "too_long",
                f"{ru} длиннее {limit} символов ({size}): «{shown}» — сократите, обрезать сами мы не будем",
                f"{en} is longer than {limit} characters ({size}): '{shown}' — shorten it; it is never cut",
            )
        ]
    return []


def _kind_issues(cp: Counterparty) -> list[Issue]:
    ru, en = _KIND_RU[cp.kind], _KIND_EN[cp.kind]
    issues: list[Issue] = []
    if cp.inn is not None:
        found = validate_inn(cp.inn)
        digits = _INN_DIGITS[cp.kind]
        if not found and len(cp.inn) != digits:
            found = [
                Issue(
                    "inn",
                    "inn_kind",
                    f"ИНН {cp.inn}: у {ru} ИНН из {digits} цифр",
                    f"INN {cp.inn}: {en} has a {digits}-digit INN",
                )
            ]
        issues += found
    needs_kpp = cp.kind in ("legal", "branch")
    if cp.kpp is None and needs_kpp:
        issues.append(
            Issue(
                "kpp", "kpp_required", f"Не указан КПП: у {ru} он обязателен", f"KPP missing: {en} needs one"
            )
        )
    elif cp.kpp is not None and not needs_kpp:
        kpp = preview(cp.kpp)
        issues.append(
            Issue("kpp", "kpp_forbidden", f"КПП {kpp}: у {ru} КПП не бывает", f"KPP {kpp}: {en} has no KPP")
        )
    elif cp.kpp is not None:
        issues += validate_kpp(cp.kpp)
    if cp.kind == "branch":
        issues += _head_issues(cp)
    return issues


def _head_issues(cp: Counterparty) -> list[Issue]:
    if cp.head_ref is None and cp.head_inn is None:
        return [
            Issue(
                "head_ref",
                "head_required",
                "Не указана головная организация обособленного подразделения",
                "The branch has no head organisation",
            )
        ]
    issues = []
    if cp.head_inn is not None and cp.inn is not None and cp.head_inn != cp.inn:
        issues.append(
            Issue(
                "head_inn",
                "head_inn_mismatch",
                f"ИНН головной организации {preview(cp.head_inn)} не совпадает"
                f" с ИНН подразделения {preview(cp.inn)}",
                f"Head INN {preview(cp.head_inn)} differs from the branch INN {preview(cp.inn)}",
            )
        )
    if cp.head_kpp is not None and cp.head_kpp == cp.kpp:
        issues.append(
            Issue(
                "kpp",
                "head_kpp_same",
                f"КПП {preview(cp.head_kpp)} совпадает с КПП головной организации: у подразделения свой КПП",
                f"KPP {preview(cp.head_kpp)} equals the head's KPP: a branch has its own",
            )
        )
    return issues
