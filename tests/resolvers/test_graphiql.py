"""GraphiQL offline: a headless Chromium that can resolve no host but 127.0.0.1 opens the page,
runs a query through the UI and sees a GraphQL error, with every asset served by the app."""

from __future__ import annotations

import hashlib
import re
from urllib.parse import quote

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from selenium.common.exceptions import TimeoutException, WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from resolvers.graphiql import ASSETS, STATIC_ROUTE, graphiql_response, mount_graphiql_assets

# GraphiQL 3.9's own class names (see graphiql.min.css).
QUERY_EDITOR = ".graphiql-query-editor .CodeMirror"
EXECUTE = ".graphiql-execute-button"
RESPONSE = ".graphiql-response .result-window"

MODELS_QUERY = "{ models(first: 3) { totalCount edges { node { id } } } }"


def _open_graphiql(browser: WebDriver, url: str) -> None:
    browser.get(url)
    try:
        WebDriverWait(browser, 30).until(
            expected_conditions.element_to_be_clickable((By.CSS_SELECTOR, EXECUTE))
        )
    except TimeoutException:
        shown = browser.find_element(By.TAG_NAME, "body").text[:300]
        pytest.fail(f"GraphiQL did not render at {url} within 30 s; the page shows {shown!r}")


def _query_in_editor(browser: WebDriver) -> str:
    """The query editor's text, from the CodeMirror 5 instance on its wrapper element."""
    return str(
        browser.execute_script(
            f"return document.querySelector('{QUERY_EDITOR}').CodeMirror.getValue()"
        )
    )


def _run_and_read_response(browser: WebDriver, *expected: str) -> str:
    """Click the execute button; the response pane's text once it shows every `expected`."""
    browser.find_element(By.CSS_SELECTOR, EXECUTE).click()
    pane = browser.find_element(By.CSS_SELECTOR, RESPONSE)
    try:
        WebDriverWait(browser, 30).until(lambda _: all(text in pane.text for text in expected))
    except TimeoutException:
        pytest.fail(f"after 30 s the response pane shows {pane.text!r}, not all of {expected}")
    return str(pane.text)


def _type_query(browser: WebDriver, query: str) -> None:
    """Replace the query editor's text by typing, as a user would."""
    browser.find_element(By.CSS_SELECTOR, QUERY_EDITOR).click()
    editor = browser.switch_to.active_element
    editor.send_keys(Keys.CONTROL, "a")
    editor.send_keys(Keys.DELETE)
    editor.send_keys(query)
    assert _query_in_editor(browser) == query


def test_the_test_browser_resolves_no_host_name_not_even_localhost(
    server: str, browser: WebDriver
) -> None:
    for url in (
        "https://unpkg.com/graphiql/graphiql.min.js",
        server.replace("127.0.0.1", "localhost"),
    ):
        with pytest.raises(WebDriverException, match="ERR_NAME_NOT_RESOLVED"):
            browser.get(url)
    browser.get(f"{server}/health")
    assert '"status":"ok"' in browser.page_source


def test_the_graphql_page_opens_graphiql_loaded_from_our_own_server(
    server: str, browser: WebDriver
) -> None:
    _open_graphiql(browser, f"{server}/graphql")
    assert browser.find_element(By.CSS_SELECTOR, QUERY_EDITOR).is_displayed()
    loaded = browser.execute_script(
        "return performance.getEntriesByType('resource').map(entry => entry.name)"
    )
    assert any(name.endswith("/graphiql.min.js") for name in loaded)
    assert [name for name in loaded if not name.startswith(f"{server}/")] == []
    errors = [
        entry["message"] for entry in browser.get_log("browser") if entry["level"] == "SEVERE"
    ]
    assert errors == []  # no Content-Security-Policy violation, no failed load


def test_a_user_runs_a_query_opened_from_a_link(server: str, browser: WebDriver) -> None:
    _open_graphiql(browser, f"{server}/graphql?query={quote(MODELS_QUERY)}")
    assert _query_in_editor(browser) == MODELS_QUERY
    _run_and_read_response(browser, '"totalCount": 3', "openai-community/gpt2")


def test_a_malformed_query_shows_the_graphql_error_and_the_page_stays_usable(
    server: str, browser: WebDriver
) -> None:
    _open_graphiql(browser, f"{server}/graphql")
    _type_query(browser, "{ models(first: 3) { nope } }")
    _run_and_read_response(browser, "Cannot query field 'nope'")

    _type_query(browser, MODELS_QUERY)
    response = _run_and_read_response(browser, '"totalCount": 3', "openai-community/gpt2")
    assert "nope" not in response


def test_the_page_loads_only_assets_the_app_serves() -> None:
    app = FastAPI()
    mount_graphiql_assets(app)
    app.add_api_route("/graphql", lambda: graphiql_response("/graphql"))
    client = TestClient(app)

    page = client.get("/graphql")
    assert "'unsafe-inline'" not in page.headers["content-security-policy"]
    assert "http://" not in page.text and "https://" not in page.text
    references = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert [ref for ref in references if not ref.startswith((STATIC_ROUTE, "data:"))] == []
    assets = [ref for ref in references if ref.startswith(STATIC_ROUTE)]
    assert len(assets) == 6  # two stylesheets, four scripts
    assert {asset: client.get(asset).status_code for asset in assets} == dict.fromkeys(assets, 200)


def test_the_vendored_files_are_the_ones_versions_txt_records() -> None:
    rows = [
        line.split()
        for line in (ASSETS / "VERSIONS.txt").read_text().splitlines()
        if not line.startswith("#")
    ]
    assert {package for package, _, _ in rows} == {
        "graphiql@3.9.0",
        "react@18.3.1",
        "react-dom@18.3.1",
    }
    for _, name, sha256 in rows:
        assert hashlib.sha256((ASSETS / name).read_bytes()).hexdigest() == sha256, name
