"""A SPARQL editor (YASGUI) served by the app itself, so writing SPARQL in a browser works offline.

YASGUI's usual page loads its script from a CDN; on an air-gapped host, or behind a proxy, that
page stays blank. Here the page loads only files vendored under `resolvers/static/yasgui` (by
`scripts/vendor_yasgui.sh`; versions and hashes in its `VERSIONS.txt`), and its
Content-Security-Policy lets the browser load nothing else and send queries nowhere but this
origin. The page has no inline script: `yasgui-init.js` reads the endpoint, the query a new tab
opens with and the server's prefixes from the root's `data-` attributes.

`editor_page(endpoint)` is the page, for whichever route serves it (GET `/sparql` when a browser
asks for HTML); `router` serves it at `/sparql/editor` too, and `mount_editor_assets` serves the
files it loads.

>>> from fastapi import FastAPI
>>> from fastapi.testclient import TestClient
>>> app = FastAPI()
>>> mount_editor_assets(app)
>>> app.include_router(router)
>>> client = TestClient(app)
>>> page = client.get("/sparql/editor")
>>> page.headers["content-type"], 'data-endpoint="/sparql"' in page.text
('text/html; charset=utf-8', True)
>>> client.get(f"{STATIC_ROUTE}/yasgui.min.js").status_code
200
"""

from __future__ import annotations

import json
from html import escape
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

from ontology.namespaces import PREFIXES
from resolvers.pages import content_security_policy

__all__ = [
    "ASSETS",
    "CONTENT_SECURITY_POLICY",
    "DEFAULT_QUERY",
    "INJECTED_STYLES",
    "STATIC_ROUTE",
    "editor_page",
    "mount_editor_assets",
    "router",
]

STATIC_ROUTE = "/yasgui/static"
ASSETS = Path(__file__).parent / "static" / "yasgui"

INJECTED_STYLES = (
    " .grip-resizable{table-layout:fixed;} .grip-resizable > tbody > tr > td, .grip-resizable >"
    " tbody > tr > th{overflow:hidden} .grip-padding > tbody > tr > td, .grip-padding > tbody >"
    " tr > th{padding-left:0!important; padding-right:0!important;} .grip-container{"
    " height:0px; position:relative;} .grip-handle{margin-left:-5px; position:absolute;"
    " z-index:5; } .grip-handle .grip-resizable{position:absolute;background-color:red;"
    "filter:alpha(opacity=1);opacity:0;width:10px;height:100%;cursor: col-resize;top:0px}"
    " .grip-lastgrip{position:absolute; width:1px; } .grip-drag{ border-left:1px dotted"
    " black;\t} .grip-flex{width:auto!important;} .grip-handle.grip-disabledgrip"
    " .grip-resizable{cursor:default; display:none;}",
    "*{cursor:col-resize!important}",
)
"""The `<style>` texts YASGUI's results table adds to the page (its column resizer's rules, and
the cursor while a column is dragged): allowed by their hashes, so no other inline style is."""


# Scripts, styles and requests only from this origin: the editor can query this server's
# endpoint and nothing else. Inline styles only the ones YASGUI adds (by hash).
CONTENT_SECURITY_POLICY = content_security_policy(app=True, inline_styles=INJECTED_STYLES)

DEFAULT_QUERY = f"""PREFIX mkg: <{PREFIXES["mkg"]}>
PREFIX schema: <{PREFIXES["schema"]}>

# Models and their hidden size, largest first. More examples: examples/queries/*.rq
SELECT ?model ?name ?hiddenSize WHERE {{
  ?model a mkg:Model ;
         schema:name ?name ;
         mkg:hiddenSize ?hiddenSize .
}}
ORDER BY DESC(?hiddenSize) ?name
LIMIT 100
"""
"""The query a new editor tab opens with; it declares its prefixes so it runs anywhere."""

_PAGE = """<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>ModelKG SPARQL editor</title>
    <link rel="icon" href="data:,">
    <link rel="stylesheet" href="{static}/yasgui.min.css">
    <link rel="stylesheet" href="{static}/yasgui-page.css">
  </head>
  <body>
    <header class="page-bar">
      <h1>ModelKG SPARQL editor</h1>
      <span class="endpoint">endpoint <code>{endpoint}</code></span>
      <nav><a href="/">Home</a><a href="/graphql">GraphiQL</a><a href="/docs">REST docs</a></nav>
    </header>
    <div id="yasgui" data-endpoint="{endpoint}" data-query="{query}"
         data-prefixes="{prefixes}">Loading the SPARQL editor…</div>
    <script src="{static}/yasgui.min.js"></script>
    <script src="{static}/yasgui-init.js"></script>
  </body>
</html>
"""


def mount_editor_assets(app: FastAPI) -> None:
    """Serve the vendored YASGUI and our bootstrap files under `STATIC_ROUTE`.

    >>> app = FastAPI()
    >>> mount_editor_assets(app)
    >>> [route.path for route in app.routes if route.name == "yasgui-static"]
    ['/yasgui/static']
    """
    app.mount(STATIC_ROUTE, StaticFiles(directory=ASSETS), name="yasgui-static")


def editor_page(endpoint: str) -> HTMLResponse:
    """The SPARQL editor page, querying `endpoint` (a URL, relative to the page or absolute).

    >>> page = editor_page("/sparql")
    >>> 'data-endpoint="/sparql"' in page.body.decode()
    True
    >>> page.headers["content-security-policy"].split("; ")[1]
    "script-src 'self'"
    """
    html = _PAGE.format(
        static=STATIC_ROUTE,
        endpoint=escape(endpoint, quote=True),
        query=escape(DEFAULT_QUERY, quote=True),
        prefixes=escape(json.dumps(PREFIXES), quote=True),
    )
    return HTMLResponse(html, headers={"Content-Security-Policy": CONTENT_SECURITY_POLICY})


router = APIRouter()


@router.get("/sparql/editor", response_class=HTMLResponse, include_in_schema=False)
async def sparql_editor() -> HTMLResponse:
    """The SPARQL editor over this server's `/sparql`, at a URL of its own."""
    return editor_page("/sparql")
