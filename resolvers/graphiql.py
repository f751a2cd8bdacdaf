"""GraphiQL served by the app itself, so the in-browser IDE works offline.

The usual GraphiQL page loads React and GraphiQL from a CDN; on an air-gapped host, or behind a
proxy, that page stays blank. Here the page loads only files vendored under
`resolvers/static/graphiql` (by `scripts/vendor_graphiql.sh`; versions and hashes in its
`VERSIONS.txt`), and its Content-Security-Policy lets the browser load nothing else. The page
has no inline script: `graphiql-init.js` reads the endpoint from the root's `data-endpoint`
attribute, and `?query=...` in the page URL opens the editor on that query.

>>> from fastapi import FastAPI
>>> from fastapi.testclient import TestClient
>>> app = FastAPI()
>>> mount_graphiql_assets(app)
>>> app.add_api_route("/graphql", lambda: graphiql_response("/graphql"))
>>> client = TestClient(app)
>>> client.get("/graphql").headers["content-type"]
'text/html; charset=utf-8'
>>> client.get(f"{STATIC_ROUTE}/graphiql.min.js").status_code
200
"""

from __future__ import annotations

from html import escape
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

from resolvers.pages import content_security_policy

__all__ = [
    "ASSETS",
    "CONTENT_SECURITY_POLICY",
    "STATIC_ROUTE",
    "graphiql_response",
    "mount_graphiql_assets",
]

STATIC_ROUTE = "/graphiql/static"
ASSETS = Path(__file__).parent / "static" / "graphiql"

# Scripts, styles and requests only from this origin. GraphiQL's fonts and icons are data: URIs
# inside graphiql.min.css; everything else is refused.
CONTENT_SECURITY_POLICY = content_security_policy(app=True)

_PAGE = """<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>ModelKG GraphiQL</title>
    <link rel="icon" href="data:,">
    <link rel="stylesheet" href="{static}/graphiql.min.css">
    <link rel="stylesheet" href="{static}/graphiql-page.css">
  </head>
  <body>
    <div id="graphiql" data-endpoint="{endpoint}">Loading GraphiQL…</div>
    <script src="{static}/react.production.min.js"></script>
    <script src="{static}/react-dom.production.min.js"></script>
    <script src="{static}/graphiql.min.js"></script>
    <script src="{static}/graphiql-init.js"></script>
  </body>
</html>
"""


def mount_graphiql_assets(app: FastAPI) -> None:
    """Serve the vendored GraphiQL, React and our bootstrap files under `STATIC_ROUTE`.

    >>> app = FastAPI()
    >>> mount_graphiql_assets(app)
    >>> [route.path for route in app.routes if route.name == "graphiql-static"]
    ['/graphiql/static']
    """
    app.mount(STATIC_ROUTE, StaticFiles(directory=ASSETS), name="graphiql-static")


def graphiql_response(endpoint: str = "/graphql") -> HTMLResponse:
    """The GraphiQL page, talking to the GraphQL `endpoint`, loading only our own assets.

    >>> page = graphiql_response("/graphql")
    >>> 'data-endpoint="/graphql"' in page.body.decode()
    True
    >>> page.headers["content-security-policy"].split("; ")[1]
    "script-src 'self'"
    """
    html = _PAGE.format(static=STATIC_ROUTE, endpoint=escape(endpoint, quote=True))
    return HTMLResponse(html, headers={"Content-Security-Policy": CONTENT_SECURITY_POLICY})
