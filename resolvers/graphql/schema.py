"""The GraphQL schema: queries over models, compatibility, SPARQL; the ingest mutation.

Limits run before anything executes: depth (strawberry's `QueryDepthLimiter`), complexity
(`resolvers.graphql.cost`), aliases and tokens; parsed and validated documents are cached.
Every response carries `extensions.storeQueries`, the number of SPARQL queries it cost, so
clients and tests can see there is no N+1. Errors carry `extensions.code`, `field` and `hint`,
the same three the REST and SPARQL endpoints put in their JSON errors.
"""

# Strawberry reads annotations at schema build: no `from __future__ import annotations` here.

import asyncio
import json
import re
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    SchemaExtension,
    ValidationCache,
)
from strawberry.file_uploads import Upload
from strawberry.schema.config import StrawberryConfig
from strawberry.types import Info
from strawberry.types.nodes import SelectedField, Selection

from kg import __version__
from kg.compat import lookups
from kg.compat.memory import parse_memory
from kg.errors import InputError, ModelKGError
from kg.models import records
from kg.models.paging import list_models
from kg.store.embedded import QUERY_TALLY
from resolvers.errors import HttpError, from_modelkg_error
from resolvers.graphql.context import GraphQLContext
from resolvers.graphql.cost import complexity_rule
from resolvers.graphql.inputs import ModelFilterInput, to_filter
from resolvers.graphql.lifecycle import LifecycleMutation, LifecycleQuery
from resolvers.graphql.search import SearchQuery
from resolvers.graphql.tasks import TaskMutation, TaskQuery
from resolvers.graphql.types import LONG_SCALAR, CompatAnswer, Long, Model, PageData, _answers
from resolvers.ingest import IngestReport, ingest_paths, ingest_uploads
from resolvers.settings import ServerSettings
from resolvers.sparql_run import client_address, parse_client_query, run_client_query
from resolvers.threads import run_in_worker

__all__ = ["build_schema", "schema_sdl"]


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class ModelEdge:
    cursor: str
    node: Model


@strawberry.type(
    description="Models a range left out only because the value it ranges over is not known "
    "for them (a size filter never drops models of unknown size silently)."
)
class ExcludedModels:
    parameter: str = strawberry.field(description="The ranged parameter, e.g. parameterCount.")
    count: int = strawberry.field(description="How many models the rest of the filter admits.")
    reason: str


@strawberry.type(description="A page of models (Relay connection).")
class ModelConnection:
    total_count: int = strawberry.field(description="How many models the filter admits.")
    edges: list[ModelEdge]
    page_info: PageInfo
    excluded: list[ExcludedModels] = strawberry.field(
        description="Per range in the filter, the models it left out for want of a value "
        "(not counted in totalCount); empty when none were."
    )

    @strawberry.field(description="The page's models, without edges.")
    def nodes(self) -> list[Model]:
        return [edge.node for edge in self.edges]


@strawberry.type(description="One link of a pipeline check.")
class ChainStep:
    producer: str
    consumer: str
    ok: bool
    reasons: list[str]


@strawberry.type(description="A model rejected by an ingest, and why.")
class Rejection:
    source: str
    reason: str


@strawberry.type(description="What an ingest did.")
class IngestResult:
    ingested: list[str]
    updated: list[str]
    unchanged: list[str]
    rejected: list[Rejection]
    warnings: list[str]
    triples: int

    @classmethod
    def of(cls, report: IngestReport) -> "IngestResult":
        return cls(
            ingested=report.ingested, updated=report.updated, unchanged=report.unchanged,
            rejected=[Rejection(source=s, reason=r) for s, r in report.rejected],
            warnings=[f"{s}: {w}" for s, w in report.warnings], triples=report.triples,
        )  # fmt: skip


def _context(info: Info) -> GraphQLContext:
    context = info.context
    assert isinstance(context, GraphQLContext)
    return context


async def _iri_of(info: Info, model_id: str) -> str | None:
    return await _context(info).by_name.load(model_id)


@strawberry.type
class Query(SearchQuery, LifecycleQuery, TaskQuery):  # searchModels, runs, tasks: own modules
    @strawberry.field(description="The ModelKG version serving this API.")
    def version(self) -> str:
        return __version__

    @strawberry.field(description="A model by hub id, name or IRI; null when there is none.")
    async def model(self, info: Info, id: strawberry.ID) -> Model | None:
        iri = await _iri_of(info, str(id))
        if not iri:
            return None
        record = await _context(info).records.load(iri)  # batched with the fields' reads
        return Model(key=iri, known_name=record.name if record else None)

    @strawberry.field(description="Models, filtered, as a Relay connection ordered by name.")
    async def models(
        self,
        info: Info,
        filter: ModelFilterInput | None = None,
        first: int = 20,
        after: str | None = None,
    ) -> ModelConnection:
        context = _context(info)
        derived_from = getattr(filter, "derived_from", None)
        base_iri = None
        if derived_from is not None:
            base_iri = await _iri_of(info, str(derived_from))
            if base_iri is None:
                raise InputError(f"no model `{derived_from}` in the registry",
                                 field="filter.derivedFrom")  # fmt: skip
        spec = to_filter(filter, base_iri)
        page = await run_in_worker(
            list_models, context.store, spec, first, after, context.settings.cursor_key
        )
        read = await _page_data(context, [iri for iri, _ in page.models], _node_fields(info))
        edges = [
            ModelEdge(cursor=cursor, node=Model(key=iri, known_name=name, page=read))
            for (iri, name), cursor in zip(page.models, page.cursors, strict=True)
        ]
        return ModelConnection(
            total_count=page.total,
            edges=edges,
            excluded=[
                ExcludedModels(parameter=e.parameter, count=e.count, reason=e.reason)
                for e in page.excluded
            ],
            page_info=PageInfo(
                has_next_page=page.has_next,
                has_previous_page=page.has_previous,
                start_cursor=page.cursors[0] if page.cursors else None,
                end_cursor=page.cursors[-1] if page.cursors else None,
            ),
        )

    @strawberry.field(description='Models that fit a memory budget ("16GB"), largest first.')
    async def fits(
        self, info: Info, memory: str, task: str | None = None, dtype: str = "bf16",
        seq_len: int = 4096, first: int = 20,
    ) -> list[CompatAnswer]:  # fmt: skip
        index = await _context(info).compat()
        answers, _ = lookups.fits(
            index, parse_memory(memory), dtype=dtype, seq_len=seq_len, task=task, limit=first
        )
        return _answers(answers, index)

    @strawberry.field(
        description="Models whose size is not known (optionally only those performing "
        "`task`): what `fits` and a parameterCount range leave out. Empty once every model's "
        "size is counted."
    )
    async def unsized_models(self, info: Info, task: str | None = None) -> list[Model]:
        index = await _context(info).compat()
        return [Model(key=p.iri, known_name=p.name) for p in lookups.unsized(index, task)]

    @strawberry.field(description="Does each model's output feed the next one's input?")
    async def chain(self, info: Info, models: list[strawberry.ID]) -> list[ChainStep]:
        index = await _context(info).compat()
        return [
            ChainStep(producer=s.producer, consumer=s.consumer, ok=s.ok, reasons=list(s.reasons))
            for s in lookups.chain(index, [str(m) for m in models])
        ]

    @strawberry.field(
        description="A SPARQL SELECT or ASK, answered as SPARQL JSON results (for power users)."
    )
    async def sparql(self, info: Info, query: str) -> strawberry.scalars.JSON:
        context = _context(info)
        request = context.request
        assert request is not None
        endpoint = str(request.url.replace(path="/sparql", query=None, fragment=None))
        parsed = await parse_client_query(query, context.settings, endpoint)
        if parsed.gives_graph:
            raise HttpError(
                400,
                "not_a_select",
                "CONSTRUCT and DESCRIBE give graphs; this field answers SELECT and ASK",
                field="query",
                hint="use the /sparql endpoint with Accept: text/turtle for graphs",
            )
        result = await run_client_query(
            context.services,
            parsed,
            "application/sparql-results+json",
            client=client_address(request),
            base_iri=endpoint,
        )
        answer: strawberry.scalars.JSON = json.loads(result.body)
        return answer


@strawberry.type
class Mutation(LifecycleMutation, TaskMutation):  # logging, deploying, tasks: their own modules
    @strawberry.mutation(
        description="Ingest models (bearer token needed): server paths under the allowed "
        "roots, or uploaded files of one model (with `hubId`)."
    )
    async def ingest(
        self,
        info: Info,
        paths: list[str] | None = None,
        files: list[Upload] | None = None,
        hub_id: str | None = None,
    ) -> IngestResult:
        context = _context(info).writable()
        if files:
            uploads = [(_upload_name(f), await _upload_bytes(f)) for f in files]
            report = await run_in_worker(ingest_uploads, context.services, uploads, hub_id)
        else:
            report = await run_in_worker(ingest_paths, context.services, paths or [])
        return IngestResult.of(report)


def _upload_name(upload: Any) -> str:
    return str(getattr(upload, "filename", None) or "config.json")


async def _upload_bytes(upload: Any) -> bytes:
    content = await upload.read()
    return bytes(content)


def _node_fields(info: Info) -> set[str]:
    """The fields a `models` query asks of each `edges { node { ... } }`, fragments included."""

    def names(selections: list[Selection], path: tuple[str, ...]) -> Iterator[str]:
        for selection in selections:
            if not isinstance(selection, SelectedField):  # a fragment: its fields, same level
                yield from names(selection.selections, path)
            elif not path:
                yield selection.name
            elif selection.name == path[0]:
                yield from names(selection.selections, path[1:])

    return {
        name
        for field in info.selected_fields
        for name in names(field.selections, ("edges", "node"))
    }


async def _page_data(context: GraphQLContext, iris: list[str], wanted: set[str]) -> PageData:
    """The page's tasks and lineage read at once for all its models, when the query asks for
    them (`PageData`): the same queries the DataLoaders would make, in parallel threads."""
    store = context.store
    reads: dict[str, Callable[[], Any]] = {}
    if "tasks" in wanted:
        reads["tasks"] = partial(records.load_tasks, store, iris)
    if "baseModels" in wanted:
        reads["bases"] = partial(records.load_lineage, store, iris, derived=False)
    if "derivedModels" in wanted:
        reads["derived"] = partial(records.load_lineage, store, iris, derived=True)
    found = await asyncio.gather(*(run_in_worker(read) for read in reads.values()))
    return PageData(**dict(zip(reads, found, strict=True)))


class ErrorShape(SchemaExtension):
    """Errors raised by resolvers in ModelKG's shape (`extensions.code/field/hint`), the HTTP
    status set for refused writes and timeouts, and `extensions.storeQueries`."""

    def on_operation(self) -> Iterator[None]:
        tally = [0]
        token = QUERY_TALLY.set(tally)
        try:
            yield
        finally:
            QUERY_TALLY.reset(token)
            self.store_queries = tally[0]
        result = self.execution_context.result
        if result is None or not result.errors:
            return
        status = 200
        for error in result.errors:
            status = max(status, _shape(error))
        response = getattr(self.execution_context.context, "response", None)
        if response is not None and status != 200:
            response.status_code = status

    def get_results(self) -> dict[str, Any]:
        return {"storeQueries": getattr(self, "store_queries", 0)}


def _shape(error: GraphQLError) -> int:
    """Fill in the error's extensions; the HTTP status it calls for (200: a field error)."""
    original = error.original_error
    if isinstance(original, ModelKGError):
        original = from_modelkg_error(original)
    if isinstance(original, HttpError):
        error.message = original.message
        error.extensions = {"code": original.code, "field": original.field, "hint": original.hint}
        return original.status if original.status in (401, 403, 413, 503) else 200
    if isinstance(original, GraphQLError):  # graphql-core refused an input value itself
        variable = _VARIABLE.match(error.message)
        error.extensions = {
            "code": "bad_variable" if variable else "invalid_query",
            "field": f"variables.{variable['name']}" if variable else None,
            "hint": "give the variable a value of its declared type"
            if variable
            else "check the query against the schema (GET /graphql/schema.graphql)",
        }
        return 200  # no data: the router answers 400
    if original is not None:
        error.extensions = {"code": "internal_error", "field": None, "hint": None}
    return 200  # syntax and validation errors are shaped by the router's create_response


_VARIABLE = re.compile(r"Variable '\$(?P<name>\w+)'")
"""How graphql-core names a variable whose value it refused (`Variable '$n' has invalid...`)."""


def build_schema(settings: ServerSettings) -> strawberry.Schema:
    """The schema with this server's limits."""
    # The limits' validation rules are classes made once here: the validation cache is keyed
    # on the document and the rule classes, and a limiter made per request makes new classes,
    # so every request was validated afresh (~15% of a computed page's server time).
    rules = [
        *QueryDepthLimiter(max_depth=settings.graphql_max_depth).validation_rules,
        complexity_rule(settings.graphql_max_complexity),
        *MaxAliasesLimiter(max_alias_count=30).validation_rules,
    ]
    extensions: list[Any] = [  # classes or factories: a fresh extension per request
        ErrorShape,
        lambda: ParserCache(maxsize=256),
        lambda: AddValidationRules(rules),
        lambda: ValidationCache(maxsize=256),
        lambda: MaxTokensLimiter(max_token_count=5000),
    ]
    return strawberry.Schema(
        query=Query,
        mutation=Mutation,
        extensions=extensions,
        config=StrawberryConfig(scalar_map={Long: LONG_SCALAR}),
    )


def schema_sdl() -> str:
    """The schema in GraphQL SDL (`modelkg graphql-schema`; snapshot-tested)."""
    # the defaults, not the environment: the SDL does not depend on any setting
    return build_schema(ServerSettings.model_construct()).as_str() + "\n"
