"""The landing page at `/` on a live server: what it is, the model count, and links that answer."""

from __future__ import annotations

import base64
import hashlib
import re

import httpx

from resolvers.landing import LINKS
from tests.resolvers.conftest import TOKEN


def test_the_landing_page_is_html_with_the_model_count_and_the_links(server: str) -> None:
    page = httpx.get(f"{server}/")
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert "<h1>ModelKG</h1>" in page.text
    assert "<strong>3 models</strong> in this registry" in page.text
    assert httpx.get(f"{server}/health").json()["models"] == 3
    links = re.findall(r'<a href="([^"]+)"', page.text)
    assert links == [
        "/models",
        "/sparql",
        "/graphql",
        "/docs",
        "/api/v1/models",
        "/graphql/schema.graphql",
        "/health",
    ]
    assert f"curl '{server}/api/v1/models?first=5'" in page.text


def test_every_link_on_the_landing_page_answers(server: str) -> None:
    browser_accept = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
    status = {
        path: httpx.get(f"{server}{path}", headers=browser_accept).status_code
        for path, _, _ in LINKS
    }
    # /sparql opens the editor for a browser once the endpoint serves it; until then a GET
    # without a query is the protocol's 400. Every other link is a page or a document.
    assert status.pop("/sparql") in (200, 400)
    assert status == dict.fromkeys(status, 200)


def test_the_page_loads_nothing_and_its_only_style_is_the_one_the_policy_admits(
    server: str,
) -> None:
    page = httpx.get(f"{server}/")
    policy = page.headers["content-security-policy"]
    assert "default-src 'none'" in policy
    assert "script-src" not in policy and "'unsafe-inline'" not in policy
    assert "<script" not in page.text
    styles = re.findall(r"<style>(.*?)</style>", page.text, flags=re.DOTALL)
    assert len(styles) == 1
    digest = base64.b64encode(hashlib.sha256(styles[0].encode()).digest()).decode()
    assert f"style-src 'sha256-{digest}'" in policy  # what a browser checks before applying it
    references = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert [ref for ref in references if not ref.startswith(("/", "data:"))] == []


def test_the_count_is_read_from_the_store_on_each_request(writable_server: str) -> None:
    assert "<strong>3 models</strong>" in httpx.get(f"{writable_server}/").text
    extra = "https://example.org/graph/extra"
    added = httpx.post(
        f"{writable_server}/sparql",
        data={
            "update": f"INSERT DATA {{ GRAPH <{extra}> {{ <{extra}> mkg:describes "
            "<https://example.org/model/extra> } }"
        },
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert added.status_code in (200, 204), added.text
    assert "<strong>4 models</strong>" in httpx.get(f"{writable_server}/").text
