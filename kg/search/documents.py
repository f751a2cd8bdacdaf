"""The text a model is found by: its name, tasks, card summary and key parameters, in words.

The text is built from the graph (so a re-ingested card changes it) and kept in the graph, in a
search graph beside the model's source graph (`{base}graph/search/{key}`, `mkg:searchText`), so
anyone can see why a model matched. Numbers are written the way people ask for them ("small",
"multilingual", "22M parameters", "384-dimensional embeddings").

>>> from kg.models.records import ModelRecord, TaskRef
>>> record = ModelRecord("https://huggingface.co/org/m", "org/m", {
...     "description": ["Maps sentences to vectors."], "language": ["en", "de", "fr", "es", "it",
...     "nl"], "libraryName": ["sentence-transformers"], "embeddingDimension": [384],
...     "parameterCount": [22_700_000]})
>>> print(describe(record, [TaskRef("t", "feature-extraction", "Feature Extraction", "nlp")]))
org/m. Feature Extraction (feature-extraction). Small model, 22.7M parameters. 384-dimensional \
embeddings. Multilingual: en, de, fr, es, it, nl. Library: sentence-transformers. Maps sentences \
to vectors.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

from pyoxigraph import Literal, NamedNode, Quad

from kg.iris import beside
from kg.models.records import ModelRecord, TaskRef, load_records, load_tasks
from kg.store.base import ModelStore
from ontology.namespaces import MKG

__all__ = ["MAX_TEXT", "SearchDocument", "describe", "documents", "write_documents"]

MAX_TEXT = 2000
"""Characters kept: the encoder reads about 256 word pieces; the rest would be cut anyway."""

DESCRIPTION_CHARS = 600
_CHUNK = 500


def _size_words(parameters: int) -> str:
    if parameters < 100_000_000:
        size = "Small model"
    elif parameters < 1_000_000_000:
        size = "Medium-size model"
    else:
        size = "Large model"
    for unit, scale in (("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if parameters >= scale:
            return f"{size}, {parameters / scale:.1f}{unit} parameters"
    return f"{size}, {parameters} parameters"


def describe(record: ModelRecord, tasks: Iterable[TaskRef]) -> str:
    """The search text of one model (see the module docstring)."""
    parts = [record.name]
    task_words = [f"{t.label} ({t.id})" for t in tasks]
    if task_words:
        parts.append(", ".join(task_words))
    parameters = record.one("parameterCount")
    if isinstance(parameters, int):
        parts.append(_size_words(parameters))
    dimension = record.one("embeddingDimension")
    if isinstance(dimension, int):
        parts.append(f"{dimension}-dimensional embeddings")
    languages = [str(v) for v in record.all("language")]
    if len(languages) > 3:
        parts.append("Multilingual: " + ", ".join(languages[:12]))
    elif languages:
        parts.append("Language: " + ", ".join(languages))
    for key, label in (("libraryName", "Library"), ("modelType", "Architecture family")):
        value = record.one(key)
        if value:
            parts.append(f"{label}: {value}")
    description = record.one("description")
    if description:  # after the facts: the encoder reads ~256 word pieces, the facts come first
        parts.append(" ".join(str(description).split())[:DESCRIPTION_CHARS])
    tags = [str(t) for t in record.all("tag") if not str(t).startswith(("license:", "region:"))]
    if tags:
        parts.append("Tags: " + ", ".join(tags[:15]))
    return (". ".join(p.rstrip(".") for p in parts) + ".")[:MAX_TEXT]


class SearchDocument:
    """A model's search text and its digest (what the vector index is keyed against)."""

    __slots__ = ("digest", "iri", "name", "text")

    def __init__(self, iri: str, name: str, text: str) -> None:
        self.iri = iri
        self.name = name
        self.text = text
        self.digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def documents(store: ModelStore, iris: Sequence[str] | None = None) -> list[SearchDocument]:
    """The search documents of `iris` (every model when None), read in chunks."""
    if iris is None:
        iris = [
            str(row["m"].value)
            for row in store.select("SELECT ?m WHERE { ?m a mkg:Model }")
            if isinstance(row["m"], NamedNode)
        ]
    found: list[SearchDocument] = []
    for start in range(0, len(iris), _CHUNK):
        chunk = iris[start : start + _CHUNK]
        records = load_records(store, chunk)
        tasks = load_tasks(store, chunk)
        for iri in chunk:
            record = records.get(iri)
            if record is not None:
                found.append(SearchDocument(iri, record.name, describe(record, tasks[iri])))
    return found


def write_documents(store: ModelStore, docs: Sequence[SearchDocument]) -> int:
    """Keep each document's text in its search graph; returns how many graphs changed."""
    current: dict[str, str] = {}
    for row in store.select(
        "SELECT ?g ?d WHERE { GRAPH ?g { ?g mkg:searchTextDigest ?d } "
        'FILTER(CONTAINS(STR(?g), "/graph/search/")) }'
    ):
        graph, digest = row["g"], row["d"]
        if isinstance(graph, NamedNode) and isinstance(digest, Literal):
            current[graph.value] = digest.value
    sources: dict[str, NamedNode] = {}
    for row in store.select("SELECT ?g ?m WHERE { ?g a mkg:SourceRecord ; mkg:describes ?m }"):
        graph, model = row["g"], row["m"]
        if isinstance(graph, NamedNode) and isinstance(model, NamedNode):
            sources[model.value] = graph
    writes: dict[NamedNode, list[Quad]] = {}
    for doc in docs:
        source = sources.get(doc.iri)
        if source is None:
            continue
        target = beside(source, "search")
        if current.get(target.value) == doc.digest:
            continue
        model = NamedNode(doc.iri)
        writes[target] = [
            Quad(model, MKG.searchText, Literal(doc.text), target),
            Quad(target, MKG.describes, model, target),
            Quad(target, MKG.searchTextDigest, Literal(doc.digest), target),
        ]
    changed = len(writes)
    batch: dict[NamedNode, list[Quad]] = {}
    for graph, quads in writes.items():
        batch[graph] = quads
        if len(batch) >= 1000:
            store.replace_graphs(batch, kind=MKG.SearchGraph)
            batch = {}
    store.replace_graphs(batch, kind=MKG.SearchGraph)
    return changed
