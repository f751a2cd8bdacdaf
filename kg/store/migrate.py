"""Copy a store into another, whatever their engines: embedded to remote and back.

Every quad outside the vocabulary graphs is streamed from the source and written into the
target in batches, a batch never splitting a graph (blank nodes are scoped to one write on a
SPARQL server, so a graph's blank nodes must travel together); the target keeps its own
ontology and shapes, loaded when it was opened. At the end the quads of each side are counted
and must match. A target that already holds data is refused unless `replace` is set, which
first empties it.

>>> import tempfile
>>> from kg.store import open_store
>>> source, target = (open_store(tempfile.mkdtemp() + "/kg") for _ in range(2))
>>> source.update("INSERT DATA { GRAPH <urn:g> { <urn:a> <urn:b> <urn:c> } }")
>>> migrate(source, target).quads
1
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pyoxigraph import NamedNode, Quad

from kg.errors import StoreError, UsageError
from kg.store.base import ModelStore
from kg.store.engine import VOCABULARY_GRAPHS
from kg.store.journal import JOURNAL_PREFIX, journal

__all__ = ["Migration", "count_data_quads", "migrate"]

BATCH_QUADS = 20_000
"""Quads per write: small enough for a server's request limit, large enough to be quick."""

_NOT_VOCABULARY = " && ".join(f"?g != {g}" for g in VOCABULARY_GRAPHS) + (
    f' && !STRSTARTS(STR(?g), "{JOURNAL_PREFIX}")'  # a store's unfinished work stays its own
)


@dataclass(frozen=True)
class Migration:
    """What a migration copied."""

    quads: int
    graphs: int


def count_data_quads(store: ModelStore) -> int:
    """Quads in the named graphs outside the vocabulary's (where ModelKG keeps all its data;
    the default graph, which only a Graph Store PUT fills, is copied but not counted: SPARQL
    has no portable way to name it where the default graph is the union)."""
    query = f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH ?g {{ ?s ?p ?o }} FILTER({_NOT_VOCABULARY}) }}"
    for row in store.select(query):
        value = row["n"]
        return int(value.value) if value is not None else 0
    return 0


def _data_graphs(store: ModelStore) -> list[NamedNode]:
    rows = store.select(f"SELECT DISTINCT ?g WHERE {{ GRAPH ?g {{ }} FILTER({_NOT_VOCABULARY}) }}")
    return [g for row in rows if isinstance(g := row["g"], NamedNode)]


def migrate(
    source: ModelStore,
    target: ModelStore,
    *,
    replace: bool = False,
    on_total: Callable[[int], None] | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> Migration:
    """Copy `source` into `target` (see the module docstring); `StoreError` when the counts
    differ at the end, `UsageError` when the target holds data and `replace` is not set."""
    present = _data_graphs(target)
    if present and not replace:
        raise UsageError(
            f"{target.location} already holds {len(present):,} graph(s) of data",
            hint="migrate into an empty store, or pass --force to empty this one first",
        )
    expected = count_data_quads(source)
    if on_total is not None:
        on_total(expected)
    with target.writer(), journal(target, "migrate"):  # a copy cut off says so (doctor)
        if present:
            target.remove_graphs(present)
        batch: list[Quad] = []
        graphs: set[object] = set()
        for quad in source.quads(vocabulary=False):
            if isinstance(quad.graph_name, NamedNode) and quad.graph_name.value.startswith(
                JOURNAL_PREFIX
            ):
                continue
            if len(batch) >= BATCH_QUADS and quad.graph_name != batch[-1].graph_name:
                target.load(batch)
                if on_progress is not None:
                    on_progress(len(batch))
                batch = []
            batch.append(quad)
            graphs.add(quad.graph_name)
        if batch:
            target.load(batch)
            if on_progress is not None:
                on_progress(len(batch))
    copied = count_data_quads(target)
    if copied != expected:
        raise StoreError(
            f"the copy holds {copied:,} quads where the source has {expected:,}",
            path=target.location,
            hint="was the source written during the migration? run it again with --force",
        )
    return Migration(quads=copied, graphs=len(graphs))
