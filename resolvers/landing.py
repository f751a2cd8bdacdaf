"""The landing page at `/`: what this server is, how many models it holds, and where to go next.

Whoever opens the server's address in a browser should find the editors and the APIs without
reading the README first. The page is rendered here, on the server: plain HTML, no script, one
inline stylesheet that the Content-Security-Policy admits by its hash (no 'unsafe-inline'), so
it needs nothing but itself and works offline. The model count is read from the store on every
request, as `/health` does, so it is never stale.

>>> from types import SimpleNamespace
>>> from fastapi import FastAPI
>>> from fastapi.testclient import TestClient
>>> app = FastAPI()
>>> app.include_router(router)
>>> app.state.services = SimpleNamespace(store=SimpleNamespace(count_models=lambda: 1234))
>>> page = TestClient(app).get("/")
>>> page.headers["content-type"], "1,234 models" in page.text
('text/html; charset=utf-8', True)
"""

from __future__ import annotations

from html import escape

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from kg import __version__
from resolvers.pages import content_security_policy
from resolvers.services import services
from resolvers.threads import run_in_worker

__all__ = ["CONTENT_SECURITY_POLICY", "LINKS", "STYLE", "landing_page", "router"]

LINKS: tuple[tuple[str, str, str], ...] = (
    ("/models", "Models", "Browse models: parameters with their sources, tasks, lineage pictures."),
    (
        "/sparql",
        "SPARQL editor",
        "Write SPARQL over the whole graph in the browser. The same address is the SPARQL 1.1 "
        "endpoint for programs.",
    ),
    (
        "/graphql",
        "GraphiQL",
        "Explore the GraphQL API: models, filters on any parameter, lineage, compatibility "
        "and search.",
    ),
    ("/docs", "REST API docs", "Swagger UI over the OpenAPI description of /api/v1."),
    (
        "/api/v1/models",
        "Models (REST)",
        "The first page of models as JSON; filters are query parameters, such as "
        "hiddenSize.gte=768.",
    ),
    (
        "/graphql/schema.graphql",
        "GraphQL schema",
        "The schema as SDL, for clients and code generators.",
    ),
    ("/health", "Health", "Status, version and model count, as JSON."),
)
"""(path, title, what it is) for each place the page links to."""

STYLE = """
:root { color-scheme: light; --ink: #1f2933; --muted: #52606d; --line: #e4e7eb;
        --accent: #2457c5; --paper: #f7f9fb; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--paper); color: var(--ink); line-height: 1.5;
       font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
main { max-width: 56rem; margin: 0 auto; padding: 2.5rem 1.25rem 3rem; }
h1 { margin: 0; font-size: 2rem; letter-spacing: -0.01em; }
h2 { margin: 2.25rem 0 0.75rem; font-size: 1.1rem; }
.lead { margin: 0.5rem 0 0; color: var(--muted); font-size: 1.1rem; }
.count { margin: 1.5rem 0 0; padding: 1rem 1.25rem; background: #fff;
         border: 1px solid var(--line); border-radius: 0.5rem; }
.count strong { font-size: 1.5rem; }
ul.links { list-style: none; margin: 0; padding: 0; display: grid; gap: 0.75rem;
           grid-template-columns: repeat(auto-fill, minmax(16rem, 1fr)); }
ul.links a { display: block; height: 100%; padding: 0.9rem 1.1rem; background: #fff;
             border: 1px solid var(--line); border-radius: 0.5rem; color: inherit;
             text-decoration: none; }
ul.links a:hover, ul.links a:focus { border-color: var(--accent);
                                     box-shadow: 0 1px 4px rgb(36 87 197 / 15%); }
.title { display: block; color: var(--accent); font-weight: 600; }
.path, code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
.path { display: block; color: var(--muted); font-size: 0.85rem; }
.what { display: block; margin-top: 0.35rem; font-size: 0.92rem; }
pre { margin: 0; padding: 1rem 1.25rem; overflow-x: auto; background: #fff;
      border: 1px solid var(--line); border-radius: 0.5rem; font-size: 0.85rem; }
footer { margin-top: 2.5rem; color: var(--muted); font-size: 0.85rem; }
"""
"""The page's only stylesheet, inline and admitted by its hash."""

# No script at all; the one inline stylesheet by its hash; nothing loaded from anywhere else.
CONTENT_SECURITY_POLICY = content_security_policy(app=False, inline_styles=[STYLE])

_PAGE = """<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>ModelKG</title>
    <link rel="icon" href="data:,">
    <style>{style}</style>
  </head>
  <body>
    <main>
      <h1>ModelKG</h1>
      <p class="lead">A knowledge graph of machine-learning models: their configurations in one
        vocabulary, with tasks, lineage, compatibility and search, answered over SPARQL,
        GraphQL and REST.</p>
      <p class="count"><strong>{count}</strong> in this registry.</p>
      <h2>Explore</h2>
      <ul class="links">
{links}
      </ul>
      <h2>From a terminal</h2>
      <pre>{examples}</pre>
      <footer>ModelKG {version}. Every page and asset is served by this server; nothing is
        fetched from elsewhere.</footer>
    </main>
  </body>
</html>
"""

_LINK = (
    '        <li><a href="{path}"><span class="title">{title}</span>'
    '<span class="path">{path}</span><span class="what">{what}</span></a></li>'
)


def _models(count: int) -> str:
    return f"{count:,} model" + ("" if count == 1 else "s")


def landing_page(count: int, base_url: str = "http://127.0.0.1:8000") -> HTMLResponse:
    """The page for a registry of `count` models, with terminal examples against `base_url`.

    >>> page = landing_page(1).body.decode()
    >>> "<strong>1 model</strong>" in page, 'href="/graphql"' in page
    (True, True)
    """
    base = base_url.rstrip("/")
    examples = "\n".join(
        [
            f"curl '{base}/api/v1/models?first=5'",
            "curl -H 'Accept: text/csv' \\",
            "     --data-urlencode 'query=SELECT ?model ?hidden WHERE { ?model mkg:hiddenSize "
            "?hidden }' \\",
            f"     {base}/sparql",
        ]
    )
    links = "\n".join(
        _LINK.format(path=escape(path), title=escape(title), what=escape(what))
        for path, title, what in LINKS
    )
    html = _PAGE.format(
        style=STYLE,
        count=escape(_models(count)),
        links=links,
        examples=escape(examples, quote=False),
        version=escape(__version__),
    )
    return HTMLResponse(html, headers={"Content-Security-Policy": CONTENT_SECURITY_POLICY})


router = APIRouter()


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
async def landing(request: Request) -> HTMLResponse:
    """The landing page, counting the models in the app's store now."""
    count = await run_in_worker(services(request).store.count_models)
    return landing_page(int(count), str(request.base_url))
