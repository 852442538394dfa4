"""Command line of the contour: ``python -m contour serve|up|down|seed|status|knobs``."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import ssl
import subprocess
import sys
import time
import urllib.request
from typing import Any

from contour.settings import ContourSettings


def _apps(settings: ContourSettings, args: argparse.Namespace) -> list[tuple[Any, int]]:
    from contour.bitrix.app import BitrixApp
    from contour.onec.app import OneCApp

    common = {
        "latency_ms": args.latency_ms,
        "fault_5xx_rate": args.fault_5xx_rate,
        "fault_timeout_rate": args.fault_timeout_rate,
    }
    onec = OneCApp(settings.state_dir, common | {"prohibition_date": args.prohibition_date})
    bitrix = BitrixApp(settings.state_dir, common | {"rate_plan": args.rate_plan})
    return [(onec, settings.onec_port), (bitrix, settings.bitrix_port)]


def cmd_serve(settings: ContourSettings, args: argparse.Namespace) -> int:
    from contour.tls import server_context
    from contour.web import ContourServer, serve_in_thread

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    # Many threads sleep out their latency at once: a short switch interval lets each answer on time
    # instead of waiting up to Python's default 5 ms for the interpreter lock.
    sys.setswitchinterval(0.0005)
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    tls = None if settings.plain_http else server_context(settings.state_dir)
    servers = [ContourServer(app, settings.host, port, tls) for app, port in _apps(settings, args)]
    for server in servers:
        serve_in_thread(server)
    logging.getLogger("contour").info(
        "1C OData at %s, Bitrix24 at %s", settings.onec_url, settings.bitrix_url
    )
    stop = {"flag": False}

    def _stop(*_: Any) -> None:
        stop["flag"] = True

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    while not stop["flag"]:
        time.sleep(0.2)
    for server in servers:
        server.shutdown()
    return 0


def _health(settings: ContourSettings, port: int) -> bool:
    url = f"{settings.scheme}://{settings.host}:{port}/_contour/health"
    try:
        ctx = None if settings.plain_http else ssl.create_default_context(cafile=str(settings.ca_file))
        with urllib.request.urlopen(url, timeout=2, context=ctx) as resp:  # noqa: S310 - loopback only
            return resp.status == 200
    except (OSError, ssl.SSLError):
        return False


def _running_pid(settings: ContourSettings) -> int | None:
    try:
        pid = int(settings.pid_file.read_text().strip())
        os.kill(pid, 0)
        return pid
    except (FileNotFoundError, ValueError, ProcessLookupError, PermissionError):
        return None


def cmd_up(settings: ContourSettings, args: argparse.Namespace) -> int:
    if _running_pid(settings):
        print(f"contour already running (pid {_running_pid(settings)})")
        return 0
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    if not settings.plain_http:
        from contour.tls import ensure_certificates

        ensure_certificates(settings.state_dir)  # before the server starts, so clients can trust it at once
    cmd = [sys.executable, "-m", "contour", "serve", *args.passthrough]
    with open(settings.log_file, "ab") as log_file:
        proc = subprocess.Popen(cmd, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True)
    settings.pid_file.write_text(str(proc.pid))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            print(f"contour failed to start; see {settings.log_file}", file=sys.stderr)
            return 1
        if _health(settings, settings.onec_port) and _health(settings, settings.bitrix_port):
            print(
                f"contour up (pid {proc.pid})\n  1C OData: {settings.onec_url}\n"
                f"  Bitrix24: {settings.bitrix_url}rest/1/<token>/\n  CA: {settings.ca_file}"
            )
            return 0
        time.sleep(0.2)
    print("contour did not become healthy in 30 s", file=sys.stderr)
    return 1


def cmd_down(settings: ContourSettings, args: argparse.Namespace) -> int:
    pid = _running_pid(settings)
    if pid is None:
        print("contour is not running")
        settings.pid_file.unlink(missing_ok=True)
        return 0
    os.kill(pid, signal.SIGTERM)
    for _ in range(50):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        os.kill(pid, signal.SIGKILL)
    settings.pid_file.unlink(missing_ok=True)
    print(f"contour stopped (pid {pid})")
    return 0


def cmd_seed(settings: ContourSettings, args: argparse.Namespace) -> int:
    from contour import dataset
    from contour.bitrix import seed as bitrix_seed
    from contour.onec import seed as onec_seed

    settings.state_dir.mkdir(parents=True, exist_ok=True)
    data = dataset.build(args.profile, size=args.size)
    onec_seed.seed(settings.state_dir, data)
    bitrix_seed.seed(settings.state_dir, data)
    print(f"contour seeded with profile {args.profile!r}")
    return cmd_status(settings, args)


def cmd_status(settings: ContourSettings, args: argparse.Namespace) -> int:
    from contour.bitrix import seed as bitrix_seed
    from contour.onec import seed as onec_seed

    pid = _running_pid(settings)
    print(f"contour: {'running, pid ' + str(pid) if pid else 'stopped'}; state in {settings.state_dir}")
    for title, summary in (("1C:Бухгалтерия", onec_seed.summary), ("Bitrix24", bitrix_seed.summary)):
        print(f"{title}:")
        for name, count in summary(settings.state_dir).items():
            print(f"  {name:<48} {count:>8}")
    return 0


def cmd_knobs(settings: ContourSettings, args: argparse.Namespace) -> int:
    port = settings.onec_port if args.app == "onec" else settings.bitrix_port
    url = f"{settings.scheme}://{settings.host}:{port}/_contour/knobs"
    changes = dict(item.split("=", 1) for item in args.set or [])
    data = json.dumps(changes).encode() if changes else None
    req = urllib.request.Request(  # noqa: S310 - loopback only
        url,
        data=data,
        method="POST" if data else "GET",
        headers={"Content-Type": "application/json"},
    )
    ctx = None if settings.plain_http else ssl.create_default_context(cafile=str(settings.ca_file))
    with urllib.request.urlopen(req, timeout=5, context=ctx) as resp:  # noqa: S310 - loopback only
        print(json.dumps(json.load(resp), ensure_ascii=False, indent=1))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m contour", description=__doc__)
    parser.add_argument("--plain-http", action="store_true", help="serve plain HTTP instead of HTTPS")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run both emulators in the foreground")
    serve.add_argument("--latency-ms", type=float)
    serve.add_argument("--fault-5xx-rate", type=float)
    serve.add_argument("--fault-timeout-rate", type=float)
    serve.add_argument("--rate-plan", choices=["standard", "enterprise", "off"])
    serve.add_argument("--prohibition-date", help="1C change-prohibition date, YYYY-MM-DD")
    up = sub.add_parser("up", help="start the contour in the background")
    up.add_argument("passthrough", nargs=argparse.REMAINDER, help="options passed to serve")
    sub.add_parser("down", help="stop the background contour")
    seed = sub.add_parser("seed", help="reset the contour's data to a profile")
    seed.add_argument("--profile", choices=["empty", "demo", "scale"], default="demo")
    seed.add_argument("--size", type=int, default=1000, help="records per entity for the scale profile")
    sub.add_parser("status", help="show what the contour holds")
    knobs = sub.add_parser("knobs", help="show or change an emulator's knobs")
    knobs.add_argument("app", choices=["onec", "bitrix"])
    knobs.add_argument("--set", action="append", metavar="KEY=VALUE")
    args = parser.parse_args(argv)
    settings = ContourSettings.from_env()
    if args.plain_http:
        settings = ContourSettings(**{**settings.__dict__, "plain_http": True})
    handlers = {
        "serve": cmd_serve,
        "up": cmd_up,
        "down": cmd_down,
        "seed": cmd_seed,
        "status": cmd_status,
        "knobs": cmd_knobs,
    }
    return handlers[args.command](settings, args)


if __name__ == "__main__":
    sys.exit(main())
