"""ModelKG knows, for every HuggingFace Hub task, what it consumes and produces.

The story: a platform engineer asks "which of my models take audio and give text?". The registry
answers from ontology/tasks.ttl: Whisper's architecture sits in transformers' speech seq2seq auto
mapping, that mapping implies automatic-speech-recognition, and that task consumes Audio and
produces GeneratedText. The taxonomy is hand-written (the Hub's task list is not in any library
ModelKG installs, and transformers 5's pipelines lack question-answering, summarization,
translation, ...), so these tests hold it to what transformers does know: its pipeline tasks and
aliases, and the auto mappings of the generated catalog.
"""

from __future__ import annotations

import re
import shutil
from collections import defaultdict
from pathlib import Path

import pyoxigraph as ox
import pytest
import rdflib
from transformers import pipelines

from ontology.files import CATALOG_FILE, CORE_FILE, ONTOLOGY_DIR, PARAMETERS_FILE

TASKS_FILE = ONTOLOGY_DIR / "tasks.ttl"
HUB = "https://huggingface.co/tasks/"
MKG = "https://w3id.org/modelkg/ontology#"
MKGM = "https://w3id.org/modelkg/catalog/auto-mapping/"
OWL = "http://www.w3.org/2002/07/owl#"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
RDFS_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
RDFS_COMMENT = "http://www.w3.org/2000/01/rdf-schema#comment"
PROLOGUE = f"""
PREFIX mkg:  <{MKG}>
PREFIX mkgm: <{MKGM}>
PREFIX mkga: <https://w3id.org/modelkg/catalog/architecture/>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX owl:  <{OWL}>
"""

HUB_TASKS = {
    # The Hub's tasks (huggingface.js packages/tasks/src/pipelines.ts, minus its catch-all
    # "other" and the "biology" tag, which name no inputs or outputs).
    "text-classification", "token-classification", "table-question-answering",
    "question-answering", "zero-shot-classification", "translation", "summarization",
    "feature-extraction", "text-generation", "text2text-generation", "fill-mask",
    "sentence-similarity", "text-to-speech", "text-to-audio", "automatic-speech-recognition",
    "audio-to-audio", "audio-classification", "voice-activity-detection", "depth-estimation",
    "image-classification", "object-detection", "image-segmentation", "text-to-image",
    "image-to-text", "image-to-image", "image-to-video", "unconditional-image-generation",
    "video-classification", "reinforcement-learning", "robotics", "tabular-classification",
    "tabular-regression", "tabular-to-text", "table-to-text", "multiple-choice", "text-ranking",
    "text-retrieval", "time-series-forecasting", "text-to-video", "image-text-to-text",
    "visual-question-answering", "document-question-answering", "zero-shot-image-classification",
    "graph-ml", "mask-generation", "zero-shot-object-detection", "text-to-3d", "image-to-3d",
    "image-feature-extraction", "video-text-to-text", "keypoint-detection",
    "visual-document-retrieval", "any-to-any", "audio-text-to-text", "image-text-to-image",
    "image-text-to-video", "video-to-video",
}  # fmt: skip

CATEGORIES = {"nlp", "vision", "audio", "multimodal", "tabular", "rl", "other"}

TRANSFORMERS_ONLY = {
    # transformers pipeline tasks that are no Hub task, so no mkg:Task here.
    "decision": "answers typed questions about a state (a transformers 5 pipeline); the Hub "
    "has no such task",
    "keypoint-matching": "matches keypoints between two images; the Hub has only "
    "keypoint-detection",
    "zero-shot-audio-classification": "CLAP-style audio classification against text labels; "
    "the Hub has no such task",
}

NOT_IMPLIED = {
    # (auto mapping, pipeline task) pairs of the catalog with no mkg:impliesTask, and why.
    ("MODEL", "feature-extraction"): "AutoModel is the bare model of every modality; text "
    "encoders get feature-extraction from MODEL_FOR_TEXT_ENCODING",
    ("MODEL", "image-feature-extraction"): "AutoModel is the bare model of every modality; "
    "vision models get image-feature-extraction from MODEL_FOR_IMAGE",
    ("MODEL", "zero-shot-audio-classification"): "transformers-only task, and AutoModel",
    ("MODEL_FOR_SEQUENCE_CLASSIFICATION", "zero-shot-classification"): "only classifiers "
    "trained on natural language inference can classify zero-shot; a sentiment model cannot",
    ("MODEL_FOR_CAUSAL_LM", "decision"): "transformers-only task",
    ("MODEL_FOR_IMAGE_TEXT_TO_TEXT", "decision"): "transformers-only task",
    ("MODEL_FOR_DECISION", "decision"): "transformers-only task",
    ("MODEL_FOR_KEYPOINT_MATCHING", "keypoint-matching"): "transformers-only task",
}

NO_HUB_TASK = {
    # Auto mappings that imply no Hub task at all (the list closing tasks.ttl).
    "MODEL": "the bare model of every modality: its task depends on the model's modality",
    "MODEL_FOR_PRETRAINING": "pre-training heads",
    "MODEL_FOR_NEXT_SENTENCE_PREDICTION": "a pre-training objective",
    "MODEL_FOR_MASKED_IMAGE_MODELING": "a pre-training objective",
    "MODEL_FOR_BACKBONE": "feature maps for a detection or segmentation head, a part of a model",
    "MODEL_FOR_AUDIO_FRAME_CLASSIFICATION": "a label per audio frame (diarization)",
    "MODEL_FOR_AUDIO_XVECTOR": "speaker embeddings for verification",
    "MODEL_FOR_IMAGE_MATTING": "an alpha matte from an image and a trimap",
    "MODEL_FOR_NORMAL_ESTIMATION": "surface normals per pixel",
    "MODEL_FOR_KEYPOINT_MATCHING": "transformers-only keypoint-matching",
    "MODEL_FOR_DECISION": "transformers-only decision",
    "MODEL_FOR_TIME_SERIES_CLASSIFICATION": "the Hub has only time-series forecasting",
    "MODEL_FOR_TIME_SERIES_REGRESSION": "the Hub has only time-series forecasting",
}

OWL_KINDS = {
    f"{OWL}Class": "class",
    f"{OWL}ObjectProperty": "object property",
    f"{OWL}DatatypeProperty": "datatype property",
    f"{OWL}AnnotationProperty": "annotation property",
}


def load(*paths: Path) -> ox.Store:
    store = ox.Store()
    for path in paths:
        store.load(path=str(path), format=ox.RdfFormat.TURTLE)
    return store


@pytest.fixture(scope="module")
def tasks() -> ox.Store:
    """tasks.ttl alone."""
    return load(TASKS_FILE)


@pytest.fixture(scope="module")
def ontology() -> ox.Store:
    """tasks.ttl with the TBox and the catalog, as a store holds them."""
    return load(CORE_FILE, PARAMETERS_FILE, CATALOG_FILE, TASKS_FILE)


def rows(store: ox.Store, query: str) -> list[tuple[str, ...]]:
    """A SELECT's rows as tuples of plain values (IRIs and literals)."""
    solutions = store.query(PROLOGUE + query)
    assert isinstance(solutions, ox.QuerySolutions)
    names = [variable.value for variable in solutions.variables]
    found: list[tuple[str, ...]] = []
    for solution in solutions:
        terms = [solution[name] for name in names]
        found.append(
            tuple(t.value if isinstance(t, ox.NamedNode | ox.Literal) else "" for t in terms)
        )
    return found


def column(store: ox.Store, query: str) -> set[str]:
    return {row[0] for row in rows(store, query)}


def task_ids(store: ox.Store) -> set[str]:
    return column(store, "SELECT ?id WHERE { ?t a mkg:Task ; mkg:taskId ?id }")


def slug(kind_iri: str) -> str:
    """LabelSet -> label-set: the {kind} of a data-type node's fragment."""
    local = kind_iri.removeprefix(MKG)
    return re.sub(r"(?<=[a-z])(?=[A-Z])", "-", local).lower()


def kinds_of(store: ox.Store, task_id: str, direction: str) -> set[str]:
    """The data kinds a task consumes or produces, as local names."""
    found = column(
        store,
        f"SELECT ?kind WHERE {{ <{HUB}{task_id}> mkg:{direction} ?node ."
        " ?node mkg:dataKind ?kind }",
    )
    return {kind.removeprefix(MKG) for kind in found}


# --- The file -----------------------------------------------------------------------------------


def test_tasks_ttl_reads_the_same_in_pyoxigraph_and_rdflib() -> None:
    oxigraph = {str(t) for t in ox.parse(path=str(TASKS_FILE), format=ox.RdfFormat.TURTLE)}
    graph = rdflib.Graph().parse(TASKS_FILE, format="turtle")
    assert len(oxigraph) == len(graph) > 500


def test_every_task_is_named_by_its_hub_page(tasks: ox.Store) -> None:
    found = rows(
        tasks, "SELECT ?task ?id WHERE { ?task a mkg:Task . OPTIONAL { ?task mkg:taskId ?id } }"
    )
    ids: dict[str, list[str]] = defaultdict(list)
    for task, task_id in found:
        ids[task].append(task_id)
    assert {task: values for task, values in ids.items() if len(values) != 1} == {}
    assert {task: values[0] for task, values in ids.items() if task != HUB + values[0]} == {}


def test_every_task_has_a_label_a_category_inputs_and_outputs(tasks: ox.Store) -> None:
    found = rows(
        tasks,
        """SELECT ?id (COUNT(DISTINCT ?label) AS ?labels) (COUNT(DISTINCT ?comment) AS ?comments)
                  (SAMPLE(?category) AS ?cat) (COUNT(DISTINCT ?category) AS ?categories)
                  (COUNT(DISTINCT ?in) AS ?ins) (COUNT(DISTINCT ?out) AS ?outs)
           WHERE { ?t a mkg:Task ; mkg:taskId ?id .
                   OPTIONAL { ?t rdfs:label ?label } OPTIONAL { ?t rdfs:comment ?comment }
                   OPTIONAL { ?t mkg:taskCategory ?category }
                   OPTIONAL { ?t mkg:consumes ?in } OPTIONAL { ?t mkg:produces ?out } }
           GROUP BY ?id""",
    )
    assert len(found) == len(HUB_TASKS)
    for task_id, labels, comments, category, categories, ins, outs in found:
        assert (labels, comments, categories) == ("1", "1", "1"), task_id
        assert category in CATEGORIES, task_id
        assert int(ins) >= 1 and int(outs) >= 1, task_id


def test_every_input_and_output_has_one_declared_data_kind(tasks: ox.Store) -> None:
    found = rows(
        tasks,
        """SELECT ?task ?direction ?node (COUNT(DISTINCT ?kind) AS ?kinds) (SAMPLE(?kind) AS ?one)
                  (SAMPLE(?declared) AS ?is_declared) (SAMPLE(?typed) AS ?is_typed)
           WHERE { VALUES ?direction { mkg:consumes mkg:produces }
                   ?task a mkg:Task ; ?direction ?node .
                   OPTIONAL { ?node mkg:dataKind ?kind .
                              BIND(EXISTS { VALUES ?class { mkg:Modality mkg:DataKind }
                                            ?kind a ?class } AS ?declared) }
                   BIND(EXISTS { ?node a mkg:DataType } AS ?typed) }
           GROUP BY ?task ?direction ?node""",
    )
    assert len(found) > 2 * len(HUB_TASKS)
    for task, direction, node, kinds, kind, declared, typed in found:
        assert kinds == "1", f"{node} has {kinds} data kinds"
        assert declared == "true", f"{node}: {kind} is neither a mkg:Modality nor a mkg:DataKind"
        assert typed == "true", f"{node} is not a mkg:DataType"
        side = "input" if direction.endswith("consumes") else "output"
        assert node == f"{task}#{side}-{slug(kind)}", "data-type nodes are <task#input-kind>"


def test_every_data_kind_is_described(ontology: ox.Store) -> None:
    found = rows(
        ontology,
        """SELECT ?kind (COUNT(DISTINCT ?label) AS ?labels) (COUNT(DISTINCT ?comment) AS ?comments)
           WHERE { VALUES ?class { mkg:Modality mkg:DataKind } ?kind a ?class .
                   OPTIONAL { ?kind rdfs:label ?label } OPTIONAL { ?kind rdfs:comment ?comment } }
           GROUP BY ?kind""",
    )
    assert {kind.removeprefix(MKG) for kind, *_ in found} >= {
        "Text", "Image", "Audio", "Video", "Tabular", "Document", "Tokens", "Embedding",
        "LabelSet", "TokenLabels", "Span", "BoundingBoxes", "SegmentationMask", "DepthMap",
        "GeneratedText", "Score", "Keypoints", "Mask", "Speech",
    }  # fmt: skip
    assert [kind for kind, labels, comments in found if (labels, comments) != ("1", "1")] == []


def test_modalities_are_the_six_raw_media(tasks: ox.Store) -> None:
    modalities = column(tasks, "SELECT ?m WHERE { ?m a mkg:Modality }")
    assert {m.removeprefix(MKG) for m in modalities} == {
        "Text", "Image", "Audio", "Video", "Tabular", "Document",
    }  # fmt: skip


# --- What the Hub and transformers know ---------------------------------------------------------


def test_every_hub_task_is_known(tasks: ox.Store) -> None:
    assert task_ids(tasks) == HUB_TASKS


def test_the_tasks_transformers_5_dropped_are_here(tasks: ox.Store) -> None:
    """question-answering, summarization, translation and text2text-generation are Hub tasks
    that transformers 5's pipelines no longer list; ModelKG still knows them."""
    assert {"question-answering", "summarization", "translation", "text2text-generation"} <= (
        task_ids(tasks)
    )
    assert kinds_of(tasks, "question-answering", "produces") == {"Span"}
    for specialised in ("summarization", "translation"):
        assert column(tasks, f"SELECT ?b WHERE {{ <{HUB}{specialised}> mkg:broader ?b }}") == {
            HUB + "text2text-generation"
        }
        assert kinds_of(tasks, specialised, "produces") == {"GeneratedText"}


def test_every_transformers_pipeline_task_is_known(tasks: ox.Store) -> None:
    names = task_ids(tasks) | column(tasks, "SELECT ?alias WHERE { ?t skos:altLabel ?alias }")
    supported = set(pipelines.SUPPORTED_TASKS)
    assert supported - names - set(TRANSFORMERS_ONLY) == set()
    assert set(TRANSFORMERS_ONLY) <= supported, "prune TRANSFORMERS_ONLY: transformers dropped it"
    assert set(TRANSFORMERS_ONLY).isdisjoint(names), "a Hub task now: drop it from the allow-list"


def test_transformers_aliases_lead_to_their_task(tasks: ox.Store) -> None:
    """sentiment-analysis is text-classification; text-to-speech is a Hub task of its own that
    transformers folds into text-to-audio, so here it is the narrower task."""
    for alias, target in pipelines.TASK_ALIASES.items():
        as_alias = column(tasks, f'SELECT ?t WHERE {{ ?t skos:altLabel "{alias}" }}')
        as_narrower = column(tasks, f"SELECT ?b WHERE {{ <{HUB}{alias}> mkg:broader ?b }}")
        assert HUB + target in as_alias | as_narrower, alias


def test_aliases_are_unambiguous(tasks: ox.Store) -> None:
    aliases = rows(tasks, "SELECT ?alias ?t WHERE { ?t skos:altLabel ?alias }")
    names = [alias for alias, _ in aliases]
    assert len(names) == len(set(names))
    assert set(names).isdisjoint(task_ids(tasks))


# --- Auto mappings -> tasks ---------------------------------------------------------------------


def test_every_pipeline_task_of_an_auto_mapping_is_implied(ontology: ox.Store) -> None:
    pairs = rows(
        ontology,
        """SELECT ?mapping ?task (EXISTS { ?mapping mkg:impliesTask ?implied .
                                          ?implied mkg:taskId ?task } AS ?implies)
           WHERE { ?mapping a mkg:AutoMapping ; mkg:pipelineTask ?task }""",
    )
    assert pairs, "the catalog lists pipeline tasks"
    missing = {
        (mapping.removeprefix(MKGM), task)
        for mapping, task, implies in pairs
        if implies != "true" and (mapping.removeprefix(MKGM), task) not in NOT_IMPLIED
    }
    assert missing == set()
    stale = set(NOT_IMPLIED) - {(m.removeprefix(MKGM), t) for m, t, _ in pairs}
    assert stale == set(), "prune NOT_IMPLIED: the catalog no longer pairs these"


def test_mkg_implies_task_links_catalog_mappings_to_tasks(ontology: ox.Store) -> None:
    links = rows(
        ontology,
        """SELECT ?mapping ?task (EXISTS { ?mapping a mkg:AutoMapping } AS ?in_catalog)
                  (EXISTS { ?task a mkg:Task } AS ?is_task)
           WHERE { ?mapping mkg:impliesTask ?task }""",
    )
    assert [
        (m, t) for m, t, in_catalog, is_task in links if (in_catalog, is_task) != ("true", "true")
    ] == []
    mappings = column(ontology, "SELECT ?m WHERE { ?m a mkg:AutoMapping }")
    unlinked = {m.removeprefix(MKGM) for m in mappings} - {m.removeprefix(MKGM) for m, *_ in links}
    assert unlinked == set(NO_HUB_TASK)


def test_whisper_transcribes_audio_into_text(ontology: ox.Store) -> None:
    """The user's question, end to end: Whisper's head implies speech recognition, which takes
    audio and gives text."""
    tasks = column(
        ontology,
        """SELECT ?task WHERE { mkga:WhisperForConditionalGeneration mkg:autoMapping ?mapping .
                                ?mapping mkg:impliesTask ?task }""",
    )
    assert tasks == {HUB + "automatic-speech-recognition"}
    assert (
        column(ontology, "SELECT ?t WHERE { mkgm:MODEL_FOR_SPEECH_SEQ_2_SEQ mkg:impliesTask ?t }")
        == tasks
    )
    assert kinds_of(ontology, "automatic-speech-recognition", "consumes") == {"Audio"}
    assert kinds_of(ontology, "automatic-speech-recognition", "produces") == {"GeneratedText"}


def test_a_seq2seq_model_is_a_text2text_generator_not_a_summarizer(ontology: ox.Store) -> None:
    implied = column(
        ontology, "SELECT ?t WHERE { mkgm:MODEL_FOR_SEQ_TO_SEQ_CAUSAL_LM mkg:impliesTask ?t }"
    )
    assert implied == {HUB + "text2text-generation"}


def test_classifiers_give_labels_and_embedders_give_vectors(tasks: ox.Store) -> None:
    assert kinds_of(tasks, "text-classification", "produces") == {"LabelSet"}
    assert kinds_of(tasks, "feature-extraction", "produces") == {"Embedding"}
    assert kinds_of(tasks, "image-feature-extraction", "consumes") == {"Image"}
    assert kinds_of(tasks, "image-feature-extraction", "produces") == {"Embedding"}
    # sentence-similarity: the model's vectors and the score they give (see tasks.ttl)
    assert kinds_of(tasks, "sentence-similarity", "consumes") == {"Text"}
    assert kinds_of(tasks, "sentence-similarity", "produces") == {"Embedding", "Score"}
    assert column(tasks, f"SELECT ?b WHERE {{ <{HUB}sentence-similarity> mkg:broader ?b }}") == {
        HUB + "feature-extraction"
    }


def test_text_and_image_tasks_take_both(tasks: ox.Store) -> None:
    for task_id, image in [
        ("visual-question-answering", "Image"),
        ("image-text-to-text", "Image"),
        ("zero-shot-image-classification", "Image"),
        ("document-question-answering", "Document"),
    ]:
        assert kinds_of(tasks, task_id, "consumes") == {image, "Text"}, task_id


def test_broader_stays_within_tasks_or_within_kinds(tasks: ox.Store) -> None:
    links = rows(
        tasks,
        """SELECT ?narrow ?broad
                  (EXISTS { ?narrow a mkg:Task . ?broad a mkg:Task } AS ?tasks)
                  (EXISTS { VALUES ?c1 { mkg:Modality mkg:DataKind } ?narrow a ?c1 .
                            VALUES ?c2 { mkg:Modality mkg:DataKind } ?broad a ?c2 } AS ?kinds)
           WHERE { ?narrow mkg:broader ?broad }""",
    )
    assert links
    assert [(n, b) for n, b, t, k in links if "true" not in (t, k)] == []
    assert not tasks.query(PROLOGUE + "ASK { ?x mkg:broader+ ?x }")


# --- One vocabulary across files ----------------------------------------------------------------


def declared_kinds(path: Path) -> dict[str, set[str]]:
    """What each term of a file is declared as: class, object/datatype/annotation property."""
    kinds: dict[str, set[str]] = defaultdict(set)
    for triple in ox.parse(path=str(path), format=ox.RdfFormat.TURTLE):
        if triple.predicate.value == RDF_TYPE and triple.object.value in OWL_KINDS:
            kinds[triple.subject.value].add(OWL_KINDS[triple.object.value])
    return kinds


def test_no_term_is_declared_twice_with_a_conflicting_type() -> None:
    merged: dict[str, set[str]] = defaultdict(set)
    for path in (CORE_FILE, PARAMETERS_FILE, TASKS_FILE):
        for term, kinds in declared_kinds(path).items():
            merged[term] |= kinds
    assert {term: kinds for term, kinds in merged.items() if len(kinds) > 1} == {}


def test_tasks_ttl_adds_nothing_but_a_type_to_core_terms() -> None:
    """A term core.ttl or parameters.ttl describes keeps its one label and comment: tasks.ttl may
    only say it is also something else (mkg:LabelSet, core's class, is also a data kind)."""
    elsewhere = {
        t.subject.value
        for path in (CORE_FILE, PARAMETERS_FILE)
        for t in ox.parse(path=str(path), format=ox.RdfFormat.TURTLE)
    }
    restated = {
        (t.subject.value, t.predicate.value)
        for t in ox.parse(path=str(TASKS_FILE), format=ox.RdfFormat.TURTLE)
        if t.subject.value in elsewhere and t.predicate.value != RDF_TYPE
    }
    assert restated == set()


def test_the_task_vocabulary_is_declared(ontology: ox.Store) -> None:
    expected = {
        "Task": "class", "Modality": "class", "DataKind": "class", "DataType": "class",
        "taskId": "datatype property", "taskCategory": "datatype property",
        "consumes": "object property", "produces": "object property",
        "dataKind": "object property", "broader": "object property",
        "impliesTask": "object property", "forAutoMapping": "object property",
        "hubTask": "object property", "configTaskKey": "datatype property",
        "signatureLabel": "datatype property", "subConfigKey": "datatype property",
        "primaryPrecedence": "datatype property", "classSuffix": "datatype property",
    }  # fmt: skip
    declared = declared_kinds(TASKS_FILE)
    assert {term: declared.get(MKG + term) for term in expected} == {
        term: {kind} for term, kind in expected.items()
    }
    described = rows(
        ontology,
        """SELECT ?term (COUNT(DISTINCT ?label) AS ?labels) (COUNT(DISTINCT ?comment) AS ?comments)
           WHERE { ?term rdfs:label ?label ; rdfs:comment ?comment } GROUP BY ?term""",
    )
    counts = {term.removeprefix(MKG): (labels, comments) for term, labels, comments in described}
    assert {term: counts.get(term) for term in expected} == {term: ("1", "1") for term in expected}
    used = {
        t.predicate.value
        for t in ox.parse(path=str(TASKS_FILE), format=ox.RdfFormat.TURTLE)
        if t.predicate.value.startswith(MKG)
    }
    assert used - {MKG + term for term in expected} == set(), "every mkg: property used is declared"


def test_hermit_finds_the_tbox_with_tasks_consistent(tmp_path: Path) -> None:
    """OWL 2 DL allows mkg:LabelSet to be both core's class and a data kind; HermiT agrees."""
    owlready2 = pytest.importorskip("owlready2")
    if shutil.which("java") is None:
        pytest.skip("HermiT needs a Java runtime")
    graph = rdflib.Graph()
    for path in (CORE_FILE, PARAMETERS_FILE, TASKS_FILE):
        graph.parse(path, format="turtle")
    merged = tmp_path / "tbox.nt"
    graph.serialize(merged, format="nt", encoding="utf-8")
    world = owlready2.World()
    world.get_ontology(merged.as_uri()).load(format="ntriples")
    owlready2.sync_reasoner_hermit(world, infer_property_values=False, debug=0)
    assert list(world.inconsistent_classes()) == []
