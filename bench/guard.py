"""What the parse-based SPARQL guard costs, next to what it guards (issue 11's target: < 1 ms p50).

Measured in one process, on one store (the bundled example models, or `--store PATH`):
- baseline: pyoxigraph running the query in process (no guard, no worker), as before;
- the guard alone: bounds, Traqula parse in V8, algebra walk, SERVICE check;
- the query through a worker process over a checkpoint (what `/sparql` now does), without HTTP.

    .venv/bin/python bench/guard.py [--store PATH] [--runs 500]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from kg.ingest.pipeline import ingest
from kg.sparql.guard import check_query
from kg.sparql.isolation import IsolatedQueries
from kg.sparql.parse import parse_query
from kg.store.embedded import EmbeddedStore

QUERIES = {
    "lookup": "SELECT ?m ?h WHERE { ?m a mkg:Model ; mkg:hiddenSize ?h . FILTER(?h >= 384) } "
    "ORDER BY ?m LIMIT 10",
    "aggregate": "SELECT ?t (COUNT(?m) AS ?n) WHERE { ?m mkg:performsTask ?t } GROUP BY ?t",
}


def _p50(run: Callable[[], object], runs: int) -> float:
    for _ in range(20):
        run()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path)
    parser.add_argument("--runs", type=int, default=500)
    args = parser.parse_args()
    if args.store is None:
        args.store = Path(tempfile.mkdtemp()) / "kg"
        fresh = EmbeddedStore.open(args.store)
        ingest([str(Path(__file__).parent.parent / "examples" / "models")], fresh)
        fresh.close()
    store = EmbeddedStore.open(args.store)
    workers = IsolatedQueries(store, workers=1, timeout=60)
    loop = asyncio.new_event_loop()
    print(f"store: {args.store} ({store.count_models()} models), {args.runs} runs each\n")
    print(
        "| query | pyoxigraph in process p50 ms | guard p50 ms | guard / query | "
        "worker process p50 ms | worker / in process |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name, text in QUERIES.items():
        baseline = _p50(lambda t=text: list(store.query(t)), args.runs)  # type: ignore[call-overload]
        guard = _p50(lambda t=text: check_query(parse_query(t)), args.runs)
        isolated = _p50(
            lambda t=text: loop.run_until_complete(
                workers.run(t, media_type="application/sparql-results+json", client="bench")
            ),
            args.runs,
        )
        print(
            f"| {name} | {baseline:.3f} | {guard:.3f} | {guard / baseline:.2f}x | "
            f"{isolated:.3f} | {isolated / baseline:.2f}x |"
        )
    workers.close()
    store.close()


if __name__ == "__main__":
    main()
