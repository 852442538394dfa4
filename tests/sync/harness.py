"""Build a sync environment against the running contour: plain clients over HTTPS and a staging DB.

Also what the reliability tests share: a read of both systems' counterparties (``read_world``) and the
invariants checked on it (no duplicates, xref 1:1, convergence), a state hash of both emulators, an
Airflow-like step runner that retries a failed step, and a command line entry point
(``python -m tests.sync.harness``) so that a crash test can run the sync in a process that really dies.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import itertools
import json
import logging
import os
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from crm1c.clients.bitrix24 import Bitrix24Client
from crm1c.clients.onec import OneCClient
from crm1c.clients.retry import RetryPolicy
from crm1c.domain.counterparty import Counterparty, identity_key, validate
from crm1c.domain.counterparty_codec import CodecError, from_bitrix, from_onec
from crm1c.mapping.loader import load_counterparty_mapping
from crm1c.staging import Staging, make_engine, migrate
from crm1c.staging.ratelimit import make_limiter
from crm1c.staging.schema import audit_log, write_intent, xref
from crm1c.sync import pipeline
from crm1c.sync.entities import EntityRef, entity
from crm1c.sync.runtime import SyncEnv

STEPS = ("extract_crm", "extract_onec", "plan", "load_onec", "load_crm", "publish")
ONEC_SET = "Catalog_Контрагенты"
#: Canonical fields both systems hold (phone and e-mail live only in the CRM).
COMPARED = ("kind", "name", "full_name", "inn", "kpp", "okpo", "comment")


@dataclass(frozen=True)
class Endpoints:
    """Where the contour answers: what :func:`clients` needs (a ``RunningContour`` has the same names)."""

    bitrix_base: str
    onec_url: str
    ca_file: Path


def clients(
    contour: Any, plan: str = "off", retry: RetryPolicy | None = None, timeout: float = 10
) -> tuple[Any, Any]:
    # imported here: the emulators' modules are not needed by a sync process started from the command line
    from tests.contour_harness import BITRIX_TOKEN, BITRIX_USER, ONEC_PASSWORD, ONEC_USER

    retry = retry or RetryPolicy(base_delay=0.05, max_delay=0.5)
    crm = Bitrix24Client(
        contour.bitrix_base,
        BITRIX_USER,
        BITRIX_TOKEN,
        verify=str(contour.ca_file),
        limiter=make_limiter(plan),
        retry=retry,
        timeout=timeout,
    )
    onec = OneCClient(
        contour.onec_url, ONEC_USER, ONEC_PASSWORD, verify=str(contour.ca_file), retry=retry, timeout=timeout
    )
    _OPEN_CLIENTS.extend((crm, onec))
    return crm, onec


_OPEN_CLIENTS: list[Any] = []


def close_clients() -> None:
    """Close every client :func:`clients` made (each holds keep-alive connections, one per thread used)."""
    while _OPEN_CLIENTS:
        _OPEN_CLIENTS.pop().close()


def staging_for(url: str) -> Staging:
    migrate(url)
    return Staging(make_engine(url))


@functools.cache
def mapping() -> Any:
    """The validated counterparty mapping, loaded once per process (it is immutable)."""
    return load_counterparty_mapping()


class Killed(BaseException):
    """What the in-process kill hook raises instead of ending the process (a BaseException, like SystemExit:
    no ``except Exception`` of the engine may swallow it, a killed process does not go on)."""


def crash_at(point: str, nth: int = 1) -> Callable[[str], None]:
    """A kill hook that dies at the ``nth`` pass of the kill point ``point``."""
    hits = itertools.count(1)

    def kill_hook(name: str) -> None:
        if name == point and next(hits) == nth:
            raise Killed(f"{name} #{nth}")

    return kill_hook


def make_env(staging: Staging, crm: Any, onec: Any, **kw: Any) -> SyncEnv:
    """An env as an operator builds it; ``mapping=`` overrides the counterparty mapping."""
    return SyncEnv(
        staging=staging,
        mapping=kw.pop("mapping", None) or mapping(),
        run_id=kw.pop("run_id", uuid.uuid4().hex),
        crm=crm,
        onec=onec,
        **kw,
    )


def run_step(
    staging: Staging,
    crm: Any,
    onec: Any,
    step: str,
    mode: str,
    run_id: str,
    ref: EntityRef | None = None,
    **kw: Any,
) -> Any:
    """One task of the DAG with a fresh env, as a separate task (or a task retry) would have: the engine's
    public entry points (:mod:`crm1c.sync.pipeline`), as the operators call them."""
    if ref is not None and "mapping" not in kw:
        kw["mapping"] = ref.load_mapping()
    ref = ref or entity("counterparties")
    env = make_env(staging, crm, onec, run_id=run_id, **kw)
    verb, _, system = step.partition("_")
    if verb == "extract":
        out = pipeline.extract(ref, env, system, mode)
    elif verb == "load":
        out = pipeline.load(ref, env, system)
    else:
        out = getattr(pipeline, verb)(ref, env)
    if step != "publish":
        now = staging._now()
        staging.record_run_stats(run_id, ref.key, step, now, now, dict(env.counters))
    return out


def run_sync(
    staging: Staging,
    crm: Any,
    onec: Any,
    mode: str = "incremental",
    steps: tuple[str, ...] = STEPS,
    before_step: Callable[[str], None] | None = None,
    **kw: Any,
) -> dict[str, Any]:
    """One run of the counterparty DAG's steps, each with a fresh env as separate tasks would have."""
    run_id = kw.pop("run_id", uuid.uuid4().hex)
    out: dict[str, Any] = {}
    for step in steps:
        if before_step is not None:
            before_step(step)
        out = run_step(staging, crm, onec, step, mode, run_id, **kw)
    return out


@dataclass
class RetriedRun:
    """What :func:`run_sync_retrying` saw: the publish summary and the failed tries per step."""

    summary: dict[str, Any]
    failures: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)


def run_sync_retrying(
    staging: Staging, crm: Any, onec: Any, mode: str = "incremental", tries: int = 6, **kw: Any
) -> RetriedRun:
    """One DAG run where a failed task is retried (same run id) up to ``tries`` times, as Airflow does."""
    run_id = kw.pop("run_id", uuid.uuid4().hex)
    seen = RetriedRun({})
    for step in STEPS:
        for attempt in range(1, tries + 1):
            try:
                out = run_step(staging, crm, onec, step, mode, run_id, **kw)
                break
            except Exception as exc:
                seen.failures[step] += 1
                seen.errors.append(f"{step} try {attempt}: {type(exc).__name__}: {exc}")
                if attempt == tries:
                    raise
        if step == "publish":
            seen.summary = out
    return seen


# ----------------------------------------------------------------------------- what the systems hold


@dataclass
class World:
    """Every counterparty in both systems, raw and (when readable) canonical."""

    companies: dict[str, dict]  # CRM company ID → company
    requisites: dict[str, dict]  # CRM company ID → its first requisite
    onec_rows: dict[str, dict]  # 1C Ref_Key → row (folders left out)
    crm: dict[str, Counterparty | None] = field(default_factory=dict)
    onec: dict[str, Counterparty | None] = field(default_factory=dict)

    def valid(self, system: str) -> dict[str, Counterparty]:
        """Records the sync must carry over: readable, not deleted, with no validation issue."""
        side = self.crm if system == "crm" else self.onec
        return {
            i: cp
            for i, cp in side.items()
            if cp is not None and not cp.deleted and not validate(cp, mapping())
        }


def read_world(crm: Any, onec: Any) -> World:
    rules = mapping()
    companies = {
        str(c["ID"]): c
        for page in crm.iter_list("crm.company.list", select=["*", "PHONE", "EMAIL"])
        for c in page
    }
    requisites: dict[str, dict] = {}
    for page in crm.iter_list("crm.requisite.list", filter={"ENTITY_TYPE_ID": 4}, select=["*"]):
        for r in sorted(page, key=lambda r: int(r["ID"])):
            requisites.setdefault(str(r["ENTITY_ID"]), r)
    rows = {
        str(r["Ref_Key"]): r
        for page in onec.list(ONEC_SET, page_size=1000)
        for r in page
        if not r.get("IsFolder")
    }
    world = World(companies, requisites, rows)
    heads = _heads(rows, rules)
    for cid, company in companies.items():
        world.crm[cid] = _decode(from_bitrix, company, requisites.get(cid), rules)
    for ref, row in rows.items():
        world.onec[ref] = _decode(from_onec, row, rules, heads)
    return world


def _decode(codec: Callable[..., Counterparty], *args: Any) -> Counterparty | None:
    try:
        return codec(*args)
    except CodecError:
        return None


def _heads(rows: dict[str, dict], rules: Any) -> Callable[[str], Counterparty | None]:
    def lookup(ref: str) -> Counterparty | None:
        row = rows.get(ref)
        return _decode(from_onec, row, rules) if row is not None else None

    return lookup


def state_hash(crm: Any, onec: Any) -> str:
    """A digest of every company, requisite and 1C counterparty, versions included: any write changes it."""
    world = read_world(crm, onec)
    blob = json.dumps(
        [world.companies, world.requisites, world.onec_rows], sort_keys=True, ensure_ascii=False, default=str
    )
    return hashlib.sha256(blob.encode()).hexdigest()


def key_of(inn: Any, kpp: Any) -> tuple[str, str]:
    return (str(inn or "").strip(), str(kpp or "").strip())


def assert_no_duplicates(world: World) -> None:
    """No two live records with the same ИНН+КПП on either side; no two CRM companies with one ORIGIN_ID;
    no CRM company id tagged on two 1C counterparties."""
    problems = []
    crm_keys = Counter(
        key_of(world.requisites[cid].get("RQ_INN"), world.requisites[cid].get("RQ_KPP"))
        for cid in world.companies
        if cid in world.requisites and world.requisites[cid].get("RQ_INN")
    )
    problems += [f"CRM: {n} companies with ИНН/КПП {k}" for k, n in crm_keys.items() if n > 1]
    origins = Counter(
        (c.get("ORIGINATOR_ID"), c.get("ORIGIN_ID")) for c in world.companies.values() if c.get("ORIGIN_ID")
    )
    problems += [f"CRM: {n} companies with ORIGIN_ID {k}" for k, n in origins.items() if n > 1]
    live = [r for r in world.onec_rows.values() if not r.get("DeletionMark")]
    onec_keys = Counter(key_of(r.get("ИНН"), r.get("КПП")) for r in live if r.get("ИНН"))
    problems += [f"1C: {n} counterparties with ИНН/КПП {k}" for k, n in onec_keys.items() if n > 1]
    tags = Counter(cp.crm_id for cp in world.onec.values() if cp is not None and cp.crm_id and not cp.deleted)
    problems += [f"1C: {n} counterparties tagged with CRM company {k}" for k, n in tags.items() if n > 1]
    assert not problems, "duplicates:\n" + "\n".join(problems)


def xref_pairs(staging: Staging) -> list[tuple[str, str]]:
    with staging.engine.connect() as conn:
        return [(r.crm_id, r.onec_id) for r in conn.execute(sa.select(xref.c.crm_id, xref.c.onec_id))]


def assert_xref_one_to_one(staging: Staging, world: World | None = None) -> None:
    """Each CRM id and each 1C id at most once in xref; with ``world``: both ends exist and share the key."""
    pairs = xref_pairs(staging)
    crm_ids, onec_ids = Counter(p[0] for p in pairs), Counter(p[1] for p in pairs)
    assert all(n == 1 for n in crm_ids.values()), f"a CRM id linked twice: {crm_ids.most_common(3)}"
    assert all(n == 1 for n in onec_ids.values()), f"a 1C id linked twice: {onec_ids.most_common(3)}"
    if world is None:
        return
    for crm_id, onec_id in pairs:
        assert crm_id in world.companies, f"xref points at CRM company {crm_id} that does not exist"
        assert onec_id in world.onec_rows, f"xref points at 1C counterparty {onec_id} that does not exist"
        a, b = world.crm.get(crm_id), world.onec.get(onec_id)
        if a is not None and b is not None:
            assert identity_key(a) == identity_key(b), f"xref {crm_id}⇄{onec_id} links different keys"


def assert_converged(world: World, staging: Staging | None = None) -> None:
    """Every valid record of each side exists on the other (by ИНН+КПП) with the same compared fields,
    and (with ``staging``) the two are linked in xref."""
    crm_valid, onec_valid = world.valid("crm"), world.valid("onec")
    crm_by_key = _by_key(world.crm)
    onec_by_key = _by_key(world.onec)
    links = set(xref_pairs(staging)) if staging is not None else None
    problems = []
    for system, valid, others in (("crm", crm_valid, onec_by_key), ("onec", onec_valid, crm_by_key)):
        for ext_id, cp in valid.items():
            key = identity_key(cp)
            partner = others.get(key)
            if partner is None:
                problems.append(f"{system}:{ext_id} {key} ({cp.name!r}) is missing on the other side")
                continue
            other_id, other = partner
            diff = {
                f: (getattr(cp, f), getattr(other, f))
                for f in COMPARED
                if getattr(cp, f) != getattr(other, f)
            }
            if diff:
                problems.append(f"{system}:{ext_id} ⇄ {other_id} {key} differ: {diff}")
            pair = (ext_id, other_id) if system == "crm" else (other_id, ext_id)
            if links is not None and pair not in links:
                problems.append(f"{system}:{ext_id} ⇄ {other_id} {key} not linked in xref")
    assert not problems, "not converged:\n" + "\n".join(problems)


def _by_key(side: dict[str, Counterparty | None]) -> dict[str | None, tuple[str, Counterparty]]:
    return {
        identity_key(cp): (i, cp)
        for i, cp in side.items()
        if cp is not None and not cp.deleted and identity_key(cp)
    }


def count_rows(staging: Staging, table: sa.Table, *where: Any) -> int:
    with staging.engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table).where(*where)).scalar_one()


def intents_total(staging: Staging) -> int:
    return count_rows(staging, write_intent)


def pending_intents_total(staging: Staging) -> int:
    return count_rows(staging, write_intent, write_intent.c.state == "pending")


def audit_results(staging: Staging) -> Counter[str]:
    with staging.engine.connect() as conn:
        return Counter(r.result for r in conn.execute(sa.select(audit_log.c.result)))


def check_all(staging: Staging, crm: Any, onec: Any, *, converged: bool = True) -> World:
    """The universal invariants: no duplicates, xref 1:1, audit chain intact (and convergence)."""
    world = read_world(crm, onec)
    assert_no_duplicates(world)
    assert_xref_one_to_one(staging, world)
    assert staging.verify_audit_chain() == (True, None)
    if converged:
        assert_converged(world, staging)
        assert pending_intents_total(staging) == 0
    return world


def contour_admin(contour: Any, app: str, path: str) -> Any:
    """``GET /_contour/<path>`` of one emulator over HTTPS (Bitrix ``stats``, 1C ``requests?limit=N``)."""
    port = contour.onec_port if app == "onec" else contour.bitrix_port
    ctx = ssl.create_default_context(cafile=str(contour.ca_file))
    url = f"https://127.0.0.1:{port}/_contour/{path}"
    with urllib.request.urlopen(url, timeout=5, context=ctx) as resp:
        return json.load(resp)


# ----------------------------------------------------------------------------- users at work


def add_crm_company(
    crm: Any,
    name: str,
    inn: str,
    kpp: str | None,
    full_name: str | None = None,
    company_type: str = "CUSTOMER",
) -> str:
    """What a manager does in the CRM: a company and its requisite (preset by ИНН length), like the seed.
    ``company_type="BRANCH"`` makes a branch (обособленное подразделение): its head's ИНН, its own КПП."""
    ip = len(inn) == 12
    fields = {"TITLE": name, "COMPANY_TYPE": company_type, "OPENED": "Y"}
    envelope = crm.call("crm.company.add", {"fields": fields}, write=True)
    company_id = str(envelope["result"])
    requisite: dict[str, Any] = {
        "ENTITY_TYPE_ID": 4,
        "ENTITY_ID": company_id,
        "PRESET_ID": 2 if ip else 1,
        "NAME": "ИП" if ip else "Организация",
        "ACTIVE": "Y",
        "RQ_INN": inn,
        "RQ_KPP": kpp or "",
    }
    if ip:
        requisite["RQ_NAME"] = full_name or name.removeprefix("ИП ")
    else:
        requisite |= {"RQ_COMPANY_NAME": name, "RQ_COMPANY_FULL_NAME": full_name or name}
    crm.call("crm.requisite.add", {"fields": requisite}, write=True)
    return company_id


def add_onec_counterparty(
    onec: Any, name: str, inn: str, kpp: str | None, full_name: str | None = None
) -> str:
    """What an accountant does in 1C: a new element of «Контрагенты»."""
    ip = len(inn) == 12
    row = onec.create(
        ONEC_SET,
        {
            "Description": name,
            "НаименованиеПолное": full_name or name,
            "ИНН": inn,
            "КПП": kpp or "",
            "ЮридическоеФизическоеЛицо": "ФизическоеЛицо" if ip else "ЮридическоеЛицо",
            "ИндивидуальныйПредприниматель": ip,
            "ОбособленноеПодразделение": False,
        },
    )
    return str(row["Ref_Key"])


def rename_in_crm(crm: Any, company_id: str, name: str) -> None:
    crm.call("crm.company.update", {"id": company_id, "fields": {"TITLE": name}}, write=True)


def rename_in_onec(onec: Any, ref: str, name: str) -> None:
    current = onec.get(ONEC_SET, ref, select=["Ref_Key", "DataVersion"])
    onec.update(ONEC_SET, ref, {"Description": name}, current["DataVersion"])


# ----------------------------------------------------------------------------- a sync in its own process


class ForkServer:
    """A child Python process that imports the engine once, then forks one grandchild per sync.

    Each sync still runs in its own OS process that really ends (``os._exit(137)`` at a kill point); the
    server only saves the interpreter start-up and imports (~2 s) per run. Same answer as
    :func:`subprocess.run`: a :class:`subprocess.CompletedProcess` with the exit code and both outputs.
    """

    def __init__(self, repo: Path, env: dict[str, str]) -> None:
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "tests.sync.harness", "--fork-server"],
            cwd=repo,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def run(self, argv: list[str], env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._proc.stdin.write(json.dumps({"argv": argv, "env": env, "timeout": timeout}) + "\n")
        self._proc.stdin.flush()
        line = self._proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the fork server ended (exit code {self._proc.poll()})")
        answer = json.loads(line)
        return subprocess.CompletedProcess(argv, answer["rc"], answer["stdout"], answer["stderr"])

    def close(self) -> None:
        if self._proc.stdin is not None:
            self._proc.stdin.close()
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()


def _serve_forks() -> int:
    """The :class:`ForkServer` side: one JSON job per stdin line, one JSON answer per stdout line."""
    for line in sys.stdin:
        job = json.loads(line)
        with tempfile.TemporaryDirectory() as tmp:
            out, err = Path(tmp, "stdout"), Path(tmp, "stderr")
            sys.stdout.flush()
            sys.stderr.flush()
            pid = os.fork()
            if pid == 0:  # the child: one sync, its outputs in files; it never returns
                _run_child(job, out, err)
            rc = _wait(pid, float(job.get("timeout") or 120))
            answer = {"rc": rc, "stdout": out.read_text(), "stderr": err.read_text()}
        print(json.dumps(answer), flush=True)
    return 0


def _run_child(job: dict[str, Any], out: Path, err: Path) -> None:
    rc = 1
    try:
        os.dup2(os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC), 1)
        os.dup2(os.open(err, os.O_WRONLY | os.O_CREAT | os.O_TRUNC), 2)
        os.environ.update(job["env"])
        rc = main(job["argv"])
    except BaseException:
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(rc)


def _wait(pid: int, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return -signal.SIGKILL
        time.sleep(0.01)


def main(argv: Iterable[str] | None = None) -> int:
    """Run the counterparty DAG once against the given endpoints; ``CRM1C_KILL_AT`` may end it early."""
    parser = argparse.ArgumentParser(prog="python -m tests.sync.harness")
    parser.add_argument("--bitrix", required=True, help="Bitrix24 base URL")
    parser.add_argument("--onec", required=True, help="1C OData service URL")
    parser.add_argument("--ca", required=True, help="CA bundle of the contour")
    parser.add_argument("--staging", required=True, help="staging database URL")
    parser.add_argument("--mode", default="incremental", choices=("incremental", "full"))
    parser.add_argument("--fork-server", action="store_true", help=argparse.SUPPRESS)
    if "--fork-server" in (list(argv) if argv is not None else sys.argv[1:]):
        return _serve_forks()
    args = parser.parse_args(list(argv) if argv is not None else None)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s %(message)s")
    crm, onec = clients(Endpoints(args.bitrix, args.onec, Path(args.ca)))
    staging = staging_for(args.staging)

    def announce(step: str) -> None:
        print(f"step {step}", flush=True)

    summary = run_sync(staging, crm, onec, mode=args.mode, before_step=announce)
    print(json.dumps({"done": True, "summary": summary}, default=str), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
