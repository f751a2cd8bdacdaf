"""Does a model fit in a memory budget? Weights and KV cache against it, shown step by step.

    weights  = parameters · bytes per parameter of the dtype
    KV cache = 2 (K and V) · layers · KV heads · head dim · tokens · batch · bytes per value
    total    = weights + KV cache (+ an overhead allowance, none unless asked for)

No runtime overhead is added by default: activations, the CUDA context and allocator slack depend
on the runtime (a few hundred MB to a few GB), not on the model, and a percentage made up here
would hide inside the total. The lines say so, so a user sees the margin left and judges it;
callers that want an allowance pass `overhead_fraction` and it appears as its own line.

The KV cache is held in the weights' dtype when that is a 16- or 32-bit float; quantized weights
(int8, int4, fp8) compute and cache in 16 bits, so their KV cache is counted at 2 bytes (bf16).
It is the full-attention size; sliding-window and latent-attention models need less.

Sizes print in decimal units (1 GB = 10^9 bytes), the unit of disks, price lists and most spec
sheets; budgets may be written in decimal or binary units (see `parse_memory`).
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from decimal import Decimal, DecimalException
from fractions import Fraction
from types import MappingProxyType
from typing import Any

from kg.compat.size import count_parameters, generates, read_dimensions
from kg.errors import UsageError

__all__ = [
    "DTYPE_ALIASES",
    "DTYPE_BYTES",
    "MEMORY_FORMS",
    "MemoryEstimate",
    "estimate_for_config",
    "estimate_memory",
    "fits",
    "format_bytes",
    "kv_cache_bytes",
    "kv_dtype_for",
    "parse_dtype",
    "parse_memory",
    "verdict",
]

_BYTES_PER_PARAMETER = {"fp64": 8.0, "fp32": 4.0, "fp16": 2.0, "bf16": 2.0, "fp8": 1.0}
_BYTES_PER_PARAMETER |= {"int8": 1.0, "int4": 0.5}
DTYPE_ALIASES: Mapping[str, str] = MappingProxyType(
    {
        **{name: name for name in _BYTES_PER_PARAMETER},
        "float64": "fp64",
        "double": "fp64",
        "float32": "fp32",
        "f32": "fp32",
        "float": "fp32",
        "float16": "fp16",
        "f16": "fp16",
        "half": "fp16",
        "bfloat16": "bf16",
        "float8": "fp8",
        "float8_e4m3fn": "fp8",
        "float8_e5m2": "fp8",
        "i8": "int8",
        "i4": "int4",
    }
)
"""Every dtype name accepted (lower case, an optional `torch.` prefix) -> its canonical name."""
DTYPE_BYTES: Mapping[str, float] = MappingProxyType(
    {name: _BYTES_PER_PARAMETER[canonical] for name, canonical in DTYPE_ALIASES.items()}
)
"""Bytes per parameter for every accepted dtype name (`bf16` 2, `int4` 0.5, ...)."""
_TIMES = "\N{MULTIPLICATION SIGN}"
"""The sign the arithmetic prints, spelled out: linters flag the literal as confusable."""
_FULL_PRECISION_KV = frozenset({"fp64", "fp32", "fp16", "bf16"})
_QUANTIZED_KV_DTYPE = "bf16"

_DECIMAL_UNITS = {"B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12}
_BINARY_UNITS = {"KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40}
_UNITS = {
    **{unit.lower(): size for unit, size in (_DECIMAL_UNITS | _BINARY_UNITS).items()},
    **{unit[0].lower(): size for unit, size in _DECIMAL_UNITS.items() if unit != "B"},
    **{unit[:2].lower(): size for unit, size in _BINARY_UNITS.items()},
    "": 1,
}
"""Lower-cased unit -> bytes: GB, G (decimal); GiB, Gi (binary); B or nothing (bytes)."""
MEMORY_FORMS = (
    "a positive size: a number and a unit written together, 16GB, 16G, 16GiB, 512MB, 1.5TB, "
    "or plain bytes such as 8e9; KB MB GB TB (K M G T) are powers of 1000, "
    "KiB MiB GiB TiB (Ki Mi Gi Ti) powers of 1024"
)
_SIZE = re.compile(
    r"\s*(?P<number>[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*(?P<unit>[A-Za-z]*)\s*"
)
_LARGEST = 10**18
"""An exabyte: budgets beyond it are typos, and refusing them keeps `1e999999` cheap."""


def parse_memory(text: str) -> int:
    """The number of bytes a memory budget such as `16GB` stands for.

    Decimal and binary units are both accepted, because both are in use: `16GB` and `16G`
    mean 16 · 10^9 bytes (the SI prefix, as disks and Kubernetes read it), `16GiB` and `16Gi`
    mean 16 · 2^30 bytes. A GPU sold as "16 GB" holds 16 GiB (17.18 GB), so `16GiB` is the
    honest budget for it. A bare number is bytes (`8e9`). Units are case-insensitive. The
    number and the unit are written together, as on the command line (`--memory 16 GiB` would
    pass two arguments): `16 GiB` is refused with the spelling to use.

    >>> parse_memory("16GB"), parse_memory("16GiB"), parse_memory("8e9")
    (16000000000, 17179869184, 8000000000)
    >>> parse_memory("16 GiB")
    Traceback (most recent call last):
    ...
    kg.errors.UsageError: field `memory`: a space between number and unit in '16 GiB' (...16GiB...)
    >>> parse_memory("16XB")
    Traceback (most recent call last):
    ...
    kg.errors.UsageError: field `memory`: unknown unit 'XB' in '16XB' (expected a positive ...)
    """
    spaced = re.fullmatch(r"\s*([-+]?[\d.eE+-]+)\s+([A-Za-z]+)\s*", text)
    if spaced is not None:
        raise _bad_memory(
            f"a space between number and unit in {text!r}",
            hint=f"write them together: {spaced.group(1)}{spaced.group(2)}",
        )
    match = _SIZE.fullmatch(text)
    if match is None:
        raise _bad_memory(f"not a memory size: {text!r}", hint="write a number and a unit")
    number, unit = match["number"], match["unit"]
    size = _UNITS.get(unit.lower())
    if size is None:
        known = [*_DECIMAL_UNITS, *_BINARY_UNITS]
        lowered = {u.lower(): u for u in known}
        close = difflib.get_close_matches(unit.lower(), list(lowered), n=3, cutoff=0.6)
        hint = "did you mean " + " or ".join(f"{number}{lowered[c]}" for c in close) + "?"
        raise _bad_memory(f"unknown unit {unit!r} in {text!r}", hint=hint if close else None)
    try:
        value = Decimal(number) * size
    except DecimalException as exc:  # an exponent beyond Decimal's range: 1e9999999
        raise _bad_memory(f"{text!r} is more than an exabyte", hint="check the unit") from exc
    if value <= 0:
        raise _bad_memory(f"a memory budget must be more than zero, got {text!r}")
    if value > _LARGEST:
        raise _bad_memory(f"{text!r} is more than an exabyte", hint="check the unit")
    if value < 1:
        raise _bad_memory(f"{text!r} is less than one byte", hint="did you forget the unit?")
    return int(value.to_integral_value())


def _bad_memory(message: str, *, hint: str | None = None) -> UsageError:
    return UsageError(message, field="memory", expected=MEMORY_FORMS, hint=hint)


def parse_dtype(text: str) -> str:
    """The canonical name (`bf16`, `fp16`, `int4`, ...) of a dtype written any accepted way.

    Names are case-insensitive and may carry torch's prefix: `BF16`, `bfloat16` and
    `torch.bfloat16` are all `bf16`. `DTYPE_ALIASES` lists every accepted name.

    >>> parse_dtype("torch.bfloat16"), parse_dtype("FP16"), parse_dtype("float8_e4m3fn")
    ('bf16', 'fp16', 'fp8')
    >>> parse_dtype("bf61")
    Traceback (most recent call last):
    ...
    kg.errors.UsageError: field `dtype`: unknown dtype 'bf61' (expected ...; did you mean bf16?)
    """
    name = text.strip().lower().removeprefix("torch.")
    canonical = DTYPE_ALIASES.get(name)
    if canonical is not None:
        return canonical
    close = difflib.get_close_matches(name, list(DTYPE_ALIASES), n=3)
    aliases = {
        canonical: [a for a, c in DTYPE_ALIASES.items() if c == canonical and a != canonical]
        for canonical in _BYTES_PER_PARAMETER
    }
    accepted = ", ".join(f"{c} ({' '.join(a)})" if a else c for c, a in aliases.items())
    raise UsageError(
        f"unknown dtype {text!r}",
        field="dtype",
        expected=f"one of {accepted}",
        hint=f"did you mean {' or '.join(close)}?" if close else None,
    )


def kv_cache_bytes(
    *, layers: int, kv_heads: int, head_dim: int, seq_len: int, batch: int, dtype_bytes: float
) -> int:
    """Bytes of the KV cache: 2 (K and V) · layers · KV heads · head dim · tokens · batch · bytes.

    >>> kv_cache_bytes(layers=32, kv_heads=32, head_dim=128, seq_len=4096, batch=1, dtype_bytes=2)
    2147483648
    """
    values = 2 * layers * kv_heads * head_dim * seq_len * batch
    return math.ceil(values * Fraction(dtype_bytes))


@dataclass(frozen=True)
class MemoryEstimate:
    """What a model needs in memory for inference, and the arithmetic as a user reads it."""

    parameters: int
    dtype: str
    weights_bytes: int
    kv_cache_bytes: int
    overhead_bytes: int
    lines: tuple[str, ...]
    """One line per step: weights, KV cache, overhead, total."""

    @property
    def total_bytes(self) -> int:
        """Weights, KV cache and overhead together."""
        return self.weights_bytes + self.kv_cache_bytes + self.overhead_bytes


def estimate_memory(
    *,
    parameters: int,
    dtype: str,
    layers: int | None,
    kv_heads: int | None,
    head_dim: int | None,
    seq_len: int,
    batch: int,
    kv_dtype: str | None = None,
    overhead_fraction: float = 0.0,
    generative: bool = True,
) -> MemoryEstimate:
    """Memory to run a model: weights in `dtype` plus the KV cache for `seq_len` · `batch`.

    The KV cache is left out (and a line says why) when the model does not generate
    (`generative=False`: an encoder keeps no cache) or its layers, KV heads or head dim are unknown.

    >>> estimate = estimate_memory(parameters=6_738_415_616, dtype="bf16", layers=32,
    ...                            kv_heads=32, head_dim=128, seq_len=4096, batch=1)
    >>> print("\\n".join(estimate.lines))
    weights: 6,738,415,616 params × 2 B (bf16) = 13.48 GB
    KV cache: 2 × 32 layers × 32 KV heads × 128 head dim × 4,096 tokens × 1 batch × 2 B (bf16)
    = 2.15 GB
    overhead: none counted (activations, CUDA context and allocator slack depend on the runtime)
    total: 13.48 GB + 2.15 GB = 15.62 GB
    """  # noqa: RUF002 - the arithmetic a user reads is printed with a multiplication sign
    canonical = parse_dtype(dtype)
    _require_positive(parameters=parameters, seq_len=seq_len, batch=batch)
    if not 0 <= overhead_fraction < 10:
        raise UsageError(
            f"overhead fraction {overhead_fraction} out of range",
            field="overhead_fraction",
            expected="a fraction of the weights between 0 and 10, such as 0.1 for 10%",
        )
    per_parameter = DTYPE_BYTES[canonical]
    weights = math.ceil(parameters * Fraction(per_parameter))
    lines = [
        f"weights: {parameters:,} params {_TIMES} {per_parameter:g} B ({canonical}) = "
        f"{format_bytes(weights)}"
    ]

    cache_dtype = parse_dtype(kv_dtype) if kv_dtype else _default_kv_dtype(canonical)
    unknown = [
        name
        for name, value in (("layers", layers), ("KV heads", kv_heads), ("head dim", head_dim))
        if not value
    ]
    if not generative:
        cache = 0
        lines.append("KV cache: none (the model does not generate, so it keeps no cache)")
    elif unknown or layers is None or kv_heads is None or head_dim is None:
        cache = 0
        lines.append(f"KV cache: not counted ({', '.join(unknown)} unknown)")
    else:
        cache_bytes = DTYPE_BYTES[cache_dtype]
        cache = kv_cache_bytes(
            layers=layers,
            kv_heads=kv_heads,
            head_dim=head_dim,
            seq_len=seq_len,
            batch=batch,
            dtype_bytes=cache_bytes,
        )
        why = "" if cache_dtype == canonical or kv_dtype else ": quantized weights, 16-bit cache"
        lines.append(
            f"KV cache: 2 {_TIMES} {layers} layers {_TIMES} {kv_heads} KV heads {_TIMES} "
            f"{head_dim} head dim {_TIMES} {seq_len:,} tokens {_TIMES} {batch} batch {_TIMES} "
            f"{cache_bytes:g} B ({cache_dtype}{why}) = "
            f"{format_bytes(cache)}"
        )

    overhead = math.ceil(weights * Fraction(overhead_fraction))
    if overhead_fraction:
        lines.append(f"overhead: {overhead_fraction:.0%} of weights = {format_bytes(overhead)}")
    else:
        lines.append(
            "overhead: none counted "
            "(activations, CUDA context and allocator slack depend on the runtime)"
        )
    parts = [format_bytes(part) for part in (weights, cache, overhead) if part]
    total = weights + cache + overhead
    sum_text = f"{' + '.join(parts)} = " if len(parts) > 1 else ""
    lines.append(f"total: {sum_text}{format_bytes(total)}")
    return MemoryEstimate(parameters, canonical, weights, cache, overhead, tuple(lines))


def estimate_for_config(
    config: Mapping[str, Any], *, dtype: str, seq_len: int, batch: int
) -> MemoryEstimate:
    """`estimate_memory` for the model a `config.json` describes, its parameter count first.

    The parameters come from `kg.compat.size.count_parameters` (built on the meta device, or
    the formula), the KV cache shape from the config's layers, KV heads and head dim; encoders
    (`kg.compat.size.generates` is false) get no KV cache.
    """
    count = count_parameters(config)
    dims = read_dimensions(config)
    estimate = estimate_memory(
        parameters=count.value,
        dtype=dtype,
        layers=dims.num_hidden_layers,
        kv_heads=dims.kv_heads,
        head_dim=dims.attention_head_dim,
        seq_len=seq_len,
        batch=batch,
        generative=generates(config),
    )
    how = "counted exactly" if count.method == "meta-device" else "estimated"
    first = f"parameters: {count.value:,}, {how}: {count.detail}"
    return replace(estimate, lines=(first, *estimate.lines))


def fits(estimate: MemoryEstimate, budget_bytes: int) -> bool:
    """Whether the estimate's total is within the budget (equal fits)."""
    return estimate.total_bytes <= budget_bytes


def verdict(estimate: MemoryEstimate, budget_bytes: int) -> str:
    """The last line of the answer: total against budget, and the margin either way.

    >>> estimate = estimate_memory(parameters=7_000_000_000, dtype="bf16", layers=None,
    ...                            kv_heads=None, head_dim=None, seq_len=1, batch=1)
    >>> verdict(estimate, parse_memory("16GB"))
    'total 14.00 GB ≤ budget 16.00 GB: fits, 2.00 GB to spare'
    >>> verdict(estimate, parse_memory("8GB"))
    'total 14.00 GB > budget 8.00 GB: does not fit, 6.00 GB short'
    """
    total, budget = format_bytes(estimate.total_bytes), format_bytes(budget_bytes)
    margin = format_bytes(abs(budget_bytes - estimate.total_bytes))
    if fits(estimate, budget_bytes):
        return f"total {total} ≤ budget {budget}: fits, {margin} to spare"
    return f"total {total} > budget {budget}: does not fit, {margin} short"


def format_bytes(size: int) -> str:
    """A byte count in decimal units with two decimals, as the answer prints it.

    >>> format_bytes(13_476_831_232), format_bytes(2_147_483_648), format_bytes(512)
    ('13.48 GB', '2.15 GB', '512 B')
    """
    for unit in ("TB", "GB", "MB", "KB"):
        if abs(size) >= _DECIMAL_UNITS[unit]:
            return f"{size / _DECIMAL_UNITS[unit]:.2f} {unit}"
    return f"{size} B"


def kv_dtype_for(weights_dtype: str) -> str:
    """The dtype the KV cache is counted in for weights of `weights_dtype`.

    >>> kv_dtype_for("bf16"), kv_dtype_for("int4")
    ('bf16', 'bf16')
    """
    return _default_kv_dtype(weights_dtype)


def _default_kv_dtype(weights_dtype: str) -> str:
    return weights_dtype if weights_dtype in _FULL_PRECISION_KV else _QUANTIZED_KV_DTYPE


def _require_positive(**values: int) -> None:
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise UsageError(
                f"{name} must be a positive whole number, got {value!r}",
                field=name,
                expected="an integer of at least 1",
            )
