"""Which operation of a SPARQL update failed, when the store refused it for the client's reason.

An update of several operations (`CREATE GRAPH <g> ; INSERT DATA {...} ; DROP GRAPH <h>`) runs
as one transaction: when one operation fails, none is applied. The store says only why ("The
graph <urn:g> already exists"), not which operation; answered as a store failure (503) a client
would retry the same request forever. It is the client's error: SPARQL 1.1 Update says CREATE
fails on an existing graph, and DROP, CLEAR and MOVE on a missing one, unless SILENT. So the
operations are walked in order, following whether that graph exists, to the one that failed,
and the answer is a 400 naming it (`failed_operation`).

>>> from kg.sparql.request import GraphRef, ParsedUpdate, UpdateOperation
>>> g = GraphRef("iri", "urn:g")
>>> update = ParsedUpdate("...", 1, (), (UpdateOperation("create", source=g),) * 2)
>>> failed_operation(update, "The graph <urn:g> already exists", lambda iri: False).message
'operation 2 of 2 (CREATE GRAPH <urn:g>) failed: the graph <urn:g> already exists; ...'
"""

from __future__ import annotations

import re
from collections.abc import Callable

from kg.sparql.request import ParsedUpdate, UpdateOperation
from resolvers.errors import HttpError

__all__ = ["failed_operation"]

_REASON = re.compile(r"The graph <(?P<iri>[^>]*)> (?P<reason>already exists|does not exist)")
"""How the embedded store (pyoxigraph) says an operation failed on a graph's existence."""

_HINTS = {
    "already exists": "CREATE SILENT GRAPH leaves an existing graph as it is",
    "does not exist": "DROP SILENT, CLEAR SILENT and MOVE SILENT skip a missing graph",
}


def _spelled(operation: UpdateOperation) -> str:
    if operation.op == "move":
        return f"MOVE {operation.source} TO {operation.destination}"
    return f"{operation.op.upper()} GRAPH {operation.source}"


def _fails(operation: UpdateOperation, iri: str, exists: bool) -> tuple[bool, bool]:
    """Whether `operation` fails on graph `iri` given it `exists`, and whether it exists after."""
    source = operation.source
    on_source = source is not None and source.kind == "iri" and source.value == iri
    destination = operation.destination
    if operation.op == "create" and on_source:
        return exists and not operation.silent, True
    if operation.op in ("drop", "clear", "move") and on_source:
        failed = not exists and not operation.silent
        return failed, operation.op == "clear" and exists
    if operation.op == "drop" and source is not None and source.kind in ("named", "all"):
        return False, False
    if destination is not None and destination.kind == "iri" and destination.value == iri:
        return False, True  # ADD, COPY, MOVE into it
    if any(g.kind == "iri" and g.value == iri for g in operation.insert):
        return False, True
    return False, exists


def failed_operation(
    parsed: ParsedUpdate, message: str, existed: Callable[[str], bool]
) -> HttpError | None:
    """A 400 naming the operation of `parsed` that failed with the store's `message`, given
    whether each graph `existed` before the update; None when the failure is not of this
    kind (a store that could not write: the caller's 503 stands)."""
    match = _REASON.search(message)
    if match is None:
        return None
    iri, reason = match["iri"], match["reason"]
    exists = existed(iri)
    total = len(parsed.operations)
    for number, operation in enumerate(parsed.operations, start=1):
        failed, exists = _fails(operation, iri, exists)
        if failed:
            return HttpError(
                400,
                "update_failed",
                f"operation {number} of {total} ({_spelled(operation)}) failed: the graph "
                f"<{iri}> {reason}; the update was not applied, nothing was written",
                field="update",
                hint=_HINTS[reason],
            )
    return HttpError(
        400,
        "update_failed",
        f"the update failed: the graph <{iri}> {reason}; nothing was written",
        field="update",
        hint=_HINTS[reason],
    )
