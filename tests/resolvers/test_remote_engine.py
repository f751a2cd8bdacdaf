"""A deployment that outgrew one process keeps its data on a SPARQL server (`--store
sparql+http://...`: Oxigraph or Virtuoso): every command and the server answer as they do over
the embedded store."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from pyoxigraph import CanonicalizationAlgorithm, Dataset, RdfFormat, parse

from tests.conftest import CliResult
from tests.resolvers.conftest import serve

Cli = Callable[..., CliResult]
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "models"


@pytest.fixture(params=["oxigraph", "virtuoso"])
def twins(request: pytest.FixtureRequest, tmp_path: Path, cli: Cli) -> tuple[str, str]:
    """The bundled examples ingested (and reasoned) into a store on each SPARQL server and into
    an embedded store."""
    remote = request.getfixturevalue(f"{request.param}_server")
    remote.clear()
    stores = (remote.location, str(tmp_path / "kg"))
    for store in stores:
        result = cli("ingest", EXAMPLES, "--store", store)
        assert result.code == 0, result.err
    return stores


@pytest.mark.parametrize(
    "command",
    [
        ("export", "-f", "nquads", "--include-ontology", "--no-timestamps"),
        ("query", "SELECT ?name ?task WHERE { ?m schema:name ?name ; mkg:performsTask ?task } "
         "ORDER BY ?name ?task", "--format", "csv"),
        ("compat", "replacements", "gpt2-style-lm"),
        ("compat", "consumes", "tiny-sentiment-classifier"),
    ],
    ids=["export", "query", "replacements", "consumes"],
)  # fmt: skip
def test_a_command_answers_the_same_over_either_engine(
    twins: tuple[str, str], cli: Cli, command: tuple[str, ...]
) -> None:
    remote, embedded = (cli(*command, "--store", store) for store in twins)

    assert remote.code == embedded.code == 0, remote.err + embedded.err
    assert remote.out == embedded.out
    assert remote.out.strip()


def test_the_server_over_a_remote_store_answers_and_still_refuses_service(
    twins: tuple[str, str],
) -> None:
    remote, embedded = twins
    page = "{ models(first: 10) { totalCount edges { node { id tasks { id } } } } }"
    sparql = "SELECT ?name WHERE { ?m a mkg:Model ; schema:name ?name } ORDER BY ?name"
    answers = []
    for store in (remote, embedded):
        for base in serve(store, token=None, response_cache_mb=0):
            graphql = httpx.post(f"{base}/graphql", json={"query": page}).json()["data"]
            rows = httpx.post(
                f"{base}/sparql", data={"query": sparql}, headers={"Accept": "text/csv"}
            ).text
            refused = httpx.post(
                f"{base}/sparql",
                data={"query": "SELECT * WHERE { SERVICE <http://127.0.0.1:9/x> { ?s ?p ?o } }"},
            )
            answers.append((graphql, rows, refused.status_code))

    assert answers[0] == answers[1]
    assert answers[0][0]["models"]["totalCount"] == 4
    assert answers[0][2] == 403


def test_a_model_reads_the_same_over_rest_from_either_engine(twins: tuple[str, str]) -> None:
    answers = []
    for store in twins:
        for base in serve(store, token=None, response_cache_mb=0):
            model = httpx.get(f"{base}/api/v1/models/gpt2-style-lm")
            turtle = httpx.get(
                f"{base}/api/v1/models/gpt2-style-lm/graph", headers={"Accept": "text/turtle"}
            )
            assert model.status_code == turtle.status_code == 200, model.text + turtle.text
            answers.append((model.json(), canonical(turtle.content)))

    assert answers[0] == answers[1]
    assert answers[0][0]["name"] == "gpt2-style-lm"
    assert answers[0][1]


def canonical(turtle: bytes) -> list[str]:
    """A Turtle graph's triples but when each model was ingested, blank nodes labelled
    canonically, sorted."""
    triples = parse(turtle, RdfFormat.TURTLE)
    dataset = Dataset(q for q in triples if not q.predicate.value.endswith("#ingestedAt"))
    dataset.canonicalize(CanonicalizationAlgorithm.UNSTABLE)
    return sorted(map(str, dataset))
