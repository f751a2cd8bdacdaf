"""Exact parameter counts from a `config.json`, without a single weight.

When transformers knows the architecture the count is exact: the model is built on PyTorch's
meta device, where a tensor has a shape and no storage, so a 70B config counts in well under a
second and a few megabytes, and `sum(p.numel() for p in model.parameters())` counts shared
weights (an LM head tied to the input embeddings) once, because they are one `Parameter`.
When transformers cannot build it (a model type it does not ship, custom code, a backbone that
would have to be downloaded) the count falls back to a stated formula for a decoder-only
transformer (`formula_parameters`). `ParameterCount.method` and `.detail` say which, and why.

Nothing is downloaded and no remote code runs: the config is parsed by transformers' own
config classes (`CONFIG_MAPPING`), never `from_pretrained` or `trust_remote_code`, and the Hub
is switched to offline mode while the model is built.

The meta device is entered with `torch.device("meta")`, as transformers' own `from_pretrained`
does, not with accelerate's `init_empty_weights`: under transformers 5 that one re-registers
each parameter after the model tied its weights, so GPT-2's LM head would count twice
(163,037,184 instead of 124,439,808). Weight initializers are switched off meanwhile
(`kg.model_builds.shapes_only`): drawing values a meta tensor cannot hold was most of a build.
"""

from __future__ import annotations

import difflib
import json
import logging
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields, replace
from functools import lru_cache
from typing import Any, Literal, NoReturn, cast, get_args

from kg.compat.count_cache import count_cache
from kg.errors import ConfigError
from kg.model_builds import shapes_only

__all__ = [
    "GATED_ACTIVATIONS",
    "CountMethod",
    "Dimensions",
    "ParameterCount",
    "count_parameters",
    "count_parameters_json",
    "formula_parameters",
    "generates",
    "read_dimensions",
]

CountMethod = Literal["meta-device", "formula"]

GATED_ACTIVATIONS = frozenset({"silu", "swish", "swiglu", "geglu"})
"""Activations that imply a gated MLP (gate, up and down projections: 3·H·I) in the formula.

Llama, Mistral and Qwen name `silu` and gate it (SwiGLU); GPT-2, BERT, Falcon and GPT-NeoX name
a `gelu` and do not (2·H·I). Gemma gates a gelu, but transformers builds Gemma, so the formula
never sees it.
"""
_ACTIVATION_KEYS = ("hidden_act", "activation_function", "hidden_activation")
_NESTED_CONFIGS = ("text_config", "llm_config", "language_config")
"""Where multimodal configs keep their language model's shape."""
_FORMULA_INPUTS = ("hidden_size", "num_hidden_layers", "num_attention_heads", "vocab_size")
_IGNORED_FOR_BUILD = {
    "quantization_config": "quantization_config ignored: this counts the unquantized architecture",
}
_GENERATIVE_HINTS = ("CausalLM", "LMHead", "ConditionalGeneration", "MTModel")
_TIMES = "\N{MULTIPLICATION SIGN}"


@dataclass(frozen=True)
class ParameterCount:
    """How many parameters a model has, how that was found, and the working in words."""

    value: int
    method: CountMethod
    detail: str


@dataclass(frozen=True)
class Dimensions:
    """The shape of a transformer as its config states it, under transformers' names.

    Keys a config spells its own way (GPT-2's `n_layer`, Falcon's `n_head_kv`) are read through
    the parameter mapping of `ontology/parameters.ttl`; `sources` says which key gave each value.
    """

    hidden_size: int | None = None
    num_hidden_layers: int | None = None
    num_attention_heads: int | None = None
    num_key_value_heads: int | None = None
    head_dim: int | None = None
    intermediate_size: int | None = None
    vocab_size: int | None = None
    num_local_experts: int | None = None
    sources: tuple[tuple[str, str], ...] = ()
    """(dimension, key it was read from), e.g. ("num_hidden_layers", "n_layer")."""

    @property
    def kv_heads(self) -> int | None:
        """Key/value heads: `num_key_value_heads`, or one per attention head when not stated."""
        return self.num_key_value_heads or self.num_attention_heads

    @property
    def attention_head_dim(self) -> int | None:
        """Width of one head: `head_dim`, or hidden_size / num_attention_heads when not stated."""
        if self.head_dim:
            return self.head_dim
        if self.hidden_size and self.num_attention_heads:
            return self.hidden_size // self.num_attention_heads
        return None


_DIMENSIONS = tuple(f.name for f in fields(Dimensions) if f.name != "sources")


def read_dimensions(config: Mapping[str, Any]) -> Dimensions:
    """The transformer dimensions a config states, whatever it calls them.

    A multimodal config's missing dimensions are taken from its language model (`text_config`).

    >>> dims = read_dimensions({"model_type": "gpt2", "n_embd": 768, "n_layer": 12, "n_head": 12})
    >>> dims.num_hidden_layers, dims.kv_heads, dims.attention_head_dim
    (12, 12, 64)
    >>> dims.sources
    (('hidden_size', 'n_embd'), ('num_attention_heads', 'n_head'), ('num_hidden_layers', 'n_layer'))
    """
    from ontology.parameters import load_parameter_mapping

    mapping = load_parameter_mapping()
    model_type = config.get("model_type")
    best: dict[str, tuple[int, int, str]] = {}
    """dimension -> (priority of the rule that matched, value, key)"""
    for key, value in config.items():
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            continue
        resolved = mapping.resolve(
            "config.json", key, model_type if isinstance(model_type, str) else None
        )
        for resolution in resolved:
            name = resolution.concept.canonical_key
            if name in _DIMENSIONS and (name not in best or resolution.priority > best[name][0]):
                best[name] = (resolution.priority, value, key)
    values: dict[str, Any] = {name: value for name, (_, value, _) in best.items()}
    dims = Dimensions(
        **values,
        sources=tuple(sorted((name, key) for name, (_, _, key) in best.items())),
    )
    for nested_key in _NESTED_CONFIGS:
        nested = config.get(nested_key)
        if isinstance(nested, Mapping):
            inner = read_dimensions(nested)
            gaps = {n: getattr(inner, n) for n in _DIMENSIONS if getattr(dims, n) is None}
            taken = {n: v for n, v in gaps.items() if v is not None}
            if taken:
                extra = tuple((n, f"{nested_key}.{k}") for n, k in inner.sources if n in taken)
                dims = replace(dims, **taken, sources=tuple(sorted(dims.sources + extra)))
    return dims


def generates(config: Mapping[str, Any]) -> bool:
    """Whether the architecture a config names generates token by token (and keeps a KV cache).

    Read from the class name transformers gives generating heads (`...ForCausalLM`,
    `...LMHeadModel`, `...ForConditionalGeneration`, Marian's `MTModel`); a config that names no
    architecture is taken to generate, so a memory estimate errs on the large side.

    >>> generates({"architectures": ["LlamaForCausalLM"]})
    True
    >>> generates({"architectures": ["BertModel"]})
    False
    """
    architectures = config.get("architectures")
    if not isinstance(architectures, list) or not architectures:
        return True
    named = architectures[0]
    return isinstance(named, str) and any(hint in named for hint in _GENERATIVE_HINTS)


def count_parameters(config: Mapping[str, Any]) -> ParameterCount:
    """The number of parameters of the model a `config.json` describes.

    Built on the meta device by transformers when it can (exact, "meta-device"), estimated with
    `formula_parameters` when it cannot ("formula"). Results are cached per config content.

    >>> bert = {"model_type": "bert", "architectures": ["BertModel"], "hidden_size": 64,
    ...         "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 256,
    ...         "vocab_size": 1000, "max_position_embeddings": 128}
    >>> count = count_parameters(bert)
    >>> count.value, count.method
    (176576, 'meta-device')
    >>> count.detail
    'BertModel built on the meta device by transformers ...'

    Raises `ConfigError` (an `InputError`) when neither way works, naming the missing keys.
    """
    if not isinstance(config, Mapping):
        raise _not_a_mapping(config)
    try:
        canonical = json.dumps(config, sort_keys=True, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ConfigError(
            f"the config is not plain JSON data: {exc}",
            expected="the values json.load gives for a config.json",
        ) from exc
    return count_parameters_json(canonical)


@lru_cache(maxsize=256)
def count_parameters_json(config_json: str) -> ParameterCount:
    """`count_parameters` of a config.json's text, cached by the text itself (the one cache:
    `count_parameters` comes here with its config's canonical dump): in the process, and on
    disk for every process on the machine (`kg.compat.count_cache`).

    An ingest sizes a model from the config text its graph keeps; a hub of fine-tunes repeats
    the same text again and again, and keyed by the text a repeat costs a hash, not a parse
    and a canonical dump of a config whose label map can run to 20,000 entries, and a process
    that meets a config another one counted neither builds it nor imports its modeling code.

    >>> count_parameters_json('{"model_type": "gpt2", "n_embd": 64, "n_layer": 1, '
    ...                       '"n_head": 2, "vocab_size": 100, "n_positions": 32}').value
    58560

    Raises `ConfigError` as `count_parameters` does, and `ValueError` for text that is not
    JSON (NaN and Infinity included, as `count_parameters` refuses them).
    """
    config = json.loads(config_json, parse_constant=_refuse_constant)
    if not isinstance(config, dict):
        raise _not_a_mapping(config)
    kept = _kept(count_cache().get(config_json))
    if kept is None:
        kept = _count(config)
        count_cache().put(
            config_json,
            asdict(kept) if isinstance(kept, ParameterCount) else {"error": _error_fields(kept)},
        )
    if isinstance(kept, ConfigError):
        try:
            raise kept
        finally:
            # the traceback holds this frame: with the error still in its locals, each
            # uncountable config would leave a reference cycle, and the frames above it (a
            # caller iterating a store's query results) would wait for the cyclic collector,
            # which may run on another thread: pyoxigraph's results must be dropped on theirs
            del kept
    return kept


def _count(config: dict[str, Any]) -> ParameterCount | ConfigError:
    """Built on the meta device, else by the formula, else why neither could count it."""
    try:
        return _count_on_meta_device(config)
    except _CannotBuildError as exc:
        try:
            return _formula(config, why=str(exc))
        except ConfigError as error:
            return error.with_traceback(None)  # a value now: its frames are not kept alive


_ERROR_FIELDS = ("message", "field", "expected", "hint")


def _error_fields(error: ConfigError) -> dict[str, str | None]:
    return {name: getattr(error, name) for name in _ERROR_FIELDS}


def _kept(kept: Mapping[str, Any] | None) -> ParameterCount | ConfigError | None:
    """What the disk cache holds for a config (a count, or why it cannot be counted), or None
    for anything else: a miss, or an entry that is not one (counted again, and replaced)."""
    if kept is None:
        return None
    error = kept.get("error")
    if isinstance(error, dict):
        message, field, expected, hint = (error.get(name) for name in _ERROR_FIELDS)
        if not isinstance(message, str) or not all(
            value is None or isinstance(value, str) for value in (field, expected, hint)
        ):
            return None
        return ConfigError(message, field=field, expected=expected, hint=hint)
    value, method, detail = kept.get("value"), kept.get("method"), kept.get("detail")
    if type(value) is not int or method not in get_args(CountMethod) or type(detail) is not str:
        return None
    return ParameterCount(value, cast(CountMethod, method), detail)


def _not_a_mapping(config: object) -> ConfigError:
    return ConfigError(
        f"expected the mapping of a config.json, got {type(config).__name__}",
        expected="a JSON object such as {'model_type': 'llama', 'hidden_size': 4096, ...}",
    )


def _refuse_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not a JSON value")


def formula_parameters(config: Mapping[str, Any]) -> ParameterCount:
    """Estimate the parameters of a decoder-only transformer from its config's dimensions.

    With H = hidden_size, L = num_hidden_layers, V = vocab_size, n = num_attention_heads,
    k = num_key_value_heads (default n), d = head_dim (default H/n), I = intermediate_size
    (default 4·H, the GPT and Falcon convention), E = num_local_experts (default 1):

        V·H                          token embeddings
      + V·H                          LM head, unless tie_word_embeddings (default true)
      + L · ( H·n·d + 2·H·k·d + n·d·H          q, k and v, o projections
              + m·H·I·E  (+ H·E when E > 1)    MLP (m = 3 gated, 2 plain) and MoE router
              + 2·H )                          two norms
      + H                            final norm

    The MLP is gated when the activation (`hidden_act`, `activation_function` or
    `hidden_activation`) is one of `GATED_ACTIVATIONS`. Biases and learned position embeddings
    are not counted: for Llama, Mistral and Mixtral configs without biases the formula is exact
    (the corpus's 7B to 70B agree to the parameter), for others an estimate (Granite's biases:
    -0.03%; Falcon-40B against transformers' Falcon: -0.002%).

    >>> llama = {"hidden_size": 4096, "num_hidden_layers": 32, "num_attention_heads": 32,
    ...          "intermediate_size": 11008, "vocab_size": 32000, "hidden_act": "silu",
    ...          "tie_word_embeddings": False}
    >>> formula_parameters(llama).value
    6738415616
    """
    return _formula(config, why=None)


def _formula(config: Mapping[str, Any], *, why: str | None) -> ParameterCount:
    dims = read_dimensions(config)
    missing = [name for name in _FORMULA_INPUTS if getattr(dims, name) is None]
    if missing:
        raise _missing_inputs(config, missing, why)
    hidden = cast(int, dims.hidden_size)
    layers = cast(int, dims.num_hidden_layers)
    heads = cast(int, dims.num_attention_heads)
    vocab = cast(int, dims.vocab_size)
    kv_heads = cast(int, dims.kv_heads)
    head_dim = cast(int, dims.attention_head_dim)
    notes: list[str] = []
    if dims.intermediate_size is None:
        notes.append(f"intermediate_size not given: assumed 4 {_TIMES} hidden_size")
    intermediate = dims.intermediate_size or 4 * hidden
    experts = dims.num_local_experts or 1
    activation = next(
        (str(config[key]) for key in _ACTIVATION_KEYS if isinstance(config.get(key), str)), None
    )
    gated = activation is not None and activation.lower() in GATED_ACTIVATIONS
    tied = config.get("tie_word_embeddings", True) is not False

    kind, factor = ("gated", 3) if gated else ("plain", 2)
    attention = 2 * hidden * heads * head_dim + 2 * hidden * kv_heads * head_dim
    mlp = factor * hidden * intermediate * experts
    router = hidden * experts if experts > 1 else 0
    per_layer = attention + mlp + router + 2 * hidden
    embeddings = vocab * hidden * (1 if tied else 2)
    total = embeddings + layers * per_layer + hidden

    mlp_text = f"{kind} MLP {factor}{_TIMES}{hidden:,}{_TIMES}{intermediate:,}"
    if experts > 1:
        mlp_text += f"{_TIMES}{experts} experts + router {router:,}"
    head_text = "tied LM head" if tied else "+ untied LM head"
    layer_text = f"attention {attention:,} + {mlp_text} + norms {2 * hidden:,}"
    detail = (
        f"decoder formula: embeddings {vocab:,}{_TIMES}{hidden:,} ({head_text}) + "
        f"{layers} layers {_TIMES} ({layer_text}) + final norm {hidden:,}"
    )
    if why:
        detail = f"{why}; {detail}"
    if notes:
        detail += "; " + "; ".join(notes)
    return ParameterCount(total, "formula", detail)


def _missing_inputs(config: Mapping[str, Any], missing: list[str], why: str | None) -> ConfigError:
    from ontology.parameters import load_parameter_mapping

    aliases = load_parameter_mapping().generic_aliases
    accepted = "; ".join(
        " or ".join([name, *sorted(a for a, c in aliases.items() if c.canonical_key == name)])
        for name in _FORMULA_INPUTS
    )
    close = {
        name: difflib.get_close_matches(name, [str(k) for k in config], n=2, cutoff=0.6)
        for name in missing
    }
    hint = "; ".join(
        f"for {name} the config has {', '.join(found)}" for name, found in close.items() if found
    )
    reason = f"{why}; the" if why else "the"
    return ConfigError(
        f"cannot count the parameters: {reason} decoder formula needs {', '.join(missing)}, "
        "which the config does not give",
        field=missing[0],
        expected=f"a config with {accepted}",
        hint=hint or "add them to config.json, or state the parameter count",
    )


class _CannotBuildError(Exception):
    """transformers cannot build this config; the message says why, for the formula's detail."""


def _count_on_meta_device(config: dict[str, Any]) -> ParameterCount:
    model_type = config.get("model_type")
    if not isinstance(model_type, str):
        raise _CannotBuildError("the config names no model_type")
    import torch
    import transformers

    version = transformers.__version__
    known = cast(Mapping[str, Any], transformers.CONFIG_MAPPING)
    if model_type not in known:
        close = difflib.get_close_matches(model_type, list(known.keys()), n=3)
        raise _CannotBuildError(
            f"transformers {version} has no model_type {model_type!r}"
            + (f" (closest: {', '.join(close)})" if close else "")
        )
    buildable = {k: v for k, v in config.items() if k not in _IGNORED_FOR_BUILD}
    notes = [note for key, note in _IGNORED_FOR_BUILD.items() if key in config]
    if buildable.get("use_pretrained_backbone"):
        buildable["use_pretrained_backbone"] = False  # a backbone's weights are real weights
    with _quiet(), _offline():
        try:
            model_config = known[model_type].from_dict(buildable)
        except Exception as exc:  # transformers raises anything from a bad config
            raise _CannotBuildError(
                f"transformers cannot read the config: {_one_line(exc)}"
            ) from exc
        errors: list[str] = []
        for name, build in _builders(config, transformers):
            try:
                with shapes_only(), torch.device("meta"):
                    model = build(model_config)
            except Exception as exc:  # a class that cannot take this config: try the next
                errors.append(f"{name}: {_one_line(exc)}")
                continue
            total = sum(int(p.numel()) for p in model.parameters())
            built = type(model).__name__
            detail = f"{built} built on the meta device by transformers {version}"
            if _tied(model):
                detail += "; LM head tied to the input embeddings, counted once"
            if errors:
                detail += f"; could not build {'; '.join(errors)}"
            return ParameterCount(total, "meta-device", "; ".join([detail, *notes]))
    raise _CannotBuildError(f"transformers {version} cannot build it: {errors[0]}")


def _builders(
    config: Mapping[str, Any], transformers: Any
) -> Iterator[tuple[str, Callable[..., Any]]]:
    """The named architecture class first, then the Auto classes as fallbacks."""
    architectures = config.get("architectures")
    named = architectures[0] if isinstance(architectures, list) and architectures else None
    if isinstance(named, str) and named.isidentifier():
        cls = getattr(transformers, named, None)
        if isinstance(cls, type) and issubclass(cls, transformers.PreTrainedModel):
            yield named, cls
    if generates(config):
        yield "AutoModelForCausalLM", transformers.AutoModelForCausalLM.from_config
    yield "AutoModel", transformers.AutoModel.from_config


def _tied(model: Any) -> bool:
    """Whether the output embeddings are the input embeddings (one Parameter, counted once)."""
    try:
        output, inputs = model.get_output_embeddings(), model.get_input_embeddings()
    except (AttributeError, NotImplementedError):
        return False
    weight = getattr(output, "weight", None)
    return weight is not None and weight is getattr(inputs, "weight", None)


def _one_line(exc: BaseException) -> str:
    from huggingface_hub.errors import OfflineModeIsEnabled

    if isinstance(exc, OfflineModeIsEnabled):
        return "it would fetch files from the Hub, and ModelKG never downloads"
    text = str(exc).strip().splitlines()
    first = text[0] if text else ""
    return f"{type(exc).__name__}: {first[:160]}"


@contextmanager
def _quiet() -> Iterator[None]:
    """Silence transformers' logging and warnings while building (restored afterwards)."""
    from transformers.utils import logging as hf_logging

    level = hf_logging.get_verbosity()
    hf_logging.set_verbosity(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        hf_logging.set_verbosity(level)


@contextmanager
def _offline() -> Iterator[None]:
    """Hub offline mode while building, so no config can pull files (restored afterwards)."""
    from huggingface_hub import constants

    previous = constants.HF_HUB_OFFLINE
    constants.HF_HUB_OFFLINE = True
    try:
        yield
    finally:
        constants.HF_HUB_OFFLINE = previous
