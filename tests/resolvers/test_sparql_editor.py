"""The SPARQL editor offline: a headless Chromium that can resolve no host but 127.0.0.1 opens
YASGUI at /sparql/editor, runs the default query against the app's /sparql and sees the models
in the results table, with every asset served by the app and no Content-Security-Policy
violation on the way."""

from __future__ import annotations

import hashlib
import re
from urllib.parse import quote

import httpx
import pytest
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from resolvers.sparql_editor import ASSETS, DEFAULT_QUERY, INJECTED_STYLES, STATIC_ROUTE

# YASGUI 4.6's own class names (see yasgui.min.css).
QUERY_EDITOR = ".yasqe .CodeMirror"
RUN = ".yasqe_queryButton"
ENDPOINT_FIELD = ".yasgui .autocomplete"
RESULTS = ".yasr"  # the header (result count) and the results
TABLE_ROWS = ".yasr table.dataTable tbody tr"
RESIZE_GRIP = ".grip-handle .grip-resizable"


def _open_editor(browser: WebDriver, url: str) -> None:
    browser.get(url)
    try:
        WebDriverWait(browser, 30).until(
            expected_conditions.element_to_be_clickable((By.CSS_SELECTOR, RUN))
        )
    except TimeoutException:
        shown = browser.find_element(By.TAG_NAME, "body").text[:300]
        pytest.fail(f"YASGUI did not render at {url} within 30 s; the page shows {shown!r}")


def _query_in_editor(browser: WebDriver) -> str:
    """The query editor's text, from the CodeMirror 5 instance on its wrapper element."""
    return str(
        browser.execute_script(
            f"return document.querySelector('{QUERY_EDITOR}').CodeMirror.getValue()"
        )
    )


def _results_showing(browser: WebDriver, *expected: str) -> str:
    """The results pane's text once it shows every `expected`."""
    pane = browser.find_element(By.CSS_SELECTOR, RESULTS)
    try:
        WebDriverWait(browser, 30).until(lambda _: all(text in pane.text for text in expected))
    except TimeoutException:
        pytest.fail(f"after 30 s the results pane shows {pane.text!r}, not all of {expected}")
    return str(pane.text)


def _severe_log_entries(browser: WebDriver) -> list[str]:
    """Console errors: a Content-Security-Policy violation or a failed load shows up here."""
    return [entry["message"] for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]


def test_the_editor_opens_on_the_default_query_loaded_from_our_own_server(
    server: str, browser: WebDriver
) -> None:
    _open_editor(browser, f"{server}/sparql/editor")
    assert browser.find_element(By.CSS_SELECTOR, QUERY_EDITOR).is_displayed()
    assert _query_in_editor(browser) == DEFAULT_QUERY
    endpoint = browser.find_element(By.CSS_SELECTOR, ENDPOINT_FIELD)
    assert endpoint.get_attribute("value") == f"{server}/sparql"
    loaded = browser.execute_script(
        "return performance.getEntriesByType('resource').map(entry => entry.name)"
    )
    assert any(name.endswith("/yasgui.min.js") for name in loaded)
    assert [name for name in loaded if not name.startswith(f"{server}/")] == []
    assert _severe_log_entries(browser) == []


def test_a_user_runs_the_default_query_and_sees_the_models_in_the_table(
    server: str, browser: WebDriver
) -> None:
    _open_editor(browser, f"{server}/sparql/editor")
    browser.find_element(By.CSS_SELECTOR, RUN).click()
    _results_showing(browser, "3 results", "openai-community/gpt2", "openai/whisper-base")

    rows = [row.text for row in browser.find_elements(By.CSS_SELECTOR, TABLE_ROWS)]
    assert len(rows) == 3
    assert "openai-community/gpt2" in rows[0] and '"768"' in rows[0]  # largest hidden size first
    assert "sentence-transformers/all-MiniLM-L6-v2" in rows[2] and '"384"' in rows[2]
    loaded = browser.execute_script(
        "return performance.getEntriesByType('resource').map(entry => entry.name)"
    )
    assert f"{server}/sparql" in loaded  # the query went to this server's endpoint

    # Dragging a column edge: the table's own <style> rules are allowed by their hashes.
    grip = browser.find_elements(By.CSS_SELECTOR, RESIZE_GRIP)[0]
    ActionChains(browser).click_and_hold(grip).move_by_offset(40, 0).release().perform()
    assert _severe_log_entries(browser) == []


def test_a_share_link_runs_its_query_against_this_server_whatever_endpoint_it_names(
    server: str, browser: WebDriver
) -> None:
    query = "SELECT (COUNT(?m) AS ?models) WHERE { ?m a <https://w3id.org/modelkg/ontology#Model> }"
    link = f"#query={quote(query, safe='')}&endpoint={quote('https://dbpedia.org/sparql')}"
    _open_editor(browser, f"{server}/sparql/editor{link}")
    assert _query_in_editor(browser) == query
    assert (
        browser.find_element(By.CSS_SELECTOR, ENDPOINT_FIELD).get_attribute("value")
        == f"{server}/sparql"
    )
    results = _results_showing(browser, "1 result", "models")  # ran on opening
    assert '"3"' in results


def test_an_error_from_the_endpoint_is_shown_and_the_editor_stays_usable(
    server: str, browser: WebDriver
) -> None:
    _open_editor(browser, f"{server}/sparql/editor")
    refused = "SELECT * WHERE { SERVICE <http://example.org/sparql> { ?s ?p ?o } }"
    browser.execute_script(
        f"document.querySelector('{QUERY_EDITOR}').CodeMirror.setValue(arguments[0])", refused
    )
    browser.find_element(By.CSS_SELECTOR, RUN).click()
    _results_showing(browser, "service_refused", "never fetches addresses a client chooses")

    browser.execute_script(
        f"document.querySelector('{QUERY_EDITOR}').CodeMirror.setValue(arguments[0])",
        DEFAULT_QUERY,
    )
    browser.find_element(By.CSS_SELECTOR, RUN).click()
    results = _results_showing(browser, "3 results", "openai-community/gpt2")
    assert "never fetches addresses a client chooses" not in results


def test_every_script_and_stylesheet_of_the_page_is_served_by_the_app(server: str) -> None:
    page = httpx.get(f"{server}/sparql/editor")
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    policy = page.headers["content-security-policy"]
    assert "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy
    assert "connect-src 'self'" in policy

    assets = re.findall(r'<script src="([^"]+)"|<link rel="stylesheet" href="([^"]+)"', page.text)
    urls = [script or stylesheet for script, stylesheet in assets]
    assert len(urls) == 4  # two stylesheets, two scripts
    assert [url for url in urls if not url.startswith(f"{STATIC_ROUTE}/")] == []
    for url in urls:
        asset = httpx.get(f"{server}{url}")
        assert asset.status_code == 200, url
        kind = "javascript" if url.endswith(".js") else "css"
        assert kind in asset.headers["content-type"], url
    links = re.findall(r'href="([^"]+)"', page.text)
    assert [link for link in links if not link.startswith(("/", "data:")) or "//" in link] == []


def test_the_default_query_answers_at_the_endpoint(server: str) -> None:
    response = httpx.post(
        f"{server}/sparql",
        data={"query": DEFAULT_QUERY},
        headers={"Accept": "application/sparql-results+json"},
    )
    assert response.status_code == 200, response.text
    rows = response.json()["results"]["bindings"]
    assert [int(row["hiddenSize"]["value"]) for row in rows] == [768, 512, 384]


def test_the_styles_the_policy_allows_are_the_ones_the_vendored_yasgui_adds() -> None:
    bundle = (ASSETS / "yasgui.min.js").read_text()
    resizer_rules, drag_cursor = INJECTED_STYLES
    assert f"createStyle(a,`{resizer_rules}`)" in bundle
    assert drag_cursor == "*{cursor:col-resize!important}"
    assert "`*{cursor:`+n.opt.dragCursor+`!important}`" in bundle
    assert "dragCursor:`col-resize`" in bundle


def test_the_vendored_files_are_the_ones_versions_txt_records() -> None:
    rows = [
        line.split()
        for line in (ASSETS / "VERSIONS.txt").read_text().splitlines()
        if not line.startswith("#")
    ]
    assert {package for package, _, _ in rows} == {"@zazuko/yasgui@4.6.2"}
    assert {name for _, name, _ in rows} == {"yasgui.min.js", "yasgui.min.css", "LICENSE.yasgui"}
    for _, name, sha256 in rows:
        assert hashlib.sha256((ASSETS / name).read_bytes()).hexdigest() == sha256, name
    assert "The MIT License" in (ASSETS / "LICENSE.yasgui").read_text()
