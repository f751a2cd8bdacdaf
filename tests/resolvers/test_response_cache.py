"""A dashboard asks the same questions again and again: the answers come back from memory, and
never outlive a write to the store."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.resolvers.conftest import TOKEN, registry, serve

PAGE = "{ models(first: 10) { totalCount edges { node { id name } } } }"


@pytest.fixture(scope="module")
def cached_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A live server with writes on (so tests can change the store) and the cache on; each
    write is published at once (a lingering write's publication, up to --write-linger later,
    moves the generation again and empties the cache a second time, which these counts of
    hits and misses would see)."""
    yield from serve(registry(tmp_path_factory, "cached"), token=TOKEN, write_linger=0)


@pytest.fixture(scope="module")
def uncached_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A live server whose operator turned the cache off (`--response-cache-mb 0`)."""
    yield from serve(registry(tmp_path_factory, "uncached"), token=None, response_cache_mb=0)


def ask(base: str, query: str, **headers: str) -> httpx.Response:
    return httpx.post(f"{base}/graphql", json={"query": query}, headers=headers)


def total(response: httpx.Response) -> int:
    data: dict[str, Any] = response.json()["data"]
    return int(data["models"]["totalCount"])


def write_a_model(base: str, name: str) -> None:
    update = (
        "PREFIX mkg: <https://w3id.org/modelkg/ontology#> PREFIX schema: <https://schema.org/>\n"
        f"INSERT DATA {{ GRAPH <urn:user:{name}> {{ <urn:model:{name}> a mkg:Model ; "
        f'schema:name "{name}" }} }}'
    )
    answer = httpx.post(
        f"{base}/sparql",
        content=update,
        headers={"Content-Type": "application/sparql-update", "Authorization": f"Bearer {TOKEN}"},
    )
    assert answer.status_code == 204, answer.text


def test_the_same_query_again_is_replayed_byte_for_byte(cached_server: str) -> None:
    query = "{ models(first: 2) { totalCount edges { node { id tasks { id } } } } }"
    first = ask(cached_server, query)
    again = ask(cached_server, query)

    assert (first.headers["x-cache"], again.headers["x-cache"]) == ("miss", "hit")
    assert again.content == first.content
    assert again.headers["content-type"] == first.headers["content-type"]


def test_a_write_makes_every_earlier_answer_unreachable(cached_server: str) -> None:
    before = ask(cached_server, PAGE)
    assert ask(cached_server, PAGE).headers["x-cache"] == "hit"

    write_a_model(cached_server, "zz-written-after")
    after = ask(cached_server, PAGE)

    assert after.headers["x-cache"] == "miss"
    assert total(after) == total(before) + 1


def test_no_cache_asks_for_a_fresh_computation(cached_server: str) -> None:
    ask(cached_server, PAGE)
    fresh = ask(cached_server, PAGE, **{"Cache-Control": "no-cache"})

    assert fresh.headers["x-cache"] == "miss"
    assert ask(cached_server, PAGE).headers["x-cache"] == "hit"


def test_no_store_is_neither_read_nor_kept(cached_server: str) -> None:
    query = "{ models(first: 3) { edges { node { id } } } }"
    assert ask(cached_server, query, **{"Cache-Control": "no-store"}).headers["x-cache"] == "miss"
    assert ask(cached_server, query).headers["x-cache"] == "miss"


def test_an_answer_with_errors_is_computed_every_time(cached_server: str) -> None:
    query = "{ models(first: 101) { totalCount } }"
    first, again = ask(cached_server, query), ask(cached_server, query)

    assert first.json()["errors"][0]["extensions"]["field"] == "first"
    assert again.headers.get("x-cache") != "hit"


def test_a_mutation_is_never_replayed(cached_server: str) -> None:
    mutation = 'mutation { ingest(paths: ["/nowhere"]) { triples } }'
    first = ask(cached_server, mutation)
    again = ask(cached_server, mutation)  # no token: it must be refused again, not replayed

    assert again.headers.get("x-cache") != "hit"
    assert (
        again.json()["errors"][0]["extensions"]["code"]
        == first.json()["errors"][0]["extensions"]["code"]
    )


def test_rest_reads_are_cached_per_format(cached_server: str) -> None:
    url = f"{cached_server}/api/v1/models/openai-community/gpt2/graph"
    turtle = httpx.get(url, headers={"Accept": "text/turtle"})
    jsonld = httpx.get(url, headers={"Accept": "application/ld+json"})
    turtle_again = httpx.get(url, headers={"Accept": "text/turtle"})

    assert (turtle.headers["x-cache"], jsonld.headers["x-cache"]) == ("miss", "miss")
    assert turtle_again.headers["x-cache"] == "hit"
    assert turtle_again.content == turtle.content != jsonld.content


def sparql(base: str, query: str, *, form: bool = False) -> httpx.Response:
    accept = {"Accept": "application/sparql-results+json"}
    if form:
        return httpx.post(f"{base}/sparql", data={"query": query}, headers=accept)
    return httpx.get(f"{base}/sparql", params={"query": query}, headers=accept)


@pytest.mark.parametrize("form", [False, True], ids=["get", "form"])
def test_a_sparql_query_is_replayed_until_the_next_write(cached_server: str, form: bool) -> None:
    query = "SELECT (COUNT(*) AS ?n) { GRAPH ?g { ?m a mkg:Model } }"
    first = sparql(cached_server, query, form=form)
    assert sparql(cached_server, query, form=form).headers["x-cache"] == "hit"

    write_a_model(cached_server, f"zz-sparql-{form}")
    after = sparql(cached_server, query, form=form)

    assert after.headers["x-cache"] == "miss"
    count = int(after.json()["results"]["bindings"][0]["n"]["value"])
    assert count == int(first.json()["results"]["bindings"][0]["n"]["value"]) + 1


@pytest.mark.parametrize("function", ["STRUUID()", "NOW()", "RAND()", "bnode()"])
def test_a_query_whose_answer_changes_each_time_is_computed_each_time(
    cached_server: str, function: str
) -> None:
    query = f"SELECT ({function} AS ?v) {{}}"
    answers = [sparql(cached_server, query) for _ in range(2)]

    assert [a.headers.get("x-cache") for a in answers] == ["miss", "miss"]
    assert all(a.headers["cache-control"] == "no-store" for a in answers)
    if function == "STRUUID()":
        values = [a.json()["results"]["bindings"][0]["v"]["value"] for a in answers]
        assert values[0] != values[1]


def test_a_changing_function_deep_in_the_query_still_turns_the_cache_off(
    cached_server: str,
) -> None:
    query = "SELECT ?v WHERE { { SELECT (UUID() AS ?v) {} } FILTER EXISTS { BIND(1 AS ?one) } }"
    answers = [sparql(cached_server, query) for _ in range(2)]

    assert [a.headers.get("x-cache") for a in answers] == ["miss", "miss"]
    values = [a.json()["results"]["bindings"][0]["v"]["value"] for a in answers]
    assert values[0] != values[1]


def test_an_operator_can_turn_the_cache_off(uncached_server: str) -> None:
    ask(uncached_server, PAGE)

    assert "x-cache" not in ask(uncached_server, PAGE).headers


def test_a_graph_store_read_is_replayed_until_the_graph_changes(cached_server: str) -> None:
    url = f"{cached_server}/rdf-graph-store?graph=urn:user:zz-gsp"
    write_a_model(cached_server, "zz-gsp")
    first, again = httpx.get(url), httpx.get(url)
    assert (first.headers["x-cache"], again.headers["x-cache"]) == ("miss", "hit")

    httpx.put(
        url,
        content="<urn:model:zz-gsp> <https://schema.org/name> 'renamed' .",
        headers={"Content-Type": "text/turtle", "Authorization": f"Bearer {TOKEN}"},
    ).raise_for_status()
    after = httpx.get(url)

    assert after.headers["x-cache"] == "miss"
    assert "renamed" in after.text and "renamed" not in first.text
