"""Stores: where the graph lives. `open_store` picks the implementation from a location.

>>> import tempfile
>>> open_store(tempfile.mkdtemp() + "/kg").count_models()
0
"""

from __future__ import annotations

import os
from pathlib import Path

from kg.errors import UsageError
from kg.store.base import ModelStore, QueryResult
from kg.store.embedded import EmbeddedStore
from kg.store.holder import current_holder
from kg.store.shared import SharedStore, refuse_if_served

__all__ = [
    "DEFAULT_STORE",
    "EmbeddedStore",
    "ModelStore",
    "QueryResult",
    "check_servable",
    "open_store",
    "serve_store",
    "store_location",
]

DEFAULT_STORE = ".modelkg"


def store_location(explicit: str | None = None) -> str:
    """`--store`, else `$MODELKG_STORE`, else `./.modelkg`."""
    return explicit or os.environ.get("MODELKG_STORE") or DEFAULT_STORE


def open_store(location: str | None = None, *, read_only: bool = False) -> ModelStore:
    """Open the store at `location`: a folder (the embedded engine), or a `sparql+http://`
    URL (a SPARQL 1.1 server: `kg.store.remote`, whose docstring gives the URL's options)."""
    where = store_location(location)
    if where.startswith(("sparql+http://", "sparql+https://")):
        from kg.store.remote import RemoteStore

        return RemoteStore.open(where, read_only=read_only)
    if where.startswith(("http://", "https://")):
        raise UsageError(
            f"`{where}` is a web address, not a store location",
            hint=f"for a SPARQL server write sparql+{where} (see `kg.store.remote` for the "
            "endpoint options)",
        )
    scheme = where.partition("://")[0]
    if "://" in where and scheme.isalnum():
        raise UsageError(
            f"`{where}`: unknown store scheme `{scheme}://`",
            field="--store",
            hint="a store is a folder, or a SPARQL server as sparql+http://HOST:PORT",
        )
    if current_holder(where) is not None and SharedStore.is_shared(where):
        # a server shares it: read its published checkpoint, write under its lock file
        return SharedStore.attach(where, read_only=read_only)
    return EmbeddedStore.open(Path(where), read_only=read_only)


def check_servable(location: str) -> None:
    """Fail now, with ModelKG's error, where a server process would fail to open the store:
    another server shares it, or another process holds it for writing. `modelkg serve` asks
    before it starts uvicorn, whose start-up would print the error as a traceback."""
    if "://" in location:
        return
    _refuse_memory(location)
    refuse_if_served(location)
    EmbeddedStore.open(Path(location)).close()  # RocksDB's lock, named as EmbeddedStore does


def serve_store(
    location: str, *, grace_seconds: float, write_timeout: float, linger: float = 0.0
) -> ModelStore:
    """The store as a server process opens it. A folder is shared (`kg.store.shared`): by
    the server's process, or, under `modelkg serve --workers N`, by the parent of the worker
    processes, which attach to it. Writes wait at most `write_timeout` seconds for another
    process's write to end; with `linger`, the process that shares the store publishes its
    writes in groups (`SharedStore.create`). A remote store opens as `open_store` opens it."""
    if "://" in location:
        return open_store(location)
    _refuse_memory(location)
    holder = current_holder(location)
    if holder is not None and holder.get("pid") == os.getppid():
        return SharedStore.attach(location, write_timeout=write_timeout)
    return SharedStore.create(
        location, grace_seconds=grace_seconds, write_timeout=write_timeout, linger=linger
    )


def _refuse_memory(location: str) -> None:
    if location == ":memory:":
        raise UsageError(
            "a server cannot serve an in-memory store: clients' queries run in worker "
            "processes, over checkpoints of a store on disk",
            hint="give --store a folder, or a sparql+http:// server",
        )
