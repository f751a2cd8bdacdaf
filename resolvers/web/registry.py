"""`/registry`, `/registry/{name}` and `/registry/{name}/versions/{version}`: registered models,
their versions, and a page per version with its approval history and where it came from.

A version page answers the questions asked before a deploy: is it approved, by whom and when;
which run made it and which model it was tuned from; where it runs now; and the lineage back
to the hub base model, as a picture. All read through `kg.lifecycle.Registry`; the one query
of its own finds the deployments that used the version (the registry does not index them).
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from pyoxigraph import Literal, NamedNode

from kg.lifecycle import Registry
from kg.store.base import ModelStore
from kg.store.sparql_text import sparql_term
from resolvers.services import services
from resolvers.threads import run_in_worker
from resolvers.web import links
from resolvers.web.layout import MAX_ID_CHARS, NotFound, Rendered, build, render
from resolvers.web.lineage import lineage_view

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


def _check_name(name: str) -> None:
    if not name or len(name) > MAX_ID_CHARS:
        raise NotFound(f"no registered model `{name[:80]}`")


def _registry_page(store: ModelStore) -> Rendered:
    models = sorted(Registry(store).registered_models(), key=lambda m: m.name)
    return render(
        "registry.html.j2",
        title="Registry",
        models=[(m, links.registered_model_href(m.name)) for m in models],
    )


@router.get("/registry", response_class=HTMLResponse)
async def registry_list(request: Request) -> HTMLResponse:
    """Every registered model, with its latest versions."""
    store = services(request).store
    page = await run_in_worker(build, lambda: _registry_page(store))
    return page.response()


@dataclass(frozen=True)
class UsedBy:
    """A deployment that ran the version."""

    target: str
    number: int
    href: str
    current: bool


def _deployments_of(store: ModelStore, version_iri: str) -> list[UsedBy]:
    rows = store.select(
        f"SELECT ?target ?number ?current WHERE {{ ?d mkg:deployedVersion "
        f"{sparql_term(NamedNode(version_iri))} ; mkg:deploymentNumber ?number ; "
        "mkg:deploymentTarget ?t . ?t mkg:name ?target "
        "BIND(EXISTS { ?t mkg:currentDeployment ?d } AS ?current) } ORDER BY ?target ?number"
    )
    found = []
    for row in rows:
        target, number, current = row["target"], row["number"], row["current"]
        if isinstance(target, Literal) and isinstance(number, Literal):
            found.append(
                UsedBy(
                    target.value,
                    int(number.value),
                    links.deployment_href(target.value, number.value),
                    isinstance(current, Literal) and current.value in ("true", "1"),
                )
            )
    return found


def _version_page(store: ModelStore, name: str, version: str) -> Rendered:
    _check_name(name)
    if not (version.isascii() and version.isdigit()) or len(version) > 9:
        raise NotFound(
            f"no version `{version[:40]}` of `{name[:80]}`", "versions are numbered 1, 2, ..."
        )
    registry = Registry(store)
    found = registry.get_model_version(name, version)
    bases = [(links.model_label(iri), links.model_href(iri)) for iri in found.fine_tuned_from]
    return render(
        "version.html.j2",
        title=f"{found.name} v{found.version}",
        v=found,
        decisions=registry.decisions(name, version),
        model_href=links.registered_model_href(found.name),
        run_href=links.run_href(found.run_id) if found.run_id else None,
        source_model=(links.model_label(found.model), links.model_href(found.model))
        if found.model
        else None,
        bases=bases,
        deployments=_deployments_of(store, found.iri),
        lineage=lineage_view(store, found.iri, direction="ancestors", depth=4),
    )


@router.get("/registry/{name:path}/versions/{version}", response_class=HTMLResponse)
async def version_page(name: str, version: str, request: Request) -> HTMLResponse:
    """One model version: approval and its history, aliases, stage, source, the run that made
    it, the models it came from, its deployments, its lineage."""
    store = services(request).store
    page = await run_in_worker(build, lambda: _version_page(store, name, version))
    return page.response()


def _registered_model_page(store: ModelStore, name: str) -> Rendered:
    _check_name(name)
    registry = Registry(store)
    model = registry.get_registered_model(name)
    versions = sorted(registry.versions(name), key=lambda v: -int(v.version))
    return render(
        "registered_model.html.j2",
        title=model.name,
        model=model,
        versions=[(v, links.version_href(v.name, v.version)) for v in versions],
        version_href=links.version_href,
    )


@router.get("/registry/{name:path}", response_class=HTMLResponse)
async def registered_model_page(name: str, request: Request) -> HTMLResponse:
    """A registered model and its versions, newest first."""
    store = services(request).store
    page = await run_in_worker(build, lambda: _registered_model_page(store, name))
    return page.response()
