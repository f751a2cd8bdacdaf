"""ModelKG knows every model type the installed transformers knows, via ontology/catalog.ttl.

The story: a maintainer upgrades transformers, runs ``modelkg catalog --write``, and commits the
regenerated catalog.  From then on ModelKG can tell that a ``config.json`` with
``"model_type": "gpt2"`` spells ``hidden_size`` as ``n_embd``, that CLIP nests a text and a
vision config, and that ``LlamaForCausalLM`` is a text-generation head -- all without importing
transformers at run time.
"""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox
import pytest
import rdflib
import transformers
from transformers.models.auto import configuration_auto, modeling_auto

from ontology import catalog_build
from ontology.catalog_build import build_catalog, catalog_path, is_stale, main

# transformers does not re-export this name for type checkers; read it as plain data.
CONFIG_MAPPING_NAMES: dict[str, str] = dict(vars(configuration_auto)["CONFIG_MAPPING_NAMES"])
PROLOGUE = "".join(
    f"PREFIX {prefix}: <{namespace}>\n" for prefix, namespace in catalog_build.PREFIXES.items()
)


@pytest.fixture(scope="module")
def fresh_catalog() -> str:
    """The catalog as the installed transformers describes it right now (built once, ~15 s)."""
    return build_catalog()


@pytest.fixture(scope="module")
def store() -> ox.Store:
    """The committed catalog, loaded the way ModelKG loads it."""
    loaded = ox.Store()
    loaded.load(path=str(catalog_path()), format=ox.RdfFormat.TURTLE)
    return loaded


def select(store: ox.Store, query: str) -> set[tuple[str, ...]]:
    """Run a SELECT and return its rows as tuples of plain values."""
    solutions = store.query(PROLOGUE + query)
    assert isinstance(solutions, ox.QuerySolutions)
    variables = [variable.value for variable in solutions.variables]
    rows: set[tuple[str, ...]] = set()
    for solution in solutions:
        terms = [solution[name] for name in variables]
        rows.add(tuple(term.value for term in terms if isinstance(term, ox.NamedNode | ox.Literal)))
    return rows


def ask(store: ox.Store, query: str) -> bool:
    """Run an ASK query."""
    answer = store.query(PROLOGUE + query)
    assert isinstance(answer, ox.QueryBoolean)
    return bool(answer)


# ------------------------------------------------------------------------ the file is current


@pytest.mark.slow
def test_the_committed_catalog_matches_a_fresh_build_byte_for_byte(fresh_catalog: str) -> None:
    assert catalog_path().read_bytes() == fresh_catalog.encode("utf-8"), (
        f"ontology/catalog.ttl is stale for transformers {transformers.__version__}; "
        "regenerate with `modelkg catalog --write`"
    )


@pytest.mark.slow
def test_check_mode_passes_on_a_current_catalog_and_writes_nothing(
    fresh_catalog: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    target = tmp_path / "catalog.ttl"
    target.write_bytes(fresh_catalog.encode("utf-8"))
    monkeypatch.setattr(catalog_build, "build_catalog", lambda: fresh_catalog)
    monkeypatch.setattr(catalog_build, "catalog_path", lambda: target)

    assert main(["--check"]) == 0
    assert not is_stale()
    assert "up to date" in capsys.readouterr().out


@pytest.mark.slow
def test_check_mode_fails_with_the_regenerate_hint_when_transformers_moved_on(
    fresh_catalog: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    target = tmp_path / "catalog.ttl"
    target.write_bytes(fresh_catalog.encode("utf-8"))
    monkeypatch.setattr(catalog_build, "build_catalog", lambda: fresh_catalog + "# drift\n")
    monkeypatch.setattr(catalog_build, "catalog_path", lambda: target)

    assert is_stale()
    assert main(["--check"]) == 1
    assert capsys.readouterr().err.strip() == (
        f"ontology/catalog.ttl is stale for transformers {transformers.__version__}; "
        "regenerate with `modelkg catalog --write`"
    )
    assert target.read_bytes() == fresh_catalog.encode("utf-8")


@pytest.mark.slow
def test_write_mode_regenerates_a_missing_catalog(
    fresh_catalog: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    target = tmp_path / "catalog.ttl"
    monkeypatch.setattr(catalog_build, "build_catalog", lambda: fresh_catalog)
    monkeypatch.setattr(catalog_build, "catalog_path", lambda: target)
    assert is_stale()

    assert main([]) == 0
    assert target.read_bytes() == fresh_catalog.encode("utf-8")
    assert not is_stale()


# -------------------------------------------------------------------------- the file is RDF


def test_pyoxigraph_and_rdflib_read_the_same_triples() -> None:
    with_oxigraph = list(ox.parse(path=str(catalog_path()), format=ox.RdfFormat.TURTLE))
    with_rdflib = rdflib.Graph().parse(catalog_path(), format="turtle")
    assert len(with_oxigraph) == len(with_rdflib) > 20_000


def test_the_catalog_says_which_transformers_it_was_generated_from(store: ox.Store) -> None:
    assert select(store, "SELECT ?v WHERE { ?o a owl:Ontology ; mkg:transformersVersion ?v }") == {
        (transformers.__version__,)
    }


# --------------------------------------------------------------------------- model types


def test_every_model_type_transformers_registers_is_a_model_type_with_its_config_class(
    store: ox.Store,
) -> None:
    rows = select(
        store,
        "SELECT ?name ?cls WHERE { ?t a mkg:ModelType ; mkg:modelTypeName ?name ; "
        "mkg:configClass ?cls }",
    )
    assert rows == set(CONFIG_MAPPING_NAMES.items())


def test_model_type_names_survive_the_trip_through_an_iri(store: ox.Store) -> None:
    # "kosmos-2.5" and "gpt-sw3" must come back exactly, not percent-encoded or mangled.
    for name in ("kosmos-2.5", "gpt-sw3", "xlm-roberta-xl"):
        assert name in CONFIG_MAPPING_NAMES
        assert ask(store, f'ASK {{ ?t a mkg:ModelType ; mkg:modelTypeName "{name}" }}')


@pytest.mark.parametrize(
    ("model_type", "source_key", "canonical_key"),
    [
        ("gpt2", "n_embd", "hidden_size"),
        ("gpt2", "n_head", "num_attention_heads"),
        ("distilbert", "dim", "hidden_size"),
        ("t5", "d_model", "hidden_size"),
    ],
)
def test_a_config_key_alias_resolves_to_the_canonical_key(
    store: ox.Store, model_type: str, source_key: str, canonical_key: str
) -> None:
    canonical = select(
        store,
        f'SELECT ?canon WHERE {{ ?t mkg:modelTypeName "{model_type}" ; mkg:keyAlias ?a . '
        f'?a a mkg:KeyAlias ; mkg:sourceKey "{source_key}" ; mkg:canonicalKey ?canon }}',
    )
    assert canonical == {(canonical_key,)}


def test_clip_nests_a_text_and_a_vision_config(store: ox.Store) -> None:
    parts = select(
        store,
        "SELECT ?key ?part WHERE { mkgt:clip mkg:subConfig ?s . ?s a mkg:SubConfig ; "
        "mkg:configKey ?key ; mkg:partModelType/mkg:modelTypeName ?part }",
    )
    assert parts == {("text_config", "clip_text_model"), ("vision_config", "clip_vision_model")}


@pytest.mark.parametrize(
    ("model_type", "canonical_key", "value"),
    [
        ("bert", "hidden_size", 768),
        ("bert", "num_hidden_layers", 12),
        ("gpt2", "vocab_size", 50257),
    ],
)
def test_a_model_type_records_the_defaults_of_its_config_class(
    store: ox.Store, model_type: str, canonical_key: str, value: int
) -> None:
    defaults = select(
        store,
        f'SELECT ?v WHERE {{ ?t mkg:modelTypeName "{model_type}" ; mkg:parameterDefault ?d . '
        f'?d a mkg:ParameterDefault ; mkg:canonicalKey "{canonical_key}" ; mkg:defaultValue ?v '
        "FILTER(datatype(?v) = xsd:integer) }",
    )
    assert defaults == {(str(value),)}


def test_deprecation_flags_follow_transformers_deprecated_models(store: ox.Store) -> None:
    flagged = {
        name
        for (name,) in select(
            store, "SELECT ?n WHERE { ?t mkg:deprecated true ; mkg:modelTypeName ?n }"
        )
    }
    expected = {name for name in CONFIG_MAPPING_NAMES if catalog_build._is_deprecated(name)}
    assert flagged == expected


@pytest.mark.parametrize(
    ("deprecated_modules", "model_type", "deprecated"),
    [
        (["transfo_xl"], "transfo-xl", True),  # DEPRECATED_MODELS holds module names
        (["transfo_xl"], "gpt2", False),
        ([], "transfo-xl", False),
    ],
)
def test_a_model_type_is_deprecated_when_its_module_is(
    monkeypatch: pytest.MonkeyPatch,
    deprecated_modules: list[str],
    model_type: str,
    deprecated: bool,
) -> None:
    monkeypatch.setattr(configuration_auto, "DEPRECATED_MODELS", deprecated_modules)
    assert catalog_build._is_deprecated(model_type) is deprecated


# ---------------------------------------------------------- architectures and auto mappings


@pytest.mark.parametrize(
    ("architecture", "model_type", "mapping", "task"),
    [
        (
            "BertForSequenceClassification",
            "bert",
            "MODEL_FOR_SEQUENCE_CLASSIFICATION",
            "text-classification",
        ),
        ("LlamaForCausalLM", "llama", "MODEL_FOR_CAUSAL_LM", "text-generation"),
        (
            "WhisperForConditionalGeneration",
            "whisper",
            "MODEL_FOR_SPEECH_SEQ_2_SEQ",
            "automatic-speech-recognition",
        ),
    ],
)
def test_an_architecture_knows_its_model_type_auto_mapping_and_pipeline_task(
    store: ox.Store, architecture: str, model_type: str, mapping: str, task: str
) -> None:
    assert ask(
        store,
        f"ASK {{ mkga:{architecture} a mkg:Architecture ; "
        f'mkg:architectureName "{architecture}" ; '
        f'mkg:ofModelType/mkg:modelTypeName "{model_type}" ; '
        f"mkg:autoMapping mkgm:{mapping} . "
        f'mkgm:{mapping} a mkg:AutoMapping ; mkg:mappingName "{mapping}_MAPPING_NAMES" ; '
        f'mkg:pipelineTask "{task}" }}',
    )


@pytest.mark.parametrize(
    ("mapping", "auto_class"),
    [
        ("MODEL", "AutoModel"),
        ("MODEL_FOR_CAUSAL_LM", "AutoModelForCausalLM"),
        ("MODEL_FOR_SPEECH_SEQ_2_SEQ", "AutoModelForSpeechSeq2Seq"),
        ("MODEL_FOR_SEQ_TO_SEQ_CAUSAL_LM", "AutoModelForSeq2SeqLM"),
    ],
)
def test_an_auto_mapping_names_the_auto_class_built_from_it(
    store: ox.Store, mapping: str, auto_class: str
) -> None:
    assert select(store, f"SELECT ?c WHERE {{ mkgm:{mapping} mkg:autoClass ?c }}") == {
        (auto_class,)
    }


def test_every_model_mapping_constant_is_an_auto_mapping(store: ox.Store) -> None:
    constants = {
        name
        for name in vars(modeling_auto)
        if name.startswith("MODEL") and name.endswith("_MAPPING_NAMES")
    }
    rows = select(store, "SELECT ?n WHERE { ?m a mkg:AutoMapping ; mkg:mappingName ?n }")
    assert {name for (name,) in rows} == constants


def test_every_architecture_points_at_a_declared_model_type(store: ox.Store) -> None:
    assert not ask(
        store,
        "ASK { ?a a mkg:Architecture ; mkg:ofModelType ?t "
        "FILTER NOT EXISTS { ?t a mkg:ModelType } }",
    )
