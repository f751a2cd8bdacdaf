"""The ontology's own entailments, from an OWL RL engine (owlrl), not hand-written joins.

owlrl expands the TBox (core terms, parameter concepts, tasks) once per process; the schema
triples it adds (subclass and subproperty closure, equivalences, inverses, domains, ranges)
join the ontology that rules see, so a rule can ask `?p rdfs:subPropertyOf prov:wasDerivedFrom`.

>>> from pyoxigraph import NamedNode
>>> closure = tbox_closure()
>>> any(q.subject == NamedNode("https://w3id.org/modelkg/ontology#fineTunedFrom")
...     and q.object == NamedNode("http://www.w3.org/ns/prov#wasDerivedFrom") for q in closure)
True
"""

from __future__ import annotations

from functools import cache

from pyoxigraph import Quad, RdfFormat, parse

from ontology.files import CORE_FILE, ONTOLOGY_GRAPH, PARAMETERS_FILE, TASKS_FILE

__all__ = ["SCHEMA_PREDICATES", "tbox_closure"]

SCHEMA_PREDICATES = frozenset(
    {
        "http://www.w3.org/2000/01/rdf-schema#subClassOf",
        "http://www.w3.org/2000/01/rdf-schema#subPropertyOf",
        "http://www.w3.org/2000/01/rdf-schema#domain",
        "http://www.w3.org/2000/01/rdf-schema#range",
        "http://www.w3.org/2002/07/owl#equivalentClass",
        "http://www.w3.org/2002/07/owl#equivalentProperty",
        "http://www.w3.org/2002/07/owl#inverseOf",
    }
)
"""The schema triples of the closure that rules use; owlrl's other entailments are left out."""


@cache
def tbox_closure() -> tuple[Quad, ...]:
    """Schema triples entailed by the TBox (OWL 2 RL), in the ontology graph."""
    import owlrl
    import rdflib

    graph = rdflib.Graph()
    for path in (CORE_FILE, PARAMETERS_FILE, TASKS_FILE):
        if path.exists():
            graph.parse(path, format="turtle")
    asserted = set(graph)
    owlrl.DeductiveClosure(
        owlrl.OWLRL_Semantics, axiomatic_triples=False, datatype_axioms=False
    ).expand(graph)
    entailed = rdflib.Graph()
    for triple in graph:
        subject, predicate, obj = triple
        if (
            triple not in asserted
            and str(predicate) in SCHEMA_PREDICATES
            and isinstance(subject, rdflib.URIRef)
            and isinstance(obj, rdflib.URIRef)
            and subject != obj
        ):
            entailed.add(triple)
    payload = entailed.serialize(format="nt")
    return tuple(
        Quad(t.subject, t.predicate, t.object, ONTOLOGY_GRAPH)
        for t in parse(payload.encode("utf-8"), format=RdfFormat.N_TRIPLES)
    )
