"""Export the registry: N-Quads (every named graph), Turtle (the union of the model graphs) or
JSON-LD in schema.org / FAIR4ML terms, so other FAIR tools can read it.

>>> import tempfile
>>> from kg.store import open_store
>>> export(open_store(tempfile.mkdtemp() + "/kg"), "nquads")
b''
"""

from __future__ import annotations

import json
from typing import Literal, get_args

from pyoxigraph import QueryTriples, RdfFormat, serialize

from kg.errors import UsageError
from kg.store.base import ModelStore
from ontology.files import ONTOLOGY_DIR
from ontology.namespaces import FAIR4ML, MKG, PREFIXES, PROV, SCHEMA

__all__ = ["EXPORT_FORMATS", "ExportFormat", "export"]

ExportFormat = Literal["turtle", "nquads", "jsonld"]
EXPORT_FORMATS: tuple[str, ...] = get_args(ExportFormat)

JSONLD_CONTEXT = {
    "schema": str(SCHEMA),
    "fair4ml": str(FAIR4ML),
    "prov": str(PROV),
    "mkg": str(MKG),
    "xsd": PREFIXES["xsd"],
}


def export(store: ModelStore, fmt: str, *, include_ontology: bool = False) -> bytes:
    """The registry serialized as `fmt`; the ontology graphs only when asked for."""
    if fmt not in EXPORT_FORMATS:
        raise UsageError(f"unknown export format `{fmt}`", expected=", ".join(EXPORT_FORMATS))
    quads = list(store.quads(vocabulary=include_ontology))
    if fmt == "nquads":
        return (serialize(quads, format=RdfFormat.N_QUADS) or b"") if quads else b""
    if fmt == "turtle":
        if not quads:
            return b""
        triples = (q.triple for q in quads)
        return serialize(triples, format=RdfFormat.TURTLE, prefixes=PREFIXES) or b""
    return _jsonld(store)


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
