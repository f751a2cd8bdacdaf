"""`/api/v1/models`: list models with filters and signed cursors, read one, get its triples.

The same readers as GraphQL (`kg.models.paging`, `kg.models.records`), so the two APIs give
the same data under the same names. A list page costs a fixed handful of store queries
whatever its size (see `X-Store-Queries`). Hub ids hold a slash (`openai-community/gpt2`), so
the model routes take the rest of the path; `/graph` and `/explanations` are declared before
the plain read so they are not taken for part of an id.
"""

from __future__ import annotations

import inspect
import time
from dataclasses import replace
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response
from pydantic import StringConstraints
from pyoxigraph import QueryTriples, RdfFormat, Triple, serialize

from kg.errors import InputError
from kg.models import records
from kg.models.filters import ModelFilter, numeric_parameters
from kg.models.paging import MAX_PAGE, list_models
from kg.reason.explain import explain
from kg.store.base import ModelStore
from ontology.namespaces import PREFIXES
from resolvers.errors import HttpError
from resolvers.negotiation import GRAPH_TYPES, negotiate, not_acceptable
from resolvers.rest import schemas
from resolvers.rest import serialize as shape
from resolvers.rest.context import ERRORS, CountedRoute, SettingsDep, StoreDep, find_model
from resolvers.rest.params import check_names, read_ranges
from resolvers.rest.patterns import PRINTABLE
from resolvers.settings import ServerSettings
from resolvers.sparql_results import BoundedSink
from resolvers.threads import run_in_worker

__all__ = ["router"]

router = APIRouter(tags=["models"], route_class=CountedRoute)

_LISTS = {
    "task": "Hub task ids (`text-generation`); narrower tasks match too.",
    "primary_task": "Hub task ids the model's primary task (its would-be pipeline_tag) is.",
    "modality": "text, image, audio, video, tabular, document.",
    "library": "The card's library_name (`transformers`, `sentence-transformers`, ...).",
    "license": "The card's license id (`apache-2.0`, `mit`, ...).",
    "model_type": "The config's model_type (`bert`, `llama`, ...).",
    "language": "A language code from the card (`en`).",
}
Name = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=PRINTABLE)]
"""A filter value: a task id, a library, a model type... (no control characters)."""
_FILTER_FIELDS = {"tasks": "task", "primaryTasks": "primary_task", "modalities": "modality"}
"""`kg` filter field -> the query parameter a REST client wrote."""


def _as_parameter_error(exc: InputError) -> HttpError:
    field = _FILTER_FIELDS.get(exc.field or "", exc.field)
    return HttpError(400, "bad_parameter", exc.message, field=field, hint=exc.hint)


def _read_page(
    store: ModelStore,
    spec: ModelFilter,
    derived_from: str | None,
    first: int,
    after: str | None,
    key: bytes,
) -> tuple[list[schemas.ModelSummary], int, bool, str | None, list[schemas.Excluded]]:
    """One page: paging (2 queries), then records and tasks for the whole page (1 each)."""
    if derived_from is not None:
        try:
            base = find_model(store, derived_from)
        except HttpError as exc:  # a parameter, not the resource asked for: 400, not 404
            raise HttpError(400, "bad_parameter", exc.message, field="derived_from",
                            hint=exc.hint) from None  # fmt: skip
        spec = replace(spec, derived_from=base)
    try:
        page = list_models(store, spec, first, after, key)
    except InputError as exc:
        raise _as_parameter_error(exc) from exc
    iris = [iri for iri, _ in page.models]
    found = records.load_records(store, iris)
    tasks = records.load_tasks(store, iris)
    items = [
        shape.summary(found.get(iri) or records.ModelRecord(iri, name), tasks.get(iri, []))
        for iri, name in page.models
    ]
    end = page.cursors[-1] if page.cursors else None
    left_out = [
        schemas.Excluded(parameter=e.parameter, count=e.count, reason=e.reason)
        for e in page.excluded
    ]
    return items, page.total, page.has_next, end, left_out


async def list_models_route(
    request: Request,
    response: Response,
    store: StoreDep,
    settings: SettingsDep,
    task: Annotated[list[Name] | None, Query(description=_LISTS["task"])] = None,
    primary_task: Annotated[list[Name] | None, Query(description=_LISTS["primary_task"])] = None,
    modality: Annotated[list[Name] | None, Query(description=_LISTS["modality"])] = None,
    library: Annotated[list[Name] | None, Query(description=_LISTS["library"])] = None,
    license: Annotated[list[Name] | None, Query(description=_LISTS["license"])] = None,
    model_type: Annotated[list[Name] | None, Query(description=_LISTS["model_type"])] = None,
    language: Annotated[list[Name] | None, Query(description=_LISTS["language"])] = None,
    q: Annotated[str | None, Query(description="Part of the model's name, any case.")] = None,
    derived_from: Annotated[
        str | None, Query(description="Only models made from this one, transitively.")
    ] = None,
    first: Annotated[int, Query(ge=0, le=MAX_PAGE, description="Page size.")] = 20,
    after: Annotated[
        str | None, Query(description="`pageInfo.endCursor` of the last page.")
    ] = None,
) -> schemas.ModelPage:
    """Models the filter admits, ordered by name, `first` at a time.

    Values of one parameter combine with OR, parameters with AND. Ranges on numeric
    parameters are written `<parameter>.<bound>=<number>` with a bound of `gte`, `lte`, `gt`
    or `lt`: `?task=text-generation&hiddenSize.gte=768&parameterCount.lte=1e9`. An unknown
    parameter is a 400 naming it, never silently ignored. Page on with `after` set to
    `pageInfo.endCursor`, or follow the `Link: <...>; rel="next"` header.
    """
    check_names(request.query_params.keys())
    spec = ModelFilter(
        tasks=tuple(task or ()),
        primary_tasks=tuple(primary_task or ()),
        modalities=tuple(modality or ()),
        libraries=tuple(library or ()),
        licenses=tuple(license or ()),
        model_types=tuple(model_type or ()),
        languages=tuple(language or ()),
        name_contains=q or None,
        ranges=read_ranges(request.query_params.multi_items()),
    )
    items, total, has_next, end, left_out = await run_in_worker(
        _read_page, store, spec, derived_from, first, after, settings.cursor_key
    )
    if has_next and end is not None:
        response.headers["Link"] = f'<{request.url.include_query_params(after=end)}>; rel="next"'
    return schemas.ModelPage(
        items=items,
        total_count=total,
        page_info=schemas.PageInfo(has_next_page=has_next, end_cursor=end),
        excluded=left_out,
    )


router.add_api_route(
    "/models",
    list_models_route,
    methods=["GET"],
    response_model=schemas.ModelPage,
    summary="List models, filtered, a page at a time",
    # the docstring, and the numeric parameters a range may bound (read from parameters.ttl)
    description=f"{inspect.cleandoc(list_models_route.__doc__ or '')}\n\nNumeric parameters: "
    + ", ".join(f"`{name}`" for name in sorted(numeric_parameters()))
    + ".",
    responses={400: ERRORS[400]},
)


def _read_graph(
    store: ModelStore, settings: ServerSettings, model_id: str, rdf_format: RdfFormat
) -> bytes:
    started = time.monotonic()
    iri = find_model(store, model_id)
    # the model's source graph, inferred graph and size graph: each says it describes the model;
    # the inference records (triple terms, RDF 1.2) stay out, so any RDF 1.1 tool can read it.
    # Triple terms are dropped here, not by `isTRIPLE` in the query: SPARQL 1.1 servers
    # (Virtuoso) lack it, and the store hands them back as triple terms on every engine.
    result = store.query(
        f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH ?g {{ ?g mkg:describes <{iri}> }} "
        "GRAPH ?g { ?s ?p ?o } FILTER NOT EXISTS { GRAPH ?g { ?s a mkg:Inference } } }"
    )
    assert isinstance(result, QueryTriples)  # a CONSTRUCT gives triples
    triples = [t for t in result if not isinstance(t.object, Triple)]
    del result  # results belong to this thread: none may ride an error's traceback out of it
    sink = BoundedSink(settings.max_result_bytes, started + settings.query_timeout)
    # the sink is file-like (it has `write`); the stubs ask for typing.IO
    serialize(triples, sink, rdf_format, prefixes=PREFIXES)  # type: ignore[arg-type]
    return sink.getvalue()


@router.get(
    "/models/{model_id:path}/graph",
    response_class=Response,
    summary="A model's triples as Turtle or JSON-LD",
    responses={
        200: {"content": {media: {} for media in GRAPH_TYPES}, "description": "The triples."},
        404: ERRORS[404],
        406: {"model": schemas.ErrorResponse, "description": "No acceptable RDF format."},
    },
)
async def model_graph(
    model_id: str,
    store: StoreDep,
    settings: SettingsDep,
    accept: Annotated[str | None, Header()] = None,
) -> Response:
    """Every triple the registry holds about the model: what was read from its files (with
    the source record) and what was inferred from it, as Turtle (the default) or JSON-LD,
    N-Triples or RDF/XML by `Accept`. Why each inferred fact holds is at `/explanations`.
    """
    media = negotiate(accept, list(GRAPH_TYPES))
    if media is None:
        raise not_acceptable("the model's graph", accept, list(GRAPH_TYPES))
    body = await run_in_worker(_read_graph, store, settings, model_id, GRAPH_TYPES[media])
    return Response(body, media_type=f"{media}; charset=utf-8")


def _read_explanations(store: ModelStore, model_id: str) -> list[schemas.Explanation]:
    iri = find_model(store, model_id)
    return [
        schemas.Explanation(
            fact=str(e.fact), rule=e.rule,
            premises=[schemas.Premise(triple=str(p.triple), source_file=p.source_file,
                                      source_key=p.source_key) for p in e.premises],
        )
        for e in explain(store, iri)
    ]  # fmt: skip


@router.get(
    "/models/{model_id:path}/explanations",
    response_model=list[schemas.Explanation],
    summary="Why each inferred fact about a model holds",
    responses={404: ERRORS[404]},
)
async def model_explanations(model_id: str, store: StoreDep) -> list[schemas.Explanation]:
    """Every inferred fact with the rule that made it and the premises it used, each with the
    file and key its value was read from (`modelkg explain`, GraphQL `explanations`)."""
    return await run_in_worker(_read_explanations, store, model_id)


def _read_model(store: ModelStore, model_id: str) -> schemas.ModelDetail:
    """One model with everything hanging off it: a fixed number of batched reads."""
    iri = find_model(store, model_id)
    ids = [iri]
    record = records.load_records(store, ids).get(iri) or records.ModelRecord(iri, model_id)
    bases = records.load_lineage(store, ids, derived=False).get(iri, [])
    derived = records.load_lineage(store, ids, derived=True).get(iri, [])
    return shape.detail(
        record,
        records.load_tasks(store, ids).get(iri, []),
        records.load_io(store, ids).get(iri, ([], [])),
        records.load_parts(store, ids).get(iri, []),
        (bases, derived),
        records.load_primary_tasks(store, ids).get(iri),
    )


@router.get(
    "/models/{model_id:path}",
    response_model=schemas.ModelDetail,
    summary="One model: card, parameters, tasks, inputs and outputs, lineage",
    responses={404: ERRORS[404]},
)
async def get_model(model_id: str, store: StoreDep) -> schemas.ModelDetail:
    """The model a hub id (`openai-community/gpt2`), name or IRI names, with every
    normalized parameter it has under `parameters` (camelCase, as in GraphQL). An unknown id
    is a 404 whose hint names the closest models."""
    return await run_in_worker(_read_model, store, model_id)
