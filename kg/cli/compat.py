"""`modelkg compat ...`: the compatibility lookups, each answer with its reasons."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Annotated, Literal

import typer
from rich.markup import escape

from kg.cli.common import StoreOption, console
from kg.compat import lookups
from kg.compat.index import CompatIndex
from kg.compat.memory import format_bytes, parse_memory
from kg.store import open_store, store_location

__all__ = ["compat_app"]

compat_app = typer.Typer(
    help="Compatibility lookups: what consumes a model's output, what can replace it, which "
    "models share its tokenizer or embedding space, what fits in memory. They read what "
    "`modelkg ingest` derived (tasks, input/output types, sizes). Every score is printed with "
    "what it is made of; --format json gives the same as data.\n\n"
    "Example:\n\n\b\n    modelkg compat fits --memory 16GB --task text-generation",
    no_args_is_help=True,
)
Model = Annotated[str, typer.Argument(help="A hub id (org/name), a model name or an IRI.")]
Limit = Annotated[int, typer.Option("--limit", "-n", help="At most this many answers.")]
Format = Annotated[
    Literal["text", "json"],
    typer.Option("--format", "-f", help="text (for people) or json (answers with components)."),
]


def _index(store: str | None) -> CompatIndex:
    return CompatIndex.build(open_store(store_location(store), read_only=True))


def _print(
    answers: list[lookups.Answer], empty: str, fmt: str = "text", notes: tuple[str, ...] = ()
) -> None:
    if fmt == "json":
        console.print_json(
            json.dumps({"answers": [asdict(answer) for answer in answers], "notes": list(notes)})
        )
        return
    for answer in answers:
        console.print(f"[bold]{escape(answer.model)}[/]  ({answer.case}, score {answer.score})")
        for part in answer.components:
            console.print(f"    {part.name} {part.points:g}/{part.weight:g}: {escape(part.why)}")
        for reason in answer.reasons:
            console.print(f"    {escape(reason)}")
    console.print(f"{len(answers)} answer(s)" if answers else empty)
    for note in notes:
        console.print(escape(note))


@compat_app.command("consumes")
def consumes_command(
    model: Model, limit: Limit = 20, fmt: Format = "text", store: StoreOption = None
) -> None:
    """Models that can take MODEL's output as their input (types and shapes agree).

    Example:

    \b
        modelkg compat consumes openai/whisper-base
    """
    _print(lookups.consumers(_index(store), model, limit), "no model takes this output", fmt)


@compat_app.command("replacements")
def replacements_command(
    model: Model, limit: Limit = 20, fmt: Format = "text", store: StoreOption = None
) -> None:
    """Drop-in replacements for MODEL: same tasks, inputs, outputs, labels and tokenizer.

    Ranked by size + lineage + family + tokenizer (each part printed with its points), then
    by closeness in size, lineage and name. Adapters come last, as "needs base X".

    Example:

    \b
        modelkg compat replacements meta-llama/Llama-2-7b-hf
    """
    _print(lookups.replacements(_index(store), model, limit), "no drop-in replacement known", fmt)


@compat_app.command("same-tokenizer")
def same_tokenizer_command(
    model: Model, limit: Limit = 50, fmt: Format = "text", store: StoreOption = None
) -> None:
    """Models whose token ids mean what MODEL's mean.

    Example:

    \b
        modelkg compat same-tokenizer meta-llama/Llama-2-7b-hf
    """
    _print(
        lookups.same_tokenizer(_index(store), model, limit), "no model shares its tokenizer", fmt
    )


@compat_app.command("same-embedding-space")
def same_space_command(
    model: Model, limit: Limit = 50, fmt: Format = "text", store: StoreOption = None
) -> None:
    """Other models whose vectors are comparable with MODEL's; equal dimension is not enough.

    Example:

    \b
        modelkg compat same-embedding-space sentence-transformers/all-MiniLM-L6-v2
    """
    index = _index(store)
    answers = lookups.same_embedding_space(index, model, limit)
    others = lookups.unrelated_same_dimension(index, model)
    notes = (
        ("not the same space despite the same dimension (no lineage link): " + ", ".join(others),)
        if others
        else ()
    )
    _print(answers, "no other model shares its embedding space", fmt, notes)


@compat_app.command("fits")
def fits_command(
    memory: Annotated[
        str, typer.Option("--memory", help="Budget: 16GB (10^9 bytes), 16GiB (2^30), 512MB...")
    ],
    dtype: Annotated[
        str, typer.Option("--dtype", help="fp32, fp16, bf16, int8, int4, fp8.")
    ] = "bf16",
    seq_len: Annotated[int, typer.Option("--seq-len", help="Tokens in the KV cache.")] = 4096,
    batch: Annotated[int, typer.Option("--batch", help="Sequences at once.")] = 1,
    task: Annotated[
        str | None, typer.Option("--task", help="Only models performing this task.")
    ] = None,
    limit: Limit = 50,
    fmt: Format = "text",
    store: StoreOption = None,
) -> None:
    """Models whose weights plus KV cache fit in a memory budget, with the arithmetic.

    Example:

    \b
        modelkg compat fits --memory 16GB --dtype bf16 --seq-len 4096 --task text-generation
    """
    budget = parse_memory(memory)
    answers, unsized = lookups.fits(
        _index(store), budget, dtype=dtype, seq_len=seq_len, batch=batch, task=task, limit=limit
    )
    notes: tuple[str, ...] = ()
    if unsized:
        notes = (
            f"{len(unsized)} model(s) left out: their size is not known (no parameter count "
            "stated or in a weights header, and none countable from a config): "
            + ", ".join(unsized),
        )
    _print(answers, f"nothing fits in {format_bytes(budget)}", fmt, notes)


@compat_app.command("chain")
def chain_command(
    models: Annotated[list[str], typer.Argument(help="Two or more models, in pipeline order.")],
    store: StoreOption = None,
) -> None:
    """Check a pipeline A B C: does each model's output feed the next one's input?

    Example:

    \b
        modelkg compat chain openai/whisper-base meta-llama/Llama-2-7b-hf
    """
    if len(models) < 2:
        raise typer.BadParameter("name at least two models", param_hint="MODELS")
    steps = lookups.chain(_index(store), models)
    for step in steps:
        mark = "[green]ok[/]" if step.ok else "[red]breaks[/]"
        console.print(f"{escape(step.producer)} -> {escape(step.consumer)}: {mark}")
        for reason in step.reasons:
            console.print(f"    {escape(reason)}")
    if not all(step.ok for step in steps):
        raise typer.Exit(1)
