"""The unit a store writes: one model's graph, with the source it was read from (and the graphs
derived from it, when the ingest derived them before the write).

It lives with the store, below ingest and validation, so the store engines, the validators and
the ingest pipeline all import it without a cycle.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pyoxigraph import NamedNode, Quad, RdfFormat, parse

__all__ = ["ModelGraph", "ModelSource", "SourceKind"]

SourceKind = Literal["config-file", "model-folder", "hf-cache"]


@dataclass(frozen=True)
class ModelSource:
    """Where one model's metadata files are, and what the model is called."""

    kind: SourceKind
    location: Path
    files: dict[str, Path]
    """file name relative to the model folder -> path on disk (symlinks are not resolved)"""
    hub_id: str | None = None
    revision: str | None = None
    hub_id_origin: str | None = None

    @property
    def display(self) -> str:
        """How summaries name this source: its hub id, else its path."""
        return self.hub_id or str(self.location)


@dataclass(frozen=True)
class ModelGraph:
    """One model's graph, ready to validate and write.

    The statements travel as N-Quads bytes: workers serialize them in Rust, the parent hands
    them to pyoxigraph's loaders without building Python objects, and only a rejected model's
    quads are ever parsed back (to say which file and field a finding is about).
    """

    source: ModelSource
    model_iri: NamedNode
    graph_iri: NamedNode
    digest: str
    nquads: bytes
    count: int
    warnings: tuple[str, ...]
    derived_graphs: tuple[NamedNode, ...] = ()
    """graphs derived from this one (its inferred facts, its size) that travel with it: their
    quads are in `nquads` too, and a write that replaces the model replaces them as well"""

    @property
    def graphs(self) -> tuple[NamedNode, ...]:
        """Every graph this write owns: the model's own and those derived from it."""
        return (self.graph_iri, *self.derived_graphs)

    @property
    def quads(self) -> list[Quad]:
        """The statements as pyoxigraph quads, parsed back from the N-Quads."""
        return list(parse(self.nquads, format=RdfFormat.N_QUADS))
