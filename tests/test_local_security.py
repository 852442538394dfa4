"""The local set-up (`make up`) is closed to the network and has no well-known login.

* ``scripts/airflow-env.sh``: every Airflow component listens on 127.0.0.1 unless ``CRM1C_LISTEN`` (or an
  exported ``AIRFLOW__*`` value) says otherwise; the admin password is generated once, into a 0600 file.
* The live test starts api-server, scheduler, dag-processor and triggerer the way ``make up`` does (through
  ``./airflow.sh``, each in its own session) in a temporary ``AIRFLOW_HOME`` on free ports, then asserts what
  listens where: every TCP socket in LISTEN state held by those processes or their children is on 127.0.0.1.
* The contour's emulators (``python -m contour serve``) listen on 127.0.0.1 too.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
import requests

from tests.airflow_live import free_port

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "scripts" / "airflow-env.sh"
COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")
LOOPBACK = "127.0.0.1"
EVERYWHERE = "0.0.0.0"  # noqa: S104 - what CRM1C_LISTEN opens


def _clean_env(**values: str) -> dict[str, str]:
    """The caller's environment without anything Airflow-, contour- or crm1c-related, plus ``values``."""
    own = ("AIRFLOW", "CONTOUR_", "CRM1C_")
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(own) and k not in ("PYTHONPATH", "BASH_ENV", "ENV")
    }
    env.update(values)
    return env


def _source(home: Path, *names: str, **values: str) -> tuple[dict[str, str], str]:
    """Source the env script with ``values`` exported: the variables ``names`` as it leaves them; stderr."""
    proc = subprocess.run(
        ["bash", "-c", f'source "{SCRIPT}" && for n in "$@"; do printf "%s\\0" "${{!n}}"; done', "_", *names],
        env=_clean_env(AIRFLOW_HOME=str(home), **values),
        cwd=REPO,
        capture_output=True,
        check=True,
    )
    found = proc.stdout.decode().split("\0")[:-1]
    return dict(zip(names, found, strict=True)), proc.stderr.decode()


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# -- the env script ----------------------------------------------------------------------------------------

HOSTS = ("AIRFLOW__API__HOST", "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_HOST")


def test_components_listen_on_loopback_by_default(tmp_path):
    assert _source(tmp_path, *HOSTS)[0] == dict.fromkeys(HOSTS, LOOPBACK)


def test_crm1c_listen_opens_them(tmp_path):
    assert _source(tmp_path, *HOSTS, CRM1C_LISTEN=EVERYWHERE)[0] == dict.fromkeys(HOSTS, EVERYWHERE)


def test_an_exported_airflow_host_is_kept(tmp_path):
    found, _ = _source(tmp_path, *HOSTS, AIRFLOW__API__HOST="10.1.2.3", CRM1C_LISTEN=EVERYWHERE)
    assert found == {HOSTS[0]: "10.1.2.3", HOSTS[1]: EVERYWHERE}


def test_the_admin_password_is_generated_once_and_private(tmp_path):
    passwords = tmp_path / "passwords.json"
    found, err = _source(tmp_path, "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE")
    assert found == {"AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords)}
    first = json.loads(passwords.read_text())
    assert set(first) == {"admin"} and len(first["admin"]) >= 16 and first["admin"] != "admin"
    assert _mode(passwords) == 0o600
    assert "generated" in err and str(passwords) in err
    _, err = _source(tmp_path)
    assert json.loads(passwords.read_text()) == first, "kept on the next start"
    assert err == ""


def test_the_old_fixed_admin_password_is_replaced(tmp_path):
    passwords = tmp_path / "passwords.json"
    passwords.write_text('{"admin": "admin"}')
    passwords.chmod(0o644)
    _, err = _source(tmp_path)
    assert json.loads(passwords.read_text())["admin"] != "admin"
    assert _mode(passwords) == 0o600
    assert "replaced" in err


def test_a_passwords_file_of_your_own_is_left_alone(tmp_path):
    own = tmp_path / "mine.json"
    own.write_text('{"admin": "chosen"}')
    found, _ = _source(tmp_path, "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE", **{
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(own)
    })  # fmt: skip
    assert found == {"AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(own)}
    assert own.read_text() == '{"admin": "chosen"}'
    assert not (tmp_path / "passwords.json").exists()


# -- what listens where --------------------------------------------------------------------------------------


def _tree(roots: list[int]) -> list[psutil.Process]:
    """The live processes ``roots`` and all their descendants."""
    found = []
    for pid in roots:
        with contextlib.suppress(psutil.Error):
            root = psutil.Process(pid)
            found += [root, *root.children(recursive=True)]
    return found


def _listeners(roots: list[int]) -> set[tuple[str, int, str]]:
    """``(address, port, process)`` of every TCP socket in LISTEN state held by ``roots`` or a descendant."""
    found = set()
    for proc in _tree(roots):
        with contextlib.suppress(psutil.Error):
            name = " ".join(proc.cmdline())[:80]
            for conn in proc.net_connections(kind="tcp"):
                if conn.status == psutil.CONN_LISTEN:
                    found.add((conn.laddr.ip, conn.laddr.port, name))
    return found


def _stop(procs: list[subprocess.Popen[bytes]], grace: float = 10.0) -> None:
    """SIGTERM to each process group, SIGKILL after ``grace`` s to whatever of the trees is left."""
    tree = _tree([p.pid for p in procs])
    for proc in procs:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)  # start_new_session: the group id is the pid
    _, alive = psutil.wait_procs(tree, timeout=grace)
    for proc in procs:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    for left in alive:  # a child that left its group
        with contextlib.suppress(psutil.Error):
            left.kill()
    for proc in procs:
        proc.wait(timeout=10)


@contextlib.contextmanager
def _make_up(home: Path, env: dict[str, str]) -> Iterator[list[subprocess.Popen[bytes]]]:
    """What ``make up`` does for Airflow: ``./airflow.sh version`` (migrates, writes the passwords file), then
    each component as ``setsid ./airflow.sh <component>``; stops them all on the way out."""
    home.mkdir(parents=True)
    first = subprocess.run(
        [str(REPO / "airflow.sh"), "version"], env=env, cwd=REPO, capture_output=True, timeout=60
    )
    assert first.returncode == 0, first.stderr.decode()[-2000:]
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for name in COMPONENTS:
            with open(home / f"{name}.log", "wb") as out:
                proc = subprocess.Popen(
                    [str(REPO / "airflow.sh"), name], env=env, cwd=REPO, stdout=out,
                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
                )  # fmt: skip
            procs.append(proc)
        yield procs
    finally:
        _stop(procs)


def _logs(home: Path, tail: int = 25) -> str:
    parts = []
    for name in COMPONENTS:
        lines = (home / f"{name}.log").read_text(errors="replace").splitlines()[-tail:]
        parts.append(f"--- {name} ---\n" + "\n".join(lines))
    return "\n".join(parts)


@pytest.mark.airflow
@pytest.mark.timeout(180)
def test_make_up_listens_on_loopback_only_and_refuses_the_default_login(tmp_path):
    started = time.monotonic()
    home = tmp_path / "airflow"
    ports = {
        "api": free_port(),
        "worker_log": free_port(),
        "trigger_log": free_port(),
        "scheduler_health": free_port(),
    }
    (tmp_path / "dags").mkdir()  # no DAG to parse: what listens does not depend on them, and it saves CPU
    env = _clean_env(
        AIRFLOW_HOME=str(home),
        CONTOUR_STATE_DIR=str(tmp_path / "contour"),
        AIRFLOW__CORE__DAGS_FOLDER=str(tmp_path / "dags"),
        AIRFLOW__CORE__PARALLELISM="1",
        AIRFLOW__API__PORT=str(ports["api"]),
        AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT=str(ports["worker_log"]),
        AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT=str(ports["trigger_log"]),
        # off by default; on here so that its host default (CRM1C_LISTEN) is checked too
        AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK="True",
        AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT=str(ports["scheduler_health"]),
    )
    base = f"http://{LOOPBACK}:{ports['api']}"
    with _make_up(home, env) as procs:
        pids = [p.pid for p in procs]
        # Healthy: the API answers, scheduler, triggerer and dag-processor heartbeat, and the scheduler's
        # health check server (started next to where its log server would be) listens.
        deadline = time.monotonic() + 90
        health: dict[str, dict[str, str]] = {}
        while True:
            for name, proc in zip(COMPONENTS, procs, strict=True):
                assert proc.poll() is None, f"{name} exited with {proc.returncode}\n{_logs(home)}"
            with contextlib.suppress(requests.RequestException, ValueError):
                health = requests.get(f"{base}/api/v2/monitor/health", timeout=5).json()
            parts_ok = all(
                (health.get(part) or {}).get("status") == "healthy"
                for part in ("scheduler", "triggerer", "dag_processor")
            )
            if parts_ok and ports["scheduler_health"] in {port for _, port, _ in _listeners(pids)}:
                break
            assert time.monotonic() < deadline, f"not healthy in 90 s: {health}\n{_logs(home)}"
            time.sleep(0.5)
        healthy_after = time.monotonic() - started
        seen: set[tuple[str, int, str]] = set()
        for _ in range(6):  # a few samples: a listener that binds a moment late is seen too
            seen |= _listeners(pids)
            time.sleep(0.5)

        exposed = sorted(s for s in seen if s[0] != LOOPBACK)
        assert not exposed, f"listening beyond {LOOPBACK}: {exposed}"
        listening = {port for _, port, _ in seen}
        assert {ports["api"], ports["scheduler_health"]} <= listening, seen
        # The log servers bind every interface (no host setting in Airflow 3.3): not started on loopback.
        assert not {ports["worker_log"], ports["trigger_log"]} & listening, seen
        titles = [" ".join(p.cmdline()).strip() for p in _tree(pids)]
        assert not [t for t in titles if t.startswith("airflow serve-logs")], titles

        passwords = home / "passwords.json"
        assert _mode(passwords) == 0o600
        password = json.loads(passwords.read_text())["admin"]
        login = f"{base}/auth/token"
        refused = requests.post(login, json={"username": "admin", "password": "admin"}, timeout=30)
        assert refused.status_code == 401, refused.text
        granted = requests.post(login, json={"username": "admin", "password": password}, timeout=30)
        assert granted.status_code == 201, granted.text
        assert granted.json()["access_token"]
    print(
        f"healthy after {healthy_after:.1f} s, all in {time.monotonic() - started:.1f} s; "
        f"listening: {sorted((a, p) for a, p, _ in seen)}"
    )


def test_contour_listens_on_loopback(tmp_path):
    env = _clean_env(
        CONTOUR_STATE_DIR=str(tmp_path), CONTOUR_ONEC_PORT="0", CONTOUR_BITRIX_PORT="0", PYTHONPATH=str(REPO)
    )
    with open(tmp_path / "serve.log", "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "contour", "serve"], env=env, cwd=REPO, stdout=out,
            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while len(seen := _listeners([proc.pid])) < 2:
            assert proc.poll() is None, (tmp_path / "serve.log").read_text()
            assert time.monotonic() < deadline, f"contour not listening in 30 s: {seen}"
            time.sleep(0.2)
        assert {address for address, _, _ in seen} == {LOOPBACK}, seen
    finally:
        _stop([proc])
