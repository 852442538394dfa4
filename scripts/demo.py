"""The demo: run the whole chain once through Airflow against the contour, then report in plain words.

Called by ``make demo`` after the contour is up with the demo data. Runs ``sync_counterparties`` →
``sync_nomenclature`` → ``sync_invoices`` → ``sync_payments``, each with ``./airflow.sh dags test``, in
that order (as their assets chain them), then prints what each system held before and after, what each
run did, the 1C documents crm1c made, the deals' payment statuses, what waits in quarantine (and why) and
the conflicts. The figures come from the emulators' APIs (1C OData, Bitrix24 REST) and the staging
database.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import requests
import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO / "plugins"), str(REPO)]

from contour.bitrix import seed as bitrix_seed  # noqa: E402 - after the path set-up
from contour.bitrix.app import BitrixApp  # noqa: E402
from contour.onec import seed as onec_seed  # noqa: E402
from contour.onec.app import OneCApp  # noqa: E402
from contour.settings import ContourSettings  # noqa: E402

#: The chain, in order: DAG id, staging entity, what it moves.
CHAIN = (
    ("sync_counterparties", "counterparty", "companies ⇄ counterparties"),
    ("sync_nomenclature", "nomenclature", "1C goods and services → CRM catalog"),
    ("sync_invoices", "invoice", "deals and smart invoices → 1C documents"),
    ("sync_payments", "payment", "1C receipts → deals' payment fields"),
)
INVOICES, SALES = "Document_СчетНаОплатуПокупателю", "Document_РеализацияТоваровУслуг"
RECEIPTS = "Document_ПоступлениеНаРасчетныйСчет"
DEAL_TAG, SMART_TAG = "crm1c:deal:", "crm1c:invoice:"
STATUS = {"unpaid": "unpaid", "partially_paid": "partly paid", "paid": "paid", "overpaid": "overpaid"}


def main() -> int:
    settings = ContourSettings.from_env()
    home = Path(os.environ.get("AIRFLOW_HOME", REPO / ".airflow"))
    home.mkdir(parents=True, exist_ok=True)
    staging_file = home / "staging.sqlite3"
    staging_file.unlink(missing_ok=True)  # a demo starts from a clean exchange
    before = _counts(settings.state_dir)
    print("\nRunning the chain through Airflow (./airflow.sh dags test <dag>), one DAG after the other:")
    started = time.monotonic()
    for dag_id, _key, what in CHAIN:
        log_file = home / f"demo-{dag_id}.log"
        print(f"  {dag_id:<20} {what} …", end="", flush=True)
        began = time.monotonic()
        with open(log_file, "w") as log:
            code = subprocess.call(
                [str(REPO / "airflow.sh"), "dags", "test", dag_id, "-c", '{"mode": "full"}'],
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=REPO,
            )
        if code != 0:
            print(f" FAILED (exit {code}); the full log is in {log_file}")
            return code
        print(f" done in {time.monotonic() - began:.0f} s")
    print(f"The chain took {time.monotonic() - started:.0f} s.\n")
    after = _counts(settings.state_dir)
    _table(
        "What each system holds",
        ("", "before", "after"),
        [(label, str(before[label]), str(after[label])) for label in before],
        right=(1, 2),
    )
    contour = _Contour(settings)
    _report(f"sqlite:///{staging_file}", contour)
    print(f"\nFull Airflow logs: {home}/demo-<dag>.log.")
    print("UI: make up → http://127.0.0.1:8080 (login admin, with the password make up prints).")
    return 0


def _counts(state: Path) -> dict[str, int]:
    onec = onec_seed.summary(state)
    crm = bitrix_seed.summary(state)
    return {
        "CRM companies": crm.get("companies", 0),
        "1C counterparties": onec.get("Catalog_Контрагенты", 0),
        "CRM products": crm.get("products", 0),
        "1C nomenclature (with folders)": onec.get("Catalog_Номенклатура", 0),
        "CRM deals": crm.get("deals", 0),
        "CRM smart invoices": crm.get("smart invoices", 0),
        "1C payment invoices": onec.get(INVOICES, 0),
        "1C sales": onec.get(SALES, 0),
        "1C bank receipts": onec.get(RECEIPTS, 0),
    }


class _Contour:
    """Read-only calls to the two emulators, with the credentials the contour runs with."""

    def __init__(self, settings: ContourSettings) -> None:
        self.session = requests.Session()
        self.session.trust_env = False  # the contour's CA, never a bundle or a proxy from the environment
        self.verify = str(settings.ca_file) if settings.scheme == "https" else True
        onec, bitrix = OneCApp.knob_defaults, BitrixApp.knob_defaults
        self.onec_url = settings.onec_url
        self.onec_auth = (
            os.environ.get("CONTOUR_ONEC_USER", onec["user"]).encode(),
            os.environ.get("CONTOUR_ONEC_PASSWORD", onec["password"]).encode(),
        )
        user = os.environ.get("CONTOUR_BITRIX_WEBHOOK_USER", bitrix["webhook_user"])
        token = os.environ.get("CONTOUR_BITRIX_WEBHOOK_TOKEN", bitrix["webhook_token"])
        self.bitrix_url = f"{settings.bitrix_url}rest/{user}/{token}/"

    def onec(self, entity_set: str) -> Iterator[dict[str, Any]]:
        """Every object of a 1C entity set (pages of 500)."""
        skip = 0
        while True:
            params = {"$format": "json", "$top": "500", "$skip": str(skip), "$orderby": "Ref_Key"}
            answer = self.session.get(
                self.onec_url + entity_set, params=params, auth=self.onec_auth, verify=self.verify, timeout=30
            )
            answer.raise_for_status()
            page = answer.json()["value"]
            yield from page
            if len(page) < 500:
                return
            skip += 500

    def onec_names(self, entity_set: str) -> dict[str, str]:
        """Ref_Key → Description of a catalog."""
        return {str(r["Ref_Key"]): str(r.get("Description") or "") for r in self.onec(entity_set)}

    def bitrix(self, method: str, body: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """Every record a Bitrix24 list method returns (pages of 50; waits out the portal's rate limit)."""
        start: Any = 0
        while start is not None:
            for _attempt in range(10):
                answer = self.session.post(
                    f"{self.bitrix_url}{method}.json",
                    json={**body, "start": start},
                    verify=self.verify,
                    timeout=30,
                )
                if answer.status_code != 503:
                    break
                time.sleep(1)
            answer.raise_for_status()
            reply = answer.json()
            result = reply["result"]
            yield from result["items"] if isinstance(result, dict) else result
            start = reply.get("next")


def _report(url: str, contour: _Contour) -> None:
    from crm1c.staging import Staging, make_engine

    staging = Staging(make_engine(url))
    held = staging.open_quarantine()
    conflicts = staging.open_conflicts()
    rows = []
    for _dag_id, key, _what in CHAIN:
        run = _last_run(staging, key)
        totals = run.detail if run is not None else {}
        rows.append(
            (
                key,
                *(
                    str(totals.get(k, 0))
                    for k in (
                        "crm_read",
                        "onec_read",
                        "onec_create",
                        "onec_update",
                        "crm_create",
                        "crm_update",
                    )
                ),
                str(len({(q.system, q.external_id) for q in held if q.entity == key})),
                str(sum(c.entity == key for c in conflicts)),
            )
        )
    _table(
        "What each run did (records)",
        (
            "entity",
            "read CRM",
            "read 1C",
            "new in 1C",
            "upd. 1C",
            "new in CRM",
            "upd. CRM",
            "held",
            "conflicts",
        ),
        rows,
        right=range(1, 9),
    )
    deals = {
        str(d["ID"]): d
        for d in contour.bitrix("crm.deal.list", {"order": {"ID": "ASC"}, "select": _deal_fields()})
    }
    smart = {
        str(i["id"]): i
        for i in contour.bitrix(
            "crm.item.list", {"entityTypeId": 31, "select": ["id", "title", "accountNumber", "parentId2"]}
        )
    }
    _documents(contour, deals, smart)
    _payments(deals)
    _quarantine(held, deals)
    _conflicts(conflicts)
    ok, bad = staging.verify_audit_chain()
    print(f"\nAudit log: {'hash chain verified' if ok else f'BROKEN at row {bad}'}")


def _last_run(staging: Any, key: str) -> Any:
    """The newest ``run`` audit row (publish's totals) of one entity."""
    import sqlalchemy as sa

    from crm1c.staging.models import AuditEntry
    from crm1c.staging.schema import audit_log

    query = (
        sa.select(audit_log)
        .where(audit_log.c.op == "run", audit_log.c.entity == key)
        .order_by(audit_log.c.id.desc())
        .limit(1)
    )
    with staging.engine.connect() as conn:
        row = conn.execute(query).first()
    return None if row is None else AuditEntry(**row._mapping)


def _payment_fields() -> dict[str, str]:
    mapping = yaml.safe_load((REPO / "include" / "mappings" / "payments.yaml").read_text(encoding="utf-8"))
    return {str(k): str(v) for k, v in mapping["fields"].items()}


def _deal_fields() -> list[str]:
    return ["ID", "TITLE", "STAGE_ID", "OPPORTUNITY", "CURRENCY_ID", *_payment_fields().values()]


def _documents(contour: _Contour, deals: dict[str, dict], smart: dict[str, dict]) -> None:
    currencies = contour.onec_names("Catalog_Валюты")
    rows = []
    for entity_set, kind in ((INVOICES, "invoice"), (SALES, "sale")):
        for doc in contour.onec(entity_set):
            source = _source(str(doc.get("Комментарий") or ""), deals, smart)
            if source is None or doc.get("DeletionMark"):
                continue
            vat = sum(
                (
                    Decimal(str(r.get("СуммаНДС") or 0))
                    for t in ("Товары", "Услуги")
                    for r in doc.get(t) or []
                ),
                Decimal(0),
            )
            rows.append(
                (
                    kind,
                    str(doc.get("Number") or ""),
                    str(doc.get("Date") or "")[:10],
                    _money(doc.get("СуммаДокумента")),
                    _money(vat),
                    currencies.get(str(doc.get("ВалютаДокумента_Key")), ""),
                    "yes" if doc.get("Posted") else "no",
                    source,
                )
            )
    rows.sort(key=lambda r: (r[2], r[1]))
    _table(
        f"1C documents crm1c made ({len(rows)}; invoice = СчетНаОплатуПокупателю, "
        "sale = РеализацияТоваровУслуг; created unposted: the accountant posts them)",
        ("kind", "number", "date", "sum", "VAT", "cur.", "posted", "for"),
        rows,
        right=(3, 4),
    )


def _source(comment: str, deals: dict[str, dict], smart: dict[str, dict]) -> str | None:
    """Which deal (or smart invoice) a document's ``Комментарий`` tag names; None: not made by crm1c."""
    for word in comment.split():
        if word.startswith(DEAL_TAG):
            deal_id = word.removeprefix(DEAL_TAG)
            return f"deal {deal_id} «{_cut(str(deals.get(deal_id, {}).get('TITLE', '?')), 40)}»"
        if word.startswith(SMART_TAG):
            item_id = word.removeprefix(SMART_TAG)
            item = smart.get(item_id, {})
            parent = f", deal {item['parentId2']}" if item.get("parentId2") else ""
            return f"smart invoice {item_id} {item.get('accountNumber') or ''}{parent}".replace("  ", " ")
    return None


def _payments(deals: dict[str, dict]) -> None:
    fields = _payment_fields()
    rows = []
    for deal_id, deal in deals.items():
        status = deal.get(fields["pay_status"])
        if not status:
            continue
        rows.append(
            (
                deal_id,
                _cut(str(deal.get("TITLE") or ""), 38),
                str(deal.get("STAGE_ID") or ""),
                f"{_money(deal.get('OPPORTUNITY'))} {deal.get('CURRENCY_ID') or ''}",
                STATUS.get(str(status), str(status)),
                _money(deal.get(fields["paid_sum"])),
                str(deal.get(fields["paid_date"]) or "")[:10] or "—",
            )
        )
    _table(
        f"Deals' payment status, from 1C's bank receipts ({len(rows)} deals with 1C documents)",
        ("deal", "title", "stage", "amount", "status", "paid", "last payment"),
        rows,
        right=(3, 5),
    )


def _quarantine(held: Sequence[Any], deals: dict[str, dict]) -> None:
    records = {(q.entity, q.system, q.external_id) for q in held}
    print(
        f"\nWaiting in quarantine: {len(records)} records "
        "(fix them at the source, the next run picks them up)"
    )
    if not held:
        print("  nothing")
    for _dag_id, key, _what in CHAIN:
        mine = [q for q in held if q.entity == key]
        if not mine:
            continue
        print(f"  {key} ({len({(q.system, q.external_id) for q in mine})}):")
        for q in mine:
            print(f"    {_record(q, deals)}, field {q.field}")
            for lang, reason in (("ru", q.reason_ru), ("en", q.reason_en)):
                print(
                    textwrap.fill(
                        " ".join(reason.split()),
                        110,
                        initial_indent=f"      {lang}: ",
                        subsequent_indent=" " * 10,
                    )
                )


def _record(q: Any, deals: dict[str, dict]) -> str:
    """A held record in words: which system, what it is, its id."""
    side = "CRM" if q.system == "crm" else "1C"
    if q.entity == "counterparty":
        return f"{side} {'company' if side == 'CRM' else 'counterparty'} {q.external_id}"
    if q.entity == "nomenclature":
        return f"{side} {'product' if side == 'CRM' else 'item'} {q.external_id}"
    if q.entity == "invoice" and side == "CRM":
        source, _, kind = q.external_id.rpartition(":")
        if source.startswith("SI"):
            return f"{kind} of CRM smart invoice {source.removeprefix('SI')}"
        title = deals.get(source, {}).get("TITLE")
        return f"{kind} of CRM deal {source}" + (f" «{_cut(str(title), 40)}»" if title else "")
    if q.entity == "payment" and side == "CRM":
        if q.external_id.startswith("invoice:"):
            return f"CRM smart invoice {q.external_id.removeprefix('invoice:')}"
        title = deals.get(q.external_id, {}).get("TITLE")
        return f"CRM deal {q.external_id}" + (f" «{_cut(str(title), 40)}»" if title else "")
    return f"{side} {q.entity} {q.external_id}"


def _conflicts(conflicts: Sequence[Any]) -> None:
    print(f"\nEdited differently on both sides: {len(conflicts)} (the owning system's value was kept)")
    for c in conflicts:
        crm, onec = _cut(_text(c.crm_value), 45), _cut(_text(c.onec_value), 45)
        print(
            f"  {c.entity} CRM {c.crm_id} / 1C {_cut(c.onec_id, 13)}, {c.field}: CRM «{crm}» vs 1C «{onec}»"
        )


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _money(value: Any) -> str:
    if value is None or value == "":
        return "—"
    return f"{Decimal(str(value)):,.2f}".replace(",", " ")


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _table(title: str, header: Sequence[str], rows: Sequence[Sequence[str]], right: Any = ()) -> None:
    """A plain-text table under a title; columns in ``right`` are right-aligned."""
    print(f"\n{title}")
    if not rows:
        print("  none")
        return
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    aligned = set(right)

    def line(cells: Sequence[str]) -> str:
        out = [
            str(c).rjust(w) if i in aligned else str(c).ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  " + "  ".join(out).rstrip()

    print(line(header))
    print("  " + "  ".join("─" * w for w in widths))
    for row in rows:
        print(line(row))


if __name__ == "__main__":
    sys.exit(main())
