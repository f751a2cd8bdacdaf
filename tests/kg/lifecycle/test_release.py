"""From a run to production and back: register a version, approve it, alias it, deploy it with a
strategy, roll back; then follow a deployment through its version and run to the training data
and the hub base models. Each refusal leaves the store as it was."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kg.errors import InvalidStateError, LifecycleError, NotFoundError
from kg.ingest.pipeline import ingest
from kg.lifecycle import (
    DatasetInput,
    Deployments,
    Metric,
    Registry,
    Tracking,
    checksum_of,
    lineage,
    log_artifact,
)
from kg.store import ModelStore, open_store
from tests.conftest import corpus_folder, snapshot

FINE_TUNED = "2002Mayankrana/pegasusx-AMI-text-summarizer"
"""A hub model whose card says it was fine-tuned from google/pegasus-x-base."""


@pytest.fixture
def store(store_path: Path) -> Iterator[ModelStore]:
    with open_store(str(store_path)) as opened:
        yield opened


@pytest.fixture
def trained(store: ModelStore) -> tuple[Tracking, str]:
    """A finished run that fine-tuned a hub model on a hub dataset."""
    ingest([corpus_folder(FINE_TUNED)], store, hub_id=FINE_TUNED)
    tracking = Tracking(store)
    run = tracking.create_run(tracking.create_experiment("summaries"), run_name="ami-v2")
    tracking.log_inputs(
        run.run_id,
        [DatasetInput("ami", "abc", source="hf://datasets/edinburghcstr/ami", context="training")],
        models=[FINE_TUNED],
    )
    tracking.log_metric(run.run_id, "rouge1", 0.41, step=1)
    tracking.update_run(run.run_id, status="finished")
    return tracking, run.run_id


def test_a_version_moves_through_approval_aliases_and_stages(
    store: ModelStore, trained: tuple[Tracking, str]
) -> None:
    _, run_id = trained
    registry = Registry(store)
    registry.create_registered_model("summarizer", description="meeting summaries")
    v1 = registry.create_model_version(
        "summarizer", f"runs:/{run_id}/model", run_id=run_id, fine_tuned_from=[FINE_TUNED]
    )
    assert (v1.version, v1.approval, v1.stage, v1.run_id) == ("1", "pending", "None", run_id)

    registry.set_alias("summarizer", "staging", "1")  # a pending version may be staged
    approved = registry.decide("summarizer", "1", "approved", by="ana", notes="rouge ok")
    assert approved.approval == "approved" and approved.aliases == ("staging",)
    v2 = registry.create_model_version("summarizer", "s3://models/summarizer/2")
    registry.decide("summarizer", v2.version, "approved", by="ana")
    registry.set_alias("summarizer", "staging", "2")  # the alias moves
    assert registry.get_version_by_alias("summarizer", "staging").version == "2"
    assert registry.get_model_version("summarizer", "1").aliases == ()
    assert [d["status"] for d in registry.decisions("summarizer", "1")] == ["approved"]

    registry.decide("summarizer", "2", "rejected", by="bo", notes="leaks PII")
    before = snapshot(store)
    with pytest.raises(InvalidStateError, match="rejected") as promoting:
        registry.set_alias("summarizer", "champion", "2")
    with pytest.raises(InvalidStateError, match="rejected"):
        registry.transition_stage("summarizer", "2", "Production")
    with pytest.raises(InvalidStateError, match="may become pending, not approved"):
        registry.decide("summarizer", "2", "approved", by="bo")
    assert promoting.value.error_code == "INVALID_STATE"
    assert snapshot(store) == before

    production = registry.transition_stage("summarizer", "1", "Production")
    assert production.stage == "Production"
    assert [v.version for v in registry.get_latest_versions("summarizer", ["Production"])] == ["1"]
    renamed = registry.rename_registered_model("summarizer", "meeting-summarizer")
    assert renamed.aliases == {"staging": "2"}
    assert [m.name for m in registry.search_registered_models("name LIKE 'meeting%'").items] == [
        "meeting-summarizer"
    ]
    with pytest.raises(NotFoundError):
        registry.get_registered_model("summarizer")


def test_a_version_registered_from_outside_must_be_ingested(store: ModelStore) -> None:
    registry = Registry(store)
    registry.create_registered_model("gpt2")
    with pytest.raises(NotFoundError, match="ingest it first"):
        registry.create_model_version(
            "gpt2", "hf://openai-community/gpt2", model="openai-community/gpt2"
        )
    ingest([corpus_folder("openai-community/gpt2")], store, hub_id="openai-community/gpt2")
    version = registry.create_model_version(
        "gpt2", "hf://openai-community/gpt2", model="openai-community/gpt2"
    )
    assert version.model == "https://huggingface.co/openai-community/gpt2"


def test_deploy_then_roll_back(store: ModelStore, trained: tuple[Tracking, str]) -> None:
    _, run_id = trained
    registry, deployments = Registry(store), Deployments(store)
    registry.create_registered_model("summarizer")
    for _ in range(2):
        version = registry.create_model_version(
            "summarizer", f"runs:/{run_id}/model", run_id=run_id
        )
    before = snapshot(store)
    with pytest.raises(InvalidStateError, match="only an approved version"):
        deployments.deploy("prod", "summarizer", "1")
    for number in ("1", "2"):
        registry.decide("summarizer", number, "approved", by="ana")
    with pytest.raises(LifecycleError, match="traffic share"):
        deployments.deploy("prod", "summarizer", "1", strategy="canary")
    with pytest.raises(LifecycleError, match="strategy"):
        deployments.deploy("prod", "summarizer", "1", strategy="yolo")
    with pytest.raises(LifecycleError, match="availability"):
        deployments.deploy("prod", "summarizer", "1", sla={"availability": 1.5})
    with pytest.raises(NotFoundError):
        deployments.rollback("prod")

    first = deployments.deploy(
        "prod", "summarizer", "1", strategy="blue-green", sla={"latency_ms": 200}, by="ci"
    )
    with pytest.raises(InvalidStateError, match="no previous version"):
        deployments.rollback("prod", by="oncall")
    second = deployments.deploy(
        "prod", "summarizer", version.version, strategy="canary", traffic_share=0.1, by="ci"
    )
    assert (first.number, second.number, second.replaced_version) == (1, 2, "1")
    restored = deployments.rollback("prod", by="oncall")
    assert (restored.version, restored.rollback, restored.replaced_version) == ("1", True, "2")
    assert restored.sla == {"latency_ms": 200.0} and restored.strategy == "blue-green"
    assert [(d.number, d.version, d.current) for d in deployments.history("prod")] == [
        (3, "1", True),
        (2, "2", False),
        (1, "1", False),
    ]
    assert before != snapshot(store)


def test_lineage_walks_from_a_deployment_to_the_data_and_hub_base_models(
    store: ModelStore, trained: tuple[Tracking, str]
) -> None:
    _, run_id = trained
    registry = Registry(store)
    registry.create_registered_model("summarizer")
    registry.create_model_version(
        "summarizer", f"runs:/{run_id}/model", run_id=run_id, fine_tuned_from=[FINE_TUNED]
    )
    registry.decide("summarizer", "1", "approved", by="ana")
    deployment = Deployments(store).deploy("prod", "summarizer", "1")

    graph = lineage(store, deployment.iri, direction="ancestors", depth=5)
    kinds = {node.label: node.kind for node in graph.nodes}
    assert kinds["summarizer v1"] == "version" and kinds["ami-v2"] == "run"
    assert kinds["ami"] == "dataset"
    assert kinds[FINE_TUNED] == "model" and kinds["google/pegasus-x-base"] == "model"
    names = {
        (e.source.rsplit("/", 1)[-1], e.name, e.target.rsplit("/", 1)[-1]) for e in graph.edges
    }
    assert ("1", "fineTunedFrom", "pegasusx-AMI-text-summarizer") in names
    assert ("pegasusx-AMI-text-summarizer", "fineTunedFrom", "pegasus-x-base") in names

    # the same walk in plain SPARQL, as a client of the endpoint writes it
    assert store.ask(
        "ASK { ?d mkg:deployedVersion/mkg:fineTunedFrom+ "
        "<https://huggingface.co/google/pegasus-x-base> ; "
        "mkg:deployedVersion/prov:wasGeneratedBy/mkg:usedDataset ?data }"
    )

    down = lineage(store, f"https://huggingface.co/{FINE_TUNED}", direction="descendants", depth=3)
    assert {n.kind for n in down.nodes} >= {"run", "version", "deployment"}
    shallow = lineage(store, deployment.iri, depth=1)
    assert [n.kind for n in shallow.nodes] == ["deployment", "version"]


def test_lineage_cannot_become_circular(store: ModelStore) -> None:
    tracking = Tracking(store)
    experiment = tracking.create_experiment("e")
    parent = tracking.create_run(experiment)
    child = tracking.create_run(experiment, tags={"mlflow.parentRunId": parent.run_id})
    with pytest.raises(InvalidStateError, match="circular"):
        tracking.set_tag(parent.run_id, "mlflow.parentRunId", child.run_id)
    with pytest.raises(InvalidStateError, match="own parent"):
        tracking.set_tag(parent.run_id, "mlflow.parentRunId", parent.run_id)
    assert tracking.get_run(parent.run_id).tags.get("mlflow.parentRunId") is None


@pytest.mark.parametrize(("direction", "depth"), [("sideways", 3), ("ancestors", 0), ("both", 99)])
def test_lineage_refuses_bad_requests(store: ModelStore, direction: str, depth: int) -> None:
    with pytest.raises(LifecycleError):
        lineage(store, "https://w3id.org/modelkg/id/run/x", direction=direction, depth=depth)


def test_artifacts_and_checkpoints(store: ModelStore, tmp_path: Path) -> None:
    tracking = Tracking(store)
    run = tracking.create_run(tracking.create_experiment("e"))
    weights = tmp_path / "model.safetensors"
    weights.write_bytes(b"\x00" * 1024)
    before = snapshot(store)
    with pytest.raises(LifecycleError, match="does not match"):
        log_artifact(tracking, run.run_id, "ckpt/100/model.safetensors", kind="checkpoint",
                     file=weights, checksum="blake3:" + "f" * 64)  # fmt: skip
    with pytest.raises(LifecycleError, match="relative"):
        log_artifact(tracking, run.run_id, "../../etc/passwd", file=weights)
    with pytest.raises(LifecycleError, match="artifact kind"):
        log_artifact(tracking, run.run_id, "x.bin", kind="weights")
    assert snapshot(store) == before

    blake = checksum_of(weights, "blake3")
    for step in (100, 200):
        path = f"ckpt/{step}/model.safetensors"
        log_artifact(tracking, run.run_id, path, kind="checkpoint", file=weights, checksum=blake,
                     step=step, epoch=step // 100, best=True)  # fmt: skip
    log_artifact(tracking, run.run_id, "plots/loss.png", kind="plot", uri="s3://bucket/loss.png",
                 checksum="sha256:" + "a" * 64, size=2048)  # fmt: skip
    artifacts = {a.path: a for a in tracking.get_run(run.run_id).artifacts}
    assert [a.step for a in artifacts.values() if a.best] == [200]  # the best flag moved
    assert artifacts["ckpt/200/model.safetensors"].verified
    assert artifacts["ckpt/200/model.safetensors"].size == 1024
    assert not artifacts["plots/loss.png"].verified  # a URI is recorded, never fetched


def test_everything_metric_free_reads_back_over_a_server(any_store: ModelStore) -> None:
    """The registry and deployments over each engine (embedded, Oxigraph, Virtuoso)."""
    tracking = Tracking(any_store)
    run = tracking.create_run(tracking.create_experiment("e"))
    tracking.log_batch(run.run_id, metrics=[Metric("acc", 0.9, 1, 1)])
    registry = Registry(any_store)
    registry.create_registered_model("m")
    registry.create_model_version("m", "s3://m/1", run_id=run.run_id)
    registry.decide("m", "1", "approved", by="ana")
    registry.set_alias("m", "champion", "1")
    deployed = Deployments(any_store).deploy("prod", "m", "1", strategy="shadow")
    assert deployed.strategy == "shadow"
    assert registry.get_version_by_alias("m", "champion").run_id == run.run_id
    nodes = lineage(any_store, deployed.iri, depth=3).nodes
    assert [n.kind for n in nodes] == ["deployment", "version", "run"]
