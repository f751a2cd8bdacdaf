"""Schemathesis against the real server, with the write token: every REST, SPARQL and Graph Store
operation its OpenAPI description lists, and every GraphQL query and mutation its schema has,
fed generated input on a throwaway store. No answer may be a server error, hang, or say
anything the description does not (an undocumented status or content type, a body of another
shape); no GraphQL field may fail as `internal_error`.

Bounded: a few examples per operation, no deadline per example (the first search loads the
embedding model), hypothesis' example database off (nothing written into the repo). Select it
with `-m fuzz`, or leave it out with `-m "not fuzz"`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.resolvers.conftest import TOKEN, registry, serve

pytestmark = pytest.mark.fuzz

AUTHORIZED = {"Authorization": f"Bearer {TOKEN}"}
TIMEOUT = 20.0
"""Seconds an answer may take before the request counts as a hang."""

BUDGET = settings(
    max_examples=8,  # per operation: ~50 REST operations and ~60 GraphQL fields in the budget
    deadline=None,
    database=None,  # nothing written into the repo
    derandomize=True,  # the same cases each run: a failure here is a failure every time
    phases=[Phase.explicit, Phase.generate],  # report the first failing case, unshrunk
    suppress_health_check=list(HealthCheck),
)

REST_CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture(scope="module")
def fuzzed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A writable server over a store made for this module, which the fuzzer may wreck."""
    yield from serve(registry(tmp_path_factory, "fuzzed"), token=TOKEN)


def _fuzz(schema: Any, modes: list[GenerationMode], call: Callable[[Any], None]) -> list[str]:
    """Run `call` on generated cases of every operation of `schema`; one line per operation
    that failed (each operation runs to its end, so one failure does not hide another)."""
    failures = []
    for result in schema.get_all_operations():
        operation = result.ok()
        cases = st.one_of(*(operation.as_strategy(generation_mode=mode) for mode in modes))

        @BUDGET
        @given(case=cases)
        def run(case: Any) -> None:
            call(case)

        try:
            run()
        except Exception as exc:  # collected, and reported together below
            failures.append(f"{operation.label}: {type(exc).__name__}: {exc}"[:2000])
    return failures


def test_every_rest_answer_is_what_the_openapi_says(fuzzed_server: str) -> None:
    schema = schemathesis.openapi.from_url(f"{fuzzed_server}/openapi.json")

    def call(case: Any) -> None:
        case.call_and_validate(headers=AUTHORIZED, timeout=TIMEOUT, checks=REST_CHECKS)

    failures = _fuzz(schema, [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], call)
    assert not failures, "\n\n".join(failures)


def test_no_graphql_field_fails_as_an_internal_error(fuzzed_server: str) -> None:
    schema = schemathesis.graphql.from_url(f"{fuzzed_server}/graphql", headers=AUTHORIZED)

    def call(case: Any) -> None:
        # a GraphQL error is the right answer to much of what the fuzzer sends (an unknown
        # model, an empty text): only a server error or a field failing internally is wrong
        response = case.call(headers=AUTHORIZED, timeout=TIMEOUT)
        assert response.status_code < 500, response.text
        for error in response.json().get("errors") or []:
            code = (error.get("extensions") or {}).get("code")
            assert code != "internal_error", f"{error['message']} for {case.body}"

    failures = _fuzz(schema, [GenerationMode.POSITIVE], call)
    assert not failures, "\n\n".join(failures)


def test_the_server_still_answers_and_writes_after_the_fuzzing(fuzzed_server: str) -> None:
    """Runs last (pytest keeps the file's order): whatever the fuzzer sent, the server reads
    and writes as before."""
    assert httpx.get(f"{fuzzed_server}/health").status_code == 200
    written = httpx.post(
        f"{fuzzed_server}/sparql",
        content="INSERT DATA { GRAPH <urn:after-fuzzing> { <urn:a> <urn:b> <urn:c> } }",
        headers={**AUTHORIZED, "Content-Type": "application/sparql-update"},
    )
    assert written.status_code == 204
