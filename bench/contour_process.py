"""The contour for one size: seeded, then served in a process of its own (so its CPU and memory stay out of
the sync's figures); its admin endpoints (knobs, Bitrix24 stats); and, run as
``python -m bench.contour_process [--profile-out PATH] [--nodelay] serve …``, the contour served with
bench-side options."""

from __future__ import annotations

import contextlib
import cProfile
import json
import os
import pstats
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

from bench import PY, REPO


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ContourProcess:
    """The two emulators seeded and served in a subprocess of their own."""

    def __init__(self, state_dir: Path, size: int, profile_to: Path | None = None, nodelay: bool = False):
        self.state_dir, self.size, self.profile_to, self.nodelay = state_dir, size, profile_to, nodelay
        self.onec_port, self.bitrix_port = free_port(), free_port()
        self.env = {
            **os.environ,
            "CONTOUR_STATE_DIR": str(state_dir),
            "CONTOUR_ONEC_PORT": str(self.onec_port),
            "CONTOUR_BITRIX_PORT": str(self.bitrix_port),
            "PYTHONPATH": str(REPO),
        }
        self.proc: subprocess.Popen | None = None
        self.log = state_dir / "contour.out"

    def seed(self, command: list[str] | None = None) -> float:
        """Seed the profile ``scale`` at this size, or run ``command`` (arguments after the interpreter, e.g.
        ``["-m", "bench.invoice_dataset", "--size", "N"]``) with the contour's environment; returns the
        seconds it took."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        command = command or ["-m", "contour", "seed", "--profile", "scale", "--size", str(self.size)]
        with open(self.log, "ab") as out:
            subprocess.run(
                [PY, *command],
                cwd=REPO,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                check=True,
            )
        return time.perf_counter() - started

    def start(self) -> None:
        """Serve at the standard rate plan and latency 0; return once both emulators answer."""
        serve = ["serve", "--rate-plan", "standard", "--latency-ms", "0"]
        if self.profile_to or self.nodelay:
            extra = ["--profile-out", str(self.profile_to)] if self.profile_to else []
            extra += ["--nodelay"] if self.nodelay else []
            cmd = [PY, "-m", "bench.contour_process", *extra, *serve]
        else:
            cmd = [PY, "-m", "contour", *serve]
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                cmd, cwd=REPO, env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"contour exited with {self.proc.returncode}; see {self.log}")
            if all(self._healthy(p) for p in (self.onec_port, self.bitrix_port)):
                return
            time.sleep(0.2)
        raise RuntimeError(f"contour not healthy in 60 s; see {self.log}")

    def _healthy(self, port: int) -> bool:
        ca = self.state_dir / "ca.pem"
        if not ca.exists():
            return False
        try:
            ctx = ssl.create_default_context(cafile=str(ca))
            with urllib.request.urlopen(
                f"https://127.0.0.1:{port}/_contour/health", timeout=2, context=ctx
            ) as resp:
                return resp.status == 200
        except (OSError, ssl.SSLError):
            return False

    def stop(self) -> None:
        """Stop the contour process (only the one this object started, by its pid)."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)  # only the process this script started, by its pid
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class Admin:
    """The contour's admin endpoints (knobs, Bitrix24 stats) as the worker sees them."""

    def __init__(self, state_dir: Path, onec_port: int, bitrix_port: int) -> None:
        self.ctx = ssl.create_default_context(cafile=str(state_dir / "ca.pem"))
        self.ports = {"onec": onec_port, "bitrix": bitrix_port}

    def _call(self, app: str, path: str, payload: Any = None, method: str = "GET") -> Any:
        data = None if payload is None else json.dumps(payload).encode()
        req = urllib.request.Request(
            f"https://127.0.0.1:{self.ports[app]}/_contour/{path}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=10, context=self.ctx) as resp:  # noqa: S310
            return json.load(resp)

    def knobs(self, app: str, **changes: Any) -> dict:
        return self._call(app, "knobs", changes, "POST")

    def bitrix_stats(self, reset: bool = False) -> dict:
        return self._call("bitrix", "stats", {} if reset else None, "POST" if reset else "GET")


def serve_wrapped(argv: list[str]) -> int:
    """``python -m contour serve`` with bench-side options, without changing contour/:
    ``--profile-out PATH``: a cProfile per handler thread, merged into PATH at exit;
    ``--nodelay``: TCP_NODELAY on the emulators' sockets (what-if: see README, Nagle + delayed ACK)."""
    from contour import __main__ as contour_main
    from contour import web

    profile_out: Path | None = None
    while argv and argv[0] != "serve":
        opt = argv.pop(0)
        if opt == "--profile-out":
            profile_out = Path(argv.pop(0))
        elif opt == "--nodelay":
            web._Handler.disable_nagle_algorithm = True
    profiles: list[cProfile.Profile] = []
    lock = threading.Lock()
    local = threading.local()
    original = web._Handler._dispatch

    def dispatch(self: Any) -> None:
        prof = getattr(local, "prof", None)
        if prof is None:
            prof = local.prof = cProfile.Profile()
            with lock:
                profiles.append(prof)
        prof.enable()
        try:
            original(self)
        finally:
            prof.disable()

    if profile_out:
        for verb in ("GET", "POST", "PATCH", "PUT", "DELETE", "MERGE", "HEAD"):
            setattr(web._Handler, f"do_{verb}", dispatch)
    try:
        return contour_main.main(argv)
    finally:
        merged = None
        with lock:
            for prof in profiles:
                with contextlib.suppress(TypeError, ValueError):
                    if merged is None:
                        merged = pstats.Stats(prof)
                    else:
                        merged.add(prof)
        if merged is not None and profile_out:
            merged.dump_stats(str(profile_out))


if __name__ == "__main__":
    sys.exit(serve_wrapped(sys.argv[1:]))
