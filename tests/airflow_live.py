"""Real Airflow for tests: api-server, scheduler and dag-processor as separate processes, driven by REST.

LocalExecutor, a SQLite metadata DB in a temporary ``AIRFLOW_HOME``, the simple auth manager with a generated
password, the api-server on 127.0.0.1 and an ephemeral port, DAGs unpaused at creation. Connections are passed
as ``AIRFLOW_CONN_*`` in ``env`` (see :func:`contour_connections`)::

    with LiveAirflow(tmp_path / "airflow", env=contour_connections(contour, staging_url)) as airflow:
        airflow.wait_for_dag("sync_counterparties")
        run_id = airflow.trigger("sync_counterparties", {"mode": "full"})
        assert airflow.wait("sync_counterparties", run_id, timeout=60)["state"] == "success"

Every component runs in its own session (process group); :meth:`LiveAirflow.stop` (also on ``__exit__``, so
on a failing test too) sends SIGTERM to each group, then SIGKILL to whatever of them is left, task processes
included.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests
import sqlalchemy as sa

from tests.contour_harness import BITRIX_TOKEN, BITRIX_USER, ONEC_PASSWORD, ONEC_USER, RunningContour

REPO = Path(__file__).resolve().parent.parent
AIRFLOW = Path(sys.executable).with_name("airflow")
COMPONENTS = ("api-server", "scheduler", "dag-processor")
HEALTH = {"scheduler": "scheduler", "dag-processor": "dag_processor"}  # component → its health entry
FINISHED = {"success", "failed"}
ADMIN = "admin"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def contour_connections(
    contour: RunningContour, staging_url: str, *, bitrix_token: str = BITRIX_TOKEN
) -> dict[str, str]:
    """``AIRFLOW_CONN_*`` for ``bitrix24_default``, ``onec_default`` (the contour, its CA trusted, no
    client-side rate limit) and ``crm1c_staging`` (a ``sqlite:///`` or ``postgresql://`` SQLAlchemy URL)."""
    ca = str(contour.ca_file)
    bitrix = {
        "conn_type": "http", "host": "127.0.0.1", "port": contour.bitrix_port, "schema": "https",
        "login": BITRIX_USER, "password": bitrix_token, "extra": {"ca_bundle": ca, "plan": "off"},
    }  # fmt: skip
    onec = {
        "conn_type": "http", "host": "127.0.0.1", "port": contour.onec_port, "schema": "https",
        "login": ONEC_USER, "password": ONEC_PASSWORD,
        "extra": {"base_path": "/accounting/odata/standard.odata/", "ca_bundle": ca},
    }  # fmt: skip
    return {
        "AIRFLOW_CONN_BITRIX24_DEFAULT": json.dumps(bitrix),
        "AIRFLOW_CONN_ONEC_DEFAULT": json.dumps(onec),
        "AIRFLOW_CONN_CRM1C_STAGING": json.dumps(staging_connection(staging_url)),
    }


def staging_connection(url: str) -> dict[str, Any]:
    """The ``crm1c_staging`` Connection (as a dict) for a SQLAlchemy URL."""
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return {"conn_type": "sqlite", "host": parsed.database}
    return {
        "conn_type": "postgres", "host": parsed.host, "port": parsed.port, "login": parsed.username,
        "password": parsed.password, "schema": parsed.database,
    }  # fmt: skip


class LiveAirflow:
    """Airflow's components started from this test process; REST helpers to drive them."""

    def __init__(
        self,
        home: Path,
        *,
        env: dict[str, str] | None = None,
        dags_folder: Path = REPO / "dags",
        scheduled_runs: bool = False,
        components: Iterable[str] = COMPONENTS,
    ) -> None:
        """:param scheduled_runs: False (default): the scheduler creates no run by itself, neither from a
            schedule nor from asset events (``[scheduler] use_job_schedule``); only triggered runs exist.
        :param components: which of :data:`COMPONENTS` to start (e.g. only ``("api-server",)`` for a
            test of the UI and REST API alone); healthy means every started one is."""
        self.home = home
        self.scheduled_runs = scheduled_runs
        self.components = tuple(components)
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.password = secrets.token_urlsafe(16)
        self.env = self._environment(dags_folder, env or {})
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self._token: str | None = None

    # -- lifecycle ----------------------------------------------------------------------------------

    def __enter__(self) -> LiveAirflow:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self, timeout: float = 90.0) -> None:
        """Migrate the metadata DB, start the components, wait until the API answers and both the scheduler
        and the dag-processor report healthy."""
        self.home.mkdir(parents=True, exist_ok=True)
        (self.home / "passwords.json").write_text(json.dumps({ADMIN: self.password}))
        self._run_cli(["db", "migrate"], timeout=timeout)
        for name in self.components:
            self._spawn(name)
        self._wait_healthy(timeout)

    def stop(self, grace: float = 10.0) -> None:
        """SIGTERM to every component's process group, SIGKILL after ``grace`` seconds to what is left."""
        tree = {pid for proc in self.procs.values() for pid in _descendants(proc.pid)}
        for proc in self.procs.values():
            _signal_group(proc, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for proc in self.procs.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        for proc in self.procs.values():
            _signal_group(proc, signal.SIGKILL)
            proc.wait(timeout=10)
        for pid, started in tree:  # a task process that left the group: only if it is still the same one
            if _start_time(pid) == started:
                os.kill(pid, signal.SIGKILL)
        self.procs.clear()

    # -- REST ------------------------------------------------------------------------------------------

    def api(self, method: str, path: str, json: Any = None, *, expect: Iterable[int] = (200,)) -> Any:
        """Call ``/api/v2`` + ``path`` as the admin; the decoded JSON answer."""
        headers = {"Authorization": f"Bearer {self._bearer()}"}
        url = f"{self.base_url}/api/v2{path}"
        resp = requests.request(method, url, json=json, timeout=30, headers=headers)
        if resp.status_code not in set(expect):
            raise AssertionError(f"{method} {path} → HTTP {resp.status_code}: {resp.text[:500]}")
        return resp.json() if resp.content else None

    def wait_for_dag(self, dag_id: str, timeout: float = 60.0) -> dict[str, Any]:
        """The DAG once the dag-processor has parsed and stored it; fails with the import errors if not."""
        deadline = time.monotonic() + timeout
        while True:
            dag = self.api("GET", f"/dags/{dag_id}", expect=(200, 404))
            if dag and dag.get("dag_id") == dag_id:
                return dict(dag)
            if time.monotonic() > deadline:
                errors = self.api("GET", "/importErrors")
                raise AssertionError(f"DAG {dag_id} not parsed within {timeout}s; import errors: {errors}")
            time.sleep(0.5)

    def trigger(self, dag_id: str, conf: dict[str, Any] | None = None) -> str:
        """Start a run now (``logical_date`` null); its run id."""
        body = {"logical_date": None, "conf": conf or {}}
        return str(self.api("POST", f"/dags/{dag_id}/dagRuns", body)["dag_run_id"])

    def wait(
        self, dag_id: str, run_id: str, timeout: float = 60.0, *, fail_fast: bool = False
    ) -> dict[str, Any]:
        """The run once it is ``success`` or ``failed``; fails with its task states after ``timeout`` s, or
        (``fail_fast``) as soon as a task fails or waits for a retry, with that task's log."""
        path = f"/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}"
        deadline = time.monotonic() + timeout
        while True:
            run = self.api("GET", path)
            if run["state"] in FINISHED:
                return dict(run)
            states = self.states(dag_id, run_id) if fail_fast or time.monotonic() > deadline else {}
            failed = [t for t, s in states.items() if s in ("failed", "up_for_retry", "upstream_failed")]
            if failed or time.monotonic() > deadline:
                logs = "\n".join(self.task_log(dag_id, run_id, t) for t in failed)
                raise AssertionError(f"{dag_id} {run_id} is {run['state']}: {states}\n{logs}")
            time.sleep(0.5)

    def runs(self, dag_id: str) -> list[dict[str, Any]]:
        """Every run of ``dag_id``, oldest first."""
        return list(self.api("GET", f"/dags/{dag_id}/dagRuns?order_by=run_after")["dag_runs"])

    def states(self, dag_id: str, run_id: str) -> dict[str, str | None]:
        """``task_id → state`` of a run."""
        found = self.api("GET", f"/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}/taskInstances")
        return {ti["task_id"]: ti["state"] for ti in found["task_instances"]}

    def task_log(self, dag_id: str, run_id: str, task_id: str, tail: int = 60) -> str:
        """The end of the latest try's log of a task (read from this AIRFLOW_HOME's log folder)."""
        folder = self.home / "logs" / f"dag_id={dag_id}" / f"run_id={run_id}" / f"task_id={task_id}"
        tries = sorted(folder.glob("attempt=*.log"), key=lambda p: int(p.stem.split("=")[1]))
        if not tries:
            return f"--- {task_id}: no log ---"
        lines = tries[-1].read_text(errors="replace").splitlines()[-tail:]
        return f"--- {task_id} {tries[-1].name} ---\n" + "\n".join(lines)

    def pause(self, dag_id: str, paused: bool) -> dict[str, Any]:
        return dict(self.api("PATCH", f"/dags/{dag_id}", {"is_paused": paused}))

    def logs(self, tail: int = 40) -> str:
        """The last lines of each component's output (for a failing test's report)."""
        parts = []
        for name in self.components:
            lines = (self.home / f"{name}.log").read_text(errors="replace").splitlines()[-tail:]
            parts.append(f"--- {name} ---\n" + "\n".join(lines))
        return "\n".join(parts)

    # -- internals -----------------------------------------------------------------------------------

    def _environment(self, dags_folder: Path, extra: dict[str, str]) -> dict[str, str]:
        own = ("AIRFLOW", "CONTOUR_", "CRM1C_")
        inherited = {k: v for k, v in os.environ.items() if not k.startswith(own)}
        return {
            **inherited,
            "PYTHONPATH": os.pathsep.join([str(REPO / "plugins"), str(REPO)]),
            "AIRFLOW_HOME": str(self.home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags_folder),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": "2",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{self.home / 'airflow.db'}",
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(64),
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(self.port),
            "AIRFLOW__API__BASE_URL": self.base_url + "/",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.base_url}/execution/",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ADMIN}:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(self.home / "passwords.json"),
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": str(self.scheduled_runs),
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
            **extra,
        }

    def _run_cli(self, args: list[str], timeout: float) -> None:
        log = self.home / f"{args[0]}.log"
        with open(log, "wb") as out:
            code = subprocess.call(
                [str(AIRFLOW), *args], env=self.env, cwd=self.home, stdout=out, stderr=subprocess.STDOUT,
                timeout=timeout,
            )  # fmt: skip
        if code != 0:
            raise AssertionError(f"airflow {' '.join(args)} failed ({code}):\n{log.read_text()}")

    def _spawn(self, name: str) -> None:
        with open(self.home / f"{name}.log", "wb") as out:
            self.procs[name] = subprocess.Popen(
                [str(AIRFLOW), name], env=self.env, cwd=self.home, stdout=out, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True,
            )  # fmt: skip

    def _wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        health: Any = None
        while time.monotonic() < deadline:
            for name, proc in self.procs.items():
                if proc.poll() is not None:
                    raise AssertionError(f"{name} exited with {proc.returncode}:\n{self.logs()}")
            try:
                health = requests.get(self.base_url + "/api/v2/monitor/health", timeout=30).json()
            except (requests.RequestException, ValueError):
                health = None
            parts = [HEALTH[name] for name in self.components if name in HEALTH]
            if health and all((health.get(part) or {}).get("status") == "healthy" for part in parts):
                return
            time.sleep(0.5)
        raise AssertionError(f"Airflow not healthy within {timeout}s ({health}):\n{self.logs()}")

    def _bearer(self) -> str:
        if self._token is None:
            resp = requests.post(
                self.base_url + "/auth/token", json={"username": ADMIN, "password": self.password}, timeout=30
            )
            if resp.status_code != 201:
                raise AssertionError(f"POST /auth/token → HTTP {resp.status_code}: {resp.text[:300]}")
            self._token = str(resp.json()["access_token"])
        return self._token


def _signal_group(proc: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)  # start_new_session: the group id is the component's pid


def _start_time(pid: int) -> str | None:
    """Field 22 of /proc/<pid>/stat (start time): tells a process from a later one reusing its pid."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def _descendants(root: int) -> set[tuple[int, str]]:
    """``(pid, start time)`` of every live descendant of ``root``."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found: set[tuple[int, str]] = set()
    todo = list(children.get(root, []))
    while todo:
        pid = todo.pop()
        started = _start_time(pid)
        if started is not None:
            found.add((pid, started))
            todo += children.get(pid, [])
    return found
