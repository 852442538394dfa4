"""1C OData emulator: change-prohibition dates per user and relative, as BSP keeps and applies them
(protocols.md A.17, domain.md §7): the user's own row wins over the common one, relative dates with grace
days, every kind of write checked against the old and the new version, BSP's text inside the platform's
wrapper, data-load mode skipping it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from contour.onec import prohibition
from tests.contour.conftest import OneC, error_of

INVOICE = "Document_СчетНаОплатуПокупателю"
SALE = "Document_РеализацияТоваровУслуг"
REGISTER = "InformationRegister_ДатыЗапретаИзменения"
LOAD = {"1C_OData-DataLoadMode": "true"}


@pytest.fixture
def dates(onec_contour: Any) -> Iterator[Any]:
    """Set the prohibition knobs for one test; back to "as seeded" afterwards."""
    yield lambda **knobs: onec_contour.knobs("onec", **knobs)
    onec_contour.knobs("onec", prohibition_date=None, prohibition_user_dates=None)


@pytest.fixture
def accountant(onec_contour: Any) -> OneC:
    return OneC(onec_contour, "Бухгалтер", "accountant")


def invoice(onec: OneC, date: dt.date | str) -> requests.Response:
    day = date.isoformat() if isinstance(date, dt.date) else date
    return onec.post(INVOICE, {"Date": f"{day}T12:00:00", "Комментарий": "проверка даты запрета"})


def closed(response: requests.Response, date: dt.date | str) -> str:
    status, code, message = error_of(response)
    shown = date.strftime("%d.%m.%Y") if isinstance(date, dt.date) else date
    assert (status, code) == (500, "-1"), message
    assert f"Запрещено изменять данные с датой ранее {shown} (включительно)." in message
    assert not message.startswith("Запрещено")  # inside the platform's wrapper: match a substring
    return message


def test_the_users_own_date_wins_over_the_common_one(
    onec: OneC, accountant: OneC, dates: Any, onec_contour: Any
) -> None:
    knobs = dates(prohibition_user_dates={"Интеграция": "2026-02-28"})  # the common one stays 31.12.2025
    assert knobs["effective_prohibition_date"] == "2025-12-31"
    message = closed(invoice(onec, "2026-02-10"), "28.02.2026")
    assert 'Пользователю "Интеграция" недоступно изменение' in message
    assert invoice(accountant, "2026-02-10").status_code == 201  # no row of their own: the common date
    message = closed(invoice(accountant, "2025-12-31"), "31.12.2025")
    assert "Для всех пользователей недоступно изменение" in message
    assert "(установлена общая дата запрета)" in message
    dates(prohibition_date="2026-02-28", prohibition_user_dates={"Интеграция": "2025-06-30"})
    assert invoice(onec, "2026-02-10").status_code == 201  # their own date, even an earlier one
    closed(invoice(onec, "2025-06-30"), "30.06.2025")
    closed(invoice(accountant, "2026-02-10"), "28.02.2026")
    dates(prohibition_user_dates={"Интеграция": ""})  # an own row without a date: nothing closed for them
    assert invoice(onec, "2020-01-01").status_code == 201


def test_per_user_rows_live_in_the_register(onec: OneC, dates: Any) -> None:
    dates(prohibition_user_dates={"Бухгалтер": "КонецПрошлогоКвартала+10", "Интеграция": "2026-01-31"})
    me = onec.one("Catalog_Пользователи", "Description eq 'Интеграция'")
    assert me["ИдентификаторПользователяИБ"] and "Code" not in me
    mine = onec.one(REGISTER, f"Пользователь eq guid'{me['Ref_Key']}'")
    assert (mine["Пользователь_Type"], mine["ДатаЗапрета"]) == (
        "StandardODATA.Catalog_Пользователи",
        "2026-01-31T00:00:00",
    )
    common = onec.one(REGISTER, "Пользователь eq 'ДляВсехПользователей'")
    assert (common["Пользователь_Type"], common["ДатаЗапрета"], common["Раздел_Key"]) == (
        "StandardODATA.ВидыНазначенияДатЗапрета",
        "2025-12-31T00:00:00",
        "00000000-0000-0000-0000-000000000000",
    )
    theirs = onec.one(REGISTER, "ОписаниеДатыЗапрета eq 'КонецПрошлогоКвартала\n10'")
    assert theirs["ДатаЗапрета"] == "0001-01-01T00:00:00"
    dates(prohibition_user_dates={})
    assert len(onec.value(REGISTER)) == 1


def _end_of_last_month(today: dt.date) -> dt.date:
    return today.replace(day=1) - dt.timedelta(days=1)


def test_relative_dates_with_grace_days(onec: OneC, accountant: OneC, dates: Any) -> None:
    today = dt.date.today()
    last = _end_of_last_month(today)
    before = _end_of_last_month(last)
    knobs = dates(prohibition_date="КонецПрошлогоМесяца")
    assert knobs["effective_prohibition_date"] == last.isoformat()
    closed(invoice(onec, last), last)
    assert invoice(onec, last + dt.timedelta(days=1)).status_code == 201
    dates(prohibition_date="КонецПрошлогоМесяца+400")  # still within the grace days: the month before
    assert invoice(onec, last).status_code == 201
    closed(invoice(onec, before), before)
    dates(prohibition_date="2026-01-31", prohibition_user_dates={"Бухгалтер": "КонецПрошлогоГода"})
    new_year = today.replace(month=1, day=1)
    closed(invoice(accountant, new_year - dt.timedelta(days=1)), new_year - dt.timedelta(days=1))
    assert invoice(accountant, new_year).status_code == 201


def test_bsp_relative_date_rule() -> None:
    rule = prohibition.by_description
    day = dt.date(2026, 5, 3)
    assert rule("КонецПрошлогоМесяца", None, day) == dt.date(2026, 4, 30)
    assert rule("КонецПрошлогоМесяца\n5", None, day) == dt.date(2026, 3, 31)  # 3 May is within 5 days
    assert rule("КонецПрошлогоМесяца\n2", None, day) == dt.date(2026, 4, 30)
    assert rule("КонецПрошлогоКвартала", None, day) == dt.date(2026, 3, 31)
    assert rule("КонецПрошлогоКвартала\n40", None, day) == dt.date(2025, 12, 31)
    assert rule("КонецПрошлогоГода", None, day) == dt.date(2025, 12, 31)
    assert rule("КонецПрошлойНедели", None, day) == dt.date(2026, 4, 26)  # 3 May 2026 is a Sunday
    assert rule("ПредыдущийДень", None, day) == dt.date(2026, 5, 2)
    assert rule("", dt.date(2025, 1, 1), day) == dt.date(2025, 1, 1)
    assert rule("Непонятно", None, day) == dt.date(3999, 3, 3)  # BSP: an unknown format closes all
    assert prohibition.parse_setting("КонецПрошлогоГода+7") == (None, "КонецПрошлогоГода\n7")
    with pytest.raises(ValueError):
        prohibition.parse_setting("конец месяца")


def test_an_organisations_own_row_wins_for_its_documents() -> None:
    org, other = "11111111-1111-1111-1111-111111111111", "22222222-2222-2222-2222-222222222222"
    rows = [
        prohibition.register_row("2025-12-31"),
        prohibition.register_row("2026-03-31", organisation=org),
    ]
    rules = prohibition.Rules(rows, "no-user", "Интеграция", {org: 'ООО "Вектор Плюс"'})
    assert rules.closure(org) == prohibition.Closure(dt.date(2026, 3, 31), None, 'ООО "Вектор Плюс"')
    assert rules.closure(other) == prohibition.Closure(dt.date(2025, 12, 31), None, None)
    doc = {"Date": "2026-02-01T00:00:00", "Number": "ВП00-000009", "Организация_Key": org}
    with pytest.raises(Exception, match=r'Изменение по объекту "ООО "Вектор Плюс"" недоступно'):
        rules.check(INVOICE, doc)
    rules.check(INVOICE, doc | {"Организация_Key": other})


def test_every_write_checks_the_old_and_the_new_version(onec: OneC, accountant: OneC, dates: Any) -> None:
    dates(prohibition_user_dates={"Интеграция": "2026-02-28"})
    sale = onec.one(SALE, "Number eq 'ВП00-000001'")  # 10.02.2026, posted: closed for the integration
    url = f"{SALE}(guid'{sale['Ref_Key']}')"
    closed(onec.patch(url, {"Комментарий": "правка"}), "28.02.2026")
    closed(onec.patch(url, {"Date": "2026-03-10T10:00:00"}), "28.02.2026")  # the old version is closed
    closed(onec.patch(url, {"DeletionMark": True}), "28.02.2026")  # a deletion mark is a write
    closed(onec.request("DELETE", url), "28.02.2026")
    closed(onec.request("POST", url + "/Unpost"), "28.02.2026")
    closed(onec.request("POST", url + "/Post"), "28.02.2026")
    closed(onec.request("POST", url + "/Post", headers=LOAD), "28.02.2026")  # posting always checks
    draft = onec.one(SALE, "Number eq 'ВП00-000002'")  # 05.03.2026: open
    draft_url = f"{SALE}(guid'{draft['Ref_Key']}')"
    closed(onec.patch(draft_url, {"Date": "2026-02-27T10:00:00"}), "28.02.2026")  # the new version is
    assert onec.patch(url, {"Комментарий": "загрузка"}, headers=LOAD).status_code == 200  # load mode skips
    assert onec.get(url).json()["Комментарий"] == "загрузка"
    assert accountant.patch(url, {"DeletionMark": True}).status_code == 200  # the common date: open
    assert accountant.get(url).json()["Posted"] is False


def test_knob_values_are_validated(onec_contour: Any, dates: Any) -> None:
    url = f"https://127.0.0.1:{onec_contour.onec_port}/_contour/knobs"
    for bad in (
        {"prohibition_date": "31.12.2025"},
        {"prohibition_date": "КонецМесяца"},
        {"prohibition_user_dates": {"Интеграция": "вчера"}},
        {"prohibition_user_dates": ["2025-12-31"]},
    ):
        response = requests.post(url, json=bad, verify=str(onec_contour.ca_file), timeout=10)
        assert response.status_code == 400, bad
        assert "prohibition dates must be" in response.json()["error"]
