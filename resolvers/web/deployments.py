"""`/deployments`, `/deployments/{target}` and `/deployments/{target}/{number}`: what runs where,
what it replaced, what was rolled back, and the lineage of what runs now.

A target's page answers "what is serving, and how did it get there": its deployments newest
first (strategy, traffic share, SLA, who, when, whether it was a rollback and which version it
replaced), and the current deployment's ancestry drawn five steps back: deployment -> version
-> run -> dataset and base model -> the hub model that was tuned. Target names may hold `/`, so
a path ending in `/<digits>` is read as one deployment of the target before it.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from kg.lifecycle import Deployment, Deployments
from kg.store.base import ModelStore
from resolvers.services import services
from resolvers.threads import run_in_worker
from resolvers.web import links
from resolvers.web.layout import MAX_ID_CHARS, NotFound, Rendered, build, render
from resolvers.web.lineage import lineage_view

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

LINEAGE_DEPTH = 5


def _check_target(target: str) -> None:
    if not target or len(target) > MAX_ID_CHARS:
        raise NotFound(f"nothing was ever deployed to `{target[:80]}`")


def _hrefs(deployment: Deployment) -> dict[str, str | None]:
    replaced = deployment.replaced_version
    return {
        "self": links.deployment_href(deployment.target, deployment.number),
        "version": links.version_href(deployment.name, deployment.version),
        "replaced": links.version_href(deployment.name, replaced) if replaced else None,
    }


def _targets_page(store: ModelStore) -> Rendered:
    deployments = Deployments(store)
    targets = [(t, links.target_href(t), deployments.current(t)) for t in deployments.targets()]
    return render(
        "deployments.html.j2",
        title="Deployments",
        targets=targets,
        version_href=links.version_href,
    )


@router.get("/deployments", response_class=HTMLResponse)
async def target_list(request: Request) -> HTMLResponse:
    """Every deployment target and what runs there now."""
    store = services(request).store
    page = await run_in_worker(build, lambda: _targets_page(store))
    return page.response()


def _deployment_page(store: ModelStore, target: str, number: int) -> Rendered:
    _check_target(target)
    found = Deployments(store).get(target, number)
    return render(
        "deployment.html.j2",
        title=f"{found.target} #{found.number}",
        d=found,
        hrefs=_hrefs(found),
        target_href=links.target_href(found.target),
        lineage=lineage_view(store, found.iri, direction="ancestors", depth=LINEAGE_DEPTH),
    )


@router.get("/deployments/{target:path}/{number:int}", response_class=HTMLResponse)
async def deployment_page(target: str, number: int, request: Request) -> HTMLResponse:
    """One deployment of a target, by its number (1 is the first)."""
    store = services(request).store
    page = await run_in_worker(build, lambda: _deployment_page(store, target, number))
    return page.response()


def _target_page(store: ModelStore, target: str) -> Rendered:
    _check_target(target)
    history = Deployments(store).history(target)
    if not history:
        raise NotFound(f"nothing was ever deployed to `{target[:80]}`", "see /deployments")
    current = next((d for d in history if d.current), None)
    lineage = (
        lineage_view(store, current.iri, direction="ancestors", depth=LINEAGE_DEPTH)
        if current is not None
        else None
    )
    return render(
        "target.html.j2",
        title=f"Deployments to {target}",
        target=target,
        current=current,
        current_hrefs=_hrefs(current) if current is not None else None,
        history=[(d, _hrefs(d)) for d in history],
        lineage=lineage,
    )


@router.get("/deployments/{target:path}", response_class=HTMLResponse)
async def target_page(target: str, request: Request) -> HTMLResponse:
    """A target: what runs there now, its history, and the lineage of what runs."""
    store = services(request).store
    page = await run_in_worker(build, lambda: _target_page(store, target))
    return page.response()
