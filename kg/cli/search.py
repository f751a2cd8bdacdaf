"""`modelkg search`: find models by describing them, narrowed by the graph's filters."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from kg.cli.common import ExecutorOption, RayAddressOption, StoreOption, console, err_console
from kg.cli.progress import progress_bar
from kg.errors import UsageError
from kg.executors import chosen_executor, executor_name

__all__ = ["parse_count", "search_command"]

_COUNT = re.compile(r"^(\d+(?:\.\d+)?)([KMBT]?)$", re.IGNORECASE)
_SCALE = {"": 1, "K": 10**3, "M": 10**6, "B": 10**9, "T": 10**12}


def parse_count(text: str) -> int:
    """A parameter count as people write it: `200M`, `1.5B`, `7000000`.

    >>> parse_count("200M"), parse_count("1.5b"), parse_count("12000")
    (200000000, 1500000000, 12000)
    """
    match = _COUNT.match(text.strip())
    if match is None:
        raise UsageError(
            f"`{text}` is not a parameter count", field="--max-params",
            hint="write a number with an optional K, M, B or T: 200M, 1.5B, 7000000",
        )  # fmt: skip
    return int(float(match.group(1)) * _SCALE[match.group(2).upper()])


def search_command(
    query: Annotated[
        str | None, typer.Argument(help="What you are looking for, in plain words.")
    ] = None,
    task: Annotated[list[str] | None, typer.Option("--task", help="A Hub task id.")] = None,
    primary_task: Annotated[
        list[str] | None,
        typer.Option(
            "--primary-task", help="A Hub task id the model's primary task (pipeline_tag) is."
        ),
    ] = None,
    modality: Annotated[list[str] | None, typer.Option("--modality")] = None,
    library: Annotated[list[str] | None, typer.Option("--library")] = None,
    license_: Annotated[list[str] | None, typer.Option("--license")] = None,
    language: Annotated[list[str] | None, typer.Option("--language")] = None,
    max_params: Annotated[
        str | None, typer.Option("--max-params", help="At most this many parameters: 200M, 7B.")
    ] = None,
    min_params: Annotated[str | None, typer.Option("--min-params")] = None,
    derived_from: Annotated[
        str | None, typer.Option("--derived-from", help="Only models made from this one.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", help="At most this many.")] = 10,
    threshold: Annotated[
        float | None, typer.Option("--threshold", help="Lowest similarity kept (-1 to 1).")
    ] = None,
    vector: Annotated[
        Path | None,
        typer.Option("--vector", help="Search with this vector (a JSON list) instead of words."),
    ] = None,
    model: Annotated[
        str, typer.Option("--model", help="The embedding model.")
    ] = "sentence-transformers/all-MiniLM-L6-v2",
    rebuild_index: Annotated[
        bool, typer.Option("--rebuild-index", help="Rebuild the vector index from the store.")
    ] = False,
    exact: Annotated[
        bool, typer.Option("--exact", help="Brute-force search (recall 1), no ANN index.")
    ] = False,
    metric: Annotated[
        str | None,
        typer.Option("--metric", help="Index metric: cosine (default), ip or l2 (rebuilds)."),
    ] = None,
    hnsw_m: Annotated[
        int | None, typer.Option("--hnsw-m", help="HNSW graph degree (default 16; rebuilds).")
    ] = None,
    ef_construction: Annotated[
        int | None, typer.Option("--ef-construction", help="HNSW build breadth (default 200).")
    ] = None,
    ef_search: Annotated[
        int | None, typer.Option("--ef-search", help="HNSW search breadth (default 128).")
    ] = None,
    output: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
    executor: ExecutorOption = "local",
    ray_address: RayAddressOption = None,
    store: StoreOption = None,
) -> None:
    """Find models by describing them, combined with graph filters.

    The text embedded for each model (name, tasks, size, languages, card summary) is kept in
    the graph (mkg:searchText) and shown with each hit, so you can see why it matched. The
    vector index lives beside the store and follows ingests; --rebuild-index rebuilds it.

    Example:

    \b
        modelkg search "small multilingual sentence embedding model" \\
            --task feature-extraction --max-params 200M --limit 10 --threshold 0.3
        modelkg search --rebuild-index
        modelkg search --rebuild-index --executor ray --ray-address head:6379
    """
    from kg.models.filters import ModelFilter, Range
    from kg.reason.explain import resolve_model
    from kg.search.embedder import EmbeddingService, available_models
    from kg.search.index import METRICS, IndexParameters
    from kg.search.service import SearchService
    from kg.store import open_store, store_location

    if output not in ("table", "json"):
        raise UsageError(f"unknown format `{output}`", field="--format", hint="table or json")
    if query is None and vector is None and not rebuild_index:
        raise UsageError("say what to look for", hint='modelkg search "speech recognition"')
    given: dict[str, Any] = {
        key: value
        for key, value in (("metric", metric), ("m", hnsw_m),
                           ("ef_construction", ef_construction), ("ef_search", ef_search))
        if value is not None
    }  # fmt: skip
    if metric is not None and metric not in METRICS:
        raise UsageError(f"unknown metric `{metric}`", field="--metric",
                         hint="use one of " + ", ".join(METRICS))  # fmt: skip
    kg_store = open_store(store_location(store))
    parameters = replace(IndexParameters(), **given) if given else None
    service = SearchService(
        kg_store, EmbeddingService(available_models(kg_store)), model=model, parameters=parameters
    )
    if parameters is not None and service.index().meta.parameters != parameters:
        rebuild_index = True  # the index was built with other parameters
    chosen = executor_name(executor)
    with (
        progress_bar(unit="models") as progress,
        chosen_executor(chosen, address=ray_address) as remote,
    ):
        bar = progress.add_task("embedding models", total=None)
        callbacks = {
            "on_total": lambda n: progress.update(bar, total=n),
            "on_progress": lambda n: progress.advance(bar, n),
        }
        if rebuild_index:
            summary = service.rebuild(remote, **callbacks)
            err_console.print(f"index rebuilt: {summary.embedded} model(s) embedded")
        elif service.stale():
            service.sync(executor=remote, **callbacks)
    for warning in service.warnings:
        err_console.print(f"[yellow]warning[/] {warning}")
    if query is None and vector is None:
        kg_store.close()
        return
    ranges = {}
    if max_params or min_params:
        ranges["parameterCount"] = Range(
            gte=parse_count(min_params) if min_params else None,
            lte=parse_count(max_params) if max_params else None,
        )
    spec = ModelFilter(
        tasks=tuple(task or ()), primary_tasks=tuple(primary_task or ()),
        modalities=tuple(modality or ()), libraries=tuple(library or ()),
        licenses=tuple(license_ or ()), languages=tuple(language or ()), ranges=ranges,
        derived_from=resolve_model(kg_store, derived_from).value if derived_from else None,
    )  # fmt: skip
    vector_values = None
    if vector is not None:
        try:
            vector_values = [float(v) for v in json.loads(vector.read_text(encoding="utf-8"))]
        except (OSError, ValueError, TypeError) as exc:
            raise UsageError(
                f"{vector}: not a JSON list of numbers ({exc})", field="--vector"
            ) from exc
    hits = service.search(
        query, vector=vector_values, spec=spec, limit=limit, threshold=threshold, exact=exact
    )
    from kg.models.paging import excluded

    left_out = excluded(kg_store, spec)  # a range never drops unknown values silently
    kg_store.close()
    for gap in left_out:
        err_console.print(f"[yellow]note[/] {gap.reason}")
    if output == "json":
        console.print_json(json.dumps([h.__dict__ for h in hits]))
        return
    if not hits:
        console.print("no model matched (lower --threshold or loosen the filters)")
        return
    table = Table("score", "model", "matched text", show_lines=False)
    for hit in hits:
        table.add_row(f"{hit.score:.3f}", hit.name, hit.text[:160])
    console.print(table)
