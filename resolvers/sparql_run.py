"""Running a client's SPARQL, wherever it enters (`/sparql`, GraphQL's `sparql` field): parse,
guard, run where it can be killed, and translate every outcome to an HTTP error once.

The steps, each deciding on the parsed request (never on its text):
1. bounds and parsing (`kg.sparql.parse`): 413 too large, 400 too deep or malformed;
2. the guard (`kg.sparql.guard`): 403 for SERVICE, LOAD, or a protected graph;
3. for a query, a worker process over a store checkpoint (`kg.sparql.isolation`): 503 at the
   timeout (the worker is killed, its core freed), 429 past the per-client bound;
4. for an update, the store's writer lock held across the guard's look-ups and the write, so
   concurrent updates are serializable.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, TypeVar

from fastapi.concurrency import run_in_threadpool
from pyoxigraph import QueryResultsFormat, QueryTriples, RdfFormat

from kg.errors import ModelKGError, QueryError, QueryRefused
from kg.sparql.guard import check_query, check_update
from kg.sparql.isolation import IsolatedQueries, QueryKilledError, TooBusyError
from kg.sparql.parse import parse_query, parse_update
from kg.sparql.request import ParsedQuery, ParsedUpdate
from kg.store.graph_kinds import protected_kind
from ontology.namespaces import PREFIXES
from resolvers.errors import HttpError, from_modelkg_error
from resolvers.sparql_results import serialize_bounded, timed_out, too_large

if TYPE_CHECKING:
    from starlette.datastructures import State

    from kg.store.embedded import EmbeddedStore
    from resolvers.settings import ServerSettings

__all__ = ["QueryAnswer", "parse_client_query", "run_client_query", "run_client_update"]

_PARSE_INLINE_BYTES = 16 * 1024
"""Requests up to this size are parsed on the event loop (well under a millisecond); larger
ones in a thread, so one big request does not stall every other client."""

_REFUSED_STATUS = {"query_too_large": 413, "query_too_deep": 400, "wrong_operation": 400}


def refused(exc: QueryRefused) -> HttpError:
    """A refusal as its HTTP error: 403 unless the bounds or the operation kind say otherwise."""
    return HttpError(
        _REFUSED_STATUS.get(exc.code, 403), exc.code, exc.message, field="query", hint=exc.hint
    )


def _client_error(exc: ModelKGError) -> HttpError:
    if isinstance(exc, QueryRefused):
        return refused(exc)
    if isinstance(exc, QueryError):
        return HttpError(400, "malformed_query", exc.message, field="query", hint=exc.hint)
    return from_modelkg_error(exc)


_Parsed = TypeVar("_Parsed", ParsedQuery, ParsedUpdate)


async def _parse(parse: Callable[[str], _Parsed], text: str) -> _Parsed:
    try:
        if len(text) <= _PARSE_INLINE_BYTES:
            return parse(text)
        return await run_in_threadpool(parse, text)
    except ModelKGError as exc:
        raise _client_error(exc).with_traceback(None) from None


async def parse_client_query(text: str, settings: ServerSettings, base_iri: str) -> ParsedQuery:
    """A client's query, parsed within the server's bounds and guarded (no SERVICE)."""
    parsed = await _parse(
        lambda t: parse_query(t, base_iri=base_iri, limits=settings.sparql_limits), text
    )
    try:
        check_query(parsed)
    except QueryRefused as exc:
        raise refused(exc) from None
    return parsed


class QueryAnswer:
    """A query's serialized answer, and whether it may be replayed from a cache."""

    def __init__(self, body: bytes, media_type: str, *, cacheable: bool) -> None:
        self.body = body
        self.media_type = media_type
        self.cacheable = cacheable


async def run_client_query(
    state: State,
    parsed: ParsedQuery,
    media_type: str,
    *,
    client: str,
    base_iri: str | None = None,
    default_graphs: Sequence[str] | None = None,
    named_graphs: Sequence[str] | None = None,
) -> QueryAnswer:
    """Run a parsed, guarded query and serialize it as `media_type`."""
    settings: ServerSettings = state.settings
    queries: IsolatedQueries | None = getattr(state, "queries", None)
    if queries is None:  # an in-memory store has no files for workers to read
        body = await run_in_threadpool(
            _run_in_process,
            state.store,
            settings,
            parsed.text,
            media_type,
            base_iri,
            default_graphs,
            named_graphs,
        )
        return QueryAnswer(body, media_type, cacheable=not parsed.volatile)
    try:
        outcome = await queries.run(
            parsed.text,
            media_type=media_type,
            client=client,
            base_iri=base_iri,
            default_graphs=default_graphs,
            named_graphs=named_graphs,
        )
    except TooBusyError as exc:
        status = 429 if exc.per_client else 503
        raise HttpError(
            status,
            "too_many_queries",
            exc.message,
            field="query",
            hint="wait for your running queries to finish, then retry",
        ) from None
    except QueryKilledError as exc:
        if exc.timed_out:
            raise timed_out(settings.query_timeout) from None
        raise HttpError(400, "query_crashed", exc.message, field="query") from None
    except ModelKGError as exc:
        raise from_modelkg_error(exc) from None
    if outcome.status == "ok":
        return QueryAnswer(outcome.body, media_type, cacheable=not parsed.volatile)
    if outcome.status == "too_large":
        raise too_large(settings.max_result_bytes)
    if outcome.status == "bad_query":
        raise HttpError(400, "malformed_query", outcome.message, field="query")
    raise HttpError(503, "store_unavailable", outcome.message)


def _run_in_process(
    store: EmbeddedStore,
    settings: ServerSettings,
    text: str,
    media_type: str,
    base_iri: str | None,
    default_graphs: Sequence[str] | None,
    named_graphs: Sequence[str] | None,
) -> bytes:
    from pyoxigraph import NamedNode

    started = time.monotonic()
    try:
        result = store.query_dataset(
            text,
            default_graphs=[NamedNode(g) for g in default_graphs] if default_graphs else None,
            named_graphs=[NamedNode(g) for g in named_graphs] if named_graphs is not None else None,
            base_iri=base_iri,
        )
    except ModelKGError as exc:
        raise _client_error(exc) from None
    chosen: QueryResultsFormat | RdfFormat | None = (
        RdfFormat.from_media_type(media_type)
        if isinstance(result, QueryTriples)
        else QueryResultsFormat.from_media_type(media_type)
    )
    if chosen is None:
        del result
        raise HttpError(406, "not_acceptable", f"the result cannot be written as {media_type}")
    return serialize_bounded(result, chosen, settings, started)


def _guarded_update(store: EmbeddedStore, parsed: ParsedUpdate, base_iri: str | None) -> None:
    with store.writer():  # the guard's look-ups and the write see the same store
        check_update(parsed, lambda iri: protected_kind(store, iri))
        store.update(parsed.text, base_iri=base_iri)


async def run_client_update(
    state: State, text: str, *, base_iri: str | None, prefixes: dict[str, str] | None = None
) -> ParsedUpdate:
    """Parse, guard and apply a client's update (the caller checked the token)."""
    settings: ServerSettings = state.settings
    parsed = await _parse(
        lambda t: parse_update(
            t, base_iri=base_iri, prefixes=prefixes or PREFIXES, limits=settings.sparql_limits
        ),
        text,
    )
    try:
        await run_in_threadpool(_guarded_update, state.store, parsed, base_iri)
    except ModelKGError as exc:
        raise _client_error(exc).with_traceback(None) from None
    return parsed
