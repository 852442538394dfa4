"""1C OData emulator: the "applied, then the answer was lost" fault — the write is made, the client gets a
connection error instead of an answer, and a later read finds the object (selectable per entity set and
action, for the next N writes or by probability)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.contour.conftest import OneC

CP = "Catalog_Контрагенты"
SALE = "Document_РеализацияТоваровУслуг"
OFF = {
    "fault_lost_answer_rate": 0.0,
    "fault_lost_answer_next": 0,
    "fault_lost_answer_on": "",
    "fault_seed": -1,
}


@pytest.fixture
def lost(onec_contour: Any) -> Iterator[Any]:
    """Set the lost-answer knobs for one test; always switched off afterwards."""
    yield lambda **knobs: onec_contour.knobs("onec", **knobs)
    onec_contour.knobs("onec", **OFF)


def lose(call: Any) -> None:
    with pytest.raises(requests.ConnectionError):
        call()


def test_next_create_is_made_but_its_answer_is_lost(onec: OneC, lost: Any, onec_contour: Any) -> None:
    knobs = lost(fault_lost_answer_next=1)
    assert knobs["fault_lost_answer_next"] == 1
    lose(lambda: onec.post(CP, {"Description": "ООО Потерянный ответ", "ИНН": "7701234567"}))
    found = onec.value(CP, **{"$filter": "ИНН eq '7701234567'"})  # the next request is answered again
    assert [r["Description"] for r in found] == ["ООО Потерянный ответ"]
    assert onec_contour.knobs("onec")["fault_lost_answer_next"] == 0  # the countdown is spent
    retried = onec.post(CP, {"Description": "ООО Потерянный ответ", "ИНН": "7701234567"})
    assert retried.status_code == 201  # a blind retry makes a duplicate: what the fault is there to show
    assert len(onec.value(CP, **{"$filter": "ИНН eq '7701234567'"})) == 2
    log = requests.get(
        f"https://127.0.0.1:{onec_contour.onec_port}/_contour/requests",
        params={"limit": 4},
        verify=str(onec_contour.ca_file),
        timeout=10,
    ).json()["requests"]
    assert [(r["method"], r["status"]) for r in reversed(log)][:2] == [("POST", 201), ("GET", 200)]


def test_only_the_selected_set_and_action_lose_their_answer(onec: OneC, lost: Any) -> None:
    sale = onec.one(SALE, "Number eq 'ВП00-000002'")
    lost(fault_lost_answer_next=2, fault_lost_answer_on=f"{SALE}/post, Catalog_Номенклатура")
    created = onec.post(CP, {"Description": "Не выбран"})  # another set: answered
    assert created.status_code == 201
    patched = onec.patch(f"{SALE}(guid'{sale['Ref_Key']}')", {"Комментарий": "правка"})
    assert patched.status_code == 200  # the selected set, another action: answered
    lose(lambda: onec.request("POST", f"{SALE}(guid'{sale['Ref_Key']}')/Post"))
    assert onec.get(f"{SALE}(guid'{sale['Ref_Key']}')").json()["Posted"] is True
    assert onec.records(sale["Ref_Key"])  # the posting made its register records
    refused = onec.post("Catalog_Номенклатура", {"Артикул": "без наименования"})
    assert refused.status_code == 400  # a refused write is answered and does not count
    lose(lambda: onec.post("Catalog_Номенклатура", {"Description": "Товар без ответа"}))
    assert onec.one("Catalog_Номенклатура", "Description eq 'Товар без ответа'")
    assert onec.post("Catalog_Номенклатура", {"Description": "Снова с ответом"}).status_code == 201


def test_update_delete_and_unpost_can_lose_their_answer(onec: OneC, lost: Any) -> None:
    created = onec.post(CP, {"Description": "Удаляемый"}).json()
    ref = created["Ref_Key"]
    sale = onec.one(SALE, "Number eq 'ВП00-000001'")["Ref_Key"]
    lost(fault_lost_answer_next=1, fault_lost_answer_on="*")
    lose(lambda: onec.patch(f"{CP}(guid'{ref}')", {"Комментарий": "без ответа"}))
    after = onec.get(f"{CP}(guid'{ref}')").json()
    assert after["Комментарий"] == "без ответа" and after["DataVersion"] != created["DataVersion"]
    lost(fault_lost_answer_next=2, fault_lost_answer_on="delete,unpost")
    lose(lambda: onec.request("DELETE", f"{CP}(guid'{ref}')"))
    assert onec.get(f"{CP}(guid'{ref}')").status_code == 404  # deleted all the same
    lose(lambda: onec.request("POST", f"{SALE}(guid'{sale}')/Unpost"))
    assert onec.get(f"{SALE}(guid'{sale}')").json()["Posted"] is False and onec.records(sale) == []


def test_by_probability_with_a_seed(onec: OneC, lost: Any) -> None:
    lost(fault_lost_answer_rate=0.5, fault_lost_answer_on="create", fault_seed=7)
    answered = lost_count = 0
    for i in range(20):
        try:
            response = onec.post(CP, {"Description": f"Вероятность {i:02d}"})
        except requests.ConnectionError:
            lost_count += 1
        else:
            assert response.status_code == 201
            answered += 1
    assert answered and lost_count and answered + lost_count == 20
    made = onec.value(CP, **{"$filter": "startswith(Description, 'Вероятность')"})
    assert len(made) == 20  # every write was made, answered or not
    lost(fault_lost_answer_rate=1.0, fault_lost_answer_on="update")
    assert onec.post(CP, {"Description": "Создание не выбрано"}).status_code == 201
