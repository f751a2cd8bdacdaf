"""OpenAPI docs at `/docs` that work offline: Swagger UI served by the app itself.

FastAPI's own `/docs` page loads Swagger UI from a CDN, so on an air-gapped host, or behind a
proxy, it stays blank. Here the page loads Swagger UI's script, style and icon from the files
the `fastapi-offline` package ships (Swagger UI 5, which reads OpenAPI 3.1), mounted under
`/docs/static`, and its Content-Security-Policy lets the browser fetch nothing from elsewhere.
The app must be made with `docs_url=None` so FastAPI's CDN page does not claim `/docs` first.

>>> from fastapi import FastAPI
>>> from fastapi.testclient import TestClient
>>> app = FastAPI(docs_url=None)
>>> install_docs(app)
>>> client = TestClient(app)
>>> page = client.get("/docs")
>>> page.status_code, "https://" in page.text
(200, False)
>>> client.get(f"{STATIC_ROUTE}/swagger-ui-bundle.js").status_code
200
"""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

__all__ = ["ASSETS", "CONTENT_SECURITY_POLICY", "STATIC_ROUTE", "install_docs"]

STATIC_ROUTE = "/docs/static"
ASSETS = Path(fastapi_offline.__file__).parent / "static"
"""swagger-ui-bundle.js, swagger-ui.css and favicon.png, as the package ships them."""

# Swagger UI starts from one inline script (FastAPI's page) and sets inline styles; its icons
# are data: URIs. Everything else comes from this origin or not at all.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self' 'unsafe-inline'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


def install_docs(app: FastAPI, path: str = "/docs") -> None:
    """Serve Swagger UI at `path` from local files, over the app's `/openapi.json`."""
    app.mount(STATIC_ROUTE, StaticFiles(directory=ASSETS), name="docs-static")

    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        page = get_swagger_ui_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{app.title} API",
            swagger_js_url=f"{root}{STATIC_ROUTE}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{STATIC_ROUTE}/swagger-ui.css",
            swagger_favicon_url=f"{root}{STATIC_ROUTE}/favicon.png",
            # the validator badge would call validator.swagger.io
            swagger_ui_parameters={"validatorUrl": None, "tryItOutEnabled": False},
        )
        page.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        return page

    app.add_api_route(path, swagger_ui, methods=["GET"], include_in_schema=False)
