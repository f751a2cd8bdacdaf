"""Benchmark: the HTTP face (`modelkg serve`) under concurrent load, against same-run baselines.

Dataset: a store of N models (default 10,000; ~4.2 M quads): the shared corpus
(../shared/corpus/hf, 146 real model folders) plus the corpus again under new hub ids
(`synthetic/model-000123`) until N, each copy with the whole folder's small files (config.json,
README.md, tokenizer and generation configs, sentence-transformers files), so cards give tasks
and lineage as the originals do: the synthetic set is the corpus again, not new models. Ingested
with `modelkg ingest` (reasoning on, HF_HUB_OFFLINE=1) into `--work` (default: a temp dir,
removed after; with `--reuse` the work dir and its store are kept and reused: building 10,000
takes ~7 minutes on 2 cores).

Endpoints of our server (`modelkg serve`, one uvicorn process, as shipped but for
`--query-timeout 600`: the Oxigraph server has no timeout, and with ours at its default 30 s,
100 clients queueing for 1-second queries on 2 cores get 503s where Oxigraph makes them wait a
minute; the 503 itself is tested in tests/resolvers/test_limits.py; and
`--max-queries-per-client 1000`: every load-generator client comes from 127.0.0.1, one address,
which the default of 4 would answer 429 from the fifth on; tested in test_sparql_hostile.py):
  sparql/NAME  each query in bench/serve_queries/*.rq, POSTed as application/sparql-query,
               SPARQL JSON results: a lookup (built-on), an aggregate over every model
               (task-counts), a sorted first page over every large model (large-models)
  graphql      POST /graphql, one `models(first: 20, after:)` page with tasks and lineage; the
               `after` cursors of the first `--pages` pages are collected up front and cycled
  rest         GET /api/v1/models/{hub_id}, cycling over 1,000 hub ids drawn from the store
  gsp/get      the Graph Store Protocol: GET of one model's source graph as N-Triples, cycling
               over 200 of them (`/rdf-graph-store?graph=` here, `/store?graph=` on Oxigraph)
Every SPARQL request to our server is parsed and guarded (kg.sparql) and runs in a query worker
process; what the parse-based guard costs on its own is printed first, per query, beside the
engine's own time in process: the guard runs before the engine on every path a client's SPARQL
takes (/sparql and GraphQL's `sparql` field alike).
Each is measured twice: `modelkg` is the server as shipped, whose response cache replays an
answer asked again before the next write (resolvers/response_cache.py: every request here
after its first); `modelkg no-cache` sends the same requests with `Cache-Control: no-cache`, so
each one is computed, as on a miss: the engine and our HTTP stack with no cache.
An endpoint the server does not have is reported with its HTTP status (e.g. "endpoint missing
(404)"), not timed.

Each cell is a closed loop: C clients (1, 10, 100) each send the next request when the last is
answered, for `--duration` seconds, or longer when the one-client warm-up says a request is so
slow that C clients would not each finish ~3 requests (up to `--max-duration`). A request is an
error when it fails, times out (`--timeout`), answers outside 2xx, or (GraphQL) carries
`errors`; latency percentiles include error answers. Both servers are up together and their
SPARQL cells take turns: a cell short enough to split (`--rounds`, default 5) runs as slices,
Oxigraph's and ours alternating slice by slice, and a ratio is the median of the slice-by-slice
ratios. This machine's speed steps between two levels at moments no one chooses (the same query
in process: 4.4 ms for a while, then 7.4 ms), so two long cells minutes apart compared those
levels, not the servers. Oxigraph does not stop a query whose client has gone (ours kills its
worker), so before each slice the bench waits for both servers to go idle (their CPU time, /proc;
up to 15 minutes, noted if it never does): no cell pays for the last one's leftovers. GraphQL
runs last, as it leaves the most behind. The bench also counts where the CPU went over all
cells (each server, the generator, everything else on the machine, from /proc/stat): other
work on a shared machine shows there, and niced work only takes CPU the servers leave idle.

Baselines, measured in the same run:
  in-process       the same SPARQL queries on pyoxigraph in this process (`Store.read_only` on
                   the store, union default graph, serialized to SPARQL JSON), one thread, one
                   after another: the engine with no HTTP at all
  oxigraph-server  the same queries against the Rust server, `oxigraph serve-read-only
                   --union-default-graph` (CLI 0.5.13 from the venv, the same Oxigraph as our
                   pyoxigraph) on a byte copy of the store files, at the same clients; our SPARQL
                   rows give p50 and req/s as ratios of its row. No `--timeout-s`: in 0.5.13 it
                   spawns a thread per query that lives out the timeout, and at ~10,000 req/s
                   the server runs out of threads and dies (EAGAIN). Not a dump and an
                   `oxigraph load`: the files' layout alone moved heavy queries by 2x either way
                   at 10,000 models (large-models 1.3 s in-process on our store, 2.5 s on a
                   freshly loaded copy, 1.1 s once that was `oxigraph optimize`d); with the same
                   bytes the ratio is the server's, not the compaction's.
  floor            GET /docs on our server: uvicorn, FastAPI and our middleware with no store
                   work; GraphQL and REST rows give p50 and req/s as ratios of it
Targets (from the issues): GraphQL p95 < 150 ms at 100 clients with no errors; our SPARQL p50
within 1.5x of the Oxigraph server's; the parse-based guard under 1 ms at p50.

Load generator: always a second process; which one is measured in each run, first, against the
Oxigraph server on a cheap ASK (so the server is not the limit): wrk (C, one thread, a generated
Lua script that cycles the requests, counts non-2xx and GraphQL errors, prints p50/p95/p99 in
`done()`) and bench/loadgen.py (asyncio + httpx, one connection per client). The one with more
req/s at 100 clients drives every cell (`--generator` forces one). Typically wrk: ~10,000 req/s
at ~25 us of CPU per request, where httpx tops out near 600 req/s at ~1.4 ms per request, below
even our floor, so on 2 cores the Python generator would be the bottleneck and steal the
server's CPU. wrk is the Debian package `wrk`: when it is missing and this runs as root, the
script runs `apt-get install -y wrk` (else it falls back to the Python generator).

Run:  .venv/bin/python bench/serve.py [--models 10000] [--duration 10] [--clients 1,10,100]
                                      [--work DIR --reuse] [--generator auto|wrk|python]
Quick: .venv/bin/python bench/serve.py --models 1000 --duration 3 --work /tmp/kg1k --reuse
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ingest import CORPUS, work_dir
from loadgen import Generator, Request, Result, Workload, ensure_wrk, percentile, run_load

HERE = Path(__file__).resolve().parent
QUERIES = HERE / "serve_queries"
BIN = Path(sys.executable).parent
CORES = os.cpu_count() or 1
SERVER_TIMEOUT = 600  # seconds, our server: Oxigraph's has none (see the docstring)
DRAIN_LIMIT = 900.0  # seconds to wait for a server to finish abandoned requests
SPARQL_HEADERS = {
    "Content-Type": "application/sparql-query",
    "Accept": "application/sparql-results+json",
}
GRAPHQL_PAGE = """query Page($after: String) {
  models(first: 20, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { id name tasks { id label }
      baseModels { relation model { id } } derivedModels { relation model { id } } } }
  }
}"""
NO_ROUTE = b'{"detail":"Not Found"}'  # FastAPI's answer for a path it has no route for
HUB_IDS = """PREFIX mkg: <https://w3id.org/modelkg/ontology#>
SELECT ?id WHERE { ?m a mkg:Model ; mkg:hubId ?id } ORDER BY ?id"""
SOURCE_GRAPHS = """PREFIX mkg: <https://w3id.org/modelkg/ontology#>
SELECT ?g WHERE { GRAPH ?g { ?g mkg:describes ?m } } ORDER BY ?g"""


# --- the store -----------------------------------------------------------------------------


def make_copies(target: Path, count: int) -> None:
    """`count` model folders: whole corpus folders again, each under a new hub id."""
    folders = sorted(p.parent for p in CORPUS.glob("*/PROVENANCE.json"))
    for index in range(count):
        folder = target / f"m{index:06d}"
        shutil.copytree(folders[index % len(folders)], folder, dirs_exist_ok=True)
        (folder / "PROVENANCE.json").write_text(
            json.dumps({"hub_id": f"synthetic/model-{index:06d}"}), encoding="utf-8"
        )


def build_store(work: Path, models: int, reuse: bool) -> dict[str, Any]:
    """The N-model store under `work` (reused when `--reuse` finds one of the same size)."""
    meta_file = work / "store.json"
    if reuse and meta_file.exists():
        meta: dict[str, Any] = json.loads(meta_file.read_text(encoding="utf-8"))
        if meta.get("models") == models:
            meta["reused"] = True
            return meta
    for stale in ("store", "synthetic"):
        shutil.rmtree(work / stale, ignore_errors=True)
    corpus = len(list(CORPUS.glob("*/PROVENANCE.json")))
    make_copies(work / "synthetic", max(0, models - corpus))
    start = time.perf_counter()
    done = subprocess.run(
        [str(BIN / "modelkg"), "ingest", "-q", "--store", str(work / "store"), str(CORPUS),
         str(work / "synthetic")],
        capture_output=True, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )  # fmt: skip
    seconds = time.perf_counter() - start
    lines = (done.stdout + done.stderr).strip().splitlines()
    if done.returncode not in (0, 1) or not lines:  # 1: some model rejected, the rest written
        sys.exit(f"ingest failed ({done.returncode}):\n{done.stderr}")
    meta = {"models": models, "build_seconds": seconds, "summary": lines[-1], "reused": False}
    meta_file.write_text(json.dumps(meta), encoding="utf-8")
    return meta


# --- servers -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def serving(command: list[str], probe: str, log: Path) -> Iterator[int]:
    """Run a server until the block ends (its pid); ready once `probe` answers 200; SIGINT."""
    with log.open("wb") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 300
        while True:
            if process.poll() is not None:
                sys.exit(f"server exited ({process.returncode}), see {log}")
            try:
                if httpx.get(probe, timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                sys.exit(f"server not ready after 300 s, see {log}")
            time.sleep(0.25)
        yield process.pid
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# --- where the CPU goes ------------------------------------------------------------------

TICK = os.sysconf("SC_CLK_TCK")


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) a server has used so far, from /proc: its own, its reaped
    children's, and its live descendants' (our query workers, which it kills and replaces)."""

    def stat(pid: int) -> list[str]:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()

    fields = stat(pid)
    used = sum(int(v) for v in fields[11:15])  # utime, stime, cutime, cstime
    for child in psutil.Process(pid).children(recursive=True):
        with suppress(OSError, psutil.Error):  # it exited meanwhile: now in cutime/cstime
            used += sum(int(v) for v in stat(child.pid)[11:13])
    return used / TICK


def machine_busy() -> tuple[float, float]:
    """CPU seconds all cores have been busy since boot (steal too: the host's other guests),
    and of those, the seconds of niced (low-priority) user code."""
    user_to_steal = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]
    values = [int(v) for v in user_to_steal]
    return (sum(values) - values[3] - values[4]) / TICK, values[1] / TICK


def drain(pid: int, limit: float) -> float:
    """Wait until the server is idle, so requests a cell abandoned do not slow the next one.

    Oxigraph does not cancel a query whose client left, so a slow cell leaves work behind, and
    ours replaces the workers it killed at the cell's end; the seconds waited.
    """
    start = time.perf_counter()
    last = process_cpu(pid)
    while time.perf_counter() - start < limit:
        time.sleep(0.5)
        now = process_cpu(pid)
        if now - last < 0.05:  # under 10% of a core
            break
        last = now
    return time.perf_counter() - start


# --- workloads -----------------------------------------------------------------------------


def sparql_workloads(path: str) -> list[Workload]:
    return [
        Workload(
            f"sparql/{query.stem}",
            (Request("POST", path, SPARQL_HEADERS, query.read_text(encoding="utf-8")),),
        )
        for query in sorted(QUERIES.glob("*.rq"))
    ]


def graphql_workload(base: str, pages: int) -> Workload | str:
    """The first `pages` pages of `models`, each asked by its own `after` cursor."""
    requests = []
    after: str | None = None
    for _ in range(pages):
        body = json.dumps({"query": GRAPHQL_PAGE, "variables": {"after": after}})
        request = Request("POST", "/graphql", {"Content-Type": "application/json"}, body)
        answer = httpx.post(base + "/graphql", content=body, headers=request.headers, timeout=60)
        if answer.status_code == 404 and answer.content == NO_ROUTE:
            return "endpoint missing (404)"
        if answer.status_code != 200:
            return f"failed ({answer.status_code})"
        payload = answer.json()
        if payload.get("errors"):
            return f"errors: {payload['errors'][0].get('message', '?')[:60]}"
        requests.append(request)
        info = payload["data"]["models"]["pageInfo"]
        if not info["hasNextPage"]:
            break
        after = info["endCursor"]
    return Workload("graphql", tuple(requests), graphql=True)


def rest_workload(base: str, sample: int) -> Workload:
    """GET /api/v1/models/{hub_id} for up to `sample` hub ids of the store."""
    answer = httpx.post(base + "/sparql", content=HUB_IDS, headers=SPARQL_HEADERS, timeout=60)
    answer.raise_for_status()
    ids = [row["id"]["value"] for row in answer.json()["results"]["bindings"]]
    ids = random.Random(7).sample(ids, min(sample, len(ids)))
    return Workload(
        "rest", tuple(Request("GET", "/api/v1/models/" + quote(i, safe="/")) for i in ids)
    )


def graph_store_workloads(base: str, sample: int) -> tuple[Workload, Workload]:
    """GET of `sample` model source graphs as N-Triples: on Oxigraph (`/store`) and on ours
    (`/rdf-graph-store`), the same graphs in the same order."""
    answer = httpx.post(base + "/sparql", content=SOURCE_GRAPHS, headers=SPARQL_HEADERS, timeout=60)
    answer.raise_for_status()
    graphs = [row["g"]["value"] for row in answer.json()["results"]["bindings"]]
    graphs = random.Random(7).sample(graphs, min(sample, len(graphs)))
    accept = {"Accept": "application/n-triples"}
    return tuple(  # type: ignore[return-value]
        Workload(
            "gsp/get",
            tuple(Request("GET", f"{path}?graph={quote(g, safe='')}", accept) for g in graphs),
        )
        for path in ("/store", "/rdf-graph-store")
    )


def guard_costs(iterations: int) -> dict[str, tuple[float, float]]:
    """p50 ms of the parse-based guard (bounds, Traqula in V8, the SERVICE check) per query: for
    a text not seen before (each one made new by a trailing comment), and for a text asked
    again (its parse remembered, `kg.sparql.parse`)."""
    from kg.sparql.guard import check_query
    from kg.sparql.parse import parse_query

    def p50(texts: list[str]) -> float:
        samples = []
        for text in texts:
            start = time.perf_counter()
            check_query(parse_query(text))
            samples.append((time.perf_counter() - start) * 1000)
        return statistics.median(samples)

    costs = {}
    for query in sorted(QUERIES.glob("*.rq")):
        text = query.read_text(encoding="utf-8")
        p50([f"{text}\n# warm-up {n}" for n in range(50)])  # V8 compiles the hot paths
        first = p50([f"{text}\n# {n}" for n in range(iterations)])
        again = p50([text] * iterations)
        costs[f"sparql/{query.stem}"] = (first, again)
    return costs


NO_CACHE = "modelkg no-cache"


def uncached(base: str, pid: int, workload: Workload) -> Contender:
    """Our server sent the same requests with `Cache-Control: no-cache`: each one computed, as
    on a miss of the response cache."""
    return Contender(
        NO_CACHE,
        base,
        pid,
        replace(
            workload,
            requests=tuple(
                replace(r, headers={**r.headers, "Cache-Control": "no-cache"})
                for r in workload.requests
            ),
        ),
    )


def precheck(base: str, workload: Workload) -> str | float:
    """Why the workload cannot be timed, or (the first requests answered 2xx, SPARQL with rows)
    the seconds the slowest of them took."""
    slowest = 0.0
    for request in workload.requests[:20]:
        start = time.perf_counter()
        try:
            answer = httpx.request(
                request.method, base + request.path, headers=request.headers,
                content=request.body, timeout=120,
            )  # fmt: skip
        except httpx.HTTPError as exc:
            return f"failed ({type(exc).__name__})"
        slowest = max(slowest, time.perf_counter() - start)
        if answer.status_code == 404 and answer.content == NO_ROUTE:
            return "endpoint missing (404)"
        if not 200 <= answer.status_code < 300:
            return f"failed ({answer.status_code} on {request.path[:40]})"
        if workload.endpoint.startswith("sparql/") and not answer.json()["results"]["bindings"]:
            return "failed (no rows)"
    return slowest


# --- the benchmark -------------------------------------------------------------------------


def in_process(store: Path, iterations: int, budget: float) -> tuple[int, dict[str, Result]]:
    """Baseline: each query on pyoxigraph here, one after another, serialized to SPARQL JSON.

    Also how many quads the store holds (all graphs: models, derived, ontology, shapes).
    """
    from pyoxigraph import QueryResultsFormat, QuerySolutions, Store

    opened = Store.read_only(str(store))
    quads = len(opened)

    def answer(text: str) -> bytes | None:
        solutions = opened.query(text, use_default_graph_as_union=True)
        assert isinstance(solutions, QuerySolutions)
        return solutions.serialize(format=QueryResultsFormat.JSON)

    results = {}
    for query in sorted(QUERIES.glob("*.rq")):
        text = query.read_text(encoding="utf-8")
        answer(text)  # warm-up
        samples: list[float] = []
        deadline = time.perf_counter() + budget
        while len(samples) < iterations and (time.perf_counter() < deadline or len(samples) < 5):
            start = time.perf_counter()
            answer(text)
            samples.append(time.perf_counter() - start)
        ordered = sorted(s * 1000 for s in samples)
        results[f"sparql/{query.stem}"] = Result(
            requests=len(ordered),
            errors=0,
            seconds=sum(samples),
            p50=statistics.median(ordered),
            p95=percentile(ordered, 0.95),
            p99=percentile(ordered, 0.99),
        )
    return quads, results  # the store closes with `opened`, when this returns


@dataclass(frozen=True)
class Contender:
    """One server's side of a cell: where it listens, its pid, and the requests it is sent."""

    server: str
    base: str
    pid: int
    workload: Workload


@dataclass
class Bench:
    generator: Generator
    clients: list[int]
    duration: float
    max_duration: float
    timeout: float
    work: Path
    pids: list[int]  # every server up: all must be idle before a cell
    rounds: int = 1
    rows: dict[tuple[str, str, int], Result | str] = field(default_factory=dict)
    slices: dict[tuple[str, str, int], list[Result]] = field(default_factory=dict)
    cpu: dict[str, float] = field(default_factory=dict)
    generator_cpu: float = 0.0
    notes: list[str] = field(default_factory=list)

    def load(self, side: Contender, clients: int, duration: float) -> Result:
        result = run_load(
            self.generator, side.base, side.workload, clients, duration, self.timeout, self.work
        )
        self.generator_cpu += result.cpu
        return result

    def cells(self, *sides: Contender) -> None:
        """One cell per client count for each side. A cell short enough to split runs as
        `rounds` slices, the sides taking turns slice by slice (A B C A B C ...), so each
        pair is measured seconds apart: this machine's speed steps between two levels (the
        same query in process: 4.4 ms for a while, then 7.4 ms) at moments no one chooses,
        and a pair of long cells minutes apart compared those levels, not the servers. Each
        server is idle before each slice."""
        single: list[tuple[Contender, float]] = []
        for side in sides:
            self.settle(side)
            checked = precheck(side.base, side.workload)
            if isinstance(checked, str):
                for clients in self.clients:
                    self.rows[side.workload.endpoint, side.server, clients] = checked
                continue
            warm = self.load(side, 1, max(2, 3 * checked))
            # the warm-up's p50, not the first request's time (a cold start: workers spawning)
            single.append((side, warm.p50 / 1000 if warm.requests else checked))
        for clients in self.clients:
            # long enough for each client to finish ~3 requests when the server is CPU-bound
            needed = {side.server: 3 * clients * seconds / CORES for side, seconds in single}
            # a slice must hold ~3 requests per client even if the server used one core only
            # (GraphQL and REST are one Python process): else it ends before any finishes
            shortest = max([3 * clients * seconds for _, seconds in single] + [1.0])
            rounds = max(1, min(self.rounds, int(self.duration // shortest)))
            slices: dict[str, list[Result]] = {side.server: [] for side, _ in single}
            waited = 0.0
            for _ in range(rounds):
                for side, _seconds in single:
                    waited += self.settle(side)
                    length = min(self.max_duration, max(self.duration, needed[side.server]))
                    if rounds > 1:
                        length = max(shortest, self.duration / rounds)
                    slices[side.server].append(self.load(side, clients, length))
            for side, _seconds in single:
                result = merged(slices[side.server])
                self.rows[side.workload.endpoint, side.server, clients] = result
                self.slices[side.workload.endpoint, side.server, clients] = slices[side.server]
                print(
                    f"  {side.workload.endpoint:<20} {side.server:<15} c={clients:<3} "
                    f"{result.requests:>6} req {result.errors:>4} err p50 {result.p50:9.2f} ms "
                    f"{result.rate:8.1f} req/s ({rounds} slices, {waited:.0f} s waiting for "
                    "idle)",
                    file=sys.stderr,
                )

    def paired_ratio(self, endpoint: str, server: str, clients: int) -> float | None:
        """The median over slices of our p50 / Oxigraph's p50 in the same round."""
        ours = self.slices.get((endpoint, server, clients), [])
        theirs = self.slices.get((endpoint, "oxigraph-server", clients), [])
        ratios = [a.p50 / b.p50 for a, b in zip(ours, theirs, strict=False) if a.p50 and b.p50]
        return statistics.median(ratios) if ratios else None

    def settle(self, side: Contender) -> float:
        """Wait for every server to finish what earlier cells left (the other one's leftovers
        would take CPU from this cell too); note it if one never does."""
        start = time.perf_counter()
        for pid in self.pids:
            if drain(pid, DRAIN_LIMIT) >= DRAIN_LIMIT:
                self.notes.append(
                    f"a server still busy after {DRAIN_LIMIT:.0f} s before "
                    f"{side.workload.endpoint} on {side.server}: that cell ran on a busy machine"
                )
        return time.perf_counter() - start

    @contextmanager
    def metered(self, servers: dict[str, int]) -> Iterator[None]:
        """Record in `cpu` the cores each server, the generators and everything else used."""

        def now() -> tuple[float, ...]:
            servers_cpu = (process_cpu(pid) for pid in servers.values())
            return (time.perf_counter(), *machine_busy(), time.process_time(),
                    self.generator_cpu, *servers_cpu)  # fmt: skip

        before = now()
        yield
        wall, busy, niced, own, generated, *used = (
            b - a for a, b in zip(before, now(), strict=True)
        )
        self.cpu = {name: cpu / wall for name, cpu in zip(servers, used, strict=True)}
        self.cpu["load generator"] = generated / wall
        self.cpu["everything else"] = max(0.0, busy - sum(used) - own - generated) / wall
        self.cpu["(of which niced)"] = niced / wall


def merged(slices: list[Result]) -> Result:
    """Slices of one cell as one row: counts summed, each percentile the median of the slices'
    (percentiles of the pooled requests would need every latency)."""
    if len(slices) == 1:
        return slices[0]
    return Result(
        requests=sum(r.requests for r in slices),
        errors=sum(r.errors for r in slices),
        seconds=sum(r.seconds for r in slices),
        p50=statistics.median(r.p50 for r in slices),
        p95=statistics.median(r.p95 for r in slices),
        p99=statistics.median(r.p99 for r in slices),
        cpu=sum(r.cpu for r in slices),
    )


Calibration = dict[tuple[Generator, int], Result]


def calibrate(base: str, work: Path, candidates: list[Generator], duration: float) -> Calibration:
    """Each generator against the Oxigraph server on a cheap ASK: who keeps up?"""
    ask = Workload("ask", (Request("POST", "/query", SPARQL_HEADERS, "ASK { ?s ?p ?o }"),))
    return {
        (generator, clients): run_load(generator, base, ask, clients, duration, 30, work)
        for generator in candidates
        for clients in (10, 100)
    }


def print_table(header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for line in [header, ["-" * w for w in widths], *rows]:
        print(" | ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--models", type=int, default=10_000)
    parser.add_argument("--clients", default="1,10,100")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per cell (least)")
    parser.add_argument("--max-duration", type=float, default=150.0)
    parser.add_argument(
        "--rounds", type=int, default=5, help="slices per short cell, the servers taking turns"
    )
    parser.add_argument("--timeout", type=float, default=300.0, help="per request, seconds")
    parser.add_argument("--iterations", type=int, default=200, help="in-process, per query")
    parser.add_argument("--pages", type=int, default=10, help="GraphQL pages to cycle")
    parser.add_argument("--generator", choices=["auto", "wrk", "python"], default="auto")
    parser.add_argument("--work", type=Path, help="work dir (default: a fresh temp dir)")
    parser.add_argument("--reuse", action="store_true", help="keep and reuse --work's store")
    args = parser.parse_args()
    with work_dir("serve", args.work, keep=args.reuse) as work:
        run(args, work)


def run(args: argparse.Namespace, work: Path) -> None:
    clients = [int(c) for c in args.clients.split(",")]
    load = os.getloadavg()[0]  # before any work of ours: other work on the machine
    print(f"building a {args.models:,}-model store in {work} ...", file=sys.stderr)
    store = build_store(work, args.models, args.reuse)
    # the Oxigraph server reads a byte copy, so both servers can be up at once (ours opens
    # its store read-write); made afresh, as our server may have touched the store since
    shutil.rmtree(work / "copy", ignore_errors=True)
    shutil.copytree(work / "store", work / "copy")
    print("in-process baseline and the guard's cost ...", file=sys.stderr)
    quads, baseline = in_process(work / "store", args.iterations, args.duration)
    guard = guard_costs(args.iterations)

    candidates: list[Generator] = ["wrk", "python"] if ensure_wrk() else ["python"]
    oxi_port, port = free_port(), free_port()
    oxi_base, base = f"http://127.0.0.1:{oxi_port}", f"http://127.0.0.1:{port}"
    oxi_cmd = [str(BIN / "oxigraph"), "serve-read-only", "--location", str(work / "copy"),
               "--bind", f"127.0.0.1:{oxi_port}", "--union-default-graph"]  # fmt: skip
    ours = [str(BIN / "modelkg"), "serve", "--store", str(work / "store"), "--host",
            "127.0.0.1", "--port", str(port), "--query-timeout", str(SERVER_TIMEOUT),
            "--max-queries-per-client", "1000"]  # fmt: skip
    with (
        serving(oxi_cmd, oxi_base + "/query?query=" + quote("ASK {}"), work / "oxigraph.log")
        as oxi_pid,
        serving(ours, base + "/health", work / "modelkg.log") as pid,
    ):  # fmt: skip
        print("load generators ...", file=sys.stderr)
        calibration = calibrate(oxi_base, work, candidates, min(args.duration, 5))
        generator: Generator = (
            args.generator
            if args.generator != "auto"
            else max(candidates, key=lambda g: calibration[g, 100].rate)
        )
        bench = Bench(
            generator, clients, args.duration, args.max_duration, args.timeout, work,
            [oxi_pid, pid], rounds=args.rounds,
        )  # fmt: skip
        with bench.metered({"oxigraph-server": oxi_pid, "modelkg": pid}):
            theirs, mine = sparql_workloads("/query"), sparql_workloads("/sparql")
            for their_side, our_side in zip(theirs, mine, strict=True):
                bench.cells(
                    Contender("oxigraph-server", oxi_base, oxi_pid, their_side),
                    uncached(base, pid, our_side),
                    Contender("modelkg", base, pid, our_side),
                )
            their_gsp, our_gsp = graph_store_workloads(base, 200)
            bench.cells(
                Contender("oxigraph-server", oxi_base, oxi_pid, their_gsp),
                uncached(base, pid, our_gsp),
                Contender("modelkg", base, pid, our_gsp),
            )
            floor = Workload("floor (/docs)", (Request("GET", "/docs"),))
            bench.cells(Contender("modelkg", base, pid, floor))
            rest = rest_workload(base, 1000)
            bench.cells(Contender("modelkg", base, pid, rest))
            bench.cells(uncached(base, pid, rest))
            graphql = graphql_workload(base, args.pages)  # last: it leaves the most behind
            if isinstance(graphql, str):  # no pages to cycle: say why in every cell
                for c in clients:
                    bench.rows["graphql", "modelkg", c] = graphql
            else:
                bench.cells(Contender("modelkg", base, pid, graphql))
                bench.cells(uncached(base, pid, graphql))

    report(args, store, quads, load, baseline, guard, calibration, generator, bench)


def report(
    args: argparse.Namespace,
    store: dict[str, Any],
    quads: int,
    load: float,
    baseline: dict[str, Result],
    guard: dict[str, tuple[float, float]],
    calibration: Calibration,
    generator: Generator,
    bench: Bench,
) -> None:
    built = "reused from an earlier run" if store["reused"] else "this run"
    print(
        f"\nstore: {args.models:,} models, {quads:,} quads "
        f"(ingest with reasoning {store['build_seconds']:.0f} s, {built}; "
        f"{store['summary']}); "
        f"{CORES} CPU cores shared by server and load generator; 1-minute load average "
        f"{load:.2f} when the run began\n"
    )
    print("the parse-based guard per query, in process, beside the engine (pyoxigraph) alone:")
    print_table(
        ["query", "guard p50 ms (new text)", "guard p50 ms (asked again)", "engine p50 ms",
         "new guard / engine", "target < 1 ms"],
        [
            [name, f"{first:.3f}", f"{again:.4f}", f"{baseline[name].p50:.3f}",
             _ratio(first / baseline[name].p50), "met" if first < 1 else "NOT met"]
            for name, (first, again) in guard.items()
        ],
    )  # fmt: skip
    print()
    print("load generators against the Oxigraph server, `ASK { ?s ?p ?o }` (5 s each):")
    print_table(
        ["generator", "clients", "requests", "errors", "p50 ms", "req/s", "generator CPU us/req"],
        [
            [g, str(c), f"{r.requests:,}", str(r.errors), f"{r.p50:.2f}", f"{r.rate:,.0f}",
             f"{1e6 * r.cpu / max(r.requests, 1):.0f}"]
            for (g, c), r in calibration.items()
        ],
    )  # fmt: skip
    print(f"-> using {generator} for every cell below\n")
    header = ["endpoint", "server", "clients", "requests", "errors", "p50 ms", "p95 ms",
              "p99 ms", "req/s", "p50 vs base", "req/s vs base"]  # fmt: skip
    rows: list[list[str]] = []
    endpoints = list(dict.fromkeys(key[0] for key in bench.rows))
    floor = "floor (/docs)"
    for endpoint in [e for e in endpoints if e != floor] + [floor]:
        if endpoint in baseline:
            r = baseline[endpoint]
            rows.append([endpoint, "in-process", "1", f"{r.requests:,}", "0", *_times(r),
                         f"{r.rate:,.1f}", "", ""])  # fmt: skip
        for server in ("oxigraph-server", NO_CACHE, "modelkg"):
            for c in bench.clients:
                cell = bench.rows.get((endpoint, server, c))
                if cell is None:
                    continue
                if isinstance(cell, str):
                    rows.append([endpoint, server, str(c), cell, "", "", "", "", "", "", ""])
                    continue
                if server == "oxigraph-server":
                    base: Result | str | None = baseline.get(endpoint)
                elif endpoint.startswith(("sparql/", "gsp/")):
                    base = bench.rows.get((endpoint, "oxigraph-server", c))
                elif endpoint != floor:
                    base = bench.rows.get((floor, "modelkg", c))
                else:
                    base = None
                ratios = ["", ""]
                if cell.errors or (isinstance(base, Result) and base.errors):
                    ratios = ["errors", "errors"]  # latencies of error answers: no comparison
                elif isinstance(base, Result) and base.p50 and base.rate:
                    paired = bench.paired_ratio(endpoint, server, c)
                    p50_ratio = paired if paired is not None else cell.p50 / base.p50
                    ratios = [_ratio(p50_ratio), _ratio(cell.rate / base.rate)]
                    if server == "oxigraph-server":
                        ratios[1] = ""  # in-process is one thread: its req/s is not comparable
                if not cell.requests:  # every request still running (or timed out) at the end
                    rows.append([endpoint, server, str(c), f"0 in {cell.seconds:.0f} s",
                                 str(cell.errors), "-", "-", "-", "0", "", ""])  # fmt: skip
                    continue
                rows.append([endpoint, server, str(c), f"{cell.requests:,}", str(cell.errors),
                             *_times(cell), f"{cell.rate:,.1f}", *ratios])  # fmt: skip
    print(
        "p50 vs base / req/s vs base: oxigraph-server vs in-process; our SPARQL and Graph Store "
        "vs oxigraph-server at the same clients (p50: the median of the ratios slice by slice, "
        f"up to {bench.rounds} slices taking turns); GraphQL and REST vs the floor at the same "
        "clients; a cell's p50/p95/p99 is the median of its slices'"
    )
    print_table(header, rows)
    print(
        f"CPU over all cells, in cores of {CORES}: "
        + ", ".join(f"{name} {cores:.2f}" for name, cores in bench.cpu.items())
    )
    for note in bench.notes:
        print(f"note: {note}")
    print()
    verdicts(bench)


def _ratio(value: float) -> str:
    return f"{value:.2f}x" if value >= 0.1 else f"{value:.2g}x"


def _times(r: Result) -> list[str]:
    return [f"{r.p50:.2f}", f"{r.p95:.2f}", f"{r.p99:.2f}"]


def verdicts(bench: Bench) -> None:
    top = max(bench.clients)
    for server in ("modelkg", NO_CACHE):
        endpoint = f"graphql on {server}"
        graphql = bench.rows.get(("graphql", server, top))
        if isinstance(graphql, Result) and graphql.requests:
            ok = graphql.p95 < 150 and graphql.errors == 0
            print(
                f"target GraphQL p95 < 150 ms at {top} clients, no errors, {endpoint}: p95 "
                f"{graphql.p95:.0f} ms, {graphql.errors} errors -> {'met' if ok else 'NOT met'}"
            )
        else:
            why = graphql if isinstance(graphql, str) else "no request completed"
            print(f"target GraphQL p95 < 150 ms at {top} clients, {endpoint}: NOT met ({why})")
    for endpoint in dict.fromkeys(e for e, _, _ in bench.rows if e.startswith(("sparql/", "gsp/"))):
        for server in ("modelkg", NO_CACHE):
            sparql_verdict(bench, endpoint, server)


def sparql_verdict(bench: Bench, endpoint: str, server: str) -> None:
    ratios = []
    for c in bench.clients:
        ours = bench.rows.get((endpoint, server, c))
        theirs = bench.rows.get((endpoint, "oxigraph-server", c))
        if isinstance(ours, Result) and ours.errors:
            ratios.append(f"{ours.errors} errors")
        elif isinstance(ours, Result) and isinstance(theirs, Result) and ours.p50 and theirs.p50:
            paired = bench.paired_ratio(endpoint, server, c)
            ratios.append(f"{paired if paired is not None else ours.p50 / theirs.p50:.2f}x")
        else:
            ratios.append("n/a")
    measured = [float(r[:-1]) for r in ratios if r.endswith("x")]
    failed = any(r.endswith("errors") for r in ratios)
    if failed or (measured and max(measured) > 1.5):
        verdict = "NOT met"
    elif not measured:
        verdict = "not measured"
    else:
        verdict = "met" if len(measured) == len(ratios) else "met where measured"
    print(
        f"target SPARQL p50 within 1.5x of Oxigraph, {endpoint} on {server}: "
        f"{' / '.join(ratios)} at {'/'.join(map(str, bench.clients))} clients -> {verdict}"
    )


if __name__ == "__main__":
    main()
