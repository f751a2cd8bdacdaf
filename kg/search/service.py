"""Plain-words search over the registry: keep the index in step with the store, then answer.

`SearchService.sync` builds every model's search text (`kg.search.documents`), keeps it in the
graph, embeds only texts whose digest changed (in encoder batches, with progress), removes the
vectors of models that left, and saves the index. A store stamp (a digest of every source digest)
tells, cheaply, whether anything was ingested since: the CLI syncs before a search when it moved,
the server after each ingest. Queries combine a text (or a vector) with the graph's filters
(`kg.models.filters`): the filter picks candidates with SPARQL, the index ranks them.

>>> check_threshold(1.5, "cosine")
Traceback (most recent call last):
...
kg.errors.InputError: field `threshold`: threshold 1.5 is outside -1 to 1 (cosine similarity) \
(0.3 keeps fair matches; 0.5 close ones)
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pyoxigraph import Literal, NamedNode

from kg.errors import InputError
from kg.executors import ChunkExecutor
from kg.models.filters import ModelFilter, compile_filter
from kg.search.documents import documents, write_documents
from kg.search.embedder import BUNDLED_MODEL, EmbeddingService, embed_on
from kg.search.index import IndexCorruptError, IndexParameters, VectorIndex
from kg.store.base import ModelStore

__all__ = [
    "MAX_QUERY_CHARS",
    "MAX_VECTOR_VALUE",
    "SearchHit",
    "SearchService",
    "SyncSummary",
    "check_threshold",
    "index_folder",
]

log = logging.getLogger("modelkg.search")

MAX_QUERY_CHARS = 1000
MAX_RESULTS = 100

MAX_VECTOR_VALUE = 1e15
"""The largest magnitude a query vector's value may have: its squares, summed in float32 over
thousands of dimensions, stay finite, so scores do too (embeddings' values are near 1)."""


def _checked_vector(vector: list[float]) -> np.ndarray:
    """A client's query vector as float32, refused when a value is not a finite number within
    `MAX_VECTOR_VALUE` (a 1e308 overflows to infinity and every score becomes NaN).

    >>> _checked_vector([0.5, -1.0]).dtype
    dtype('float32')
    >>> _checked_vector([1e308])
    Traceback (most recent call last):
    ...
    kg.errors.InputError: field `vector`: value 0 is 1e+308, beyond ±1e+15 (...)
    """
    values = np.asarray(vector, dtype=np.float64)
    if values.ndim != 1 or values.size == 0:
        raise InputError("the vector is empty", field="vector", hint="send a list of numbers")
    bad = np.flatnonzero(~np.isfinite(values) | (np.abs(values) > MAX_VECTOR_VALUE))
    if bad.size:
        at = int(bad[0])
        raise InputError(
            f"value {at} is {values[at]:g}, beyond ±{MAX_VECTOR_VALUE:g}",
            field="vector",
            expected=f"finite numbers within ±{MAX_VECTOR_VALUE:g}",
            hint="send the vector /api/v1/embeddings gives (values near 1)",
        )
    return values.astype(np.float32)


def index_folder(store_location: str) -> Path:
    """Where the vector index of the store at `store_location` lives: beside it, or for a
    remote store (a URL) in the user's cache folder, one per store URL.

    >>> index_folder("/srv/kg").as_posix()
    '/srv/kg.search'
    >>> index_folder("sparql+http://127.0.0.1:7878").name.endswith(".search")
    True
    """
    if "://" not in store_location:
        return Path(f"{store_location.rstrip('/')}.search")
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    key = hashlib.sha256(store_location.encode()).hexdigest()[:16]
    return cache / "modelkg" / f"remote-{key}.search"


def check_threshold(threshold: float | None, metric: str) -> None:
    """A threshold must be a similarity (-1 to 1) for cosine/ip, a distance (>= 0) for l2."""
    if threshold is None:
        return
    if metric == "l2":
        if threshold < 0:
            raise InputError(
                f"threshold {threshold} is negative; for l2 it is the largest distance kept",
                field="threshold",
            )
        return
    if not -1.0 <= threshold <= 1.0:
        raise InputError(
            f"threshold {threshold} is outside -1 to 1 ({metric} similarity)",
            field="threshold",
            hint="0.3 keeps fair matches; 0.5 close ones",
        )


@dataclass(frozen=True)
class SearchHit:
    """A model found, its score, and the text that was embedded for it (why it matched)."""

    iri: str
    name: str
    score: float
    text: str


@dataclass(frozen=True)
class SyncSummary:
    embedded: int
    removed: int
    unchanged: int
    rebuilt: bool


class SearchService:
    """One store, one embedding model, one index (see the module docstring)."""

    def __init__(
        self,
        store: ModelStore,
        embeddings: EmbeddingService,
        *,
        model: str = BUNDLED_MODEL,
        parameters: IndexParameters | None = None,
    ) -> None:
        self.store = store
        self.embeddings = embeddings
        self.model = model
        self.parameters = parameters or IndexParameters()
        self.folder = index_folder(store.location)
        self._index: VectorIndex | None = None
        self._saved: int | None = None
        """when the index files this process last loaded or saved were written"""
        self.warnings: list[str] = []

    # -- index life cycle ---------------------------------------------------------------------
    def _fresh(self) -> VectorIndex:
        return VectorIndex.create(
            self.folder,
            model=self.model,
            dimensions=self.embeddings.dimensions(self.model),
            parameters=self.parameters,
        )

    def index(self) -> VectorIndex:
        """The index, loaded once; a missing or corrupt one is started afresh (then synced)."""
        if self._index is None:
            try:
                loaded = VectorIndex.load(self.folder)
                if loaded.meta.model != self.model:
                    raise IndexCorruptError(
                        f"the index holds vectors of {loaded.meta.model}, not {self.model}"
                    )
                self._index = loaded
                self._saved = self._saved_at()
            except IndexCorruptError as exc:
                if self.folder.exists():
                    message = f"vector index unusable ({exc}); rebuilding it from the store"
                    log.warning(message)
                    self.warnings.append(message)
                self._index = self._fresh()
        return self._index

    def store_stamp(self) -> str:
        """A digest of every model's source digest: it moves when anything is (re)ingested."""
        rows = self.store.select("SELECT ?d WHERE { ?g a mkg:SourceRecord ; mkg:sourceDigest ?d }")
        digests = sorted(str(row["d"].value) for row in rows if isinstance(row["d"], Literal))
        return hashlib.sha256("\n".join(digests).encode()).hexdigest()

    def _saved_at(self) -> int | None:
        try:
            return (self.folder / "meta.json").stat().st_mtime_ns
        except OSError:
            return None

    def _forget_if_saved_elsewhere(self) -> None:
        if self._index is not None and self._saved != self._saved_at():
            self._index = None

    def stale(self) -> bool:
        """The index lags the store. Another process sharing the store (a server's worker,
        a command beside the server) may have synced and saved it since this one loaded it:
        then it is read again rather than embedded again. Called with the store's writer
        lock held, as saves are, so it never reads a save half-done."""
        self._forget_if_saved_elsewhere()
        index = self.index()
        return index.meta.stamp != self.store_stamp()

    def sync(self, *, on_total: Callable[[int], None] | None = None,
             on_progress: Callable[[int], None] | None = None,
             executor: ChunkExecutor | None = None) -> SyncSummary:  # fmt: skip
        """Bring the index (and the search texts in the graph) in step with the store; the
        texts are embedded here, or on `executor` (`kg.executors`: local processes, Ray)."""
        rebuilt = not (self.folder / "meta.json").exists() or bool(self.warnings)
        self._forget_if_saved_elsewhere()
        index = self.index()
        docs = documents(self.store)
        if not self.store.read_only:
            write_documents(self.store, docs)
        changed = [d for d in docs if index.digest_of(d.iri) != d.digest]
        if on_total is not None:
            on_total(len(changed))
        texts = [d.text for d in changed]
        if executor is None:
            vectors = self.embeddings.encode_many(texts, self.model, on_progress=on_progress)
        else:
            vectors = embed_on(executor, self.embeddings.model(self.model), texts, on_progress)
        index.upsert({d.iri: (d.digest, vectors[i]) for i, d in enumerate(changed)})
        present = {d.iri for d in docs}
        gone = [iri for iri in list(index.labels) if iri not in present]
        index.remove(gone)
        index.meta.stamp = self.store_stamp()
        index.save()
        self._saved = self._saved_at()
        return SyncSummary(len(changed), len(gone), len(docs) - len(changed), rebuilt)

    def rebuild(
        self, executor: ChunkExecutor | None = None, **callbacks: Callable[[int], None]
    ) -> SyncSummary:
        """Throw the index away and build it again from the store."""
        shutil.rmtree(self.folder, ignore_errors=True)
        self._index = None
        summary = self.sync(executor=executor, **callbacks)
        return SyncSummary(summary.embedded, summary.removed, summary.unchanged, True)

    # -- queries ------------------------------------------------------------------------------
    def query_vector(self, text: str | None, vector: list[float] | None) -> np.ndarray:
        """The vector to search with: a text embedded (cached) or a vector given."""
        if (text is None) == (vector is None):
            raise InputError("give either a text query or a vector", field="query")
        if vector is not None:
            return _checked_vector(vector)
        assert text is not None
        if not text.strip():
            raise InputError(
                "the query is empty",
                field="query",
                hint='describe the model you want: "small multilingual embeddings"',
            )
        if len(text) > MAX_QUERY_CHARS:
            raise InputError(
                f"the query has {len(text):,} characters; at most {MAX_QUERY_CHARS:,}",
                field="query",
                hint="describe what you want in a sentence or two",
            )
        vectors, _ = self.embeddings.encode([text], self.model)
        first: np.ndarray = vectors[0]
        return first

    def allowed(self, spec: ModelFilter | None) -> set[str] | None:
        """The IRIs a filter admits (None: no filter)."""
        if spec is None or spec == ModelFilter():
            return None
        pattern = compile_filter(spec)
        rows = self.store.select(
            f"SELECT DISTINCT ?m WHERE {{ ?m a mkg:Model ; schema:name ?name .\n{pattern} }}"
        )
        return {str(row["m"].value) for row in rows if isinstance(row["m"], NamedNode)}

    def search(
        self,
        text: str | None = None,
        *,
        vector: list[float] | None = None,
        spec: ModelFilter | None = None,
        limit: int = 10,
        threshold: float | None = None,
        exact: bool = False,
    ) -> list[SearchHit]:
        """The models closest to `text` (or `vector`) that pass `spec`, best first."""
        if not 1 <= limit <= MAX_RESULTS:
            raise InputError(f"limit {limit}: ask for 1 to {MAX_RESULTS}", field="limit")
        index = self.index()
        check_threshold(threshold, index.meta.parameters.metric)
        query = self.query_vector(text, vector)
        found = index.search(query, limit, allowed=self.allowed(spec), exact=exact)
        if threshold is not None:
            bound = -threshold if index.meta.parameters.metric == "l2" else threshold
            found = [(iri, score) for iri, score in found if score >= bound]
        return self._hits(found)

    def _hits(self, found: list[tuple[str, float]]) -> list[SearchHit]:
        if not found:
            return []
        values = " ".join(f"<{iri}>" for iri, _ in found)
        texts: dict[str, tuple[str, str]] = {}
        for row in self.store.select(
            f"SELECT ?m ?name ?text WHERE {{ VALUES ?m {{ {values} }} ?m schema:name ?name "
            "OPTIONAL { ?m mkg:searchText ?text } }"
        ):
            model, name, text = row["m"], row["name"], row["text"]
            if isinstance(model, NamedNode) and isinstance(name, Literal):
                texts[model.value] = (name.value, text.value if isinstance(text, Literal) else "")
        return [
            SearchHit(iri, texts[iri][0], round(score, 6), texts[iri][1])
            for iri, score in found
            if iri in texts
        ]
