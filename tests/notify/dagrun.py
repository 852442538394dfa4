"""Run a DAG defined inside a test module with ``dag.test()``.

``dag.test()`` only finds DAGs that a DAG bundle (the dags folder) holds, so a DAG built in a test is first
written to the metadata DB the way the dag-processor would write it (into the configured bundle).
"""

from __future__ import annotations

from typing import Any


def run_inline_dag(dag: Any) -> Any:
    """Serialize ``dag`` into the metadata DB, then ``dag.test()``; returns the DagRun."""
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.dag_processing.collection import update_dag_parsing_results_in_db
    from airflow.serialization.serialized_objects import LazyDeserializedDAG
    from airflow.utils.session import create_session

    manager = DagBundlesManager()
    manager.sync_bundles_to_db()
    bundle = next(iter(manager.get_all_dag_bundles()))
    with create_session() as session:
        update_dag_parsing_results_in_db(
            bundle.name, None, [LazyDeserializedDAG.from_dag(dag)], {}, None, set(), session=session
        )
    return dag.test()
