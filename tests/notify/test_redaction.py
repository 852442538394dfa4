"""Alert text keeps no credential: URL userinfo, Bitrix24 webhook tokens, secret query values, masked ones."""

from __future__ import annotations

import pytest

from crm1c.notify.redaction import redact, scrub_credentials


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "GET https://portal.example/rest/1/s3cr3tT0ken/crm.company.list failed",
            "GET https://portal.example/rest/***/***/crm.company.list failed",
        ),
        ("base https://portal.example/rest/17/abc0def1", "base https://portal.example/rest/***/***"),
        ("'https://b24.example/rest/1/tok/batch.json'", "'https://b24.example/rest/***/***/batch.json'"),
        (
            "could not connect to postgresql+psycopg2://crm1c:Pa55w0rd@db.example:5432/staging",
            "could not connect to postgresql+psycopg2://***@db.example:5432/staging",
        ),
        ("https://user:p@ss@host.example/x", "https://***@host.example/x"),
        ("https://token@host.example", "https://***@host.example"),
        (
            "https://b24.example/rest/crm.deal.list?auth=0a1b2c3d&start=50",
            "https://b24.example/rest/crm.deal.list?auth=***&start=50",
        ),
        (
            "?access_token=xyz123#frag and password=hunter22 end",
            "?access_token=***#frag and password=*** end",
        ),
    ],
)
def test_scrub_credentials_masks_each_kind(text, expected):
    assert scrub_credentials(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "ValueError: ИНН 7728145639 has a wrong check digit",
        "https://127.0.0.1:8081/accounting/odata/standard.odata/Catalog_Контрагенты?$format=json",
        "mail oncall@localhost about /rest/crm.company.list.json",
        "http://localhost:8080/dags/sync/runs/manual__2026-01-01T00%3A00%3A00%2B00%3A00/tasks/plan?try_number=2",
    ],
)
def test_scrub_credentials_leaves_ordinary_text_alone(text):
    assert scrub_credentials(text) == text


def test_redact_applies_the_airflow_secrets_masker_then_scrubs():
    from airflow.sdk.log import mask_secret

    mask_secret("Sup3r-Secret-Value-42")
    text = "login failed with Sup3r-Secret-Value-42 at https://portal.example/rest/1/s3cr3tT0ken/"

    assert redact(text) == "login failed with *** at https://portal.example/rest/***/***/"


def test_redact_uses_the_core_masker_too():
    from airflow._shared.secrets_masker import mask_secret as core_mask_secret

    core_mask_secret("core-only-S3cret-99")

    assert redact("x core-only-S3cret-99 y") == "x *** y"
