"""Fixtures for the counterparty domain tests: the shipped mapping, as a model and as editable data."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from crm1c.mapping.loader import DEFAULT_COUNTERPARTY_MAPPING, load_counterparty_mapping
from crm1c.mapping.schema import CounterpartyMapping


@pytest.fixture(scope="session")
def mapping() -> CounterpartyMapping:
    return load_counterparty_mapping()


@pytest.fixture
def mapping_data() -> dict[str, Any]:
    """The shipped YAML as a fresh dict, for tests that break one key."""
    return yaml.safe_load(DEFAULT_COUNTERPARTY_MAPPING.read_text(encoding="utf-8"))
