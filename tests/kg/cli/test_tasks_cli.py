"""`modelkg tasks ...` against a live server, as an operator runs it from a shell: start and
follow a task, list and show it, cancel one, and the exit codes a script relies on."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import CORPUS, CliResult
from tests.resolvers.conftest import TOKEN, blank_store, serve

Cli = Callable[..., CliResult]
MODELS = sorted(path for path in CORPUS.iterdir() if path.is_dir())


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The server's ingest root: a folder of four models and one of every corpus model."""
    folder = tmp_path_factory.mktemp("cli-ingest-root")
    for name, models in (("four", MODELS[:4]), ("all", MODELS)):
        for model in models:
            shutil.copytree(model, folder / name / model.name)
    return folder


@pytest.fixture(scope="module")
def backup(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the server may migrate its store, under the name `backup`."""
    return tmp_path_factory.mktemp("cli-migrate") / "backup"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, root: Path, backup: Path) -> Iterator[str]:
    store = blank_store(tmp_path_factory, "cli-tasks")
    yield from serve(
        store, token=TOKEN, ingest_roots=(str(root),), migration_targets=(f"backup={backup}",)
    )


def test_start_wait_shows_the_task_to_its_end_and_exits_0(
    cli: Cli, server: str, root: Path
) -> None:
    started = cli(
        "tasks",
        "start",
        "ingest",
        str(root / "four"),
        "--server",
        server,
        "--token",
        TOKEN,
        "--wait",
        "--every",
        "0.2",
    )

    assert started.code == 0, started.err
    first = started.out.splitlines()[0]
    assert "ingest" in first and "succeeded" in first and "4/4" in first
    assert "result:" in started.out
    task_id = first.split()[0]

    shown = cli("tasks", "show", task_id, "--server", server, "--json")
    assert shown.code == 0
    assert json.loads(shown.out)["result"]["ingested"]
    listed = cli("tasks", "list", "--server", server, "--operation", "ingest")
    assert task_id in listed.out


def test_migrate_copies_the_store_into_the_target_the_server_offers(
    cli: Cli, server: str, root: Path, backup: Path
) -> None:
    ingested = cli("tasks", "start", "ingest", str(root / "four"), "--server", server,
                   "--token", TOKEN, "--wait", "--every", "0.2")  # fmt: skip
    assert ingested.code == 0, ingested.err
    migrated = cli("tasks", "start", "migrate", "backup", "--force", "--server", server,
                   "--token", TOKEN, "--wait", "--every", "0.2", "--json")  # fmt: skip

    assert migrated.code == 0, migrated.err
    result = json.loads(migrated.out)["result"]
    assert result["target"] == "backup" and result["quads"] > 0
    copied = cli("query", "--store", str(backup), "--format", "json",
                 "SELECT (COUNT(?m) AS ?n) WHERE { ?m a mkg:Model }")  # fmt: skip
    assert copied.code == 0, copied.err
    assert int(json.loads(copied.out)["results"]["bindings"][0]["n"]["value"]) >= 4


def test_a_cancelled_task_is_watched_to_exit_1_with_its_error(
    cli: Cli, server: str, root: Path
) -> None:
    started = cli(
        "tasks", "start", "ingest", str(root / "all"), "--server", server, "--token", TOKEN
    )
    assert started.code == 0, started.err
    task_id = started.out.strip()

    cancelled = cli("tasks", "cancel", task_id, "--server", server, "--token", TOKEN)
    assert cancelled.code == 0, cancelled.err
    watched = cli("tasks", "watch", task_id, "--server", server, "--every", "0.2")

    assert watched.code == 1
    assert "task cancelled" in watched.err
    assert "cancelled" in watched.out.splitlines()[0]
    again = cli("tasks", "cancel", task_id, "--server", server, "--token", TOKEN)
    assert again.code == 1
    assert "already cancelled" in again.err


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        pytest.param(["show", "0" * 32], 1, "no task", id="unknown-id"),
        pytest.param(
            ["start", "defragment", "--token", TOKEN],
            1,
            "no operation `defragment`",
            id="unknown-operation",
        ),
        pytest.param(
            ["start", "ingest", "/etc", "--token", TOKEN],
            1,
            "outside the folders",
            id="path-outside-the-roots",
        ),
        pytest.param(["start", "reason"], 2, "needs a bearer token", id="no-token"),
        pytest.param(
            ["start", "migrate", "--token", TOKEN], 2, "migrate takes one target", id="no-target"
        ),
        pytest.param(
            ["start", "migrate", "/srv/elsewhere", "--token", TOKEN],
            1,
            "arguments.target",
            id="a-path-as-target",
        ),
        pytest.param(
            ["start", "migrate", "offsite", "--token", TOKEN],
            1,
            "name one of: backup",
            id="a-target-not-offered",
        ),
        pytest.param(
            ["start", "reason", "--token", TOKEN, "--arguments", "[1]"],
            2,
            "must be a JSON object",
            id="arguments-not-an-object",
        ),
    ],
)
def test_mistakes_exit_non_zero_with_the_server_s_message(
    cli: Cli, server: str, args: list[str], code: int, message: str
) -> None:
    result = cli("tasks", *args, "--server", server)
    assert result.code == code, result.out
    assert message in result.err


def test_without_a_server_the_command_says_how_to_name_one(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MODELKG_SERVER", raising=False)
    result = cli("tasks", "list")
    assert result.code == 2
    assert "--server" in result.err


def test_help_shows_an_example(cli: Cli) -> None:
    for command in ([], ["start"], ["watch"], ["cancel"], ["list"], ["show"]):
        shown = cli("tasks", *command, "--help")
        assert shown.code == 0
        assert "Example" in shown.out
