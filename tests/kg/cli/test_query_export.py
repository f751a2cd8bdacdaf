"""Asking the registry questions and taking it elsewhere: `modelkg query` and `modelkg export`.

The story: a knowledge engineer has registered a handful of models, asks SPARQL questions in
every result format their tools read (and gets a clear answer when a format does not fit the
query), then exports the registry as N-Quads, Turtle and schema.org/FAIR4ML JSON-LD, each read
back with a standard parser.
"""

from __future__ import annotations

import csv
import io
import json
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

import pytest
import rdflib
from pyoxigraph import Quad, RdfFormat, parse

import kg.export
from tests.conftest import CliResult, corpus_folder

Cli = Callable[..., CliResult]

FINE_TUNE = "huggingface-course/marian-finetuned-kde4-en-to-fr"
FINE_TUNE_BASE = "Helsinki-NLP/opus-mt-en-fr"
MODELS = (
    "openai-community/gpt2",
    "google-bert/bert-base-uncased",
    "sentence-transformers/all-MiniLM-L6-v2",
    "nlptown/bert-base-multilingual-uncased-sentiment",
    FINE_TUNE,
)
HF = "https://huggingface.co/"
FAIR4ML = "https://w3id.org/fair4ml/"
SCHEMA = "https://schema.org/"

HIDDEN_SIZES = "SELECT ?m ?h WHERE { ?m a mkg:Model ; mkg:hiddenSize ?h } ORDER BY ?m"
SRJ = "application/sparql-results+json"


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store with five corpus models, shared by every test here (none of them writes)."""
    from kg.ingest.pipeline import ingest
    from kg.store import open_store

    path = tmp_path_factory.mktemp("registry") / "store"
    store = open_store(str(path))
    summary = ingest([str(corpus_folder(hub_id)) for hub_id in MODELS], store)
    store.close()
    assert sorted(summary.ingested) == sorted(MODELS), summary
    return path


@pytest.fixture
def query(registry: Path, cli: Cli) -> Callable[..., CliResult]:
    """`modelkg query SPARQL ARGS... --store REGISTRY`."""

    def run(sparql: str, *args: str) -> CliResult:
        return cli("query", sparql, *args, "--store", registry)

    return run


@pytest.fixture
def export(registry: Path, cli: Cli) -> Callable[..., CliResult]:
    """`modelkg export ARGS... --store REGISTRY`."""

    def run(*args: str) -> CliResult:
        return cli("export", *args, "--store", registry)

    return run


def test_table_is_the_default(query: Callable[..., CliResult]) -> None:
    result = query(HIDDEN_SIZES)

    assert result.code == 0, result.err
    assert f"{len(MODELS)} row(s)" in result.out
    assert "768" in result.out


def test_json_results(query: Callable[..., CliResult]) -> None:
    result = query(HIDDEN_SIZES, "--format", "json")

    assert result.code == 0, result.err
    document = json.loads(result.out)
    assert document["head"]["vars"] == ["m", "h"]
    rows = {b["m"]["value"]: b["h"] for b in document["results"]["bindings"]}
    assert set(rows) == {HF + hub_id for hub_id in MODELS}
    assert rows[HF + "openai-community/gpt2"] == {
        "type": "literal",
        "value": "768",
        "datatype": "http://www.w3.org/2001/XMLSchema#integer",
    }


@pytest.mark.parametrize("fmt", ["csv", "tsv"])
def test_csv_and_tsv_results(fmt: str, query: Callable[..., CliResult]) -> None:
    result = query(HIDDEN_SIZES, "--format", fmt)

    assert result.code == 0, result.err
    rows = list(csv.reader(io.StringIO(result.out), delimiter="," if fmt == "csv" else "\t"))
    rows = [row for row in rows if row]
    assert [name.lstrip("?") for name in rows[0]] == ["m", "h"]
    assert len(rows) == 1 + len(MODELS)
    gpt2 = next(row for row in rows if "gpt2" in row[0])
    assert "768" in gpt2[1]


def test_xml_results(query: Callable[..., CliResult]) -> None:
    result = query(HIDDEN_SIZES, "--format", "xml")

    assert result.code == 0, result.err
    ns = {"r": "http://www.w3.org/2005/sparql-results#"}
    root = ET.fromstring(result.out)
    assert [v.get("name") for v in root.findall("r:head/r:variable", ns)] == ["m", "h"]
    assert len(root.findall("r:results/r:result", ns)) == len(MODELS)


@pytest.mark.parametrize(("fmt", "rdflib_format"), [("turtle", "turtle"), ("ntriples", "nt")])
def test_construct_as_rdf(fmt: str, rdflib_format: str, query: Callable[..., CliResult]) -> None:
    result = query(
        "CONSTRUCT { ?m schema:name ?n } WHERE { ?m a mkg:Model ; schema:name ?n }", "--format", fmt
    )

    assert result.code == 0, result.err
    graph = rdflib.Graph().parse(data=result.out, format=rdflib_format)
    names = {str(o) for o in graph.objects(None, rdflib.URIRef(SCHEMA + "name"))}
    assert names == set(MODELS)


@pytest.mark.parametrize(
    ("sparql", "answer"),
    [
        (f"ASK {{ <{HF}{FINE_TUNE}> mkg:fineTunedFrom <{HF}{FINE_TUNE_BASE}> }}", "true"),
        ("ASK { ?m mkg:hiddenSize 123456 }", "false"),
    ],
    ids=["true", "false"],
)
def test_ask(sparql: str, answer: str, query: Callable[..., CliResult]) -> None:
    result = query(sparql)

    assert result.code == 0, result.err
    assert result.out.strip() == answer


def test_ask_as_json(query: Callable[..., CliResult]) -> None:
    result = query("ASK { ?m a mkg:Model }", "--format", "json")

    assert result.code == 0, result.err
    assert json.loads(result.out)["boolean"] is True


def test_select_as_turtle_is_a_usage_error_listing_formats(query: Callable[..., CliResult]) -> None:
    result = query(HIDDEN_SIZES, "--format", "turtle")

    assert result.code == 2
    assert "`turtle`" in result.err
    for fmt in ("table", "json", "csv", "tsv", "xml"):
        assert fmt in result.err


def test_construct_as_csv_is_a_usage_error_listing_formats(query: Callable[..., CliResult]) -> None:
    result = query("CONSTRUCT WHERE { ?m a mkg:Model }", "--format", "csv")

    assert result.code == 2
    assert "turtle" in result.err
    assert "ntriples" in result.err


def test_query_from_a_file(tmp_path: Path, query: Callable[..., CliResult]) -> None:
    query_file = tmp_path / "fine-tunes.rq"
    query_file.write_text(
        "# which models are fine-tunes, and of what?\n"
        "SELECT ?m ?base\n"
        "WHERE {\n"
        "  ?m mkg:fineTunedFrom ?base\n"
        "}\n"
    )

    result = query(f"@{query_file}", "--format", "csv")

    assert result.code == 0, result.err
    assert result.out.split() == ["m,base", f"{HF}{FINE_TUNE},{HF}{FINE_TUNE_BASE}"]


def test_query_from_a_missing_file(tmp_path: Path, query: Callable[..., CliResult]) -> None:
    result = query(f"@{tmp_path / 'nope.rq'}")

    assert result.code == 1
    assert result.err.startswith("error:")
    assert "nope.rq" in result.err


def test_query_a_store_that_does_not_exist(tmp_path: Path, cli: Cli) -> None:
    result = cli("query", HIDDEN_SIZES, "--store", tmp_path / "nowhere")

    assert result.code == 1
    assert "no store here yet" in result.err
    assert "cannot open the store" not in result.err  # said once, not wrapped again
    assert not (tmp_path / "nowhere").exists()


# --- export ---------------------------------------------------------------------------------


def test_export_nquads_has_one_named_graph_per_model(export: Callable[..., CliResult]) -> None:
    result = export("--format", "nquads")

    assert result.code == 0, result.err
    quads = list(parse(result.out.encode(), format=RdfFormat.N_QUADS))
    graphs = {q.graph_name.value for q in quads}
    assert graphs == {f"https://w3id.org/modelkg/id/graph/hf/{hub_id}" for hub_id in MODELS}


def test_export_with_the_ontology_adds_its_graphs(export: Callable[..., CliResult]) -> None:
    result = export("--format", "nquads", "--include-ontology")

    assert result.code == 0, result.err
    quads = parse(result.out.encode(), format=RdfFormat.N_QUADS)
    graphs = {q.graph_name.value for q in quads}
    assert len(graphs) == len(MODELS) + 2
    assert "https://w3id.org/modelkg/graph/ontology" in graphs


def test_export_turtle(export: Callable[..., CliResult]) -> None:
    result = export("--format", "turtle")

    assert result.code == 0, result.err
    graph = rdflib.Graph().parse(data=result.out, format="turtle")
    models = set(
        graph.subjects(rdflib.RDF.type, rdflib.URIRef("https://w3id.org/modelkg/ontology#Model"))
    )
    assert models == {rdflib.URIRef(HF + hub_id) for hub_id in MODELS}


@pytest.mark.filterwarnings("ignore:ConjunctiveGraph is deprecated:DeprecationWarning")
def test_export_jsonld_speaks_schema_org_and_fair4ml(export: Callable[..., CliResult]) -> None:
    result = export("--format", "jsonld")

    assert result.code == 0, result.err
    graph = rdflib.Graph().parse(data=result.out, format="json-ld")
    models = set(graph.subjects(rdflib.RDF.type, rdflib.URIRef(FAIR4ML + "MLModel")))
    assert models == {rdflib.URIRef(HF + hub_id) for hub_id in MODELS}
    for hub_id in MODELS:
        assert graph.value(
            rdflib.URIRef(HF + hub_id), rdflib.URIRef(SCHEMA + "name")
        ) == rdflib.Literal(hub_id)
    assert graph.value(
        rdflib.URIRef(HF + FINE_TUNE), rdflib.URIRef(FAIR4ML + "fineTunedFrom")
    ) == rdflib.URIRef(HF + FINE_TUNE_BASE)


def test_export_to_a_file(tmp_path: Path, export: Callable[..., CliResult]) -> None:
    target = tmp_path / "registry.nq"

    result = export("--format", "nquads", "-o", target)

    assert result.code == 0, result.err
    assert f"to {target}" in result.out
    assert target.read_bytes() == export("--format", "nquads").out.encode()
    assert not list(tmp_path.glob("*.tmp"))


def test_an_export_cut_off_midway_leaves_the_file_it_would_replace(
    tmp_path: Path, export: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "registry.nq"
    target.write_bytes(b"yesterday's export\n")
    streamed = kg.export.write_canonical_nquads

    def cut_off(quads: Iterable[Quad], output: BinaryIO, **options: int) -> None:
        def some(quads: Iterable[Quad]) -> Iterator[Quad]:
            for index, quad in enumerate(quads):
                if index == 50:
                    raise OSError(28, "No space left on device")
                yield quad

        output.write(b"<urn:half> <urn:written> <urn:line> .\n")
        streamed(some(quads), output, **options)

    monkeypatch.setattr(kg.export, "write_canonical_nquads", cut_off)
    result = export("--format", "nquads", "-o", target)

    assert result.code == 1
    assert result.err.startswith(f"error: {target}: cannot write the export: No space left")
    assert target.read_bytes() == b"yesterday's export\n"
    assert list(tmp_path.iterdir()) == [target]  # no half-written temporary file left behind


def test_an_unknown_format_makes_no_file(tmp_path: Path, export: Callable[..., CliResult]) -> None:
    result = export("--format", "rdfxml", "-o", tmp_path / "registry.rdf")

    assert result.code == 2  # a usage error
    assert "unknown export format `rdfxml`" in result.err and "nquads" in result.err
    assert list(tmp_path.iterdir()) == []


def test_export_into_a_folder_that_does_not_exist(
    tmp_path: Path, export: Callable[..., CliResult]
) -> None:
    target = tmp_path / "no-such-folder" / "registry.ttl"

    result = export("-o", target)

    assert result.code == 1
    assert result.err.startswith("error:")
    assert str(target.parent) in result.err


@pytest.mark.parametrize(
    ("sparql", "message"),
    [
        ("SELECT * WHERE " + "{" * 5000 + "}" * 5000, "nests groups 5000 deep"),
        ("SELECT * WHERE { FILTER(" + "(" * 5000 + "1" + ")" * 5000 + ") }", "5002 deep"),
        ("SELECT * WHERE { SERVICE <http://127.0.0.1:9/x> { ?s ?p ?o } }", "SERVICE"),
        ("SELECT * WHERE { ?s ?p ?o", "line 1, column 26"),
    ],
)
def test_a_hostile_query_is_a_clear_error_not_a_crash(
    sparql: str, message: str, query: Callable[..., CliResult]
) -> None:
    result = query(sparql)

    assert result.code == 1
    assert message in result.err


def test_two_dumps_of_the_same_models_compare_equal_without_timestamps(
    tmp_path: Path, cli: Cli
) -> None:
    """A migration check, a backup diff: the same models ingested at two moments export to the
    same bytes once the ingest timestamps are left out (and only then)."""
    dumps: dict[str, list[str]] = {"with": [], "without": []}
    for n in (1, 2):
        store = tmp_path / f"store-{n}"
        assert cli("ingest", corpus_folder(MODELS[0]), "--store", store).code == 0
        for kind, flag in (("with", "--timestamps"), ("without", "--no-timestamps")):
            result = cli("export", "-f", "nquads", "--include-ontology", flag, "--store", store)
            assert result.code == 0, result.err
            dumps[kind].append(result.out)
        time.sleep(1.1)  # timestamps have whole seconds

    assert dumps["without"][0] == dumps["without"][1]
    assert dumps["with"][0] != dumps["with"][1]
    stated = {
        kind: {q.predicate.value for q in parse(d[0].encode(), format=RdfFormat.N_QUADS)}
        for kind, d in dumps.items()
    }
    ingested_at = "https://w3id.org/modelkg/ontology#ingestedAt"
    assert ingested_at in stated["with"] and ingested_at not in stated["without"]
    lines = dumps["without"][0].splitlines()
    assert lines == sorted(lines)
    assert any("/graph/ontology>" in line for line in lines)
