"""`modelkg reason` and `modelkg explain`."""

from __future__ import annotations

from contextlib import nullcontext
from typing import Annotated

import typer
from pyoxigraph import NamedNode, Triple
from rich.markup import escape

from kg.cli.common import ExecutorOption, RayAddressOption, StoreOption, console
from kg.cli.progress import progress_bar
from kg.executors import chosen_executor, executor_name
from kg.reason.explain import explain, primary_task
from kg.reason.run import reason
from kg.repair import tracked
from kg.store import open_store, store_location

__all__ = ["explain_command", "reason_command"]


def reason_command(
    full: Annotated[
        bool, typer.Option("--full", help="Re-derive every model, not only the stale ones.")
    ] = False,
    sizes: Annotated[
        bool,
        typer.Option(
            "--sizes/--no-sizes",
            help="Also count parameters exactly (meta device) where the metadata states none.",
        ),
    ] = True,
    executor: ExecutorOption = "local",
    ray_address: RayAddressOption = None,
    store: StoreOption = None,
) -> None:
    """Derive tasks and other facts with the rules in ontology/rules, into inferred graphs.

    Only models whose sources (or whose base models' sources) changed since their last
    derivation are re-derived; --full rebuilds every inferred graph and gives the same result.
    The run is recorded in the store's journal: if it is cut off (a crash, Ctrl-C), the next
    write finishes it. With --executor ray, batches are derived by Ray tasks.

    Example:

    \b
        modelkg reason --full
        modelkg reason --full --executor ray --ray-address head:6379
    """
    chosen = executor_name(executor)
    kg_store = open_store(store_location(store))
    if sizes:
        from kg.compat.sizing import size_models

        sized = size_models(kg_store)
        console.print(
            f"sized {sized.counted} model(s) ({sized.unchanged} unchanged, "
            f"{len(sized.failed)} without a countable config)"
        )
    with (
        tracked(kg_store, "reason") if full else nullcontext(),
        progress_bar(unit="models") as progress,
        chosen_executor(chosen, address=ray_address) as run,
    ):
        bar = progress.add_task("deriving", total=None)
        summary = reason(
            kg_store,
            full=full,
            on_progress=lambda n: progress.advance(bar, n),
            executor=run,
        )
    kg_store.close()
    console.print(
        f"derived {summary.derived} model(s), {summary.facts} fact(s) from {summary.rules} "
        f"rule(s); {summary.unchanged} unchanged, {summary.removed} orphaned graph(s) removed"
    )


def explain_command(
    model: Annotated[str, typer.Argument(help="A hub id (org/name), a model name or an IRI.")],
    store: StoreOption = None,
) -> None:
    """List every inferred fact about a model with the rule and premises that produced it.

    First the model's primary task (the one the Hub would show as its pipeline_tag) and why it
    was chosen; then every fact. A premise read from a file names the file and the key
    (config.json: n_embd).

    Example:

    \b
        modelkg explain openai-community/gpt2
    """
    kg_store = open_store(store_location(store), read_only=True)
    explanations = explain(kg_store, model)
    primary = primary_task(kg_store, model)
    if primary is not None:
        console.print(
            f"[bold]primary task: {escape(primary.task.id)}[/]  ({escape(primary.reason)}; "
            f"rule {primary.rule})"
        )
    from kg.cli.query import model_names

    triples = [t for item in explanations for t in (item.fact, *(p.triple for p in item.premises))]
    named = {
        part.value
        for triple in triples
        for part in (triple.subject, triple.object)
        if isinstance(part, NamedNode)
    }
    names = model_names(kg_store, named)  # a local model by its name, not its hash IRI
    for item in explanations:
        console.print(f"[bold]{escape(_show(item.fact, names))}[/]  (rule {item.rule})")
        for premise in item.premises:
            where = (
                f"  [{premise.source_file}: {premise.source_key}]" if premise.source_file else ""
            )
            console.print(f"    because {escape(_show(premise.triple, names))}{escape(where)}")
    console.print(f"{len(explanations)} inferred fact(s)")


def _show(triple: Triple, names: dict[str, str]) -> str:
    from kg.cli.query import compact

    parts = (triple.subject, triple.predicate, triple.object)
    return " ".join(
        names.get(part.value, compact(part)) if isinstance(part, NamedNode) else compact(part)
        for part in parts
    )
