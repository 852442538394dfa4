"""The printed report of the document chain bench (``bench_invoices.py``): each size's runs and steps, 1C
documents/s against pool ÷ latency, the payment fields written against the Bitrix24 batch write ceiling, the
HTTP requests of the no-change runs, and the peak RSS of two sizes; built from :mod:`bench.report`'s parts."""

from __future__ import annotations

from bench.ceilings import TARGET_NOCHANGE_CALLS, TARGET_ONEC
from bench.report import (
    Table,
    _bitrix_writes,
    _header,
    _ok,
    _onec_calls,
    _onec_writes_by_pool,
    _pct,
    _ph,
    _phs,
    _run_records,
    _steps_of_a,
    _sum,
    peak_and_profiles,
    runs_table,
    write_verdict,
)
from bench.report import report as common_report

NO_CHANGE = (("IN0", "sync_invoices"), ("PN0", "sync_payments"))


def report(results: list[dict], pools: list[int]) -> str:
    """Every size's figures, then (with two sizes or more) peak RSS by size, then the targets."""
    return common_report(results, pools, size_report)


def size_report(r: dict, pools: list[int], verdicts: Table) -> list[str]:
    """The figures of one size; its rows of the targets table go to ``verdicts``."""
    n = r["n"]
    parts = _header(r, "deals")
    if r.get("prep_s") is not None:
        parts.append(f"counterparties and nomenclature synced first (not measured) in {r['prep_s']:.0f}s")
    parts.append(runs_table(r, _runs(r)))
    parts += _steps_of_a(r, "I", "run I (first full sync_invoices)")
    _read_window(r, parts)
    fractions = _onec_writes_by_pool(r, pools, parts, "I")
    parts += _steps_of_a(r, "P", "run P (first full sync_payments)")
    write_fraction = _bitrix_writes(r, parts, "P")
    for k, f in fractions.items():
        verdicts.add(n, f"1C documents/s pool {k} ÷ ({k}/20 ms)", _pct(f), "≥ 80%", _ok(f >= TARGET_ONEC))
    if not fractions:
        verdicts.add(n, "1C documents/s ÷ pool/latency", "not reached", "≥ 80%", "n/a")
    write_verdict(r, verdicts, "P", "payment fields into the CRM, steady ÷ 100 cmds/s", write_fraction)
    parts.append("\nNo-change incremental runs (HTTP requests per system; a batch counts as one):")
    for label, dag in NO_CHANGE:
        phs = _phs(r, label)
        if not phs:
            verdicts.add(n, f"no-change {dag}", "not reached", "≤ 5 per system", "n/a")
            continue
        crm, onec = int(_sum(phs, "crm_requests")), _onec_calls(phs)
        parts.append(
            f"  {dag} ({label}): Bitrix24 {crm} ({int(_sum(phs, 'crm_read_cmds'))} batch sub-commands), "
            f"1C {onec}, {_sum(phs, 'seconds'):.2f}s, re-read {_run_records(phs)} records; by step: "
            + ", ".join(
                f"{p['name'].split('.', 1)[1]} B24 {p['crm_requests']} 1C {_onec_calls([p])}" for p in phs
            )
        )
        for system, count in (("Bitrix24", crm), ("1C", onec)):
            verdicts.add(
                n, f"no-change {dag}, {system} HTTP", count, "≤ 5", _ok(count <= TARGET_NOCHANGE_CALLS)
            )
    return parts + peak_and_profiles(r, verdicts)


def _step_calls(p: dict) -> str:
    return f"{p['name'].split('.', 1)[1]} B24 {p['crm_requests']} 1C {_onec_calls([p])}"


def _runs(r: dict) -> list[tuple[str, str, bool]]:
    runs = [("I", "I sync_invoices, first full", True)]
    runs += [(f"IC{i}", f"IC{i} sync_invoices, converging", False) for i in range(1, 10)]
    runs += [("P", "P sync_payments, first full", True)]
    runs += [(f"PC{i}", f"PC{i} sync_payments, converging", False) for i in range(1, 10)]
    for i in range(1, 10):
        runs += [(f"IR{i}", f"IR{i} sync_invoices after payments", False)]
        runs += [(f"PR{i}", f"PR{i} sync_payments after that", False)]
    runs += [(label, f"{label} {dag}, no change", False) for label, dag in NO_CHANGE]
    return runs


def _read_window(r: dict, parts: list[str]) -> None:
    """Deals read by I's extract_crm while at the standard plan (25 deals' rows and history per request)."""
    extract = _ph(r, "I.extract_crm")
    if not extract or not extract.get("read_std"):
        return
    std = extract["read_std"]
    deals = extract["counters"].get("crm_read", 0)
    parts.append(
        f"\nI.extract_crm: {std['requests']} Bitrix24 requests in the first {std['seconds']:.0f}s at the "
        f"standard plan{' (then limit off)' if std['switched'] else ''}; the whole step read {deals:,} "
        f"document records in {extract['seconds']:.0f}s with {extract['crm_requests']} requests "
        f"({extract['crm_read_cmds']} sub-commands)"
    )
