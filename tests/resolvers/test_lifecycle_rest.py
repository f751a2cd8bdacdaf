"""A pipeline that speaks plain HTTP records its work through `/api/v1`: runs, batches,
uploaded artifacts checked against their checksum, versions, approval, deployments, lineage.
Each refusal has its status and the one JSON error shape, and writes nothing."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.resolvers.conftest import TOKEN, blank_store, serve

AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def store_path(tmp_path_factory: pytest.TempPathFactory) -> str:
    return blank_store(tmp_path_factory, "lifecycle-rest")


@pytest.fixture(scope="module")
def api(store_path: str) -> Iterator[httpx.Client]:
    for url in serve(store_path, token=TOKEN):
        with httpx.Client(base_url=f"{url}/api/v1", headers=AUTH, timeout=30) as client:
            yield client


@pytest.fixture(scope="module")
def run_id(api: httpx.Client) -> str:
    experiment = api.post("/experiments", json={"name": "rest", "description": "over HTTP"})
    assert experiment.status_code == 201, experiment.text
    started = api.post(
        f"/experiments/{experiment.json()['experimentId']}/runs",
        json={"name": "first", "seed": 7, "codeVersion": "abc"},
    )
    assert started.status_code == 201, started.text
    found: str = started.json()["runId"]
    return found


def test_a_batch_is_logged_and_read_back(api: httpx.Client, run_id: str) -> None:
    logged = api.post(
        f"/runs/{run_id}/batch",
        json={
            "metrics": [
                {"key": "acc", "value": 0.5, "step": 0},
                {"key": "acc", "value": 0.8, "step": 1},
            ],
            "params": {"lr": "0.1"},
            "datasets": [
                {
                    "name": "imdb",
                    "digest": "d1",
                    "source": "hf://datasets/stanfordnlp/imdb",
                    "context": "training",
                }
            ],
        },
    )
    assert logged.status_code == 200, logged.text
    run = api.get(f"/runs/{run_id}").json()
    assert run["params"] == {"lr": "0.1"} and run["metrics"]["acc"]["value"] == 0.8
    assert run["info"]["seed"] == 7 and run["inputs"][0]["context"] == "training"
    assert [p["value"] for p in api.get(f"/runs/{run_id}/metrics/acc").json()] == [0.5, 0.8]


def test_a_changed_param_or_a_bad_batch_writes_nothing(api: httpx.Client, run_id: str) -> None:
    again = api.post(f"/runs/{run_id}/batch", json={"params": {"lr": "0.1"}})
    assert again.status_code == 200, again.text  # a param may be logged again with its value
    before = api.get(f"/runs/{run_id}").json()
    assert before["params"]["lr"] == "0.1"
    changed = api.post(
        f"/runs/{run_id}/batch",
        json={"metrics": [{"key": "loss", "value": 1.0}], "params": {"lr": "0.2"}},
    )
    assert changed.status_code == 400
    assert "Changing param values is not allowed" in changed.json()["error"]["message"]
    not_a_number = api.post(
        f"/runs/{run_id}/batch", json={"metrics": [{"key": "x", "value": "high"}]}
    )
    assert not_a_number.status_code == 400 and not_a_number.json()["error"]["field"]
    too_many = api.post(
        f"/runs/{run_id}/batch", json={"metrics": [{"key": "x", "value": 1}] * 1001}
    )
    assert too_many.status_code == 400 and "at most 1000" in too_many.json()["error"]["message"]
    assert api.get(f"/runs/{run_id}").json() == before


def test_an_uploaded_artifact_is_kept_only_when_its_checksum_matches(
    api: httpx.Client, run_id: str, store_path: str
) -> None:
    content = b"\x00weights" * 100
    good = "sha256:" + hashlib.sha256(content).hexdigest()
    wrong = api.put(
        f"/runs/{run_id}/artifacts/ckpt/model.bin",
        params={"kind": "checkpoint", "checksum": "sha256:" + "0" * 64},
        content=content,
    )
    assert wrong.status_code == 400 and wrong.json()["error"]["field"] == "checksum"
    kept = Path(store_path + ".artifacts") / run_id / "ckpt" / "model.bin"
    assert not kept.exists()
    for hostile in ("../../escape.bin", "..%2F..%2Fescape.bin", "%2Fetc%2Fpasswd", "a/..%2F..%2Fb"):
        refused = api.put(f"/runs/{run_id}/artifacts/{hostile}", content=content)
        assert refused.status_code in (400, 404, 405), hostile  # never kept
    assert not (Path(store_path).parent / "escape.bin").exists()
    uploaded = api.put(
        f"/runs/{run_id}/artifacts/ckpt/model.bin",
        params={"kind": "checkpoint", "checksum": good, "step": 100, "best": "true"},
        content=content,
    )
    assert uploaded.status_code == 200, uploaded.text
    assert uploaded.json()["verified"] and uploaded.json()["size"] == len(content)
    assert kept.read_bytes() == content
    declared = api.post(
        f"/runs/{run_id}/artifacts",
        json={
            "path": "plots/loss.png",
            "kind": "plot",
            "uri": "s3://b/loss.png",
            "checksum": "blake3:" + "a" * 64,
        },
    )
    assert declared.status_code == 200 and declared.json()["verified"] is False


def test_from_a_run_to_production_and_back(api: httpx.Client, run_id: str) -> None:
    registered = api.post("/registry/rest-model/versions", json={"runId": run_id})
    assert registered.status_code == 201 and registered.json()["approval"] == "pending"
    early = api.post("/deployments/prod", json={"name": "rest-model", "version": "1"})
    assert early.status_code == 409 and early.json()["error"]["code"] == "invalid_state"
    assert (
        api.post(
            "/registry/rest-model/versions/1/decision", json={"status": "approved", "by": "ana"}
        ).status_code
        == 200
    )
    assert (
        api.put("/registry/rest-model/aliases/champion", json={"version": "1"}).status_code == 200
    )
    assert (
        api.post("/deployments/prod", json={"name": "rest-model", "version": "1"}).status_code
        == 201
    )
    nothing = api.post("/deployments/prod/rollback", json={"by": "oncall"})
    assert (
        nothing.status_code == 409 and "no previous version" in nothing.json()["error"]["message"]
    )
    walk = api.get("/lineage", params={"id": "deployments:/prod"}).json()
    assert [n["kind"] for n in walk["nodes"]][:3] == ["deployment", "version", "run"]
    version = api.get("/registry/rest-model/versions/1").json()
    assert version["aliases"] == ["champion"] and version["decisions"][0]["by"] == "ana"


def test_unknown_records_are_404_and_writes_need_the_token(api: httpx.Client) -> None:
    experiment = api.post("/experiments", json={"name": "guarded"}).json()["experimentId"]
    run_id = api.post(f"/experiments/{experiment}/runs", json={"name": "one"}).json()["runId"]
    logged = api.post(f"/runs/{run_id}/batch", json={"metrics": [{"key": "acc", "value": 0.7}]})
    assert logged.status_code == 200, logged.text
    unknown = api.get(f"/runs/{'0' * 32}")
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "not_found"
    assert api.get("/registry/nobody").status_code == 404
    anonymous = httpx.post(
        f"{str(api.base_url).rstrip('/')}/runs/{run_id}/batch",
        json={"metrics": [{"key": "x", "value": 1}]},
    )
    assert anonymous.status_code == 401
    assert "x" not in api.get(f"/runs/{run_id}").json()["metrics"]
    board = api.get(
        f"/experiments/{api.get(f'/runs/{run_id}').json()['info']['experimentId']}/leaderboard",
        params={"metric": "acc"},
    ).json()
    assert [row["runId"] for row in board] == [run_id]
