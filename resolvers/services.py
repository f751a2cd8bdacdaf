"""What the app's requests share, made once in the app's lifespan: the store, where clients'
SPARQL runs, the compatibility index and the search state.

One object instead of module globals: a test or a second app in the same process gets its own,
and a request reaches everything through `services(request)`.

>>> import tempfile
>>> from resolvers.settings import ServerSettings
>>> shared = Services.start(ServerSettings(store=tempfile.mkdtemp() + "/kg"))
>>> shared.store.count_models(), type(shared.queries).__name__
(0, 'IsolatedQueries')
>>> shared.close()
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from starlette.requests import HTTPConnection

from kg.compat.index import CompatIndex
from kg.sparql.forwarded import ForwardedQueries
from kg.sparql.isolation import IsolatedQueries
from kg.store import ModelStore, serve_store
from kg.store.holder import record_holder, release_holder
from kg.store.shared import SharedStore
from resolvers.search_state import SearchState
from resolvers.settings import ServerSettings

__all__ = ["CompatCache", "Services", "services", "share_for_workers"]


class CompatCache:
    """The compatibility index, rebuilt when the store has been written since it was built."""

    def __init__(self) -> None:
        self._index: CompatIndex | None = None
        self._generation = -1

    def get(self, store: ModelStore) -> CompatIndex:
        generation = store.generation
        if self._index is None or generation != self._generation:
            self._index = CompatIndex.build(store)
            self._generation = generation
        return self._index


@dataclass(frozen=True)
class Services:
    """The app's shared parts (module docstring)."""

    settings: ServerSettings
    store: ModelStore
    queries: IsolatedQueries | ForwardedQueries
    compat: CompatCache
    """one compatibility index for GraphQL and REST, rebuilt after writes"""
    search: SearchState

    @classmethod
    def start(cls, settings: ServerSettings) -> Services:
        """Open the store as a server process does (`kg.store.serve_store`) and say so beside
        it, so that commands share it with the server."""
        store = _open_served(settings)
        return cls(
            settings, store, _client_queries(store, settings), CompatCache(), SearchState(store)
        )

    def close(self) -> None:
        """Stop sharing the store, delete the query checkpoints, close the store."""
        self.queries.close()
        _close_served(self.store)


@contextmanager
def share_for_workers(settings: ServerSettings) -> Iterator[None]:
    """Share the store for `modelkg serve --workers N` while the block runs: the command's
    process shares it (and says so beside it), its worker processes attach to it. A remote
    store needs nothing: each worker opens its own connections."""
    store = _open_served(settings)
    try:
        yield
    finally:
        _close_served(store)


def _open_served(settings: ServerSettings) -> ModelStore:
    """The store as a server process opens it (`kg.store.serve_store`); the process that
    shares it says so beside it, so commands (and worker processes) find it."""
    store = serve_store(
        settings.store,
        grace_seconds=settings.query_timeout + 5,
        write_timeout=settings.query_timeout,
        linger=settings.write_linger if settings.workers == 1 else 0.0,
    )
    if isinstance(store, SharedStore) and store.owner:
        record_holder(store.location, f"http://{settings.host}:{settings.port}")
    return store


def _close_served(store: ModelStore) -> None:
    if isinstance(store, SharedStore) and store.owner:
        release_holder(store.location)
    store.close()


def services(connection: HTTPConnection) -> Services:
    """The services of the app serving this request."""
    found: Services = connection.app.state.services
    return found


def _client_queries(
    store: ModelStore, settings: ServerSettings
) -> IsolatedQueries | ForwardedQueries:
    """Where clients' SPARQL runs: in worker processes killed at the timeout over the
    embedded store (`kg.sparql.isolation`), on the remote server's engine over a remote one."""
    if isinstance(store, SharedStore):
        # two per core, shared among the serving processes: while the server hands one
        # worker's answer back and the next job over (~1 ms), the core has another worker's
        # query to run; with one per core, 10 clients of a 5 ms lookup kept each worker idle
        # ~30% of the time
        per_core = 2 * (os.cpu_count() or 1)
        return IsolatedQueries(
            store,
            workers=settings.query_workers or max(2, per_core // settings.workers),
            timeout=settings.query_timeout,
            max_per_client=settings.max_queries_per_client,
            max_result_bytes=settings.max_result_bytes,
        )
    return ForwardedQueries(
        store,
        timeout=settings.query_timeout,
        max_per_client=settings.max_queries_per_client,
        max_result_bytes=settings.max_result_bytes,
    )
