"""Each entity's mode on a fresh installation: ``include/mappings/rollout.yaml``, validated.

``defaults`` maps entity names (as in DAG ids) to modes, ``"*"`` standing for every entity not listed (an
entity in neither is ``off``: a new entity never starts writing by itself). A profile under ``profiles``
replaces the whole table; ``CRM1C_ROLLOUT_PROFILE`` chooses one (e.g. ``demo``). A mode set from the UI
(the ``rollout`` DAG, kept in staging) always wins over these defaults. A problem raises
:class:`RolloutConfigError` naming the file and the key, e.g.
``include/mappings/rollout.yaml: defaults.counterparty: unknown entity; known: counterparties``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, PrivateAttr

from crm1c import datafile
from crm1c.rollout.modes import Mode

DEFAULT_ROLLOUT_FILE = datafile.MAPPINGS_DIR / "rollout.yaml"
PROFILE_ENV = "CRM1C_ROLLOUT_PROFILE"
ALL = "*"


class RolloutConfigError(datafile.DataFileError):
    """A rollout file that cannot be used; the message has one ``<file>: <key>: <problem>`` line each."""


def _known_entity(name: str) -> str:
    from crm1c.sync.entities import ENTITY_NAMES

    if name != ALL and name not in ENTITY_NAMES:
        raise ValueError(f"unknown entity; known: {', '.join(ENTITY_NAMES)} (or {ALL} for the others)")
    return name


def _yaml_mode(value: Any) -> Any:
    """YAML reads a bare ``on``/``off`` as true/false: take them as the modes they spell."""
    if isinstance(value, bool):
        return Mode.ON if value else Mode.OFF
    return value


def _no_pilot(mode: Mode) -> Mode:
    if mode is Mode.PILOT:
        raise ValueError("pilot needs a filter of records: start a pilot from the rollout DAG instead")
    return mode


Entity = Annotated[str, AfterValidator(_known_entity)]
DefaultMode = Annotated[Mode, BeforeValidator(_yaml_mode), AfterValidator(_no_pilot)]
Table = dict[Entity, DefaultMode]


class RolloutDefaults(BaseModel):
    """The default table and the named profiles (each a whole table of its own)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    defaults: Table = {}
    profiles: dict[str, Table] = {}
    _source: str = PrivateAttr(datafile.display(DEFAULT_ROLLOUT_FILE))

    @property
    def source(self) -> str:
        """The file the table was read from, as messages name it."""
        return self._source

    def mode(self, entity: str, profile: str | None = None) -> Mode:
        """``entity``'s default mode under ``profile`` (None: the ``defaults`` table)."""
        if profile and profile not in self.profiles:
            known = ", ".join(self.profiles) or "none"
            raise RolloutConfigError(self.source, [f"profiles: no profile {profile!r} (known: {known})"])
        table = self.profiles[profile] if profile else self.defaults
        return table.get(entity, table.get(ALL, Mode.OFF))


def load_rollout_defaults(path: str | Path = DEFAULT_ROLLOUT_FILE) -> RolloutDefaults:
    """Read and validate the rollout file."""
    loaded = datafile.load(path, RolloutDefaults, RolloutConfigError)
    loaded._source = datafile.display(Path(path))
    return loaded


def active_profile() -> str | None:
    """The profile ``CRM1C_ROLLOUT_PROFILE`` names, or None (the ``defaults`` table)."""
    return os.environ.get(PROFILE_ENV, "").strip() or None
