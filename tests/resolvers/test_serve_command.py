"""`modelkg serve` as an operator runs it: a real process, flags, graceful shutdown."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from kg.store import open_store
from resolvers.settings import ServerSettings, flag_of, variable_of
from tests.conftest import CliResult
from tests.resolvers.conftest import _free_port, registry

Cli = Callable[..., CliResult]
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "models"


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
def test_serve_answers_then_stops_gracefully_and_releases_the_store(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path, stop: signal.Signals, cli: Cli
) -> None:
    store = registry(tmp_path_factory, f"served-{stop.name}")
    port = _free_port()
    log = (tmp_path / "serve.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "resolvers.command", "serve", "--store", store, "--port", str(port),
         "--query-timeout", "5", "--graphql-max-depth", "4"],
        stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                health = httpx.get(f"{base}/health", timeout=2)
                break
            except httpx.TransportError:
                assert process.poll() is None, (tmp_path / "serve.log").read_text()
                assert time.monotonic() < deadline, "the server did not start within 60 s"
                time.sleep(0.2)
        assert health.json()["models"] == 3
        deep = '{ model(id: "x") { baseModels { model { baseModels { model { id } } } } } }'
        refused = httpx.post(f"{base}/graphql", json={"query": deep})
        assert refused.status_code == 400  # --graphql-max-depth 4 took effect
        # beside the running server, commands read and write the store it shares, and the
        # server answers with the write at once (no restart, no stale cached answer)
        assert cli("query", "ASK { ?s ?p ?o }", "--store", store).code == 0
        assert httpx.get(f"{base}/health").json()["models"] == 3  # now in the response cache
        added = cli("ingest", str(EXAMPLES / "tiny-sentiment-classifier"), "--store", store)
        assert added.code == 0, added.err
        assert cli("reason", "--store", store).code == 0
        assert httpx.get(f"{base}/health").json()["models"] == 4
    finally:
        process.send_signal(stop)
        code = process.wait(timeout=30)
        log.close()
    log_text = (tmp_path / "serve.log").read_text()
    # uvicorn finishes in-flight work and the lifespan (closing the store), then re-raises the
    # signal, so a SIGTERM-ed server exits as killed by SIGTERM, after a clean shutdown
    assert code in (0, -stop), log_text
    assert "Application shutdown complete" in log_text
    assert '"GET /health" 200' in log_text  # the access log, with latency
    open_store(store).close()  # the lock was released: the store opens read-write
    assert not Path(f"{store}.server.json").exists()  # and the server no longer says it holds it


def test_serve_binds_the_port_in_modelkg_port_as_scripts_run_sh_does(
    cli: Cli, store_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The README's quick start: `MODELKG_PORT=8080 bash scripts/run.sh`, or `modelkg serve`
    with the same variable; `--port` still wins."""
    import logging

    import uvicorn

    bound: list[tuple[str, int]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: bound.append((kw["host"], kw["port"])))
    monkeypatch.setattr(logging, "basicConfig", lambda **kw: None)
    monkeypatch.setenv("MODELKG_PORT", "8123")

    assert cli("serve", "--store", store_path).code == 0
    assert cli("serve", "--store", store_path, "--port", "8124").code == 0
    assert bound == [("127.0.0.1", 8123), ("127.0.0.1", 8124)]
    run_sh = (Path(__file__).resolve().parents[2] / "scripts" / "run.sh").read_text()
    assert 'port="${MODELKG_PORT:-8000}"' in run_sh


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[ServerSettings]:
    """`modelkg serve` up to the moment it would listen: the settings it would serve with
    (uvicorn is not started)."""
    import logging

    import resolvers.cli

    for name in ServerSettings.model_fields:
        monkeypatch.delenv(variable_of(name), raising=False)
    made: list[ServerSettings] = []
    monkeypatch.setattr(
        resolvers.cli, "_run_uvicorn", lambda app, settings, **kw: made.append(settings)
    )
    monkeypatch.setattr(logging, "basicConfig", lambda **kw: None)
    return made


def test_list_variables_are_comma_separated_as_the_help_says(
    cli: Cli, store_path: Path, monkeypatch: pytest.MonkeyPatch, served: list[ServerSettings]
) -> None:
    """`MODELKG_CORS_ORIGINS="https://a.example, https://b.example"` is two origins, and
    `MODELKG_INGEST_ROOTS="/srv/a,/srv/b"` two folders; flags, when given, win."""
    monkeypatch.setenv("MODELKG_CORS_ORIGINS", "https://a.example, https://b.example")
    monkeypatch.setenv("MODELKG_INGEST_ROOTS", "/srv/a,/srv/b")

    assert cli("serve", "--store", store_path).code == 0
    assert cli("serve", "--store", store_path, "--cors-origin", "https://c.example",
               "--ingest-root", "/srv/c", "--ingest-root", "/srv/d").code == 0  # fmt: skip

    assert served[0].cors_origins == ("https://a.example", "https://b.example")
    assert served[0].ingest_roots == ("/srv/a", "/srv/b")
    assert served[1].cors_origins == ("https://c.example",)
    assert served[1].ingest_roots == ("/srv/c", "/srv/d")


def test_flags_win_over_variables_and_unset_flags_fall_through(
    cli: Cli, store_path: Path, monkeypatch: pytest.MonkeyPatch, served: list[ServerSettings]
) -> None:
    monkeypatch.setenv("MODELKG_WRITES", "false")
    monkeypatch.setenv("MODELKG_WORKERS", "3")
    monkeypatch.setenv("MODELKG_QUERY_TIMEOUT", "5")
    monkeypatch.setenv("MODELKG_TOKEN", "s3cret")

    assert cli("serve", "--store", store_path).code == 0
    assert cli("serve", "--store", store_path, "--writes", "--workers", "2",
               "--preload-embeddings").code == 0  # fmt: skip

    variables, flags = served
    assert (variables.writes, variables.workers, variables.query_timeout) == (False, 3, 5.0)
    assert not variables.writes_enabled and not variables.preload_embeddings
    assert (flags.writes, flags.workers, flags.query_timeout) == (True, 2, 5.0)
    assert flags.writes_enabled and flags.preload_embeddings
    assert variables.store == flags.store == str(store_path)


@pytest.mark.parametrize(
    ("args", "variables", "named", "expected"),
    [
        ([], {"MODELKG_QUERY_TIMEOUT": "abc"}, "MODELKG_QUERY_TIMEOUT", "expected a number"),
        ([], {"MODELKG_WORKERS": "0"}, "MODELKG_WORKERS", "expected a whole number x>=1"),
        (["--workers", "0"], {}, "--workers", "expected a whole number x>=1"),
        (["--max-query-nesting", "0"], {}, "--max-query-nesting", "x>=1"),
        (["--query-timeout", "-1"], {}, "--query-timeout", "expected a number x>0"),
    ],
)
def test_a_bad_value_is_one_line_naming_the_variable_or_flag(
    cli: Cli,
    store_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    served: list[ServerSettings],
    args: list[str],
    variables: dict[str, str],
    named: str,
    expected: str,
) -> None:
    for variable, value in variables.items():
        monkeypatch.setenv(variable, value)
    result = cli("serve", "--store", store_path, *args)
    assert result.code == 2  # usage, as for any bad option
    assert result.err.startswith(f"error: field `{named}`:"), result.err
    assert expected in result.err
    assert "Traceback" not in result.err and result.err.count("\n") == 1
    assert served == []  # nothing was served


def test_help_lists_every_setting_with_its_flag_variable_and_description(cli: Cli) -> None:
    """`modelkg serve --help` is generated from the settings: every field shows up with its
    flag, its `MODELKG_*` variable and its description, and the example is kept."""
    result = cli("serve", "--help")
    assert result.code == 0
    text = "".join(result.out.split())  # click wraps lines (and after hyphens)
    for name, field in ServerSettings.model_fields.items():
        for flag in flag_of(name).name.split("/"):
            assert f"{flag} " in result.out or f"{flag}\n" in result.out, flag
        assert variable_of(name) in text, name
        # (--store is every command's: its description, then its default, before the stop)
        assert "".join(str(field.description).split()).rstrip(".") in text, name
    assert "[envvar:MODELKG_WORKERS;default:1;x>=1]" in text
    assert "[envvar:MODELKG_CORS_ORIGINS,comma-separated]" in text
    assert "preferthevariable:flagsshowin`ps`" in text  # the token's advice
    assert "modelkgserve--ingest-root/srv/models--cors-originhttps://dash.example.org" in text


def test_a_second_server_on_the_same_store_is_refused_with_the_first_ones_address(
    cli: Cli, store_path: Path, served: list[ServerSettings]
) -> None:
    """`modelkg serve` twice on one store: the second says which server has it, in one line,
    before uvicorn starts (its start-up would print a traceback)."""
    from kg.store.holder import record_holder, release_holder

    record_holder(str(store_path), "http://127.0.0.1:8001")  # as the first server does
    try:
        refused = cli("serve", "--store", str(store_path), "--port", "8002")
    finally:
        release_holder(str(store_path))
    assert refused.code == 1
    assert "already serves this store at http://127.0.0.1:8001" in refused.err
    assert "Traceback" not in refused.err
    assert served == []  # uvicorn was never started


def test_an_in_memory_store_is_refused_with_what_to_give_instead(
    cli: Cli, served: list[ServerSettings]
) -> None:
    refused = cli("serve", "--store", ":memory:")
    assert refused.code == 2  # a usage error
    assert "cannot serve an in-memory store" in refused.err and "folder" in refused.err
    assert served == []


@pytest.mark.parametrize("started_as", ["console script", "python -m resolvers.command"])
def test_a_query_worker_starts_without_importing_the_commands(started_as: str) -> None:
    """A client's SPARQL runs in AnyIO's worker processes, and each one, when it starts, runs
    the server's main module again (`runpy.run_path(main, run_name="__mp_main__")`, as
    `anyio.to_process.process_worker` does): that module must not import the command tree
    (typer, the settings, every command's module: ~0.7 s of CPU per worker before its first
    query, again each time one is killed at a timeout)."""
    main = (
        Path(sys.executable).with_name("modelkg")
        if started_as == "console script"
        else Path(__file__).resolve().parents[2] / "resolvers" / "command.py"
    )
    heavy = ("typer", "pydantic", "kg.cli.main", "resolvers.commands", "resolvers.settings")
    probe = (
        "import runpy, sys; runpy.run_path(sys.argv[1], run_name='__mp_main__'); "
        f"print(sorted(m for m in {heavy!r} if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, str(main)], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]", f"{main} imports {done.stdout.strip()} when a worker starts"
