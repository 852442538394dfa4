"""Bitrix24 emulator: seeding, summary, persistence across restarts, index use and 100k scale."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import requests

from contour.bitrix import seed, storage
from contour.bitrix.app import BitrixApp
from contour.dataset import Company, Dataset
from contour.profiles import inn10, organisation
from contour.tls import server_context
from contour.web import ContourServer, serve_in_thread
from tests.contour.conftest import bitrix_dataset

WEBHOOK = "/rest/1/contour0webhook0token/"


def test_summary_counts_and_deterministic_ids(tmp_path: Path) -> None:
    assert seed.summary(tmp_path) == {
        "companies": 0,
        "requisites": 0,
        "products": 0,
        "deals": 0,
        "product rows": 0,
        "smart invoices": 0,
        "smart invoice product rows": 0,
    }
    seed.seed(tmp_path, bitrix_dataset())
    counts = seed.summary(tmp_path)
    assert counts == {
        "companies": 118,
        "requisites": 118,
        "products": 4,
        "deals": 5,
        "product rows": 6,
        "smart invoices": 2,
        "smart invoice product rows": 2,
    }
    conn = sqlite3.connect(tmp_path / storage.DB_NAME)
    titles = [
        r[0] for r in conn.execute("SELECT json_extract(data, '$.TITLE') FROM company ORDER BY id LIMIT 7")
    ]
    assert titles[0] == 'ООО "Компания 000"' and titles[5] == "Ромашка"
    first = conn.execute("SELECT id, data FROM company ORDER BY id").fetchall()
    conn.close()
    seed.seed(tmp_path, bitrix_dataset())  # wipes and reloads with the same ids
    conn = sqlite3.connect(tmp_path / storage.DB_NAME)
    again = conn.execute("SELECT id, json_extract(data, '$.TITLE') FROM company ORDER BY id").fetchall()
    conn.close()
    assert [r[0] for r in again] == [r[0] for r in first] == list(range(1, 119))


def test_demo_profile_seeds(tmp_path: Path) -> None:
    from contour import profiles

    data = profiles.demo()
    seed.seed(tmp_path, data)
    counts = seed.summary(tmp_path)
    assert counts["companies"] == sum(c.in_crm for c in data.companies) > 0
    assert counts["products"] == sum(p.in_crm for p in data.products)
    assert counts["deals"] == len(data.deals) and counts["product rows"] == sum(
        len(d.rows) for d in data.deals
    )
    invoices = sum(d.stage_id in ("PREPAYMENT_INVOICE", "FINAL_INVOICE") for d in data.deals)
    assert counts["smart invoices"] == invoices
    invoice_rows = sum(
        len(d.rows) for d in data.deals if d.stage_id in ("PREPAYMENT_INVOICE", "FINAL_INVOICE")
    )
    assert counts["smart invoice product rows"] == invoice_rows


def test_state_survives_a_restart(tmp_path: Path) -> None:
    ca = str(tmp_path / "ca.pem")

    def start() -> ContourServer:
        server = ContourServer(
            BitrixApp(tmp_path, {"rate_plan": "off"}), "127.0.0.1", 0, server_context(tmp_path)
        )
        serve_in_thread(server)
        return server

    server = start()
    url = f"https://127.0.0.1:{server.server_address[1]}{WEBHOOK}"
    new_id = requests.post(
        url + "crm.company.add", json={"fields": {"TITLE": "Переживёт"}}, verify=ca, timeout=10
    ).json()["result"]
    requests.post(
        f"https://127.0.0.1:{server.server_address[1]}/_contour/knobs",
        json={"webhook_token": "t2"},
        verify=ca,
        timeout=10,
    )
    server.shutdown()
    server.server_close()

    server = start()
    url = f"https://127.0.0.1:{server.server_address[1]}/rest/1/t2/"
    got = requests.post(url + "crm.company.get", json={"id": new_id}, verify=ca, timeout=10)
    server.shutdown()
    server.server_close()
    assert got.status_code == 200 and got.json()["result"]["TITLE"] == "Переживёт"


def test_list_queries_use_indexes(tmp_path: Path) -> None:
    seed.seed(tmp_path, bitrix_dataset())
    conn = storage.connect(tmp_path / storage.DB_NAME)
    plans = {
        "keyset": "SELECT id, data FROM company WHERE (1) AND (id > ?) ORDER BY id ASC LIMIT 50",
        "modified": "SELECT id, data FROM company WHERE date_modify >= ? ORDER BY date_modify, id LIMIT 50",
        "origin": "SELECT id, data FROM company WHERE origin_id = ?",
        "rows": "SELECT id, data FROM productrow WHERE owner_type = ? AND owner_id = ?",
    }
    details = {
        name: " ".join(r[3] for r in conn.execute("EXPLAIN QUERY PLAN " + sql, (1,) * sql.count("?")))
        for name, sql in plans.items()
    }
    conn.close()
    assert "USING INTEGER PRIMARY KEY (rowid>?)" in details["keyset"]
    assert all("USING INDEX" in details[name] for name in ("modified", "origin", "rows")), details


def test_hundred_thousand_companies_seed_fast_and_page_by_keyset(tmp_path: Path) -> None:
    companies = [
        Company(
            f"k{i:06d}",
            f'ООО "Масштаб {i}"',
            f'ООО "Масштаб {i}"',
            "legal",
            inn10(f"77{i:07d}"),
            "770101001",
            True,
            True,
        )
        for i in range(100_000)
    ]
    data = Dataset("scale-test", organisation(), None, companies=companies)
    started = time.monotonic()
    seed.seed(tmp_path, data)
    took = time.monotonic() - started
    assert seed.summary(tmp_path)["companies"] == 100_000
    assert took < 60, f"seeding 100k companies took {took:.1f}s"

    server = ContourServer(
        BitrixApp(tmp_path, {"rate_plan": "off"}), "127.0.0.1", 0, server_context(tmp_path)
    )
    serve_in_thread(server)
    try:
        url = f"https://127.0.0.1:{server.server_address[1]}{WEBHOOK}crm.company.list"
        started = time.monotonic()
        body = requests.post(
            url,
            json={"filter": {">ID": 99_900}, "order": {"ID": "ASC"}, "start": -1, "select": ["ID", "TITLE"]},
            verify=str(tmp_path / "ca.pem"),
            timeout=30,
        ).json()
        assert time.monotonic() - started < 2
        assert [r["ID"] for r in body["result"]] == [str(i) for i in range(99_901, 99_951)]
        assert "total" not in body
    finally:
        server.shutdown()
        server.server_close()
