"""Shared fixtures of the contour tests."""

from __future__ import annotations

# ------------------------------------------------------------------------------ 1C OData emulator
import datetime as _dt
from decimal import Decimal as _D
from typing import Any as _Any

import pytest as _pytest
import requests as _requests

from contour import profiles as _profiles
from contour.dataset import (
    Allocation,
    Company,
    CurrencyRate,
    Dataset,
    DealRow,
    Payment,
    Product,
    SalesDocument,
)
from contour.onec import seed as _onec_seed

ONEC_LOGIN, ONEC_PASSWORD = "Интеграция", "contour"


def onec_dataset() -> Dataset:
    """A small 1C base with exact, hand-checkable amounts (22% from 2026, 20% before)."""
    legal = Company(
        "c-alfa",
        'ООО "Альфа"',
        'Общество с ограниченной ответственностью "Альфа"',
        "legal",
        "7707083893",
        "770701001",
        True,
        True,
        phone="+7 495 000-00-01",
        email="alfa@example.ru",
    )
    branch = Company(
        "c-alfa-spb",
        'ООО "Альфа" (СПб)',
        'ООО "Альфа", филиал в Санкт-Петербурге',
        "branch",
        "7707083893",
        "780201001",
        True,
        True,
        head_key="c-alfa",
    )
    ip = Company(
        "c-ivanov",
        "ИП Иванов Иван Иванович",
        "Индивидуальный предприниматель Иванов И. И.",
        "ip",
        "500100732259",
        None,
        True,
        True,
    )
    beta = Company(
        "c-beta",
        "Д'Артаньян и Ко",
        'ООО "Д\'Артаньян и Ко"',
        "legal",
        _profiles.inn10("772814563"),
        "772801001",
        True,
        True,
    )
    crm_only = Company(
        "c-crm",
        "ООО Только в CRM",
        "ООО Только в CRM",
        "legal",
        _profiles.inn10("500100732"),
        "500101001",
        True,
        False,
    )
    table = Product("p-table", "Стол письменный", "СТ-01", "796", False, "Общая", _D("12200"))
    mount = Product("p-mount", "Монтаж", "УС-01", "356", True, "Общая", _D("6100"))
    old = Product("p-chair", "Стул", "СТ-02", "796", False, "Общая", _D("12000"))

    def row(product: Product, qty: str, rate: str) -> DealRow:
        return DealRow(product.key, product.price, _D(qty), _D(rate), True)

    docs = [
        SalesDocument(
            "inv-1", "invoice", "ВП00-000001", _dt.date(2026, 2, 1), "c-alfa", (row(table, "2", "22"),)
        ),
        SalesDocument(
            "sale-1",
            "sale",
            "ВП00-000001",
            _dt.date(2026, 2, 10),
            "c-alfa",
            (row(table, "2", "22"), row(mount, "1", "22")),
        ),
        SalesDocument(
            "sale-old", "sale", "ВП00-000099", _dt.date(2025, 11, 20), "c-beta", (row(old, "1", "20"),)
        ),
        SalesDocument(
            "sale-draft",
            "sale",
            "ВП00-000002",
            _dt.date(2026, 3, 5),
            "c-alfa-spb",
            (row(mount, "3", "22"),),
            posted=False,
        ),
    ]
    payments = [
        Payment(
            "pay-1",
            "000001",
            _dt.date(2026, 2, 15),
            "c-alfa",
            _D("20000"),
            (Allocation("sale-1", _D("20000")),),
            purpose="Оплата по реализации",
        ),
    ]
    return Dataset(
        profile="onec-test",
        organisation=_profiles.organisation(),
        prohibition_date=_dt.date(2025, 12, 31),
        companies=[legal, branch, ip, beta, crm_only],
        products=[table, mount, old],
        documents=docs,
        payments=payments,
        rates=[
            CurrencyRate("USD", _dt.date(2026, 1, 1), _D("78.5")),
            CurrencyRate("USD", _dt.date(2026, 2, 1), _D("79.25")),
        ],
    )


class OneC:
    """A thin ``requests`` client of the emulator (UTF-8 Basic auth, the contour's CA)."""

    def __init__(self, contour: _Any, login: str = ONEC_LOGIN, password: str = ONEC_PASSWORD):
        self.contour, self.url, self.ca = contour, contour.onec_url, str(contour.ca_file)
        self.auth: _Any = (login.encode("utf-8"), password.encode("utf-8"))

    def request(self, method: str, path: str, **kw: _Any) -> _requests.Response:
        kw.setdefault("auth", self.auth)
        kw.setdefault("timeout", 30)
        return _requests.request(method, self.url + path, verify=self.ca, **kw)  # noqa: S113 - timeout in kw

    def get(self, path: str, **params: _Any) -> _requests.Response:
        return self.request("GET", path, params={"$format": "json", **params})

    def value(self, path: str, **params: _Any) -> list[dict[str, _Any]]:
        response = self.get(path, **params)
        assert response.status_code == 200, response.text
        return response.json()["value"]

    def one(self, set_name: str, filter_: str) -> dict[str, _Any]:
        rows = self.value(set_name, **{"$filter": filter_})
        assert len(rows) == 1, rows
        return rows[0]

    def post(self, path: str, body: _Any = None, **kw: _Any) -> _requests.Response:
        return self.request("POST", path, json=body, params={"$format": "json"}, **kw)

    def patch(self, path: str, body: _Any, **kw: _Any) -> _requests.Response:
        return self.request("PATCH", path, json=body, params={"$format": "json"}, **kw)

    def account(self, code: str) -> str:
        return self.one("ChartOfAccounts_Хозрасчетный", f"Code eq '{code}'")["Ref_Key"]

    def records(self, recorder: str) -> list[dict[str, _Any]]:
        return self.value(
            "AccountingRegister_Хозрасчетный_RecordType",
            **{"$filter": f"Recorder eq '{recorder}'", "$orderby": "LineNumber"},
        )


def error_of(response: _requests.Response) -> tuple[int, str, str]:
    """(HTTP status, 1C internal code, message) of an ``odata.error`` answer."""
    err = response.json()["odata.error"]
    return response.status_code, err["code"], err["message"]["value"]


@_pytest.fixture(scope="session")
def onec_server(tmp_path_factory: _pytest.TempPathFactory) -> _Any:
    """Both emulators over HTTPS, started once per session (the 1C side is re-seeded per test)."""
    from tests.contour_harness import start_contour

    running = start_contour(tmp_path_factory.mktemp("onec") / "contour", profile=None)
    yield running
    running.stop()


@_pytest.fixture
def onec_contour(onec_server: _Any) -> _Any:
    """The running contour with the 1C side freshly seeded from :func:`onec_dataset` and default knobs."""
    onec_server.knobs("onec", prohibition_date=None)
    _onec_seed.seed(onec_server.state_dir, onec_dataset())
    return onec_server


@_pytest.fixture
def onec(onec_contour: _Any) -> OneC:
    return OneC(onec_contour)


# ------------------------------------------------------------------------------------------ Bitrix24 emulator
BITRIX_CRM_COMPANIES = 118  # companies of bitrix_dataset() that exist in the CRM


def bitrix_dataset() -> Dataset:
    """A small portal: 120 counterparties (118 in the CRM, enough for three pages), 5 products, 5 deals."""
    from contour.dataset import Deal

    companies = []
    for i in range(120):
        kind = "ip" if i % 10 == 3 else "person" if i == 7 else "legal"
        name = f"ИП Петров{i:03d} Пётр Петрович" if kind == "ip" else f'ООО "Компания {i:03d}"'
        if i == 5:
            name = 'ООО "Ромашка"'
        inn = _profiles.inn12(f"5001007{i:03d}") if kind != "legal" else _profiles.inn10(f"7707{i:05d}")
        companies.append(
            Company(
                f"c{i:03d}",
                name,
                name.replace("ООО", "Общество с ограниченной ответственностью"),
                kind,
                inn,
                "770701001" if kind == "legal" else None,
                in_crm=i not in (60, 61),
                in_onec=True,
                crm_name="Ромашка" if i == 5 else None,
                phone=f"+7 495 000-{i:02d}-00" if i < 10 else None,
                email=f"c{i}@example.ru" if i < 5 else None,
            )
        )
    table = Product("p-table", "Стол письменный", "СТ-01", "796", False, "Общая", _D("12200"))
    mount = Product("p-mount", "Монтаж", "УС-01", "356", True, "Общая", _D("6100"))
    sugar = Product("p-sugar", "Сахар", "СХ-01", "166", False, "Пониженная", _D("110"))
    cable = Product("p-cable", "Кабель", "КБ-01", "006", False, "Общая", _D("61"))
    hidden = Product("p-old", "Снятый товар", "СН-01", "796", False, "Общая", _D("1"), in_crm=False)

    def row(product: Product, qty: str, included: bool = True, rate: str = "22") -> DealRow:
        return DealRow(product.key, product.price, _D(qty), _D(rate), included)

    day = _dt.date(2026, 3, 2)
    deals = [
        Deal("d1", "Столы и монтаж", "c000", "NEW", "RUB", day, (row(table, "2"), row(mount, "1"))),
        Deal("d2", "Сахар", "c001", "PREPAYMENT_INVOICE", "RUB", day, (row(sugar, "10", rate="10"),)),
        Deal("d3", "Кабель", "c002", "FINAL_INVOICE", "RUB", day, (row(cable, "100", included=False),)),
        Deal("d4", "Выигранная", "c003", "WON", "RUB", day, (row(table, "1"),)),
        Deal("d5", "Вторая воронка", "c004", "EXECUTING", "RUB", day, (row(mount, "3"),), category_id=2),
    ]
    return Dataset(
        profile="bitrix-test",
        organisation=_profiles.organisation(),
        prohibition_date=None,
        companies=companies,
        products=[table, mount, sugar, cable, hidden],
        deals=deals,
    )


class Bitrix:
    """A ``requests`` client of the Bitrix24 emulator through the contour's webhook URL and CA."""

    def __init__(self, contour: _Any):
        self.contour = contour
        self.webhook, self.root = contour.bitrix_webhook, contour.bitrix_base
        self.session = _requests.Session()
        self.session.trust_env = False  # REQUESTS_CA_BUNDLE would override the contour's CA
        self.session.verify = str(contour.ca_file)

    def request(self, http: str, method: str, **kw: _Any) -> _requests.Response:
        kw.setdefault("timeout", 30)
        return self.session.request(http, self.webhook + method, **kw)

    def call(self, method: str, params: dict[str, _Any] | None = None) -> _requests.Response:
        """POST JSON, as the official SDKs do."""
        return self.request("POST", method, json=params or {})

    def result(self, method: str, params: dict[str, _Any] | None = None) -> _Any:
        response = self.call(method, params)
        assert response.status_code == 200, response.text
        return response.json()["result"]

    def admin(self, path: str, http: str = "GET", **kw: _Any) -> _Any:
        response = self.session.request(http, f"{self.root}/_contour/{path}", timeout=10, **kw)
        assert response.status_code == 200, response.text
        return response.json()

    def stats(self) -> dict[str, _Any]:
        return self.admin("stats")


@_pytest.fixture(scope="session")
def bitrix_server(tmp_path_factory: _pytest.TempPathFactory) -> _Any:
    """Both emulators over HTTPS (the contour harness), started once; the portal is re-seeded per test."""
    from tests.contour_harness import start_contour

    running = start_contour(tmp_path_factory.mktemp("bitrix") / "contour", profile=None)
    yield running
    running.stop()


@_pytest.fixture
def bitrix(bitrix_server: _Any) -> Bitrix:
    """A freshly seeded portal (:func:`bitrix_dataset`) with default knobs, no rate limit, zeroed counters."""
    from contour.bitrix import seed as bitrix_seed
    from contour.bitrix.app import BitrixApp

    defaults = dict(BitrixApp.knob_defaults)
    bitrix_server.knobs(
        "bitrix",
        **defaults | {"rate_plan": "off", "latency_ms": 0, "fault_5xx_rate": 0.0, "fault_timeout_rate": 0.0},
    )
    bitrix_seed.seed(bitrix_server.state_dir, bitrix_dataset())
    client = Bitrix(bitrix_server)
    client.admin("limits/reset", "POST")
    client.admin("stats", "DELETE")
    return client
