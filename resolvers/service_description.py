"""The SPARQL 1.1 Service Description of `/sparql`: what a program learns by GETting the endpoint
without a query (https://www.w3.org/TR/sparql11-service-description/).

It says the truth about this endpoint: SPARQL 1.1 Query and Update, the result formats it writes,
a default graph that is the union of all named graphs, and no federation (SERVICE is refused).
The description is built from terms and serialized by pyoxigraph, negotiated like any graph.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response
from pyoxigraph import BlankNode, Literal, NamedNode, RdfFormat, Triple, serialize

from kg import __version__
from ontology.namespaces import FORMATS, RDF, SD
from resolvers.negotiation import GRAPH_TYPES, negotiate, not_acceptable

__all__ = ["service_description"]

_RESULT_FORMATS = (
    "SPARQL_Results_JSON",
    "SPARQL_Results_XML",
    "SPARQL_Results_CSV",
    "SPARQL_Results_TSV",
    "Turtle",
    "N-Triples",
    "RDF_XML",
    "JSON-LD",
)


def description_triples(endpoint: str) -> list[Triple]:
    """The description of the endpoint at `endpoint`, as triples.

    >>> triples = description_triples("http://127.0.0.1:8000/sparql")
    >>> any(t.object == SD.UnionDefaultGraph for t in triples)
    True
    """
    service = BlankNode("service")
    dataset = BlankNode("dataset")
    graph = BlankNode("default_graph")
    triples = [
        Triple(service, RDF.type, SD.Service),
        Triple(service, SD.endpoint, NamedNode(endpoint)),
        Triple(service, SD.supportedLanguage, SD.SPARQL11Query),
        Triple(service, SD.supportedLanguage, SD.SPARQL11Update),
        Triple(service, SD.feature, SD.UnionDefaultGraph),
        Triple(
            service, SD.defaultEntailmentRegime, NamedNode("http://www.w3.org/ns/entailment/Simple")
        ),
        Triple(service, SD.defaultDataset, dataset),
        Triple(dataset, RDF.type, SD.Dataset),
        Triple(dataset, SD.defaultGraph, graph),
        Triple(graph, RDF.type, SD.Graph),
        Triple(
            service,
            NamedNode("http://purl.org/dc/terms/description"),
            Literal(
                f"ModelKG {__version__}: a knowledge-graph registry of machine-learning models. "
                "The default graph is the union of all named graphs; SERVICE and LOAD are refused; "
                "updates need the operator's bearer token."
            ),
        ),
    ]
    triples += [Triple(service, SD.resultFormat, FORMATS[name]) for name in _RESULT_FORMATS]
    return triples


def service_description(request: Request, endpoint: str) -> Response:
    """The description, in the RDF format the client accepts (Turtle by default)."""
    accept = request.headers.get("accept")
    media = negotiate(accept, list(GRAPH_TYPES))
    if media is None:
        raise not_acceptable("the service description", accept, list(GRAPH_TYPES))
    rdf_format = GRAPH_TYPES[media]
    body = serialize(
        description_triples(endpoint),
        format=rdf_format,
        prefixes={"sd": str(SD), "formats": str(FORMATS)}
        if rdf_format == RdfFormat.TURTLE
        else None,
    )
    return Response(body or b"", media_type=f"{media}; charset=utf-8", headers={"Vary": "Accept"})
