"""Stand-ins for the 1C client and the Airflow REST API, recording what the switch asked of them."""

from __future__ import annotations

from typing import Any

from crm1c.clients.errors import NotFound, PreconditionFailed


class FakeOneC:
    """1C objects by Ref_Key; ``stale``: how many marks of a Ref_Key answer 412 before one succeeds;
    ``refuse``: Ref_Key → the error its mark raises."""

    def __init__(self, objects: dict[str, dict[str, Any]]) -> None:
        self.objects = objects
        self.stale: dict[str, int] = {}
        self.refuse: dict[str, Exception] = {}
        self.marks: list[tuple[str, str, str]] = []  # (entity set, Ref_Key, If-Match)
        self.closed = False

    def get(self, entity_set: str, ref: str, select: list[str] | None = None) -> dict[str, Any]:
        if ref not in self.objects:
            raise NotFound(f"{entity_set}({ref}) not found", system="onec", status=404)
        return dict(self.objects[ref])

    def mark_deleted(self, entity_set: str, ref: str, data_version: str) -> dict[str, Any]:
        if ref in self.refuse:
            raise self.refuse[ref]
        if self.stale.get(ref):
            self.stale[ref] -= 1
            self.objects[ref]["DataVersion"] += "'"
            raise PreconditionFailed("stale DataVersion", system="onec", status=412)
        assert data_version == self.objects[ref]["DataVersion"], "If-Match is the version just read"
        self.marks.append((entity_set, ref, data_version))
        self.objects[ref]["DeletionMark"] = True
        return self.objects[ref]

    def close(self) -> None:
        self.closed = True


class FakeDags:
    """The Airflow REST API of :class:`crm1c.rollback.switch.DagControl`: paused flags and triggered runs."""

    def __init__(self, *dag_ids: str) -> None:
        self.paused = dict.fromkeys(dag_ids, False)
        self.running: dict[str, list[list[str]]] = {}  # dag → answers of running_runs, in turn
        self.triggered: dict[str, list[str]] = {d: [] for d in dag_ids}

    def is_paused(self, dag_id: str) -> bool:
        return self.paused[dag_id]

    def set_paused(self, dag_id: str, paused: bool) -> None:
        self.paused[dag_id] = paused

    def running_runs(self, dag_id: str) -> list[str]:
        answers = self.running.get(dag_id) or [[]]
        return answers.pop(0) if len(answers) > 1 else answers[0]

    def trigger(self, dag_id: str, run_id: str, note: str) -> str:
        if run_id not in self.triggered[dag_id]:
            self.triggered[dag_id].append(run_id)
        return run_id
