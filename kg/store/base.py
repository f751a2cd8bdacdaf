"""The store interface: what every store engine offers the rest of ModelKG.

Two engines implement it: the embedded pyoxigraph store on disk (`kg.store.embedded`, the
default) and a remote SPARQL 1.1 server (`kg.store.remote`: Oxigraph, Virtuoso). Everything
above `kg.store` types against `ModelStore`, never an engine: a command, the reasoner or the
server runs the same over either.

What a store owns: its writer lock (`writer()`, held by every write, re-entrant, so a caller
checks then writes under one lock) and its write generation (`generation`, moved before and
after each write: a reader that saw the same value before and after its work saw no
half-written state; the response cache keys on it). Results are pyoxigraph's own types
(`QuerySolutions`, `QueryBoolean`, `QueryTriples`) from both engines, so callers never care
where a query ran.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from types import TracebackType
from typing import TYPE_CHECKING, Protocol, Self

from pyoxigraph import (
    BlankNode,
    DefaultGraph,
    Literal,
    NamedNode,
    Quad,
    QueryBoolean,
    QuerySolutions,
    QueryTriples,
    RdfFormat,
    Triple,
    Variable,
)

from kg.errors import QueryError

if TYPE_CHECKING:
    from kg.store.model_graph import ModelGraph

__all__ = [
    "BinaryOutput",
    "Graph",
    "ModelStore",
    "QueryResult",
    "Term",
    "expect_boolean",
    "expect_solutions",
]

QueryResult = QuerySolutions | QueryTriples | QueryBoolean
Term = NamedNode | BlankNode | Literal | Triple
"""A term a query variable can be bound to (`substitutions=`)."""
Graph = NamedNode | DefaultGraph


class BinaryOutput(Protocol):
    """A binary file-like object (what pyoxigraph writes to)."""

    def write(self, data: bytes, /) -> int: ...


def expect_solutions(result: QueryResult) -> QuerySolutions:
    """`result` as a SELECT's solutions, else a `QueryError` saying what it was."""
    if not isinstance(result, QuerySolutions):
        raise QueryError(f"expected a SELECT query, got a {type(result).__name__} result")
    return result


def expect_boolean(result: QueryResult) -> bool:
    """`result` as an ASK's answer, else a `QueryError` saying what it was."""
    if not isinstance(result, QueryBoolean):
        raise QueryError(f"expected an ASK query, got a {type(result).__name__} result")
    return bool(result)


class ModelStore(Protocol):
    """A quad store that holds one named graph per ingested source, and ModelKG's own graphs
    (ontology, shapes, derived data) beside them."""

    location: str
    """Where the store is: a folder, `:memory:`, or a `sparql+http://` URL."""
    read_only: bool
    compacts: bool
    """`optimize` compacts this store's files (False on a SPARQL server, which has no request
    for it): only then does a large ingest end by compacting, and say so."""

    @property
    def generation(self) -> int:
        """The write generation: moves before and after every write."""
        ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...

    def close(self) -> None:
        """Flush and release the store (and its connections)."""
        ...

    # --- reads -------------------------------------------------------------------------------

    def query(
        self,
        sparql: str,
        *,
        substitutions: Mapping[Variable, Term] | None = None,
        base_iri: str | None = None,
    ) -> QueryResult:
        """A query over the union of all graphs, ModelKG's prefixes predeclared (`mkg:`, ...);
        values are bound as `substitutions`, never pasted into the text."""
        ...

    def select(
        self, sparql: str, *, substitutions: Mapping[Variable, Term] | None = None
    ) -> QuerySolutions:
        """A SELECT query's solutions (`QueryError` for another kind of query)."""
        ...

    def ask(self, sparql: str, *, substitutions: Mapping[Variable, Term] | None = None) -> bool:
        """An ASK query's answer."""
        ...

    def graph_quads(self, graph: Graph) -> list[Quad]:
        """Every quad of one graph (empty when there is no such graph)."""
        ...

    def subject_quads(self, subject: NamedNode, graph: NamedNode) -> list[Quad]:
        """The quads of `graph` about `subject`: an index look-up, never a scan."""
        ...

    def serialize_graph(self, graph: Graph, output: BinaryOutput, format: RdfFormat) -> None:
        """Write one graph to `output` as `format`, serialized by the engine (Turtle with
        ModelKG's prefixes): no Python object per triple. `output` may raise to stop it."""
        ...

    def has_graph(self, graph: Graph) -> bool:
        """The graph exists (the default graph always does)."""
        ...

    def quads(self, *, vocabulary: bool = True) -> Iterable[Quad]:
        """Every quad, streamed (for export and migration); without the ontology and shapes
        graphs when `vocabulary` is False."""
        ...

    def source_digests(self, graphs: Sequence[NamedNode]) -> dict[str, str]:
        """graph IRI -> stored source digest, for the graphs that exist."""
        ...

    def count_models(self) -> int:
        """How many models the store describes."""
        ...

    # --- writes (each one transaction, under `writer()`) -------------------------------------

    def writer(self) -> AbstractContextManager[None]:
        """The store's one writer lock, held by every write; re-entrant."""
        ...

    def update(self, sparql: str, *, base_iri: str | None = None) -> None:
        """A SPARQL update, as one transaction; callers guard which graphs it may touch."""
        ...

    def write_models(self, models: Sequence[ModelGraph], *, replace: Sequence[NamedNode]) -> None:
        """Write the models' graphs, replacing the `replace` graphs: all of it, or none."""
        ...

    def replace_graphs(
        self, graphs: Mapping[NamedNode, Sequence[Quad]], *, kind: NamedNode
    ) -> None:
        """Replace whole graphs of derived data, each stating its `kind` inside itself."""
        ...

    def remove_graphs(self, graphs: Sequence[NamedNode]) -> None:
        """Drop named graphs."""
        ...

    def load(self, quads: Sequence[Quad]) -> None:
        """Add quads to whatever graphs they name, in one transaction (a migration's batch:
        nothing checks or marks them; the vocabulary graphs stay refused)."""
        ...

    def put_graph(self, graph: Graph, triples: Sequence[Triple]) -> None:
        """Replace one graph's content (the Graph Store Protocol's PUT)."""
        ...

    def post_graph(self, graph: Graph, triples: Sequence[Triple]) -> None:
        """Add to one graph (the Graph Store Protocol's POST)."""
        ...

    def drop_graph(self, graph: Graph) -> None:
        """Remove one graph; the default graph is emptied (the Graph Store Protocol's DELETE)."""
        ...

    def optimize(self) -> None:
        """Compact the store's files for reads, after a large write (`kg.ingest.register`):
        bulk loads leave their quads in many files whose keys overlap, and a lookup searches
        each of them. The content does not change. Nothing on a SPARQL server (`compacts`)."""
        ...
