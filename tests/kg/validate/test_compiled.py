"""The compiled SHACL engine gives pyshacl's verdicts, only faster.

The story: ingest validates every model with `kg.validate.compiled` (SPARQL checks over a whole
batch), while `modelkg validate --engine pyshacl` runs the reference engine. A user must never
see a model accepted by one and rejected by the other, so here both engines judge every model of
the shared corpus, and a set of deliberately broken graphs: for each model the two engines find
the same focus nodes, paths, constraint components and severities. A shapes file using SHACL
the compiler does not implement is refused when it loads, rather than silently checked less
strictly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import pytest
from pyoxigraph import BlankNode, Literal, NamedNode, Quad, RdfFormat, parse, serialize

from kg.ingest.reader import read_source
from kg.ingest.sources import discover
from kg.iris import IriMinter
from kg.store.model_graph import ModelGraph
from kg.validate.compiled import CompiledShapes, UnsupportedShapeError, compile_shapes
from kg.validate.pyshacl_engine import validate_with_pyshacl
from kg.validate.report import ValidationResult, verdict_key
from ontology.files import SHAPES_GRAPH, shapes_quads
from ontology.namespaces import MKG, RDF, SCHEMA, XSD
from tests.conftest import CORPUS, corpus_folder

CORPUS_MODELS = sorted(
    p.name
    for p in (CORPUS.iterdir() if CORPUS.is_dir() else ())
    if (p / "PROVENANCE.json").is_file()
)
"""Every model folder of the shared corpus (`org__name`)."""


def verdicts(results: list[ValidationResult]) -> set[tuple[str | None, ...]]:
    return {verdict_key(result) for result in results}


def read_model(hub_id: str) -> ModelGraph:
    (source,) = discover(str(corpus_folder(hub_id))).sources
    return read_source(source, IriMinter())


def with_quads(model: ModelGraph, quads: list[Quad]) -> ModelGraph:
    """`model` holding exactly `quads`."""
    return replace(
        model, nquads=serialize(quads, format=RdfFormat.N_QUADS) or b"", count=len(quads)
    )


@pytest.fixture(scope="module")
def corpus_graphs() -> dict[str, ModelGraph]:
    """Every corpus model read into its graph, by folder name."""
    found = discover(str(CORPUS))
    assert not found.problems, found.problems
    return {source.location.name: read_source(source, IriMinter()) for source in found.sources}


@pytest.fixture(scope="module")
def compiled_results(corpus_graphs: dict[str, ModelGraph]) -> dict[str, list[ValidationResult]]:
    """The compiled engine over the whole corpus in one batch, as ingest runs it."""
    names = list(corpus_graphs)
    results = CompiledShapes.load().validate([corpus_graphs[name] for name in names])
    return dict(zip(names, results, strict=True))


class Reference:
    """pyshacl's results per corpus model, computed on first use (~0.1 s a model)."""

    def __init__(self, graphs: dict[str, ModelGraph]) -> None:
        self.graphs = graphs
        self.results: dict[str, list[ValidationResult]] = {}

    def __call__(self, folder: str) -> list[ValidationResult]:
        if folder not in self.results:
            (self.results[folder],) = validate_with_pyshacl([self.graphs[folder]])
        return self.results[folder]


@pytest.fixture(scope="module")
def pyshacl_results(corpus_graphs: dict[str, ModelGraph]) -> Reference:
    return Reference(corpus_graphs)


def test_the_corpus_is_all_there(corpus: object, corpus_graphs: dict[str, ModelGraph]) -> None:
    assert sorted(corpus_graphs) == CORPUS_MODELS
    assert len(CORPUS_MODELS) > 100


@pytest.mark.parametrize("folder", CORPUS_MODELS)
def test_compiled_engine_agrees_with_pyshacl_on_the_corpus(
    folder: str,
    pyshacl_results: Reference,
    compiled_results: dict[str, list[ValidationResult]],
) -> None:
    assert verdicts(compiled_results[folder]) == verdicts(pyshacl_results(folder))


def test_an_unknown_model_type_is_a_warning_for_both_engines(
    pyshacl_results: Reference, compiled_results: dict[str, list[ValidationResult]]
) -> None:
    """falcon-40b says `"model_type": "RefinedWeb"`: ingested with a warning, not rejected."""
    for results in (compiled_results["tiiuae__falcon-40b"], pyshacl_results("tiiuae__falcon-40b")):
        assert [(r.component, r.severity, r.value) for r in results] == [
            ("SPARQLConstraintComponent", "Warning", '"RefinedWeb"')
        ]


# --- deliberately broken graphs ------------------------------------------------------------

GPT2 = "openai-community/gpt2"
CLIP = "openai/clip-vit-base-patch32"
CLASSIFIER = "nlptown/bert-base-multilingual-uncased-sentiment"
FINE_TUNE = "huggingface-course/marian-finetuned-kde4-en-to-fr"

Term = NamedNode | BlankNode | Literal


def set_object(
    predicate: NamedNode, new: Callable[[Term], Term], *, only_first: bool = False
) -> Callable[[ModelGraph], list[Quad]]:
    """A mutation replacing the object of `predicate` (on every subject, or the first one)."""

    def mutate(model: ModelGraph) -> list[Quad]:
        quads, done = [], False
        for quad in model.quads:
            if quad.predicate == predicate and not (only_first and done):
                assert isinstance(quad.object, NamedNode | BlankNode | Literal)
                quad = Quad(quad.subject, quad.predicate, new(quad.object), quad.graph_name)
                done = True
            quads.append(quad)
        assert done, f"{model.source.display} has no {predicate}"
        return quads

    return mutate


def on_model(predicate: NamedNode, value: Term) -> Callable[[ModelGraph], list[Quad]]:
    """A mutation setting the model's own `predicate` to `value` (not its parts')."""

    def mutate(model: ModelGraph) -> list[Quad]:
        kept = [
            q
            for q in model.quads
            if not (q.subject == model.model_iri and q.predicate == predicate)
        ]
        assert len(kept) < len(model.quads), f"{model.source.display} has no {predicate}"
        return [*kept, Quad(model.model_iri, predicate, value, model.graph_iri)]

    return mutate


def add_to_model(predicate: NamedNode, value: Term) -> Callable[[ModelGraph], list[Quad]]:
    def mutate(model: ModelGraph) -> list[Quad]:
        return [*model.quads, Quad(model.model_iri, predicate, value, model.graph_iri)]

    return mutate


def drop(predicate: NamedNode, *, only_first: bool = False) -> Callable[[ModelGraph], list[Quad]]:
    def mutate(model: ModelGraph) -> list[Quad]:
        matching = [q for q in model.quads if q.predicate == predicate]
        assert matching, f"{model.source.display} has no {predicate}"
        gone = set(matching[:1] if only_first else matching)
        return [q for q in model.quads if q not in gone]

    return mutate


def drop_type_of_parts(model: ModelGraph) -> list[Quad]:
    kept = [
        q for q in model.quads if not (q.predicate == RDF.type and q.object == MKG.ModelComponent)
    ]
    assert len(kept) < len(model.quads)
    return kept


def add_label(index: Literal) -> Callable[[ModelGraph], list[Quad]]:
    def mutate(model: ModelGraph) -> list[Quad]:
        label_set = next(q.object for q in model.quads if q.predicate == MKG.hasLabelSet)
        assert isinstance(label_set, NamedNode)
        label = NamedNode(f"{model.graph_iri.value}/labels/extra")
        g = model.graph_iri
        return [
            *model.quads,
            Quad(label_set, MKG.hasLabel, label, g),
            Quad(label, RDF.type, MKG.Label, g),
            Quad(label, MKG.labelIndex, index, g),
            Quad(label, MKG.labelName, Literal("UNKNOWN"), g),
        ]

    return mutate


@dataclass(frozen=True)
class Mutation:
    id: str
    hub_id: str
    mutate: Callable[[ModelGraph], list[Quad]]


MUTATIONS = [
    Mutation("hidden-size-negative", GPT2, on_model(MKG.hiddenSize, Literal(-5))),
    Mutation("hidden-size-plain-string", GPT2, on_model(MKG.hiddenSize, Literal("big"))),
    Mutation(
        "hidden-size-decimal",
        GPT2,
        on_model(MKG.hiddenSize, Literal("768.0", datatype=XSD.decimal)),
    ),
    Mutation(
        "hidden-size-ill-typed-integer",
        GPT2,
        on_model(MKG.hiddenSize, Literal("big", datatype=XSD.integer)),
    ),
    Mutation("hidden-size-over-the-cap", GPT2, on_model(MKG.hiddenSize, Literal(10**9))),
    Mutation("second-hidden-size", GPT2, add_to_model(MKG.hiddenSize, Literal(1024))),
    Mutation("part-with-zero-heads", CLIP, set_object(MKG.numAttentionHeads, lambda _: Literal(0))),
    Mutation("part-not-a-component", CLIP, drop_type_of_parts),
    Mutation("no-name", GPT2, drop(SCHEMA.name)),
    Mutation(
        "name-with-a-language-tag", GPT2, on_model(SCHEMA.name, Literal("gpt2", language="en"))
    ),
    Mutation("second-model-type", GPT2, add_to_model(MKG.modelType, Literal("bert"))),
    Mutation("model-type-a-number", GPT2, on_model(MKG.modelType, Literal(7))),
    Mutation("torch-dtype-float13", GPT2, on_model(MKG.torchDtype, Literal("float13"))),
    Mutation("hub-id-with-a-space", GPT2, on_model(MKG.hubId, Literal("openai community/gpt2"))),
    Mutation("hub-id-a-blank-node", GPT2, on_model(MKG.hubId, BlankNode())),
    Mutation("setting-without-source-key", GPT2, drop(MKG.sourceKey, only_first=True)),
    Mutation(
        "setting-effective-yes",
        GPT2,
        set_object(MKG.effective, lambda _: Literal("yes"), only_first=True),
    ),
    Mutation(
        "setting-of-unknown-concept",
        GPT2,
        set_object(MKG.concept, lambda _: MKG.shoeSize, only_first=True),
    ),
    Mutation(
        "setting-untyped-node", GPT2, add_to_model(MKG.hasSetting, NamedNode("urn:example:setting"))
    ),
    Mutation(
        "fine-tuned-from-a-literal",
        FINE_TUNE,
        set_object(MKG.fineTunedFrom, lambda o: Literal(o.value)),
    ),
    Mutation("label-index-minus-one", CLASSIFIER, add_label(Literal(-1))),
    Mutation("label-index-a-string", CLASSIFIER, add_label(Literal("5"))),
    Mutation("num-labels-zero", CLASSIFIER, on_model(MKG.numLabels, Literal(0))),
    Mutation("source-kind-ftp", GPT2, set_object(MKG.sourceKind, lambda _: Literal("ftp"))),
    Mutation(
        "source-digest-not-hex",
        GPT2,
        set_object(MKG.sourceDigest, lambda _: Literal("not-a-digest")),
    ),
    Mutation(
        "ingested-at-plain-string", GPT2, set_object(MKG.ingestedAt, lambda o: Literal(o.value))
    ),
]


@pytest.mark.parametrize("mutation", MUTATIONS, ids=[m.id for m in MUTATIONS])
def test_compiled_engine_agrees_with_pyshacl_on_broken_graphs(mutation: Mutation) -> None:
    original = read_model(mutation.hub_id)
    broken = with_quads(original, mutation.mutate(original))

    (reference,) = validate_with_pyshacl([broken])
    (compiled,) = CompiledShapes.load().validate([broken])

    assert reference, f"pyshacl found nothing wrong with {mutation.id}: the mutation is too gentle"
    assert verdicts(compiled) == verdicts(reference)


def test_a_broken_graph_does_not_leak_into_its_batch_neighbours() -> None:
    gpt2, clip, bert = (
        read_model(GPT2),
        read_model(CLIP),
        read_model("google-bert/bert-base-uncased"),
    )
    broken = with_quads(gpt2, on_model(MKG.hiddenSize, Literal(-5))(gpt2))

    results = CompiledShapes.load().validate([broken, clip, bert])

    assert [len(r) for r in results] == [1, 0, 0]


# --- shapes the compiler must refuse ------------------------------------------------------

SHAPES_PROLOGUE = """
@prefix mkg:    <https://w3id.org/modelkg/ontology#> .
@prefix mkgsh:  <https://w3id.org/modelkg/shapes#> .
@prefix schema: <https://schema.org/> .
@prefix sh:     <http://www.w3.org/ns/shacl#> .
"""

MODEL_SHAPE = "mkgsh:Extra a sh:NodeShape ; sh:targetClass mkg:Model ;"

UNSUPPORTED_SHAPES = {
    "sh:or": (
        f"{MODEL_SHAPE} sh:or ( [ sh:path schema:name ; sh:minCount 1 ] "
        "[ sh:path mkg:hubId ; sh:minCount 1 ] ) .",
        "shacl#or",
    ),
    "sh:qualifiedValueShape": (
        f"{MODEL_SHAPE} sh:property [ sh:path mkg:hasPart ; "
        "sh:qualifiedValueShape [ sh:class mkg:ModelComponent ] ; sh:qualifiedMinCount 1 ] .",
        "shacl#qualifiedValueShape",
    ),
    "sh:closed": (f"{MODEL_SHAPE} sh:closed true .", "shacl#closed"),
    "sh:targetSubjectsOf": (
        "mkgsh:Extra a sh:NodeShape ; sh:targetSubjectsOf mkg:hiddenSize ; "
        "sh:property [ sh:path mkg:hiddenSize ; sh:maxCount 1 ] .",
        "shacl#targetSubjectsOf",
    ),
    "sh:lessThanOrEquals": (
        f"{MODEL_SHAPE} sh:property [ sh:path mkg:numKeyValueHeads ; "
        "sh:lessThanOrEquals mkg:numAttentionHeads ] .",
        "shacl#lessThanOrEquals",
    ),
    "a sequence path": (
        f"{MODEL_SHAPE} sh:property [ sh:path ( mkg:hasPart mkg:hiddenSize ) ; sh:maxCount 2 ] .",
        "only IRI property paths",
    ),
    "sh:severity on a SPARQL constraint": (
        f"{MODEL_SHAPE} sh:sparql [ a sh:SPARQLConstraint ; sh:severity sh:Info ; "
        'sh:select "SELECT $this WHERE { $this mkg:hubId ?h }" ] .',
        "put it on the shape",
    ),
    "a property shape of its own": (
        "mkgsh:Extra a sh:PropertyShape ; sh:targetClass mkg:Model ; "
        "sh:path mkg:hubId ; sh:minCount 1 .",
        "Extra",
    ),
    "a shape known only by its target": (
        "mkgsh:Extra sh:targetClass mkg:Model ; "
        "sh:property [ sh:path mkg:hubId ; sh:minCount 1 ] .",
        "Extra",
    ),
}


def shapes_with(turtle: str) -> Callable[[], tuple[Quad, ...]]:
    """`shapes_quads` with the shapes of `turtle` added to the shapes graph."""
    extra = tuple(
        Quad(t.subject, t.predicate, t.object, SHAPES_GRAPH)
        for t in parse(SHAPES_PROLOGUE + turtle, format=RdfFormat.TURTLE)
    )
    return lambda: (*shapes_quads(), *extra)


def test_the_shipped_shapes_compile() -> None:
    checks = compile_shapes()
    assert len(checks) == len(CompiledShapes.load().checks) > 50


def test_an_extra_supported_shape_compiles_into_more_checks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    before = len(compile_shapes())
    monkeypatch.setattr(
        "kg.validate.compiled.shapes_quads",
        shapes_with(
            "mkgsh:Extra a sh:NodeShape ; sh:targetClass mkg:Model ; "
            "sh:property [ sh:path mkg:hubId ; sh:minCount 1 ] ."
        ),
    )
    assert len(compile_shapes()) == before + 1


@pytest.mark.parametrize(
    ("turtle", "named"), UNSUPPORTED_SHAPES.values(), ids=list(UNSUPPORTED_SHAPES)
)
def test_compiler_refuses_shacl_it_does_not_implement(
    turtle: str, named: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("kg.validate.compiled.shapes_quads", shapes_with(turtle))

    with pytest.raises(UnsupportedShapeError, match=named) as refused:
        compile_shapes()

    assert refused.value.path == "ontology/shapes.ttl"
