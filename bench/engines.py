"""Benchmark: ModelKG on its two store engines, the embedded store (a folder) and a remote
SPARQL server (`--store sparql+http://...`, an `oxigraph serve` from the venv), against
same-run baselines. Three parts, each printed as a Markdown table with its ratios and targets.

Datasets, each ingested into fresh stores (`modelkg ingest`, reasoning on, HF_HUB_OFFLINE=1):
  corpus             ../shared/corpus/hf and hf-extra: real model folders (cards, tokenizer
                     and sentence-transformers files, adapters); a few are rejected, as always
  corpus + N synth.  the corpus again plus N synthetic models (bench/ingest.py's
                     `make_synthetic`: each corpus config.json again under a new hub id, config
                     only); N is `--models` (default 10,000). Its two stores are also what parts
                     2 and 3 serve: real models with lineage among thousands of plain ones.

1. Ingest: `modelkg ingest` into (a) the embedded store and (b) an Oxigraph server over
   `sparql+http://`, each timed as one command, the Oxigraph server's CPU counted from /proc.
   Baselines: `oxigraph load --location DIR --file X.nq` of the same content (the embedded
   store exported with `modelkg export -f nquads --include-ontology`), and pyoxigraph's
   `bulk_load` of that file (bench/ingest.py's bulk phase, in a child process). Every rate is
   the store's quads (its export's lines, the ontology and shapes too) over the seconds, so
   work ModelKG does besides writing (reading files, SHACL, reasoning) counts against it; a
   second remote ingest with `--no-reason` (its own, smaller store) shows what reasoning
   takes. The two engines' stores are checked to hold the same content (`--no-timestamps`
   exports, byte for byte). Target: the remote ingest reaches >= 0.5x `oxigraph load`'s rate.

2. Typical lookups at one client, `Cache-Control: no-cache` (each answer computed): one model
   (REST `GET /api/v1/models/{hub_id}`), a GraphQL page (`models(first: 20)` with tasks and
   lineage, its first `--pages` pages), a compatibility lookup (REST `.../replacements`),
   cycling over `--sample` corpus hub ids and as many synthetic ones. Served by `modelkg serve`
   over the embedded store, and over the Oxigraph server (`sparql+http://`). Baseline:
   Oxigraph's own, the very SPARQL requests our server sends the store for that lookup, sent
   straight to the same Oxigraph server one after another. They are captured, not restated:
   a third `modelkg serve` reaches the Oxigraph server through a recording proxy in this
   process, and each lookup is asked of it twice (the first warms what our server keeps
   between writes: the sorted model list, the compatibility index). The three sides take turns
   in `--rounds` slices; a ratio is the median of the slice-by-slice p50 (or p95) ratios, as in
   bench/serve.py (this machine's speed steps between two levels). Target: within 1.5x of
   Oxigraph's own at p50 and p95.

3. The computed GraphQL page of part 2 at 1, 10 and 100 clients (wrk, or bench/loadgen.py's
   Python generator when wrk is missing), `modelkg serve --workers 1` and `--workers 2` over the
   embedded store (the second on a byte copy: one server per store), their cells taking turns
   slice by slice through bench/serve.py's `Bench`: p50, p95, req/s, and workers2/workers1.
   Targets: p50 <= 8 ms at one client; req/s that grows with the workers (> 1.1x at 10 and 100
   clients: on 2 cores the generator takes some of the second core).

Our servers run as bench/serve.py's do: `--query-timeout 600 --max-queries-per-client 1000`.
No timing is asserted: the tables are the output, with a JSON of everything under
bench/results/. With `--work DIR --reuse` the stores and their ingest measurements are kept
and reused (building the 10,000-model stores takes minutes); `--quick` is a smoke run.

Run:   .venv/bin/python bench/engines.py [--models 10000] [--duration 10] [--work DIR --reuse]
Quick: .venv/bin/python bench/engines.py --quick --work /tmp/engines-quick --reuse
"""

from __future__ import annotations

import argparse
import filecmp
import http.client
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ingest import CORPUS, _run_phase, cold_counts, make_synthetic, require_corpus, work_dir
from loadgen import Generator, Request, Result, ensure_wrk, percentile
from serve import (
    BIN,
    CORES,
    HUB_IDS,
    SERVER_TIMEOUT,
    SPARQL_HEADERS,
    Bench,
    _ratio,
    free_port,
    graphql_workload,
    print_table,
    process_cpu,
    serving,
    uncached,
)

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
CORPORA = (CORPUS, CORPUS.parent / "hf-extra")
ENV = {**os.environ, "HF_HUB_OFFLINE": "1"}
NO_CACHE = {"Cache-Control": "no-cache"}
COUNT_QUADS = "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }"
OXIGRAPH_OWN = "Oxigraph, its own"
OVER_EMBEDDED = "modelkg over embedded"
OVER_REMOTE = "modelkg over Oxigraph"
INGEST_OK = (0, 1)  # 1: some model was rejected (the corpus has a few), the rest written


# --- 1. ingest -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Dataset:
    slug: str  # its folder under the work dir
    name: str
    sources: tuple[Path, ...]


def datasets(work: Path, synthetic: int) -> list[Dataset]:
    return [
        Dataset("corpus", "corpus", CORPORA),
        Dataset("big", f"corpus + {synthetic:,} synthetic", (*CORPORA, work / "synthetic")),
    ]


def oxigraph_server(location: Path, port: int, log: Path) -> AbstractContextManager[int]:
    """`oxigraph serve` on `location` (no `--union-default-graph`: our remote store asks for
    the union itself), as bench/serve.py's `serving` runs it."""
    command = [str(BIN / "oxigraph"), "serve", "--location", str(location),
               "--bind", f"127.0.0.1:{port}"]  # fmt: skip
    return serving(command, f"http://127.0.0.1:{port}/query?query={quote('ASK {}')}", log)


def timed_command(command: list[str], ok: tuple[int, ...] = (0,)) -> tuple[float, float, str]:
    """Run `command`: its wall seconds, CPU seconds (user + system) and output; exit unless
    its exit code is in `ok`."""
    start = time.perf_counter()
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**ENV, **cold_counts()},
        text=True,
    )
    output = process.stdout.read() if process.stdout else ""
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    process.returncode = code
    if code not in ok:
        sys.exit(f"failed ({code}): {' '.join(command)}\n{output[-2000:]}")
    return seconds, usage.ru_utime + usage.ru_stime, output.strip()


def ingested_models(summary: str) -> int:
    found = re.search(r"ingested ([\d,]+)", summary)
    return int(found.group(1).replace(",", "")) if found else 0


def export(location: str, target: Path, *, timestamps: bool) -> int:
    """Every graph of the store (ontology and shapes too) as canonical N-Quads; the lines."""
    flag = "--timestamps" if timestamps else "--no-timestamps"
    timed_command([str(BIN / "modelkg"), "export", "-f", "nquads", "--include-ontology", flag,
                   "--store", location, "-o", str(target)])  # fmt: skip
    with target.open("rb") as lines:
        return sum(1 for _ in lines)


def ingest_remote(
    sources: list[str], location: Path, flags: tuple[str, ...] = (), canonical: Path | None = None
) -> dict[str, Any]:
    """`modelkg ingest` into a fresh Oxigraph server persisting in `location`: seconds, CPU
    (ours, and the server's from /proc), the quads it then holds, and (`canonical`) its
    canonical export without timestamps written there."""
    port = free_port()
    with oxigraph_server(location, port, location.with_suffix(".log")) as pid:
        before = process_cpu(pid)
        store = f"sparql+http://127.0.0.1:{port}"
        seconds, cpu, summary = timed_command(
            [str(BIN / "modelkg"), "ingest", "-q", *flags, "--store", store, *sources], INGEST_OK
        )
        server_cpu = process_cpu(pid) - before
        count = httpx.post(
            f"http://127.0.0.1:{port}/query", content=COUNT_QUADS, headers=SPARQL_HEADERS,
            timeout=600,
        )  # fmt: skip
        if canonical is not None:
            export(store, canonical, timestamps=False)
    return {
        "seconds": seconds,
        "cpu": cpu,
        "server_cpu": server_cpu,
        "summary": summary.splitlines()[-1],
        "quads": int(count.json()["results"]["bindings"][0]["n"]["value"]),
    }


def measure_ingest(dataset: Dataset, work: Path) -> dict[str, Any]:
    """Ingest the dataset into both engines (and once more into Oxigraph without reasoning,
    to show what reasoning costs) and load its quads with both baselines; leaves `embedded/`
    and `remote/` (an Oxigraph folder) under `work/{slug}` for parts 2 and 3."""
    folder = work / dataset.slug
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    sources = [str(s) for s in dataset.sources]
    print(f"  {dataset.name}: modelkg ingest into the embedded store ...", file=sys.stderr)
    seconds, cpu, summary = timed_command(
        [str(BIN / "modelkg"), "ingest", "-q", "--store", str(folder / "embedded"), *sources],
        INGEST_OK,
    )
    embedded = {"seconds": seconds, "cpu": cpu, "summary": summary.splitlines()[-1]}
    models = ingested_models(summary)
    print(f"  {dataset.name}: modelkg ingest into an Oxigraph server ...", file=sys.stderr)
    remote = ingest_remote(sources, folder / "remote", canonical=folder / "remote.canonical.nq")
    unreasoned = ingest_remote(sources, folder / "remote-no-reason", ("--no-reason",))
    print(f"  {dataset.name}: baselines (export, oxigraph load, bulk load) ...", file=sys.stderr)
    nquads = folder / "store.nq"
    quads = export(str(folder / "embedded"), nquads, timestamps=True)
    canonical = export(str(folder / "embedded"), folder / "embedded.canonical.nq", timestamps=False)
    identical = filecmp.cmp(
        folder / "embedded.canonical.nq", folder / "remote.canonical.nq", shallow=False
    )
    oxigraph_load = [str(BIN / "oxigraph"), "load", "--location", str(folder / "oxigraph-load"),
                     "--file", str(nquads)]  # fmt: skip
    seconds, cpu, _ = timed_command(oxigraph_load)
    load = {"seconds": seconds, "cpu": cpu}
    bulk = _run_phase("bulk", str(nquads), str(folder / "bulk"))
    for scratch in ("oxigraph-load", "bulk", "remote-no-reason"):
        shutil.rmtree(folder / scratch, ignore_errors=True)
    for name in ("store.nq", "embedded.canonical.nq", "remote.canonical.nq"):
        (folder / name).unlink()
    return {
        "dataset": dataset.name,
        "models": models,
        "quads": quads,
        "canonical_lines": canonical,
        "same_content": identical,
        "embedded": embedded,
        "remote": remote,
        "remote_no_reason": unreasoned,
        "oxigraph_load": load,
        "bulk_load": {"seconds": bulk["seconds"]},
        "measured": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def build(dataset: Dataset, work: Path, synthetic: int, reuse: bool) -> dict[str, Any]:
    """The dataset's stores and ingest measurements: measured now, or (`--reuse`, same size)
    read back from when they were."""
    meta = work / dataset.slug / "ingest.json"
    if reuse and meta.exists():
        found: dict[str, Any] = json.loads(meta.read_text(encoding="utf-8"))
        if found.get("synthetic") == synthetic:
            return {**found, "reused": True}
    result = {**measure_ingest(dataset, work), "synthetic": synthetic}
    meta.write_text(json.dumps(result, indent=1), encoding="utf-8")
    return {**result, "reused": False}


def ingest_table(built: list[dict[str, Any]]) -> list[str]:
    """Print part 1; the verdicts."""
    rows, verdicts = [], []
    for data in built:
        floor = data["quads"] / data["oxigraph_load"]["seconds"]
        remote, bare = data["remote"], data["remote_no_reason"]
        methods = [
            ("modelkg ingest -> embedded", data["embedded"], data["quads"],
             f"{data['embedded']['cpu']:.1f}"),
            ("modelkg ingest -> Oxigraph (sparql+http)", remote, remote["quads"],
             f"{remote['cpu']:.1f} + server {remote['server_cpu']:.1f}"),
            ("  the same, --no-reason", bare, bare["quads"],
             f"{bare['cpu']:.1f} + server {bare['server_cpu']:.1f}"),
            ("oxigraph load (baseline)", data["oxigraph_load"], data["quads"],
             f"{data['oxigraph_load']['cpu']:.1f}"),
            ("pyoxigraph bulk_load (baseline)", data["bulk_load"], data["quads"], ""),
        ]  # fmt: skip
        for method, measured, quads, cpu in methods:
            rate = quads / measured["seconds"]
            rows.append([data["dataset"], method, f"{data['models']:,}", f"{quads:,}",
                         f"{measured['seconds']:.2f}", f"{rate:,.0f}", _ratio(rate / floor),
                         cpu])  # fmt: skip
        ratio = remote["quads"] / remote["seconds"] / floor
        verdicts.append(
            f"target remote ingest >= 0.5x oxigraph load, {data['dataset']}: {ratio:.2f}x -> "
            + ("met" if ratio >= 0.5 else f"NOT met ({0.5 / ratio:.1f}x short)")
        )
    print("\n### 1. Ingest (rate: the store's quads, ontology and shapes too, per second)\n")
    print_table(["dataset", "method", "models", "quads", "s", "quads/s", "vs oxigraph load",
                 "CPU s"], rows)  # fmt: skip
    for data in built:
        same = "the same" if data["same_content"] else "NOT the same"
        print(
            f"{data['dataset']}: the two engines' stores are {same} (canonical exports without "
            f"timestamps, {data['canonical_lines']:,} lines each); {data['embedded']['summary']}"
            + (f"; measured {data['measured']}, reused" if data["reused"] else "")
        )
    return verdicts


# --- 2. lookups ----------------------------------------------------------------------------


class Recorder(ThreadingHTTPServer):
    """A proxy in front of a SPARQL server that keeps every request it forwards: what our
    server sends its store for one lookup, to be sent again straight to the store."""

    daemon_threads = True

    def __init__(self, target_port: int) -> None:
        super().__init__(("127.0.0.1", 0), _Forward)
        self.target_port = target_port
        self.log: list[Request] = []
        self.lock = threading.Lock()

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def take(self) -> tuple[Request, ...]:
        with self.lock:
            taken, self.log = tuple(self.log), []
        return taken


class _Forward(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Recorder

    def forward(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        headers = {k: v for k, v in self.headers.items() if k.lower() in ("content-type", "accept")}
        with self.server.lock:
            self.server.log.append(
                Request(self.command, self.path, headers, body.decode() if body else None)
            )
        upstream = http.client.HTTPConnection("127.0.0.1", self.server.target_port, timeout=600)
        try:
            upstream.request(self.command, self.path, body=body, headers=headers)
            answer = upstream.getresponse()
            data = answer.read()
        finally:
            upstream.close()
        self.send_response(answer.status)
        for name, value in answer.getheaders():
            if name.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = forward  # noqa: N815 (the base's names)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: the proxy's own access log


@contextmanager
def recording(target_port: int) -> Iterator[Recorder]:
    recorder = Recorder(target_port)
    thread = threading.Thread(target=recorder.serve_forever, daemon=True)
    thread.start()
    try:
        yield recorder
    finally:
        recorder.shutdown()
        recorder.server_close()


@dataclass(frozen=True)
class Side:
    """One side of a lookup's cells: where it is asked, and per item the requests that make
    one lookup (one for our server; the captured SPARQL requests for Oxigraph's own)."""

    server: str
    base: str
    items: tuple[tuple[Request, ...], ...]
    graphql: bool = False


def our_server(location: str, port: int, workers: int = 1) -> list[str]:
    return [str(BIN / "modelkg"), "serve", "--store", location, "--host", "127.0.0.1",
            "--port", str(port), "--query-timeout", str(SERVER_TIMEOUT),
            "--max-queries-per-client", "1000", "--workers", str(workers)]  # fmt: skip


def hub_ids(base: str, sample: int) -> list[str]:
    """`sample` corpus hub ids and as many synthetic ones, the same every run."""
    answer = httpx.post(base + "/sparql", content=HUB_IDS, headers=SPARQL_HEADERS, timeout=120)
    answer.raise_for_status()
    ids = [row["id"]["value"] for row in answer.json()["results"]["bindings"]]
    pick = random.Random(7)
    real = [i for i in ids if not i.startswith("synthetic/")]
    made = [i for i in ids if i.startswith("synthetic/")]
    return pick.sample(real, min(sample, len(real))) + pick.sample(made, min(sample, len(made)))


def lookups(
    server: str, base: str, ids: list[str], compat: list[str], pages: int
) -> dict[str, Side]:
    """Part 2's lookups as asked of our server at `base`, each `no-cache`: the model of each
    id, the first `pages` GraphQL pages (their cursors are each server's own), the
    replacements of each id in `compat`."""
    page = graphql_workload(base, pages)
    if isinstance(page, str):
        sys.exit(f"the GraphQL page cannot be asked of {base}: {page}")
    model = [Request("GET", "/api/v1/models/" + quote(i, safe="/"), NO_CACHE) for i in ids]
    graphql = [replace(r, headers={**r.headers, **NO_CACHE}) for r in page.requests]
    replacing = [
        Request("GET", f"/api/v1/models/{quote(i, safe='/')}/replacements", NO_CACHE)
        for i in compat
    ]
    return {
        "model (REST)": Side(server, base, tuple((r,) for r in model)),
        "GraphQL page": Side(server, base, tuple((r,) for r in graphql), graphql=True),
        "compat (replacements)": Side(server, base, tuple((r,) for r in replacing)),
    }


def ask(client: httpx.Client, side: Side, item: tuple[Request, ...]) -> bool:
    """One lookup, request after request; whether every answer was right."""
    ok = True
    for request in item:
        answer = client.request(
            request.method, side.base + request.path, headers=request.headers,
            content=request.body,
        )  # fmt: skip
        ok = ok and answer.is_success and not (side.graphql and b'"errors"' in answer.content)
    return ok


def capture(
    capturer: str, ids: list[str], compat: list[str], pages: int, recorder: Recorder
) -> dict[str, Side]:
    """Oxigraph's own side of each lookup: what our server (`capturer`, whose store is the
    recorder) sent the store for each item, asked a second time."""
    captured = {}
    for name, side in lookups("capturing", capturer, ids, compat, pages).items():
        items = []
        with httpx.Client(timeout=600) as client:
            for item in side.items:
                ask(client, side, item)  # warm what the server keeps until the next write
                recorder.take()
                if not ask(client, side, item):
                    sys.exit(f"{name}: {item[0].path} failed on the capturing server")
                items.append(recorder.take())
        base = f"http://127.0.0.1:{recorder.target_port}"
        captured[name] = Side(OXIGRAPH_OWN, base, tuple(items))
    return captured


def run_lookups(
    sides: list[Side], duration: float, rounds: int
) -> tuple[dict[str, Result], dict[str, list[Result]]]:
    """One client, the sides taking turns for `rounds` slices of `duration / rounds` seconds
    (each at least 3 lookups): each side's result over all its lookups, and its slices'."""
    timed: dict[str, list[tuple[Result, list[float]]]] = {side.server: [] for side in sides}
    with httpx.Client(timeout=600) as client:
        for side in sides:  # warm-up: every item once
            for item in side.items:
                ask(client, side, item)
        for _ in range(rounds):
            for side in sides:
                timed[side.server].append(one_slice(client, side, duration / rounds))
    results = {
        server: summary(
            [ms for _, latencies in parts for ms in latencies],
            sum(result.errors for result, _ in parts),
            sum(result.seconds for result, _ in parts),
        )
        for server, parts in timed.items()
    }
    return results, {server: [result for result, _ in parts] for server, parts in timed.items()}


def summary(latencies: list[float], errors: int, seconds: float) -> Result:
    ordered = sorted(latencies)
    return Result(
        requests=len(ordered),
        errors=errors,
        seconds=seconds,
        p50=percentile(ordered, 0.5),
        p95=percentile(ordered, 0.95),
        p99=percentile(ordered, 0.99),
    )


def one_slice(client: httpx.Client, side: Side, seconds: float) -> tuple[Result, list[float]]:
    """Lookups one after another for `seconds` (at least 3), cycling over the side's items."""
    latencies: list[float] = []
    errors = index = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds or len(latencies) < 3:
        began = time.perf_counter()
        try:
            ok = ask(client, side, side.items[index % len(side.items)])
        except httpx.HTTPError:
            ok = False
        latencies.append((time.perf_counter() - began) * 1000)
        errors += not ok
        index += 1
    return summary(latencies, errors, time.perf_counter() - start), latencies


def compat_ids(base: str, ids: list[str]) -> list[str]:
    """The ids whose compatibility lookup answers (a model the index has no profile of is a
    clear 4xx, not a lookup to time)."""
    path = "/api/v1/models/{}/replacements"
    return [
        i for i in ids if httpx.get(base + path.format(quote(i, safe="/")), timeout=120).is_success
    ]


def sparql_text(request: Request) -> str:
    """The query a captured request carries (a form field, a query parameter or the body)."""
    for fields in (request.body or "", request.path.partition("?")[2]):
        found = parse_qs(fields).get("query") or parse_qs(fields).get("update")
        if found:
            return found[0]
    return f"{request.method} {request.path} {request.body or ''}".strip()


def paired(slices: dict[str, list[Result]], server: str, base: str, key: str) -> float | None:
    """The median over the rounds of `server`'s p50 (or p95) over `base`'s in the same round."""
    ratios = [
        getattr(a, key) / getattr(b, key)
        for a, b in zip(slices.get(server, []), slices.get(base, []), strict=False)
        if getattr(b, key)
    ]
    return statistics.median(ratios) if ratios else None


def lookup_table(measured: dict[str, Any], captured: dict[str, Side]) -> list[str]:
    """Print part 2; the verdicts."""
    rows, verdicts = [], []
    for name, (results, slices) in measured.items():
        sent = statistics.mean(len(item) for item in captured[name].items)
        for server, result in results.items():
            ratios = ["", ""]
            if server != OXIGRAPH_OWN:
                p50, p95 = (paired(slices, server, OXIGRAPH_OWN, key) for key in ("p50", "p95"))
                ratios = [_ratio(p50) if p50 else "-", _ratio(p95) if p95 else "-"]
                if result.errors:
                    verdict = f"NOT met ({result.errors} errors)"
                elif p50 and p95:
                    worst = max(p50, p95)
                    verdict = "met" if worst <= 1.5 else f"NOT met ({worst / 1.5:.1f}x over)"
                else:
                    verdict = "not measured"
                verdicts.append(
                    f"target within 1.5x of Oxigraph's own, {name} on {server}: p50 {ratios[0]}, "
                    f"p95 {ratios[1]} -> {verdict}"
                )
            requests = f"{sent:.1f} SPARQL" if server == OXIGRAPH_OWN else "1"
            rows.append([name, server, requests, f"{result.requests:,}", str(result.errors),
                         f"{result.p50:.2f}", f"{result.p95:.2f}", *ratios])  # fmt: skip
    print("\n### 2. Typical lookups, one client, `Cache-Control: no-cache`\n")
    print_table(["lookup", "served by", "requests / lookup", "lookups", "errors", "p50 ms",
                 "p95 ms", "p50 vs own", "p95 vs own"], rows)  # fmt: skip
    return verdicts


def measure_lookups(args: argparse.Namespace, work: Path) -> tuple[dict[str, Any], dict[str, Side]]:
    """Part 2 on the `big` dataset's stores: capture, then the three sides taking turns."""
    big = work / "big"
    oxi_port = free_port()
    remote = f"sparql+http://127.0.0.1:{oxi_port}"
    with oxigraph_server(big / "remote", oxi_port, work / "oxigraph.log"):
        print("capturing the SPARQL our server sends per lookup ...", file=sys.stderr)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        with recording(oxi_port) as recorder, serving(
            our_server(f"sparql+http://127.0.0.1:{recorder.port}", port),
            base + "/health", work / "modelkg-capture.log",
        ):  # fmt: skip
            ids = hub_ids(base, args.sample)
            compat = compat_ids(base, ids)
            captured = capture(base, ids, compat, args.pages, recorder)
        ports = free_port(), free_port()
        bases = [f"http://127.0.0.1:{p}" for p in ports]
        with (
            serving(our_server(str(big / "embedded"), ports[0]), bases[0] + "/health",
                    work / "modelkg-embedded.log"),
            serving(our_server(remote, ports[1]), bases[1] + "/health",
                    work / "modelkg-remote.log"),
        ):  # fmt: skip
            embedded = lookups(OVER_EMBEDDED, bases[0], ids, compat, args.pages)
            over_remote = lookups(OVER_REMOTE, bases[1], ids, compat, args.pages)
            measured = {}
            for name, own in captured.items():
                sides = [own, embedded[name], over_remote[name]]
                print(f"  {name} ...", file=sys.stderr)
                measured[name] = run_lookups(sides, args.duration, args.rounds)
    return measured, captured


# --- 3. the computed page, one and two workers ---------------------------------------------


def measure_page(args: argparse.Namespace, work: Path) -> tuple[Bench, dict[str, int]]:
    """Part 3: the GraphQL page at each client count, `--workers 1` on the store and
    `--workers 2` on a byte copy, their slices taking turns; and how many processes each
    server served from (uvicorn logs "Started server process" once for each)."""
    big = work / "big"
    shutil.rmtree(big / "embedded-copy", ignore_errors=True)
    shutil.copytree(big / "embedded", big / "embedded-copy")
    generator: Generator
    if args.generator == "auto":
        generator = "wrk" if ensure_wrk() else "python"
    else:
        generator = args.generator
    ports = free_port(), free_port()
    bases = [f"http://127.0.0.1:{p}" for p in ports]
    with (
        serving(our_server(str(big / "embedded"), ports[0], workers=1), bases[0] + "/health",
                work / "modelkg-workers1.log") as one,
        serving(our_server(str(big / "embedded-copy"), ports[1], workers=2),
                bases[1] + "/health", work / "modelkg-workers2.log") as two,
    ):  # fmt: skip
        clients = [int(c) for c in args.clients.split(",")]
        bench = Bench(generator, clients, args.duration, args.max_duration, args.timeout, work,
                      [one, two], rounds=args.rounds)  # fmt: skip
        sides = []
        for server, base, pid in (("workers 1", bases[0], one), ("workers 2", bases[1], two)):
            page = graphql_workload(base, args.pages)
            if isinstance(page, str):
                sys.exit(f"the GraphQL page cannot be asked of {server}: {page}")
            sides.append(replace(uncached(base, pid, page), server=server))
        with bench.metered({"workers 1": one, "workers 2": two}):
            bench.cells(*sides)
    logs = {"workers 1": "modelkg-workers1.log", "workers 2": "modelkg-workers2.log"}
    processes = {
        server: (work / log).read_text(errors="replace").count("Started server process")
        for server, log in logs.items()
    }
    return bench, processes


def page_table(bench: Bench, processes: dict[str, int]) -> list[str]:
    """Print part 3; the verdicts."""
    rows, verdicts = [], []
    for clients in bench.clients:
        for server in ("workers 1", "workers 2"):
            cell = bench.rows.get(("graphql", server, clients))
            if not isinstance(cell, Result):
                rows.append([str(clients), server, str(processes[server]), str(cell), "", "", "",
                             "", "", ""])  # fmt: skip
                continue
            ratios = ["", ""]
            if server == "workers 2":
                ratios = [_ratio(r) if r else "-" for r in page_ratios(bench, clients)]
            rows.append([str(clients), server, str(processes[server]), f"{cell.requests:,}",
                         str(cell.errors),
                         f"{cell.p50:.2f}", f"{cell.p95:.2f}", f"{cell.rate:,.1f}",
                         *ratios])  # fmt: skip
    print(f"\n### 3. The computed GraphQL page, `no-cache`, {bench.generator} as the generator\n")
    print_table(["clients", "server", "processes", "requests", "errors", "p50 ms", "p95 ms",
                 "req/s", "req/s w2/w1", "p50 w2/w1"], rows)  # fmt: skip
    print(
        f"CPU over all cells, in cores of {CORES}: "
        + ", ".join(f"{name} {cores:.2f}" for name, cores in bench.cpu.items())
    )
    for note in bench.notes:
        print(f"note: {note}")
    if processes["workers 2"] < 2:
        print(f"note: `--workers 2` served from {processes['workers 2']} process (its log)")
    low = min(bench.clients)
    for server in ("workers 1", "workers 2"):
        cell = bench.rows.get(("graphql", server, low))
        if isinstance(cell, Result) and cell.requests:
            ok = cell.p50 <= 8 and not cell.errors
            verdicts.append(
                f"target page p50 <= 8 ms at {low} client, {server}: {cell.p50:.1f} ms -> "
                + ("met" if ok else f"NOT met ({cell.p50 / 8:.1f}x over)")
            )
    for clients in bench.clients:
        if clients == low:
            continue
        rate, _ = page_ratios(bench, clients)
        grows = rate is not None and rate > 1.1
        verdicts.append(
            f"target req/s grows with the workers, {clients} clients: workers2/workers1 "
            + (f"{rate:.2f}x" if rate else "n/a")
            + (" -> met" if grows else " -> NOT met")
        )
    return verdicts


def page_ratios(bench: Bench, clients: int) -> tuple[float | None, float | None]:
    """workers 2 over workers 1, the median over slices taken in turn: req/s, and p50."""
    two = bench.slices.get(("graphql", "workers 2", clients), [])
    one = bench.slices.get(("graphql", "workers 1", clients), [])
    pairs = [(a, b) for a, b in zip(two, one, strict=False) if b.rate and b.p50]
    if not pairs:
        return None, None
    return (statistics.median(a.rate / b.rate for a, b in pairs),
            statistics.median(a.p50 / b.p50 for a, b in pairs))  # fmt: skip


# --- the run -------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--models", type=int, default=10_000, help="synthetic models")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per cell (least)")
    parser.add_argument("--max-duration", type=float, default=150.0)
    parser.add_argument("--rounds", type=int, default=5, help="slices per cell, taking turns")
    parser.add_argument("--clients", default="1,10,100", help="part 3's client counts")
    parser.add_argument("--timeout", type=float, default=300.0, help="per request, seconds")
    parser.add_argument("--pages", type=int, default=10, help="GraphQL pages to cycle")
    parser.add_argument("--sample", type=int, default=10, help="corpus (and synthetic) ids")
    parser.add_argument("--generator", choices=["auto", "wrk", "python"], default="auto")
    parser.add_argument("--work", type=Path, help="work dir (default: a fresh temp dir)")
    parser.add_argument("--reuse", action="store_true", help="keep and reuse --work's stores")
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: 300 models, 2 s cells, 2 rounds"
    )
    args = parser.parse_args()
    if args.quick:
        args.models, args.duration, args.rounds, args.pages, args.sample = 300, 2.0, 2, 3, 3
    with work_dir("engines", args.work, keep=args.reuse) as work:
        run(args, work)


def run(args: argparse.Namespace, work: Path) -> None:
    require_corpus()
    load = os.getloadavg()[0]  # before any work of ours: other work on the machine
    started = datetime.now(UTC)
    synthetic = work / "synthetic"
    built = []
    for dataset in datasets(work, args.models):
        print(f"{dataset.name}: stores and ingest measurements ...", file=sys.stderr)
        if dataset.slug == "big" and not (args.reuse and (work / "big" / "ingest.json").exists()):
            shutil.rmtree(synthetic, ignore_errors=True)
            make_synthetic(synthetic, args.models)
        built.append(build(dataset, work, args.models, args.reuse))
    print("lookups ...", file=sys.stderr)
    measured, captured = measure_lookups(args, work)
    print("the computed page at 1/10/100 clients ...", file=sys.stderr)
    bench, processes = measure_page(args, work)

    big = built[-1]
    print(
        f"\n## ModelKG's engines, {started:%Y-%m-%d}: {CORES} cores, 1-minute load average "
        f"{load:.2f} when the run began; parts 2 and 3 on {big['dataset']} "
        f"({big['models']:,} models, {big['quads']:,} quads)"
    )
    verdicts = ingest_table(built)
    verdicts += lookup_table(measured, captured)
    verdicts += page_table(bench, processes)
    print("\n### Targets\n")
    for verdict in verdicts:
        print(f"- {verdict}")
    save(args, started, load, built, measured, captured, (bench, processes), verdicts)


def save(
    args: argparse.Namespace,
    started: datetime,
    load: float,
    built: list[dict[str, Any]],
    measured: dict[str, Any],
    captured: dict[str, Side],
    page: tuple[Bench, dict[str, int]],
    verdicts: list[str],
) -> None:
    bench, processes = page
    RESULTS.mkdir(exist_ok=True)
    target = RESULTS / f"engines-{started:%Y%m%dT%H%M%S}.json"
    results = {
        "started": started.isoformat(timespec="seconds"),
        "command": " ".join(sys.argv),
        "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "cores": CORES,
        "load_average": load,
        "ingest": built,
        "lookups": {
            name: {
                "sparql_sent": [[sparql_text(r) for r in item] for item in captured[name].items],
                "results": {s: asdict(r) for s, r in results.items()},
                "slices": {s: [asdict(r) for r in rs] for s, rs in slices.items()},
            }
            for name, (results, slices) in measured.items()
        },
        "page": {
            "generator": bench.generator,
            "processes": processes,
            "cells": {
                f"{server} / {c} clients": asdict(cell) if isinstance(cell, Result) else cell
                for (_, server, c), cell in bench.rows.items()
            },
            "slices": {
                f"{server} / {c} clients": [asdict(r) for r in rs]
                for (_, server, c), rs in bench.slices.items()
            },
            "cpu": bench.cpu,
            "notes": bench.notes,
        },
        "verdicts": verdicts,
    }
    target.write_text(json.dumps(results, indent=1), encoding="utf-8")
    print(f"\nresults: {target}", file=sys.stderr)


if __name__ == "__main__":
    main()
