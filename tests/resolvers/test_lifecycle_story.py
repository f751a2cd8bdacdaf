"""The whole story with real clients against one live server: a training-like script logs an
experiment of three runs with the `mlflow` client; the best run becomes a version fine-tuned from
a hub model; GraphQL (through `gql`) approves, deploys a second version and rolls back; then
GraphQL, SPARQL (through SPARQLWrapper) and the CLI's walk show the same lineage, from the
deployment to the training data and the hub base models, and the leaderboard ranks correctly."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import mlflow
import pytest
from gql import Client, gql
from gql.transport.exceptions import TransportQueryError
from gql.transport.httpx import HTTPXTransport
from mlflow import MlflowClient
from mlflow.data.http_dataset_source import HTTPDatasetSource
from mlflow.data.meta_dataset import MetaDataset
from SPARQLWrapper import JSON, SPARQLWrapper

from tests.resolvers.conftest import TOKEN, registry, serve

BASE = "2002Mayankrana/pegasusx-AMI-text-summarizer"
"""The hub model the runs fine-tune; its card says it was fine-tuned from google/pegasus-x-base."""
SWEEP = {
    "lr=0.1": [0.52, 0.61, 0.70],
    "lr=0.01": [0.60, 0.78, 0.91],
    "lr=0.001": [0.55, 0.72, 0.84],
}


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from serve(registry(tmp_path_factory, "story", [BASE]), token=TOKEN)


@pytest.fixture(scope="module")
def graphql(url: str) -> Client:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    return Client(transport=HTTPXTransport(url=f"{url}/graphql", headers=headers, timeout=60))


def ask(client: Client, document: str, **variables: Any) -> dict[str, Any]:
    request = gql(document)
    request.variable_values = variables
    result: dict[str, Any] = client.execute(request)
    return result


@pytest.fixture(scope="module")
def trained(url: str) -> dict[str, str]:
    """The training script: three runs through MLflow's fluent API, the best registered."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("MLFLOW_TRACKING_TOKEN", TOKEN)
        env.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
        mlflow.set_tracking_uri(url)
        experiment = mlflow.set_experiment("meeting-summaries")
        dataset = MetaDataset(
            HTTPDatasetSource("https://huggingface.co/datasets/edinburghcstr/ami"),
            name="ami",
            digest="ami-2024",
        )
        runs = {}
        for name, accuracies in SWEEP.items():
            with mlflow.start_run(run_name=name) as run:
                mlflow.log_params({"lr": name.removeprefix("lr="), "base": BASE})
                mlflow.log_input(dataset, context="training")
                for epoch, accuracy in enumerate(accuracies):
                    mlflow.log_metrics({"acc": accuracy, "loss": 1 - accuracy}, step=epoch)
                runs[name] = run.info.run_id
        client = MlflowClient(url)
        best = client.search_runs(
            [experiment.experiment_id],
            "params.base = '" + BASE + "'",
            order_by=["metrics.acc DESC"],
            max_results=1,
        )[0]
        client.create_registered_model("summarizer")
        for run_id in (best.info.run_id, runs["lr=0.001"]):
            client.create_model_version(
                "summarizer",
                f"runs:/{run_id}/model",
                run_id=run_id,
                tags={"modelkg.fine_tuned_from": BASE},
            )
        mlflow.set_tracking_uri("")
    return {"experiment": experiment.experiment_id, "best": best.info.run_id, **runs}


@pytest.fixture(scope="module")
def released(graphql: Client, trained: dict[str, str]) -> dict[str, Any]:
    """Release through GraphQL: a refused deploy, approvals, two deploys and a rollback."""
    answers: dict[str, Any] = {}
    refused = 'mutation { deploy(target: "prod", name: "summarizer", version: "1") { number } }'
    with pytest.raises(TransportQueryError) as unapproved:
        ask(graphql, refused)
    answers["refused"] = str(unapproved.value)
    for version in ("1", "2"):
        ask(
            graphql,
            'mutation($v: String!) { decideVersion(name: "summarizer", version: $v, '
            'status: "approved", by: "ana") { approval } }',
            v=version,
        )
    deploy = (
        'mutation($v: String!, $s: String!, $share: Float) { deploy(target: "prod", '
        'name: "summarizer", version: $v, strategy: $s, trafficShare: $share, '
        'sla: {latencyMs: 250}, by: "ci") { number replacedVersion } }'
    )
    answers["first"] = ask(graphql, deploy, v="1", s="blue-green")["deploy"]
    answers["second"] = ask(graphql, deploy, v="2", s="canary", share=0.1)["deploy"]
    answers["rollback"] = ask(
        graphql,
        'mutation { rollback(target: "prod", by: "oncall") { number rollback '
        "version { version run { id } } } }",
    )["rollback"]
    return answers


def test_approve_deploy_and_roll_back_through_graphql(
    released: dict[str, Any], trained: dict[str, str]
) -> None:
    assert trained["best"] == trained["lr=0.01"]
    assert "only an approved version" in released["refused"]
    assert released["first"] == {"number": 1, "replacedVersion": None}
    assert released["second"] == {"number": 2, "replacedVersion": "1"}
    assert released["rollback"] == {
        "number": 3,
        "rollback": True,
        "version": {"version": "1", "run": {"id": trained["best"]}},
    }


def test_graphql_and_sparql_show_the_same_lineage(
    url: str, graphql: Client, released: dict[str, Any]
) -> None:
    walk = ask(
        graphql,
        '{ lineage(id: "deployments:/prod", depth: 5) { nodes { iri kind label } '
        "edges { source target name } } }",
    )["lineage"]
    kinds = {node["label"]: node["kind"] for node in walk["nodes"]}
    assert kinds["summarizer v1"] == "version" and kinds["lr=0.01"] == "run"
    assert kinds["ami"] == "dataset"
    assert kinds[BASE] == "model" and kinds["google/pegasus-x-base"] == "model"
    by_graphql = {(e["source"], e["target"]) for e in walk["edges"] if e["name"] == "fineTunedFrom"}

    client = SPARQLWrapper(f"{url}/sparql")
    client.setReturnFormat(JSON)
    client.setQuery("""
        PREFIX mkg: <https://w3id.org/modelkg/ontology#>
        PREFIX prov: <http://www.w3.org/ns/prov#>
        SELECT ?from ?to WHERE {
          ?target mkg:name "prod" ; mkg:currentDeployment/mkg:deployedVersion ?version .
          ?version mkg:fineTunedFrom* ?from . ?from mkg:fineTunedFrom ?to .
        }""")
    rows = client.queryAndConvert()["results"]["bindings"]  # type: ignore[index]
    by_sparql = {(row["from"]["value"], row["to"]["value"]) for row in rows}
    assert by_sparql == by_graphql
    assert (
        "https://huggingface.co/" + BASE,
        "https://huggingface.co/google/pegasus-x-base",
    ) in by_sparql

    client.setQuery("""
        PREFIX mkg: <https://w3id.org/modelkg/ontology#>
        PREFIX prov: <http://www.w3.org/ns/prov#>
        SELECT DISTINCT ?data WHERE {
          ?target mkg:name "prod" ; mkg:currentDeployment/mkg:deployedVersion ?version .
          ?version prov:wasGeneratedBy/prov:qualifiedUsage ?use .
          ?use prov:entity ?data ; mkg:datasetContext "training" .
        }""")
    (row,) = client.queryAndConvert()["results"]["bindings"]  # type: ignore[index]
    assert row["data"]["value"] == "https://huggingface.co/datasets/edinburghcstr/ami"


def test_the_leaderboard_and_the_model_see_the_runs(
    graphql: Client, trained: dict[str, str]
) -> None:
    board = ask(
        graphql,
        'query($e: String!) { leaderboard(experimentId: $e, metric: "acc") '
        "{ rank value run { name } } }",
        e=trained["experiment"],
    )["leaderboard"]
    assert [(row["rank"], row["run"]["name"], row["value"]) for row in board] == [
        (1, "lr=0.01", 0.91),
        (2, "lr=0.001", 0.84),
        (3, "lr=0.1", 0.70),
    ]
    best = ask(
        graphql,
        'query($e: String!) { leaderboard(experimentId: $e, metric: "loss", '
        "goal: MIN, value: BEST, first: 1) { run { id } } }",
        e=trained["experiment"],
    )["leaderboard"]
    assert best == [{"run": {"id": trained["best"]}}]
    model = ask(graphql, "query($id: ID!) { model(id: $id) { runs { name } } }", id=BASE)["model"]
    assert {run["name"] for run in model["runs"]} == {"lr=0.01", "lr=0.001"}  # they made versions
    run = ask(
        graphql,
        "query($id: ID!) { run(id: $id) { models { id } inputs { name context } "
        'metricHistory(key: "acc") { step value } } }',
        id=trained["best"],
    )["run"]
    assert run["models"] == [{"id": BASE}]
    assert run["inputs"] == [{"name": "ami", "context": "training"}]
    assert [p["value"] for p in run["metricHistory"]] == SWEEP["lr=0.01"]


def test_writes_need_the_token(url: str) -> None:
    anonymous = Client(transport=HTTPXTransport(url=f"{url}/graphql", timeout=60))
    with pytest.raises(TransportQueryError, match="token"):
        ask(anonymous, 'mutation { createExperiment(name: "sneaky") { id } }')


def test_lifecycle_graphs_are_written_only_through_the_lifecycle(
    url: str, trained: dict[str, str]
) -> None:
    """A client's SPARQL UPDATE may not rewrite a run (its params never change, its batches are
    whole): the run's graph is of the protected lifecycle kind."""
    run_graph = f"https://w3id.org/modelkg/id/graph/lifecycle/run/{trained['best']}"
    for update in (
        f"DROP GRAPH <{run_graph}>",
        f"INSERT DATA {{ GRAPH <{run_graph}> {{ <urn:x> <urn:y> 1 }} }}",
        f"INSERT DATA {{ GRAPH <{run_graph}/points> {{ <urn:x> <urn:y> 1 }} }}",
    ):
        answer = httpx.post(
            f"{url}/sparql",
            data={"update": update},
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
        assert answer.status_code == 403, (update, answer.text)
        assert answer.json()["error"]["code"] == "protected_graph"
