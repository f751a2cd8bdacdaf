"""An ML platform engineer turns call logging on for a generated package: each call lands in
the registry as a PROV-O activity (which function of which model, when, how long, how it
ended, a summary of its arguments and never their values), queryable like any other lineage.
Off by default; a registry that is down or refuses the token never breaks a call."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator

import pytest

from codegen.runtime import call_log
from tests.codegen.conftest import logged_calls
from tests.resolvers.conftest import TOKEN

MODEL = "https://huggingface.co/sentence-transformers/all-MiniLM-L6-v2"
GRAPH = "https://w3id.org/modelkg/id/graph/calls/demo"


@pytest.fixture(autouse=True)
def logging_off() -> Iterator[None]:
    call_log._active.clear()
    yield
    call_log._active.clear()


def _package() -> tuple[Callable[[str, int], str], Callable[[str], str]]:
    @call_log.logged(MODEL, package="demo", graph=GRAPH)
    def generate(prompt: str, max_new_tokens: int = 8) -> str:
        return prompt[:max_new_tokens]

    @call_log.logged(MODEL, package="demo", graph=GRAPH)
    def broken(text: str) -> str:
        raise ValueError("the weights are not there")

    return generate, broken


def test_each_call_is_an_activity_in_the_registry(registry_url: str) -> None:
    log = call_log.enable(registry_url, token=TOKEN, package="demo", graph=GRAPH)
    generate, broken = _package()

    assert generate("a secret prompt", 4) == "a se"
    with pytest.raises(ValueError, match="weights"):
        broken("x")
    assert log is not None and log.flush()

    calls = logged_calls(registry_url)
    assert [(c["function"], c["status"], c["model"]) for c in calls] == [
        ("generate", "ok", MODEL),
        ("broken", "error", MODEL),
    ]
    assert calls[0]["arguments"] == "prompt: str of 15 characters; max_new_tokens: int 4"
    assert "secret" not in calls[0]["arguments"]
    assert calls[1]["error"] == "ValueError: the weights are not there"
    assert float(calls[0]["seconds"]) >= 0


def test_the_environment_switches_it_on_and_it_is_off_by_default(
    registry_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(call_log.ENV_URL, raising=False)
    generate, _ = _package()
    generate("off", 2)
    assert call_log._active == {"demo": None}

    call_log._active.clear()
    monkeypatch.setenv(call_log.ENV_URL, registry_url)
    monkeypatch.setenv(call_log.ENV_TOKEN, TOKEN)
    before = len(logged_calls(registry_url))
    generate("on", 2)
    log = call_log._active["demo"]
    assert log is not None and log.flush()
    assert len(logged_calls(registry_url)) == before + 1


@pytest.mark.parametrize(
    ("where", "token"),
    [("http://127.0.0.1:9", TOKEN), ("registry", "wrong-token")],
    ids=["registry down", "token refused"],
)
def test_a_log_that_fails_never_breaks_the_call(registry_url: str, where: str, token: str) -> None:
    url = registry_url if where == "registry" else where
    log = call_log.enable(url, token=token, package="demo", graph=GRAPH)
    generate, _ = _package()

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert generate("still answered", 5) == "still"
        assert log is not None and log.flush()

    assert log.dropped == 1
    assert any("calls go on unlogged" in str(w.message) for w in caught)
