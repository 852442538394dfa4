"""The stored report's HTML as the crm1c page shows it: tables and text only, credentials masked."""

from __future__ import annotations

from crm1c.ui.sanitize import sanitize
from tests.contour_harness import BITRIX_TOKEN


def test_tables_and_text_are_kept() -> None:
    report = '<h2>Сверка</h2><table border="1" style="x"><tr><th>Поле</th><td align="right">5 &lt; 6</td>'
    report += "</tr></table>"
    assert sanitize(report) == (
        '<h2>Сверка</h2><table><tr><th>Поле</th><td align="right">5 &lt; 6</td></tr></table>'
    )


def test_scripts_handlers_and_foreign_elements_are_dropped() -> None:
    hostile = (
        "<p onclick=\"alert(1)\">a<script>alert('x')</script>b</p><style>p{}</style>"
        '<img src=x onerror=alert(1)><iframe src="https://example.com"><p>in</p></iframe><svg><a>s</a></svg>'
        "<script/>c"
    )
    assert sanitize(hostile) == "<p>ab</p>c"


def test_only_web_links_survive_and_open_apart() -> None:
    links = '<a href="javascript:alert(1)">x</a><a href=" https://crm.example/c/1 " title="t">y</a>'
    assert sanitize(links) == (
        '<a target="_blank" rel="noopener noreferrer">x</a>'
        '<a href="https://crm.example/c/1" target="_blank" rel="noopener noreferrer">y</a>'
    )


def test_credentials_are_masked_in_text_and_links() -> None:
    webhook = f"https://portal.example/rest/1/{BITRIX_TOKEN}/crm.company.list"
    clean = sanitize(f'<p>{webhook}</p><a href="{webhook}">CRM</a><p>https://user:pw@host/x</p>')
    assert BITRIX_TOKEN not in clean and ":pw@" not in clean
    assert clean.count("/rest/***/***/") == 2 and "https://***@host/x" in clean


def test_unclosed_tags_are_closed_and_stray_ends_ignored() -> None:
    assert sanitize("<table><tr><td>x</b></table></p><p>y") == "<table><tr><td>x</td></tr></table><p>y</p>"
