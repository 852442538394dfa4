"""The rollout modes and what each means for one run of an entity's sync (:class:`RunPolicy`).

=========== ============ ============ ======= =====================================================
mode        writes 1C    writes CRM   dry run  records
=========== ============ ============ ======= =====================================================
off         —            —            —       nothing runs (every task of the run is skipped)
shadow      no           no           yes     all: the full plan is computed and listed, not written
pilot       yes          yes          no      only those matching the pilot filter; the rest wait
read_only   no (queued)  yes          no      all: 1C → CRM only; writes to 1C wait in the outbox
review      yes          yes          no      all; 1C documents stay unposted, postings await approval
on          yes          yes          no      all
=========== ============ ============ ======= =====================================================
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any


class Mode(StrEnum):
    """An entity's rollout mode (stored in staging ``rollout_mode``; defaults in ``rollout.yaml``)."""

    OFF = "off"
    SHADOW = "shadow"
    PILOT = "pilot"
    READ_ONLY = "read_only"
    REVIEW = "review"
    ON = "on"


#: Mode → (writes 1C, writes CRM, dry run, posts documents).
_EFFECT = {
    Mode.OFF: (False, False, True, False),
    Mode.SHADOW: (False, False, True, False),
    Mode.PILOT: (True, True, False, True),
    Mode.READ_ONLY: (False, True, False, False),
    Mode.REVIEW: (True, True, False, False),
    Mode.ON: (True, True, False, True),
}

#: Mode → (English, Russian): what it means for this run.
_MEANING = {
    Mode.OFF: (
        "nothing runs: every task of this run is skipped",
        "ничего не выполняется: все задачи этого запуска пропущены",
    ),
    Mode.SHADOW: (
        "both systems are read and the full plan is computed, nothing is written; "
        "the plan step lists what would change",
        "обе системы читаются и план строится полностью, ничего не записывается; "
        "шаг plan перечисляет, что изменилось бы",
    ),
    Mode.PILOT: (
        "only records matching the pilot filter ({filter}) are synced; the rest wait until the entity is on",
        "синхронизируются только записи под фильтр пилота ({filter}); остальные ждут включения",
    ),
    Mode.READ_ONLY: (
        "1C → CRM only: the CRM is written, changes for 1C are planned and wait in the outbox "
        "until the entity is back on",
        "только 1С → CRM: CRM записывается, изменения для 1С планируются и ждут в очереди, "
        "пока сущность снова не включат",
    ),
    Mode.REVIEW: (
        "written as in on, but 1C documents stay unposted and postings await approval",
        "запись как во включённом режиме, но документы 1С не проводятся, проводки ждут утверждения",
    ),
    Mode.ON: ("synced both ways", "синхронизация в обе стороны"),
}
_NO_DOCUMENTS = (
    "; {entity} has no documents to post, so this run writes exactly as in on",
    "; у {entity} нет документов для проведения, поэтому запуск пишет так же, как во включённом режиме",
)
_DRY_RUN = (" (dry_run requested: nothing is written)", " (запрошен dry_run: ничего не записывается)")


@dataclass(frozen=True)
class RunPolicy:
    """What one run of ``entity`` may do under ``mode`` (``source``: where the mode came from)."""

    entity: str
    mode: Mode
    writes_onec: bool
    writes_crm: bool
    dry_run: bool
    post_documents: bool
    pilot_filter: dict[str, list[str]] | None = None
    source: str = ""
    posts_documents: bool = False  # whether the entity has documents at all (review's explanation)

    def writes(self, system: str) -> bool:
        """Whether this run writes to ``system`` (``"crm"`` | ``"onec"``)."""
        return self.writes_crm if system == "crm" else self.writes_onec

    def explain(self) -> tuple[str, str]:
        """One line each, English and Russian: the mode and what it means for this run."""
        lines = []
        for lang in (0, 1):
            text = _MEANING[self.mode][lang].format(filter=_shown(self.pilot_filter))
            if self.mode is Mode.REVIEW and not self.posts_documents:
                text += _NO_DOCUMENTS[lang].format(entity=self.entity)
            if self.dry_run and self.mode not in (Mode.OFF, Mode.SHADOW):
                text += _DRY_RUN[lang]
            lines.append(f"{self.entity}: mode {self.mode.value}: {text}")
        return lines[0], lines[1]

    def to_xcom(self) -> dict[str, Any]:
        return asdict(self) | {"mode": self.mode.value}

    @classmethod
    def from_xcom(cls, data: dict[str, Any]) -> RunPolicy:
        return cls(**{**data, "mode": Mode(data["mode"])})


def _shown(pilot_filter: dict[str, list[str]] | None) -> str:
    return "; ".join(f"{key} = {', '.join(values)}" for key, values in (pilot_filter or {}).items())


def policy_for(
    entity: str,
    mode: Mode | str,
    *,
    pilot_filter: dict[str, list[str]] | None = None,
    source: str = "",
    dry_run: bool = False,
    posts_documents: bool = False,
) -> RunPolicy:
    """The policy of a run of ``entity`` in ``mode``; ``dry_run`` (the run's own param) writes nothing in
    any mode. ``pilot_filter`` is kept for ``pilot`` only (required there)."""
    mode = Mode(mode)
    if mode is Mode.PILOT and not pilot_filter:
        raise ValueError(f"{entity}: mode pilot needs a pilot filter; set one with the rollout DAG")
    writes_onec, writes_crm, dry, post = _EFFECT[mode]
    dry = dry or dry_run
    return RunPolicy(
        entity=entity,
        mode=mode,
        writes_onec=writes_onec and not dry,
        writes_crm=writes_crm and not dry,
        dry_run=dry,
        post_documents=post and not dry,
        pilot_filter=pilot_filter if mode is Mode.PILOT else None,
        source=source,
        posts_documents=posts_documents,
    )
