"""What a query worker process runs: one guarded query over a store checkpoint, serialized.

This module is imported in the worker processes of `kg.sparql.isolation`, so it imports only
pyoxigraph and the standard library: a worker that was killed at a timeout is replaced in a
fraction of a second. Errors come back as values (`Outcome`), never as exceptions carrying
pyoxigraph objects across the process boundary.

>>> import tempfile
>>> from kg.store.embedded import EmbeddedStore
>>> folder = tempfile.mkdtemp()
>>> EmbeddedStore.open(folder + "/kg").checkpoint(folder + "/snap")
>>> ask = "ASK { ?s a <http://www.w3.org/2002/07/owl#Ontology> }"
>>> outcome = run_query(QueryJob(folder + "/snap", ask, "application/sparql-results+json"))
>>> outcome.status, outcome.body
('ok', b'{"head":{},"boolean":true}')
"""

from __future__ import annotations

import signal
from dataclasses import dataclass, field

from pyoxigraph import (
    BlankNode,
    DefaultGraph,
    NamedNode,
    QueryBoolean,
    QueryResultsFormat,
    QuerySolutions,
    QueryTriples,
    RdfFormat,
    Store,
)

__all__ = [
    "Outcome",
    "QueryJob",
    "run_in_worker",
    "run_query",
    "serialized",
    "warm_up",
]


@dataclass(frozen=True)
class QueryJob:
    """A query the parent has parsed and guarded, with where and how to answer it."""

    snapshot: str
    text: str
    media_type: str
    base_iri: str | None = None
    prefixes: dict[str, str] = field(default_factory=dict)
    default_graphs: tuple[str, ...] | None = None
    named_graphs: tuple[str, ...] | None = None
    max_bytes: int = 50 * 1024 * 1024


@dataclass(frozen=True)
class Outcome:
    """`ok` with the serialized body, else `too_large`, `bad_query` or `store_error`."""

    status: str
    body: bytes = b""
    message: str = ""


class _TooLargeError(Exception):
    """The serialized result outgrew its cap."""


class _Sink:
    """Collects what pyoxigraph writes and stops it past `max_bytes`."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.parts: list[bytes] = []
        self.size = 0

    def write(self, data: bytes) -> int:
        self.size += len(data)
        if self.size > self.max_bytes:
            raise _TooLargeError
        self.parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        """Nothing to flush: the body is returned whole."""


_OPEN: dict[str, Store] = {}


_PREPARED: list[bool] = []


def _prepare() -> None:
    """Leave Ctrl-C to the server, which stops its workers: a terminal's SIGINT reaches the
    whole process group, and a worker interrupted mid-job would answer its pipe with an
    exception instead."""
    if not _PREPARED:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        _PREPARED.append(True)


def run_in_worker(job: QueryJob) -> Outcome:
    """`run_query` in a worker process of `kg.sparql.isolation`."""
    _prepare()
    return run_query(job)


def warm_up(snapshot: str) -> None:
    """Open `snapshot` in a fresh worker, so the next query finds it ready: a worker killed
    with its query is replaced at once, not when the next query pays for it."""
    _prepare()
    _store(snapshot)


def _store(snapshot: str) -> Store:
    """The worker's handle on `snapshot`; a newer snapshot replaces the old handle."""
    if snapshot not in _OPEN:
        _OPEN.clear()
        _OPEN[snapshot] = Store.read_only(snapshot)
    return _OPEN[snapshot]


def run_query(job: QueryJob) -> Outcome:
    """Run `job` and serialize its result as `job.media_type`."""
    try:
        store = _store(job.snapshot)
        defaults: list[NamedNode | BlankNode | DefaultGraph] | None = (
            [NamedNode(g) for g in job.default_graphs] if job.default_graphs else None
        )
        named: list[NamedNode | BlankNode] | None = (
            [NamedNode(g) for g in job.named_graphs] if job.named_graphs is not None else None
        )
        result = store.query(
            job.text,
            prefixes=job.prefixes,
            base_iri=job.base_iri,
            default_graph=defaults,
            named_graphs=named,
            use_default_graph_as_union=defaults is None,
        )
        return serialized(result, job.media_type, job.max_bytes)
    except (SyntaxError, ValueError) as exc:
        return Outcome("bad_query", message=str(exc))
    except (OSError, RuntimeError) as exc:
        _OPEN.clear()  # reopen next time: the snapshot may have been replaced
        return Outcome("store_error", message=str(exc))


def serialized(
    result: QuerySolutions | QueryBoolean | QueryTriples, media_type: str, max_bytes: int
) -> Outcome:
    """A query's result written as `media_type`, at most `max_bytes` (`too_large` past it)."""
    sink = _Sink(max_bytes)
    try:
        if isinstance(result, QueryTriples):
            rdf_format = RdfFormat.from_media_type(media_type)
            if rdf_format is None:
                return Outcome("bad_query", message=f"cannot write triples as {media_type}")
            result.serialize(sink, rdf_format)  # type: ignore[arg-type]
        else:
            results_format = QueryResultsFormat.from_media_type(media_type)
            if results_format is None:
                return Outcome("bad_query", message=f"cannot write results as {media_type}")
            result.serialize(sink, results_format)  # type: ignore[arg-type]
    except _TooLargeError:
        return Outcome("too_large")
    return Outcome("ok", b"".join(sink.parts))
