"""Shared fixtures: the real shared corpus, real stores on disk, a real Oxigraph server, the
real CLI in-process."""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
from pyoxigraph import QueryResultsFormat, parse_query_results

if TYPE_CHECKING:
    from kg.store import ModelStore

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def pytest_configure(config: pytest.Config) -> None:
    """One parameter-count cache (`kg.compat.count_cache`) for the whole run, made by the
    process that starts it: its xdist workers and every process a test starts inherit it, so a
    config is built once per run, and no run reads what another left (nor the user's cache)."""
    if not hasattr(config, "workerinput") and "MODELKG_CACHE_DIR" not in os.environ:
        folder = tempfile.mkdtemp(prefix="modelkg-test-cache-")
        os.environ["MODELKG_CACHE_DIR"] = folder
        config.add_cleanup(lambda: shutil.rmtree(folder, ignore_errors=True))


CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "hf"
"""The shared corpus of real HuggingFace metadata (../shared/corpus/hf), never copied here."""


def corpus_folder(hub_id: str) -> Path:
    """The corpus folder of one model (`org__name`)."""
    return CORPUS / hub_id.replace("/", "__")


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups (`--dist loadgroup`)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The tests of one file run on one worker, as under `--dist loadscope`, unless a test
    names its own `xdist_group`: a module's fixtures (a served store, the corpus ingested into
    each engine, a Virtuoso) are then built once, not once per worker its tests were spread
    over, and again each time a worker comes back to the module."""
    for item in items:
        if item.get_closest_marker("xdist_group") is None:
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::")[0]))


@pytest.fixture(scope="session")
def corpus() -> Path:
    if not CORPUS.is_dir():
        pytest.fail(f"the shared corpus is missing at {CORPUS}; CI checks it out beside the repo")
    return CORPUS


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return tmp_path / "store"


@pytest.fixture
def store(store_path: Path):  # type: ignore[no-untyped-def]
    from kg.store import open_store

    opened = open_store(str(store_path))
    yield opened
    if hasattr(opened, "_store"):
        opened.close()


def dump(store_path: Path) -> list[str]:
    """Every quad of a store on disk, sorted: what queries see, byte for byte.

    A store a server shares is read as its readers read it, from the checkpoint it published
    (after its lingering writes): a `Store.read_only` handle beside a live writer fails when a
    compaction deletes a file it has not opened yet."""
    from pyoxigraph import Store

    from kg.store import open_store
    from kg.store.shared import SharedStore

    if SharedStore.is_shared(store_path):
        with open_store(str(store_path), read_only=True) as shared:  # its SharedStore
            return snapshot(shared)
    reader = Store.read_only(str(store_path))
    return sorted(str(q) for q in reader.quads_for_pattern(None, None, None, None))


def snapshot(store: ModelStore) -> list[str]:
    """Every quad of an open store (any engine), sorted: what queries see, byte for byte."""
    return sorted(str(q) for q in store.quads())


@dataclass
class CliResult:
    code: int
    out: str
    err: str


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., CliResult]:
    """Run `modelkg ARGS...` in-process, as a user would from the shell."""
    from resolvers.command import main

    def run(*args: str) -> CliResult:
        capsys.readouterr()
        code = main([str(a) for a in args])
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (as of now)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


ENGINES = ("embedded", "oxigraph", "virtuoso")
"""The store engines the engine-parametrized tests run against (`store_location`)."""
VOCABULARY = ("https://w3id.org/modelkg/graph/ontology", "https://w3id.org/modelkg/graph/shapes")


@dataclass(frozen=True)
class SparqlServer:
    """A SPARQL server the tests started on 127.0.0.1: `location` is how ModelKG names it
    (`--store`), `query`/`update` its endpoints (with `auth`), `own_graphs` what it keeps for
    itself. Tests share one per session: `clear()` it first."""

    engine: str
    url: str
    location: str
    data: Path
    query: str
    update: str
    auth: tuple[str, str] | None = None
    own_graphs: tuple[str, ...] = ()

    def client(self) -> httpx.Client:
        """An HTTP client that speaks to the server as ModelKG's user does."""
        return httpx.Client(auth=httpx.DigestAuth(*self.auth) if self.auth else None, timeout=60)

    def clear(self) -> None:
        """Drop every graph but the vocabulary's and the server's own, straight through the
        server's own endpoints (the vocabulary stays: loading it again costs a second)."""
        listing = (  # Virtuoso keeps no empty graph, and lists graphs fast only when grouping
            "SELECT DISTINCT ?g WHERE { GRAPH ?g {} }"
            if self.engine == "oxigraph"
            else "SELECT ?g WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g"
        )
        with self.client() as client:
            answer = client.post(
                self.query,
                data={"query": listing},
                headers={"Accept": "application/sparql-results+xml"},
            )
            answer.raise_for_status()
            graphs = {
                row["g"].value
                for row in parse_query_results(answer.content, QueryResultsFormat.XML)
                if row["g"] is not None
            }
            keep = {*VOCABULARY, *self.own_graphs}
            drops = [f"DROP SILENT GRAPH <{g}>" for g in sorted(graphs - keep)]
            if self.engine == "oxigraph":
                drops.append("DROP SILENT DEFAULT")
            if drops:
                client.post(
                    self.update,
                    content=";\n".join(drops),
                    headers={"Content-Type": "application/sparql-update"},
                ).raise_for_status()


OxigraphServer = SparqlServer
"""The name the Oxigraph-only tests know the server by."""


def _wait_for(process: subprocess.Popen[bytes], url: str, log: Path, what: str) -> None:
    """Wait until `url` answers 200 (30 s at most), or fail with the server's log."""
    deadline = time.monotonic() + 30
    while True:
        if process.poll() is not None:
            pytest.fail(f"{what} exited: {log.read_text(errors='replace')}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not answer on {url} within 30 s")
        time.sleep(0.05)


def start_modelkg_serve(
    store: str | Path,
    log: Path,
    *flags: str,
    env: dict[str, str] | None = None,
    unset: tuple[str, ...] = (),
    port: int | None = None,
    within: float = 300,
) -> tuple[subprocess.Popen[bytes], str]:
    """`modelkg serve` as an operator runs it, in its own process, with `env` added to this
    environment and `unset` taken out: (the process, its base URL) once it answers /health
    (`within` seconds at most: a loaded machine starts slowly)."""
    port = port or free_port()
    base = f"http://127.0.0.1:{port}"
    environment = {**os.environ, "HF_HUB_OFFLINE": "1", **(env or {})}
    for name in unset:
        environment.pop(name, None)
    process = subprocess.Popen(
        [sys.executable, "-m", "resolvers.command", "serve", "--store", str(store),
         "--port", str(port), *flags],
        stdout=log.open("w"), stderr=subprocess.STDOUT, env=environment,
    )  # fmt: skip
    deadline = time.monotonic() + within
    while True:
        try:
            httpx.get(f"{base}/health", timeout=2)
            return process, base
        except httpx.TransportError:
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, f"the server did not start within {within} s"
            time.sleep(0.1)


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="session")
def oxigraph_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SparqlServer]:
    """A real Oxigraph server (the `oxigraph` package's binary) on a free port of 127.0.0.1,
    persisting in a temporary folder, started without `--union-default-graph` (the remote store
    asks for the union itself); stopped when the session ends. Tests share it: clear what you
    wrote (`remote_store` in tests/kg/store/test_remote.py does)."""
    binary = Path(sys.executable).with_name("oxigraph")
    if not binary.exists():
        pytest.fail(f"the oxigraph server is missing at {binary}; run `bash scripts/setup.sh`")
    data = tmp_path_factory.mktemp("oxigraph")
    port = free_port()
    log = (data / "server.log").open("wb")
    process = subprocess.Popen(
        [str(binary), "serve", "--location", str(data / "db"), "--bind", f"127.0.0.1:{port}"],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_for(process, f"{url}/query", data / "server.log", "oxigraph serve")
        yield SparqlServer(
            engine="oxigraph",
            url=url,
            location=f"sparql+http://127.0.0.1:{port}",
            data=data,
            query=f"{url}/query",
            update=f"{url}/update",
        )
    finally:
        _stop(process)
        log.close()


VIRTUOSO_INI = """\
[Database]
DatabaseFile       = {data}/virtuoso.db
ErrorLogFile       = {data}/virtuoso.log
LockFile           = {data}/virtuoso.lck
TransactionFile    = {data}/virtuoso.trx
xa_persistent_file = {data}/virtuoso.pxa
TempStorage        = TempDatabase

[TempDatabase]
DatabaseFile    = {data}/virtuoso-temp.db
TransactionFile = {data}/virtuoso-temp.trx

[Parameters]
ServerPort        = 127.0.0.1:{sql_port}
DisableUnixSocket = 1
NumberOfBuffers   = 40000
MaxDirtyBuffers   = 30000
DirsAllowed       = {data}

[HTTPServer]
ServerPort    = 127.0.0.1:{http_port}
ServerRoot    = {data}
ServerThreads = 10

[SPARQL]
; Debian's virtuoso.ini sets ResultSetMaxRows = 10000 and MaxQueryExecutionTime = 60 here,
; which cut long answers: left out, as in a ModelKG deployment (README, "Engines").
"""
"""The server's configuration: its database, ports and HTTP server in one temporary folder."""

VIRTUOSO_GRANTS = """\
DB.DBA.USER_CREATE('modelkg', '{password}');
GRANT SPARQL_UPDATE TO "modelkg";
"""
"""The least a ModelKG user needs: its own SQL user (for /sparql-auth and
/sparql-graph-crud-auth, HTTP digest) with the SPARQL_UPDATE role; the anonymous /sparql
endpoint stays read-only."""


@contextmanager
def running_virtuoso(data: Path) -> Iterator[SparqlServer]:
    """A real Virtuoso (Debian's `virtuoso-t`) on free ports of 127.0.0.1 with a fresh
    database in `data`, a user `modelkg` with a random password granted what SPARQL UPDATE
    needs; stopped on leaving."""
    from kg.store.virtuoso import VIRTUOSO_GRAPHS

    binary, isql = shutil.which("virtuoso-t"), shutil.which("isql-vt")
    if binary is None or isql is None:
        pytest.fail("Virtuoso (virtuoso-t, isql-vt) is missing; run `bash scripts/virtuoso.sh`")
    sql_port, http_port = free_port(), free_port()
    ini = data / "virtuoso.ini"
    ini.write_text(VIRTUOSO_INI.format(data=data, sql_port=sql_port, http_port=http_port))
    log = (data / "server.log").open("wb")
    process = subprocess.Popen(
        [binary, "+configfile", str(ini), "+foreground"],
        cwd=data,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{http_port}"
    password = secrets.token_urlsafe(12)
    try:
        _wait_for(process, f"{url}/sparql?query=ASK%7B%7D", data / "server.log", "virtuoso-t")
        granted = subprocess.run(
            [isql, f"127.0.0.1:{sql_port}", "dba", "dba"],
            input=VIRTUOSO_GRANTS.format(password=password),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if granted.returncode != 0 or "Error" in granted.stdout + granted.stderr:
            pytest.fail(f"granting the modelkg user failed: {granted.stdout}{granted.stderr}")
        yield SparqlServer(
            engine="virtuoso",
            url=url,
            location=f"sparql+http://modelkg:{password}@127.0.0.1:{http_port}"
            "?query=/sparql-auth&update=/sparql-auth&store=/sparql-graph-crud-auth",
            data=data,
            query=f"{url}/sparql-auth",
            update=f"{url}/sparql-auth",
            auth=("modelkg", password),
            own_graphs=tuple(g.value for g in VIRTUOSO_GRAPHS),
        )
    finally:
        _stop(process)
        log.close()


@pytest.fixture(scope="session")
def virtuoso_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SparqlServer]:
    """One Virtuoso for the session (`running_virtuoso`). Tests share it: clear it first."""
    with running_virtuoso(tmp_path_factory.mktemp("virtuoso")) as server:
        yield server


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    """Each store engine in turn: the embedded store, an Oxigraph server, Virtuoso."""
    return str(request.param)


def engine_location(request: pytest.FixtureRequest, engine: str, folder: Path) -> str:
    """A fresh, empty store of `engine` (`--store`): a folder in `folder` for the embedded
    store, the session's server, cleared, for the others (started by the first test that
    needs it). For a module-scoped fixture too: no test of that module may clear the server."""
    if engine == "embedded":
        return str(folder / "engine-store")
    server: SparqlServer = request.getfixturevalue(f"{engine}_server")
    server.clear()
    return server.location


@pytest.fixture
def store_location(
    engine: str, tmp_path: Path, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> str:
    """A fresh, empty store of each engine (`engine_location`); a server's vector index goes
    to this test's own cache folder, not the user's."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return engine_location(request, engine, tmp_path)


@pytest.fixture
def any_store(store_location: str) -> Iterator[ModelStore]:
    """`store_location` opened (the vocabulary loaded), closed at the end."""
    from kg.store import open_store

    with open_store(store_location) as opened:
        yield opened
