"""The ``thresholds`` of include/mappings/alerts.yaml: documented defaults, null switches a check off, and a
mistake names the file and the key."""

from __future__ import annotations

import pytest

from crm1c.notify.config import AlertsConfigError, Thresholds, load_alerts_config, parse_alerts_config

SOURCE = "include/mappings/alerts.yaml"


def test_the_shipped_file_sets_the_documented_defaults():
    assert load_alerts_config().thresholds == Thresholds()
    assert parse_alerts_config("", SOURCE).thresholds == Thresholds(
        quarantine_growth=10,
        quarantine_max=100,
        rate_refusals_max=0,
        rate_wait_share=0.5,
        mass_change_share=0.3,
        mass_change_min=10,
        mass_change_wait_hours=24,
    )


def test_null_switches_a_check_off():
    text = "thresholds: {quarantine_growth: null, mass_change_share: null, mass_change_wait_hours: null}"
    thresholds = parse_alerts_config(text, SOURCE).thresholds
    assert thresholds.quarantine_growth is None and thresholds.mass_change_share is None
    assert thresholds.mass_change_wait_hours is None and thresholds.quarantine_max == 100


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("thresholds: {mass_change_share: 1.5}", "thresholds.mass_change_share: Input should be less than"),
        ("thresholds: {quarantine_growth: -1}", "thresholds.quarantine_growth: Input should be greater than"),
        ("thresholds: {mass_change: 0.3}", "thresholds.mass_change: unknown key"),
        ("thresholds: {mass_change_min: 0}", "thresholds.mass_change_min: Input should be greater than"),
    ],
)
def test_a_mistake_names_the_file_and_the_key(text, message):
    with pytest.raises(AlertsConfigError) as caught:
        parse_alerts_config(text, SOURCE)
    assert f"{SOURCE}: {message}" in str(caught.value)
