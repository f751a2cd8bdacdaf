"""Data for bench/search.py: synthetic model texts made from the corpus, queries, cached vectors.

Texts: the corpus's own 146 search texts, then its model records (read from an ingested store)
mixed into N - 146 new records, each
written by `kg.search.documents.describe`, the function that writes real search texts: a new name
(an organisation and name pieces of real models, numbered so every text is distinct), the tasks,
architecture and library of one model, the languages of another, the card description of a third
(its sentences shuffled, 1 to 4 kept), tags of a fourth, and half the time a parameter count
(log-uniform 4M to 70B: the corpus store was not sized, so real texts lack the size sentence that
sizing adds). Deterministic: the first 10,000 texts of a 100,000 run are the 10,000 run's texts.

Vectors: embedded once with the bundled all-MiniLM-L6-v2 through `EmbeddingService.encode_many`
(what `SearchService.sync` calls; each part's texts given sorted by length, which saves padding,
as encode_many's batches are not sorted across batches), in parts of `PART` rows saved to
`{work}/vectors/` with the seconds each took, so an interrupted run resumes and a reused run
still reports the throughput.
With a limit, only the first texts are embedded and the rest get mixtures of their vectors
(`cached_vectors`), when the machine cannot embed them all in the time at hand.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import re
import sys
import time
from pathlib import Path

import numpy as np

from kg.models.records import ModelRecord, TaskRef, load_records, load_tasks
from kg.search.documents import SearchDocument, describe, documents
from kg.search.embedder import BUNDLED_MODEL, EmbeddingService
from kg.store.embedded import EmbeddedStore

PART = 4096

# Twenty questions people ask a model registry, in plain words; QUERIES adds variants of each.
SEEDS = (
    "speech recognition for English",
    "small multilingual sentence embedding model",
    "image classification vision transformer",
    "text generation model that follows instructions",
    "translate English to German",
    "summarize long news articles",
    "named entity recognition for biomedical text",
    "sentiment analysis of product reviews",
    "zero-shot image classification with CLIP",
    "code generation model",
    "question answering over documents",
    "object detection in photos",
    "fill in the masked word, small BERT",
    "chat model with 7B parameters",
    "semantic search embeddings 384 dimensions",
    "rerank search results cross-encoder",
    "text to speech",
    "LoRA adapter for a llama model",
    "document understanding for invoices and receipts",
    "tiny model that runs on a CPU",
)
_FRAMES = (
    "{}",
    "a model for {}",
    "I need {}",
    "looking for {}",
    "best model for {}",
    "{}, open source",
    "{} in PyTorch",
    "lightweight {}",
    "{} for production",
    "{} that is fast",
    "pretrained {}",
    "{} fine-tuned",
)


def queries(count: int = 200) -> list[str]:
    """`count` distinct plain-word queries: each seed in turn, in the next frame."""
    found: list[str] = []
    for frame in _FRAMES:
        for seed in SEEDS:
            text = frame.format(seed)
            if text not in found:
                found.append(text)
            if len(found) == count:
                return found
    return found


def _pieces(name: str) -> list[str]:
    return [p for p in re.split(r"[-_.]", name.split("/")[-1]) if p and not p.isdigit()]


def corpus_documents(store: EmbeddedStore, count: int, seed: int = 7) -> list[SearchDocument]:
    """The store's own models' documents, then synthetic ones mixed from them, `count` in all."""
    real = sorted(documents(store), key=lambda d: d.iri)
    iris = [d.iri for d in real]
    records = load_records(store, iris)
    tasks = load_tasks(store, iris)
    models = [records[i] for i in iris if i in records]
    orgs = sorted({r.name.split("/")[0] for r in models if "/" in r.name})
    pieces = sorted({p for r in models for p in _pieces(r.name)})
    described = [r for r in models if r.one("description")]
    languages = [r for r in models if r.all("language")]
    tagged = [r for r in models if r.all("tag")]
    rng = random.Random(seed)
    found = real[:count]
    for index in range(count - len(found)):
        base = rng.choice(models)
        name = f"{rng.choice(orgs)}/{'-'.join(rng.sample(pieces, rng.randint(1, 3)))}-{index}"
        values: dict[str, list[object]] = {}
        for key in ("libraryName", "modelType", "embeddingDimension"):
            if base.all(key):
                values[key] = base.all(key)
        if rng.random() < 0.5:
            values["parameterCount"] = [int(math.exp(rng.uniform(math.log(4e6), math.log(7e10))))]
        if rng.random() < 0.4:
            values["language"] = rng.choice(languages).all("language")
        if rng.random() < 0.8:
            sentences = str(rng.choice(described).one("description")).split(". ")
            rng.shuffle(sentences)
            values["description"] = [". ".join(sentences[: rng.randint(1, 4)])]
        if rng.random() < 0.4:
            tags = rng.choice(tagged).all("tag")
            values["tag"] = rng.sample(tags, rng.randint(1, len(tags)))
        record = ModelRecord(f"https://huggingface.co/{name}", name, values)
        own: list[TaskRef] = tasks.get(base.iri, [])
        found.append(SearchDocument(record.iri, name, describe(record, own)))
    return found


def _digest(texts: list[str]) -> str:
    return hashlib.sha256("\n".join(texts).encode()).hexdigest()[:16]


def cached_vectors(
    work: Path, texts: list[str], embeddings: EmbeddingService, *, reuse: bool,
    limit: int | None = None,
) -> tuple[np.ndarray, int, float]:  # fmt: skip
    """Vectors of `texts`; the rows embedded by the model and the seconds that took.

    Only the first `limit` texts are embedded (all when None); each later row is a mixture of two
    embedded rows (weights 0.3 to 0.7, plus noise ~0.1 in norm, normalized): a stand-in used when
    embedding every text would take too long on the machine at hand, and said so in the report.
    """
    folder = work / "vectors"
    if not reuse:
        for old in folder.glob("part-*"):
            old.unlink()
    folder.mkdir(parents=True, exist_ok=True)
    embedded = texts[:limit]
    parts, seconds = [], 0.0
    for number, start in enumerate(range(0, len(embedded), PART)):
        chunk = embedded[start : start + PART]
        path = folder / f"part-{number:04d}.npy"
        info = path.with_suffix(".json")
        known = json.loads(info.read_text()) if info.is_file() else None
        if known is None or known["rows"] != len(chunk) or known["digest"] != _digest(chunk):
            began = time.perf_counter()
            vectors = embeddings.encode_many(chunk, BUNDLED_MODEL)  # sorts by length itself
            took = time.perf_counter() - began
            np.save(path, vectors)
            known = {"rows": len(chunk), "digest": _digest(chunk), "seconds": took}
            info.write_text(json.dumps(known))
            print(
                f"  embedded {start + len(chunk):,}/{len(embedded):,} texts "
                f"({len(chunk) / took:,.1f} texts/s)",
                file=sys.stderr,
                flush=True,
            )
        parts.append(np.load(path))
        seconds += known["seconds"]
    real = np.vstack(parts).astype(np.float32)
    return np.vstack([real, mixtures(real, len(texts) - len(real))]), len(real), seconds


def mixtures(real: np.ndarray, count: int, seed: int = 11) -> np.ndarray:
    """`count` unit vectors, each a noisy mixture of two rows of `real` (see cached_vectors)."""
    rng = np.random.default_rng(seed)
    first = rng.integers(0, len(real), count)
    second = rng.integers(0, len(real), count)
    weight = rng.uniform(0.3, 0.7, (count, 1)).astype(np.float32)
    mixed = weight * real[first] + (1 - weight) * real[second]
    mixed += rng.normal(0, 0.1 / np.sqrt(real.shape[1]), mixed.shape).astype(np.float32)
    mixed /= np.linalg.norm(mixed, axis=1, keepdims=True)
    found: np.ndarray = mixed.astype(np.float32)
    return found
