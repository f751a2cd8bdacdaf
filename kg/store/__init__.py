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

__all__ = [
    "DEFAULT_STORE",
    "EmbeddedStore",
    "ModelStore",
    "QueryResult",
    "open_store",
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
    return EmbeddedStore.open(Path(where), read_only=read_only)
