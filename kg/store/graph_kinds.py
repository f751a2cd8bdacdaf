"""Which graphs of the store are ModelKG's own: known by the kind each states inside itself.

Every graph ModelKG writes says what it is (`GRAPH <g> { <g> mkg:graphKind mkg:InferredGraph }`),
and the ontology says which kinds client updates may not write (`mkg:protectedFromUpdates`).
So protection is data in the store, not a pattern over IRIs: a graph is protected because of
what it holds, however its IRI is spelled, and a new kind is protected by one line of Turtle.

>>> import tempfile
>>> from kg.store.embedded import EmbeddedStore
>>> store = EmbeddedStore.open(tempfile.mkdtemp() + "/kg")
>>> protected_kind(store, "https://w3id.org/modelkg/graph/shapes")
'the SHACL shapes graph'
>>> protected_kind(store, "urn:my:graph") is None
True
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyoxigraph import NamedNode, QuerySolutions, Variable

if TYPE_CHECKING:
    from kg.store.base import ModelStore

__all__ = ["protected_kind"]

_PROTECTED = """
SELECT ?g ?label WHERE {
  GRAPH ?g { ?g mkg:graphKind ?kind }
  ?kind mkg:protectedFromUpdates true .
  OPTIONAL { ?kind rdfs:label ?label }
} LIMIT 1
"""


def protected_kind(store: ModelStore, iri: str) -> str | None:
    """The label of `iri`'s kind when client updates may not write it, else None."""
    try:
        graph = NamedNode(iri)
    except ValueError:
        return None  # not an IRI: no graph of the store can have that name
    result = store.query(_PROTECTED, substitutions={Variable("g"): graph})
    assert isinstance(result, QuerySolutions)
    for row in result:
        label = row["label"]
        return label.value if label is not None else iri
    return None
