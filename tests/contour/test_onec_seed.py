"""1C OData emulator: seeding (deterministic ids, counts, posting of the profiles), state surviving a restart,
the prohibition knob surviving a re-seed, and list/filter speed at scale."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path
from urllib.parse import quote

from contour import profiles
from contour.onec import seed
from contour.onec.app import OneCApp
from contour.web import Request
from tests.contour.conftest import OneC, onec_dataset

BASE = "/accounting/odata/standard.odata/"
AUTH = "Basic " + base64.b64encode("Интеграция:contour".encode()).decode()


def call(app: OneCApp, path: str, query: str = "") -> tuple[int, object]:
    response = app.handle(
        Request("GET", BASE + path, BASE + path, query, {"authorization": AUTH, "host": "h"})
    )
    text = response.body.decode()
    return response.status, (json.loads(text) if text.startswith("{") else text)


def test_seed_is_deterministic_and_counted(tmp_path: Path) -> None:
    data = onec_dataset()
    seed.seed(tmp_path, data)
    counts = seed.summary(tmp_path)
    assert counts["Catalog_Контрагенты"] == 4 and counts["Catalog_ДоговорыКонтрагентов"] == 4
    assert counts["Catalog_Номенклатура"] == 3 and counts["Catalog_Валюты"] == 3
    assert counts["Catalog_КлассификаторЕдиницИзмерения"] == 7 and counts["Catalog_Организации"] == 1
    assert (
        counts["Document_РеализацияТоваровУслуг"] == 3 and counts["Document_ПоступлениеНаРасчетныйСчет"] == 1
    )
    assert counts["AccountingRegister_Хозрасчетный_RecordType"] == 5 and counts["requests"] == 0
    assert {"51", "60.01", "60.02", "62.01", "62.02", "68.02", "76.АВ", "90.01.1", "90.03"} <= {
        row["Code"] for row in call(OneCApp(tmp_path), "ChartOfAccounts_Хозрасчетный")[1]["value"]
    }
    app = OneCApp(tmp_path)
    first = call(app, "Catalog_Контрагенты", "$select=Ref_Key,Code")[1]["value"]
    seed.seed(tmp_path, data)
    assert call(app, "Catalog_Контрагенты", "$select=Ref_Key,Code")[1]["value"] == first
    assert first[0]["Ref_Key"] == seed.ref("company", "c-alfa")
    assert seed.summary(tmp_path)["requests"] == 1  # the re-seed wiped the log; one call since


def test_state_survives_a_restart(tmp_path: Path) -> None:
    seed.seed(tmp_path, onec_dataset())
    app = OneCApp(tmp_path)
    body = json.dumps({"Description": "Переживёт рестарт"}).encode()
    created = app.handle(
        Request(
            "POST",
            BASE + "Catalog_Контрагенты",
            BASE + "Catalog_Контрагенты",
            "",
            {"authorization": AUTH, "host": "h"},
            body,
        )
    )
    assert created.status == 201
    restarted = OneCApp(tmp_path)
    status, found = call(
        restarted, "Catalog_Контрагенты", "$filter=" + quote("Description eq 'Переживёт рестарт'")
    )
    assert status == 200 and len(found["value"]) == 1  # type: ignore[index]


def test_prohibition_knob_survives_reseed(onec: OneC, onec_contour) -> None:
    onec_contour.knobs("onec", prohibition_date="2026-01-31")
    seed.seed(onec_contour.state_dir, onec_dataset())  # the dataset says 2025-12-31; the operator's knob wins
    (row,) = onec.value("InformationRegister_ДатыЗапретаИзменения")
    assert row["ДатаЗапрета"] == "2026-01-31T00:00:00"


def test_demo_profile_posts_consistently(tmp_path: Path) -> None:
    data = profiles.demo()
    seed.seed(tmp_path, data)
    app = OneCApp(tmp_path)
    sales = call(app, "Document_РеализацияТоваровУслуг", "$filter=Posted eq true")[1]["value"]
    recorders = {r["Recorder"] for r in call(app, "AccountingRegister_Хозрасчетный_RecordType")[1]["value"]}
    assert sales and {s["Ref_Key"] for s in sales} <= recorders
    balance = call(app, "AccountingRegister_Хозрасчетный/Balance()")[1]["value"]
    assert abs(sum(row["СуммаBalance"] for row in balance)) < 0.005  # double entry: Σ Dr − Cr = 0
    date = data.prohibition_date
    (row,) = call(app, "InformationRegister_ДатыЗапретаИзменения")[1]["value"]
    assert row["ДатаЗапрета"] == (f"{date.isoformat()}T00:00:00" if date else "0001-01-01T00:00:00")


def test_scale_lookup_and_paging_stay_in_sql(tmp_path: Path) -> None:
    data = profiles.scale(5000)
    started = time.perf_counter()
    seed.seed(tmp_path, data)
    seeded = time.perf_counter() - started
    app = OneCApp(tmp_path)
    company = next(c for c in reversed(data.companies) if c.in_onec and c.kpp)
    started = time.perf_counter()
    for _ in range(20):
        status, found = call(
            app,
            "Catalog_Контрагенты",
            "$filter=" + quote(f"ИНН eq '{company.inn}' and КПП eq '{company.kpp}'"),
        )
        assert status == 200 and [r["Description"] for r in found["value"]] == [company.name[:100]]  # type: ignore[index]
    lookup = (time.perf_counter() - started) / 20
    status, page = call(app, "Catalog_Контрагенты", "$top=100&$skip=3000&$orderby=Code")
    assert status == 200 and len(page["value"]) == 100  # type: ignore[index]
    assert page["value"][0]["Code"] == "000003001"  # type: ignore[index]
    assert seeded < 60 and lookup < 0.25, (seeded, lookup)
