"""What a SPARQL request is, once parsed: the facts every guard decides on.

A guard never reads the request's text. It reads these values, which come from a real parser's
algebra (`kg.sparql.parse`), with BASE, prefixes and escapes already resolved: the graph an
update writes is an IRI here, however the client spelled it.

>>> drop = UpdateOperation(op="drop", source=GraphRef("iri", "urn:g"))
>>> [str(g) for g in drop.written()]
['<urn:g>']
>>> move = UpdateOperation(
...     op="move", source=GraphRef("default"), destination=GraphRef("iri", "urn:b"))
>>> [str(g) for g in move.written()]
['DEFAULT', '<urn:b>']
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = [
    "READS_ANYTHING",
    "GraphKind",
    "GraphRef",
    "OperationKind",
    "ParsedQuery",
    "ParsedUpdate",
    "QueryForm",
    "Reads",
    "UpdateOperation",
]

GraphKind = Literal["iri", "var", "default", "named", "all", "other"]
OperationKind = Literal["load", "clear", "drop", "create", "add", "move", "copy", "modify"]
QueryForm = Literal["select", "ask", "construct", "describe"]


@dataclass(frozen=True)
class GraphRef:
    """A graph an operation names: an IRI, a variable, or DEFAULT / NAMED / ALL."""

    kind: GraphKind
    value: str = ""

    def __str__(self) -> str:
        if self.kind == "iri":
            return f"<{self.value}>"
        if self.kind == "var":
            return f"?{self.value}"
        return self.kind.upper()


@dataclass(frozen=True)
class UpdateOperation:
    """One operation of an update request (`modify` is DELETE/INSERT, with or without DATA)."""

    op: OperationKind
    silent: bool = False
    source: GraphRef | None = None
    destination: GraphRef | None = None
    insert: tuple[GraphRef, ...] = ()
    delete: tuple[GraphRef, ...] = ()
    dataset: bool = False
    """The operation names its own dataset (`USING`, `USING NAMED` or `WITH`)."""

    def written(self) -> tuple[GraphRef, ...]:
        """The graphs this operation may change (what a write guard checks)."""
        if self.op == "modify":
            return (*self.delete, *self.insert)
        if self.op in ("clear", "drop", "create"):
            return (self.source,) if self.source else ()
        if self.op == "move":  # the source is emptied too
            return tuple(g for g in (self.source, self.destination) if g)
        # add, copy, load write their destination (LOAD without INTO writes the default graph)
        return (self.destination or GraphRef("default"),)


RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"


@dataclass(frozen=True)
class Reads:
    """What a query's patterns can match (a CONSTRUCT's WHERE, not its template): a triple
    that none of them matches cannot change its answer. The reasoner runs a rule again only
    when the facts just added could (`kg.reason.engine`).

    >>> reads = Reads(predicates=frozenset({"urn:p"}), classes=frozenset({"urn:C"}))
    >>> reads.matches("urn:p", "urn:x"), reads.matches(RDF_TYPE, "urn:C")
    (True, True)
    >>> reads.matches("urn:q", "urn:x"), reads.matches(RDF_TYPE, "urn:D")
    (False, False)
    """

    predicates: frozenset[str] = frozenset()
    """constant predicates of its triple patterns and property paths"""
    classes: frozenset[str] = frozenset()
    """constant classes of its `?x rdf:type <C>` patterns"""
    any: bool = False
    """some pattern matches every predicate (a variable one, a negated property set)"""

    def matches(self, predicate: str, obj: str | None) -> bool:
        """Whether some pattern could match a triple with this predicate (and, for
        `rdf:type`, this class: `obj`, an IRI, or None for another kind of term)."""
        if self.any or predicate in self.predicates:
            return True
        return predicate == RDF_TYPE and obj is not None and obj in self.classes


READS_ANYTHING = Reads(any=True)
"""What is assumed of a query whose patterns were not analyzed: it may read anything."""


@dataclass(frozen=True)
class ParsedQuery:
    """A query the parser accepted."""

    text: str
    form: QueryForm
    depth: int
    services: tuple[GraphRef, ...]
    dataset: bool
    """The query names its own dataset (`FROM` / `FROM NAMED`)."""
    volatile: bool = False
    """It calls NOW, RAND, UUID, STRUUID or BNODE: its answer changes each time it runs."""
    reads: Reads = READS_ANYTHING
    """What its patterns can match."""

    @property
    def gives_graph(self) -> bool:
        """CONSTRUCT and DESCRIBE answer with triples; SELECT and ASK with results."""
        return self.form in ("construct", "describe")


@dataclass(frozen=True)
class ParsedUpdate:
    """An update request the parser accepted: its operations in order."""

    text: str
    depth: int
    services: tuple[GraphRef, ...]
    operations: tuple[UpdateOperation, ...]

    @property
    def dataset(self) -> bool:
        """Some operation names its own dataset (`USING`, `USING NAMED`, `WITH`)."""
        return any(o.dataset for o in self.operations)
