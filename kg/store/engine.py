"""What the store implementations share: the context manager and SELECT/ASK over `query` (every
one, the shared store included: `StoreBase`); the writer lock, write generation,
and the checks before a write (both engines: `StoreEngine`). Each engine (`kg.store.embedded`,
`kg.store.remote`) adds how it reads and writes.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Self

from pyoxigraph import BlankNode, NamedNode, Quad, QuerySolutions, Variable

from kg.errors import StoreError
from kg.store.base import Graph, QueryResult, Term, expect_boolean, expect_solutions
from kg.store.sparql_text import derived_graphs_update, drop_graphs_update
from ontology.files import ONTOLOGY_GRAPH, SHAPES_GRAPH

if TYPE_CHECKING:
    from types import TracebackType

__all__ = ["VOCABULARY_GRAPHS", "StoreBase", "StoreEngine"]

VOCABULARY_GRAPHS = (ONTOLOGY_GRAPH, SHAPES_GRAPH)
"""The graphs a store loads itself from the ontology files and never lets anything write."""


class StoreBase(ABC):
    """What every `ModelStore` implementation here shares whatever its writes are like: the
    context manager, and SELECT/ASK over `query`."""

    @abstractmethod
    def query(
        self,
        sparql: str,
        *,
        substitutions: Mapping[Variable, Term] | None = None,
        base_iri: str | None = None,
    ) -> QueryResult:
        """A query over the union of all graphs (see `kg.store.base.ModelStore.query`)."""

    @abstractmethod
    def close(self) -> None:
        """Release the store."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def select(
        self, sparql: str, *, substitutions: Mapping[Variable, Term] | None = None
    ) -> QuerySolutions:
        """A SELECT query's solutions (a `QueryError` if `sparql` is another kind of query)."""
        return expect_solutions(self.query(sparql, substitutions=substitutions))

    def ask(self, sparql: str, *, substitutions: Mapping[Variable, Term] | None = None) -> bool:
        """An ASK query's answer (a `QueryError` if `sparql` is another kind of query)."""
        return expect_boolean(self.query(sparql, substitutions=substitutions))


class StoreEngine(StoreBase):
    """The part of a `ModelStore` that does not depend on where the quads are."""

    def __init__(self, location: str, *, read_only: bool) -> None:
        self.location = location
        self.read_only = read_only
        self.generation = 0
        """Moves before and after each write made through this object."""
        self._write_lock = threading.RLock()

    @abstractmethod
    def _apply(self, update: str) -> None:
        """Apply one update ModelKG built from terms, as one transaction (embedded) or one
        request (remote), under the writer lock."""

    def replace_graphs(
        self, graphs: Mapping[NamedNode, Sequence[Quad]], *, kind: NamedNode
    ) -> None:
        """Replace whole graphs of derived data in one write, each stating its `kind` inside
        itself (`<g> mkg:graphKind kind`): how the store knows its own graphs
        (`kg.store.graph_kinds`)."""
        self._check_targets(list(graphs))
        if graphs:
            self._apply(derived_graphs_update(graphs, kind=kind))

    def remove_graphs(self, graphs: Sequence[NamedNode]) -> None:
        """Drop named graphs in one write (never the vocabulary's)."""
        self._check_targets(graphs)
        if graphs:
            self._apply(drop_graphs_update(graphs))

    @contextmanager
    def writer(self) -> Iterator[None]:
        """Hold the store's one writer lock: every write path takes it, so writes are
        serialized, and a caller that checks then writes (the update guard) holds it across
        both. Re-entrant: the writes made inside take it again."""
        with self._write_lock:
            yield

    @contextmanager
    def _writing(self) -> Iterator[None]:
        """Take the writer lock; move `generation` before a write and again after it: a reader
        that saw the same generation before and after its work read no half-written state."""
        with self._write_lock:
            self.generation += 1
            try:
                yield
            finally:
                self.generation += 1

    def _check_writable(self) -> None:
        if self.read_only:
            raise StoreError("the store is open read-only", path=self.location)

    def _check_targets(self, graphs: Iterable[Graph | BlankNode]) -> None:
        self._check_writable()
        if any(graph in VOCABULARY_GRAPHS for graph in graphs):
            raise StoreError("refusing to write into a vocabulary graph", path=self.location)
