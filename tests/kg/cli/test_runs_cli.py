"""A training script drives the lifecycle from the shell: `modelkg runs ...` and `modelkg lineage`.
Each refusal exits 1 with a message that names the field and says what to do."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from tests.conftest import CliResult

Cli = Callable[..., CliResult]


def test_a_run_from_start_to_deployment_and_back(
    cli: Cli, store_path: Path, tmp_path: Path
) -> None:
    store = ("--store", store_path)
    run_id = cli(
        "runs", "start", "sentiment", "--name", "lr-3e-5", "--seed", "42", *store
    ).out.strip()
    assert len(run_id) == 32
    logged = cli("runs", "log", run_id, "--param", "lr=3e-5", "--metric", "acc=0.91@1",
                 "--metric", "acc=0.93@2", "--dataset", "hf://datasets/stanfordnlp/imdb@abc:training",
                 "--model", "google-bert/bert-base-uncased", *store)  # fmt: skip
    assert logged.code == 0, logged.err
    changed = cli("runs", "log", run_id, "--param", "lr=1", *store)
    assert changed.code == 1 and "Changing param values is not allowed" in changed.err

    weights = tmp_path / "model.bin"
    weights.write_bytes(b"weights")
    wrong = cli("runs", "artifact", run_id, "model.bin", "--file", weights, "--checksum",
                "sha256:" + "0" * 64, *store)  # fmt: skip
    assert wrong.code == 1 and "does not match" in wrong.err
    assert "(verified)" in cli("runs", "artifact", run_id, "model.bin", "--file", weights,
                               "--kind", "checkpoint", "--best", *store).out  # fmt: skip
    assert cli("runs", "end", run_id, *store).out.strip().endswith("FINISHED")
    late = cli("runs", "log", run_id, "--metric", "acc=1", *store)
    assert late.code == 1 and "takes no more" in late.err

    shown = json.loads(cli("runs", "show", run_id, "--format", "json", *store).out)
    assert shown["params"] == {"lr": "3e-5"} and shown["metrics"]["acc"]["value"] == 0.93
    board = json.loads(
        cli("runs", "leaderboard", "sentiment", "acc", "--format", "json", *store).out
    )
    assert [row["run_id"] for row in board] == [run_id]
    history = json.loads(cli("runs", "history", run_id, "acc", "--format", "json", *store).out)
    assert [p["value"] for p in history] == [0.91, 0.93]

    assert "version 1 (pending)" in cli("runs", "register", "sentiment", "--run", run_id,
                                        "--fine-tuned-from", "google-bert/bert-base-uncased",
                                        *store).out  # fmt: skip
    pending = cli("runs", "deploy", "prod", "sentiment", "1", *store)
    assert pending.code == 1 and "runs decide sentiment 1 approved" in pending.err
    assert cli("runs", "decide", "sentiment", "1", "approved", "--by", "ana", *store).code == 0
    assert (
        cli("runs", "deploy", "prod", "sentiment", "1", "--sla", "latency_ms=150", *store).code == 0
    )
    nothing = cli("runs", "rollback", "prod", *store)
    assert nothing.code == 1 and "no previous version" in nothing.err

    walk = json.loads(cli("lineage", "deployments:/prod", "--format", "json", *store).out)
    kinds = {node["label"]: node["kind"] for node in walk["nodes"]}
    assert kinds == {
        "prod #1": "deployment",
        "sentiment v1": "version",
        "lr-3e-5": "run",
        "google-bert/bert-base-uncased": "model",
        "stanfordnlp/imdb": "dataset",
    }
    by_alias = cli("lineage", "models:/sentiment@champion", *store)
    assert by_alias.code == 1 and "alias champion not found" in by_alias.err


def test_usage_errors_say_what_was_expected(cli: Cli, store_path: Path) -> None:
    run_id = cli("runs", "start", "e", "--store", store_path).out.strip()
    bad = cli("runs", "log", run_id, "--metric", "acc=high", "--store", store_path)
    assert bad.code == 2 and "KEY=NUMBER" in bad.err
    assert cli("runs", "log", "f" * 32, "--metric", "acc=1", "--store", store_path).code == 1
    assert "Example" in cli("runs", "--help").out
