"""A response cache for reads: the same GraphQL query, SPARQL query or REST GET, answered again
from memory until the store is next written.

A registry is read far more than it is written, and its dashboards and agents ask the same
questions again and again (the first page of models, one model's consumers, the task histogram).
Computing a GraphQL page costs tens of milliseconds of Python and store queries, a SPARQL query
whatever the engine needs; replaying the bytes costs a dictionary lookup. Entries are keyed by
the store's write generation (`ModelStore.generation`, moved before and after every write), so
a write makes every earlier answer unreachable: a hit is always what the store would answer now.

What is cached: `POST /graphql` with a JSON body whose operation is a query (never a mutation,
never a response carrying `errors`); SPARQL queries (GET or POST, never updates, never an answer
the endpoint marks `Cache-Control: no-store`: a query calling NOW, RAND, UUID, STRUUID or BNODE,
which the parser finds in the query's algebra); `GET /api/v1/...`; the Graph Store's GET;
only answers with status 200, each at most an eighth of the cache. A client that wants a fresh
computation sends `Cache-Control: no-cache` (`no-store`: neither read nor keep); each cached
kind of response says `X-Cache: hit` or `miss`. The cache is bounded in bytes (an LRU from
cachetools); `--response-cache-mb 0` turns it off.

>>> operation_kind('{ models { totalCount } }', None)
'query'
>>> operation_kind('mutation { ingest(paths: ["x"]) { triples } }', None)
'mutation'
>>> operation_kind('query A { a } mutation B { b }', 'B')
'mutation'
>>> operation_kind('{ broken', None) is None
True
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qs

from cachetools import LRUCache
from graphql import GraphQLError, OperationDefinitionNode, parse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from resolvers.middleware import read_body

__all__ = ["ResponseCache", "operation_kind"]

_ENTRY_OVERHEAD = 512
"""bytes counted per entry beyond its body: key, headers, bookkeeping"""


@dataclass(frozen=True)
class _Entry:
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes


@lru_cache(maxsize=1024)
def operation_kind(query: str, operation_name: str | None) -> str | None:
    """`query`, `mutation` or `subscription` for the operation a GraphQL request runs (None
    when the document does not parse or names no such operation: it is not cached)."""
    try:
        document = parse(query)
    except GraphQLError:
        return None
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is not None:
        operations = [o for o in operations if o.name and o.name.value == operation_name]
    if len(operations) != 1:
        return None
    return operations[0].operation.value


def _sparql_cacheable(fields: dict[str, list[str]]) -> bool:
    return "update" not in fields and len(fields.get("query", [])) <= 1


def _graphql_cacheable(body: bytes) -> bool:
    try:
        request = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):  # the guard inside refuses it
        return False
    if not isinstance(request, dict) or not isinstance(request.get("query"), str):
        return False
    name = request.get("operationName")
    return operation_kind(request["query"], name if isinstance(name, str) else None) == "query"


class ResponseCache:
    """ASGI middleware: replays 200 answers to reads until the store's generation moves."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.max_entry = max_bytes // 8
        self.entries: LRUCache[tuple[Any, ...], _Entry] = LRUCache(
            maxsize=max(max_bytes, 1), getsizeof=lambda e: len(e.body) + _ENTRY_OVERHEAD
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.max_bytes <= 0 or scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], str(scope["path"])
        headers = dict(scope.get("headers") or [])
        content_type = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        body = b""
        if method == "GET" and (path.startswith("/api/v1/") or path == "/rdf-graph-store"):
            pass
        elif method == "GET" and path == "/sparql":
            if not _sparql_cacheable(parse_qs(scope.get("query_string", b"").decode("latin-1"))):
                await self.app(scope, receive, send)
                return
        elif method == "POST" and (path, content_type) in _READ_BODIES:
            read = await read_body(receive)
            if read is None:  # the client left before its body ended: nothing to answer
                return
            body, receive = read
            if not _READ_BODIES[path, content_type](body):
                await self.app(scope, receive, send)
                return
        else:  # writes, uploads, GraphiQL and its assets: as they are
            await self.app(scope, receive, send)
            return
        directives = headers.get(b"cache-control", b"").lower()
        no_store = b"no-store" in directives
        no_cache = no_store or b"no-cache" in directives
        key = (
            scope["app"].state.services.store.generation,
            method,
            path,
            scope.get("query_string", b""),
            headers.get(b"accept", b""),
            hashlib.sha256(body).digest() if body else b"",
        )
        if not no_cache:
            found = self.entries.get(key)
            if found is not None:
                await _replay(found, send)
                return
        await self._compute(scope, receive, send, key, keep=not no_store)

    async def _compute(
        self, scope: Scope, receive: Receive, send: Send, key: tuple[Any, ...], *, keep: bool
    ) -> None:
        start: Message | None = None
        parts: list[bytes] = []
        size = 0

        async def captured_send(message: Message) -> None:
            nonlocal start, size
            if message["type"] == "http.response.start":
                start = message
                message = {**message, "headers": [*message.get("headers", []), _MISS]}
            elif message["type"] == "http.response.body" and size <= self.max_entry:
                chunk = message.get("body", b"")
                size += len(chunk)
                parts.append(chunk)
            await send(message)

        await self.app(scope, receive, captured_send)
        if not keep or start is None or start["status"] != 200 or size > self.max_entry:
            return
        if any(
            name.lower() == b"cache-control" and b"no-store" in value.lower()
            for name, value in start.get("headers", [])
        ):
            return  # the endpoint says this answer changes each time (NOW(), RAND(), ...)
        if scope["app"].state.services.store.generation != key[0]:
            return  # written meanwhile: no request will ask under this key again
        body = b"".join(parts)
        if scope["path"] == "/graphql" and b'"errors":' in body:
            return  # partial answers are not kept (a timeout, a bad argument in one field)
        headers = [
            (name, value)
            for name, value in start.get("headers", [])
            if name.lower() not in (b"x-cache", b"date", b"server")
        ]
        self.entries[key] = _Entry(start["status"], headers, body)


def _sparql_form(body: bytes) -> bool:
    return _sparql_cacheable(parse_qs(body.decode("utf-8", errors="replace")))


_READ_BODIES = {
    ("/graphql", b"application/json"): _graphql_cacheable,
    ("/sparql", b"application/sparql-query"): lambda _: True,  # a query, whatever it asks
    ("/sparql", b"application/x-www-form-urlencoded"): _sparql_form,
}
"""POST requests that read: (path, content type) -> whether a body is a cacheable read"""

_MISS = (b"x-cache", b"miss")
_HIT = (b"x-cache", b"hit")


async def _replay(entry: _Entry, send: Send) -> None:
    await send(
        {"type": "http.response.start", "status": entry.status, "headers": [*entry.headers, _HIT]}
    )
    await send({"type": "http.response.body", "body": entry.body})
