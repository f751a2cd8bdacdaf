"""The server's search: one embedding service and one search service per app, made on first use.

Loading the encoder takes seconds and the first sync of the vector index embeds every model, so
neither happens at start-up unless the operator asks (`--preload-embeddings`): the first search
or embedding request pays, off the event loop, and later ones reuse both (`Services.search`).
REST (`resolvers.rest.search`) and GraphQL (`resolvers.graphql.search`) ask through the same
`SearchState`, so the two give the same hits with the same scores and the same errors, each
naming the argument the client wrote (`first`, `filter.task`, ...).

The index follows the store. Each server-side ingest (`resolvers.ingest`) calls `after_ingest`
with its write lock held; that syncs the index before the ingest is answered, so a model just
ingested is found by the next search. Any other write (a SPARQL UPDATE) moves the store's
generation; the next search then compares the store stamp and syncs when the sources changed.

Two locks, always taken in this order: the ingest write lock (a sync writes search texts into
the graph, and the store takes one writer at a time), then the state's index lock (a sync and a
search must not interleave on the index's arrays).

>>> import tempfile
>>> from kg.store import open_store
>>> state = SearchState(open_store(tempfile.mkdtemp() + "/kg"))
>>> state.embed([], "sentence-transformers/all-MiniLM-L6-v2")
Traceback (most recent call last):
...
kg.errors.InputError: field `text`: no text to embed (send "text": "..." or a list of texts)
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

import numpy as np

from kg.errors import InputError
from kg.models.filters import ModelFilter
from kg.search.embedder import EmbeddingModel, EmbeddingService, available_models
from kg.search.service import SearchHit, SearchService
from kg.store.base import ModelStore

__all__ = ["Embedded", "SearchAnswer", "SearchState", "preload"]

log = logging.getLogger("modelkg.search")

API_FIELDS = {
    "limit": "first",
    "tasks": "filter.task",
    "modalities": "filter.modality",
}
"""A `kg` error's field -> the argument a REST or GraphQL client wrote."""


@dataclass(frozen=True)
class SearchAnswer:
    """Hits, best first, with the embedding model and metric that scored them."""

    hits: list[SearchHit]
    model: str
    metric: str


@dataclass(frozen=True)
class Embedded:
    """Vectors for texts (one row each) and, per text, whether the cache answered."""

    vectors: np.ndarray
    cached: list[bool]
    model: str

    @property
    def dimensions(self) -> int:
        return int(self.vectors.shape[1])


def _in_api_terms(exc: InputError) -> InputError:
    """The same error, its field named as the client wrote it; no traceback carried along
    (it could hold store results of a worker thread)."""
    field = API_FIELDS.get(exc.field or "", exc.field)
    return InputError(exc.message, field=field, expected=exc.expected, hint=exc.hint)


class SearchState:
    """The app's embedding service and search service over one store (module docstring)."""

    def __init__(self, store: ModelStore) -> None:
        self.store = store
        self._make_lock = threading.Lock()
        self._index_lock = threading.Lock()
        self._embeddings: EmbeddingService | None = None
        self._service: SearchService | None = None
        self._checked = -1
        """the store generation the index was last brought in step with"""

    # -- the services, made once ------------------------------------------------------------
    def embeddings(self) -> EmbeddingService:
        """The embedding service (the models on offer read from the store once)."""
        with self._make_lock:
            if self._embeddings is None:
                self._embeddings = EmbeddingService(available_models(self.store))
            return self._embeddings

    def service(self) -> SearchService:
        """The search service, its index in step with the store (synced here when stale)."""
        embeddings = self.embeddings()
        with self._make_lock:
            if self._service is None:
                self._service = SearchService(self.store, embeddings)
            service = self._service
        if self.store.generation != self._checked:
            with self.store.writer():
                self.sync_held()
        return service

    def sync_held(self) -> None:
        """Sync the index if the store moved since the last check (write lock held)."""
        service = self._service
        if service is None:  # nothing searched yet: the first search syncs
            return
        with self._index_lock:
            if self.store.generation == self._checked:
                return
            if service.stale():
                summary = service.sync()
                log.info(
                    "search index synced: %d embedded, %d removed, %d unchanged",
                    summary.embedded, summary.removed, summary.unchanged,
                )  # fmt: skip
            self._checked = self.store.generation

    def after_ingest(self) -> None:
        """Bring the index in step after a server-side ingest wrote the store.

        Called by `resolvers.ingest` with its write lock held. The ingest is done whatever
        happens here: a sync that fails is logged, and the next search tries again (and
        reports the error)."""
        if self._service is None:  # no search yet in this process: the first one syncs
            return
        self.refresh_models()
        try:
            self.sync_held()
        except Exception:  # the write stands; a search will retry the sync and say what failed
            log.exception("the search index could not follow the ingest; the next search retries")

    def refresh_models(self) -> None:
        """Read the embedding models on offer again (an ingest may have added one)."""
        with self._make_lock:
            if self._embeddings is not None:
                self._embeddings.models = available_models(self.store)

    # -- answers ----------------------------------------------------------------------------
    def search(
        self,
        text: str | None,
        *,
        vector: list[float] | None = None,
        spec: ModelFilter | None = None,
        limit: int = 10,
        threshold: float | None = None,
        exact: bool = False,
    ) -> SearchAnswer:
        """The models closest to `text` (or `vector`) that `spec` admits, best first."""
        service = self.service()
        error: InputError | None = None
        hits: list[SearchHit] = []
        try:  # embedding the query needs no index lock (the encoder cache has its own)
            query = service.query_vector(text, vector).tolist()
        except InputError as exc:
            error = _in_api_terms(exc)
        with self._index_lock:
            if error is None:
                try:
                    hits = service.search(
                        vector=query, spec=spec, limit=limit, threshold=threshold, exact=exact
                    )
                except InputError as exc:
                    error = _in_api_terms(exc)
            metric = service.index().meta.parameters.metric
        if error is not None:
            raise error
        return SearchAnswer(hits, service.model, metric)

    def embed(self, texts: list[str], model: str, *, normalize: bool = True) -> Embedded:
        """Vectors for `texts` with the embedding model called `model` (cached per text)."""
        if not texts:
            raise InputError(
                "no text to embed", field="text", hint='send "text": "..." or a list of texts'
            )
        vectors, cached = self.embeddings().encode(texts, model, normalize=normalize)
        return Embedded(vectors, cached, model)

    def models(self) -> list[tuple[EmbeddingModel, bool]]:
        """Each embedding model on offer, and whether it is loaded in this process."""
        embeddings = self.embeddings()
        return [(spec, embeddings.loaded(name)) for name, spec in sorted(embeddings.models.items())]


def preload(state: SearchState) -> None:
    """Load the encoder and sync the index now (`--preload-embeddings`), not at first use."""
    service = state.service()
    state.embeddings().encoder(service.model)
