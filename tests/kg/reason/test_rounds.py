"""A round of reasoning runs only the rules whose answer the last round's facts could change
(`Rule.reads`, from the parser's algebra): fewer queries, and exactly the facts and reasons of
running every rule in every round."""

from __future__ import annotations

from pathlib import Path

import pytest
from pyoxigraph import Store

from kg.ingest.reader import read_source_with_quads
from kg.ingest.sources import discover_all
from kg.iris import IriMinter
from kg.reason.engine import Derivation, ModelFacts, Reasoner
from kg.reason.rules import load_rules, parse_rule
from tests.conftest import CORPUS

EXTRA = CORPUS.parent / "hf-extra"


@pytest.fixture(scope="module")
def corpus_facts(corpus: Path) -> list[ModelFacts]:
    """Every model of both corpora, read as an ingest worker reads them."""
    ids = IriMinter.from_environment()
    facts = []
    for source in discover_all([str(corpus), str(EXTRA)]).sources:
        graph, quads = read_source_with_quads(source, ids)
        facts.append(ModelFacts(graph.model_iri, graph.graph_iri, graph.digest, tuple(quads)))
    return facts


def _by_model(derivations: list[Derivation]) -> dict[str, list[str]]:
    return {d.model_iri.value: sorted(str(q) for q in d.quads) for d in derivations}


def test_running_only_the_touched_rules_concludes_what_running_them_all_does(
    corpus_facts: list[ModelFacts], monkeypatch: pytest.MonkeyPatch
) -> None:
    every, touched = Reasoner(every_rule_every_round=True), Reasoner()
    original = Store.query

    chunks = [corpus_facts[i : i + 64] for i in range(0, len(corpus_facts), 64)]
    plain = [d for chunk in chunks for d in every.derive(chunk)]
    counted = 0

    def counting(store: Store, *args: object, **kwargs: object) -> object:
        nonlocal counted
        counted += 1
        return original(store, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Store, "query", counting)
    fewer = [d for chunk in chunks for d in touched.derive(chunk)]
    monkeypatch.undo()

    assert _by_model(fewer) == _by_model(plain)
    assert sum(d.facts for d in fewer) > len(corpus_facts)  # the corpus does infer
    rounds = len(chunks) * sum(1 for rule in load_rules() if rule.stratum == 0)
    assert rounds <= counted < 2 * rounds  # every rule in the first round, a few after


@pytest.mark.parametrize(
    ("where", "predicates", "classes", "anything"),
    [
        ("?m a mkg:Model ; mkg:performsTask ?t", {"performsTask"}, {"Model"}, False),
        ("?m mkg:labelSet/mkg:hasLabel* ?l", {"labelSet", "hasLabel"}, set(), False),
        ("?m a mkg:Model FILTER NOT EXISTS { ?m mkg:pipelineTag ?x }", {"pipelineTag"},
         {"Model"}, False),
        ("?m ?p ?o", set(), set(), True),
        ("?m !mkg:x ?o", set(), set(), True),
        ("?m a ?class", {"type"}, set(), False),
    ],
)  # fmt: skip
def test_a_rule_knows_what_its_where_reads_and_not_what_it_concludes(
    tmp_path: Path, where: str, predicates: set[str], classes: set[str], anything: bool
) -> None:
    path = tmp_path / "probe.rq"
    path.write_text(
        "PREFIX mkg: <https://w3id.org/modelkg/ontology#>\n"
        f"CONSTRUCT {{ ?m mkg:concluded true }} WHERE {{ {where} }}\n"
    )

    reads = parse_rule(path).reads

    def local(iris: frozenset[str]) -> set[str]:
        return {iri.rsplit("#", 1)[-1] for iri in iris}

    assert (local(reads.predicates), local(reads.classes), reads.any) == (
        predicates,
        classes,
        anything,
    )


def test_a_rule_the_analyzer_cannot_read_runs_every_round(tmp_path: Path) -> None:
    """The engine takes 80 nested groups; the analyzer's bounds (64) refuse them: the rule
    still loads, taken to read anything."""
    path = tmp_path / "deep.rq"
    where = "{ " * 80 + "?m a mkg:Model" + " }" * 80
    path.write_text(
        "PREFIX mkg: <https://w3id.org/modelkg/ontology#>\n"
        f"CONSTRUCT {{ ?m mkg:concluded true }} WHERE {where}\n"
    )

    assert parse_rule(path).reads.any
