"""Benchmark: the model lifecycle as the `mlflow` client drives it (logging, searching runs, a
leaderboard, walking lineage), against MLflow's own tracking server and against ModelKG's
MLflow-compatible one, the same client code (`MlflowClient(tracking_uri=...)`, mlflow-skinny
from the project's venv) over HTTP to each.

Baseline: MLflow's own server, measured in the same run: `mlflow server` 3.17.2 (uvicorn, one
worker, as ModelKG serves from one process; its GenAI job runner off) on a SQLite file, from
its own venv bench/.venv-mlflow, built from the hash-pinned bench/mlflow-server.lock on first
use (bench/mlflow_server.py). ModelKG's column is `start_modelkg`'s: "—" until it is written.

Workloads, each on each server (calls timed at the client):
  1. log_batch      1,000 metrics (10 keys x 100 steps) in one `log_batch` call to one run,
                    `--repeat` batches after one untimed: p50 ms per batch
  2. log_metric     1,000 single `log_metric` calls to one run: total s and p50 ms per call
  3. search_runs    over an experiment of N finished runs, the filter
                    "metrics.accuracy > 0.9x and params.batch_size = '32'" (the threshold and
                    batch size vary from query to query), max_results=100: p50 and p95 ms
  4. leaderboard    the same N runs, order_by=["metrics.accuracy DESC"], max_results=10: p50
                    and p95 ms
  5. lineage        depth 5, as a user walks it: get_model_version_by_alias("champion") ->
                    get_model_version -> get_run (its dataset inputs) -> get_run of its
                    mlflow.parentRunId -> get_run of that one's parent: p50 and p95 ms per walk
Workloads 3 to 5 time `--queries` calls (walks) after one untimed, or fewer once `--seconds`
have gone by, one at least (then the first, not warmed up): MLflow on SQLite takes seconds
per leaderboard over 10,000 runs and a quarter of an hour over 100,000 (its ORDER BY a metric
joins every run to a subquery of latest_metrics that SQLite 3.40 scans whole for each run).
The table shows n where fewer calls were timed. Every answer is checked (the lineage walk finds
the dataset and the three runs, the leaderboard has 10 rows, a search finds runs).

Data: N is each of `--runs` (default 10,000 and 100,000; `--quick`: 1,000 and 10,000), each in
a fresh server holding that experiment only; logging and lineage in another fresh server. The
runs are loaded in bulk, not through the API (MLflow: rows straight into its SQLite file,
`populate_mlflow`), each with 4 metrics at 3 steps (accuracy, loss, precision, recall), 4
params (lr, batch_size, epochs, optimizer) and 3 tags, the same seeded values on every
server. The lineage chain (three runs, a dataset input, a registered model with a version
and the alias `champion`) is made through the client.

Floor: the two logging workloads once more against a server that does no work
(bench/mlflow_floor.py: every request answered at once, by uvicorn with httptools as the two
real servers): what the client and HTTP cost on their own. MLflow's time over the floor's is
the most any server could reach on that call, printed beside the 5x target.

The ratio is MLflow's time over ModelKG's: above 1 means ModelKG is faster. Targets (the
issue): a 1,000-metric batch under 20 ms in-process, the leaderboard over 100,000 runs at p95
under 200 ms, and at least 5x MLflow over HTTP. No timing is asserted: the table is the output,
with a JSON of every figure under bench/results/.

Run:   .venv/bin/python bench/lifecycle.py [--runs 10000,100000] [--repeat 20] [--queries 50]
                                        [--seconds 60] [--work DIR]
Quick: .venv/bin/python bench/lifecycle.py --quick
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, Literal, TypeVar

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
sys.path.insert(0, str(HERE))

from ingest import work_dir  # noqa: E402
from loadgen import percentile  # noqa: E402
from mlflow_server import (  # noqa: E402
    QUIET_ENV,
    free_port,
    mlflow_server,
    populate_mlflow,
    serving,
)

os.environ.update(QUIET_ENV)  # no telemetry, no retries: before mlflow is imported

from mlflow.entities import Dataset, DatasetInput, InputTag, Metric  # noqa: E402
from mlflow.tracking import MlflowClient  # noqa: E402

METRICS_PER_RUN = 4
PARAMS_PER_RUN = 4
BATCH = 1000  # metrics per log_batch call, and log_metric calls
MODEL = "bench-lifecycle-model"
TOKEN = "bench-lifecycle-token"
ALIAS = "champion"
FASTER = "at least 5x over HTTP"
T = TypeVar("T")

# (experiment name, runs, metrics per run, params per run) -> the experiment's id
Populate = Callable[[str, int, int, int], str]
# a server for the length of the block: its tracking URI, and how to load runs into it
Start = Callable[[Path], AbstractContextManager[tuple[str, Populate]]]


@dataclass(frozen=True)
class Figure:
    """One row of the table, for one server: a time, lower is better."""

    row: str  # the workload, its data size and the statistic
    value: float
    unit: Literal["ms", "s"]
    target: str
    samples: int  # calls timed


# --- the servers -----------------------------------------------------------------------------


@contextmanager
def start_mlflow(work: Path) -> Iterator[tuple[str, Populate]]:
    """MLflow's own tracking server on a fresh SQLite file in `work` (the baseline)."""
    with mlflow_server(work) as url:

        def populate(name: str, runs: int, metrics: int, params: int) -> str:
            return populate_mlflow(work / "mlflow.db", name, runs, metrics, params)

        yield url, populate


@contextmanager
def start_modelkg(work: Path) -> Iterator[tuple[str, Populate]]:
    """ModelKG's server (`modelkg serve`, one process, its default write linger) on a fresh
    store in `work`, writes enabled with a token the client sends (MLFLOW_TRACKING_TOKEN). Its
    populate attaches to the served store as a command does and writes the very runs
    `populate_mlflow` gives MLflow, in bulk (`kg.lifecycle.bulk.import_runs`)."""
    from mlflow_server import synthetic_runs

    from kg.lifecycle import Metric as KgMetric
    from kg.lifecycle import Tracking
    from kg.lifecycle.bulk import ImportedRun, import_runs
    from kg.store import open_store

    work.mkdir(parents=True, exist_ok=True)
    store = work / "kg"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "MODELKG_TOKEN": TOKEN, "HF_HUB_OFFLINE": "1"}
    command = [str(HERE.parent / ".venv" / "bin" / "modelkg"), "serve", "--store", str(store),
               "--host", "127.0.0.1", "--port", str(port)]  # fmt: skip
    with serving(command, f"{url}/health", work / "modelkg-server.log", env):
        os.environ["MLFLOW_TRACKING_TOKEN"] = TOKEN

        def populate(name: str, runs: int, metrics: int, params: int) -> str:
            with open_store(str(store)) as opened:
                tracking = Tracking(opened)
                experiment = tracking.create_experiment(name)
                imported = (
                    ImportedRun(
                        r.run_id,
                        r.name,
                        r.start_time,
                        r.end_time,
                        metrics=tuple(KgMetric(k, v, t, s) for k, v, t, s in r.metrics),
                        params=r.params,
                        tags=r.tags,
                    )
                    for r in synthetic_runs(name, runs, metrics, params)
                )
                import_runs(tracking, experiment, imported)
            return experiment

        yield url, populate


@contextmanager
def start_floor(work: Path) -> Iterator[tuple[str, Populate]]:
    """A server that does no work (bench/mlflow_floor.py, uvicorn with httptools as both real
    servers): every request answered at once. It holds no runs to populate."""
    work.mkdir(parents=True, exist_ok=True)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "uvicorn", "--app-dir", str(HERE), "mlflow_floor:app",
               "--host", "127.0.0.1", "--port", str(port), "--http", "httptools",
               "--log-level", "warning"]  # fmt: skip
    with serving(command, f"{url}/health", work / "floor-server.log", dict(os.environ)):

        def populate(name: str, runs: int, metrics: int, params: int) -> str:
            raise NotImplementedError("the floor server holds no runs")

        yield url, populate


TARGETS: dict[str, Start] = {"mlflow": start_mlflow, "modelkg": start_modelkg}
BASELINE = "mlflow"


# --- the workloads ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Budget:
    """How many calls a read workload times: `calls`, or fewer once `seconds` have gone by
    (one at least: MLflow's slowest answers take minutes)."""

    calls: int
    seconds: float


def _timed(call: Callable[[], object]) -> float:
    """Milliseconds `call` takes."""
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


def _sampled(ask: Callable[[int], T], budget: Budget) -> tuple[list[float], T]:
    """Milliseconds each call `ask(0)`, `ask(1)`, ... took, within `budget`; and the first
    call's answer, to check. The first call warms up, untimed, unless it alone spent the
    budget."""
    timings: list[float] = []
    first: list[T] = []
    deadline = time.perf_counter() + budget.seconds
    while len(timings) < budget.calls and (not timings or time.perf_counter() < deadline):
        started = time.perf_counter()
        answer = ask(len(timings) + len(first))
        timings.append((time.perf_counter() - started) * 1000)
        if not first:
            first.append(answer)
            if time.perf_counter() < deadline:
                timings.clear()
    return timings, first[0]


def _percentiles(name: str, timings: list[float], target: str = FASTER) -> list[Figure]:
    ordered = sorted(timings)
    return [
        Figure(f"{name}: p50", percentile(ordered, 0.5), "ms", FASTER, len(timings)),
        Figure(f"{name}: p95", percentile(ordered, 0.95), "ms", target, len(timings)),
    ]


def log_batch(client: MlflowClient, experiment_id: str, repeat: int) -> list[Figure]:
    """`repeat` calls of `log_batch` with 1,000 metrics each (10 keys x 100 steps)."""
    run_id = client.create_run(experiment_id, run_name="log-batch").info.run_id
    now = int(time.time() * 1000)

    def batch(index: int) -> list[Metric]:
        return [
            Metric(f"train/m{i % 10}", (i * 7919 % 1000) / 1000, now + index, index * 100 + i // 10)
            for i in range(BATCH)
        ]

    client.log_batch(run_id, metrics=batch(0))  # warm-up
    batches = [batch(i) for i in range(1, repeat + 1)]  # built before the clock starts
    timings = [_timed(partial(client.log_batch, run_id, metrics=b)) for b in batches]
    client.set_terminated(run_id)
    return [
        Figure(f"log_batch, {BATCH:,} metrics: p50 per batch", statistics.median(timings), "ms",
               f"< 20 ms in-process; {FASTER}", repeat),
    ]  # fmt: skip


def log_metric(client: MlflowClient, experiment_id: str) -> list[Figure]:
    """1,000 single `log_metric` calls to one run."""
    run_id = client.create_run(experiment_id, run_name="log-metric").info.run_id
    client.log_metric(run_id, "warm-up", 0.0)
    timings = [
        _timed(partial(client.log_metric, run_id, "loss", 1 / (i + 1), step=i))
        for i in range(BATCH)
    ]
    client.set_terminated(run_id)
    return [
        Figure(f"log_metric x {BATCH:,}: total", sum(timings) / 1000, "s", FASTER, BATCH),
        Figure(f"log_metric x {BATCH:,}: p50 per call", statistics.median(timings), "ms", FASTER,
               BATCH),
    ]  # fmt: skip


def search(client: MlflowClient, experiment_id: str, runs: int, budget: Budget) -> list[Figure]:
    """Filtered `search_runs`, the accuracy threshold and the batch size varying."""
    sizes = ("32", "64", "16", "128")

    def ask(i: int) -> list[Any]:
        wanted = (
            f"metrics.accuracy > {0.9 + i % 5 / 100:.2f} and params.batch_size = '{sizes[i % 4]}'"
        )
        return list(client.search_runs([experiment_id], wanted, max_results=100))

    timings, first = _sampled(ask, budget)
    if not first:
        raise RuntimeError(f"the filtered search over {runs:,} runs found nothing")
    return _percentiles(f"search_runs, filter, {runs:,} runs", timings)


def leaderboard(
    client: MlflowClient, experiment_id: str, runs: int, budget: Budget
) -> list[Figure]:
    """The top 10 runs by accuracy, again and again."""

    def ask(_: int) -> list[Any]:
        return list(
            client.search_runs([experiment_id], order_by=["metrics.accuracy DESC"], max_results=10)
        )

    timings, top = _sampled(ask, budget)
    if len(top) != 10:
        raise RuntimeError(f"the leaderboard over {runs:,} runs has {len(top)} rows, not 10")
    target = f"p95 < 200 ms; {FASTER}" if runs >= 100_000 else FASTER
    return _percentiles(f"leaderboard, top 10 by accuracy, {runs:,} runs", timings, target)


def make_lineage(client: MlflowClient) -> None:
    """Three runs chained by `mlflow.parentRunId` (pretrain <- finetune <- distill), the last
    with a dataset input; a registered model whose version 1 is that run's, aliased ALIAS."""
    experiment_id = client.create_experiment("bench-lineage")
    parent: str | None = None
    for name in ("pretrain", "finetune", "distill"):
        tags = {"mlflow.parentRunId": parent} if parent else {}
        run = client.create_run(experiment_id, run_name=name, tags=tags)
        parent = run.info.run_id
        client.log_metric(parent, "accuracy", 0.9)
        client.log_param(parent, "lr", "0.001")
    dataset = Dataset("squad", "d1g3st", "local", "/data/squad.parquet")
    given = DatasetInput(dataset, [InputTag("mlflow.data.context", "train")])
    client.log_inputs(run.info.run_id, [given])
    client.set_terminated(run.info.run_id)
    client.create_registered_model(MODEL)
    version = client.create_model_version(
        MODEL, f"{run.info.artifact_uri}/model", run_id=run.info.run_id, await_creation_for=0
    )
    client.set_registered_model_alias(MODEL, ALIAS, version.version)


def walk(client: MlflowClient) -> tuple[list[str], list[str]]:
    """Deployment alias -> model version -> run (its datasets) -> parent run -> its parent:
    the datasets and the run names, newest first."""
    version = client.get_model_version_by_alias(MODEL, ALIAS)
    version = client.get_model_version(MODEL, version.version)
    run = client.get_run(version.run_id)
    datasets = [given.dataset.name for given in run.inputs.dataset_inputs]
    chain = [run.info.run_name]
    while parent := run.data.tags.get("mlflow.parentRunId"):
        run = client.get_run(parent)
        chain.append(run.info.run_name)
    return datasets, chain


def lineage(client: MlflowClient, budget: Budget) -> list[Figure]:
    """Walks of the lineage `make_lineage` made, five calls each."""
    make_lineage(client)
    timings, found = _sampled(lambda _: walk(client), budget)
    if found != (["squad"], ["distill", "finetune", "pretrain"]):
        raise RuntimeError(f"the lineage walk found {found}")
    return _percentiles("lineage, depth 5, a walk of 5 calls", timings)


# --- one server, every workload --------------------------------------------------------------


@dataclass(frozen=True)
class Measured:
    target: str
    figures: tuple[Figure, ...]
    populated_s: dict[int, float]  # runs -> seconds their bulk load took
    error: str | None = None


def measure(name: str, start: Start, work: Path, args: argparse.Namespace) -> Measured:
    """Every workload on the server `start` runs (a fresh one for logging and lineage, and
    one for each experiment size, holding that experiment only): its figures, or why there
    are none."""
    figures: list[Figure] = []
    populated: dict[int, float] = {}
    budget = Budget(args.queries, args.seconds)
    try:
        with start(work / "lifecycle") as (uri, _):
            client = MlflowClient(tracking_uri=uri, registry_uri=uri)
            print(f"{name} at {uri}: log_batch, log_metric, lineage ...", file=sys.stderr)
            logging = client.create_experiment("bench-logging")
            figures += log_batch(client, logging, args.repeat)
            figures += log_metric(client, logging)
            figures += lineage(client, budget)
        for runs in args.runs:
            with start(work / f"runs-{runs}") as (uri, populate):
                print(f"{name} at {uri}: loading {runs:,} runs ...", file=sys.stderr)
                started = time.perf_counter()
                experiment = populate(f"bench-runs-{runs}", runs, METRICS_PER_RUN, PARAMS_PER_RUN)
                populated[runs] = time.perf_counter() - started
                client = MlflowClient(tracking_uri=uri, registry_uri=uri)
                client.get_experiment(experiment)  # a warm connection
                print(f"{name}: search_runs, leaderboard over {runs:,} runs ...", file=sys.stderr)
                figures += search(client, experiment, runs, budget)
                figures += leaderboard(client, experiment, runs, budget)
    except NotImplementedError as exc:
        return Measured(name, (), {}, f"not measured: {exc}")
    except Exception as exc:  # the server under test failed: keep what it did and the baseline
        if name == BASELINE:
            raise
        return Measured(
            name, tuple(figures), populated, f"failed after {len(figures)} rows: {exc!r}"
        )
    return Measured(name, tuple(figures), populated)


def client_floor(work: Path, args: argparse.Namespace) -> list[Figure]:
    """The logging workloads against `start_floor`'s server: what the mlflow client and HTTP
    cost with no server work at all, the least a call can take here."""
    with start_floor(work / "floor") as (uri, _):
        client = MlflowClient(tracking_uri=uri, registry_uri=uri)
        print(f"client floor at {uri}: log_batch, log_metric ...", file=sys.stderr)
        logging = client.create_experiment("bench-floor")
        return [*log_batch(client, logging, args.repeat), *log_metric(client, logging)]


# --- in process: kg.lifecycle called directly ------------------------------------------------


def in_process(work: Path, args: argparse.Namespace) -> list[Figure]:
    """The issue's in-process targets, on ModelKG's side only (MLflow has no in-process
    equivalent of its server): a 1,000-metric `log_batch` into an embedded store, and the
    leaderboard and a depth-5 lineage walk over the stores the server left in `work`."""
    from kg.lifecycle import Metric as KgMetric
    from kg.lifecycle import Tracking, leaderboard, lineage, resolve_node
    from kg.store import open_store

    figures: list[Figure] = []
    with open_store(str(work / "batch")) as store:
        tracking = Tracking(store)
        run = tracking.create_run(tracking.create_experiment("in-process")).run_id
        now = int(time.time() * 1000)
        batches = [
            [KgMetric(f"train/m{i % 10}", (i * 7919 % 1000) / 1000, now, b * 100 + i // 10)
             for i in range(BATCH)]
            for b in range(args.repeat + 1)
        ]  # fmt: skip
        tracking.log_batch(run, metrics=batches[0])
        timings = [_timed(partial(tracking.log_batch, run, metrics=b)) for b in batches[1:]]
        figures.append(Figure(f"log_batch, {BATCH:,} metrics: p50", statistics.median(timings),
                              "ms", "< 20 ms", args.repeat))  # fmt: skip
    budget = Budget(args.queries, args.seconds)
    for runs in args.runs:
        with open_store(str(work / "modelkg" / f"runs-{runs}" / "kg"), read_only=True) as store:
            tracking = Tracking(store)
            found = tracking.get_experiment_by_name(f"bench-runs-{runs}")
            assert found is not None
            experiment = found.experiment_id

            def top(_: int, tracking: Tracking = tracking, experiment: str = experiment) -> int:
                return len(leaderboard(tracking, experiment, "accuracy", limit=10))

            timings, rows = _sampled(top, budget)
            if rows != 10:
                raise RuntimeError(f"the leaderboard has {rows} rows")
            target = "p95 < 200 ms" if runs >= 100_000 else ""
            figures += _percentiles(f"leaderboard, top 10, {runs:,} runs", timings, target)
    with open_store(str(work / "modelkg" / "lifecycle" / "kg"), read_only=True) as store:
        root = resolve_node(store, f"models:/{MODEL}@{ALIAS}")

        def walk_all(_: int) -> int:
            return len(lineage(store, root, direction="ancestors", depth=5).nodes)

        timings, nodes = _sampled(walk_all, budget)
        if nodes < 5:
            raise RuntimeError(f"the lineage walk found {nodes} nodes")
        figures += _percentiles(f"lineage, depth 5 ({nodes} nodes)", timings, "")
    return figures


# --- the table -------------------------------------------------------------------------------


def table(header: list[str], rows: list[list[str]]) -> None:
    print("| " + " | ".join(header) + " |")
    print("| " + " | ".join("---" if i == 0 else "---:" for i in range(len(header))) + " |")
    for row in rows:
        print("| " + " | ".join(row) + " |")


def _cell(figure: Figure, queries: int) -> str:
    few = f" (n={figure.samples})" if figure.samples < queries else ""
    if figure.unit == "ms" and figure.value >= 10_000:
        return f"{figure.value / 1000:,.1f} s{few}"
    return f"{figure.value:,.2f} {figure.unit}{few}"


def report(measured: list[Measured], queries: int) -> None:
    """The table: a row per figure, a column per server, each other server's ratio to the
    baseline (baseline time / its time: above 1 it is faster)."""
    baseline = next(m for m in measured if m.target == BASELINE)
    others = [m for m in measured if m.target != BASELINE]
    header = ["workload", f"{BASELINE} (baseline)"]
    for other in others:
        header += [other.target, "ratio" if len(others) == 1 else f"ratio {other.target}"]
    rows = []
    for figure in baseline.figures:
        row = [figure.row, _cell(figure, queries)]
        for other in others:
            theirs = next((f for f in other.figures if f.row == figure.row), None)
            if theirs is None:
                row += ["—", "—"]
            else:
                ratio = figure.value / theirs.value if theirs.value else float("inf")
                row += [_cell(theirs, queries), f"{ratio:.2f}x"]
        rows.append([*row, figure.target])
    table([*header, "target"], rows)
    print(f"\n(n=...: the calls a figure comes from, where fewer than --queries {queries:,})")
    for m in measured:
        loads = ", ".join(f"{runs:,} runs in {s:.1f} s" for runs, s in m.populated_s.items())
        print(f"- {m.target}: " + (m.error or f"bulk load of {loads}"))


def report_floor(measured: list[Measured], floor: list[Figure], queries: int) -> None:
    """The logging rows again beside the client's floor: MLflow's time over the floor's is
    the most any server could reach on that call; the target is 5x."""
    if not floor:
        return
    baseline = next(m for m in measured if m.target == BASELINE)
    ours = next((m for m in measured if m.target == "modelkg"), None)
    print("\n### The client's floor: the same calls to a server that does no work\n")
    rows = []
    for low in floor:
        theirs = next((f for f in baseline.figures if f.row == low.row), None)
        mine = next((f for f in ours.figures if f.row == low.row), None) if ours else None
        if theirs is None:
            continue
        best = theirs.value / low.value if low.value else float("inf")
        rows.append([
            low.row,
            _cell(theirs, queries),
            _cell(low, queries),
            f"{best:.2f}x",
            _cell(mine, queries) if mine else "—",
            f"{theirs.value / mine.value:.2f}x" if mine and mine.value else "—",
            f"{theirs.value / 5:,.2f} {theirs.unit}",
        ])  # fmt: skip
    table(["workload", f"{BASELINE}", "floor", "most reachable", "modelkg", "ratio",
           "5x needs at most"], rows)  # fmt: skip


def save(
    args: argparse.Namespace, started: datetime, load: float, measured: list[Measured]
) -> None:
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"lifecycle-{started:%Y%m%dT%H%M%S}.json"
    results = {
        "started": started.isoformat(timespec="seconds"),
        "command": " ".join(sys.argv),
        "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "cores": os.cpu_count(),
        "load_average": load,
        "targets": [asdict(m) for m in measured],
    }
    path.write_text(json.dumps(results, indent=1), encoding="utf-8")
    print(f"\nresults: {path}", file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument(
        "--runs",
        type=lambda text: [int(n) for n in text.split(",")],
        default=[10_000, 100_000],
        help="experiment sizes for search_runs and the leaderboard (default 10000,100000)",
    )
    parser.add_argument("--repeat", type=int, default=20, help="log_batch calls timed")
    parser.add_argument("--queries", type=int, default=50, help="searches (and walks) timed")
    parser.add_argument(
        "--seconds",
        type=float,
        default=60.0,
        help="time budget of each read workload: fewer --queries once spent (one at least)",
    )
    parser.add_argument(
        "--targets",
        type=lambda text: text.split(","),
        default=list(TARGETS),
        help=f"servers, of {', '.join(TARGETS)} (default all); {BASELINE}, the baseline, always",
    )
    parser.add_argument("--work", type=Path, help="work dir, kept (default: a temp dir)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 1,000 and 10,000 runs")
    args = parser.parse_args()
    if args.quick:
        args.runs = [1_000, 10_000]
    unknown = [t for t in args.targets if t not in TARGETS]
    if unknown or BASELINE not in args.targets:
        parser.error(f"--targets: choose among {', '.join(TARGETS)}, with {BASELINE}")
    load = os.getloadavg()[0]
    started = datetime.now(UTC)
    with work_dir("lifecycle", args.work, keep=args.work is not None) as work:
        measured = [measure(t, TARGETS[t], work / t, args) for t in args.targets]
        ours = next((m for m in measured if m.target == "modelkg"), None)
        local = in_process(work, args) if ours is not None and ours.error is None else []
        floor = client_floor(work, args)
    print(
        f"## The lifecycle through the mlflow client, {started:%Y-%m-%d}: {os.cpu_count()} "
        f"cores, 1-minute load average {load:.2f} when the run began\n"
    )
    report(measured, args.queries)
    report_floor(measured, floor, args.queries)
    if local:
        print("\n### In process: kg.lifecycle called directly (ModelKG only)\n")
        table(["workload", "modelkg", "target"],
              [[f.row, _cell(f, args.queries), f.target] for f in local])  # fmt: skip
    save(
        args,
        started,
        load,
        [
            *measured,
            Measured("modelkg in process", tuple(local), {}),
            Measured("client floor", tuple(floor), {}),
        ],
    )


if __name__ == "__main__":
    main()
