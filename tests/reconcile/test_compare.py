"""The comparison, the tolerances file, the links and the rendering, on hand-made records (no contour)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from crm1c.domain.counterparty import Counterparty
from crm1c.reconcile.config import (
    DEFAULT_FILE,
    CounterpartyTolerances,
    ReconciliationConfigError,
    load_reconciliation_config,
    parse_reconciliation_config,
)
from crm1c.reconcile.counterparties import RecordRefs, Sides, compare
from crm1c.reconcile.counterparty_sources import Entry
from crm1c.reconcile.links import SystemLinks, navigation_ref
from crm1c.reconcile.model import Period, Report
from crm1c.reconcile.render import html_report, slack_summary, subject
from crm1c.staging.models import Xref

REF_A = "51012ccc-397d-11de-b595-00055d80a2b9"
REF_B = "0b0b0b0b-0000-4000-8000-00000000000b"
LINKS = SystemLinks.of("https://portal.example", "https://1c.example/acc/odata/standard.odata/")
REFS = RecordRefs(LINKS, "Catalog_Контрагенты")
NOW = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)


def cp(name: str, inn: str = "7707083893", kpp: str | None = "770701001", **kw) -> Counterparty:
    return Counterparty(kind="legal", name=name, full_name=name, inn=inn, kpp=kpp, **kw)


def link(crm_id: str, onec_id: str, base: Counterparty | None = None) -> Xref:
    base_json = base.model_dump(mode="json") if base else None
    return Xref(1, "counterparty", crm_id, onec_id, None, None, base_json, NOW, NOW)


def sides(crm=(), onec=(), links=(), quarantined=()) -> Sides:
    return Sides({e.id: e for e in crm}, {e.id: e for e in onec}, list(links), set(quarantined))


def kinds(result) -> list[tuple[str, str | None]]:
    return [(d.kind, d.field) for d in result.differences]


def test_formatting_noise_is_not_drift():
    crm = Entry("7", cp("ООО  «Ромашка»\u00a0"), "ООО «Ромашка»")
    onec = Entry(REF_A, cp(" ООО «Ромашка»"), "ООО «Ромашка»")
    result = compare(sides([crm], [onec], [link("7", REF_A)]), CounterpartyTolerances(), REFS)
    assert result.differences == [] and result.status == "clean"


def test_linked_pairs_gone_marked_or_different():
    base = cp("ООО Альфа")
    crm = [Entry("1", base, "ООО Альфа"), Entry("2", cp("ООО Бета"), "ООО Бета"), Entry("3", base, "x")]
    onec = [
        Entry(REF_B, cp("ООО Бета", deleted=True), "ООО Бета", deleted=True),
        Entry(REF_A, cp("ООО Альфа", inn="7447023915"), "ООО Альфа"),
    ]
    gone = "11111111-1111-4111-8111-111111111111"
    links = [link("1", gone, base), link("2", REF_B), link("3", REF_A, base), link("9", "2" * 32)]
    result = compare(sides(crm, onec, links), CounterpartyTolerances(), REFS)
    assert [k for k, _ in kinds(result)] == ["missing_in_onec", "deleted_in_onec", "requisite_differs"]
    missing, _marked, inn = result.differences
    assert missing.onec is not None and missing.onec.name == "ООО Альфа" and missing.onec.links == ()
    assert (inn.crm_value, inn.agreed, inn.onec_value) == ("7707083893", "7707083893", "7447023915")
    assert result.status == "drift"


def test_a_crm_deletion_marked_in_1c_is_in_step_but_a_live_1c_record_is_not():
    marked = Entry(REF_A, cp("A", deleted=True), "A", deleted=True)
    onec = [marked, Entry(REF_B, cp("B", inn="7447023915"), "B")]
    result = compare(sides([], onec, [link("1", REF_A), link("2", REF_B)]), CounterpartyTolerances(), REFS)
    assert kinds(result) == [("missing_in_crm", None)]


def test_unmatched_twins_once_per_pair_and_quarantine_left_out_unless_included():
    crm = [Entry("5", cp("Гамма"), "Гамма"), Entry("6", cp("Дельта", inn="7447023915"), "Дельта")]
    onec = [Entry(REF_A, cp("Гамма"), "Гамма"), Entry(REF_B, cp("Дельта", inn="7447023915"), "Дельта")]
    held = [("crm", "6")]
    result = compare(sides(crm, onec, [], held), CounterpartyTolerances(), REFS)
    assert kinds(result) == [("unmatched_twin", "ИНН+КПП")]
    left_out = next(t for t in result.totals if t.key == "quarantined_left_out")
    assert left_out.staging == 1
    included = compare(sides(crm, onec, [], held), CounterpartyTolerances(include_quarantined=True), REFS)
    assert len(included.differences) == 2


def test_tolerances_decide_drift():
    crm, onec = Entry("1", cp("A"), "A"), Entry(REF_A, cp("B"), "B")
    pair = sides([crm], [onec], [link("1", REF_A)])
    assert compare(pair, CounterpartyTolerances(max_differences=2), REFS).status == "clean"  # name, full name
    not_drift = CounterpartyTolerances(drift_kinds=frozenset({"missing_in_onec"}))
    assert compare(pair, not_drift, REFS).status == "clean"
    assert compare(pair, CounterpartyTolerances(compare=("inn",)), REFS).differences == []


def test_the_shipped_tolerances_load_and_typos_are_named():
    config = load_reconciliation_config(DEFAULT_FILE)
    assert config.counterparties.max_differences == 0 and not config.counterparties.include_quarantined
    assert str(config.money.revenue) == "0.0"
    with pytest.raises(ReconciliationConfigError, match=r"counterparties\.drift_kinds.*missing_in_onec"):
        parse_reconciliation_config("counterparties: {drift_kinds: [missing]}", "r.yaml")
    with pytest.raises(ReconciliationConfigError, match=r"r\.yaml: money\.revenue: .*2 decimal places"):
        parse_reconciliation_config("money: {revenue: 0.001}", "r.yaml")
    with pytest.raises(ReconciliationConfigError, match=r"counterparties\.compare\.0"):
        parse_reconciliation_config("counterparties: {compare: [phone]}", "r.yaml")


def test_period_params():
    assert Period.parse("None", "") == Period()
    assert Period.parse("2026-01-01", None) == Period(date(2026, 1, 1))
    with pytest.raises(ValueError, match="period_to must be a date"):
        Period.parse(None, "31.01.2026")
    with pytest.raises(ValueError, match="after"):
        Period.parse("2026-02-01", "2026-01-01")


def test_links_into_both_systems_without_credentials():
    assert navigation_ref(REF_A) == "b59500055d80a2b911de397d51012ccc"  # 1C's own example
    odata_root = "https://u:secret@1c.example/acc/odata/standard.odata"
    links = SystemLinks.of("https://u:secret@portal.example/", odata_root)
    assert links.crm_company("12") == (("CRM", "https://portal.example/crm/company/details/12/"),)
    web, odata = links.onec_object("Catalog_Контрагенты", REF_A.upper())
    assert web[1].startswith("https://1c.example/acc/#e1cib/data/")
    assert web[1].endswith("?ref=" + navigation_ref(REF_A))
    assert odata[1].endswith(f"(guid'{REF_A}')") and "secret" not in web[1] + odata[1]


def test_html_and_slack_escape_and_summarise():
    crm, onec = Entry("1", cp("<b>Эх & Ко</b>"), "x"), Entry(REF_A, cp("Эх и Ко"), "x")
    result = compare(sides([crm], [onec], [link("1", REF_A)]), CounterpartyTolerances(), REFS)
    report = Report("manual__1", NOW, NOW, Period(), [result])
    page = html_report(report)
    assert "&lt;b&gt;Эх &amp; Ко&lt;/b&gt;" in page and "<b>Эх" not in page
    assert "https://portal.example/crm/company/details/1/" in page
    line = slack_summary(report, url="https://airflow.example/x")
    assert line.startswith(":warning: crm1c reconciliation: drift: 2 differences")
    assert "&lt;b&gt;" in line and line.endswith("<https://airflow.example/x|Airflow>")
    assert subject(report) == "[crm1c] reconciliation 2026-03-02: DRIFT, 2 differences"
