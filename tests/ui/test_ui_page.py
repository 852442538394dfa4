"""The crm1c page in a real headless Chromium, behind Airflow's real login.

Staging is made by real syncs against the contour (a held company, a conflict, reports; error texts that
hold the contour's credentials). The API server with the plugin reads it through ``crm1c_staging``. The
browser is sent to Airflow's login page, logs in, sees the page on its own and inside Airflow's UI, searches
a record's story, sorts the quarantine and follows the ``rollout`` link; screenshots are kept and checked
not to be blank. Without a session the page is refused; no page ever shows the credentials.
"""

from __future__ import annotations

import json
import os
import re
import struct
import time
import urllib.error
import urllib.request
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from selenium import webdriver
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from crm1c.staging import Staging
from crm1c.sync.entities import ENTITY_NAMES
from tests.airflow_live import ADMIN, LiveAirflow, staging_connection
from tests.contour_harness import BITRIX_TOKEN, ONEC_PASSWORD, RunningContour
from tests.ui.seed import MODE_SETTER, Seeded, seed

pytestmark = pytest.mark.airflow
CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
SECRETS = (BITRIX_TOKEN, ONEC_PASSWORD)
WAIT = 60
GONE = (NoSuchElementException, StaleElementReferenceException)  # while a page is being replaced


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[WebDriver]:
    """Headless Chromium from the system packages (required under ``CI=true``)."""
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if missing:
        message = f"{', '.join(missing)} missing: apt-get install -y chromium chromium-driver"
        if os.environ.get("CI", "").strip().lower() == "true":
            pytest.fail(f"{message}; CI=true requires it", pytrace=False)
        pytest.skip(message)
    options = Options()
    options.binary_location = str(CHROMIUM)
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1440,1100"):
        options.add_argument(arg)
    options.add_argument(f"--user-data-dir={tmp_path / 'chromium'}")
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(WAIT)
    try:
        yield driver
    finally:
        driver.quit()


def test_the_crm1c_page(
    tmp_path: Path, empty_contour: RunningContour, sqlite_staging: Staging, browser: WebDriver
) -> None:
    started = time.monotonic()
    seeded = seed(empty_contour, sqlite_staging)
    url = sqlite_staging.engine.url.render_as_string(hide_password=False)
    env = {"AIRFLOW_CONN_CRM1C_STAGING": json.dumps(staging_connection(url))}
    shots = tmp_path / "screenshots"
    shots.mkdir()
    with LiveAirflow(tmp_path / "airflow", env=env, components=("api-server",)) as airflow:
        page = airflow.base_url + "/crm1c/"
        _refused_without_a_session(page)
        _log_in(browser, airflow, page)
        _check_page(browser, seeded)
        _shot(browser, shots / "page.png")

        browser.get(airflow.base_url + "/")  # Airflow's home: the navigation has the crm1c entry
        nav = (By.CSS_SELECTOR, "a[href$='plugin/crm1c']")
        _wait(browser).until(ec.element_to_be_clickable(nav)).click()
        frame = _wait(browser).until(ec.presence_of_element_located((By.CSS_SELECTOR, "iframe[title=crm1c]")))
        browser.switch_to.frame(frame)
        _wait(browser).until(ec.presence_of_element_located((By.CSS_SELECTOR, "table.modes")))
        _check_page(browser, seeded)
        _shot(browser, shots / "in_airflow.png")
        browser.execute_script("document.getElementById('reconciliation').scrollIntoView()")
        _shot(browser, shots / "report.png")
        _check_real_report(browser)
        _shot(browser, shots / "real_report.png")
        _check_story(browser, seeded, shots / "story.png")
        _check_sorting(browser)
        _check_rollout_link(browser, airflow.base_url)

        _check_views_with_the_session(browser, page, seeded)
    print(f"crm1c page test: {time.monotonic() - started:.1f} s; screenshots in {shots}")


def _refused_without_a_session(page: str) -> None:
    """A plain GET without the cookie: 401; a browser's GET: sent to Airflow's login page."""
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(page, timeout=30)  # noqa: S310  (http://127.0.0.1)
    assert refused.value.code == 401
    request = urllib.request.Request(page, headers={"Accept": "text/html"})  # noqa: S310
    opener = urllib.request.build_opener(_NoRedirect())
    with pytest.raises(urllib.error.HTTPError) as redirected:
        opener.open(request, timeout=30)
    assert redirected.value.code == 303
    assert "/auth/login?next=" in redirected.value.headers["Location"]


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def _log_in(browser: WebDriver, airflow: LiveAirflow, page: str) -> None:
    """Open the page: Airflow's login form comes first, then the page itself."""
    browser.get(page)
    password = _wait(browser).until(ec.element_to_be_clickable((By.CSS_SELECTOR, "input[type=password]")))
    assert "/auth/login" in browser.current_url
    browser.find_element(By.CSS_SELECTOR, "input:not([type=password])").send_keys(ADMIN)
    password.send_keys(airflow.password)
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    _wait(browser).until(ec.presence_of_element_located((By.CSS_SELECTOR, "table.modes")))
    assert browser.current_url.startswith(page)


def _check_page(browser: WebDriver, seeded: Seeded) -> None:
    """The mode, the last run, the held company with its reasons and wait, the conflict, the reports."""
    modes = _rows(browser, "table.modes")
    assert len(modes) == len(ENTITY_NAMES), modes  # a row per entity, in DAG order
    assert all(name in row for name, row in zip(ENTITY_NAMES, modes, strict=True)), modes
    assert "read_only" in modes[0], modes
    assert f"set by {MODE_SETTER}" in modes[0] and "run " in modes[0] and "OK" in modes[0], modes
    held = [r for r in _rows(browser, "table.quarantine") if "контрольная сумма не сходится" in r]
    assert len(held) == 1, held
    assert f"CRM {seeded.held_crm}" in held[0] and "checksum does not match" in held[0], held
    assert re.match(r"(< 1 min|\d+ min)\b", held[0]), held  # the wait comes first
    conflicts = _rows(browser, "table.conflicts")
    assert len(conflicts) == 1 and 'ООО "Гамма-CRM"' in conflicts[0] and 'ООО "Гамма-1С"' in conflicts[0]
    assert f"CRM {seeded.scenario.conflict_crm}" in conflicts[0] and 'ООО "Гамма"' in conflicts[0]
    history = _rows(browser, "table.history")
    assert len(history) == len(seeded.reports) and all("drift" in r for r in history), history
    report = browser.find_element(By.CSS_SELECTOR, ".report")
    assert "Ошибка / error" in report.text
    assert report.find_elements(By.CSS_SELECTOR, "script, img, iframe, [onclick]") == []
    hrefs = [a.get_attribute("href") or "" for a in report.find_elements(By.TAG_NAME, "a")]
    assert not any(h.startswith("javascript:") for h in hrefs), hrefs
    assert browser.execute_script("return window.top.document.title") != "pwned"
    _no_secrets(browser.page_source)


def _check_real_report(browser: WebDriver) -> None:
    """The older report, as the reconciliation wrote it: its tables, the drifted name, links kept."""
    browser.find_element(By.LINK_TEXT, "показать / show").click()
    _wait(browser).until(lambda b: "сверка CRM ⇄ 1С" in b.find_element(By.CSS_SELECTOR, ".report").text)
    report = browser.find_element(By.CSS_SELECTOR, ".report")
    assert 'ООО "Бета-1С"' in report.text and len(report.find_elements(By.TAG_NAME, "table")) >= 2
    hrefs = [a.get_attribute("href") or "" for a in report.find_elements(By.TAG_NAME, "a")]
    assert any(h.startswith("https://127.0.0.1:") for h in hrefs), hrefs
    _no_secrets(browser.page_source)


def _check_story(browser: WebDriver, seeded: Seeded, shot: Path) -> None:
    """Search a CRM id: the story from crm1c.audit, oldest first, and the audit chain verified."""
    fixed = seeded.scenario.fixed_crm
    box = browser.find_element(By.CSS_SELECTOR, "input[name=q]")
    box.clear()
    box.send_keys(fixed)
    browser.find_element(By.CSS_SELECTOR, "form.search button").click()
    story = _wait(browser).until(ec.presence_of_element_located((By.CSS_SELECTOR, "pre.story"))).text
    assert story.startswith(f"counterparty — CRM {fixed} ⇄ 1C {seeded.scenario.fixed_ref}"), story
    for line in ("first read into staging", "held", "released", "create → 1C", "audit chain: OK"):
        assert line in story, line
    _no_secrets(browser.page_source)
    _shot(browser, shot)
    box = browser.find_element(By.CSS_SELECTOR, "input[name=q]")
    box.clear()
    box.send_keys(seeded.held_crm)
    browser.find_element(By.CSS_SELECTOR, "form.search button").click()
    _wait(browser).until(lambda b: f"CRM {seeded.held_crm}\n" in b.find_element(By.CSS_SELECTOR, "pre").text)
    assert "failed" in browser.find_element(By.CSS_SELECTOR, "pre.story").text
    _no_secrets(browser.page_source)  # the failed write's error holds both credentials


def _check_sorting(browser: WebDriver) -> None:
    """Oldest first by default; newest first on request (the leaked reason was held last)."""
    oldest = _rows(browser, "table.quarantine")
    browser.find_element(By.LINK_TEXT, "сначала новые / newest first").click()
    _wait(browser).until(lambda b: _rows(b, "table.quarantine") == list(reversed(oldest)))


def _check_rollout_link(browser: WebDriver, base_url: str) -> None:
    """The link to the rollout DAG opens it in Airflow's UI itself, not inside the frame."""
    browser.find_element(By.CSS_SELECTOR, "a[data-airflow][href$='/dags/rollout']").click()
    browser.switch_to.default_content()
    _wait(browser).until(lambda b: b.current_url == base_url + "/dags/rollout")


def _check_views_with_the_session(browser: WebDriver, page: str, seeded: Seeded) -> None:
    """Every view of the page (each report, each story, each sort): no credential anywhere."""
    session = {"_token": browser.get_cookie("_token")["value"]}  # the cookie Airflow's login set
    views = [f"?report={r}" for r in seeded.reports] + ["?sort=newest"]
    views += [f"?q={q}" for q in (seeded.held_crm, seeded.renamed_ref, seeded.bad_inn, "crm:999", "nonsense")]
    for view in views:
        resp = requests.get(page + view, cookies=session, timeout=30)
        assert resp.status_code == 200, (view, resp.text[:300])
        _no_secrets(resp.text)


def _no_secrets(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"{secret!r} is on the page"


def _rows(browser: WebDriver, table: str) -> list[str]:
    return [r.text for r in browser.find_elements(By.CSS_SELECTOR, f"{table} tbody tr")]


def _wait(browser: WebDriver) -> WebDriverWait:
    """Waits out a page being replaced (the frame reloads on every link and search)."""
    return WebDriverWait(browser, WAIT, ignored_exceptions=GONE)


def _shot(browser: WebDriver, path: Path) -> None:
    """A screenshot that is a PNG with something on it (not one flat colour)."""
    assert browser.save_screenshot(str(path))
    assert path.stat().st_size > 0
    assert len(_png_bytes(path.read_bytes())) > 16, f"{path} looks blank"


def _png_bytes(png: bytes) -> set[int]:
    """The distinct byte values of a PNG's decompressed pixel data (a blank image has very few)."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pos, data = 8, b""
    while pos < len(png):
        (size,) = struct.unpack(">I", png[pos : pos + 4])
        kind = png[pos + 4 : pos + 8]
        if kind == b"IDAT":
            data += png[pos + 8 : pos + 8 + size]
        pos += 12 + size
    return set(zlib.decompress(data))
