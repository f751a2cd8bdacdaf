"""Compatibility over REST: which models consume, replace, share a tokenizer or an embedding
space with a model; which fit a memory budget; whether a pipeline's steps connect.

Each answer is `kg.compat.lookups`' own, ranked and explained: a model (`id`, `iri`), a score
from 0 to 1 and the reasons, the same data GraphQL's `Model.consumers` and friends give. The
index behind them is built once per store generation and shared by every request.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import StringConstraints

from kg.compat import lookups
from kg.compat.index import CompatIndex
from kg.compat.memory import DTYPE_ALIASES, estimate_memory, parse_dtype, parse_memory, verdict
from kg.errors import InputError
from kg.models.paging import MAX_PAGE
from resolvers.errors import HttpError
from resolvers.rest import schemas
from resolvers.rest.context import ERRORS, CountedRoute, StoreDep, compat_index, find_model
from resolvers.rest.patterns import PRINTABLE, worded
from resolvers.rest.serialize import chain_steps, compat_answers, model_ref
from resolvers.threads import run_in_worker

__all__ = ["router"]

router = APIRouter(tags=["compatibility"], route_class=CountedRoute)

IndexDep = Annotated[CompatIndex, Depends(compat_index)]
First = Annotated[int, Query(ge=1, le=MAX_PAGE, description="How many answers, best first.")]
MEMORY_PATTERN = worded(
    r"^[0-9]*\.?[0-9]+([eE][+-]?[0-9]+)?([KkMmGgTt][Ii]?)?[Bb]?$",
    "is not a memory size: a number and a unit, such as `16GB`, `24GiB` or `512MB`",
)
"""A memory budget as `kg.compat.memory.parse_memory` reads it: a number, then a unit (B, KB,
MB, GB, TB, KiB ... TiB, or K, M, G, T, Ki ... Ti), any case, nothing between them."""


def _any_case(word: str) -> str:
    return "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else re.escape(c) for c in word)


DTYPE_PATTERN = worded(
    "^([Tt][Oo][Rr][Cc][Hh]\\.)?("
    + "|".join(_any_case(name) for name in sorted(DTYPE_ALIASES, key=len, reverse=True))
    + ")$",
    "is not a dtype ModelKG knows: " + ", ".join(sorted(DTYPE_ALIASES)),
)
"""Every dtype name `parse_dtype` accepts (`DTYPE_ALIASES`), any case, with torch's prefix."""

Memory = Annotated[
    str,
    Query(
        min_length=1,
        max_length=40,
        pattern=MEMORY_PATTERN,
        description="A budget such as `16GB` (10^9 bytes) or `16GiB` (2^30 bytes): more than "
        "one byte, at most an exabyte.",
    ),
]
Dtype = Annotated[
    str,
    Query(pattern=DTYPE_PATTERN, description="Weights' dtype: bf16, fp16, fp32, int8, int4, ..."),
]
SeqLen = Annotated[int, Query(ge=1, description="Tokens of KV cache per sequence.")]

Lookup = Callable[[CompatIndex, str, int], list[lookups.Answer]]


def _lookup_route(path: str, lookup: Lookup, summary: str, description: str) -> None:
    """Register `GET /models/{id}/<path>` answering `lookup` for that model."""

    async def answer(
        model_id: str, store: StoreDep, index: IndexDep, first: First = 20
    ) -> list[schemas.CompatAnswer]:
        iri = await run_in_worker(find_model, store, model_id)
        name = lookups.require(index, iri).name  # answers and errors speak of it by name
        return compat_answers(index, lookup(index, name, first))

    answer.__doc__ = description
    router.add_api_route(
        f"/models/{{model_id:path}}/{path}",
        answer,
        methods=["GET"],
        name=f"model_{path.replace('-', '_')}",
        response_model=list[schemas.CompatAnswer],
        summary=summary,
        responses=ERRORS,
    )


_lookup_route(
    "consumers", lookups.consumers, "Models that can take this model's output as input",
    "Models whose input this model's output feeds (an embedding of d feeds only models that "
    "take d), exact data kinds first.",
)  # fmt: skip
_lookup_route(
    "replacements", lookups.replacements, "Drop-in replacements for this model",
    "Models with the same tasks, inputs and outputs, shapes, label set and (where token ids "
    "cross the boundary) tokenizer; closest in size, lineage and model type first.",
)  # fmt: skip
_lookup_route(
    "same-tokenizer", lookups.same_tokenizer, "Models with the same tokenizer",
    "Models whose token ids mean what this model's mean: same tokenizer class and "
    "vocabulary, or lineage to the same base.",
)  # fmt: skip
_lookup_route(
    "same-embedding-space", lookups.same_embedding_space,
    "Models whose embeddings share this model's vector space",
    "This model and those that say they share its space (fine-tunes, adapters, quantizations "
    "with the same dimension and pooling). Equal dimension alone is not enough. A model that "
    "makes no embeddings is a 400.",
)  # fmt: skip


@router.get(
    "/models/{model_id:path}/fits",
    response_model=schemas.MemoryFit,
    summary="Whether one model fits a memory budget",
    responses={**ERRORS, 422: {"model": schemas.ErrorResponse,
                               "description": "The model's size is not known."}},
)  # fmt: skip
async def model_fits(
    model_id: str,
    store: StoreDep,
    index: IndexDep,
    memory: Memory,
    dtype: Dtype = "bf16",
    seq_len: SeqLen = 4096,
    batch: Annotated[int, Query(ge=1, description="Sequences at once.")] = 1,
) -> schemas.MemoryFit:
    """Weights in `dtype` plus the KV cache for `seq_len` tokens and `batch` sequences,
    against `memory`, with the arithmetic line by line. No runtime overhead is added: the
    lines show the margin left, for you to judge."""
    budget = parse_memory(memory)
    iri = await run_in_worker(find_model, store, model_id)
    profile = lookups.require(index, iri)
    if not profile.parameters:
        raise HttpError(
            422, "size_unknown", f"the size of `{profile.name}` is not known",
            hint="ingest it with a config.json ModelKG can count, or its weights' index "
            "(model.safetensors.index.json)",
        )  # fmt: skip
    estimate = estimate_memory(
        parameters=profile.parameters, dtype=parse_dtype(dtype), layers=profile.layers,
        kv_heads=profile.kv_heads, head_dim=profile.effective_head_dim, seq_len=seq_len,
        batch=batch, generative=profile.generative,
    )  # fmt: skip
    return schemas.MemoryFit(
        model=model_ref(profile.iri, profile.name),
        fits=estimate.total_bytes <= budget,
        total_bytes=estimate.total_bytes,
        lines=[*estimate.lines, verdict(estimate, budget)],
    )


@router.get(
    "/fits",
    response_model=schemas.FitsAnswer,
    summary="Models that fit a memory budget",
    responses={400: ERRORS[400]},
)
async def fits(
    index: IndexDep,
    memory: Memory,
    task: Annotated[
        str | None,
        Query(min_length=1, pattern=PRINTABLE, description="Only models performing this task."),
    ] = None,
    dtype: Dtype = "bf16",
    seq_len: SeqLen = 4096,
    first: First = 20,
) -> schemas.FitsAnswer:
    """Models whose weights (in `dtype`) and KV cache fit in `memory`, the largest share of
    the budget first, each with the arithmetic as its reasons; `unsized` lists the models
    left out because their size is not known."""
    budget = parse_memory(memory)
    try:
        answers, unsized = lookups.fits(
            index, budget, dtype=dtype, seq_len=seq_len, task=task, limit=first
        )
    except InputError as exc:
        raise HttpError(400, "bad_parameter", exc.message, field="task", hint=exc.hint) from exc
    return schemas.FitsAnswer(items=compat_answers(index, answers), unsized=unsized)


@router.get(
    "/chain",
    response_model=list[schemas.ChainStep],
    summary="Does each model's output feed the next one's input?",
    responses={400: ERRORS[400]},
)
async def chain(
    index: IndexDep,
    models: Annotated[
        list[Annotated[str, StringConstraints(min_length=1, pattern=PRINTABLE)]],
        Query(min_length=2, description="Two or more models, in pipeline order."),
    ],
) -> list[schemas.ChainStep]:
    """For `?models=A&models=B&models=C`: does A's output feed B, and B's feed C? Each step
    says why, or where the pipeline breaks."""
    try:
        steps = lookups.chain(index, models)
    except InputError as exc:
        raise HttpError(400, "bad_parameter", exc.message, field="models", hint=exc.hint) from exc
    return chain_steps(steps)
