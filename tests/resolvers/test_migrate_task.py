"""Migration as a background task: an operator names the stores a server may copy itself into
(`--migrate-to NAME=STORE`), and a client starts the copy by that name, never by a path or URL.
The real server on 127.0.0.1, corpus models ingested through it, the copy opened afterwards."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from kg.errors import UsageError
from kg.store import open_store
from kg.store.migrate import count_data_quads
from resolvers.settings import ServerSettings
from tests.conftest import CORPUS, dump
from tests.resolvers.conftest import TOKEN, blank_store, serve
from tests.resolvers.test_tasks_api import AUTH, poll

MODELS = sorted(path for path in CORPUS.iterdir() if path.is_dir())[:6]


@pytest.fixture(scope="module")
def targets(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("targets")
    return {"backup": root / "backup", "spare": root / "spare"}


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory, targets: dict[str, Path]
) -> Iterator[tuple[str, str]]:
    """(base URL, store) of a server with writes on, corpus models under its ingest root, and
    two migration targets."""
    root = tmp_path_factory.mktemp("ingest-root")
    for model in MODELS:
        shutil.copytree(model, root / "six" / model.name)
    store = blank_store(tmp_path_factory, "migrating")
    offered = tuple(f"{name}={path}" for name, path in targets.items())
    for url in serve(store, token=TOKEN, ingest_roots=(str(root),), migration_targets=offered):
        with httpx.Client(base_url=url, timeout=60) as client:
            ingest = client.post(
                "/api/v1/tasks",
                headers=AUTH,
                json={"operation": "ingest", "arguments": {"paths": [str(root / "six")]}},
            )
            assert poll(client, ingest.headers["location"])["status"] == "succeeded"
        yield url, store


def models_of(store: Path) -> list[str]:
    """Every quad of a store on disk but the task records (each task adds its own)."""
    return [q for q in dump(store) if "/id/graph/task/" not in q.rsplit(" ", 1)[-1]]


def start(client: httpx.Client, arguments: object) -> httpx.Response:
    return client.post(
        "/api/v1/tasks", headers=AUTH, json={"operation": "migrate", "arguments": arguments}
    )


def test_a_client_copies_the_store_into_a_target_the_operator_named(
    served: tuple[str, str], targets: dict[str, Path]
) -> None:
    base, _ = served
    with httpx.Client(base_url=base, timeout=60) as client:
        started = start(client, {"target": "backup"})
        assert started.status_code == 202, started.text
        done = poll(client, started.headers["location"])
        assert done["status"] == "succeeded", done["error"]
        models = client.get("/health").json()["models"]
        source = client.post(
            "/sparql",
            content="SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }",
            headers={"Content-Type": "application/sparql-query", "Accept": "text/csv"},
        )
        assert source.status_code == 200
    copy = open_store(str(targets["backup"]), read_only=True)
    try:
        assert copy.count_models() == models == len(MODELS)
        assert done["result"] == {
            "target": "backup",
            "quads": count_data_quads(copy),
            "graphs": done["result"]["graphs"],
        }
        assert done["progress"]["done"] == done["progress"]["total"] == done["result"]["quads"]
    finally:
        copy.close()


def test_a_target_that_holds_data_is_replaced_only_when_asked(
    served: tuple[str, str], targets: dict[str, Path]
) -> None:
    base, _ = served
    with httpx.Client(base_url=base, timeout=60) as client:
        first = poll(client, start(client, {"target": "spare"}).headers["location"])
        assert first["status"] == "succeeded", first["error"]
        before, whole = models_of(targets["spare"]), dump(targets["spare"])

        again = poll(client, start(client, {"target": "spare"}).headers["location"])
        assert again["status"] == "failed"
        assert "already holds" in again["error"]["message"]
        assert '"replace": true' in again["error"]["hint"]
        assert dump(targets["spare"]) == whole  # refused before anything was written

        forced = start(client, {"target": "spare", "replace": True})
        assert poll(client, forced.headers["location"])["status"] == "succeeded"
    assert models_of(targets["spare"]) == before  # the same models, copied again


@pytest.mark.parametrize(
    ("arguments", "status", "field"),
    [
        ({"target": "elsewhere"}, 400, "arguments.target"),  # not one the operator named
        ({"target": "/tmp/kg"}, 400, "arguments.target"),  # a path is never a target
        ({"target": "sparql+http://127.0.0.1:1/"}, 400, "arguments.target"),  # nor a URL
        ({}, 400, "arguments.target"),
        ({"target": "backup", "replace": "yes"}, 400, "arguments.replace"),
        ({"target": "backup", "into": "x"}, 400, "arguments.into"),
    ],
)
def test_bad_migrations_are_refused_before_they_start(
    served: tuple[str, str], arguments: object, status: int, field: str
) -> None:
    base, _ = served
    with httpx.Client(base_url=base, timeout=60) as client:
        answer = start(client, arguments)
        assert answer.status_code == status, answer.text
        error = answer.json()["error"]
        assert error["field"] == field
        if arguments and isinstance(arguments, dict) and arguments.get("target") == "elsewhere":
            assert "backup" in error["hint"] and "spare" in error["hint"]


def test_a_migration_without_the_token_is_refused(served: tuple[str, str]) -> None:
    base, _ = served
    with httpx.Client(base_url=base, timeout=60) as client:
        answer = client.post(
            "/api/v1/tasks", json={"operation": "migrate", "arguments": {"target": "backup"}}
        )
        assert answer.status_code == 401


@pytest.mark.parametrize(
    "offered",
    [
        ("backup",),  # no location
        ("=/tmp/x",),  # no name
        ("Back Up=/tmp/x",),  # not a name a client can type
        ("a=/tmp/x", "a=/tmp/y"),  # one name, two stores
        ("self={store}",),  # the served store itself
    ],
)
def test_an_operator_mistake_in_the_targets_stops_the_server_from_starting(
    tmp_path: Path, offered: tuple[str, ...]
) -> None:
    store = str(tmp_path / "kg")
    with pytest.raises(UsageError) as refused:
        ServerSettings.from_environment(
            store=store, migration_targets=tuple(o.format(store=store) for o in offered)
        )
    assert refused.value.field == "--migrate-to"
