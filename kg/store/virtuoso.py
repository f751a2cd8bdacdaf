"""What Virtuoso needs that the standards do not: how ModelKG's terms and writes are kept
there, and how its answers are read back as the standard's (the README's table "Engines: where
Virtuoso departs from the standard" lists each departure; `tests/kg/store/test_virtuoso.py` shows
each on a real server). `kg.store.remote` calls these when the server it speaks to is Virtuoso.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TypeGuard

from pyoxigraph import (
    BlankNode,
    DefaultGraph,
    NamedNode,
    Quad,
    QueryResultsFormat,
    Triple,
    Variable,
    parse_query_results,
)
from pyoxigraph import Literal as RdfLiteral

from kg.store.base import Graph, Term
from kg.store.sparql_text import ntriples
from ontology.namespaces import RDF, XSD

__all__ = [
    "ASK_RETVAL",
    "BOOLEANS",
    "NAN_DATATYPE",
    "NAN_TEXT",
    "REIFY",
    "TRIPLE_IRI",
    "TRIPLE_JSON",
    "VIRTUOSO_BLOCK",
    "VIRTUOSO_GRAPHS",
    "VIRTUOSO_MAX_IRI",
    "VIRTUOSO_TEMPLATE",
    "is_triple_iri",
    "json_term",
    "quads_to_virtuoso",
    "replaced",
    "to_virtuoso",
    "triple_iri",
    "triples_in",
    "virtuoso_graph_read",
    "virtuoso_inserts",
    "virtuoso_json",
]

VIRTUOSO_GRAPHS = (
    NamedNode("http://www.openlinksw.com/schemas/virtrdf#"),
    NamedNode("http://www.w3.org/ns/ldp#"),
    NamedNode("http://localuriqaserver/sparql"),
)
"""The graphs a fresh Virtuoso holds for itself (its RDF views' metadata, the LDP vocabulary,
its service description): part of what its queries see, never of what ModelKG reads out
(`quads`: export, migrate)."""
VIRTUOSO_BLOCK = 500
"""Triples per INSERT DATA operation sent to Virtuoso: its SPARQL parser runs out of stack near
4,990 triples in one block ("SP030 ... memory exhausted"), and the SQL it makes of one operation
may not pass 10,000 lines ("SP031 ... exceeded 10000 lines of code"), which a few thousand
triples of many graphs reach."""
VIRTUOSO_TEMPLATE = 400
"""Triples per INSERT template (how Virtuoso takes blank nodes), whose generated SQL exceeds
Virtuoso's 10,000-line limit near 1,400 triples ("SP031 ... exceeded 10000 lines of code")."""


def virtuoso_graph_read(graph: NamedNode) -> str:
    """A query for a graph's triples as Virtuoso can give them whole: its serializations print
    a double with six significant digits ("54.0343"), its `sprintf` all seventeen."""
    return (
        f"SELECT ?s ?p ?o (IF(isLiteral(?o) && DATATYPE(?o) = {XSD.double}, "
        f"bif:sprintf('%.17g', ?o), ?none) AS ?digits) WHERE {{ GRAPH {graph} {{ ?s ?p ?o }} }}"
    )


ASK_RETVAL = Variable("__ASK_RETVAL")
"""The one variable of Virtuoso's answer to an ASK: a row when true, none when false, in place
of the SPARQL results' boolean."""
BOOLEANS = {
    answer: parse_query_results(f'{{"boolean":{str(answer).lower()}}}', QueryResultsFormat.JSON)
    for answer in (False, True)
}


VIRTUOSO_MAX_IRI = 1879
"""Virtuoso keeps an IRI's first 1,879 characters and drops the rest, silently."""
TRIPLE_IRI = "urn:modelkg:triple:"
"""How an RDF 1.2 triple term is kept on Virtuoso, which has none: as an IRI named by the
triple's digest (this prefix, then SHA-256 of its N-Triples), described in the same graph by
RDF reification (`rdf:subject`, `rdf:predicate`, `rdf:object`), and turned back into the
triple term in every answer. (Spelling the triple in the IRI itself would not do: a reason's
premise can hold a model's whole config, and Virtuoso cuts IRIs.)"""
NAN_DATATYPE = "urn:modelkg:nan:"
"""How a NaN double or float is kept on Virtuoso: with this before its datatype's IRI, turned
back in every answer. Virtuoso sorts NaN inconsistently, and after a few NaN doubles under one
predicate its quad index is broken for good: every later insert fails ("out of seg data")."""
_FLOATS = (XSD.double, XSD.float)
NAN_TEXT = re.compile(
    r"""["']\s*[+-]?nan\s*["']\s*\^\^\s*
        (?:xsd:(?:double|float)\b|<http://www\.w3\.org/2001/XMLSchema\#(?:double|float)>)""",
    re.IGNORECASE | re.VERBOSE,
)
"""A NaN double or float written in an update's text."""
REIFY = (RDF.subject, RDF.predicate, RDF.object)
TRIPLE_JSON = re.compile(
    rb'\{\s*"type"\s*:\s*"uri"\s*,\s*"value"\s*:\s*"('
    + re.escape(TRIPLE_IRI.encode())
    + rb'[0-9a-f]+)"\s*\}'
)


def triple_iri(triple: Triple) -> NamedNode:
    """The IRI a triple term is kept as on Virtuoso (`TRIPLE_IRI`).

    >>> triple_iri(Triple(NamedNode("urn:x:s"), NamedNode("urn:x:p"), RdfLiteral("a b"))).value
    'urn:modelkg:triple:404f983d338132d5e173fe7e3cc48415'
    """
    return NamedNode(TRIPLE_IRI + hashlib.sha256(str(triple).encode()).hexdigest()[:32])


def is_triple_iri(term: object) -> TypeGuard[NamedNode]:
    return isinstance(term, NamedNode) and term.value.startswith(TRIPLE_IRI)


def to_virtuoso(term: Term) -> Term:
    """`term` as Virtuoso can hold it: a triple term as its IRI (`TRIPLE_IRI`), a NaN double
    or float with its datatype marked (`NAN_DATATYPE`)."""
    if isinstance(term, Triple):
        return triple_iri(term)
    if isinstance(term, RdfLiteral) and term.datatype in _FLOATS and _is_nan(term.value):
        return RdfLiteral(term.value, datatype=NamedNode(NAN_DATATYPE + term.datatype.value))
    return term


def _is_nan(lexical: str) -> bool:
    return lexical.strip().lower() in ("nan", "+nan", "-nan")


def _unmarked(term: Term) -> Term:
    """A NaN literal read from Virtuoso with its own datatype again."""
    if isinstance(term, RdfLiteral) and term.datatype.value.startswith(NAN_DATATYPE):
        return RdfLiteral(term.value, datatype=NamedNode(term.datatype.value[len(NAN_DATATYPE) :]))
    return term


def quads_to_virtuoso(quads: Iterable[Quad]) -> list[Quad]:
    """`quads` as Virtuoso can hold them (`to_virtuoso`), each triple term's reification
    beside it in its graph."""
    kept: list[Quad] = []
    described: set[tuple[NamedNode, Graph]] = set()

    def held(term: Term, graph: Graph) -> Term:
        if not isinstance(term, Triple):
            return to_virtuoso(term)
        iri = triple_iri(term)
        if (iri, graph) not in described:
            described.add((iri, graph))
            for predicate, part in zip(REIFY, term, strict=True):
                kept.append(Quad(iri, predicate, held(part, graph), graph))
        return iri

    for quad in quads:
        graph = quad.graph_name
        assert isinstance(graph, NamedNode | DefaultGraph)
        subject, obj = held(quad.subject, graph), held(quad.object, graph)
        kept.append(Quad(subject, quad.predicate, obj, graph))  # type: ignore[arg-type]
    return kept


def triples_in(quads: Iterable[Quad]) -> tuple[list[Quad], dict[NamedNode, Triple]]:
    """Quads read from Virtuoso without the reifications `quads_to_virtuoso` added, and the
    triple terms those describe."""
    parts: dict[NamedNode, dict[NamedNode, Term]] = {}
    rest: list[Quad] = []
    for quad in quads:
        if is_triple_iri(quad.subject) and quad.predicate in REIFY:
            parts.setdefault(quad.subject, {})[quad.predicate] = quad.object
        else:
            rest.append(quad)
    triples: dict[NamedNode, Triple] = {}

    def resolve(term: Term) -> Term:
        if not is_triple_iri(term):
            return _unmarked(term)
        if term not in triples and len(found := parts.get(term, {})) == 3:
            subject, predicate, obj = (resolve(found[r]) for r in REIFY)
            triples[term] = Triple(subject, predicate, obj)  # type: ignore[arg-type]
        return triples.get(term, term)

    for iri in parts:
        resolve(iri)
    return rest, triples


def replaced(quad: Quad, triples: Mapping[NamedNode, Triple]) -> Quad:
    """`quad` with the triple IRIs `triples` knows as triple terms, NaN marks removed."""

    def back(term: Term) -> Term:
        return triples.get(term, term) if is_triple_iri(term) else _unmarked(term)

    return Quad(back(quad.subject), quad.predicate, back(quad.object), quad.graph_name)  # type: ignore[arg-type]


def json_term(term: Term) -> dict[str, object]:
    """A term as SPARQL 1.2 JSON results write it."""
    if isinstance(term, NamedNode):
        return {"type": "uri", "value": term.value}
    if isinstance(term, BlankNode):
        return {"type": "bnode", "value": term.value}
    if isinstance(term, Triple):
        parts = ("subject", "predicate", "object")
        return {
            "type": "triple",
            "value": {n: json_term(t) for n, t in zip(parts, term, strict=True)},
        }
    found: dict[str, object] = {"type": "literal", "value": term.value}
    if term.language:
        found["xml:lang"] = term.language
    elif term.datatype.value != XSD.string.value:
        found["datatype"] = term.datatype.value
    return found


_VIRTUOSO_FIXES = (
    (re.compile(rb'("type": "bnode", "value": ")nodeID://'), rb"\1"),
    (
        re.compile(rb'("datatype": "http://www.w3.org/2001/XMLSchema#boolean", "value": )"1"'),
        rb'\1"true"',
    ),
    (
        re.compile(rb'("datatype": "http://www.w3.org/2001/XMLSchema#boolean", "value": )"0"'),
        rb'\1"false"',
    ),
)


def virtuoso_json(content: bytes) -> bytes:
    """Virtuoso's JSON results as the standard writes them: a blank node `nodeID://b1` is
    `b1` (no valid label otherwise), a stored boolean `"1"` is `"true"`, a NaN's datatype is
    its own (`NAN_DATATYPE`). (Its XML results are right, but pyoxigraph's XML reader trims
    the spaces around a literal.) A JSON string holds no unescaped quote, so these patterns
    never match inside a value."""
    for pattern, replacement in _VIRTUOSO_FIXES:
        content = pattern.sub(replacement, content)
    return content.replace(b'"datatype": "' + NAN_DATATYPE.encode(), b'"datatype": "')


def virtuoso_inserts(quads: Sequence[Quad]) -> Iterator[str]:
    """The operations that insert `quads` (all in named graphs) into Virtuoso: INSERT DATA of
    `VIRTUOSO_BLOCK` triples without blank nodes, INSERT templates for the rest."""
    plain: dict[NamedNode, list[Quad]] = {}
    blank: dict[NamedNode, list[Quad]] = {}
    for quad in quads:
        graph = quad.graph_name
        assert isinstance(graph, NamedNode)
        has_blank = isinstance(quad.subject, BlankNode) or isinstance(quad.object, BlankNode)
        (blank if has_blank else plain).setdefault(graph, []).append(quad)
    for graph, group in plain.items():
        for start in range(0, len(group), VIRTUOSO_BLOCK):
            block = ntriples(group[start : start + VIRTUOSO_BLOCK])
            yield f"INSERT DATA {{ GRAPH {graph} {{\n{block}}} }}"
    for graph, group in blank.items():  # one graph per template: two make Virtuoso fail
        template: list[Quad] = []
        for component in _blank_components(group):
            if template and len(template) + len(component) > VIRTUOSO_TEMPLATE:
                yield f"INSERT {{ GRAPH {graph} {{\n{ntriples(template)}}} }} WHERE {{}}"
                template = []
            template.extend(component)
        if template:
            yield f"INSERT {{ GRAPH {graph} {{\n{ntriples(template)}}} }} WHERE {{}}"


def _blank_components(quads: Iterable[Quad]) -> list[list[Quad]]:
    """`quads` grouped so that the triples of connected blank nodes share a group."""
    parent: dict[BlankNode, BlankNode] = {}

    def root(node: BlankNode) -> BlankNode:
        while (up := parent.setdefault(node, node)) != node:
            node = up
        return node

    def nodes(quad: Quad) -> list[BlankNode]:
        return [t for t in (quad.subject, quad.object) if isinstance(t, BlankNode)]

    for quad in quads:
        first, *others = nodes(quad)
        for other in others:
            parent[root(other)] = root(first)
    groups: dict[BlankNode, list[Quad]] = {}
    for quad in quads:
        groups.setdefault(root(nodes(quad)[0]), []).append(quad)
    return list(groups.values())
