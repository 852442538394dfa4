"""The printed report: each size's figures against the ceilings and targets, the peak RSS ratio of two
sizes, and results saved with ``--json`` read back (``--report-from``)."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.ceilings import (
    BURST,
    CMDS_PER_WRITE,
    DRAIN,
    ONEC_LATENCY_MS,
    READ_CEILING,
    ROWS_PER_READ,
    TARGET_NOCHANGE_CALLS,
    TARGET_ONEC,
    TARGET_READ,
    TARGET_RSS_RATIO,
    TARGET_WRITE,
    WRITE_CEILING,
)
from bench.measure import ONEC_WRITE_VERBS, fmt_counters

#: The report of one size: its figures, and its rows of the targets table added to the ``Table`` given.
SizeReport = Callable[[dict, list[int], "Table"], list[str]]


class Table:
    """Rows of cells rendered as left-aligned columns under a header."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, ...]] = []

    def add(self, *cells: Any) -> None:
        self.rows.append(tuple(str(c) for c in cells))

    def render(self, header: tuple[str, ...]) -> str:
        rows = [header, *self.rows]
        widths = [max(len(r[i]) for r in rows if i < len(r)) for i in range(len(header))]
        line = "  ".join("-" * w for w in widths)
        out = ["  ".join(c.ljust(w) for c, w in zip(rows[0], widths, strict=False)), line]
        out += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=False)) for r in rows[1:]]
        return "\n".join(out)


def load_saved(files: list[str]) -> list[dict]:
    """The results in files written by ``--json``, by N."""
    saved = [r for f in files for r in json.loads(Path(f).read_text())]
    return sorted(saved, key=lambda r: r["n"])


def report(results: list[dict], pools: list[int], sizes: SizeReport | None = None) -> str:
    """Every size's figures (``sizes``: the bench's own report of one size; default the counterparty
    bench's), then (with two sizes or more) peak RSS by size, then the targets."""
    parts: list[str] = []
    verdicts = Table()
    for r in results:
        parts += (sizes or size_report)(r, pools, verdicts)
    if len({r["n"] for r in results}) >= 2:
        parts += rss_by_size(results, verdicts)
    parts.append("\n================ targets ================")
    parts.append(verdicts.render(("N", "measure", "measured", "target", "result")))
    return "\n".join(parts)


def size_report(r: dict, pools: list[int], verdicts: Table) -> list[str]:
    """The figures of one size; its rows of the targets table go to ``verdicts``."""
    n = r["n"]
    parts = [*_header(r), _runs_table(r), *_steps_of_a(r)]
    read_fraction, read_source = _bitrix_reads(r, parts)
    write_fraction = _bitrix_writes(r, parts)
    onec_fractions = _onec_writes_by_pool(r, pools, parts)
    n0 = _phs(r, "N0")
    n0_crm, n0_onec = int(_sum(n0, "crm_requests")), _onec_calls(n0)
    _no_change(r, n0, parts)
    xs = _phs(r, "X")
    if xs:
        x_onec = _onec_calls(xs)
        parts.append(
            "\nEarly probe X (incremental extract_onec right after A's extracts, "
            "nothing changed in 1C): "
            f"1C {x_onec} HTTP requests, {_sum(xs, 'seconds'):.2f}s, "
            f"re-read {_run_records(xs)} records; peak RSS after it "
            f"{max(p['maxrss_mb'] for p in xs):.0f} MB"
        )
        if not n0:
            verdicts.add(
                n, "no-change 1C scan (probe X), 1C HTTP", x_onec, "≤ 5", _ok(x_onec <= TARGET_NOCHANGE_CALLS)
            )
    if r.get("edits"):
        parts.append(
            f"1% edits before I1: {r['edits']}; echo runs to converge after I1: {r.get('echo_runs')}"
        )
    verdicts.add(
        n,
        f"Bitrix24 reads, steady ÷ 5,000 rows/s (run {read_source})",
        _pct(read_fraction),
        "≥ 90%",
        _ok(read_fraction is not None and read_fraction >= TARGET_READ),
    )
    write_verdict(r, verdicts, "A", "Bitrix24 writes, steady ÷ 100 cmds/s", write_fraction)
    for k, f in onec_fractions.items():
        verdicts.add(n, f"1C writes pool {k} ÷ ({k}/20 ms)", _pct(f), "≥ 80%", _ok(f >= TARGET_ONEC))
    if n0:
        verdicts.add(
            n, "no-change run, Bitrix24 HTTP requests", n0_crm, "≤ 5", _ok(n0_crm <= TARGET_NOCHANGE_CALLS)
        )
        verdicts.add(
            n, "no-change run, 1C HTTP requests", n0_onec, "≤ 5", _ok(n0_onec <= TARGET_NOCHANGE_CALLS)
        )
    else:
        verdicts.add(n, "no-change run", "not reached", "≤ 5 per system", "n/a")
    return parts + peak_and_profiles(r, verdicts)


def write_verdict(r: dict, verdicts: Table, label: str, what: str, fraction: float | None) -> None:
    """The targets row of the Bitrix24 write window of run ``label``."""
    reached = _ph(r, f"{label}.load_crm.standard") is not None
    verdicts.add(
        r["n"],
        what,
        _pct(fraction) if reached else "not reached",
        "≥ 90%",
        _ok(fraction is not None and fraction >= TARGET_WRITE) if reached else "n/a",
    )


def peak_and_profiles(r: dict, verdicts: Table) -> list[str]:
    """The peak RSS row of the targets table; the sections of the profiles the result holds."""
    n, parts = r["n"], []
    verdicts.add(
        n,
        "peak RSS of the sync process" + (" (partial run)" if r.get("partial") else ""),
        f"{r['peak_rss_mb']:.0f} MB",
        "-",
        "",
    )
    for name, text in (r.get("profile") or {}).items():
        parts.append(f"\n---- cProfile of the sync, {name} (N={n}) ----\n{text}")
    if r.get("contour_profile"):
        parts.append(f"\n---- cProfile of the contour handlers (N={n}) ----\n{r['contour_profile']}")
    return parts


def rss_by_size(results: list[dict], verdicts: Table) -> list[str]:
    """Peak RSS after each step by size, and the ratio of the largest size to the smallest (over the steps
    both ran when either is partial)."""
    peaks = [_peak_by_step(r) for r in results]
    common = [name for name in peaks[0] if all(name in peak for peak in peaks)]
    t = Table()
    for name in common:
        t.add(name, *(f"{peak[name]:.0f}" for peak in peaks))
    parts = [
        "\nPeak RSS (MB) of the sync process after each step, by N (same steps only):",
        t.render(("step", *(f"N={r['n']:,}" for r in results))),
    ]
    by_n = {r["n"]: (r, peak) for r, peak in zip(results, peaks, strict=True)}
    lo, hi = min(by_n), max(by_n)
    partial = by_n[lo][0].get("partial") or by_n[hi][0].get("partial")
    if partial and common:  # compare like with like: the peak over the steps both sizes ran
        peak = {k: max(by_n[k][1][name] for name in common) for k in (lo, hi)}
        what = f"peak RSS ratio {hi:,} ÷ {lo:,} over the {len(common)} steps both ran"
    else:
        peak = {k: by_n[k][0]["peak_rss_mb"] for k in (lo, hi)}
        what = f"peak RSS ratio {hi:,} ÷ {lo:,}"
    ratio = peak[hi] / peak[lo]
    verdicts.add(
        f"{lo}→{hi}",
        what,
        f"{ratio:.2f}× ({peak[hi]:.0f}/{peak[lo]:.0f} MB)",
        f"≤ {TARGET_RSS_RATIO}×",
        _ok(ratio <= TARGET_RSS_RATIO),
    )
    return parts


def _peak_by_step(r: dict) -> dict[str, float]:
    peak: dict[str, float] = {}
    for p in r["phases"]:
        peak.setdefault(p["name"], p["maxrss_mb"])
    return peak


# -- the sections of one size ----------------------------------------------------------------------------


def _header(r: dict, noun: str = "counterparties") -> list[str]:
    nodelay = ", contour with TCP_NODELAY (what-if)" if r.get("contour_nodelay") else ""
    nodelay += ", staging ANALYZEd (what-if)" if r.get("analyze_staging") else ""
    code = r.get("code") or {}
    server = r.get("bitrix_server") or {}
    lines = [
        f"\n================ N = {r['n']:,} {noun} (staging: {r['staging']}{nodelay}) ================",
        f"code: git {code.get('head')}, uncommitted {', '.join(code.get('dirty') or []) or 'none'}; "
        f"sources sha1 {code.get('sources_sha1')}"
        + (
            "  (plugins/ or contour/ changed on disk during the run; figures: code loaded at start)"
            if r.get("code_changed_during_run")
            else ""
        ),
        f"seed {r['seed_s']:.0f}s; worker wall {r['worker_wall_s']:.0f}s; "
        f"peak RSS {r['peak_rss_mb']:.0f} MB; "
        f"Bitrix24 server: {server.get('requests')} requests, "
        f"{server.get('rejected_503')} × 503, {server.get('rejected_429')} × 429, "
        f"max {server.get('max_requests_per_1s')} req in 1 s; "
        f"client errors {r.get('crm_errors') or 'none'}",
    ]
    if r.get("partial"):
        lines.append(
            "PARTIAL: the time budget ran out during "
            f"{r['phases'][-1]['name'] if r['phases'] else 'set-up'}; "
            "figures below cover the steps that ran"
        )
    return lines


def _runs_table(r: dict) -> str:
    runs = [
        ("A", "A full sync (first)", True),
        ("N0", "N0 incremental, no change", False),
        ("I1", "I1 incremental, 1% edited each side", False),
        ("B", "B full re-sync, nothing to write", True),
    ]
    runs += [(f"C{i}", f"C{i} incremental (converging)", False) for i in range(1, 10)]
    return runs_table(r, runs)


def runs_table(r: dict, runs: list[tuple[str, str, bool]]) -> str:
    """One row per run ``(label, title, per_n)`` that has phases: seconds, records read (and per second,
    and N per second when ``per_n``), HTTP requests."""
    n = r["n"]
    t = Table()
    for label, title, per_n in runs:
        phs = _phs(r, label)
        if not phs:
            continue
        secs = _sum(phs, "seconds")
        recs = _run_records(phs)
        t.add(
            title,
            f"{secs:.1f}",
            f"{recs:,}",
            f"{recs / secs:,.0f}" if secs else "-",
            f"{n / secs:,.0f}" if secs and per_n else "-",
            *_requests(phs),
        )
    return t.render(
        (
            "run",
            "seconds",
            "records read",
            "records/s",
            "N/s",
            "B24 HTTP",
            "1C HTTP",
            "B24 write req",
            "1C write req",
        )
    )


def _requests(phases: list[dict]) -> tuple[int, int, int, int]:
    """HTTP requests of a run: Bitrix24, 1C, Bitrix24 writes, 1C writes."""
    return (
        int(_sum(phases, "crm_requests")),
        _onec_calls(phases),
        int(_sum(phases, "crm_write_requests")),
        _onec_writes(phases),
    )


def _steps_of_a(r: dict, label: str = "A", title: str = "run A (first full sync)") -> list[str]:
    t = Table()
    for p in _phs(r, label):
        t.add(
            p["name"],
            f"{p['seconds']:.1f}",
            p["crm_requests"],
            p["crm_rows"],
            p["crm_cmds_written"],
            f"{p['crm_waited_s']:.1f}",
            f"{p['crm_http_s'] - p['crm_server_s']:.1f}",
            f"{p['crm_server_s']:.1f}",
            _onec_calls([p]),
            _onec_writes([p]),
            p["onec"].get("rows", 0),
            f"{sum(p['onec_time'].values()):.1f}",
            f"{p.get('staging_s', 0):.1f}",
            f"{p.get('settle_s', 0):.1f}",
            f"{p['maxrss_mb']:.0f}",
            _cpu(p),
            p["note"] or fmt_counters(p["counters"]).rstrip("; "),
        )
    lines = [
        f"\nSteps of {title}:",
        t.render(
            (
                "step",
                "s",
                "B24 req",
                "B24 rows",
                "B24 cmds w",
                "B24 limiter s",
                "B24 transport s",
                "B24 server s",
                "1C req",
                "1C writes",
                "1C rows",
                "1C http s (Σ threads)",
                "staging s",
                "settle s",
                "peak MB",
                f"cores sync/contour/others (of {os.cpu_count()})",
                "note / engine counters",
            )
        ),
    ]
    if r.get(f"pending_after_{label}") is not None:
        lines.append(f"pending intents after {label}: {r[f'pending_after_{label}']}")
    lines.append(
        f"Staging time by repository method (top 4 per step of {label}; seconds, summed over threads):"
    )
    for p in _phs(r, label):
        top = ", ".join(f"{k} {v:.1f}" for k, v in list((p.get("staging_top") or {}).items())[:4])
        throughput = ""
        if p.get("planned"):
            throughput = f"; {p['planned'] / p['seconds']:.0f} records/s through plan"
        elif p.get("settled"):
            throughput = f"; {p['settled'] / p['seconds']:.0f} intents/s settled"
        lines.append(f"  {p['name']:<22} {top or '-'}{throughput}")
    return lines


def _bitrix_reads(r: dict, parts: list[str]) -> tuple[float | None, str]:
    """The reads table; returns the steady fraction of the ceiling and the run it comes from (B when it
    has one, else A)."""
    parts.append("\nBitrix24 reads (extract_crm, full): ceiling 2,500 rows/request × 2 req/s = 5,000 rows/s")
    t = Table()
    read_fraction, read_source = None, "-"
    for label, extract in (
        ("A whole run, fresh bucket", _ph(r, "A.extract_crm")),
        ("B saturated bucket", _ph(r, "B.extract_crm")),
    ):
        if not extract:
            continue
        std = extract.get("read_std") or {
            "requests": extract["crm_read_requests"],
            "rows": extract["crm_rows"],
            "seconds": extract["seconds"],
            "switched": False,
        }
        if std["switched"]:
            label += f" (first {std['seconds']:.0f}s, standard plan)"
        reqs, rows, secs = std["requests"], std["rows"], std["seconds"]
        fill = rows / (reqs * ROWS_PER_READ) if reqs else 0
        ideal = max(0, math.ceil(rows / ROWS_PER_READ) - BURST) / DRAIN
        st = extract["read_steady"]
        steady = _steady_fraction(st, fill, READ_CEILING)
        if steady is not None and (label.startswith("B") or read_fraction is None):
            read_fraction, read_source = steady, label.split()[0]
        t.add(
            label,
            reqs,
            f"{rows:,}",
            f"{rows / reqs:,.0f}" if reqs else "-",
            _pct(fill),
            f"{secs:.1f}",
            f"{rows / secs:,.0f}" if secs else "-",
            f"{ideal:.1f}",
            _steady_text(st, "{:,.0f}", "n/a (all within burst)"),
            _pct(steady),
        )
    parts.append(
        t.render(
            (
                "measurement",
                "requests",
                "rows",
                "rows/req",
                "fill",
                "s",
                "rows/s whole",
                "ideal s (fresh bucket)",
                "steady rows/s",
                "steady ÷ 5,000",
            )
        )
    )
    return read_fraction, read_source


def _bitrix_writes(r: dict, parts: list[str], label: str = "A") -> float | None:
    """The writes table of run ``label``'s standard-plan window; returns its steady fraction of the
    ceiling."""
    parts.append(
        "\nBitrix24 writes (load_crm, standard plan window): ceiling 50 commands/request × 2 req/s = 100/s"
    )
    window = _ph(r, f"{label}.load_crm.standard")
    if not window:
        return None
    reqs, cmds = window["crm_write_requests"], window["crm_cmds_written"]
    in_writes = window.get("crm_cmds_in_writes", cmds)
    st = window["write_steady"]
    fill = cmds / (reqs * CMDS_PER_WRITE) if reqs else 0
    write_fraction = _steady_fraction(st, fill, WRITE_CEILING)
    t = Table()
    t.add(
        reqs,
        f"{cmds:,}",
        f"{cmds / reqs:.1f}" if reqs else "-",
        _pct(fill) if reqs else "-",
        f"{window['seconds']:.1f}",
        f"{cmds / window['seconds']:.1f}" if window["seconds"] else "-",
        _steady_text(st, "{:.1f}", "n/a"),
        _pct(write_fraction),
        window["crm_read_requests"],
        in_writes - cmds,
    )
    parts.append(
        t.render(
            (
                "write req",
                "commands",
                "cmds/req",
                "fill",
                "s",
                "cmds/s whole",
                "steady cmds/s",
                "steady ÷ 100",
                "read req in step",
                "read cmds in write req",
            )
        )
    )
    rest = _ph(r, f"{label}.load_crm.unlimited")
    if rest:
        parts.append(
            f"  (window over; the rest, {rest['crm_cmds_written']:,} commands in "
            f"{rest['crm_write_requests']} "
            f"requests, ran with the limit off in {rest['seconds']:.1f}s: "
            f"{rest['crm_cmds_written'] / max(rest['seconds'], 1e-9):.0f} cmds/s, engine+emulator bound)"
        )
    return write_fraction


def _onec_writes_by_pool(r: dict, pools: list[int], parts: list[str], label: str = "A") -> dict[int, float]:
    """The 1C writes table of run ``label``, one row per pool size; returns each size's fraction of
    pool ÷ latency."""
    parts.append(f"\n1C writes (load_onec), 1C latency {ONEC_LATENCY_MS:.0f} ms: ceiling pool ÷ latency")
    rtt = r.get("onec_rtt_ms") or {}
    if rtt:
        parts.append(
            "  1C round trip of one small GET on an idle connection: "
            + ", ".join(f"latency {k} ms → median {v['median']:.1f} ms" for k, v in rtt.items())
            + " (the emulator answers latency_ms after a request arrives, its own work included)"
        )
    rtt20 = (rtt.get(str(ONEC_LATENCY_MS)) or {}).get("median")
    t = Table()
    fractions = {}
    for k in pools:
        sample = _ph(r, f"{label}.load_onec.p{k}")
        if not sample:
            continue
        writes = _onec_writes([sample])
        reads = _onec_calls([sample]) - writes
        ceiling = k / (ONEC_LATENCY_MS / 1000.0)
        rate = writes / sample["seconds"] if sample["seconds"] else 0
        fractions[k] = rate / ceiling
        mean_ms = 1000 * sum(sample["onec_time"].get(v, 0) for v in ("POST", "PATCH")) / max(writes, 1)
        c = sample["counters"]
        t.add(
            k,
            writes,
            reads,
            f"{(writes + reads) / writes:.2f}" if writes else "-",
            f"{sample['seconds']:.2f}",
            f"{rate:.1f}",
            f"{ceiling:.0f}",
            _pct(rate / ceiling),
            _pct(rate / (k / (rtt20 / 1000.0))) if rtt20 else "-",
            f"{mean_ms:.1f}",
            f"{sample['cpu'].get('sync', 0):.2f}" if sample.get("cpu") else "-",
            f"create {c.get('onec_create', 0)}, update {c.get('onec_update', 0)}, "
            f"left {c.get('onec_left_pending', 0)}",
        )
    parts.append(
        t.render(
            (
                "pool",
                "writes",
                "other 1C req",
                "1C req per write",
                "s",
                "writes/s",
                "pool÷latency",
                "fraction",
                "÷ (pool÷RTT@20ms)",
                "mean write ms (client)",
                "sync cores",
                "intents",
            )
        )
    )
    return fractions


def _no_change(r: dict, n0: list[dict], parts: list[str]) -> None:
    if not n0:
        return
    parts.append(
        f"\nNo-change incremental run N0: Bitrix24 {int(_sum(n0, 'crm_requests'))} HTTP requests "
        f"({int(_sum(n0, 'crm_read_cmds'))} batch sub-commands), 1C {_onec_calls(n0)} HTTP requests, "
        f"{_sum(n0, 'seconds'):.2f}s, re-read {_run_records(n0)} records (overlap window); "
        f"converged after {r.get('converge_runs')} incremental run(s)"
    )
    for p in n0:
        parts.append(
            f"  {p['name']:<18} {p['seconds']:6.2f}s  B24 {p['crm_requests']}  1C {_onec_calls([p])}"
        )


# -- small helpers ------------------------------------------------------------------------------------------


def _ph(result: dict, name: str) -> dict | None:
    return next((p for p in result["phases"] if p["name"] == name), None)


def _phs(result: dict, prefix: str) -> list[dict]:
    return [p for p in result["phases"] if p["name"].startswith(prefix + ".")]


def _sum(phases: list[dict], key: str) -> float:
    return sum(p[key] for p in phases)


def _onec_calls(phases: list[dict]) -> int:
    return sum(v for p in phases for k, v in p["onec"].items() if k.isupper())


def _onec_writes(phases: list[dict]) -> int:
    return sum(p["onec"].get(v, 0) for p in phases for v in ONEC_WRITE_VERBS)


def _run_records(phases: list[dict]) -> int:
    return sum(p["counters"].get("crm_read", 0) + p["counters"].get("onec_read", 0) for p in phases)


def _steady_fraction(st: dict | None, fill: float, ceiling: float) -> float | None:
    """Steady rate ÷ ceiling. A pipeline-bound rate above what the ceiling allows at this fill means the
    engine is faster than the portal: in a long run the bucket binds, at ``fill × ceiling``."""
    if not st:
        return None
    rate = st["per_s"]
    if str(st.get("kind", "")).startswith("pipeline"):
        rate = min(rate, fill * ceiling)
    return rate / ceiling


def _steady_text(st: dict | None, rate_format: str, missing: str) -> str:
    if not st:
        return missing
    bound = ", pipeline-bound)" if st.get("kind", "").startswith("pipeline") else ")"
    return f"{rate_format.format(st['per_s'])} ({st['requests']} req / {st['window_s']:.1f}s{bound}"


def _cpu(p: dict) -> str:
    c = p.get("cpu") or {}
    if not c:
        return "-"
    return f"{c['sync']:.2f}/{c['contour']:.2f}/{c['others']:.2f}"


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}%"


def _ok(flag: bool) -> str:
    return "PASS" if flag else "FAIL"
