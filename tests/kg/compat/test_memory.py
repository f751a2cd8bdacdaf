"""A user asks whether a model fits in memory: `--memory 16GB --dtype bf16 --seq-len 4096`.

The answer is the arithmetic, line by line: parameters times bytes per parameter, plus the KV cache
for the sequence length and batch, against the budget. Budgets and dtypes are written the ways
people write them; anything else is refused with the accepted forms and the closest names.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import transformers

from kg.compat.memory import (
    DTYPE_BYTES,
    estimate_for_config,
    estimate_memory,
    fits,
    kv_cache_bytes,
    parse_dtype,
    parse_memory,
    verdict,
)
from kg.errors import UsageError
from tests.conftest import corpus_folder

LLAMA_2_7B = 6_738_415_616
TIMES = "\N{MULTIPLICATION SIGN}"


def corpus_config(hub_id: str) -> dict[str, Any]:
    config = json.loads((corpus_folder(hub_id) / "config.json").read_text(encoding="utf-8"))
    assert isinstance(config, dict)
    return config


def test_a_7b_model_in_bf16_fits_in_16gb_but_not_in_8gb_kv_cache_included() -> None:
    estimate = estimate_for_config(
        corpus_config("meta-llama/Llama-2-7b-hf"), dtype="bf16", seq_len=4096, batch=1
    )

    assert estimate.weights_bytes == LLAMA_2_7B * 2
    assert estimate.kv_cache_bytes == 2 * 32 * 32 * 128 * 4096 * 1 * 2
    assert estimate.total_bytes == 15_624_314_880
    assert fits(estimate, parse_memory("16GB"))
    assert not fits(estimate, parse_memory("8GB"))
    assert estimate.lines == (
        "parameters: 6,738,415,616, counted exactly: LlamaForCausalLM built on the meta device "
        f"by transformers {transformers.__version__}",
        f"weights: 6,738,415,616 params {TIMES} 2 B (bf16) = 13.48 GB",
        f"KV cache: 2 {TIMES} 32 layers {TIMES} 32 KV heads {TIMES} 128 head dim {TIMES} "
        f"4,096 tokens {TIMES} 1 batch {TIMES} 2 B (bf16) = 2.15 GB",
        "overhead: none counted (activations, CUDA context and allocator slack depend on the "
        "runtime)",
        "total: 13.48 GB + 2.15 GB = 15.62 GB",
    )
    assert verdict(estimate, parse_memory("16GB")) == (
        "total 15.62 GB ≤ budget 16.00 GB: fits, 375.69 MB to spare"
    )
    assert verdict(estimate, parse_memory("8GB")) == (
        "total 15.62 GB > budget 8.00 GB: does not fit, 7.62 GB short"
    )


def test_the_kv_cache_grows_with_sequence_length_and_batch() -> None:
    config = corpus_config("meta-llama/Llama-2-7b-hf")

    short = estimate_for_config(config, dtype="bf16", seq_len=4096, batch=1)
    long = estimate_for_config(config, dtype="bf16", seq_len=4096, batch=8)

    assert long.kv_cache_bytes == 8 * short.kv_cache_bytes
    assert long.weights_bytes == short.weights_bytes
    assert not fits(long, parse_memory("16GB"))


def test_grouped_query_attention_keeps_a_70b_kv_cache_small_and_int4_weights_cache_in_16_bits() -> (
    None
):
    """Genz-70B (Llama-2-70B-shaped) has 8 KV heads for 64 query heads."""
    config = corpus_config("TheBloke/Genz-70b-GPTQ")

    estimate = estimate_for_config(config, dtype="int4", seq_len=4096, batch=1)

    assert estimate.weights_bytes == 68_976_648_192 // 2
    assert estimate.kv_cache_bytes == 2 * 80 * 8 * 128 * 4096 * 2
    assert "(bf16: quantized weights, 16-bit cache)" in estimate.lines[2]
    assert fits(estimate, parse_memory("48GB"))
    assert not fits(estimate_for_config(config, dtype="bf16", seq_len=4096, batch=1), 80 * 10**9)


def test_without_the_attention_shape_the_kv_cache_is_left_out_and_the_line_says_so() -> None:
    estimate = estimate_memory(
        parameters=1_000_000,
        dtype="fp32",
        layers=None,
        kv_heads=12,
        head_dim=None,
        seq_len=512,
        batch=1,
    )

    assert estimate.kv_cache_bytes == 0
    assert "KV cache: not counted (layers, head dim unknown)" in estimate.lines
    assert estimate.total_bytes == 4_000_000


def test_an_overhead_allowance_is_its_own_line_when_asked_for() -> None:
    estimate = estimate_memory(
        parameters=LLAMA_2_7B,
        dtype="fp16",
        layers=32,
        kv_heads=32,
        head_dim=128,
        seq_len=4096,
        batch=1,
        overhead_fraction=0.1,
    )

    assert estimate.overhead_bytes == 1_347_683_124
    assert "overhead: 10% of weights = 1.35 GB" in estimate.lines
    assert estimate.lines[-1] == "total: 13.48 GB + 2.15 GB + 1.35 GB = 16.97 GB"


def test_kv_cache_bytes_is_the_product_of_its_factors() -> None:
    assert (
        kv_cache_bytes(layers=2, kv_heads=3, head_dim=5, seq_len=7, batch=11, dtype_bytes=0.5)
        == 2 * (2 * 3 * 5 * 7 * 11) // 2
    )


@pytest.mark.parametrize(
    ("field", "value"), [("parameters", 0), ("seq_len", -1), ("batch", 0), ("batch", True)]
)
def test_counts_below_one_are_refused(field: str, value: int) -> None:
    arguments: dict[str, Any] = {
        "parameters": 1000,
        "dtype": "bf16",
        "layers": 1,
        "kv_heads": 1,
        "head_dim": 8,
        "seq_len": 16,
        "batch": 1,
    }
    arguments[field] = value

    with pytest.raises(UsageError) as caught:
        estimate_memory(**arguments)

    assert caught.value.field == field


@pytest.mark.parametrize(
    ("budget", "expected"),
    [
        ("16GB", 16 * 10**9),
        ("16G", 16 * 10**9),
        ("16gb", 16 * 10**9),
        ("16GiB", 16 * 2**30),
        ("16Gi", 16 * 2**30),
        ("512MB", 512 * 10**6),
        ("512MiB", 512 * 2**20),
        ("1.5TB", 1_500_000_000_000),
        ("0.5GB", 500_000_000),
        ("8e9", 8_000_000_000),
        ("1024", 1024),
        (" 24GB ", 24 * 10**9),
    ],
)
def test_a_budget_is_written_the_ways_people_write_it(budget: str, expected: int) -> None:
    assert parse_memory(budget) == expected


@pytest.mark.parametrize(
    ("budget", "says"),
    [
        ("-3GB", "more than zero"),
        ("0", "more than zero"),
        ("0GB", "more than zero"),
        ("16 GiB", "a space between number and unit"),
        ("16 GB", "write them together: 16GB"),
        ("lots", "not a memory size: 'lots'"),
        ("", "not a memory size"),
        ("GB", "not a memory size"),
        ("16XB", "unknown unit 'XB'"),
        ("0.1", "less than one byte"),
        ("1e30GB", "more than an exabyte"),
        ("1e9999999GB", "more than an exabyte"),
    ],
)
def test_a_malformed_budget_is_refused_naming_the_accepted_forms(budget: str, says: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_memory(budget)

    message = str(caught.value)
    assert isinstance(caught.value, ValueError)
    assert caught.value.field == "memory"
    assert says in message
    for form in ("16GB", "16GiB", "512MB", "1.5TB", "8e9"):
        assert form in message


def test_a_misspelt_unit_suggests_the_closest() -> None:
    with pytest.raises(UsageError) as caught:
        parse_memory("16GBi")

    assert caught.value.hint is not None
    assert caught.value.hint.startswith("did you mean 16GB or 16GiB")


@pytest.mark.parametrize(
    ("written", "canonical", "bytes_per_parameter"),
    [
        ("fp32", "fp32", 4),
        ("float32", "fp32", 4),
        ("torch.float32", "fp32", 4),
        ("fp16", "fp16", 2),
        ("float16", "fp16", 2),
        ("half", "fp16", 2),
        ("BF16", "bf16", 2),
        ("bfloat16", "bf16", 2),
        ("torch.bfloat16", "bf16", 2),
        ("int8", "int8", 1),
        ("int4", "int4", 0.5),
        ("fp8", "fp8", 1),
        ("float8_e4m3fn", "fp8", 1),
    ],
)
def test_a_dtype_is_named_any_common_way(
    written: str, canonical: str, bytes_per_parameter: float
) -> None:
    assert parse_dtype(written) == canonical
    assert DTYPE_BYTES[canonical] == bytes_per_parameter


def test_every_weights_dtype_the_shapes_accept_is_a_dtype_here() -> None:
    """The SHACL shapes list the `torch_dtype` values a config may state; each one (but "auto"
    and uint8, which says nothing about bytes per parameter) can be the answer's dtype."""
    stated = ["float32", "float16", "bfloat16", "float64", "int8", "float8_e4m3fn", "float8_e5m2"]

    assert [parse_dtype(name) for name in stated] == [
        "fp32",
        "fp16",
        "bf16",
        "fp64",
        "int8",
        "fp8",
        "fp8",
    ]


@pytest.mark.parametrize(
    ("written", "suggested"), [("bf61", "bf16"), ("float33", "float32"), ("in4", "int4")]
)
def test_an_unknown_dtype_suggests_the_closest_names(written: str, suggested: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_dtype(written)

    message = str(caught.value)
    assert caught.value.field == "dtype"
    assert f"unknown dtype {written!r}" in message
    assert caught.value.hint is not None
    assert suggested in caught.value.hint
    assert "bf16 (bfloat16)" in message  # the accepted forms


def test_an_encoder_keeps_no_kv_cache() -> None:
    """all-MiniLM-L6-v2 embeds text in one pass; nothing is cached between tokens."""
    estimate = estimate_for_config(
        corpus_config("sentence-transformers/all-MiniLM-L6-v2"), dtype="fp32", seq_len=512, batch=32
    )

    assert estimate.kv_cache_bytes == 0
    assert "KV cache: none (the model does not generate, so it keeps no cache)" in estimate.lines
    assert estimate.total_bytes == 22_713_216 * 4
    assert verdict(estimate, parse_memory("1GiB")).endswith("fits, 982.89 MB to spare")
    assert estimate.lines[-1] == "total: 90.85 MB"
