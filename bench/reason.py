"""Benchmark: reasoning, full and incremental.

Stores: the shared corpus, and a synthetic 10,000-model store (the corpus configs again under
new hub ids, as in bench/ingest.py). For each: a full `reason --full` (seconds, inferred facts),
then re-deriving one model after re-ingesting it with a changed config (`reason_models`, p50 over
repeats) against the full rebuild measured in the same run (ratio).

Run:  .venv/bin/python bench/reason.py [--synthetic 10000] [--repeats 20]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ingest import CORPUS, make_synthetic, work_dir

from kg.ingest.pipeline import ingest
from kg.reason.engine import Reasoner
from kg.reason.run import reason, reason_models
from kg.store import open_store


def _inferred_facts(store: object) -> int:
    from kg.store.embedded import EmbeddedStore

    assert isinstance(store, EmbeddedStore)
    result = store.query(
        "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?w mkg:concludes ?f } "
        'FILTER(CONTAINS(STR(?g), "/graph/inferred/")) }'
    )
    for row in result:  # type: ignore[union-attr]
        return int(row["n"].value)  # type: ignore[index,union-attr]
    return 0


def bench(name: str, source: Path, work: Path, repeats: int) -> list[str]:
    store = open_store(str(work / f"{name}-store"))
    ingest([str(source)], store)
    Reasoner.default()  # the ontology and its OWL RL closure, loaded once per process
    start = time.perf_counter()
    full = reason(store, full=True)
    full_seconds = time.perf_counter() - start
    facts = _inferred_facts(store)
    # one model, re-ingested with a changed config, then re-derived alone
    folder = next(p for p in sorted(source.iterdir()) if (p / "config.json").is_file())
    copy = work / f"{name}-one"
    shutil.copytree(folder, copy)
    for path in copy.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    timings = []
    for index in range(repeats):
        config = json.loads((copy / "config.json").read_text())
        config["modelkg_bench_revision"] = index
        (copy / "config.json").write_text(json.dumps(config))
        summary = ingest([str(copy)], store)
        start = time.perf_counter()
        reason_models(store, summary.written)
        timings.append(time.perf_counter() - start)
    p50 = statistics.median(timings)
    store.close()
    return [
        name,
        f"{full.derived:,}",
        f"{full_seconds:.2f}",
        f"{facts:,}",
        f"{p50 * 1000:.1f}",
        f"{full_seconds / p50:,.0f}x",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--synthetic", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    with work_dir("reason") as work:
        synthetic = work / "synthetic"
        make_synthetic(synthetic, args.synthetic)
        rows = [
            bench("corpus", CORPUS, work, args.repeats),
            bench(f"synthetic {args.synthetic:,}", synthetic, work, args.repeats),
        ]
    header = ["store", "models", "full s", "inferred facts", "one model p50 ms", "full / one"]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    print("reasoning benchmark; baseline = the full rebuild, measured in the same run")
    for line in [header, ["-" * w for w in widths], *rows]:
        print(" | ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)))


if __name__ == "__main__":
    main()
