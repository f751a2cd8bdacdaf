"""A user ingests the example models and asks straight away, from the shell: answers name models
as people know them, never by a hash IRI, and say what each score is made of."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import corpus_folder

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "models"
MINILM = "sentence-transformers/all-MiniLM-L6-v2"
HASHED = "w3id.org/modelkg/id/model/"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from resolvers.command import main

    path = tmp_path_factory.mktemp("names") / "store"
    assert main(["ingest", "--store", str(path), str(EXAMPLES), str(corpus_folder(MINILM))]) == 0
    return path  # no `modelkg reason`: ingest alone gives tasks and sizes


def test_an_adapter_is_offered_only_as_needing_its_base(store: Path, cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("compat", "replacements", "gpt2-style-lm", "--store", store)

    assert result.code == 0, result.err
    assert "lora-adapter  (needs base" in result.out
    assert "needs base TinyLlama/TinyLlama-1.1B-Chat-v1.0" in result.out
    assert "size 0/0.4" in result.out  # the score shows its parts
    assert HASHED not in result.out


def test_json_answers_carry_their_components(store: Path, cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("compat", "replacements", "gpt2-style-lm", "--format", "json", "--store", store)

    [answer] = json.loads(result.out)["answers"]
    assert answer["case"] == "needs base"
    assert [c["name"] for c in answer["components"]] == ["size", "lineage", "family", "tokenizer"]


def test_a_model_is_not_its_own_answer(store: Path, cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("compat", "same-embedding-space", MINILM, "--store", store)

    assert result.code == 0, result.err
    assert "no other model shares its embedding space" in result.out
    assert f"{MINILM}  (" not in result.out


def test_fits_right_after_ingest_and_says_what_it_left_out(store: Path, cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("compat", "fits", "--memory", "1GB", "--dtype", "fp32", "--store", store)

    assert "gpt2-style-lm" in result.out and MINILM in result.out
    assert "1 model(s) left out: their size is not known" in result.out
    assert "lora-adapter" in result.out.split("left out")[1]


def test_query_tables_show_names_and_take_the_prefixes_they_show(store: Path, cli) -> None:  # type: ignore[no-untyped-def]
    names = cli("query", "SELECT ?m WHERE { ?m a mkg:Model } ORDER BY ?m", "--store", store)
    hub = cli("query", "SELECT ?n WHERE { hf:sentence-transformers\\/all-MiniLM-L6-v2 "
              "schema:name ?n }", "--store", store)  # fmt: skip

    assert names.code == 0, names.err
    assert "gpt2-style-lm" in names.out and "lora-adapter" in names.out
    assert f"hf:{MINILM}" in names.out
    assert HASHED not in names.out
    assert hub.code == 0 and MINILM in hub.out


def test_explain_names_a_local_model_not_its_hash_iri(store: Path, cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("explain", "gpt2-style-lm", "--store", store)
    assert result.code == 0, result.err
    assert "gpt2-style-lm mkg:derivedFrom hf:openai-community/gpt2" in result.out
    assert "/id/model/" not in result.out
