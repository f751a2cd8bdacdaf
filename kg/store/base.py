"""The store interface: what every store implementation offers the rest of ModelKG.

Two implementations are planned: the embedded pyoxigraph store on disk (`kg.store.embedded`,
the default) and a remote SPARQL 1.1 store. Everything above the store talks to this Protocol.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Protocol

from pyoxigraph import (
    BlankNode,
    Literal,
    NamedNode,
    Quad,
    QueryBoolean,
    QuerySolutions,
    QueryTriples,
    Triple,
    Variable,
)

if TYPE_CHECKING:
    from kg.ingest.reader import ModelGraph

__all__ = ["ModelStore", "QueryResult", "Term"]

QueryResult = QuerySolutions | QueryTriples | QueryBoolean
Term = NamedNode | BlankNode | Literal | Triple
"""A term a query variable can be bound to (`substitutions=`)."""


class ModelStore(Protocol):
    """A quad store that holds one named graph per ingested source."""

    location: str

    def query(
        self,
        sparql: str,
        *,
        substitutions: Mapping[Variable, Term] | None = None,
        base_iri: str | None = None,
    ) -> QueryResult:
        """Run a SPARQL query; the default graph is the union of all named graphs; values are
        bound as `substitutions`, never pasted into the text."""
        ...

    def writer(self) -> AbstractContextManager[None]:
        """The store's one writer lock, held by every write."""
        ...

    def source_digests(self, graphs: Sequence[NamedNode]) -> dict[str, str]:
        """graph IRI -> stored source digest, for the graphs that exist."""
        ...

    def write_models(self, models: Sequence[ModelGraph], *, replace: Sequence[NamedNode]) -> None:
        """Write the models' graphs in one transaction, replacing the `replace` graphs."""
        ...

    def remove_graphs(self, graphs: Sequence[NamedNode]) -> None:
        """Drop named graphs in one transaction."""
        ...

    def quads(self) -> Iterable[Quad]:
        """Every quad in the store (for export and dumps)."""
        ...

    def count_models(self) -> int:
        """How many models the store describes."""
        ...

    def close(self) -> None:
        """Flush and release the store."""
        ...
