"""The embedded store: pyoxigraph on disk, one named graph per source, atomic writes.

Facts this relies on (pyoxigraph 0.5): `Store.extend` is one transaction; one `Store.update`
with `DROP SILENT GRAPH <g>; INSERT DATA { GRAPH <g> { ... } }` is one transaction (a failing
later operation rolls back the whole request); a second read-write `Store(path)` in another
process fails on the lock, while `Store.read_only(path)` works beside a writer.

>>> import tempfile
>>> store = EmbeddedStore.open(tempfile.mkdtemp() + "/kg")
>>> store.count_models()
0
>>> bool(store.query("ASK { ?s a <http://www.w3.org/2002/07/owl#Ontology> }"))
True
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING

from pyoxigraph import (
    DefaultGraph,
    Literal,
    NamedNode,
    Quad,
    QuerySolutions,
    RdfFormat,
    Store,
    Triple,
    Variable,
)

from kg.errors import QueryError, StoreError
from kg.store.base import (
    BinaryOutput,
    Graph,
    QueryResult,
    Term,
)
from kg.store.engine import VOCABULARY_GRAPHS, StoreEngine
from kg.store.holder import current_holder
from kg.store.sparql_text import (
    COUNT_MODELS,
    edit_graph_update,
    vocabulary_marker,
    vocabulary_quads,
    vocabulary_update,
    write_models_update,
)
from ontology.files import (
    ONTOLOGY_GRAPH,
)
from ontology.namespaces import MKG, PREFIXES

if TYPE_CHECKING:
    from kg.store.model_graph import ModelGraph

__all__ = ["QUERY_TALLY", "EmbeddedStore", "parse_query_error"]

QUERY_TALLY: ContextVar[list[int] | None] = ContextVar("modelkg_query_tally", default=None)
"""Set a one-item list here and every query run in this context (threads started from it
included) adds one: the server counts store queries per request with it (no N+1)."""


BULK_CHUNK_QUADS = 900_000
"""Below oxigraph's bulk-load chunk (1,000,000 quads): one chunk is one atomic ingestion."""

FLUSH_AFTER_BYTES = 16 * 1024 * 1024
"""Transactional writes between two flushes of RocksDB's memtables (`Store.flush`), counted
in bytes of update text (a quad `load`ed counts as `LOADED_QUAD_BYTES`). RocksDB flushes a
memtable only once it is full, and oxigraph's fill slowly, one per index (pyoxigraph sets no
RocksDB option for it): `modelkg reason --full` over 10,182 models peaked at 1,275 MB of RSS
and grew with the store (2.9 GB at 100,000); flushed so, 665 MB, and 52 s instead of 57."""

LOADED_QUAD_BYTES = 120
"""About what one quad weighs as N-Quads text, for `FLUSH_AFTER_BYTES`."""


def parse_query_error(exc: Exception, sparql: str) -> QueryError:
    """Turn pyoxigraph's `SyntaxError('error at 1:26: ...')` into a QueryError with position."""
    import re

    text = str(exc)
    match = re.search(r"error at (\d+):(\d+)", text)
    if match is None:
        return QueryError(f"invalid SPARQL: {text}")
    line = int(match.group(1))
    column = int(match.group(2))
    detail = text[match.end() :].lstrip(": ").replace("\n", " ")
    if len(detail) > 160:  # oxigraph lists every token it could take; the start says enough
        detail = detail[:150].rsplit(",", 1)[0] + ", ..."
    lines = sparql.splitlines()
    excerpt = ""
    if 1 <= line <= len(lines):
        excerpt = f"\n  {lines[line - 1]}\n  {' ' * max(column - 1, 0)}^"
    return QueryError(
        f"invalid SPARQL at line {line}, column {column}: {detail}{excerpt}",
        line=line,
        column=column,
    )


def _is_new(path: Path) -> bool:
    return not path.exists() or (path.is_dir() and not any(path.iterdir()))


def _create(path: Path) -> None:
    """Make a new store at `path` all at once: built beside it under a temporary name, its
    ontology and shapes loaded, then renamed into place. A process killed while creating a
    store leaves no half-made store at `path` (RocksDB without its column families, which
    read-only commands cannot open), only a temporary folder the next creation removes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    for abandoned in path.parent.glob(f".{path.name}.creating-*"):
        pid = abandoned.name.rpartition("-")[2]
        if not pid.isdigit() or not Path(f"/proc/{pid}").exists():
            shutil.rmtree(abandoned, ignore_errors=True)
    temporary = path.parent / f".{path.name}.creating-{os.getpid()}"
    shutil.rmtree(temporary, ignore_errors=True)
    made = EmbeddedStore(Store(str(temporary)), str(temporary), read_only=False)
    made._ensure_vocabulary()
    made.close()
    del made  # pyoxigraph closes RocksDB when the Store is dropped
    try:
        if path.exists():
            path.rmdir()  # the empty folder a caller made for the store
        temporary.rename(path)
    except OSError:  # another process created it first: use that one
        shutil.rmtree(temporary, ignore_errors=True)
        if _is_new(path):
            raise


def _tally() -> None:
    tally = QUERY_TALLY.get()
    if tally is not None:
        tally[0] += 1


def _open_read_only(path: str, attempts: int = 5) -> Store:
    """`Store.read_only`, retried: opened right as a writer flushes or compacts, RocksDB can
    list an SST file the writer has just deleted ("Corruption: ... No such file"); a moment
    later the listing is consistent again."""
    for attempt in range(attempts):
        try:
            return Store.read_only(path)
        except (OSError, RuntimeError):
            if attempt == attempts - 1:
                raise
            time.sleep(0.05 * (attempt + 1))
    raise AssertionError("unreachable")


class EmbeddedStore(StoreEngine):
    """A pyoxigraph store on disk (or in memory when `path` is None)."""

    compacts = True

    def __init__(self, store: Store, location: str, *, read_only: bool) -> None:
        super().__init__(location, read_only=read_only)
        self._store = store
        self._unflushed = 0
        """bytes of transactional writes since the memtables were last flushed"""

    @classmethod
    def open(cls, path: str | Path | None, *, read_only: bool = False) -> EmbeddedStore:
        """Open (creating if needed) the store at `path`; load or refresh the ontology graphs."""
        location = str(path) if path is not None else ":memory:"
        if read_only and path is not None and not Path(path).exists():
            raise StoreError(
                "no store here yet",
                path=location,
                hint="ingest something first: `modelkg ingest PATH`",
            )
        try:
            if path is None:
                store = Store()
            elif read_only:
                store = _open_read_only(str(path))
            else:
                if _is_new(Path(path)):
                    _create(Path(path))
                store = Store(str(path))
        except (OSError, RuntimeError) as exc:
            if "Column family not found" in str(exc):
                raise StoreError(
                    "this folder is not a whole store: its creation was cut off (a process "
                    "stopped while making it, before ModelKG created stores all at once)",
                    path=location,
                    hint="open it for writing once (`modelkg reason`), which completes it, or "
                    "remove the folder and ingest again",
                ) from exc
            holder = current_holder(location)
            if holder is not None:  # it shares the store, and a write of it holds it now
                raise StoreError(
                    f"`modelkg serve` (pid {holder['pid']}) serves this store at "
                    f"{holder['url']} and was writing it",
                    path=location,
                    hint="run the command again: beside a running server, commands share the "
                    "store with it (kg.store.shared)",
                ) from exc
            raise StoreError(
                f"cannot open the store: {exc}",
                path=location,
                hint="another ModelKG process may hold it for writing; stop it, or open read-only",
            ) from exc
        opened = cls(store, location, read_only=read_only)
        if not read_only:
            opened._ensure_vocabulary()
        return opened

    def _ensure_vocabulary(self) -> None:
        """Load the ontology and shapes graphs, replacing them when the files changed."""
        if vocabulary_marker() in self._store:
            return
        if not self._store.contains_named_graph(ONTOLOGY_GRAPH):
            self._store.extend(vocabulary_quads())  # one transaction: all or nothing
            return
        self._store.update(vocabulary_update())

    def query(
        self,
        sparql: str,
        *,
        substitutions: Mapping[Variable, Term] | None = None,
        base_iri: str | None = None,
    ) -> QueryResult:
        """A query over the union of all graphs, ModelKG's prefixes predeclared (`mkg:`, ...).

        Values come in as `substitutions` (bound terms), never pasted into the text.
        """
        _tally()
        try:
            return self._store.query(
                sparql,
                prefixes=PREFIXES,
                base_iri=base_iri,
                use_default_graph_as_union=True,
                substitutions=dict(substitutions) if substitutions else None,
            )
        except SyntaxError as exc:
            raise parse_query_error(exc, sparql) from exc
        except (OSError, RuntimeError) as exc:
            raise StoreError(f"query failed: {exc}", path=self.location) from exc

    def update(self, sparql: str, *, base_iri: str | None = None) -> None:
        """A SPARQL update (one transaction) under the writer lock; callers guard which
        graphs it may touch (`kg.sparql.guard`), holding `writer()` across check and write."""
        self._check_writable()
        try:
            with self._writing():
                self._store.update(sparql, prefixes=PREFIXES, base_iri=base_iri)
        except SyntaxError as exc:
            raise parse_query_error(exc, sparql) from exc
        except (OSError, RuntimeError) as exc:
            raise StoreError(
                f"update failed, nothing was written: {exc}", path=self.location
            ) from exc
        self._flush_now_and_then(len(sparql))

    def source_digests(self, graphs: Sequence[NamedNode]) -> dict[str, str]:
        found: dict[str, str] = {}
        for graph in graphs:
            for quad in self._store.quads_for_pattern(graph, MKG.sourceDigest, None, graph):
                if isinstance(quad.object, Literal):
                    found[graph.value] = quad.object.value
        return found

    def write_models(self, models: Sequence[ModelGraph], *, replace: Sequence[NamedNode]) -> None:
        """Write the models' graphs atomically: all of them, or (on an error) none.

        When nothing is replaced, the graphs go through oxigraph's bulk loader: it writes
        sorted SST files for every index and ingests them with one RocksDB
        `IngestExternalFiles` call per chunk of a million quads, which RocksDB applies
        atomically; a write stays below `BULK_CHUNK_QUADS`, so it is one chunk, at three times
        the speed of a transaction. Replacing graphs needs deletes, so a write that replaces
        anything is one SPARQL update (one transaction: DROP the old graphs, INSERT all data).
        """
        self._check_targets([name for m in models for name in m.graphs])
        if not models and not replace:
            return
        if replace:
            self._apply(write_models_update(models, replace))
            return
        if sum(m.count for m in models) > BULK_CHUNK_QUADS:
            raise StoreError(
                f"a write of over {BULK_CHUNK_QUADS:,} new quads would not be atomic",
                path=self.location,
                hint="write fewer models at a time",
            )
        with self._writing(), self._translated():
            self._store.bulk_load(b"".join(m.nquads for m in models), format=RdfFormat.N_QUADS)

    def load(self, quads: Sequence[Quad]) -> None:
        """Add quads to their graphs in one transaction (`Store.extend`)."""
        self._check_targets({q.graph_name for q in quads})
        with self._writing(), self._translated():
            self._store.extend(quads)
        self._flush_now_and_then(len(quads) * LOADED_QUAD_BYTES)

    def graph_quads(self, graph: Graph) -> list[Quad]:
        """Every quad of one graph (empty when there is no such graph)."""
        return list(self._store.quads_for_pattern(None, None, None, graph))

    def serialize_graph(self, graph: Graph, output: BinaryOutput, format: RdfFormat) -> None:
        """One graph written by oxigraph straight from the store (Turtle with our prefixes)."""
        self._store.dump(
            output,  # type: ignore[arg-type]
            format,
            from_graph=graph,
            prefixes=PREFIXES if format == RdfFormat.TURTLE else None,
        )

    def subject_quads(self, subject: NamedNode, graph: NamedNode) -> list[Quad]:
        """The quads of `graph` about `subject` (the SPOG index)."""
        return list(self._store.quads_for_pattern(subject, None, None, graph))

    def has_graph(self, graph: NamedNode | DefaultGraph) -> bool:
        """The graph exists (the default graph always does)."""
        return isinstance(graph, DefaultGraph) or self._store.contains_named_graph(graph)

    def put_graph(self, graph: NamedNode | DefaultGraph, triples: Sequence[Triple]) -> None:
        """Replace one graph's content with `triples`, in one transaction (GSP PUT); an
        empty PUT leaves an empty graph."""
        self._edit_graph(graph, triples, drop=True, create=True)

    def post_graph(self, graph: NamedNode | DefaultGraph, triples: Sequence[Triple]) -> None:
        """Add `triples` to one graph, in one transaction (GSP POST)."""
        self._edit_graph(graph, triples, drop=False, create=True)

    def drop_graph(self, graph: NamedNode | DefaultGraph) -> None:
        """Remove one graph (the default graph is emptied), in one transaction (GSP DELETE)."""
        self._edit_graph(graph, (), drop=True, create=False)

    def optimize(self) -> None:
        """RocksDB's full compaction (`Store.optimize`), under the writer lock (its cost and
        gain: `kg.ingest.register.OPTIMIZE_AFTER_QUADS`)."""
        self._check_writable()
        with self._writing(), self._translated():
            self._store.optimize()

    def _edit_graph(
        self,
        graph: NamedNode | DefaultGraph,
        triples: Sequence[Triple],
        *,
        drop: bool,
        create: bool,
    ) -> None:
        self._check_targets([graph])
        self._apply(edit_graph_update(graph, triples, drop=drop, create=create))

    @contextmanager
    def _translated(self) -> Iterator[None]:
        """pyoxigraph's write errors as one StoreError: the write was one transaction (or one
        atomic bulk ingestion), so nothing of it was written."""
        try:
            yield
        except (OSError, SyntaxError, RuntimeError) as exc:
            raise StoreError(
                f"write failed, nothing was written: {exc}", path=self.location
            ) from exc

    def _apply(self, update: str) -> None:
        """One SPARQL update ModelKG built from terms, as one transaction, under the lock."""
        with self._writing(), self._translated():
            self._store.update(update)
        self._flush_now_and_then(len(update))

    def _flush_now_and_then(self, written: int) -> None:
        """Flush the memtables once `FLUSH_AFTER_BYTES` were written since the last time: what
        a long run of transactions holds in memory stays bounded (the data is already safe in
        RocksDB's write-ahead log; a flush moves it into table files)."""
        with self._write_lock:
            self._unflushed += written
            if self._unflushed < FLUSH_AFTER_BYTES:
                return
            self._unflushed = 0
            try:
                self._store.flush()
            except (OSError, RuntimeError) as exc:
                raise StoreError(
                    f"the write was made, but moving it from memory into table files failed: {exc}",
                    path=self.location,
                    hint="free disk space (RocksDB's write-ahead log keeps the data meanwhile)",
                ) from exc

    def checkpoint(self, directory: Path) -> None:
        """A consistent read-only copy of the store in `directory` (RocksDB hard-links its
        files, so it costs milliseconds and little disk): what query workers read
        (`kg.store.shared`)."""
        if self.location == ":memory:":
            raise StoreError("an in-memory store has no files to checkpoint", path=self.location)
        try:
            self._store.backup(str(directory))
        except (OSError, RuntimeError) as exc:
            raise StoreError(f"cannot checkpoint the store: {exc}", path=str(directory)) from exc

    def quads(self, *, vocabulary: bool = True) -> Iterable[Quad]:
        """Every quad, streamed; without the ontology and shapes graphs unless `vocabulary`."""
        every = self._store.quads_for_pattern(None, None, None, None)
        if vocabulary:
            return every
        return (q for q in every if q.graph_name not in VOCABULARY_GRAPHS)

    def count_models(self) -> int:
        result = self._store.query(COUNT_MODELS)
        assert isinstance(result, QuerySolutions)
        for row in result:
            value = row["n"]
            assert value is not None
            return int(value.value)
        return 0

    def close(self) -> None:
        if not self.read_only:
            self._store.flush()
        del self._store
