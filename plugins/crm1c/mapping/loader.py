"""Load ``include/mappings/counterparties.yaml`` into a validated :class:`CounterpartyMapping`.

Every problem raises :class:`MappingError` naming the file, the key path and what is wrong, e.g.
``include/mappings/counterparties.yaml: fields.inn.onec: unknown 1C attribute 'ИНH'``.
"""

from __future__ import annotations

from pathlib import Path

from crm1c import datafile
from crm1c.mapping.schema import CounterpartyMapping

DEFAULT_COUNTERPARTY_MAPPING = datafile.MAPPINGS_DIR / "counterparties.yaml"


class MappingError(datafile.DataFileError):
    """A mapping file that cannot be used; ``problems`` lists ``"<key path>: <what>"`` lines."""


def load_counterparty_mapping(path: str | Path = DEFAULT_COUNTERPARTY_MAPPING) -> CounterpartyMapping:
    """Read and validate the counterparty mapping (call it at task start, not at DAG parse time)."""
    return datafile.load(path, CounterpartyMapping, MappingError)


def parse_counterparty_mapping(text: str, source: str = "<text>") -> CounterpartyMapping:
    """Validate mapping YAML given as text; ``source`` names it in error messages."""
    return datafile.parse(text, CounterpartyMapping, source, MappingError)
