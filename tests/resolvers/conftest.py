"""A real server: uvicorn on 127.0.0.1 on a free port, over a real store on disk."""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
import uvicorn
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.remote.webdriver import WebDriver

from kg.compat.sizing import size_models
from kg.ingest.pipeline import ingest
from kg.reason.run import reason
from kg.store import open_store
from resolvers.app import create_app
from resolvers.settings import ServerSettings
from tests.conftest import corpus_folder


def pytest_configure(config: pytest.Config) -> None:
    """The `fuzz` marker (tests/resolvers/test_fuzz.py): `-m fuzz` runs only the fuzzing,
    `-m "not fuzz"` leaves it out."""
    config.addinivalue_line("markers", "fuzz: schemathesis against the real server (~1 min)")


MODELS = ("openai-community/gpt2", "sentence-transformers/all-MiniLM-L6-v2", "openai/whisper-base")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def serve(path: str, token: str | None, **settings: object) -> Iterator[str]:
    """Run the app over the store at `path` on a free port; yield its base URL."""
    port = _free_port()
    resolved = ServerSettings(store=path, port=port, token=token, **settings)  # type: ignore[arg-type]
    app = create_app(resolved)
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", **resolved.uvicorn_options()
    )
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not running.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the server did not start within 30 s")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    running.should_exit = True
    thread.join(timeout=10)


def registry(
    tmp_path_factory: pytest.TempPathFactory, name: str, models: Sequence[str] = MODELS
) -> str:
    """A store on disk holding `models` from the corpus, reasoned and sized."""
    path = tmp_path_factory.mktemp(name) / "store"
    store = open_store(str(path))
    ingest([str(corpus_folder(m)) for m in models], store)
    reason(store)
    size_models(store)
    store.close()
    return str(path)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The base URL of a live, read-only ModelKG server holding a few corpus models."""
    yield from serve(registry(tmp_path_factory, "served"), token=None)


TOKEN = "s3cret-token"


@pytest.fixture(scope="module")
def writable_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A live server whose operator enabled writes with a bearer token (`TOKEN`)."""
    yield from serve(registry(tmp_path_factory, "writable"), token=TOKEN)


def blank_store(tmp_path_factory: pytest.TempPathFactory, name: str) -> str:
    """A store on disk holding only ModelKG's own graphs (ontology, shapes): no models."""
    path = tmp_path_factory.mktemp(name) / "store"
    open_store(str(path)).close()
    return str(path)


@pytest.fixture(scope="module")
def blank_writable_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A live server with writes enabled (`TOKEN`) over a store with no models, for stories
    that load their own data (the W3C protocol cases)."""
    yield from serve(blank_store(tmp_path_factory, "blank-writable"), token=TOKEN)


@pytest.fixture(scope="module")
def blank_read_only_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A live server whose operator set no token (reads only) over a store with no models."""
    yield from serve(blank_store(tmp_path_factory, "blank-read-only"), token=None)


CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-extensions",
    "--window-size=1280,900",
    # Offline, provably: every host name but 127.0.0.1 fails to resolve, CDNs included.
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
)


@pytest.fixture
def browser() -> Iterator[WebDriver]:
    """A fresh headless Chromium, as a new user would open it (a new profile: nothing kept from
    an earlier visit); no host resolves but 127.0.0.1. Its console log is kept. Its temporary
    files go to a folder of its own (`TMPDIR`), removed after: Chromium leaves a folder in /tmp
    for its singleton socket on every start, which runs of the suite piled up. A short path:
    the socket's must fit in 108 bytes, which a test's `tmp_path` under xdist does not."""
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.fail(f"{CHROMIUM} or {CHROMEDRIVER} is missing: run scripts/browser.sh")
    options = Options()
    options.binary_location = str(CHROMIUM)
    for flag in FLAGS:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    scratch = tempfile.mkdtemp(prefix="chromium-")
    service = Service(str(CHROMEDRIVER), env={**os.environ, "TMPDIR": scratch})
    try:
        driver = webdriver.Chrome(options=options, service=service)
        try:
            yield driver
        finally:
            driver.quit()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
