"""The embedded store: pyoxigraph on disk, one named graph per model, writes all or nothing.

The story: a fresh store already knows the ontology; ingesting a model again after its files
changed replaces its graph completely; a write that fails half-way (the disk fills up) leaves
the store exactly as it was; two ModelKG processes cannot both write one store, but anyone can
read it while it is being written. Counting models and replacing a graph with unusual terms
in it run on every engine (`any_store`).
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from pyoxigraph import (
    BaseDirection,
    Literal,
    NamedNode,
    Quad,
    QuerySolutions,
    RdfFormat,
    Triple,
    serialize,
)

from kg.errors import StoreError
from kg.ingest.pipeline import ingest
from kg.ingest.reader import read_source
from kg.ingest.sources import discover
from kg.iris import IriMinter
from kg.store import EmbeddedStore, ModelStore, embedded, open_store
from kg.store.model_graph import ModelGraph
from ontology.namespaces import MKG
from tests.conftest import corpus_folder, dump

REPO = Path(__file__).resolve().parents[3]
BERT = "google-bert/bert-base-uncased"
GPT2 = "openai-community/gpt2"
NEW = ("openai/clip-vit-base-patch32", "google-t5/t5-small")
"""Two models that the template store does not hold yet."""


def copy_model(hub_id: str, into: Path, **config_changes: object) -> Path:
    """A copy of a corpus model folder, with `config_changes` made to its config.json."""
    folder = into / hub_id.replace("/", "__")
    shutil.copytree(corpus_folder(hub_id), folder)
    config = json.loads((folder / "config.json").read_text())
    config.update(config_changes)
    (folder / "config.json").write_text(json.dumps(config, indent=2))
    return folder


def read_model(folder: Path) -> ModelGraph:
    (source,) = discover(str(folder)).sources
    return read_source(source, IriMinter())


def select(store: EmbeddedStore, sparql: str) -> list[tuple[str, ...]]:
    answer = store.query(sparql)
    assert isinstance(answer, QuerySolutions)
    names = [v.value for v in answer.variables]
    return [tuple(getattr(row[n], "value", "") for n in names) for row in answer]


def graph_size(store: EmbeddedStore, graph: NamedNode) -> int:
    ((count,),) = select(store, f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH {graph} {{ ?s ?p ?o }} }}")
    return int(count)


def test_a_fresh_store_holds_the_ontology_and_no_models(store: EmbeddedStore) -> None:
    assert store.ask("ASK { ?o a owl:Ontology }")
    assert store.ask("ASK { GRAPH <https://w3id.org/modelkg/graph/shapes> { ?s a sh:NodeShape } }")
    assert store.count_models() == 0


def test_reopening_a_store_does_not_load_the_vocabulary_twice(store_path: Path) -> None:
    open_store(str(store_path)).close()
    before = dump(store_path)

    open_store(str(store_path)).close()

    assert dump(store_path) == before


def test_reingesting_changed_files_replaces_the_models_graph_completely(
    tmp_path: Path, store: EmbeddedStore
) -> None:
    folder = copy_model(BERT, tmp_path)
    ingest([str(folder)], store)
    model = f"<https://huggingface.co/{BERT}>"
    assert select(store, f"SELECT ?h WHERE {{ {model} mkg:hiddenSize ?h }}") == [("768",)]
    config = json.loads((folder / "config.json").read_text())
    vocab = str(config["vocab_size"])
    assert select(store, f"SELECT ?v WHERE {{ {model} mkg:vocabSize ?v }}") == [(vocab,)]

    config["hidden_size"] = 1024
    del config["vocab_size"]
    (folder / "config.json").write_text(json.dumps(config))
    summary = ingest([str(folder)], store)

    assert summary.updated == [BERT]
    assert select(store, f"SELECT ?h WHERE {{ {model} mkg:hiddenSize ?h }}") == [("1024",)]
    assert select(store, f"SELECT ?v WHERE {{ {model} mkg:vocabSize ?v }}") == []
    graph = read_model(folder).graph_iri
    assert not store.ask(f'ASK {{ GRAPH {graph} {{ ?setting mkg:sourceKey "vocab_size" }} }}')
    fresh = open_store(str(tmp_path / "fresh"))
    ingest([str(folder)], fresh)
    assert graph_size(store, graph) == graph_size(fresh, graph) == read_model(folder).count
    fresh.close()


def test_count_models(tmp_path: Path, any_store: ModelStore) -> None:
    folders = [copy_model(hub_id, tmp_path) for hub_id in (GPT2, BERT, *NEW)]
    ingest([str(f) for f in folders], any_store)
    assert any_store.count_models() == 4

    changed = copy_model(GPT2, tmp_path / "changed", n_layer=6)
    ingest([str(changed)], any_store)
    assert any_store.count_models() == 4

    any_store.remove_graphs([read_model(folders[0]).graph_iri])
    assert any_store.count_models() == 3


# --- all or nothing -------------------------------------------------------------------------

WRITE_METHODS = frozenset(
    {"add", "add_graph", "bulk_extend", "bulk_load", "clear", "clear_graph", "extend", "load",
     "remove", "remove_graph", "update"}
)  # fmt: skip


class DiskFillsUp:
    """A pyoxigraph store whose disk fills up after `writes_left` more write calls succeed.

    The failing `update` runs for real until its very end, so everything it did before the
    failure must be rolled back; the other writes are atomic calls and fail before writing.
    """

    def __init__(self, store: Any, writes_left: int) -> None:
        self._store = store
        self.writes_left = writes_left

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._store, name)
        if name not in WRITE_METHODS:
            return method

        def write(*args: Any, **kwargs: Any) -> Any:
            if self.writes_left > 0:
                self.writes_left -= 1
                return method(*args, **kwargs)
            if name == "update":
                # the last operation fails (no such graph), so the whole update is rolled back
                with contextlib.suppress(RuntimeError):
                    method(args[0] + ";\nDROP GRAPH <urn:example:disk-full>", *args[1:], **kwargs)
            raise OSError(28, "No space left on device")

        return write


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A closed store holding GPT-2 and BERT: copy it to write."""
    root = tmp_path_factory.mktemp("template")
    models = root / "models"
    folders = [copy_model(hub_id, models) for hub_id in (GPT2, BERT)]
    store = open_store(str(root / "store"))
    summary = ingest([str(f) for f in folders], store)
    store.close()
    assert sorted(summary.ingested) == sorted([GPT2, BERT]), summary
    return root / "store"


BATCHES: dict[str, Callable[[Path], list[Path]]] = {
    "two-replaced": lambda tmp: [
        copy_model(GPT2, tmp, n_layer=6),
        copy_model(BERT, tmp, hidden_size=1024),
    ],
    "one-replaced-one-new": lambda tmp: [copy_model(GPT2, tmp, n_layer=6), copy_model(NEW[0], tmp)],
    "two-new": lambda tmp: [copy_model(NEW[0], tmp), copy_model(NEW[1], tmp)],
}


@pytest.mark.parametrize("writes_before_failure", [0, 1, 2])
@pytest.mark.parametrize("batch", list(BATCHES))
def test_a_write_that_fails_midway_leaves_the_store_as_it_was(
    batch: str,
    writes_before_failure: int,
    template: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = tmp_path / "store"
    shutil.copytree(template, path)
    open_store(str(path)).close()  # bring its vocabulary graphs up to date before the dump
    before = dump(path)
    models = [read_model(folder) for folder in BATCHES[batch](tmp_path / "changed")]
    store = open_store(str(path))
    existing = store.source_digests([m.graph_iri for m in models])
    monkeypatch.setattr(store, "_store", DiskFillsUp(store._store, writes_before_failure))

    error = None
    try:
        store.write_models(
            models, replace=[m.graph_iri for m in models if m.graph_iri.value in existing]
        )
    except StoreError as exc:
        error = str(exc)  # not the exception: its traceback would keep the writer open
    monkeypatch.undo()
    written = store.source_digests([m.graph_iri for m in models])
    sizes = [graph_size(store, m.graph_iri) for m in models]
    store.close()  # and let go of it, so the dump below reads a store nobody writes

    if error is not None:
        assert "No space left on device" in error
        assert dump(path) == before, "a failed write changed the store"
    else:
        assert written == {m.graph_iri.value: m.digest for m in models}
        assert sizes == [m.count for m in models]


def with_extra_quads(model: ModelGraph, quads: Sequence[Quad]) -> ModelGraph:
    data = serialize(quads, format=RdfFormat.N_QUADS) or b""
    return replace(model, nquads=model.nquads + data, count=model.count + len(quads))


UNUSUAL_OBJECTS = {
    "escapes-and-emoji": Literal('a "quoted" \\ back\nslash\ttab é 🤗'),
    "language-tag": Literal("Kurdî", language="ku"),
    "directional-language-tag": Literal("مرحبا", language="ar", direction=BaseDirection.RTL),
    "triple-term": Triple(NamedNode("urn:example:a"), NamedNode("urn:example:b"), Literal(1)),
}


@pytest.mark.parametrize("obj", UNUSUAL_OBJECTS.values(), ids=list(UNUSUAL_OBJECTS))
def test_a_replaced_graph_holds_exactly_what_a_new_one_holds(
    obj: Literal | Triple, tmp_path: Path, engine: str, any_store: ModelStore
) -> None:
    model = read_model(copy_model(GPT2, tmp_path))
    note = Quad(model.model_iri, NamedNode("urn:example:note"), obj, model.graph_iri)
    graph = with_extra_quads(model, [note])
    if engine == "virtuoso" and isinstance(obj, Literal) and obj.direction:
        with pytest.raises(StoreError, match="nothing was written"):  # README, "Engines"
            any_store.write_models([graph], replace=[])
        return

    any_store.write_models([graph], replace=[])
    first = sorted(map(str, any_store.graph_quads(model.graph_iri)))
    any_store.write_models([graph], replace=[model.graph_iri])
    again = sorted(map(str, any_store.graph_quads(model.graph_iri)))

    assert str(note) in first
    assert again == first


# --- one writer, many readers ---------------------------------------------------------------


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    """Run `code` in a second Python process, as another ModelKG user would."""
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
        check=False,
    )


def test_a_second_writer_is_refused_while_one_is_open(store: EmbeddedStore) -> None:
    second = run_python(
        f"""
        import sys
        from kg.errors import StoreError
        from kg.store import open_store
        try:
            open_store({store.location!r})
        except StoreError as exc:
            print(type(exc).__name__, exc)
            sys.exit(3)
        print("opened")
        """
    )

    assert second.returncode == 3, second.stdout + second.stderr
    assert second.stdout.startswith("StoreError")
    assert "another" in second.stdout
    assert "process" in second.stdout


def test_a_reader_works_beside_a_writer(tmp_path: Path, store: EmbeddedStore) -> None:
    ingest([str(copy_model(GPT2, tmp_path))], store)

    reader = run_python(
        f"""
        from kg.store import open_store
        print(open_store({store.location!r}, read_only=True).count_models())
        """
    )
    assert reader.returncode == 0, reader.stderr
    assert reader.stdout.strip() == "1"

    in_process = open_store(store.location, read_only=True)
    assert in_process.count_models() == 1
    with pytest.raises(StoreError, match="read-only"):
        in_process.write_models([read_model(tmp_path / GPT2.replace("/", "__"))], replace=[])


def test_readers_open_beside_a_writer_that_just_flushed(template: Path, tmp_path: Path) -> None:
    """`modelkg query` run again and again while an ingest opens and flushes the store: every
    read-only open must work (or at least fail as a StoreError, never as a crash)."""
    failures: list[str] = []
    for writer_number in range(3):
        path = tmp_path / f"store-{writer_number}"
        shutil.copytree(template, path)
        writer = open_store(str(path))
        writer._store.flush()
        for reader_number in range(10):
            try:
                assert open_store(str(path), read_only=True).count_models() == 2
            except Exception as exc:
                failures.append(f"{writer_number}/{reader_number}: {type(exc).__name__}: {exc}")
        writer.close()

    assert failures == []


def test_ingest_from_the_cli_while_another_process_writes(store: EmbeddedStore) -> None:
    cli = run_python(
        f"""
        import sys
        from kg.cli.main import main
        sys.exit(main(["ingest", {str(corpus_folder(GPT2))!r}, "--store", {store.location!r}]))
        """
    )

    assert cli.returncode == 1, cli.stdout + cli.stderr
    assert cli.stderr.startswith("error:")
    assert "another ModelKG process" in cli.stderr
    assert "Traceback" not in cli.stderr


def test_a_long_run_of_writes_is_moved_out_of_memory_now_and_then(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """RocksDB keeps transactional writes in memory (its memtables, with the write-ahead log
    on disk) until a memtable fills; the store flushes them into table files every
    `FLUSH_AFTER_BYTES` of writes, so a long run (`modelkg reason --full`) holds a bounded
    amount in memory, and its log holds only what came since the last flush."""

    def log_bytes_after_a_long_run(flush_after: int, folder: Path) -> int:
        monkeypatch.setattr(embedded, "FLUSH_AFTER_BYTES", flush_after)
        with open_store(str(folder)) as store:
            for batch in range(20):
                quads = [
                    Quad(NamedNode(f"urn:m{batch}-{i}"), NamedNode("urn:p"), Literal(i), GRAPH)
                    for i in range(50)
                ]
                store.load(quads)
                store.replace_graphs({NamedNode(f"urn:d{batch}"): quads[:10]}, kind=INFERRED)
            assert graph_size(store, GRAPH) == 1_000
            return sum(log.stat().st_size for log in folder.glob("*.log"))

    flushed = log_bytes_after_a_long_run(10_000, tmp_path / "flushed")
    held = log_bytes_after_a_long_run(10**12, tmp_path / "held")

    assert 0 < flushed < held / 3


GRAPH = NamedNode("urn:g")
INFERRED = MKG.InferredGraph
