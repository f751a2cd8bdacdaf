"""Server settings: flags, else `MODELKG_*` environment variables, else safe defaults.

Safe by default: writes are off until the operator sets a token, no browser origin may call the
API, and every request is bounded (time, result size, body size, GraphQL depth and complexity).

>>> settings = ServerSettings.from_environment(port=9000, cors_origins="https://a.example, "
...                                            "https://b.example")
>>> settings.port, settings.cors_origins, settings.writes_enabled
(9000, ('https://a.example', 'https://b.example'), False)
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, fields
from pathlib import Path

from kg.sparql.bounds import Limits

__all__ = ["ServerSettings"]


def _split(value: object) -> tuple[str, ...]:
    """A list from a variable, comma-separated (spaces around the commas are not part of it)."""
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    if isinstance(value, list | tuple):
        return tuple(str(part) for part in value)
    return ()


@dataclass(frozen=True)
class ServerSettings:
    """How `modelkg serve` runs; each value also comes from a `MODELKG_*` variable."""

    store: str = ".modelkg"
    host: str = "127.0.0.1"
    port: int = 8000
    token: str | None = None
    """bearer token that enables writes; None means read-only (the default)"""
    writes: bool = True
    """with a token set, writes can still be switched off (`--no-writes`)"""
    cors_origins: tuple[str, ...] = ()
    """browser origins allowed to call the API (none by default; `*` for any)"""
    query_timeout: float = 30.0
    """seconds a SPARQL or GraphQL request may run before it is answered with 503"""
    max_result_bytes: int = 50 * 1024 * 1024
    """largest SPARQL result the server writes; beyond it the client is told to page"""
    max_request_bytes: int = 10 * 1024 * 1024
    """largest request body accepted (uploads included); beyond it 413"""
    graphql_max_depth: int = 10
    graphql_max_complexity: int = 5000
    ingest_roots: tuple[str, ...] = ()
    """server-side folders an ingest request may name paths under (none: uploads only)"""
    response_cache_mb: int = 64
    """MiB for replaying reads (GraphQL, SPARQL, REST) until the next write (0: off)"""
    preload_embeddings: bool = False
    """load the embedding model and sync the search index at start-up, not at the first search"""
    max_query_bytes: int = 1024 * 1024
    """largest SPARQL query or update text accepted (checked before parsing); beyond it 413"""
    max_query_nesting: int = 64
    """deepest nesting of { }, ( ) and [ ] in a SPARQL request (checked before parsing)"""
    max_queries_per_client: int = 4
    """SPARQL queries one client address may have running or waiting at once; beyond it 429"""
    query_workers: int = 0
    """processes that run clients' SPARQL queries (killed at the timeout); 0: two per core"""

    @property
    def sparql_limits(self) -> Limits:
        """The bounds every SPARQL request is checked against before it is parsed."""
        return Limits(max_bytes=self.max_query_bytes, max_nesting=self.max_query_nesting)

    @property
    def writes_enabled(self) -> bool:
        """Writes need both a token and writes left on."""
        return bool(self.token) and self.writes

    @property
    def cursor_key(self) -> bytes:
        """The key that signs paging cursors: stable across restarts of the same store."""
        secret = self.token or ""
        return hashlib.sha256(f"modelkg-cursor\0{Path(self.store).resolve()}\0{secret}".encode())\
            .digest()  # fmt: skip

    @classmethod
    def from_environment(cls, **overrides: object) -> ServerSettings:
        """Settings from `MODELKG_*` variables, then explicit (non-None) overrides."""
        env = {
            "store": "MODELKG_STORE",
            "token": "MODELKG_TOKEN",
            "cors_origins": "MODELKG_CORS_ORIGINS",
            "query_timeout": "MODELKG_QUERY_TIMEOUT",
            "max_result_bytes": "MODELKG_MAX_RESULT_BYTES",
            "max_request_bytes": "MODELKG_MAX_REQUEST_BYTES",
            "graphql_max_depth": "MODELKG_GRAPHQL_MAX_DEPTH",
            "graphql_max_complexity": "MODELKG_GRAPHQL_MAX_COMPLEXITY",
            "ingest_roots": "MODELKG_INGEST_ROOTS",
            "writes": "MODELKG_WRITES",
            "preload_embeddings": "MODELKG_PRELOAD_EMBEDDINGS",
            "response_cache_mb": "MODELKG_RESPONSE_CACHE_MB",
            "max_query_bytes": "MODELKG_MAX_QUERY_BYTES",
            "max_query_nesting": "MODELKG_MAX_QUERY_NESTING",
            "max_queries_per_client": "MODELKG_MAX_QUERIES_PER_CLIENT",
            "query_workers": "MODELKG_QUERY_WORKERS",
        }
        values: dict[str, object] = {
            name: os.environ[variable] for name, variable in env.items() if os.environ.get(variable)
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        kinds = {f.name: f.type for f in fields(cls)}
        for name, value in list(values.items()):
            kind = kinds[name]
            if kind == "int":
                values[name] = int(str(value))
            elif kind == "float":
                values[name] = float(str(value))
            elif kind == "bool" and isinstance(value, str):
                values[name] = value.strip().lower() not in ("0", "false", "no", "off")
            elif kind.startswith("tuple"):
                values[name] = _split(value)
        return cls(**values)  # type: ignore[arg-type]
