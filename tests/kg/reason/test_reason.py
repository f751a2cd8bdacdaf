"""Reasoning stories: facts derived by rules-as-data, each with its reason, kept current
incrementally, and a full rebuild that gives the same graph, on every store engine."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from pyoxigraph import QuerySolutions, Triple

from kg.ingest.pipeline import ingest
from kg.ingest.register import register
from kg.reason.explain import explain
from kg.reason.rules import RuleError, parse_rule
from kg.reason.run import reason
from kg.store import ModelStore
from tests.conftest import corpus_folder

MODELS = ["google/medgemma-27b-it", "google/gemma-3-27b-pt", "openai-community/gpt2"]
LINEAGE = ("salmanahmad5962-sketch/Fruit-Vision-Ai", "microsoft/resnet-50")
"""a fine-tune and its base, both in the corpus"""


def _inferred(store: ModelStore) -> list[str]:
    return sorted(str(q) for q in store.quads() if "/graph/inferred/" in str(q.graph_name))


@pytest.fixture
def registry(any_store: ModelStore) -> ModelStore:
    """Three corpus models in a fresh store of each engine."""
    folders = [corpus_folder(m) for m in MODELS if corpus_folder(m).is_dir()]
    summary = ingest([str(f) for f in folders], any_store)
    assert not summary.rejected
    return any_store


def test_the_card_pipeline_tag_becomes_a_task_with_its_reason(registry: ModelStore) -> None:
    reason(registry)

    facts = {str(e.fact.predicate): e for e in explain(registry, "google/medgemma-27b-it")}
    task = facts["<https://w3id.org/modelkg/ontology#performsTask>"]
    assert task.fact.object.value == "https://huggingface.co/tasks/image-text-to-text"
    assert task.rule == "task-from-pipeline-tag"
    assert [p.triple.predicate.value for p in task.premises] == [
        "https://w3id.org/modelkg/ontology#pipelineTag"
    ]


def test_a_default_names_the_file_and_key_it_rests_on(registry: ModelStore) -> None:
    reason(registry)

    kv = [e for e in explain(registry, "openai-community/gpt2") if e.rule == "kv-heads-default"]
    assert kv and kv[0].fact.object.value == "12"
    assert (kv[0].premises[0].source_file, kv[0].premises[0].source_key) == (
        "config.json",
        "n_head",
    )


def test_reasoning_again_changes_nothing_and_full_gives_the_same_graph(
    registry: ModelStore,
) -> None:
    first = reason(registry)
    incremental = _inferred(registry)
    again = reason(registry)
    assert again.derived == 0 and again.unchanged == first.derived

    full = reason(registry, full=True)
    assert full.derived == first.derived
    assert _inferred(registry) == incremental


def test_reingesting_one_model_rederives_only_it(registry: ModelStore, tmp_path: Path) -> None:
    reason(registry)
    folder = tmp_path / "gpt2"
    shutil.copytree(corpus_folder("openai-community/gpt2"), folder)
    (folder / "config.json").chmod(0o644)
    config = (folder / "config.json").read_text().replace('"n_head": 12', '"n_head": 16')
    (folder / "config.json").write_text(config)
    ingest([str(folder)], registry)

    summary = reason(registry)

    assert summary.models == ["https://huggingface.co/openai-community/gpt2"]
    kv = [e for e in explain(registry, "openai-community/gpt2") if e.rule == "kv-heads-default"]
    assert kv[0].fact.object.value == "16"


def test_an_ingest_writes_each_model_with_its_inferences_as_reason_would(
    any_store: ModelStore,
) -> None:
    """Derived before the write, in the same write: a reader never sees a model without its
    inferred facts, and they are what `reason` would derive (nothing left stale)."""
    folders = [str(corpus_folder(m)) for m in (*LINEAGE, "openai-community/gpt2")]
    summary = ingest(folders, any_store, derive=True)
    assert len(summary.settled) == 3
    written = _inferred(any_store)

    again = reason(any_store)
    assert (again.derived, again.unchanged) == (0, 3)
    reason(any_store, full=True)
    assert _inferred(any_store) == written


@pytest.mark.parametrize("first", ["the fine-tune first", "its base first"])
def test_a_fine_tune_and_its_base_registered_apart_are_derived_with_each_other(
    any_store: ModelStore, first: str
) -> None:
    """A base written in another ingest than its fine-tune is seen all the same: the
    fine-tune is derived again when its base arrives, or derived with it when it is there."""
    tune, base = LINEAGE
    order = [tune, base] if first == "the fine-tune first" else [base, tune]
    for hub_id in order:
        register([str(corpus_folder(hub_id))], any_store, size=False)
    registered = _inferred(any_store)

    assert reason(any_store).derived == 0  # nothing stale
    reason(any_store, full=True)
    assert _inferred(any_store) == registered


def test_a_model_registered_again_after_a_change_keeps_no_stale_inference(
    any_store: ModelStore, tmp_path: Path
) -> None:
    folder = tmp_path / "gpt2"
    shutil.copytree(corpus_folder("openai-community/gpt2"), folder)
    (folder / "config.json").chmod(0o644)
    register([str(folder)], any_store, size=False)
    config = (folder / "config.json").read_text().replace('"n_head": 12', '"n_head": 16')
    (folder / "config.json").write_text(config)

    done = register([str(folder)], any_store, size=False)

    assert done.ingest.updated == ["openai-community/gpt2"]
    kv = [e for e in explain(any_store, "openai-community/gpt2") if e.rule == "kv-heads-default"]
    assert [e.fact.object.value for e in kv] == ["16"]
    assert reason(any_store).derived == 0


def test_a_rule_with_a_syntax_error_fails_loudly_with_file_and_line(tmp_path: Path) -> None:
    broken = tmp_path / "broken.rq"
    broken.write_text("CONSTRUCT {\n  ?s ?p ?o \n} WHERE {\n  ?s ?p \n}")

    with pytest.raises(RuleError, match=r"line \d+, column \d+") as caught:
        parse_rule(broken)
    assert str(broken) in str(caught.value)


def test_a_rule_that_writes_is_refused(tmp_path: Path) -> None:
    writer = tmp_path / "writer.rq"
    writer.write_text("INSERT DATA { GRAPH <urn:g> { <urn:a> <urn:b> <urn:c> } }")

    with pytest.raises(RuleError, match="may only CONSTRUCT"):
        parse_rule(writer)


def test_every_inferred_fact_has_a_reason(registry: ModelStore) -> None:
    reason(registry)

    facts = registry.query(
        """SELECT ?s ?p ?o ?g WHERE {
            GRAPH ?g { ?s ?p ?o }
            FILTER(CONTAINS(STR(?g), "/graph/inferred/"))
            FILTER(?p NOT IN (mkg:describes, mkg:derivedFromDigest, mkg:graphKind, mkg:rule,
                              mkg:concludes, mkg:premise,
                              rdf:subject, rdf:predicate, rdf:object))  # Virtuoso's triple terms
            FILTER(!(?p = rdf:type && ?o = mkg:Inference))
        }"""
    )
    reasons = registry.query(  # not `<<( ?s ?p ?o )>>` in the query: Virtuoso has no triple terms
        "SELECT ?fact ?g WHERE { GRAPH ?g { ?why mkg:concludes ?fact } }"
    )
    assert isinstance(facts, QuerySolutions) and isinstance(reasons, QuerySolutions)
    concluded = {(row["fact"], row["g"]) for row in reasons}
    unexplained = [
        row for row in facts if (Triple(row["s"], row["p"], row["o"]), row["g"]) not in concluded
    ]
    assert concluded
    assert unexplained == []
