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


def open_store(location: str | None = None, *, read_only: bool = False) -> EmbeddedStore:
    """Open the store at `location` (a path; `sparql+http://` URLs come with the remote store)."""
    where = store_location(location)
    if where.startswith(("sparql+http://", "sparql+https://", "http://", "https://")):
        raise UsageError(
            f"remote stores are not available yet: {where}",
            hint="use a local path for --store / MODELKG_STORE",
        )
    return EmbeddedStore.open(Path(where), read_only=read_only)
