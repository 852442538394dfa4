"""Branches (обособленные подразделения) created in the CRM: each needs its head's Ref_Key in 1C.

Found by a new user: the head lookup in ``load_onec`` built its filter with Python ``not``, which raised
TypeError for every branch and stopped the whole exchange. Also: one record's unexpected failure in a load
step holds that record in quarantine with a reason; the rest of the exchange goes on.
"""

from __future__ import annotations

import importlib

import pytest

from contour.profiles import inn10
from crm1c.staging import Staging
from tests.contour_harness import RunningContour
from tests.sync.harness import (
    ONEC_SET,
    add_crm_company,
    add_onec_counterparty,
    check_all,
    clients,
    run_sync,
)


def _onec_by_kpp(onec) -> dict[str, dict]:
    rows = onec.list_all(
        ONEC_SET, select=["Ref_Key", "КПП", "ОбособленноеПодразделение", "ГоловнойКонтрагент_Key"]
    )
    return {r["КПП"]: r for r in rows}


def test_branch_and_head_created_together_in_the_crm(
    empty_contour: RunningContour, sqlite_staging: Staging
) -> None:
    crm, onec = clients(empty_contour)
    inn = inn10("770100001")
    add_crm_company(crm, 'ООО "Головная"', inn, inn[:4] + "01001")
    add_crm_company(crm, 'ООО "Головная", филиал', inn, inn[:4] + "02001", company_type="BRANCH")

    summary = run_sync(sqlite_staging, crm, onec)

    rows = _onec_by_kpp(onec)
    head, branch = rows[inn[:4] + "01001"], rows[inn[:4] + "02001"]
    assert head["ОбособленноеПодразделение"] is False
    assert branch["ОбособленноеПодразделение"] is True
    assert branch["ГоловнойКонтрагент_Key"] == head["Ref_Key"]
    assert summary["onec_create"] == 2 and summary["open_quarantine"] == 0
    check_all(sqlite_staging, crm, onec, converged=False)
    run_sync(sqlite_staging, crm, onec)  # the link-back of both new CRM records
    check_all(sqlite_staging, crm, onec)


def test_branch_whose_head_is_already_in_1c(empty_contour: RunningContour, sqlite_staging: Staging) -> None:
    crm, onec = clients(empty_contour)
    inn = inn10("770200002")
    head_ref = add_onec_counterparty(onec, 'АО "Давняя"', inn, inn[:4] + "01001")
    run_sync(sqlite_staging, crm, onec)  # the head reaches the CRM
    add_crm_company(crm, 'АО "Давняя", филиал', inn, inn[:4] + "03001", company_type="BRANCH")

    run_sync(sqlite_staging, crm, onec)

    branch = _onec_by_kpp(onec)[inn[:4] + "03001"]
    assert branch["ОбособленноеПодразделение"] is True
    assert branch["ГоловнойКонтрагент_Key"] == head_ref
    run_sync(sqlite_staging, crm, onec)
    check_all(sqlite_staging, crm, onec)


@pytest.mark.parametrize("system", ["onec", "crm"])
def test_one_record_failing_in_a_load_step_is_held_and_the_rest_goes_on(
    empty_contour: RunningContour, sqlite_staging: Staging, monkeypatch: pytest.MonkeyPatch, system: str
) -> None:
    """A write that fails in a way nobody foresaw (here: the encoder raises for one record) does not stop
    the step: that record waits in quarantine with the reason, every other record is written."""
    crm, onec = clients(empty_contour)
    bad_inn = inn10("770400004")
    good = [inn10(f"77050000{n}") for n in range(3)]
    if system == "onec":
        for inn in [bad_inn, *good]:
            add_crm_company(crm, f"ООО Компания {inn}", inn, inn[:4] + "01001")
        module = "crm1c.sync.counterparties.onec_writer.to_onec"
    else:
        for inn in [bad_inn, *good]:
            add_onec_counterparty(onec, f"ООО Компания {inn}", inn, inn[:4] + "01001")
        module = "crm1c.sync.counterparties.crm_writer.to_bitrix"
    mod_name, attr = module.rsplit(".", 1)
    mod = importlib.import_module(mod_name)
    real = getattr(mod, attr)

    def flaky(cp, *args, **kwargs):
        if cp.inn == bad_inn:
            raise RuntimeError("encoder exploded")
        return real(cp, *args, **kwargs)

    monkeypatch.setattr(mod, attr, flaky)
    summary = run_sync(sqlite_staging, crm, onec)

    assert summary[f"{system}_create"] == 3
    (held,) = sqlite_staging.open_quarantine("counterparty")
    assert "encoder exploded" in held.reason_en and held.reason_ru
    monkeypatch.setattr(mod, attr, real)


@pytest.mark.parametrize("system", ["onec", "crm"])
def test_a_failure_after_the_write_holds_the_record_and_never_duplicates_it(
    empty_contour: RunningContour, sqlite_staging: Staging, monkeypatch: pytest.MonkeyPatch, system: str
) -> None:
    """The create reached the target, then reading its answer failed: the record is held, but its intent
    stays pending, so the next run looks the record up and adopts it instead of creating a second one."""
    crm, onec = clients(empty_contour)
    bad_inn = inn10("770600006")
    good = [inn10(f"77070000{n}") for n in range(2)]
    add = add_crm_company if system == "onec" else add_onec_counterparty
    for inn in [bad_inn, *good]:
        add(crm if system == "onec" else onec, f"ООО Компания {inn}", inn, inn[:4] + "01001")
    if system == "onec":
        module, attr = importlib.import_module("crm1c.sync.counterparties.onec_writer"), "onec_seen"
        broken = lambda args: args[0].get("ИНН") == bad_inn  # noqa: E731
    else:
        module, attr = importlib.import_module("crm1c.sync.counterparties.crm_writer"), "crm_seen"
        broken = lambda args: (args[1] or {}).get("RQ_INN") == bad_inn  # noqa: E731
    real = getattr(module, attr)

    def flaky(*args, **kwargs):
        if broken(args):
            raise RuntimeError("answer unreadable")
        return real(*args, **kwargs)

    monkeypatch.setattr(module, attr, flaky)
    summary = run_sync(sqlite_staging, crm, onec)
    assert summary[f"{system}_create"] == 2
    (held,) = sqlite_staging.open_quarantine("counterparty")
    assert "answer unreadable" in held.reason_en

    monkeypatch.setattr(module, attr, real)
    summary = run_sync(sqlite_staging, crm, onec)
    assert summary[f"{system}_adopted"] == 1 and summary[f"{system}_create"] == 0
    assert sqlite_staging.open_quarantine("counterparty") == []
    run_sync(sqlite_staging, crm, onec)  # the link-backs
    check_all(sqlite_staging, crm, onec)
