"""include/mappings/alerts.yaml loads as validated data; each mistake names the file and the key."""

from __future__ import annotations

import pytest

from crm1c.notify import failure_notifiers
from crm1c.notify.config import (
    DEFAULT_ALERTS_FILE,
    AlertsConfig,
    AlertsConfigError,
    EmailAlerts,
    load_alerts_config,
    parse_alerts_config,
)
from crm1c.notify.notifiers import EmailFailureNotifier, SlackFailureNotifier

SOURCE = "include/mappings/alerts.yaml"


def problem_of(text: str) -> str:
    with pytest.raises(AlertsConfigError) as caught:
        parse_alerts_config(text, SOURCE)
    return str(caught.value)


def test_the_shipped_file_has_the_local_defaults():
    config = load_alerts_config()

    assert config.email == EmailAlerts(
        to=["oncall@localhost"], conn_id="smtp_default", from_email="crm1c@localhost"
    )
    assert config.slack is not None
    assert config.slack.conn_id == "slack_default"
    assert config.slack.channel is None


def test_an_empty_file_means_the_defaults():
    config = parse_alerts_config("", SOURCE)

    assert config.email is not None
    assert config.email.to == ["oncall@localhost"]
    assert config.email.conn_id == "smtp_default"
    assert config.slack is not None
    assert config.slack.conn_id == "slack_default"


def test_a_single_address_and_a_channel():
    config = parse_alerts_config("email: {to: ops@example.com}\nslack: {channel: '#crm1c'}\n", SOURCE)

    assert config.email is not None
    assert config.email.to == ["ops@example.com"]
    assert config.slack is not None
    assert config.slack.channel == "#crm1c"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("email: {too: [a@b.example]}", f"{SOURCE}: email.too: unknown key"),
        ("emial: {to: [a@b.example]}", f"{SOURCE}: emial: unknown key"),
        ("slack: {conn: slack_default}", f"{SOURCE}: slack.conn: unknown key"),
        ("email: {to: [ops.example.com]}", f"{SOURCE}: email.to: not an e-mail address: 'ops.example.com'"),
        ("email: {to: []}", f"{SOURCE}: email.to: List should have at least 1 item"),
        ("email: {from_email: crm1c}", f"{SOURCE}: email.from_email: not an e-mail address: 'crm1c'"),
        ("slack: {conn_id: ''}", f"{SOURCE}: slack.conn_id: String should have at least 1 character"),
        ("- email", f"{SOURCE}: the file must be a YAML mapping"),
        ("email: {to: [a@b.example]", f"{SOURCE}: not valid YAML"),
    ],
)
def test_a_mistake_names_the_file_and_the_key(text, message):
    assert problem_of(text).startswith(message)


def test_an_unreadable_file_is_named(tmp_path):
    with pytest.raises(AlertsConfigError, match=r"alerts\.yaml: cannot read the file"):
        load_alerts_config(tmp_path / "alerts.yaml")


def test_a_file_given_by_path_is_named_in_the_error(tmp_path):
    path = tmp_path / "alerts.yaml"
    path.write_text("slack: {chanel: '#x'}\n", encoding="utf-8")

    with pytest.raises(AlertsConfigError) as caught:
        load_alerts_config(path)

    assert str(caught.value) == f"{path}: slack.chanel: unknown key (not part of the file's format)"


def test_default_file_is_the_shipped_one():
    assert DEFAULT_ALERTS_FILE.as_posix().endswith(SOURCE)


def test_failure_notifiers_follow_the_config():
    both = failure_notifiers("counterparties")
    assert [type(n) for n in both] == [EmailFailureNotifier, SlackFailureNotifier]
    email = both[0]
    assert isinstance(email, EmailFailureNotifier)
    assert (email.to, email.smtp_conn_id, email.entity) == (
        ["oncall@localhost"],
        "smtp_default",
        "counterparties",
    )

    only_mail = failure_notifiers(config=parse_alerts_config("slack: null", SOURCE))
    assert [type(n) for n in only_mail] == [EmailFailureNotifier]
    assert failure_notifiers(config=AlertsConfig(email=None, slack=None)) == []
