"""Benchmark: ingest throughput against same-run baselines.

Datasets:
  corpus     the shared corpus (../shared/corpus/hf, ~146 real models with cards, tokenizer
             configs, sentence-transformers files, adapters)
  synthetic  N models made from the corpus: each corpus config.json again under a new hub id
             (`synthetic/model-000123`), config only, as the issue describes

Methods, each run in a fresh process on a fresh on-disk store (so peak RSS is its own):
  modelkg          `kg.ingest.pipeline.ingest` as the CLI runs it: read, compiled SHACL, write
  bulk-load        baseline (a): pyoxigraph `bulk_load` of the very same quads (the floor)
  pyshacl-per-model baseline (b): the same ingest, validating model by model with pyshacl
                   (on a sample: it runs at ~10 models/s)

Run:  .venv/bin/python bench/ingest.py [--synthetic 10000] [--pyshacl-sample 300]
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus" / "hf"


@contextmanager
def work_dir(name: str, given: Path | None = None, *, keep: bool = False) -> Iterator[Path]:
    """A benchmark's work folder: `given`, else a fresh temp dir; removed after unless `keep`."""
    work = given or Path(tempfile.mkdtemp(prefix=f"modelkg-bench-{name}-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        yield work
    finally:
        if not keep:
            shutil.rmtree(work, ignore_errors=True)


def require_corpus() -> None:
    """Stop with the fix when the shared corpus is not beside this checkout: a benchmark of
    nothing would otherwise print a table of empty stores."""
    if not any(CORPUS.glob("*/config.json")):
        raise SystemExit(
            f"no corpus at {CORPUS}: run the benchmark from a checkout with ../shared beside it"
        )


def cold_counts() -> dict[str, str]:
    """The environment of a process that counts every config afresh: a new, empty parameter
    count cache (`kg.compat.count_cache`), so each measured ingest pays for its builds as a
    first ingest on a machine does, whatever ran before it (removed when the bench ends)."""
    folder = tempfile.mkdtemp(prefix="modelkg-bench-counts-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return {"MODELKG_CACHE_DIR": folder}


def make_synthetic(target: Path, count: int) -> None:
    """`count` model folders: the corpus configs again, each under a new hub id."""
    require_corpus()
    configs = sorted(CORPUS.glob("*/config.json"))
    target.mkdir(parents=True, exist_ok=True)
    for index in range(count):
        folder = target / f"m{index:06d}"
        folder.mkdir(exist_ok=True)
        (folder / "config.json").write_bytes(configs[index % len(configs)].read_bytes())
        (folder / "PROVENANCE.json").write_text(
            json.dumps({"hub_id": f"synthetic/model-{index:06d}"})
        )


def _store_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def _peak_rss_mb() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) / 1024


def phase_modelkg(source: Path, store: Path, engine: str, limit: int | None) -> dict[str, float]:
    """Ingest `source` with ModelKG into a fresh store."""
    from kg.ingest.pipeline import ingest
    from kg.ingest.sources import discover
    from kg.store import open_store

    opened = open_store(str(store))
    found = discover(str(source))
    if limit is not None:
        found.sources = found.sources[:limit]
    baseline_bytes = _store_bytes(store)
    start = time.perf_counter()
    summary = ingest([], opened, engine=engine, discovery=found)
    opened.close()
    seconds = time.perf_counter() - start
    models = len(summary.ingested)
    return {
        "models": models,
        "rejected": len(summary.rejected),
        "triples": summary.triples,
        "seconds": seconds,
        "bytes_per_model": (_store_bytes(store) - baseline_bytes) / max(models, 1),
        "rss_mb": _peak_rss_mb(),
    }


def phase_bulk(nquads: Path, store: Path) -> dict[str, float]:
    """Baseline (a): bulk-load the quads ModelKG wrote into a fresh pyoxigraph store."""
    from pyoxigraph import RdfFormat, Store

    data = nquads.read_bytes()
    lines = data.count(b"\n")
    start = time.perf_counter()
    target = Store(str(store))
    target.bulk_load(data, format=RdfFormat.N_QUADS)
    target.flush()
    seconds = time.perf_counter() - start
    del target
    return {
        "triples": lines,
        "seconds": seconds,
        "bytes": _store_bytes(store),
        "rss_mb": _peak_rss_mb(),
    }


def _run_phase(*args: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--phase", *args],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1", **cold_counts()},
    )
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def _export_model_quads(store: Path, target: Path) -> None:
    from kg.store import open_store

    opened = open_store(str(store), read_only=True)
    from pyoxigraph import RdfFormat, serialize

    target.write_bytes(serialize(opened.quads(vocabulary=False), format=RdfFormat.N_QUADS) or b"")


def bench_dataset(name: str, source: Path, work: Path, pyshacl_sample: int) -> list[list[str]]:
    rows: list[list[str]] = []
    store = work / f"{name}-modelkg"
    ours = _run_phase("modelkg", str(source), str(store), "compiled", "")
    nquads = work / f"{name}.nq"
    _export_model_quads(store, nquads)
    bulk = _run_phase("bulk", str(nquads), str(work / f"{name}-bulk"))
    bulk_rate = bulk["triples"] / bulk["seconds"]
    models = ours["models"]
    sample = min(pyshacl_sample, int(models))
    slow = _run_phase("modelkg", str(source), str(work / f"{name}-pyshacl"), "pyshacl", str(sample))

    def row(method: str, m: float, triples: float, seconds: float, bpm: float, rss: float) -> None:
        rate = triples / seconds
        rows.append(
            [
                name,
                method,
                f"{int(m):,}",
                f"{int(triples):,}",
                f"{seconds:.2f}",
                f"{m / seconds:,.0f}" if m else "-",
                f"{rate:,.0f}",
                f"{rate / bulk_rate:.2f}",
                f"{bpm:,.0f}",
                f"{rss:,.0f}",
            ]
        )

    row("modelkg (compiled SHACL)", models, ours["triples"], ours["seconds"],
        ours["bytes_per_model"], ours["rss_mb"])  # fmt: skip
    row("(a) pyoxigraph bulk load", models, bulk["triples"], bulk["seconds"],
        bulk["bytes"] / max(models, 1), bulk["rss_mb"])  # fmt: skip
    row(f"(b) pyshacl per model, {sample} models", slow["models"], slow["triples"],
        slow["seconds"], slow["bytes_per_model"], slow["rss_mb"])  # fmt: skip
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--synthetic", type=int, default=10_000)
    parser.add_argument("--pyshacl-sample", type=int, default=300)
    parser.add_argument("--phase", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        kind, *rest = args.phase
        if kind == "modelkg":
            source, store, engine, limit = rest
            result = phase_modelkg(Path(source), Path(store), engine, int(limit) if limit else None)
        else:
            result = phase_bulk(Path(rest[0]), Path(rest[1]))
        print(json.dumps(result))
        return
    with work_dir("ingest") as work:
        synthetic = work / "synthetic"
        make_synthetic(synthetic, args.synthetic)
        rows = bench_dataset("corpus", CORPUS, work, args.pyshacl_sample)
        rows += bench_dataset(f"synthetic {args.synthetic:,}", synthetic, work, args.pyshacl_sample)
    header = ["dataset", "method", "models", "triples", "s", "models/s", "triples/s",
              "vs bulk", "store B/model", "peak RSS MB"]  # fmt: skip
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    print(f"ingest benchmark, {os.cpu_count()} cores; ratio = triples/s over the bulk load's")
    for line in [header, ["-" * w for w in widths], *rows]:
        print(" | ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)))


if __name__ == "__main__":
    main()
