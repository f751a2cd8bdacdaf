"""Export the registry: N-Quads (every named graph), Turtle (the union of the model graphs) or
JSON-LD in schema.org / FAIR4ML terms, so other FAIR tools can read it.

N-Quads come out canonical: blank nodes labelled by RDF Dataset Canonicalization (RDFC-1.0,
pyoxigraph's implementation) and the lines sorted, so the same content gives the same bytes
whichever store (embedded or remote) it was read from. Without `timestamps`, the statements of
when something was ingested (every subproperty of `prov:generatedAtTime`, as the ontology
declares them) are left out: two dumps of the same models then compare equal.

>>> import tempfile
>>> from kg.store import open_store
>>> export(open_store(tempfile.mkdtemp() + "/kg"), "nquads")
b''
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Literal, get_args

from pyoxigraph import (
    BlankNode,
    CanonicalizationAlgorithm,
    Dataset,
    NamedNode,
    Quad,
    QueryTriples,
    RdfFormat,
    serialize,
)

from kg.errors import UsageError
from kg.store.base import ModelStore
from ontology.files import ONTOLOGY_DIR
from ontology.namespaces import FAIR4ML, MKG, PREFIXES, PROV, SCHEMA

__all__ = ["EXPORT_FORMATS", "ExportFormat", "canonical_nquads", "export"]

ExportFormat = Literal["turtle", "nquads", "jsonld"]
EXPORT_FORMATS: tuple[str, ...] = get_args(ExportFormat)

JSONLD_CONTEXT = {
    "schema": str(SCHEMA),
    "fair4ml": str(FAIR4ML),
    "prov": str(PROV),
    "mkg": str(MKG),
    "xsd": PREFIXES["xsd"],
}


def export(
    store: ModelStore, fmt: str, *, include_ontology: bool = False, timestamps: bool = True
) -> bytes:
    """The registry serialized as `fmt`; the ontology graphs only when asked for; ingest
    timestamps unless `timestamps` is False."""
    if fmt not in EXPORT_FORMATS:
        raise UsageError(f"unknown export format `{fmt}`", expected=", ".join(EXPORT_FORMATS))
    quads = list(store.quads(vocabulary=include_ontology))
    if not timestamps:
        stamped = _timestamp_predicates(store)
        quads = [q for q in quads if q.predicate not in stamped]
    if fmt == "nquads":
        return canonical_nquads(quads)
    if fmt == "turtle":
        if not quads:
            return b""
        triples = (q.triple for q in quads)
        return serialize(triples, format=RdfFormat.TURTLE, prefixes=PREFIXES) or b""
    return _jsonld(store)


def _timestamp_predicates(store: ModelStore) -> set[NamedNode]:
    """`prov:generatedAtTime` and every property the ontology declares beneath it."""
    found = {
        row["p"]
        for row in store.select(
            "SELECT DISTINCT ?p WHERE { ?p rdfs:subPropertyOf* prov:generatedAtTime }"
        )
    }
    return {p for p in found if isinstance(p, NamedNode)} | {PROV.generatedAtTime}


def canonical_nquads(quads: Iterable[Quad]) -> bytes:
    """N-Quads with canonical blank node labels (RDFC-1.0) and the lines sorted.

    >>> from pyoxigraph import BlankNode, Literal
    >>> a = Quad(BlankNode("x1"), NamedNode("urn:p"), Literal("1"), NamedNode("urn:g"))
    >>> b = Quad(BlankNode("y2"), NamedNode("urn:p"), Literal("1"), NamedNode("urn:g"))
    >>> canonical_nquads([a]) == canonical_nquads([b])
    True
    """
    quads = list(quads)
    if any(
        isinstance(term, BlankNode) for q in quads for term in (q.subject, q.object, q.graph_name)
    ):
        dataset = Dataset(quads)
        dataset.canonicalize(CanonicalizationAlgorithm.RDFC_1_0)
        quads = list(dataset)
    text = (serialize(quads, format=RdfFormat.N_QUADS) or b"") if quads else b""
    lines = sorted(text.splitlines(keepends=True))
    return b"".join(lines)


def _jsonld(store: ModelStore) -> bytes:
    import rdflib

    sparql = (ONTOLOGY_DIR / "export" / "schema_org.rq").read_text(encoding="utf-8")
    result = store.query(sparql)
    assert isinstance(result, QueryTriples)
    payload = result.serialize(format=RdfFormat.N_TRIPLES) or b""
    graph = rdflib.Graph()
    graph.parse(data=payload.decode("utf-8"), format="nt")
    text = graph.serialize(format="json-ld", context=JSONLD_CONTEXT, auto_compact=True)
    document = json.loads(text)
    return (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
