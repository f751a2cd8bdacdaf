"""What ModelKG refuses to run, decided on the parsed request (`kg.sparql.request`).

- Nothing fetches a URL a client names: no `SERVICE` anywhere in a query or an update (inside
  `OPTIONAL`, `EXISTS`, subqueries alike), no `LOAD`.
- No update writes a graph ModelKG owns (the ontology, the shapes, derived graphs: whatever the
  store says is protected, see `kg.store.graph_kinds`). `ALL` and `NAMED` would reach them, and
  so would a variable graph in a DELETE/INSERT template (it can be bound to any IRI), so those
  are refused with a hint to name the graphs.

Reads are open: an update's WHERE may read any graph.

>>> from kg.sparql.parse import parse_update
>>> check_update(parse_update("DROP SILENT GRAPH <urn:x#> ; DROP ALL"), lambda iri: None)
Traceback (most recent call last):
...
kg.errors.QueryRefused: DROP ALL would reach graphs ModelKG owns (...) (name ...)
"""

from __future__ import annotations

from collections.abc import Callable

from kg.errors import QueryRefused
from kg.sparql.request import GraphRef, ParsedQuery, ParsedUpdate, UpdateOperation

__all__ = ["ProtectedKind", "check_query", "check_update", "check_write"]

ProtectedKind = Callable[[str], "str | None"]
"""Given a graph IRI, the name of its protected kind in the store, or None when writable."""

_NO_FETCH = "this server never fetches addresses a client chooses"


def _refuse_services(services: tuple[GraphRef, ...]) -> None:
    if services:
        raise QueryRefused(
            "service_refused",
            f"SERVICE {services[0]} is refused: {_NO_FETCH}",
            hint="query the other endpoint yourself and send its data here",
        )


def check_query(parsed: ParsedQuery) -> None:
    """Refuse a query that would make the server fetch a URL (`SERVICE`)."""
    _refuse_services(parsed.services)


def _verb(operation: UpdateOperation) -> str:
    return "DELETE/INSERT" if operation.op == "modify" else operation.op.upper()


def check_write(verb: str, graph: GraphRef, protected: ProtectedKind) -> None:
    """Refuse `verb` (an update operation, or a Graph Store PUT/POST/DELETE) writing `graph`
    when it could reach ModelKG's own graphs."""
    if graph.kind in ("all", "named"):
        raise QueryRefused(
            "protected_graph",
            f"{verb} {graph} would reach graphs ModelKG owns (ontology, shapes, derived data)",
            hint="name the graphs you mean: DROP GRAPH <...> for each",
        )
    if graph.kind == "var":
        raise QueryRefused(
            "protected_graph",
            f"{verb} into the variable graph {graph} could write any graph, ModelKG's own too",
            hint="name the graph in the template: GRAPH <...> { ... }",
        )
    if graph.kind == "iri":
        kind = protected(graph.value)
        if kind is not None:
            raise QueryRefused(
                "protected_graph",
                f"{verb} {graph} is refused: it is {kind}, a graph ModelKG owns",
                hint="write into graphs of your own; re-ingest or re-derive to change ModelKG's",
            )
    elif graph.kind != "default":
        raise QueryRefused("protected_graph", f"{verb} into {graph} is not supported")


def check_update(parsed: ParsedUpdate, protected: ProtectedKind) -> None:
    """Refuse an update that fetches (`LOAD`, `SERVICE`) or writes a protected graph."""
    _refuse_services(parsed.services)
    for operation in parsed.operations:
        if operation.op == "load":
            raise QueryRefused(
                "fetch_refused",
                f"LOAD {operation.source} is refused: {_NO_FETCH}",
                hint="download the data yourself and send it: INSERT DATA, or PUT/POST it to "
                "/rdf-graph-store",
            )
        for graph in operation.written():
            check_write(_verb(operation), graph, protected)
