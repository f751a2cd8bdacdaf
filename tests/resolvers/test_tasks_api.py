"""Background tasks over HTTP, as a client uses them: the real server on 127.0.0.1 over a store
on disk, corpus models in a folder under the server's --ingest-root, real httpx clients (and a
raw socket that hangs up), and a `modelkg serve` process killed in the middle of a task."""

from __future__ import annotations

import io
import shutil
import signal
import socket
import subprocess
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from kg.tasks import operations
from resolvers.rest.tasks import ARGUMENTS, SERVER_OPERATIONS
from tests.conftest import CORPUS, dump, start_modelkg_serve
from tests.resolvers.conftest import TOKEN, blank_store, serve

AUTH = {"Authorization": f"Bearer {TOKEN}"}
MODELS = sorted(path for path in CORPUS.iterdir() if path.is_dir())
TERMINAL = {"succeeded", "failed", "cancelled", "interrupted"}


def model_folders(root: Path, name: str, models: list[Path]) -> Path:
    """A folder of corpus models, as an operator puts them under the server's ingest root."""
    folder = root / name
    for model in models:
        shutil.copytree(model, folder / model.name)
    return folder


@pytest.fixture(scope="module")
def roots(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("ingest-root")
    return {
        "root": root,
        "twelve": model_folders(root, "twelve", MODELS[:12]),
        "all": model_folders(root, "all", MODELS),
    }


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory, roots: dict[str, Path]
) -> Iterator[tuple[str, str]]:
    """(base URL, store path) of a live server with writes on and an ingest root."""
    store = blank_store(tmp_path_factory, "tasks")
    for url in serve(store, token=TOKEN, ingest_roots=(str(roots["root"]),)):
        yield url, store


def poll(client: httpx.Client, url: str, until: str = "ended") -> dict[str, Any]:
    """Read the task at `url` until it ended (or until it runs and made progress)."""
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        task: dict[str, Any] = client.get(url).json()
        if task["status"] in TERMINAL or (until == "progress" and task["progress"]["done"] > 0):
            return task
        time.sleep(0.2)
    raise AssertionError(f"{url} did not end within 600 s")


def settle(base: str) -> None:
    """Wait until no task of the server is queued or running."""
    with httpx.Client(base_url=base, timeout=60) as client:
        for status in ("queued", "running"):
            for task in client.get("/api/v1/tasks", params={"status": status}).json()["tasks"]:
                poll(client, f"/api/v1/tasks/{task['id']}")


def test_an_ingest_answers_at_once_with_an_id_and_runs_to_the_end(
    served: tuple[str, str], roots: dict[str, Path]
) -> None:
    base, _ = served
    with httpx.Client(base_url=base, timeout=60) as client:
        started = client.post(
            "/api/v1/tasks",
            headers=AUTH,
            json={"operation": "ingest", "arguments": {"paths": [str(roots["twelve"])]}},
        )
        assert started.status_code == 202, started.text
        task = started.json()
        assert task["status"] in ("queued", "running")
        assert started.headers["location"] == f"/api/v1/tasks/{task['id']}"

        done = poll(client, started.headers["location"])
        again = client.get(started.headers["location"])  # progress moves without store writes:
        assert again.headers["cache-control"] == "no-store"  # never answered from the cache
        assert again.headers.get("x-cache") != "hit"

        assert done["status"] == "succeeded", done["error"]
        result = done["result"]
        assert len(result["models"]) + len(result["rejected"]) == 12
        assert done["progress"]["done"] == done["progress"]["total"] == 12
        for iri in result["models"]:  # every model is queryable right away
            found = client.post(
                "/graphql",
                json={
                    "query": "query($id: ID!) { model(id: $id) { iri } }",
                    "variables": {"id": iri},
                },
            )
            assert found.json()["data"]["model"] == {"iri": iri}
        listed = client.get("/api/v1/tasks", params={"operation": "ingest"}).json()
        assert task["id"] in [t["id"] for t in listed["tasks"]]


def test_an_ingest_task_refuses_a_file_that_links_out_of_the_ingest_root(
    served: tuple[str, str], roots: dict[str, Path], tmp_path: Path
) -> None:
    """A background ingest confines what it reads as the ingest endpoint does: a file under
    the allowed root that links outside it is rejected by name, the other models go on."""
    base, _ = served
    secret = tmp_path / "secret.md"
    secret.write_text("---\nlicense: the-password-is-hunter2\n---\n")
    folder = model_folders(roots["root"], "leaky", MODELS[:2])
    leak = folder / "zz-leaky"
    leak.mkdir()
    (leak / "config.json").write_text('{"model_type": "bert", "hidden_size": 64}')
    (leak / "README.md").symlink_to(secret)

    with httpx.Client(base_url=base, timeout=60) as client:
        started = client.post(
            "/api/v1/tasks",
            headers=AUTH,
            json={"operation": "ingest", "arguments": {"paths": [str(folder)]}},
        )
        assert started.status_code == 202, started.text
        done = poll(client, started.headers["location"])

    assert done["status"] == "succeeded", done["error"]
    [rejected] = done["result"]["rejected"]
    assert rejected["name"] == str(leak)
    assert f"links outside the folders allowed here, to {secret}" in rejected["reason"]
    assert len(done["result"]["models"]) + len(done["result"]["unchanged"]) == 2


def test_a_task_runs_on_after_its_client_hung_up(
    served: tuple[str, str], roots: dict[str, Path]
) -> None:
    base, _ = served
    settle(base)
    with httpx.Client(base_url=base, timeout=60) as client:  # models to reason about
        models = {"operation": "ingest", "arguments": {"paths": [str(roots["twelve"])]}}
        started = client.post("/api/v1/tasks", headers=AUTH, json=models)
        assert poll(client, started.headers["location"])["status"] == "succeeded"
    host, port = base.removeprefix("http://").split(":")
    body = b'{"operation": "reason", "arguments": {"full": true}}'
    request = (
        f"POST /api/v1/tasks HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {TOKEN}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body

    def reasoning(client: httpx.Client) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = client.get(
            "/api/v1/tasks", params={"operation": "reason"}
        ).json()["tasks"]
        return found

    with httpx.Client(base_url=base, timeout=60) as client:
        before = len(reasoning(client))
    with socket.create_connection((host, int(port))) as raw:
        raw.sendall(request)  # and hang up without reading the answer

    with httpx.Client(base_url=base, timeout=60) as client:
        deadline = time.monotonic() + 300
        while len(listed := reasoning(client)) == before:
            assert time.monotonic() < deadline, "the task was never started"
            time.sleep(0.1)
        done = poll(client, f"/api/v1/tasks/{listed[0]['id']}")
    assert done["status"] == "succeeded"
    assert done["result"]["derived"] > 0


def test_a_running_ingest_is_cancelled_and_keeps_what_it_wrote(
    served: tuple[str, str], roots: dict[str, Path]
) -> None:
    base, _ = served
    settle(base)
    with httpx.Client(base_url=base, timeout=60) as client:
        started = client.post(
            "/api/v1/tasks",
            headers=AUTH,
            json={"operation": "ingest", "arguments": {"paths": [str(roots["all"])]}},
        ).json()
        url = f"/api/v1/tasks/{started['id']}"
        assert poll(client, url, until="progress")["status"] == "running"

        asked = client.post(f"{url}/cancel", headers=AUTH)

        assert asked.status_code == 202
        assert asked.json()["cancelRequested"] is True
        ended = poll(client, url)
        assert ended["status"] == "cancelled"
        assert ended["error"]["kind"] == "cancelled"
        assert ended["result"]["notReached"] > 0
        again = client.delete(url, headers=AUTH)
        assert again.status_code == 409
        assert again.json()["error"]["code"] == "invalid_state"
        # the models it wrote are whole and served; those it did not reach are not there
        count = client.get("/health").json()["models"]
        assert count < len(MODELS)


def test_graphql_shows_the_same_tasks_and_starts_and_cancels_them(
    served: tuple[str, str],
) -> None:
    base, _ = served
    settle(base)
    with httpx.Client(base_url=base, timeout=60) as client:
        start = (
            'mutation { startTask(operation: "reason", arguments: {full: false}) { id status } }'
        )
        refused = client.post("/graphql", json={"query": start})
        assert refused.json()["errors"][0]["extensions"]["code"] == "token_required"
        made = client.post("/graphql", json={"query": start}, headers=AUTH).json()
        task_id = made["data"]["startTask"]["id"]
        assert poll(client, f"/api/v1/tasks/{task_id}")["status"] == "succeeded"

        # the task just run, as REST and GraphQL show it (whatever ran before on this server)
        latest = client.get("/api/v1/tasks", params={"first": 1}).json()["tasks"][0]
        assert latest["id"] == task_id
        query = (
            "query($id: ID!) { task(id: $id) { id operation status progress { done total } "
            "error { kind } } tasks(first: 1) { totalCount edges { node { id } } "
            "pageInfo { hasNextPage } } }"
        )
        seen = client.post("/graphql", json={"query": query, "variables": {"id": task_id}})
        assert seen.headers["cache-control"] == "no-store"
        data = seen.json()["data"]
        assert data["task"]["operation"] == latest["operation"] == "reason"
        assert data["task"]["status"] == latest["status"]
        assert data["task"]["progress"]["done"] == latest["progress"]["done"]
        assert data["tasks"]["edges"][0]["node"]["id"] == task_id

        cancel = "mutation($id: ID!) { cancelTask(id: $id) { status } }"
        late = client.post(
            "/graphql", headers=AUTH, json={"query": cancel, "variables": {"id": task_id}}
        ).json()
        assert late["errors"][0]["extensions"]["code"] == "invalid_state"


def test_the_server_runs_every_operation_the_ontology_names() -> None:
    assert set(SERVER_OPERATIONS) == set(operations()) == set(ARGUMENTS)


def test_codegen_of_many_models_gives_one_package_to_download(
    served: tuple[str, str], roots: dict[str, Path]
) -> None:
    base, _ = served
    settle(base)
    with httpx.Client(base_url=base, timeout=60) as client:
        ingest = client.post(
            "/api/v1/tasks",
            headers=AUTH,
            json={"operation": "ingest", "arguments": {"paths": [str(roots["twelve"])]}},
        ).json()
        assert poll(client, f"/api/v1/tasks/{ingest['id']}")["status"] == "succeeded"
        page = client.post(
            "/graphql", json={"query": "{ models(first: 12) { edges { node { iri } } } }"}
        ).json()["data"]["models"]
        models = [edge["node"]["iri"] for edge in page["edges"]]
        wanted = [*models, "no-such-org/no-such-model"]

        started = client.post(
            "/api/v1/tasks",
            headers=AUTH,
            json={"operation": "codegen", "arguments": {"models": wanted, "name": "three_udf"}},
        )
        assert started.status_code == 202, started.text
        done = poll(client, started.headers["location"])

        assert done["status"] == "succeeded", done["error"]
        result = done["result"]
        assert result["package"] == "three_udf"
        skipped = {s["model"]: s["reason"] for s in result["skipped"]}
        assert "no model `no-such-org/no-such-model` in the graph" in skipped.pop(
            "no-such-org/no-such-model"
        )  # the others that cannot become code say why, and the rest are in the package
        assert result["models"]
        assert len(result["models"]) + len(skipped) == len(models)
        assert len(result["modules"]) == len(result["models"])
        assert done["progress"]["done"] == done["progress"]["total"] == len(wanted)
        package = client.get(result["download"])
        assert package.status_code == 200
        assert package.headers["content-type"] == "application/zip"
        names = zipfile.ZipFile(io.BytesIO(package.content)).namelist()
        assert "three_udf/pyproject.toml" in names
        assert "three_udf/src/three_udf/py.typed" in names
        none = client.get(f"/api/v1/tasks/{ingest['id']}/package")
        assert none.status_code == 404  # an ingest makes no package


def _finished_id(base: str) -> str:
    """A task of the server that has ended: one an earlier test ran, else a reasoning run
    started and waited for here (tests run in any order, or alone)."""
    with httpx.Client(base_url=base, timeout=60) as client:
        ended = client.get("/api/v1/tasks", params={"status": "succeeded"}).json()["tasks"]
        if ended:
            return str(ended[0]["id"])
        started = client.post("/api/v1/tasks", json={"operation": "reason"}, headers=AUTH)
        assert started.status_code == 202, started.text
        return str(poll(client, f"/api/v1/tasks/{started.json()['id']}")["id"])


BAD = [
    pytest.param(
        "POST",
        "/api/v1/tasks",
        {"operation": "defragment"},
        AUTH,
        400,
        "unknown_operation",
        id="unknown-operation",
    ),
    pytest.param(
        "POST",
        "/api/v1/tasks",
        {"operation": "ingest", "arguments": {"paths": ["/etc"]}},
        AUTH,
        403,
        "path_not_allowed",
        id="path-outside-the-roots",
    ),
    pytest.param(
        "POST",
        "/api/v1/tasks",
        {"operation": "ingest", "arguments": {"paths": ["{root}/../../etc"]}},
        AUTH,
        403,
        "path_not_allowed",
        id="path-climbing-out",
    ),
    pytest.param(
        "POST",
        "/api/v1/tasks",
        {"operation": "ingest", "arguments": {"paths": []}},
        AUTH,
        400,
        "bad_parameter",
        id="no-paths",
    ),
    pytest.param(
        "POST",
        "/api/v1/tasks",
        {"operation": "ingest", "arguments": {"paths": ["{root}/twelve\x00"]}},
        AUTH,
        400,
        "bad_parameter",
        id="nul-in-a-path",
    ),
    pytest.param(
        "POST",
        "/api/v1/tasks",
        {"operation": "reason", "arguments": {"full": "yes"}},
        AUTH,
        400,
        "bad_parameter",
        id="wrong-type",
    ),
    pytest.param(
        "POST", "/api/v1/tasks", {"operation": "reason"}, {}, 401, "token_required", id="no-token"
    ),
    pytest.param(
        "POST",
        "/api/v1/tasks",
        {"operation": "reason"},
        {"Authorization": "Bearer wrong"},
        403,
        "bad_token",
        id="wrong-token",
    ),
    pytest.param("GET", "/api/v1/tasks/" + "0" * 32, None, {}, 404, "not_found", id="unknown-id"),
    pytest.param("GET", "/api/v1/tasks/..%2F..%2Fetc", None, {}, 404, "not_found", id="not-an-id"),
    pytest.param(
        "POST",
        "/api/v1/tasks/" + "0" * 32 + "/cancel",
        None,
        AUTH,
        404,
        "not_found",
        id="cancel-unknown-id",
    ),
    pytest.param(
        "POST",
        "/api/v1/tasks/{finished}/cancel",
        None,
        AUTH,
        409,
        "invalid_state",
        id="cancel-finished",
    ),
    pytest.param(
        "POST",
        "/api/v1/tasks/{finished}/cancel",
        None,
        {},
        401,
        "token_required",
        id="cancel-without-token",
    ),
    pytest.param(
        "GET", "/api/v1/tasks?status=sleeping", None, {}, 400, "bad_parameter", id="unknown-status"
    ),
]


@pytest.mark.parametrize(("method", "path", "body", "headers", "status", "code"), BAD)
def test_bad_requests_get_a_precise_error_and_change_nothing(
    served: tuple[str, str],
    roots: dict[str, Path],
    method: str,
    path: str,
    body: dict[str, Any] | None,
    headers: dict[str, str],
    status: int,
    code: str,
) -> None:
    base, store = served
    settle(base)
    if "{finished}" in path:
        path = path.replace("{finished}", _finished_id(base))
    if body is not None and "arguments" in body and "paths" in body["arguments"]:
        body["arguments"]["paths"] = [
            p.replace("{root}", str(roots["root"])) for p in body["arguments"]["paths"]
        ]
    before = dump(Path(store)), sorted(Path(f"{store}.tasks").iterdir())

    answer = httpx.request(method, base + path, json=body, headers=headers, timeout=60)

    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert error["code"] == code
    assert error["message"]
    assert (dump(Path(store)), sorted(Path(f"{store}.tasks").iterdir())) == before


def modelkg_serve(
    store: str, root: Path, log: Path, *flags: str, port: int | None = None
) -> tuple[subprocess.Popen[bytes], str]:
    """`modelkg serve` as an operator runs it, in its own process(es), writes on and an ingest
    root; (the process, its base URL) once it answers."""
    return start_modelkg_serve(
        store, log, "--ingest-root", str(root), *flags, env={"MODELKG_TOKEN": TOKEN}, port=port
    )


def test_a_task_cut_off_by_a_killed_server_says_interrupted_after_the_restart(
    tmp_path_factory: pytest.TempPathFactory, roots: dict[str, Path], tmp_path: Path
) -> None:
    store = blank_store(tmp_path_factory, "killed")
    first, base = modelkg_serve(store, roots["root"], tmp_path / "first.log")
    try:
        with httpx.Client(base_url=base, timeout=60) as client:
            task = client.post(
                "/api/v1/tasks",
                headers=AUTH,
                json={"operation": "ingest", "arguments": {"paths": [str(roots["all"])]}},
            ).json()
            assert poll(client, f"/api/v1/tasks/{task['id']}", until="progress")["status"] == (
                "running"
            )
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()

    port = int(base.rsplit(":", 1)[1])  # the same address: the client polls on
    second, base = modelkg_serve(store, roots["root"], tmp_path / "second.log", port=port)
    try:
        with httpx.Client(base_url=base, timeout=60) as client:
            after = client.get(f"/api/v1/tasks/{task['id']}").json()
            assert after["status"] == "interrupted"
            assert "stopped before the task ended" in after["error"]["message"]
            assert "start it again" in after["error"]["hint"]
            ask = (
                "PREFIX mkg: <https://w3id.org/modelkg/ontology#> ASK { GRAPH ?g { "
                f'?t mkg:backgroundTaskId "{task["id"]}" ; mkg:taskStatus mkg:TaskInterrupted }}}}'
            )
            recorded = client.get(
                "/sparql",
                headers={"Accept": "application/sparql-results+json"},
                params={"query": ask},
            )
            assert recorded.json()["boolean"] is True  # the store says so too
    finally:
        second.terminate()
        second.wait(timeout=30)


def test_under_two_workers_every_process_sees_the_task_and_takes_its_cancel(
    tmp_path_factory: pytest.TempPathFactory, roots: dict[str, Path], tmp_path: Path
) -> None:
    store = blank_store(tmp_path_factory, "two-workers")
    process, base = modelkg_serve(store, roots["root"], tmp_path / "serve.log", "--workers", "2")
    try:
        with httpx.Client(base_url=base, timeout=60) as client:
            task = client.post(
                "/api/v1/tasks",
                headers=AUTH,
                json={"operation": "ingest", "arguments": {"paths": [str(roots["all"])]}},
            ).json()
            url = f"/api/v1/tasks/{task['id']}"
            assert poll(client, url, until="progress")["status"] == "running"
        # each fresh connection may land on either worker: all of them know the task
        for _ in range(10):
            seen = httpx.get(base + url, timeout=60, headers={"Connection": "close"})
            assert seen.status_code == 200
            assert seen.json()["status"] in ("running", "cancelled")
        for _ in range(3):  # whichever worker takes the cancel, the one running it stops
            asked = httpx.post(base + url + "/cancel", headers=AUTH, timeout=60)
            assert asked.status_code in (202, 409)
        with httpx.Client(base_url=base, timeout=60) as client:
            assert poll(client, url)["status"] == "cancelled"
    finally:
        process.terminate()
        process.wait(timeout=60)
