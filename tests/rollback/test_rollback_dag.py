"""The rollback_switch DAG as Airflow parses it: manual, two tasks, a form that refuses bad values, and a
rollback that stops before changing anything when its parameters do not fit together."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.airflow


def test_parsed_as_a_manual_dag_of_two_tasks(bag):
    assert not [path for path in bag.import_errors if "rollback_switch" in path]
    dag = bag.dags["rollback_switch"]
    assert dag.schedule is None and {t.task_id for t in dag.tasks} == {"rollback", "resume"}
    from crm1c.sync.entities import ENTITY_NAMES

    assert dag.params.dump() == {
        "action": "rollback", "entities": list(ENTITY_NAMES), "target_mode": "read_only", "since": None,
        "compensate": False,
    }  # fmt: skip


@pytest.mark.parametrize(
    "conf", [{"entities": ["deals"]}, {"entities": []}, {"target_mode": "on"}, {"action": "undo"}]
)
def test_the_form_refuses_bad_values(bag, conf):
    from airflow.sdk.exceptions import ParamValidationError

    [(name, value)] = conf.items()
    with pytest.raises(ParamValidationError):
        bag.dags["rollback_switch"].params.get_param(name).resolve(value)


def test_compensation_without_since_changes_nothing(
    bag, airflow_db, alert_connections, tmp_path, monkeypatch
):
    from airflow.utils.state import TaskInstanceState

    staging = tmp_path / "staging.sqlite3"
    monkeypatch.setenv("AIRFLOW_CONN_CRM1C_STAGING", f'{{"conn_type": "sqlite", "host": "{staging}"}}')
    monkeypatch.setenv("AIRFLOW_CONN_AIRFLOW_API", '{"conn_type": "http", "host": "127.0.0.1", "port": 9}')
    run = bag.dags["rollback_switch"].test(run_conf={"compensate": True})
    states = {ti.task_id: ti.state for ti in run.get_task_instances()}
    assert states == {"rollback": TaskInstanceState.FAILED, "resume": TaskInstanceState.SKIPPED}
    assert not staging.exists(), "staging was not even opened"
    smtp, _ = alert_connections
    [mail] = smtp.inbox.wait_for(1)
    assert "rollback_switch.rollback failed" in mail["Subject"]
