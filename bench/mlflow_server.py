"""MLflow's own tracking server, the baseline of bench/lifecycle.py: its venv, the server, and
a bulk loader for its SQLite database.

The full `mlflow` package cannot share the project's venv (its graphene pins a graphql-core
that strawberry's cannot live with), so it gets one of its own, `bench/.venv-mlflow`, built
from the hash-pinned `bench/mlflow-server.lock` (made from `bench/mlflow-server.in` with the
project's pip-compile). The benchmark's client, `mlflow-skinny` in the project's venv, only
ever talks to it over HTTP.

Runs are loaded straight into the server's SQLite file, not through the REST API: at three
requests a run (create, log_batch, terminate) and 10-15 ms a request, 100,000 runs would take
over an hour, and what the benchmark measures is reading them, not writing them.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
LOCK = HERE / "mlflow-server.lock"
DEFAULT_VENV = HERE / ".venv-mlflow"
PYTHON = "python3.11"
STAMP = ".lock-sha256"  # in the venv: the lock it was installed from
STARTUP_SECONDS = 180.0

# No phoning home (there is no network here anyway: a blocked call only costs time), no
# retries hiding an error, for the server and for any client started from this environment.
QUIET_ENV = {
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "true",
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "3600",  # MLflow's slowest searches take minutes
    "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true",  # no "View run at" line per finished run
    "GIT_PYTHON_REFRESH": "quiet",
}
# The server's own extras that are no part of tracking: its job runner (seven huey consumer
# processes for GenAI jobs) would share the two cores with the server being measured.
SERVER_ENV = {**QUIET_ENV, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}


def _lock_digest() -> str:
    return hashlib.sha256(LOCK.read_bytes()).hexdigest()


def ensure_mlflow_venv(folder: Path = DEFAULT_VENV) -> Path:
    """The python of a venv in `folder` holding exactly what the lock pins; built (or rebuilt,
    when the lock changed since) with `python3.11 -m venv` and `pip install --require-hashes`.
    A stamp file in the venv holds the lock's sha256, so a second call is a file read."""
    python = folder / "bin" / "python"
    stamp = folder / STAMP
    digest = _lock_digest()
    if python.exists() and stamp.exists() and stamp.read_text().strip() == digest:
        return python
    print(f"building MLflow's venv in {folder} from {LOCK.name} ...", file=sys.stderr)
    subprocess.run([PYTHON, "-m", "venv", "--clear", str(folder)], check=True)
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--require-hashes", "-r", str(LOCK)],
        check=True,
    )
    stamp.write_text(digest + "\n")
    return python


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def mlflow_server(
    work: Path, *, port: int | None = None, venv: Path = DEFAULT_VENV
) -> Iterator[str]:
    """`mlflow server` on a SQLite file and an artifact folder in `work`, one uvicorn worker
    (ModelKG's server is one process too), until the block ends: yields its base URL. Its
    output goes to `work/mlflow-server.log`; its process group is sent SIGTERM at the end."""
    python = ensure_mlflow_venv(venv)
    work.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    command = [
        str(python.parent / "mlflow"), "server",
        "--backend-store-uri", f"sqlite:///{work / 'mlflow.db'}",
        "--default-artifact-root", str(work / "artifacts"),
        "--host", "127.0.0.1", "--port", str(port),
        "--workers", "1",
    ]  # fmt: skip
    with serving(
        command, f"{url}/health", work / "mlflow-server.log", {**os.environ, **SERVER_ENV}
    ):
        yield url


@contextmanager
def serving(command: list[str], health: str, log: Path, env: dict[str, str]) -> Iterator[None]:
    """`command` in its own process group (its workers go with it), its output appended to
    `log`, waited for until `health` answers 200 (`STARTUP_SECONDS` at most), stopped after
    (`_stop`). Every server the benchmarks start runs this way."""
    with log.open("ab") as output:
        process = subprocess.Popen(
            command, stdout=output, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{command[0]} exited ({process.returncode}); see {log}")
            if _answers(health):
                break
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"{command[0]} not ready after {STARTUP_SECONDS:.0f} s; see {log}"
                )
            time.sleep(0.25)
        yield
    finally:
        _stop(process)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the server's process group (`mlflow server` and its uvicorn), SIGKILL after
    30 s; the group outlives its leader when the leader died first."""
    for sent in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sent)
        except ProcessLookupError:
            break
        try:
            process.wait(timeout=30)
            break
        except subprocess.TimeoutExpired:
            continue
    process.wait()


# --- bulk loading --------------------------------------------------------------------------

METRIC_NAMES = ("accuracy", "loss", "precision", "recall")
PARAM_NAMES = ("lr", "batch_size", "epochs", "optimizer")
CHOICES = {
    "batch_size": ("16", "32", "64", "128"),
    "optimizer": ("adam", "sgd", "adamw"),
    "epochs": ("1", "3", "10"),
}
STEPS = 3  # values logged per metric and run: steps 0, 1, 2
START_MS = 1_700_000_000_000  # the first run's start time


@dataclass(frozen=True)
class SyntheticRun:
    """One finished run to load, as MLflow stores it (times in ms since the epoch)."""

    run_id: str  # 32 hex digits, as MLflow's
    name: str
    start_time: int
    end_time: int
    metrics: tuple[tuple[str, float, int, int], ...]  # key, value, timestamp, step
    params: tuple[tuple[str, str], ...]
    tags: tuple[tuple[str, str], ...]

    def latest(self) -> dict[str, tuple[float, int, int]]:
        """Each metric's value, timestamp and step at its highest step (latest_metrics)."""
        found: dict[str, tuple[float, int, int]] = {}
        for key, value, timestamp, step in self.metrics:
            if key not in found or step >= found[key][2]:
                found[key] = (value, timestamp, step)
        return found


def synthetic_runs(
    experiment_name: str, runs: int, metrics_per_run: int, params_per_run: int, *, seed: int = 0
) -> Iterator[SyntheticRun]:
    """`runs` runs with `metrics_per_run` metrics (accuracy, loss, precision, recall, then
    metric_4 ...) at `STEPS` steps each, `params_per_run` params (lr, batch_size, epochs,
    optimizer, then param_4 ...) and the tags mlflow.runName, mlflow.user and team. Values
    come from a `random.Random` seeded with `seed` and the experiment's name: the same
    arguments give the same runs (and run ids) on every server, and two experiments never
    share a run id. Accuracy ends between 0.5 and 1, loss between 0.01 and 2.

    >>> first = next(synthetic_runs("demo", 1, 2, 2))
    >>> first.name, sorted(first.latest()), [key for key, _ in first.params]
    ('run-000000', ['accuracy', 'loss'], ['lr', 'batch_size'])
    """
    metric_names = [*METRIC_NAMES, *(f"metric_{i}" for i in range(4, metrics_per_run))]
    param_names = [*PARAM_NAMES, *(f"param_{i}" for i in range(4, params_per_run))]
    rng = random.Random(f"{seed}:{experiment_name}")
    for index in range(runs):
        run_id = uuid.UUID(int=rng.getrandbits(128), version=4).hex
        began = START_MS + index * 1000
        metrics = []
        for key in metric_names[:metrics_per_run]:
            falls = key == "loss"  # the others rise step by step
            final = rng.uniform(0.01, 2.0) if falls else rng.uniform(0.5, 1.0)
            for step in range(STEPS):
                value = final * (STEPS - step) if falls else final * (step + 1) / STEPS
                metrics.append((key, value, began + step * 1000, step))
        params = []
        for key in param_names[:params_per_run]:
            if key == "lr":
                params.append((key, f"{10 ** rng.uniform(-5, -1):.2g}"))
            elif key in CHOICES:
                params.append((key, rng.choice(CHOICES[key])))
            else:
                params.append((key, str(rng.randint(0, 1000))))
        name = f"run-{index:06d}"
        team = rng.choice(["vision", "nlp", "speech"])
        yield SyntheticRun(
            run_id=run_id,
            name=name,
            start_time=began,
            end_time=began + 600_000,
            metrics=tuple(metrics),
            params=tuple(params),
            tags=(("mlflow.runName", name), ("mlflow.user", "bench"), ("team", team)),
        )


# Runs inside MLflow's venv (this module imports nothing from outside the standard library):
# MLflow's SQLAlchemy store makes (or upgrades) the schema and the experiment, as the server
# would; then plain sqlite3 inserts of every row, in one transaction.
POPULATE = """
import json, sqlite3, sys
from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

here, db, artifacts, name, runs, n_metrics, n_params, seed = json.loads(sys.argv[1])
sys.path.insert(0, here)
from mlflow_server import synthetic_runs

store = SqlAlchemyStore(f"sqlite:///{db}", artifacts)
found = store.get_experiment_by_name(name)
experiment = found.experiment_id if found else store.create_experiment(name)
store.engine.dispose()
location = f"{artifacts}/{experiment}"

rows = {"runs": [], "metrics": [], "latest_metrics": [], "params": [], "tags": []}
for run in synthetic_runs(name, runs, n_metrics, n_params, seed=seed):
    rows["runs"].append((run.run_id, run.name, "LOCAL", "bench", "", "bench", "FINISHED",
                         run.start_time, run.end_time, "", "active",
                         f"{location}/{run.run_id}/artifacts", int(experiment)))
    rows["metrics"] += [(k, v, t, run.run_id, s, 0) for k, v, t, s in run.metrics]
    rows["latest_metrics"] += [(k, v, t, s, 0, run.run_id) for k, (v, t, s) in run.latest().items()]
    rows["params"] += [(k, v, run.run_id) for k, v in run.params]
    rows["tags"] += [(k, v, run.run_id) for k, v in run.tags]

columns = {
    "runs": "run_uuid, name, source_type, source_name, entry_point_name, user_id, status,"
            " start_time, end_time, source_version, lifecycle_stage, artifact_uri, experiment_id",
    "metrics": "key, value, timestamp, run_uuid, step, is_nan",
    "latest_metrics": "key, value, timestamp, step, is_nan, run_uuid",
    "params": "key, value, run_uuid",
    "tags": "key, value, run_uuid",
}
connection = sqlite3.connect(db)
with connection:
    for table, names in columns.items():
        marks = ", ".join("?" * len(names.split(",")))
        connection.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows[table])
connection.close()
print(experiment)
"""


def populate_mlflow(
    db_path: Path,
    experiment_name: str,
    runs: int,
    metrics_per_run: int,
    params_per_run: int,
    *,
    seed: int = 0,
    artifacts: Path | None = None,
    venv: Path = DEFAULT_VENV,
) -> str:
    """Add `synthetic_runs(experiment_name, runs, metrics_per_run, params_per_run, seed=seed)`
    to the experiment `experiment_name` (made if missing) of the MLflow SQLite database
    `db_path`, FINISHED, with `latest_metrics` filled as MLflow keeps it; returns the
    experiment's id. 100,000 runs of 4 metrics and 4 params take about 20 s here."""
    python = ensure_mlflow_venv(venv)
    artifacts = artifacts or db_path.parent / "artifacts"
    arguments = [str(HERE), str(db_path), str(artifacts), experiment_name, runs,
                 metrics_per_run, params_per_run, seed]  # fmt: skip
    done = subprocess.run(
        [str(python), "-c", POPULATE, json.dumps(arguments)],
        capture_output=True,
        text=True,
        env={**os.environ, **QUIET_ENV},
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"populating {db_path} failed:\n{done.stderr}")
    return done.stdout.strip().splitlines()[-1]
