"""The checks `modelkg doctor` runs over an open store, one function each.

Each reads the store in bounded pieces (models in chunks, graphs one batch at a time), so a
check of 100,000 models holds a chunk, not the store; none writes. Each returns its findings
(`kg.ops.findings`), and adds what it counted to `checked`.

>>> import tempfile
>>> from kg.store import open_store
>>> store = open_store(tempfile.mkdtemp() + "/kg")
>>> store.update("INSERT DATA { GRAPH <https://w3id.org/modelkg/id/graph/inferred/gone> {"
...              " <https://w3id.org/modelkg/id/graph/inferred/gone> mkg:graphKind"
...              " mkg:InferredGraph } }")
>>> [f.what for f in orphans(store, Sources.of(store), {})]
['1 derived graph(s) whose model graph is gone']
"""

from __future__ import annotations

import shlex
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from pyoxigraph import Literal, NamedNode, Quad, Variable

from kg.ingest.reader import INGEST_FORMAT
from kg.iris import beside
from kg.ops.findings import ITEMS_SHOWN, Finding
from kg.reason.run import stale_models
from kg.search.index import IndexCorruptError, VectorIndex
from kg.search.service import index_folder
from kg.store.base import ModelStore
from kg.store.model_graph import ModelGraph, ModelSource
from kg.store.sparql_text import vocabulary_marker
from ontology.namespaces import MKG

__all__ = [
    "CHUNK",
    "DERIVED_KINDS",
    "Sources",
    "catalog",
    "fix_command",
    "index",
    "inferred",
    "ingest_format",
    "orphan_graphs",
    "orphans",
    "shacl",
    "sizes",
    "unfinished",
    "vocabulary",
]

CHUNK = 200
"""Models read and validated at a time."""
SIZE_TRIES = 200
"""Models without a size graph whose config doctor tries to count (each builds a model on the
meta device): enough to tell a store that needs `reason --sizes` from one whose remaining
models have configs nothing can count."""
SIZE_SECONDS = 20.0
"""...and at most this long: transformers' import and a meta-device build per config."""
DERIVED_KINDS = {"inferred": MKG.InferredGraph, "size": MKG.SizeGraph, "search": MKG.SearchGraph}
"""The graphs derived from a model's source graph, named beside it (`kg.iris.beside`)."""


def fix_command(command: str, where: str) -> str:
    """`command` run on the store at `where`, quoted as a shell needs it."""
    return f"{command} --store {shlex.quote(where)}"


def _named(items: Sequence[str]) -> tuple[str, ...]:
    return tuple(items[:ITEMS_SHOWN])


def _listing(items: Sequence[str]) -> str:
    shown = ", ".join(items[:3])
    return shown + (f" and {len(items) - 3:,} more" if len(items) > 3 else "")


@dataclass(frozen=True)
class Sources:
    """Every model's source graph, read once and shared by the checks."""

    graphs: dict[str, str]
    """source graph IRI -> model IRI"""

    @classmethod
    def of(cls, store: ModelStore) -> Sources:
        rows = store.select(
            "SELECT ?g ?m WHERE { GRAPH ?g { ?g a mkg:SourceRecord ; mkg:describes ?m } }"
        )
        graphs: dict[str, str] = {}
        for row in rows:
            graph, model = row["g"], row["m"]
            if isinstance(graph, NamedNode) and isinstance(model, NamedNode):
                graphs[graph.value] = model.value
        return cls(graphs)

    def chunks(self) -> Iterator[list[tuple[str, str]]]:
        items = sorted(self.graphs.items())
        for start in range(0, len(items), CHUNK):
            yield items[start : start + CHUNK]


def vocabulary(store: ModelStore, _: Sources, checked: dict[str, int]) -> list[Finding]:
    """The store's ontology and shapes graphs are this ModelKG's (opening it for writing
    loads them; a store last written by an older ModelKG still has the old ones)."""
    marker = vocabulary_marker()
    current = store.ask(
        "ASK { GRAPH ?g { ?s ?p ?o } }",
        substitutions={
            Variable("g"): _named_node(marker.graph_name),
            Variable("s"): _named_node(marker.subject),
            Variable("p"): marker.predicate,
            Variable("o"): marker.object,
        },
    )
    if current:
        return []
    return [
        Finding(
            "vocabulary",
            "warning",
            "the store's ontology and shapes graphs are not this ModelKG's (an older or newer "
            "ModelKG last wrote it)",
            store.location,
            fix_command("modelkg doctor --fix", store.location),
            fixable=True,
        )
    ]


def _named_node(term: object) -> NamedNode:
    assert isinstance(term, NamedNode)
    return term


def ingest_format(store: ModelStore, _: Sources, checked: dict[str, int]) -> list[Finding]:
    """Model graphs written with another graph layout than this ModelKG's ingest writes."""
    rows = store.select(
        "SELECT ?g ?f WHERE { GRAPH ?g { ?g a mkg:SourceRecord ; mkg:ingestFormat ?f } }"
    )
    old = sorted(
        graph.value
        for row in rows
        if isinstance(graph := row["g"], NamedNode)
        and isinstance(found := row["f"], Literal)
        and found.value != INGEST_FORMAT
    )
    if not old:
        return []
    return [
        Finding(
            "ingest-format",
            "warning",
            f"{len(old):,} model graph(s) were ingested with another ingest format than "
            f"{INGEST_FORMAT}: {_listing(old)}",
            store.location,
            fix_command("modelkg ingest SOURCE...", store.location)
            + "  (again, from their sources: a new format never counts as unchanged)",
            count=len(old),
            items=_named(old),
        )
    ]


def shacl(store: ModelStore, sources: Sources, checked: dict[str, int]) -> list[Finding]:
    """Every model graph against the SHACL shapes, `CHUNK` graphs at a time (the compiled
    engine ingest uses: one query per constraint per chunk)."""
    from kg.validate.compiled import CompiledShapes

    shapes = CompiledShapes.load()
    broken: list[str] = []
    validated = 0
    for chunk in sources.chunks():
        built = [store.graph_quads(NamedNode(graph)) for graph, _ in chunk]
        models = [
            _unit(graph, model, quads) for (graph, model), quads in zip(chunk, built, strict=True)
        ]
        for (_, model), results in zip(chunk, shapes.validate(models, built), strict=True):
            violations = [r for r in results if r.severity == "Violation"]
            if violations:
                broken.append(f"{model}: {violations[0].describe()}")
        validated += len(chunk)
    checked["graphs validated"] = validated
    if not broken:
        return []
    return [
        Finding(
            "shacl",
            "error",
            f"{len(broken):,} model graph(s) violate the SHACL shapes: {_listing(broken)}",
            store.location,
            fix_command("modelkg ingest SOURCE...", store.location)
            + "  (after fixing the files each finding names; `modelkg validate SOURCE` "
            "shows every violation)",
            count=len(broken),
            items=_named(broken),
        )
    ]


def _unit(graph: str, model: str, quads: Sequence[Quad]) -> ModelGraph:
    """A stored model graph as the validator takes it (its quads are passed as built)."""
    source = ModelSource("model-folder", Path(graph), {})
    return ModelGraph(source, NamedNode(model), NamedNode(graph), "", b"", len(quads), ())


def inferred(store: ModelStore, _: Sources, checked: dict[str, int]) -> list[Finding]:
    """Inferred graphs missing, or derived from sources that changed since."""
    stale = stale_models(store)
    findings = []
    for missing, check, what in (
        (True, "inferred-missing", "have no inferred graph"),
        (False, "inferred-stale", "have an inferred graph derived from older sources"),
    ):
        models = sorted(s.model for s in stale if s.missing is missing)
        if models:
            findings.append(
                Finding(
                    check,  # type: ignore[arg-type]
                    "warning",
                    f"{len(models):,} model(s) {what}: {_listing(models)}",
                    store.location,
                    fix_command("modelkg reason", store.location),
                    count=len(models),
                    fixable=True,
                    items=_named(models),
                )
            )
    return findings


def sizes(store: ModelStore, _: Sources, checked: dict[str, int]) -> list[Finding]:
    """Models whose parameter count could be computed from their config and is not (no size
    graph, or one counted from another config)."""
    from kg.compat.sizing import config_digest, size_graph_of

    current: dict[str, str] = {}
    for row in store.select(
        "SELECT ?g ?d WHERE { GRAPH ?g { ?g mkg:graphKind mkg:SizeGraph ; "
        "mkg:derivedFromDigest ?d } }"
    ):
        graph, digest = row["g"], row["d"]
        if isinstance(graph, NamedNode) and isinstance(digest, Literal):
            current[graph.value] = digest.value
    lacking: list[tuple[str, str]] = []
    for row in store.select(
        "SELECT ?g ?m ?json WHERE { GRAPH ?g { ?g a mkg:SourceRecord ; mkg:describes ?m ; "
        "mkg:configJSON ?json FILTER NOT EXISTS { ?m mkg:parameterCount ?n } } }"
    ):
        graph, model, text = row["g"], row["m"], row["json"]
        if not (isinstance(graph, NamedNode) and isinstance(text, Literal)):
            continue
        if current.get(size_graph_of(graph).value) != config_digest(text.value):
            lacking.append((model.value if model is not None else graph.value, text.value))
    countable: list[str] = []
    deadline = time.monotonic() + SIZE_SECONDS
    tried = 0
    for model, text in lacking[:SIZE_TRIES]:
        if time.monotonic() > deadline:
            break
        tried += 1
        if _countable(text):
            countable.append(model)
    countable.sort()
    if not countable:
        return []
    more = f" (at least: {tried:,} of {len(lacking):,} were tried)" if tried < len(lacking) else ""
    return [
        Finding(
            "size-missing",
            "warning",
            f"{len(countable):,} model(s){more} have no computed size though their config can "
            f"be counted: {_listing(countable)}",
            store.location,
            fix_command("modelkg reason --sizes", store.location),
            count=len(countable),
            fixable=True,
            items=_named(countable),
        )
    ]


def _countable(config_json: str) -> bool:
    from kg.compat.size import count_parameters_json
    from kg.errors import InputError

    try:
        count_parameters_json(config_json)
    except (InputError, ValueError, TypeError):
        return False
    return True


def index(store: ModelStore, _: Sources, checked: dict[str, int]) -> list[Finding]:
    """The vector index against the store, by the digests `SearchService.sync` compares
    (each model's search text, built from the graph): nothing is embedded."""
    from kg.search.documents import documents

    folder = index_folder(store.location)
    if not (folder / "meta.json").exists() and not folder.exists():
        return []  # never built: the first search builds it
    fix = fix_command("modelkg doctor --fix", store.location)
    try:
        vectors = VectorIndex.load(folder)
    except IndexCorruptError as exc:
        return [
            Finding(
                "index-unreadable",
                "warning",
                f"the vector index is unusable: {exc.message}",
                str(folder),
                fix,
                fixable=True,
            )
        ]
    models = [
        row["m"].value
        for row in store.select("SELECT ?m WHERE { ?m a mkg:Model }")
        if isinstance(row["m"], NamedNode)
    ]
    missing: list[str] = []
    changed: list[str] = []
    for start in range(0, len(models), CHUNK):
        for doc in documents(store, models[start : start + CHUNK]):
            digest = vectors.digest_of(doc.iri)
            if digest is None:
                missing.append(doc.iri)
            elif digest != doc.digest:
                changed.append(doc.iri)
    present = set(models)
    extra = sorted(iri for iri in vectors.labels if iri not in present)
    checked["index entries"] = len(vectors)
    count = len(missing) + len(changed) + len(extra)
    if not count:
        return []
    parts = [
        f"{len(items):,} {label}"
        for items, label in ((missing, "missing"), (changed, "changed"), (extra, "extra"))
        if items
    ]
    every = sorted([*missing, *changed, *extra])
    return [
        Finding(
            "index-out-of-step",
            "warning",
            f"the vector index is out of step with the store ({', '.join(parts)}): "
            f"{_listing(every)}",
            str(folder),
            fix,
            count=count,
            fixable=True,
            items=_named(every),
        )
    ]


def catalog(store: ModelStore, _: Sources, checked: dict[str, int]) -> list[Finding]:
    """`ontology/catalog.ttl` was generated from the installed transformers."""
    from ontology.catalog_version import (
        REGENERATE_COMMAND,
        installed_transformers_version,
        recorded_transformers_version,
        stale_catalog_message,
    )
    from ontology.files import CATALOG_FILE, ONTOLOGY_GRAPH, read_turtle

    recorded = recorded_transformers_version(read_turtle(CATALOG_FILE, ONTOLOGY_GRAPH))
    message = stale_catalog_message(CATALOG_FILE, recorded, installed_transformers_version())
    if message is None:
        return []
    return [
        Finding(
            "catalog",
            "warning",
            message.split(": model types")[0],
            str(CATALOG_FILE),
            REGENERATE_COMMAND,
        )
    ]


def count_cache(store: ModelStore, _: Sources, checked: dict[str, int]) -> list[Finding]:
    """The parameter-count cache (`kg.compat.count_cache`) can be used: without it every
    process builds each config again (slower ingests, never other counts)."""
    from kg.compat.count_cache import CACHE_DIR_VARIABLE
    from kg.compat.count_cache import count_cache as kept_counts

    counts = kept_counts()
    entries, problem = counts.inspect()
    if problem is None:
        checked["kept parameter counts"] = entries
        return []
    folder = shlex.quote(str(counts.directory))
    return [
        Finding(
            "count-cache",
            "warning",
            f"parameter counts are not cached: {problem}; every ingest builds each config again",
            str(counts.directory),
            f"rm -rf {folder} (it is only a cache), or set {CACHE_DIR_VARIABLE} to a "
            "writable folder",
        )
    ]


def orphan_graphs(store: ModelStore, sources: Sources) -> list[NamedNode]:
    """Derived graphs (inferred, size, search) whose model's source graph is gone."""
    expected = {
        beside(NamedNode(graph), name).value for graph in sources.graphs for name in DERIVED_KINDS
    }
    values = " ".join(f"<{kind.value}>" for kind in DERIVED_KINDS.values())
    rows = store.select(
        f"SELECT DISTINCT ?g WHERE {{ VALUES ?kind {{ {values} }} GRAPH ?g {{ ?g mkg:graphKind "
        "?kind } }"
    )
    return sorted(
        (g for row in rows if isinstance(g := row["g"], NamedNode) and g.value not in expected),
        key=lambda g: g.value,
    )


def orphans(store: ModelStore, sources: Sources, checked: dict[str, int]) -> list[Finding]:
    """Derived graphs left behind by a model graph that was removed."""
    found = [g.value for g in orphan_graphs(store, sources)]
    if not found:
        return []
    return [
        Finding(
            "orphans",
            "warning",
            f"{len(found):,} derived graph(s) whose model graph is gone",
            store.location,
            fix_command("modelkg doctor --fix", store.location),
            count=len(found),
            fixable=True,
            items=_named(found),
        )
    ]


def unfinished(store: ModelStore, _: Sources, checked: dict[str, int]) -> list[Finding]:
    """Operations a crash cut off (`kg.store.journal`): their processes are gone, so what
    they left half done waits for a repair. One still running is no finding."""
    try:
        from kg.store.journal import unfinished as journal_entries
    except ImportError:  # a ModelKG without the journal
        return []
    findings = []
    for entry in journal_entries(store):
        if entry.alive:
            checked["operations running"] = checked.get("operations running", 0) + 1
            continue
        findings.append(
            Finding(
                "unfinished",
                "error",
                f"a `{entry.operation}` started {entry.started} by {entry.host} "
                f"(process {entry.process}) was cut off before it ended",
                entry.graph.value,
                fix_command("modelkg doctor --fix", store.location),
                fixable=True,
            )
        )
    return findings
