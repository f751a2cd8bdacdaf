"""Shared fixtures: the real shared corpus, real stores on disk, a real Oxigraph server, the
real CLI in-process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "hf"
"""The shared corpus of real HuggingFace metadata (../shared/corpus/hf), never copied here."""


def corpus_folder(hub_id: str) -> Path:
    """The corpus folder of one model (`org__name`)."""
    return CORPUS / hub_id.replace("/", "__")


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
    """Every quad of a store on disk, sorted: what queries see, byte for byte."""
    from pyoxigraph import Store

    reader = Store.read_only(str(store_path))
    return sorted(str(q) for q in reader.quads_for_pattern(None, None, None, None))


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


@dataclass(frozen=True)
class OxigraphServer:
    """A running `oxigraph serve`: `location` is how ModelKG names it (`--store`)."""

    url: str
    location: str
    data: Path


@pytest.fixture(scope="session")
def oxigraph_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OxigraphServer]:
    """A real Oxigraph server (the `oxigraph` package's binary) on a free port of 127.0.0.1,
    persisting in a temporary folder, started without `--union-default-graph` (the remote store
    asks for the union itself); stopped when the session ends. Tests share it: clear what you
    wrote (`remote_store` in tests/kg/store/test_remote.py does)."""
    import httpx

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
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                pytest.fail(f"oxigraph serve exited: {(data / 'server.log').read_text()}")
            try:
                if httpx.get(f"{url}/query", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"oxigraph serve did not answer on {url} within 30 s")
            time.sleep(0.05)
        yield OxigraphServer(url=url, location=f"sparql+http://127.0.0.1:{port}", data=data)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
