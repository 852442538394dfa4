"""The fresh-installation defaults (``include/mappings/rollout.yaml``) and the effective mode."""

from __future__ import annotations

from pathlib import Path

import pytest

from crm1c import datafile
from crm1c.rollout import (
    Mode,
    RolloutConfigError,
    RolloutDefaults,
    active_profile,
    effective_policy,
    load_rollout_defaults,
)
from crm1c.rollout.defaults import DEFAULT_ROLLOUT_FILE

FILE = "include/mappings/rollout.yaml"


def _parse(text: str) -> RolloutDefaults:
    return datafile.parse(text, RolloutDefaults, FILE, RolloutConfigError)


def test_the_shipped_file_keeps_counterparties_on_and_the_demo_profile_turns_everything_on():
    defaults = load_rollout_defaults()
    assert defaults.source == FILE
    assert defaults.mode("counterparties") is Mode.ON
    assert defaults.mode("counterparties", "demo") is Mode.ON
    assert set(defaults.profiles) == {"demo"}
    assert defaults.defaults["*"] is Mode.OFF  # every later entity starts off
    assert DEFAULT_ROLLOUT_FILE.as_posix().endswith(FILE)


def test_an_entity_listed_nowhere_is_off_and_star_covers_the_others():
    table = _parse("defaults: {counterparties: shadow}\nprofiles: {demo: {'*': read_only}}")
    assert table.mode("counterparties") is Mode.SHADOW
    assert table.mode("nomenclature") is Mode.OFF
    assert table.mode("counterparties", "demo") is Mode.READ_ONLY  # a profile replaces the whole table


def test_bare_on_and_off_read_as_the_modes_they_spell():
    """YAML 1.1 reads a bare ``on`` as true: the file is written as people would write it."""
    table = _parse("defaults:\n  counterparties: on\n  '*': off\n")
    assert table.defaults == {"counterparties": Mode.ON, "*": Mode.OFF}


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            "defaults: {counterparty: on}",
            "defaults: key 'counterparty': unknown entity; known: counterparties",
        ),
        ("defaults: {counterparties: sometimes}", "defaults.counterparties: Input should be 'off', 'shadow'"),
        ("defaults: {counterparties: pilot}", "defaults.counterparties: pilot needs a filter of records"),
        ("profiles: {demo: {nomenclatur: on}}", "profiles.demo: key 'nomenclatur': unknown entity"),
        ("default: {counterparties: on}", "default: unknown key"),
        ("defaults: {counterparties: on, counterparties: off}", "key 'counterparties' given twice"),
        ("- counterparties", "the file must be a YAML mapping"),
    ],
)
def test_a_bad_file_names_the_file_and_the_key(text, problem):
    with pytest.raises(RolloutConfigError) as caught:
        _parse(text)
    assert str(caught.value).startswith(f"{FILE}: ")
    assert problem in str(caught.value)


def test_a_bad_file_on_disk_is_named(tmp_path: Path):
    path = tmp_path / "rollout.yaml"
    path.write_text("defaults: {counterparties: maybe}\n", encoding="utf-8")
    with pytest.raises(RolloutConfigError, match=f"{path}: defaults.counterparties"):
        load_rollout_defaults(path)
    with pytest.raises(RolloutConfigError, match="cannot read the file"):
        load_rollout_defaults(tmp_path / "missing.yaml")


def test_an_unknown_profile_is_an_error():
    with pytest.raises(RolloutConfigError, match=f"{FILE}: profiles: no profile 'prod' \\(known: demo\\)"):
        load_rollout_defaults().mode("counterparties", "prod")


def test_the_profile_comes_from_the_environment(monkeypatch):
    monkeypatch.delenv("CRM1C_ROLLOUT_PROFILE", raising=False)
    assert active_profile() is None
    monkeypatch.setenv("CRM1C_ROLLOUT_PROFILE", " demo ")
    assert active_profile() == "demo"


def test_the_mode_set_in_staging_wins_over_the_default(staging):
    defaults = _parse("defaults: {counterparties: on}")
    policy = effective_policy(staging, "counterparties", defaults)
    assert policy.mode is Mode.ON
    assert policy.source == f"default of {FILE} (profile defaults)"

    staging.set_mode("counterparties", "pilot", pilot_filter={"inn": ["7707083893"]}, actor="anna")
    policy = effective_policy(staging, "counterparties", defaults, dry_run=True)
    assert (policy.mode, policy.pilot_filter, policy.dry_run) == (Mode.PILOT, {"inn": ["7707083893"]}, True)
    assert policy.source.startswith("set by anna at ") and policy.source.endswith(" UTC")
