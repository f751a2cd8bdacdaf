"""Benchmark: hub scale. Ingest N synthetic models three ways, then look models up at that size.

Synthetic models: the corpus's 145 real configs (../shared/corpus/hf/*/config.json) again and
again, model i being config i mod 145 under the hub id `synthetic/model-000000i`. They are not
copied to disk: each is a source naming the corpus file and its own hub id (1,000,000 copies
would be 13 GB of small files), so reading, validating, deriving, sizing and writing are all
real, and only the file system's cache is kinder than a cold hub mirror would be.

Ingests, each in a fresh process on a fresh store (so its peak RSS is its own), as `modelkg
ingest` runs them (`register`: SHACL, inferred graphs, sizes, in batches; 2 workers):
  embedded     into a pyoxigraph store on disk
  oxigraph     into an Oxigraph server (`oxigraph serve`, from the venv) over sparql+http://
  ray          into a store on disk, the chunks run as Ray tasks on a local instance (2 CPUs)
Baselines, same run, same quads (the embedded store exported as N-Quads with the ontology):
  bulk-load    pyoxigraph `Store.bulk_load` into a fresh store (the floor for one process)
  oxigraph load  `oxigraph load --location DIR --file X.nq`
Lookups at that size (served by `modelkg serve` over the embedded store, one client,
`Cache-Control: no-cache`, ids cycled over the synthetic set): one model (REST), a compat
lookup (REST replacements), a GraphQL page (models(first: 20)), a search (REST, after
`modelkg search --rebuild-index`, whose time is reported too).

Targets: ingest >= 0.5x the bulk load's triple rate; >= 300 models/s into the embedded store;
lookups p95 < 100 ms and RSS < 8 GB (at 1.2 M models). No timing is asserted: the table is the
output, with a JSON of everything under bench/results/.

Run:    .venv/bin/python bench/scale.py [--models 100000] [--work DIR] [--skip ray,oxigraph]
Quick:  .venv/bin/python bench/scale.py --models 2000 --lookups 50
At 1,000,000 models a store takes ~40 GB of disk and each ingest about an hour on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ingest import _peak_rss_mb as peak_rss_mb
from ingest import _store_bytes as store_bytes
from ingest import cold_counts
from loadgen import percentile
from serve import free_port, print_table, serving

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus" / "hf"
VENV = ROOT / ".venv" / "bin"
RESULTS = ROOT / "bench" / "results"


def synthetic_discovery(count: int) -> Any:
    """`count` virtual model sources: corpus configs under new hub ids (see the docstring)."""
    from kg.ingest.sources import Discovery
    from kg.store.model_graph import ModelSource

    configs = sorted(CORPUS.glob("*/config.json"))
    sources = [
        ModelSource(
            kind="model-folder",
            location=configs[i % len(configs)].parent,
            files={"config.json": configs[i % len(configs)]},
            hub_id=f"synthetic/model-{i:07d}",
            hub_id_origin="bench",
        )
        for i in range(count)
    ]
    return Discovery(sources=sources)


# --- phases: each runs in its own process (`--phase NAME`), printing one JSON line ----------


def phase_ingest(store: str, models: int, executor: str) -> dict[str, Any]:
    from kg.executors import executor_for
    from kg.ingest.register import register
    from kg.store import open_store

    found = synthetic_discovery(models)
    opened = open_store(store)
    started = time.perf_counter()
    with executor_for("ray" if executor == "ray" else "local", workers=2) as run:
        done = register([], opened, discovery=found, executor=run)
    seconds = time.perf_counter() - started
    opened.close()
    return {
        "models": len(done.ingest.ingested),
        "rejected": len(done.ingest.rejected),
        "triples": done.ingest.triples,
        "seconds": seconds,
        "rss_mb": peak_rss_mb(),
    }


def phase_bulk(nquads: str, store: str) -> dict[str, Any]:
    from pyoxigraph import RdfFormat, Store

    started = time.perf_counter()
    target = Store(store)
    target.bulk_load(path=nquads, format=RdfFormat.N_QUADS)
    target.flush()
    return {"seconds": time.perf_counter() - started, "rss_mb": peak_rss_mb()}


PHASES = {"ingest": phase_ingest, "bulk": phase_bulk}


def run_phase(name: str, *args: str) -> dict[str, Any]:
    """A phase in a fresh process; its JSON line."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT), **cold_counts()}
    done = subprocess.run(
        [sys.executable, __file__, "--phase", name, *args],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        sys.exit(f"phase {name} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


# --- servers ------------------------------------------------------------------------------


def _rss_mb(pid: int) -> float:
    import psutil

    try:
        process = psutil.Process(pid)
        return float(
            sum(p.memory_info().rss for p in [process, *process.children(recursive=True)]) / 2**20
        )
    except psutil.Error:
        return 0.0


# --- lookups -------------------------------------------------------------------------------


def lookups(base: str, models: int, count: int) -> dict[str, dict[str, float]]:
    """p50/p95 ms of each lookup, one client, every answer computed (no-cache)."""
    step = max(1, models // count)
    ids = [f"synthetic/model-{i:07d}" for i in range(0, models, step)][:count]
    page = "{ models(first: 20%s) { edges { cursor node { id tasks { id } } } } }"
    texts = ["small text classification model", "speech recognition", "image classifier",
             "multilingual translation", "sentence embeddings"]  # fmt: skip
    out: dict[str, dict[str, float]] = {}
    headers = {"Cache-Control": "no-cache"}
    with httpx.Client(base_url=base, headers=headers, timeout=120) as client:

        def timed(name: str, call: Any, n: int) -> None:
            samples = []
            for i in range(n):
                started = time.perf_counter()
                answer = call(i)
                samples.append(time.perf_counter() - started)
                if answer.status_code != 200:
                    sys.exit(f"{name}: {answer.status_code} {answer.text[:300]}")
            samples.sort()
            out[name] = {
                "p50": percentile(samples, 0.50) * 1000,
                "p95": percentile(samples, 0.95) * 1000,
            }

        timed("model (REST)", lambda i: client.get(f"/api/v1/models/{ids[i % len(ids)]}"), count)
        timed(
            "compat (replacements)",
            lambda i: client.get(f"/api/v1/models/{ids[i % len(ids)]}/replacements"),
            count,
        )
        cursors: list[str] = [""]

        def graphql(i: int) -> httpx.Response:
            after = cursors[i % len(cursors)]
            query = page % (f', after: "{after}"' if after else "")
            answer = client.post("/graphql", json={"query": query})
            edges = answer.json().get("data", {}).get("models", {}).get("edges", [])
            if edges and len(cursors) < 20:
                cursors.append(edges[-1]["cursor"])
            return answer

        timed("GraphQL page", graphql, count)
        timed(
            "search",
            lambda i: client.post("/api/v1/search", json={"query": texts[i % len(texts)]}),
            count,
        )
    return out


# --- the run -------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    parser.add_argument("--models", type=int, default=100_000)
    parser.add_argument("--lookups", type=int, default=200, help="requests per lookup kind")
    parser.add_argument("--work", type=Path, help="work dir (default: a fresh temp dir)")
    parser.add_argument("--skip", default="", help="comma-separated: oxigraph, ray, lookups")
    parser.add_argument("args", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ["HF_HUB_OFFLINE"] = "1"  # every phase and server this run starts is offline
    if args.phase:
        given = [int(a) if a.isdigit() else a for a in args.args]
        print(json.dumps(PHASES[args.phase](*given)))
        return
    work = args.work or Path(tempfile.mkdtemp(prefix="modelkg-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    try:
        run(args.models, args.lookups, work, skip)
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)


def run(models: int, count: int, work: Path, skip: set[str]) -> None:
    results: dict[str, Any] = {"models": models, "when": datetime.now(UTC).isoformat()}
    rows: list[list[str]] = []
    embedded = work / "embedded"
    shutil.rmtree(embedded, ignore_errors=True)
    ours = run_phase("ingest", str(embedded), str(models), "local")
    ours["bytes"] = store_bytes(embedded)
    results["embedded"] = ours
    nquads = work / "all.nq"
    subprocess.run(
        [str(VENV / "modelkg"), "export", "--store", str(embedded), "--format", "nquads",
         "--include-ontology", "-o", str(nquads)],
        check=True, capture_output=True, env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )  # fmt: skip
    quads = sum(1 for _ in nquads.open("rb"))
    results["quads"] = quads
    bulk_store = work / "bulk"
    shutil.rmtree(bulk_store, ignore_errors=True)
    bulk = run_phase("bulk", str(nquads), str(bulk_store))
    results["bulk"] = bulk
    load_store = work / "oxigraph-load"
    shutil.rmtree(load_store, ignore_errors=True)
    started = time.perf_counter()
    subprocess.run(
        [str(VENV / "oxigraph"), "load", "--location", str(load_store), "--file", str(nquads)],
        check=True, capture_output=True,
    )  # fmt: skip
    results["oxigraph_load"] = {"seconds": time.perf_counter() - started}
    shutil.rmtree(bulk_store, ignore_errors=True)
    shutil.rmtree(load_store, ignore_errors=True)

    def row(name: str, seconds: float, rss: float | str, size: int | None) -> list[str]:
        rate = quads / seconds
        return [
            name, f"{models / seconds:,.0f}", f"{rate:,.0f}",
            f"{rate / (quads / bulk['seconds']):.2f}x", f"{seconds:,.1f}",
            f"{rss:,.0f}" if isinstance(rss, float) else rss,
            f"{size / 2**20:,.0f}" if size is not None else "",
        ]  # fmt: skip

    rows.append(row("modelkg ingest, embedded", ours["seconds"], ours["rss_mb"], ours["bytes"]))
    if "oxigraph" not in skip:
        location = work / "oxigraph-server"
        shutil.rmtree(location, ignore_errors=True)
        port = free_port()
        with serving(
            [str(VENV / "oxigraph"), "serve", "--location", str(location),
             "--bind", f"127.0.0.1:{port}"],
            f"http://127.0.0.1:{port}/query?query=ASK%7B%7D", work / "oxigraph.log",
        ) as server:  # fmt: skip
            remote = run_phase("ingest", f"sparql+http://127.0.0.1:{port}", str(models), "local")
            remote["server_rss_mb"] = _rss_mb(server)
        remote["bytes"] = store_bytes(location)
        results["oxigraph"] = remote
        shutil.rmtree(location, ignore_errors=True)
        rows.append(
            row(
                "modelkg ingest, Oxigraph server", remote["seconds"],
                f"{remote['rss_mb']:,.0f} + server {remote['server_rss_mb']:,.0f}",
                remote["bytes"],
            )
        )  # fmt: skip
    if "ray" not in skip:
        ray_store = work / "ray"
        shutil.rmtree(ray_store, ignore_errors=True)
        on_ray = run_phase("ingest", str(ray_store), str(models), "ray")
        on_ray["bytes"] = store_bytes(ray_store)
        results["ray"] = on_ray
        shutil.rmtree(ray_store, ignore_errors=True)
        rows.append(
            row("modelkg ingest, Ray (local, 2 CPUs)", on_ray["seconds"], on_ray["rss_mb"],
                on_ray["bytes"])
        )  # fmt: skip
    rows.append(row("(a) pyoxigraph bulk load", bulk["seconds"], bulk["rss_mb"], None))
    rows.append(row("(b) oxigraph load", results["oxigraph_load"]["seconds"], "", None))
    print(f"\n## Ingest: {models:,} synthetic models, {quads:,} quads (2 cores)\n")
    print_table(
        ["method", "models/s", "quads/s", "vs bulk load", "s", "peak RSS MB", "store MB"], rows
    )
    print("\nTargets: >= 0.5x the bulk load's rate; >= 300 models/s into the embedded store.")
    if "lookups" not in skip:
        started = time.perf_counter()
        subprocess.run(
            [str(VENV / "modelkg"), "search", "--rebuild-index", "--store", str(embedded)],
            check=True, capture_output=True, env={**os.environ, "HF_HUB_OFFLINE": "1"},
        )  # fmt: skip
        results["index_seconds"] = time.perf_counter() - started
        port = free_port()
        with serving(
            [str(VENV / "modelkg"), "serve", "--store", str(embedded), "--port", str(port),
             "--query-timeout", "600"],
            f"http://127.0.0.1:{port}/health", work / "serve.log",
        ) as server:  # fmt: skip
            measured = lookups(f"http://127.0.0.1:{port}", models, count)
            results["server_rss_mb"] = _rss_mb(server)
        results["lookups"] = measured
        print(f"\n## Lookups at {models:,} models (one client, no-cache, {count} each)\n")
        print_table(
            ["lookup", "p50 ms", "p95 ms", "target p95"],
            [[name, f"{v['p50']:.1f}", f"{v['p95']:.1f}", "< 100 ms"] for name, v in
             measured.items()],
        )  # fmt: skip
        print(
            f"\nServer RSS {results['server_rss_mb']:,.0f} MB (target < 8 GB); index built in "
            f"{results['index_seconds']:,.0f} s."
        )
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    (RESULTS / f"scale-{stamp}.json").write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
