"""Web pages a person reads in a browser: models, experiments and runs, registered versions,
deployments, each with its pictures (lineage drawn by Graphviz, metrics by matplotlib).

Server-rendered HTML from autoescaped Jinja2 templates, no script, one inline stylesheet
admitted by its hash (see `layout`); every page's store work runs in a worker thread. One
module per family of pages; `links` knows where each thing's page is, `lineage` draws the
lineage section every page shares.

>>> [route.path for route in deployments.router.routes]
['/deployments', '/deployments/{target:path}/{number:int}', '/deployments/{target:path}']
"""

from __future__ import annotations

from fastapi import APIRouter

from resolvers.web import deployments, models, registry, runs

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
router.include_router(models.router)
router.include_router(runs.router)
router.include_router(registry.router)
router.include_router(deployments.router)
