"""The libraries are ontology data a reader can trust: every term `libraries.ttl` uses is declared
in the TBox, every task it names is a Hub task of `tasks.ttl`, every hint pattern is a regular
expression SPARQL accepts, and every library has a label and at least one Hub id."""

from __future__ import annotations

import re

import pyoxigraph as ox

from ontology.files import CORE_FILE, LIBRARIES_FILE, TASKS_FILE

MKG = "https://w3id.org/modelkg/ontology#"
TASK = "https://huggingface.co/tasks/"


def _triples(path: object) -> list[ox.Triple]:
    return list(ox.parse(path=str(path), format=ox.RdfFormat.TURTLE))


def _value(term: object) -> str:
    assert isinstance(term, ox.NamedNode | ox.Literal), term
    return term.value


def test_every_term_the_libraries_use_is_declared_in_the_core() -> None:
    declared = {
        str(t.subject.value) for t in _triples(CORE_FILE) if isinstance(t.subject, ox.NamedNode)
    }
    used = set()
    for triple in _triples(LIBRARIES_FILE):
        if triple.predicate.value.startswith(MKG):
            used.add(triple.predicate.value)
        if triple.predicate.value.endswith("#type") and isinstance(triple.object, ox.NamedNode):
            used.add(triple.object.value)
        if triple.predicate.value == MKG + "hintProperty":
            used.add(_value(triple.object))

    assert used - declared == set()


def test_every_task_a_library_implies_is_a_hub_task() -> None:
    tasks = {
        TASK + _value(t.object) for t in _triples(TASKS_FILE) if t.predicate.value == MKG + "taskId"
    }
    named = {
        _value(t.object)
        for t in _triples(LIBRARIES_FILE)
        if t.predicate.value in {MKG + "libraryTask", MKG + "hintTask"}
    }

    assert named and named <= tasks


def test_every_hint_pattern_is_a_regular_expression() -> None:
    patterns = [
        _value(t.object)
        for t in _triples(LIBRARIES_FILE)
        if t.predicate.value == MKG + "hintPattern"
    ]

    assert patterns
    for pattern in patterns:
        re.compile(pattern)


def test_every_library_has_a_label_and_a_hub_id() -> None:
    store = ox.Store()
    store.extend(ox.Quad(t.subject, t.predicate, t.object) for t in _triples(LIBRARIES_FILE))
    missing = list(
        store.query(
            """PREFIX mkg: <https://w3id.org/modelkg/ontology#>
               PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
               SELECT ?library WHERE { ?library a mkg:Library
                 FILTER NOT EXISTS { ?library rdfs:label ?label ; mkg:libraryId ?id } }"""
        )
    )

    assert missing == []
