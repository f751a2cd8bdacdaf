"""An export of any size is written in bounded memory: the N-Quads are sorted in runs spilled
to files and merged, and only the quads with blank nodes are canonicalized in memory. What comes
out is what canonicalizing and sorting the whole dataset at once gives (RDFC-1.0's labels
depend on the blank-node quads alone)."""

from __future__ import annotations

import io
import json
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest
import rdflib
from pyoxigraph import (
    CanonicalizationAlgorithm,
    Dataset,
    Literal,
    Quad,
    QueryTriples,
    RdfFormat,
    parse,
    serialize,
)
from rdflib.compare import isomorphic

from kg.export import _write_jsonld, write_canonical_nquads, write_export
from kg.ingest.pipeline import ingest
from kg.store import open_store
from ontology.files import ONTOLOGY_DIR
from tests.conftest import corpus_folder

MODELS = ("openai-community/gpt2", "google-bert/bert-base-uncased")
HF = "https://huggingface.co/"
HOSTILE_NAME = 'no IRI,\n a "name" \u2028 of\t\u00e9 \U0001f600 <b>'
"""A name that needs escaping in N-Triples and in JSON."""


@pytest.fixture(scope="module")
def store_path(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = str(tmp_path_factory.mktemp("export") / "store")
    with open_store(path) as store:
        ingest([str(corpus_folder(m)) for m in MODELS], store)
    return path


def _whole_dataset_at_once(store_path: str) -> bytes:
    """The export as the RDFC-1.0 spec describes it: one dataset, canonicalized, sorted."""
    with open_store(store_path, read_only=True) as store:
        dataset = Dataset(store.quads(vocabulary=True))
    dataset.canonicalize(CanonicalizationAlgorithm.RDFC_1_0)
    text = serialize(list(dataset), format=RdfFormat.N_QUADS) or b""
    return b"".join(sorted(text.splitlines(keepends=True)))


@pytest.mark.parametrize("run_lines", [1, 997, 250_000], ids=["a run per line", "runs", "one run"])
def test_the_export_sorted_in_runs_is_the_whole_dataset_canonicalized(
    store_path: str, run_lines: int
) -> None:
    written = io.BytesIO()
    with open_store(store_path, read_only=True) as store:
        write_canonical_nquads(store.quads(vocabulary=True), written, run_lines=run_lines)

    expected = _whole_dataset_at_once(store_path)
    assert b"_:c14n0 " in expected  # the ontology's blank nodes are in it
    assert written.getvalue() == expected


def test_no_run_file_outlives_the_export(
    store_path: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(tempfile, "tempdir", None)  # TMPDIR read again
    with open_store(store_path, read_only=True) as store:
        write_canonical_nquads(store.quads(vocabulary=True), io.BytesIO(), run_lines=100)
        with pytest.raises(ValueError, match="stop"):
            write_canonical_nquads(_failing_after(store.quads(), 500), io.BytesIO(), run_lines=100)
    assert list(tmp_path.iterdir()) == []


def _failing_after(quads: Iterable[Quad], count: int) -> Iterator[Quad]:
    for index, quad in enumerate(quads):
        if index == count:
            raise ValueError("stop")
        yield quad


def test_turtle_is_streamed_to_the_output_with_every_model_triple(store_path: str) -> None:
    written = io.BytesIO()
    with open_store(store_path, read_only=True) as store:
        write_export(store, "turtle", written)
        expected = {q.triple for q in store.quads(vocabulary=False)}
    assert written.getvalue().startswith(b"@prefix")
    assert {q.triple for q in parse(written.getvalue(), format=RdfFormat.TURTLE)} == expected


@pytest.fixture(scope="module")
def store_with_a_blank_dataset(store_path: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The two models, gpt2 also trained on a dataset with no IRI (a blank node), and a model
    with no IRI either (a SPARQL update can write one)."""
    path = str(tmp_path_factory.mktemp("export-blank") / "store")
    with open_store(store_path, read_only=True) as source, open_store(path) as store:
        store.load([q for q in source.quads(vocabulary=False)])
        store.update(
            f"INSERT DATA {{ GRAPH <urn:extra> {{ <{HF}openai-community/gpt2> mkg:trainedOn "
            '_:d . _:d schema:name "a private dataset" . '
            f"_:m a mkg:Model ; schema:name {Literal(HOSTILE_NAME)} }} }}"
        )
    return path


@pytest.mark.parametrize("nodes", [1, 3, 1_000], ids=["a node a batch", "batches", "one batch"])
def test_jsonld_compacted_in_batches_is_the_schema_org_view_each_node_once(
    store_with_a_blank_dataset: str, nodes: int
) -> None:
    written = io.BytesIO()
    with open_store(store_with_a_blank_dataset, read_only=True) as store:
        _write_jsonld(store, written, nodes=nodes)
        view = store.query((ONTOLOGY_DIR / "export" / "schema_org.rq").read_text("utf-8"))
        assert isinstance(view, QueryTriples)
        expected = rdflib.Graph().parse(
            data=view.serialize(format=RdfFormat.N_TRIPLES), format="nt"
        )

    document = json.loads(written.getvalue())
    ids = [node["@id"] for node in document["@graph"]]
    assert len(ids) == len(set(ids))  # every node once, in one piece
    assert [i.startswith("_:") for i in ids][-3:] == [False, True, True]  # blank nodes last
    assert ids[:-2] == sorted(ids[:-2])
    assert HOSTILE_NAME in [node.get("schema:name") for node in document["@graph"]]
    found = rdflib.Graph().parse(data=written.getvalue(), format="json-ld")
    assert isomorphic(found, expected)
    private = rdflib.Literal("a private dataset")
    dataset = found.value(predicate=rdflib.URIRef("https://schema.org/name"), object=private)
    trained_on = rdflib.URIRef("https://w3id.org/fair4ml/trainedOn")
    assert (rdflib.URIRef(HF + "openai-community/gpt2"), trained_on, dataset) in found
