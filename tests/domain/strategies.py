"""Hypothesis strategies for counterparties, including the hostile inputs of reliability.md F12/F13."""

from __future__ import annotations

import os
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st

from crm1c.domain.counterparty import KINDS, Counterparty, Kind, Side
from crm1c.mapping.schema import CounterpartyMapping

#: No per-example deadline: CI machines are shared and a slow example is not a failure.
#: ``CRM1C_PROPERTY_EXAMPLES`` raises every property test to that many examples (``make test-deep``).
_DEEP = int(os.environ.get("CRM1C_PROPERTY_EXAMPLES", "0"))
THOROUGH = settings(deadline=None, max_examples=max(300, _DEEP))
QUICK = settings(deadline=None, max_examples=max(100, _DEEP))

NASTY_TEXT = [
    'ООО "Ромашка"',
    "O'Brien",
    "' or 1 eq 1 or '",
    "'alice' or 1 eq 1 or ''",
    "Ёлки-палки ёжик",
    "ИП\u00a0Пётр\u00a0Иванов",
    "Кофейня ☕ «Бодрость» 👨\u200d👩\u200d👧",
    "e\u0301clair",  # combining acute: NFC turns it into one character
    "  пробелы \t и\nпереводы  строк  ",
    "Ж" * 600,
    "😀" * 60,
    "%_[]^*?",
    "crm1c:company:7",
]
texts = st.one_of(st.none(), st.sampled_from(NASTY_TEXT), st.text(max_size=650))
inns = st.one_of(
    st.none(),
    st.sampled_from(["7707083893", "500100732259", "7707083894", "0000000000", "77070838", "77O7083893"]),
    st.text(alphabet="0123456789", min_size=1, max_size=13),
)
guids = st.uuids().map(str)
crm_ids = st.integers(min_value=1, max_value=10**12).map(str)


@st.composite
def counterparties(draw: st.DrawFn, kinds: tuple[Kind, ...] = KINDS) -> Counterparty:
    """Any counterparty, valid or not (codecs must carry invalid values unchanged)."""
    kind = draw(st.sampled_from(kinds))
    values: dict[str, Any] = {
        name: draw(texts) for name in ("name", "full_name", "okpo", "phone", "email", "comment", "head_kpp")
    }
    values |= {
        "inn": draw(inns),
        "kpp": draw(st.one_of(st.none(), st.sampled_from(["770701001", "7707AB001"]))),
    }
    values |= {"head_inn": draw(inns), "head_ref": draw(st.one_of(st.none(), guids))}
    values |= {"crm_id": draw(st.one_of(st.none(), crm_ids)), "onec_ref": draw(st.one_of(st.none(), guids))}
    return Counterparty(kind=kind, deleted=draw(st.booleans()), **values)


def held_by(cp: Counterparty, side: Side, mapping: CounterpartyMapping) -> Counterparty:
    """``cp`` with only what ``side`` can hold (what a round trip through that system can keep)."""
    update: dict[str, Any] = {}
    for name, spec in mapping.fields.items():
        held = bool(spec.crm_paths(cp.kind)) if side == "crm" else spec.onec is not None
        if not held:
            update[name] = None
    branch = cp.kind == "branch"
    if side == "crm":
        update |= {
            "deleted": False,
            "head_kpp": None,
            "head_ref": None,
            "head_inn": cp.inn if branch else None,
        }
    elif not branch:
        update |= {"head_inn": None, "head_kpp": None, "head_ref": None}
    return cp.model_copy(update=update)
