"""An unmodified `mlflow` client logs to a live ModelKG server (`resolvers.mlflow_api`), and what
it logged is ModelKG's lifecycle data: the same runs through `kg.lifecycle`.

The server is real (uvicorn over a store on disk), and so is the client: MLflow's fluent API
and `MlflowClient`, pointed at the server with `MLFLOW_TRACKING_TOKEN`. Requests the client
would never send (a metric that is not a number, a batch over MLflow's limits) go raw through
httpx, as another client might send them.
"""

from __future__ import annotations

import json
import math
import sys
import threading
from collections.abc import Callable, Iterator

import httpx
import mlflow
import pytest
from mlflow import MlflowClient
from mlflow.data.http_dataset_source import HTTPDatasetSource
from mlflow.data.meta_dataset import MetaDataset
from mlflow.entities import Metric as MlflowMetric
from mlflow.exceptions import MlflowException

from kg.lifecycle.registry import Registry
from kg.lifecycle.tracking import Tracking
from kg.store import ModelStore, open_store
from tests.resolvers.conftest import TOKEN, blank_store, serve

API = "/api/2.0/mlflow"
SWEEP = (("sgd", "0.1", [0.52, 0.61, 0.70]), ("adam", "0.01", [0.60, 0.78, 0.91]),
         ("adam", "0.001", [0.55, 0.72, 0.84]))  # fmt: skip
"""Three training runs: optimizer, learning rate, accuracy after each epoch."""


@pytest.fixture(scope="module")
def store_path(tmp_path_factory: pytest.TempPathFactory) -> str:
    return blank_store(tmp_path_factory, "mlflow")


@pytest.fixture(scope="module")
def url(store_path: str) -> Iterator[str]:
    """A live server with writes enabled (`TOKEN`) over a store with no models."""
    yield from serve(store_path, token=TOKEN)


@pytest.fixture(autouse=True)
def tracking_env(url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """MLflow's client pointed at the server with the token; errors come back at once."""
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", TOKEN)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    before = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(url)
    yield
    while mlflow.active_run() is not None:
        mlflow.end_run()
    mlflow.set_tracking_uri(before)


@pytest.fixture
def client(url: str) -> MlflowClient:
    return MlflowClient(tracking_uri=url)


@pytest.fixture
def tracking(store_path: str) -> Iterator[Callable[[], Tracking]]:
    """The lifecycle core over the store the server serves, attached beside the server as a
    command started now would be: it reads every write the server made before."""
    opened: list[ModelStore] = []

    def attach() -> Tracking:
        opened.append(open_store(store_path, read_only=True))
        return Tracking(opened[-1])

    yield attach
    for store in opened:
        store.close()


def _train(experiment: str) -> list[str]:
    """What a training script does: one run per setting, with params, a metric per epoch, a
    summary, tags and the dataset it trained on. Returns the run ids."""
    mlflow.set_experiment(experiment)
    dataset = MetaDataset(HTTPDatasetSource("https://example.com/reviews.csv"), name="reviews")
    run_ids = []
    for optimizer, lr, accuracies in SWEEP:
        with mlflow.start_run(run_name=f"{optimizer}-{lr}") as run:
            mlflow.log_param("optimizer", optimizer)
            mlflow.log_params({"lr": lr, "epochs": len(accuracies)})
            for epoch, acc in enumerate(accuracies):
                mlflow.log_metric("acc", acc, step=epoch)
            mlflow.log_metrics({"loss": 1 - accuracies[-1], "grad_norm": float("nan")})
            mlflow.set_tag("team", "nlp")
            mlflow.log_input(dataset, context="training")
            run_ids.append(run.info.run_id)
    return run_ids


def test_a_training_script_logs_runs_and_finds_the_best(client: MlflowClient) -> None:
    run_ids = _train("sentiment-sweep")
    experiment = client.get_experiment_by_name("sentiment-sweep")
    assert experiment is not None

    found = client.search_runs(
        [experiment.experiment_id], "params.optimizer = 'adam'", order_by=["metrics.acc DESC"]
    )
    assert [r.info.run_name for r in found] == ["adam-0.01", "adam-0.001"]
    best = found[0]
    assert best.info.run_id == run_ids[1]
    assert best.info.status == "FINISHED"
    assert best.data.params == {"optimizer": "adam", "lr": "0.01", "epochs": "3"}
    assert best.data.metrics["acc"] == 0.91
    assert math.isnan(best.data.metrics["grad_norm"])
    assert best.data.tags["team"] == "nlp"
    (used,) = best.inputs.dataset_inputs
    assert used.dataset.name == "reviews" and used.dataset.source_type == "http"
    assert {t.key: t.value for t in used.tags} == {"mlflow.data.context": "training"}

    history = client.get_metric_history(best.info.run_id, "acc")
    assert [(m.step, m.value) for m in history] == [(0, 0.60), (1, 0.78), (2, 0.91)]


def test_a_logged_run_is_modelkg_s_run(
    client: MlflowClient, tracking: Callable[[], Tracking]
) -> None:
    mlflow.set_experiment("same-data")
    with mlflow.start_run(run_name="probe") as run:
        mlflow.log_params({"lr": "3e-5"})
        mlflow.log_metric("acc", 0.5, step=0)
        mlflow.log_metric("acc", 0.75, step=1)
        mlflow.set_tag("stage", "probe")
    seen = client.get_run(run.info.run_id)

    ours = tracking().get_run(run.info.run_id)
    assert ours.info.run_name == seen.info.run_name == "probe"
    assert ours.info.status == seen.info.status == "FINISHED"
    assert ours.info.experiment_id == seen.info.experiment_id
    assert ours.params == seen.data.params
    assert ours.tags == seen.data.tags
    assert ours.metrics["acc"].value == seen.data.metrics["acc"] == 0.75
    assert ours.metrics["acc"].count == 2
    assert [m.value for m in tracking().metric_history(run.info.run_id, "acc")] == [0.5, 0.75]


def test_the_default_experiment_exists_from_the_start(client: MlflowClient) -> None:
    assert client.get_experiment("0").name == "Default"
    with mlflow.start_run(experiment_id="0") as run:
        mlflow.log_metric("x", 1.0)
    assert client.get_run(run.info.run_id).info.experiment_id == "0"


def test_the_best_run_becomes_the_champion_version(client: MlflowClient, store_path: str) -> None:
    experiment_id = client.create_experiment("registry-story")
    run = client.create_run(experiment_id, run_name="winner")
    client.log_metric(run.info.run_id, "acc", 0.93)
    client.set_terminated(run.info.run_id)

    client.create_registered_model("sentiment", tags={"task": "text-classification"})
    version = client.create_model_version(
        "sentiment", source=f"runs:/{run.info.run_id}/model", run_id=run.info.run_id
    )
    assert (version.version, version.status, version.run_id) == ("1", "READY", run.info.run_id)
    client.set_registered_model_alias("sentiment", "champion", version.version)

    champion = client.get_model_version_by_alias("sentiment", "champion")
    assert (champion.version, champion.run_id, champion.aliases) == (
        "1", run.info.run_id, ["champion"],
    )  # fmt: skip
    model = client.get_registered_model("sentiment")
    assert model.aliases == {"champion": "1"} and model.tags == {"task": "text-classification"}
    assert [v.version for v in client.search_model_versions("name = 'sentiment'")] == ["1"]

    store = open_store(store_path, read_only=True)
    try:
        assert Registry(store).get_version_by_alias("sentiment", "champion").run_id == (
            run.info.run_id
        )
    finally:
        store.close()

    client.delete_registered_model_alias("sentiment", "champion")
    with pytest.raises(MlflowException) as refused:
        client.get_model_version_by_alias("sentiment", "champion")
    assert refused.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def _running(client: MlflowClient, name: str) -> str:
    experiment = client.get_experiment_by_name(name)
    experiment_id = experiment.experiment_id if experiment else client.create_experiment(name)
    return str(client.create_run(experiment_id).info.run_id)


def test_a_finished_run_takes_no_more_metrics(client: MlflowClient, url: str) -> None:
    run_id = _running(client, "refusals")
    client.set_terminated(run_id, "FINISHED")
    with pytest.raises(MlflowException) as refused:
        client.log_metric(run_id, "acc", 0.9)
    # MLflow's server would take it: ModelKG's core refuses logging to an ended run
    assert refused.value.error_code == "INVALID_STATE"
    answer = httpx.post(
        f"{url}{API}/runs/log-metric",
        json={"run_id": run_id, "key": "acc", "value": 0.9, "timestamp": 1},
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert answer.status_code == 400  # not MLflow's 500, which its client would retry
    assert "acc" not in client.get_run(run_id).data.metrics


def test_a_param_is_set_once(client: MlflowClient) -> None:
    run_id = _running(client, "refusals")
    client.log_param(run_id, "lr", "0.1")
    client.log_param(run_id, "lr", "0.1")  # the same value again is fine, as in MLflow
    with pytest.raises(MlflowException) as refused:
        client.log_param(run_id, "lr", "0.2")
    assert refused.value.error_code == "INVALID_PARAMETER_VALUE"
    assert "Changing param values is not allowed" in refused.value.message
    assert client.get_run(run_id).data.params == {"lr": "0.1"}


def test_an_unknown_run_is_not_found(client: MlflowClient, url: str) -> None:
    with pytest.raises(MlflowException) as refused:
        client.get_run("0" * 32)
    assert refused.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    answer = httpx.get(f"{url}{API}/runs/get", params={"run_id": "0" * 32})
    assert answer.status_code == 404
    assert answer.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"key": "acc", "value": "high", "timestamp": 1}, "INVALID_PARAMETER_VALUE"),
        ({"key": "acc", "value": 0.5, "timestamp": "noon"}, "INVALID_PARAMETER_VALUE"),
        ({"key": "acc", "timestamp": 1}, "INVALID_PARAMETER_VALUE"),
        ("not json {", "BAD_REQUEST"),
        (["a", "list"], "BAD_REQUEST"),
    ],
)
def test_a_malformed_metric_is_refused(
    client: MlflowClient, url: str, body: object, code: str
) -> None:
    run_id = _running(client, "refusals")
    payload = {"run_id": run_id, **body} if isinstance(body, dict) else body
    answer = httpx.post(
        f"{url}{API}/runs/log-metric",
        content=payload if isinstance(payload, str) else None,
        json=None if isinstance(payload, str) else payload,
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert answer.status_code == 400
    assert answer.json()["error_code"] == code
    assert client.get_run(run_id).data.metrics == {}


def test_nan_and_infinity_are_numbers(client: MlflowClient, url: str) -> None:
    run_id = _running(client, "specials")
    for key, value in (("a", "NaN"), ("b", "Infinity"), ("c", "-Infinity")):
        answer = httpx.post(
            f"{url}{API}/runs/log-metric",
            json={"run_id": run_id, "key": key, "value": value, "timestamp": 1},
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
        assert answer.status_code == 200, answer.text
    answer = httpx.post(
        f"{url}{API}/runs/log-metric",
        content=f'{{"run_id": "{run_id}", "key": "d", "value": NaN, "timestamp": 1}}',
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
    )
    assert answer.status_code == 200, answer.text
    client.log_metric(run_id, "e", float("inf"))
    metrics = client.get_run(run_id).data.metrics
    assert math.isnan(metrics["a"]) and math.isnan(metrics["d"])
    # kept as MLflow's own stores keep them: an infinity as the largest finite double
    assert metrics["b"] == metrics["e"] == sys.float_info.max
    assert metrics["c"] == -sys.float_info.max


def test_a_batch_over_the_limits_writes_nothing(
    client: MlflowClient, url: str, tracking: Callable[[], Tracking]
) -> None:
    run_id = _running(client, "refusals")
    client.log_batch(run_id, metrics=[MlflowMetric("seen", 1.0, 1, 0)])
    too_many = [{"key": "loss", "value": 0.1, "timestamp": 1, "step": i} for i in range(1001)]
    too_large = [{"key": "note", "value": "x" * 1_100_000}]
    for body, why in (
        ({"metrics": too_many}, "at most 1000 metrics"),
        ({"tags": too_large}, "must be at most 1000000 bytes"),
        ({"metrics": [{"key": "loss", "timestamp": 1}]}, "'metrics[0].value'"),
    ):
        answer = httpx.post(
            f"{url}{API}/runs/log-batch",
            json={"run_id": run_id, **body},
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
        assert answer.status_code == 400
        assert answer.json()["error_code"] == "INVALID_PARAMETER_VALUE"
        assert why in answer.json()["message"]
    run = tracking().get_run(run_id)
    assert set(run.metrics) == {"seen"} and "note" not in run.tags


def test_a_write_without_the_token_is_refused(
    client: MlflowClient, url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_id = _running(client, "refusals")
    monkeypatch.delenv("MLFLOW_TRACKING_TOKEN")
    stranger = MlflowClient(tracking_uri=url)
    with pytest.raises(MlflowException) as refused:
        stranger.log_metric(run_id, "acc", 0.9)
    assert refused.value.error_code == "UNAUTHENTICATED"
    with pytest.raises(MlflowException):
        stranger.create_experiment("uninvited")
    answer = httpx.post(f"{url}{API}/experiments/create", json={"name": "uninvited"})
    assert answer.status_code == 401
    assert stranger.get_run(run_id).data.metrics == {}  # reads stay open
    assert stranger.get_experiment_by_name("uninvited") is None


def test_concurrent_writers_lose_no_point(client: MlflowClient, url: str) -> None:
    run_id = _running(client, "concurrency")
    writers, points = 4, 50
    failures: list[BaseException] = []

    def write(writer: int) -> None:
        own = MlflowClient(tracking_uri=url)
        try:
            for i in range(points):
                own.log_metric(run_id, "loss", writer + i / 100, step=writer * points + i)
        except BaseException as exc:  # reported by the main thread
            failures.append(exc)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    history = client.get_metric_history(run_id, "loss")
    assert sorted(m.step for m in history) == list(range(writers * points))
    assert client.get_run(run_id).data.metrics["loss"] == 3 + 49 / 100  # the highest step


def test_what_modelkg_does_not_serve_is_mlflow_s_not_found(url: str) -> None:
    for method, path in (
        ("GET", f"{API}/artifacts/list"),
        ("POST", f"{API}/logged-models"),
        ("POST", "/api/3.0/mlflow/traces"),
        ("GET", f"{API}/runs/create"),
    ):
        answer = httpx.request(method, f"{url}{path}")
        assert answer.status_code == 404, path
        assert answer.json()["error_code"] == "ENDPOINT_NOT_FOUND", path


def test_experiments_are_managed_as_in_mlflow(client: MlflowClient) -> None:
    experiment_id = client.create_experiment("to-rename", tags={"owner": "ana"})
    with pytest.raises(MlflowException) as refused:
        client.create_experiment("to-rename")
    assert refused.value.error_code == "RESOURCE_ALREADY_EXISTS"
    client.rename_experiment(experiment_id, "renamed")
    client.set_experiment_tag(experiment_id, "reviewed", "yes")
    assert client.get_experiment(experiment_id).tags == {"owner": "ana", "reviewed": "yes"}
    names = {e.name for e in client.search_experiments(filter_string="name LIKE 'renam%'")}
    assert names == {"renamed"}
    client.delete_experiment(experiment_id)
    assert client.get_experiment(experiment_id).lifecycle_stage == "deleted"
    client.restore_experiment(experiment_id)
    assert client.get_experiment_by_name("renamed").lifecycle_stage == "active"


def test_searches_page_as_in_mlflow(client: MlflowClient, url: str) -> None:
    for name in ("page-a", "page-b", "page-c"):
        client.create_experiment(name)
    first = client.search_experiments(max_results=2, filter_string="name LIKE 'page-%'")
    assert len(first) == 2 and first.token
    rest = client.search_experiments(
        max_results=2, filter_string="name LIKE 'page-%'", page_token=first.token
    )
    assert {e.name for e in [*first, *rest]} == {"page-a", "page-b", "page-c"}
    assert not rest.token
    answer = httpx.post(f"{url}{API}/experiments/search", json={"max_results": 0})
    assert answer.status_code == 400
    assert answer.json()["error_code"] == "INVALID_PARAMETER_VALUE"


def test_every_answer_is_the_json_mlflows_own_server_writes(
    client: MlflowClient,
    url: str,
    monkeypatch: pytest.MonkeyPatch,
    tracking: Callable[[], Tracking],
) -> None:
    """ModelKG writes answers in one pass (`resolvers.mlflow_api.proto_json`); what a client
    parses must be what MLflow's `message_to_json` gives for the same message, for runs with
    NaN and infinite metrics, datasets, searches, histories, models, versions and aliases."""
    from mlflow.utils.proto_json_utils import message_to_json

    from resolvers.mlflow_api import messages

    written: list[tuple[str, object, object]] = []
    fast = messages.message_json

    def both(message: object) -> bytes:
        answer = fast(message)
        mlflow_json = json.loads(message_to_json(message))
        kind = message.DESCRIPTOR.full_name  # type: ignore[attr-defined]
        written.append((kind, json.loads(answer), mlflow_json))
        return answer

    monkeypatch.setattr(messages, "message_json", both)
    run_ids = _train("json-check")
    experiment = client.get_experiment_by_name("json-check")
    assert experiment is not None
    extreme = client.create_run(experiment.experiment_id, tags={"kind": "extremes"}).info.run_id
    client.log_metric(extreme, "overflow", float("inf"), timestamp=2**53, step=2**40)
    client.log_metric(extreme, "underflow", float("-inf"))
    client.get_run(extreme)
    client.set_terminated(extreme, "FAILED")
    client.search_runs([experiment.experiment_id], "metrics.acc > 0.5", order_by=["metrics.acc"])
    client.get_run(run_ids[0])
    client.get_metric_history(run_ids[0], "acc")
    client.search_experiments()
    client.create_registered_model("json-check-model", tags={"team": "nlp"}, description="d")
    version = client.create_model_version("json-check-model", "runs:/x/model", run_id=run_ids[1])
    client.set_registered_model_alias("json-check-model", "champion", version.version)
    client.get_model_version_by_alias("json-check-model", "champion")
    client.search_registered_models()
    client.search_model_versions("name = 'json-check-model'")

    kinds = {kind for kind, _, _ in written}
    assert len(kinds) >= 12, kinds
    for kind, ours, theirs in written:
        assert ours == theirs, kind

    # runs are answered from JSON written once per run (`entities.run_json`), asked twice here
    from mlflow.protos.service_pb2 import GetRun, SearchRuns

    from resolvers.mlflow_api import entities

    search = {"experiment_ids": [experiment.experiment_id], "max_results": 2}
    for _ in range(2):
        answered = httpx.post(f"{url}{API}/runs/search", json=search)
        assert answered.status_code == 200, (answered.status_code, answered.text)
        page = answered.json()
        one = httpx.get(f"{url}{API}/runs/get", params={"run_id": extreme}).json()
    core = tracking()
    runs = [entities.run(core.get_run(r["info"]["run_id"])) for r in page["runs"]]
    expected = SearchRuns.Response(runs=runs, next_page_token=page["next_page_token"])
    assert page == json.loads(message_to_json(expected))
    expected_one = GetRun.Response(run=entities.run(core.get_run(extreme)))
    assert one == json.loads(message_to_json(expected_one))


@pytest.mark.parametrize(
    ("kind", "body"),
    [
        ("LogBatch", {"run_id": "r", "metrics": [{"key": "acc", "value": 0.5, "timestamp": 1,
                                                  "step": 2}, {"key": "x", "value": 3}],
                      "params": [{"key": "lr", "value": "0.1"}], "tags": []}),
        ("LogBatch", {"run_id": "r", "metrics": [{"key": "a", "value": "NaN"},
                                                  {"key": "b", "value": float("inf")},
                                                  {"key": "c", "value": "-Infinity"}]}),
        ("LogBatch", {"run_id": "r", "metrics": [{"key": "a", "value": "0.5"}]}),
        ("LogBatch", {"runId": "r", "metrics": [{"key": "a", "value": 1, "timestamp": "7"}]}),
        ("LogBatch", {"run_id": "r", "unknown": {"deep": [1]}, "metrics": []}),
        ("LogBatch", {"run_id": "r", "metrics": [{"key": "a", "value": 1, "step": 2**70}]}),
        ("LogBatch", {"run_id": "r", "metrics": [{"key": "a", "value": True}]}),
        ("LogBatch", {"run_id": "r", "metrics": [{"key": "a", "value": [1], "step": {}}]}),
        ("LogBatch", {"run_id": "r", "metrics": {"key": "a"}}),
        ("LogBatch", {"run_id": None}),
        ("LogBatch", {"run_id": "\ud800"}),
        ("UpdateRun", {"run_id": "r", "status": "FINISHED", "end_time": 5}),
        ("UpdateRun", {"run_id": "r", "status": 3}),
        ("UpdateRun", {"run_id": "r", "status": "EXPLODED"}),
        ("SearchRuns", {"experiment_ids": ["1", "2"], "max_results": 10,
                        "run_view_type": "ALL", "order_by": ["metrics.acc DESC"]}),
        ("SetTag", {"run_id": "r", "key": "k", "value": 5}),
    ],
)  # fmt: skip
def test_a_body_is_read_as_json_format_reads_it(kind: str, body: dict[str, object]) -> None:
    """Plain bodies are read in one pass (`messages._plain_fields`); every body, plain or not,
    ends as the message `json_format` makes of it, or as the same refusal."""
    from google.protobuf.json_format import ParseDict
    from mlflow.protos import service_pb2

    from resolvers.mlflow_api.messages import _spelled, parse

    message = getattr(service_pb2, kind)
    try:
        reference = ParseDict(_spelled(body), message(), ignore_unknown_fields=True)
    except Exception:
        reference = None
    if reference is None or (kind == "UpdateRun" and body.get("status") == "EXPLODED"):
        with pytest.raises(MlflowException):
            parse(body, message())
        return
    assert parse(body, message()) == reference


def test_what_mlflows_client_sends_is_read_in_one_pass() -> None:
    """The body `MlflowClient.log_batch` sends (NaN as a JSON literal included) takes the one
    pass, not `json_format`: the reading the test above checks is the one requests get."""
    from mlflow.protos.service_pb2 import LogBatch

    from resolvers.mlflow_api.messages import _plain_fields

    sent = json.loads(json.dumps({
        "run_id": "r", "params": [{"key": "lr", "value": "0.1"}], "tags": [],
        "metrics": [{"key": f"m{i}", "value": float("nan") if i == 3 else i / 7,
                     "timestamp": 1_700_000_000_000, "step": i} for i in range(1000)],
    }))  # fmt: skip
    assert _plain_fields(sent, LogBatch.DESCRIPTOR) is not None
