"""Running a client's SPARQL, wherever it enters (`/sparql`, GraphQL's `sparql` field): parse,
guard, run where it can be killed, and translate every outcome to an HTTP error once.

The steps, each deciding on the parsed request (never on its text):
1. bounds and parsing (`kg.sparql.parse`): 413 too large, 400 too deep or malformed;
2. the guard (`kg.sparql.guard`): 403 for SERVICE, LOAD, or a protected graph;
3. for a query, a worker process over a store checkpoint (`kg.sparql.isolation`): 503 at the
   timeout (the worker is killed, its core freed), 429 past the per-client bound;
   (every `kg` error becomes its HTTP error in one place, `resolvers.errors.from_modelkg_error`)
4. for an update, the store's writer lock held across the guard's look-ups and the write, so
   concurrent updates are serializable.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from pyoxigraph import NamedNode
from starlette.requests import HTTPConnection, Request

from kg.errors import ModelKGError, StoreError
from kg.sparql.guard import check_query, check_update
from kg.sparql.parse import parse_query, parse_update, with_dataset
from kg.sparql.request import ParsedQuery, ParsedUpdate
from kg.store.graph_kinds import protected_kind
from resolvers.errors import HttpError, from_modelkg_error, too_large
from resolvers.threads import run_in_worker
from resolvers.update_failure import failed_operation

if TYPE_CHECKING:
    from kg.store.base import ModelStore
    from resolvers.services import Services
    from resolvers.settings import ServerSettings

__all__ = [
    "QueryAnswer",
    "client_address",
    "parse_client_query",
    "run_client_query",
    "run_client_update",
    "unless_client_leaves",
]

_PARSE_INLINE_BYTES = 16 * 1024
"""Requests up to this size are parsed on the event loop (well under a millisecond); larger
ones in a thread, so one big request does not stall every other client."""

_Parsed = TypeVar("_Parsed", ParsedQuery, ParsedUpdate)
_Answer = TypeVar("_Answer")


def client_address(request: HTTPConnection) -> str:
    """Who is asking, for the per-client bound on running queries."""
    return request.client.host if request.client else "unknown"


HANG_UP_GRACE = 0.5
"""Seconds a query may still run after its client hung up: one about to finish is not worth
killing a warm worker for (a new one costs ~0.3 s of CPU and cold caches)."""


async def unless_client_leaves(request: Request, work: Callable[[], Awaitable[_Answer]]) -> _Answer:
    """`work()`, cancelled when the client disconnects first: a query whose client has gone
    stops within `HANG_UP_GRACE` (its worker process is killed) instead of holding a core until
    its timeout. The access log then says 499, the status proxies use for a client that
    closed.

    Plain asyncio tasks, not an AnyIO task group: cancelling a group's scope formats the
    current task's repr into its reason, ~3% of a 5 ms lookup's server time."""

    async def disconnected() -> None:
        while (await request.receive())["type"] != "http.disconnect":
            pass  # the body, already read: the next message is the disconnect

    watcher = asyncio.ensure_future(disconnected())
    working = asyncio.ensure_future(work())
    try:
        await asyncio.wait((watcher, working), return_when=asyncio.FIRST_COMPLETED)
        if not working.done():  # the client left: a moment's grace, then the work stops
            await asyncio.wait((working,), timeout=HANG_UP_GRACE)
        if not working.done():
            raise HttpError(499, "client_closed", "the client closed the connection first")
        return working.result()
    finally:
        watcher.cancel()
        working.cancel()  # done already, or cancelled with this request: it stops too


async def _parse(parse: Callable[[str], _Parsed], text: str) -> _Parsed:
    try:
        if len(text) <= _PARSE_INLINE_BYTES:
            return parse(text)
        return await run_in_worker(parse, text)
    except ModelKGError as exc:
        raise from_modelkg_error(exc).with_traceback(None) from None


async def parse_client_query(text: str, settings: ServerSettings, base_iri: str) -> ParsedQuery:
    """A client's query, parsed within the server's bounds and guarded (no SERVICE)."""

    def parse_and_check(text: str) -> ParsedQuery:
        parsed = parse_query(text, base_iri=base_iri, limits=settings.sparql_limits)
        check_query(parsed)
        return parsed

    return await _parse(parse_and_check, text)


@dataclass(frozen=True)
class QueryAnswer:
    """A query's serialized answer, and whether it may be replayed from a cache."""

    body: bytes
    media_type: str
    cacheable: bool


async def run_client_query(
    state: Services,
    parsed: ParsedQuery,
    media_type: str,
    *,
    client: str,
    base_iri: str | None = None,
    default_graphs: Sequence[str] | None = None,
    named_graphs: Sequence[str] | None = None,
) -> QueryAnswer:
    """Run a parsed, guarded query in a worker process and serialize it as `media_type`."""
    settings = state.settings
    queries = state.queries
    try:
        outcome = await queries.run(
            parsed.text,
            media_type=media_type,
            client=client,
            base_iri=base_iri,
            default_graphs=default_graphs,
            named_graphs=named_graphs,
        )
    except ModelKGError as exc:
        raise from_modelkg_error(exc) from None
    if outcome.status == "ok":
        return QueryAnswer(outcome.body, media_type, cacheable=not parsed.volatile)
    if outcome.status == "too_large":
        raise too_large(settings.max_result_bytes)
    if outcome.status == "bad_query":
        raise HttpError(400, "malformed_query", outcome.message, field="query")
    raise HttpError(503, "store_unavailable", outcome.message)


def _guarded_update(store: ModelStore, parsed: ParsedUpdate, base_iri: str | None) -> None:
    with store.writer():  # the guard's look-ups and the write see the same store
        check_update(parsed, lambda iri: protected_kind(store, iri))
        try:
            store.update(parsed.text, base_iri=base_iri)
        except StoreError as exc:  # one transaction: the store is as it was before
            refusal = failed_operation(
                parsed, str(exc), lambda iri: store.has_graph(NamedNode(iri))
            )
            if refusal is None:
                raise
            raise refusal from None


async def run_client_update(
    state: Services,
    text: str,
    *,
    base_iri: str | None,
    using_graphs: Sequence[str] = (),
    using_named_graphs: Sequence[str] = (),
) -> ParsedUpdate:
    """Parse, guard and apply a client's update (the caller checked the token).

    The Protocol's `using-graph-uri` / `using-named-graph-uri` become USING / USING NAMED on
    each DELETE/INSERT (`kg.sparql.parse.with_dataset`); an update that names its own dataset
    (USING, WITH) as well is 400. The rewritten update is parsed and guarded like any other."""
    settings = state.settings

    def parse(t: str) -> ParsedUpdate:
        return parse_update(t, base_iri=base_iri, limits=settings.sparql_limits)

    parsed = await _parse(parse, text)
    if using_graphs or using_named_graphs:
        if parsed.dataset:
            raise HttpError(
                400,
                "dataset_conflict",
                "the request gives a dataset (using-graph-uri / using-named-graph-uri) and the "
                "update names its own (USING, USING NAMED or WITH)",
                field="using-graph-uri",
                hint="give the dataset in one place: the parameters, or the update",
            )
        rewritten = await _parse(
            lambda t: parse(
                with_dataset(
                    t,
                    default_graphs=using_graphs,
                    named_graphs=using_named_graphs,
                    base_iri=base_iri,
                    limits=settings.sparql_limits,
                )
            ),
            text,
        )
        parsed = rewritten
    try:
        await run_in_worker(_guarded_update, state.store, parsed, base_iri)
    except ModelKGError as exc:
        raise from_modelkg_error(exc).with_traceback(None) from None
    return parsed
