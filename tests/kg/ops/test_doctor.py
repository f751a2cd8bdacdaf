"""`modelkg doctor`: a healthy store is clean; each kind of damage, made on purpose on a real
store, is named with its fix, `--fix` repairs it, and the store is clean again."""

from __future__ import annotations

import shlex
import shutil
import socket
import subprocess
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from pyoxigraph import NamedNode

from kg.compat.count_cache import CACHE_DIR_VARIABLE
from kg.compat.sizing import size_models
from kg.ingest.pipeline import ingest
from kg.ops.doctor import diagnose, repair
from kg.reason.run import reason, stale_models
from kg.search.embedder import EmbeddingService, available_models
from kg.search.index import VectorIndex
from kg.search.service import SearchService, index_folder
from kg.store import open_store
from kg.store.journal import JOURNAL_PREFIX
from tests.conftest import SparqlServer, corpus_folder
from tests.resolvers.conftest import serve

MODELS = ("openai-community/gpt2", "sentence-transformers/all-MiniLM-L6-v2", "openai/whisper-base")
GPT2 = "https://huggingface.co/openai-community/gpt2"
DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A healthy store: three corpus models, reasoned, sized and indexed."""
    path = tmp_path_factory.mktemp("pristine") / "store"
    with open_store(str(path)) as store:
        ingest([str(corpus_folder(m)) for m in MODELS], store)
        reason(store)
        size_models(store)
        SearchService(store, EmbeddingService(available_models(store))).sync()
    return path


@pytest.fixture
def healthy(pristine: Path, tmp_path: Path) -> Path:
    """A copy of the healthy store (and its index) for one test to damage."""
    path = tmp_path / "store"
    shutil.copytree(pristine, path)
    shutil.copytree(index_folder(str(pristine)), index_folder(str(path)))
    return path


def _update(path: Path, sparql: str) -> None:
    with open_store(str(path)) as store:
        store.update(sparql)


def drop_inferred(path: Path) -> None:
    _update(
        path, "DROP GRAPH <https://w3id.org/modelkg/id/graph/inferred/hf/openai-community/gpt2>"
    )


def stale_inferred(path: Path) -> None:
    _update(
        path,
        "DELETE { GRAPH ?g { ?g mkg:derivedFromDigest ?d } } "
        'INSERT { GRAPH ?g { ?g mkg:derivedFromDigest "0000" } } WHERE { '
        "BIND(<https://w3id.org/modelkg/id/graph/inferred/hf/openai-community/gpt2> AS ?g) "
        "GRAPH ?g { ?g mkg:derivedFromDigest ?d } }",
    )


def write_orphan(path: Path) -> None:
    _update(
        path,
        "INSERT DATA { GRAPH <https://w3id.org/modelkg/id/graph/inferred/hf/gone/model> { "
        "<https://w3id.org/modelkg/id/graph/inferred/hf/gone/model> mkg:graphKind "
        "mkg:InferredGraph } }",
    )


def delete_index_entry(path: Path) -> None:
    index = VectorIndex.load(index_folder(str(path)))
    index.remove([GPT2])
    index.save()


def change_index_entry(path: Path) -> None:
    index = VectorIndex.load(index_folder(str(path)))
    index.upsert({GPT2: ("another digest", np.ones(index.meta.dimensions, np.float32))})
    index.save()


def truncate_index(path: Path) -> None:
    vectors = index_folder(str(path)) / "vectors.npy"
    vectors.write_bytes(vectors.read_bytes()[:100])


def drop_size(path: Path) -> None:
    with open_store(str(path)) as store:
        sized = store.select("SELECT ?g WHERE { GRAPH ?g { ?g mkg:graphKind mkg:SizeGraph } }")
        graphs = [row["g"] for row in sized]
        assert graphs, "the fixture should hold a computed size"
        store.update(f"DROP GRAPH <{graphs[0].value}>")


def cut_off(path: Path) -> None:
    """What a kill during the store's creation leaves (three files RocksDB wrote first)."""
    shutil.rmtree(path)
    shutil.rmtree(index_folder(str(path)))
    shutil.copytree(DATA / "cut_off_store", path)


def crash_journal(path: Path) -> None:
    """A journal entry of an ingest whose process is gone."""
    entry = f"{JOURNAL_PREFIX}killed"
    _update(
        path,
        f"INSERT DATA {{ GRAPH <{entry}> {{ <{entry}> a mkg:UnfinishedWork ; "
        "mkg:graphKind mkg:JournalGraph ; mkg:operation mkg:IngestOperation ; "
        'prov:startedAtTime "2026-01-01T00:00:00Z"^^xsd:dateTime ; '
        f'mkg:ownerHost "{socket.gethostname()}" ; mkg:ownerProcess "1@1" }} }}',
    )


DAMAGE: dict[str, tuple[Callable[[Path], None], set[str]]] = {
    # the search text names the inferred tasks and the size: without them, it changes, and
    # the index is out of step too
    "an inferred graph dropped": (drop_inferred, {"inferred-missing", "index-out-of-step"}),
    "an inferred graph derived from older sources": (stale_inferred, {"inferred-stale"}),
    "an orphaned inferred graph": (write_orphan, {"orphans"}),
    "an index entry deleted": (delete_index_entry, {"index-out-of-step"}),
    "an index entry changed": (change_index_entry, {"index-out-of-step"}),
    "an index file truncated": (truncate_index, {"index-unreadable"}),
    "a size graph dropped": (drop_size, {"size-missing", "index-out-of-step"}),
    "a store whose creation was cut off": (cut_off, {"store-cut-off"}),
}


def test_a_healthy_store_has_no_findings(healthy: Path) -> None:
    report = diagnose(str(healthy))
    assert report.healthy, report.findings
    assert report.checked["models"] == 3
    assert report.checked["graphs validated"] == 3
    assert report.checked["index entries"] == 3
    assert report.checked["kept parameter counts"] >= 1  # the sizes above, counted once


@pytest.mark.parametrize("damage", DAMAGE, ids=list(DAMAGE))
def test_doctor_names_the_damage_and_fix_repairs_it(healthy: Path, damage: str) -> None:
    make, checks = DAMAGE[damage]
    make(healthy)
    report = diagnose(str(healthy))
    assert {f.check for f in report.findings} == checks
    for finding in report.findings:
        assert finding.fixable
        assert "--store" in finding.fix
    repair(str(healthy), report)
    assert diagnose(str(healthy)).healthy


def test_a_cut_off_store_is_named_as_such_not_as_held_by_another_process(healthy: Path) -> None:
    cut_off(healthy)
    finding = diagnose(str(healthy)).findings[0]
    assert "creation was cut off" in finding.what
    assert "another process" not in finding.what
    assert finding.fix == f"modelkg doctor --fix --store {healthy}"


def test_a_model_graph_that_breaks_the_shapes_is_an_error_fix_cannot_hide(healthy: Path) -> None:
    _update(
        healthy,
        "INSERT { GRAPH ?g { ?m schema:name 'a second name' } } WHERE { "
        f"GRAPH ?g {{ ?g a mkg:SourceRecord ; mkg:describes <{GPT2}> }} BIND(<{GPT2}> AS ?m) }}",
    )
    report = diagnose(str(healthy))
    (finding,) = [f for f in report.findings if f.check == "shacl"]
    assert finding.severity == "error"
    assert not finding.fixable
    assert GPT2 in finding.what and "exactly one name" in finding.what
    repair(str(healthy), report)
    assert [f.check for f in diagnose(str(healthy)).findings if f.check == "shacl"] == ["shacl"]


def test_an_operation_cut_off_by_a_crash_is_repaired(healthy: Path) -> None:
    crash_journal(healthy)
    drop_inferred(healthy)  # what the kill left half done
    report = diagnose(str(healthy))
    assert {f.check for f in report.findings} == {
        "unfinished",
        "inferred-missing",
        "index-out-of-step",
    }
    (entry,) = [f for f in report.findings if f.check == "unfinished"]
    assert "`ingest`" in entry.what and "cut off" in entry.what
    repair(str(healthy), report)
    assert diagnose(str(healthy)).healthy


def _a_file_where_the_folder_goes(folder: Path) -> None:
    folder.write_text("not a folder")


def _a_database_that_is_not_one(folder: Path) -> None:
    folder.mkdir()
    (folder / "cache.db").write_bytes(b"\x00not sqlite\xff" * 400)


@pytest.mark.parametrize("damage", [_a_file_where_the_folder_goes, _a_database_that_is_not_one])
def test_an_unusable_count_cache_is_a_warning_that_says_how_to_clear_it(
    damage: Callable[[Path], None], healthy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    monkeypatch.setenv(CACHE_DIR_VARIABLE, str(cache))
    folder = cache / "parameter-counts"
    damage(folder)
    (finding,) = diagnose(str(healthy)).findings
    assert (finding.check, finding.severity, finding.fixable) == ("count-cache", "warning", False)
    assert finding.where == str(folder) and f"cannot use {folder}" in finding.what
    assert finding.fix.startswith(
        f"rm -rf {folder} (it is only a cache), or set {CACHE_DIR_VARIABLE}"
    )
    subprocess.run(shlex.split(finding.fix.split(" (")[0]), check=True)  # the fix, as given
    assert diagnose(str(healthy)).healthy


def test_a_missing_store_says_how_to_make_one(tmp_path: Path) -> None:
    (finding,) = diagnose(str(tmp_path / "nothing")).findings
    assert finding.check == "store-missing"
    assert finding.fix.startswith("modelkg ingest PATH --store ")


def test_stale_models_names_what_reason_would_derive(healthy: Path) -> None:
    drop_inferred(healthy)
    with open_store(str(healthy)) as store:
        (stale,) = stale_models(store)
        assert (stale.model, stale.missing) == (GPT2, True)
        assert reason(store).derived == 1
        assert stale_models(store) == []
        assert NamedNode(stale.graph) in {
            row["g"] for row in store.select("SELECT DISTINCT ?g WHERE { GRAPH ?g {} }")
        }


def test_doctor_checks_and_fixes_a_remote_store(oxigraph_server: SparqlServer) -> None:
    oxigraph_server.clear()
    with open_store(oxigraph_server.location) as remote:
        ingest([str(corpus_folder("openai-community/gpt2"))], remote)
        reason(remote)
        size_models(remote)
    assert diagnose(oxigraph_server.location).healthy
    with open_store(oxigraph_server.location) as remote:
        remote.update(
            "DROP GRAPH <https://w3id.org/modelkg/id/graph/inferred/hf/openai-community/gpt2>"
        )
    report = diagnose(oxigraph_server.location)
    assert [f.check for f in report.findings] == ["inferred-missing"]
    assert report.findings[0].fix == f"modelkg reason --store {oxigraph_server.location}"
    repair(oxigraph_server.location, report)
    assert diagnose(oxigraph_server.location).healthy


def test_doctor_checks_and_fixes_a_store_beside_its_running_server(healthy: Path) -> None:
    for _ in serve(str(healthy), token=None):
        drop_inferred(healthy)  # through the server's lock: a command beside the server
        report = diagnose(str(healthy))
        assert {f.check for f in report.findings} == {"inferred-missing", "index-out-of-step"}
        repair(str(healthy), report)
        assert diagnose(str(healthy)).healthy
