"""Benchmark: compatibility lookups at 10,000 models, against a naive scan.

The store: the corpus configs again under new hub ids (as bench/ingest.py), plus the corpus
itself, ingested, sized and reasoned (not timed). Each lookup is asked for 50 models drawn at
random; p50/p95 of ModelKG's indexed lookup against the same question answered by a naive scan
in Python over every model's profile (the baseline, same process, same profiles).

Run:  .venv/bin/python bench/compat.py [--synthetic 10000] [--queries 50]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ingest import CORPUS, make_synthetic, work_dir

from kg.compat import lookups, replacement
from kg.compat.index import CompatIndex
from kg.compat.memory import parse_memory
from kg.compat.sizing import size_models
from kg.ingest.pipeline import ingest
from kg.reason.run import reason
from kg.store import open_store


def naive_consumers(index: CompatIndex, name: str) -> list[str]:
    """The same question, by scanning every model: any output feeds any input; ranked."""
    model = index.by_name[name]
    scored = []
    for p in index.profiles.values():
        if p.iri == model.iri:
            continue
        feeds = [(o, i) for o in model.outputs for i in p.inputs if lookups._feeds(o, i)]
        if feeds:
            score = max(1.0 if o.kind == i.kind else 0.8 for o, i in feeds)
            scored.append((-score, p.name))
    return [name for _, name in sorted(scored)[:20]]


def naive_replacements(index: CompatIndex, name: str) -> list[str]:
    """The same question, by scanning every model with the same predicate and ranking."""
    model = index.by_name[name]
    scored = []
    for p in index.profiles.values():
        if p.iri == model.iri or not model.tasks or not model.tasks <= p.tasks:
            continue
        if p.inputs != model.inputs or p.outputs != model.outputs:
            continue
        if model.label_digest is not None and p.label_digest != model.label_digest:
            continue
        score = sum(c.points for c in replacement.components(index, model, p))
        scored.append((-score, p.name))
    return [name for _, name in sorted(scored)[:20]]


def naive_same_tokenizer(index: CompatIndex, name: str) -> list[str]:
    model = index.by_name[name]
    return sorted(
        p.name
        for p in index.profiles.values()
        if p.iri != model.iri and replacement.same_vocabulary(model, p)
    )


def naive_fits(index: CompatIndex, budget: int) -> list[str]:
    from kg.compat.memory import estimate_memory, fits

    found = []
    for p in index.profiles.values():
        if not p.parameters:
            continue
        head_dim = p.head_dim or (p.hidden // p.heads if p.hidden and p.heads else None)
        estimate = estimate_memory(
            parameters=p.parameters, dtype="bf16", layers=p.layers, kv_heads=p.kv_heads,
            head_dim=head_dim, seq_len=4096, batch=1, generative=p.generative,
        )  # fmt: skip
        if fits(estimate, budget):
            found.append(p.name)
    return found


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered), p95


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--synthetic", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=50)
    args = parser.parse_args()
    with work_dir("compat") as work:
        synthetic = work / "synthetic"
        make_synthetic(synthetic, args.synthetic)
        store = open_store(str(work / "store"))
        ingest([str(CORPUS), str(synthetic)], store)
        size_models(store)
        reason(store)
        start = time.perf_counter()
        index = CompatIndex.build(store)
        build = time.perf_counter() - start
    rng = random.Random(7)
    names = list(index.by_name)
    embedders = [p.name for p in index.profiles.values() if p.embedding_dimension]
    budget = parse_memory("16GB")
    cases: list[tuple[str, Callable[[str], object], Callable[[str], object], list[str]]] = [
        ("consumes", lambda n: lookups.consumers(index, n, limit=20),
         lambda n: naive_consumers(index, n), names),
        ("replacements", lambda n: lookups.replacements(index, n, limit=20),
         lambda n: naive_replacements(index, n), names),
        ("same-tokenizer", lambda n: lookups.same_tokenizer(index, n, limit=50),
         lambda n: naive_same_tokenizer(index, n), names),
        ("same-embedding-space", lambda n: lookups.same_embedding_space(index, n),
         lambda n: naive_same_tokenizer(index, n), embedders),
        ("fits 16GB (text-generation)",
         lambda _: lookups.fits(index, budget, task="text-generation", limit=20),
         lambda _: naive_fits(index, budget), names),
        ("chain A B", lambda n: lookups.chain(index, [n, names[0]]),
         lambda n: naive_consumers(index, n), names),
    ]  # fmt: skip
    rows = []
    for label, ours, naive, pool in cases:
        picks = [rng.choice(pool) for _ in range(args.queries)]
        fast, slow = [], []
        for name in picks:
            start = time.perf_counter()
            ours(name)
            fast.append(time.perf_counter() - start)
            start = time.perf_counter()
            naive(name)
            slow.append(time.perf_counter() - start)
        (f50, f95), (s50, s95) = _percentiles(fast), _percentiles(slow)
        rows.append(
            [label, f"{f50 * 1000:.2f}", f"{f95 * 1000:.2f}", f"{s50 * 1000:.2f}",
             f"{s95 * 1000:.2f}", f"{s95 / f95:,.1f}x"]
        )  # fmt: skip
    header = ["lookup", "p50 ms", "p95 ms", "naive p50 ms", "naive p95 ms", "p95 speed-up"]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    print(
        f"compat lookups over {len(index.profiles):,} models ({args.queries} queries each); "
        f"index built in {build:.2f} s"
    )
    for line in [header, ["-" * w for w in widths], *rows]:
        print(" | ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)))


if __name__ == "__main__":
    main()
