"""A page's lineage section: `kg.lifecycle.lineage` drawn as a picture whose nodes link to their
pages, with the same nodes and edges as a table when no picture can be drawn.

The picture is the point (who was trained from what, at a glance); the table is the fallback
that keeps the page whole when Graphviz is missing or the graph is too large to draw, and it
says so in a note. Versions are the one node whose page needs more than its IRI (the IRI holds
the registered model's key, the page its name), so their names are read in one query.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import unquote

from markupsafe import Markup
from pyoxigraph import Literal, NamedNode

from kg.errors import LifecycleError
from kg.lifecycle import LineageGraph, lineage
from kg.lifecycle.graph import LifecycleIds
from kg.models.records import find_models
from kg.store.base import ModelStore
from kg.store.sparql_text import sparql_term
from resolvers.pictures import PictureEdge, PictureNode, PictureUnavailable, lineage_svg
from resolvers.web.links import hub_page, node_href

__all__ = ["LineageRow", "LineageView", "lineage_view"]


@dataclass(frozen=True)
class LineageRow:
    """One edge as the table shows it: what came from what, by which relation."""

    source: str
    source_href: str | None
    relation: str
    target: str
    target_href: str | None


@dataclass(frozen=True)
class LineageView:
    """What the lineage section shows: the SVG to inline (None when not drawn), the table rows,
    and a note saying why there is no picture, or that the walk was cut short."""

    svg: Markup | None
    rows: list[LineageRow] = field(default_factory=list)
    note: str | None = None


def _version_names(store: ModelStore, graph: LineageGraph) -> dict[str, tuple[str, str]]:
    """(registered model name, version number) of each version in the graph, in one query."""
    iris = [node.iri for node in graph.nodes if node.kind == "version"]
    if not iris:
        return {}
    values = " ".join(sparql_term(NamedNode(iri)) for iri in iris)
    found: dict[str, tuple[str, str]] = {}
    for row in store.select(
        f"SELECT ?v ?name ?n WHERE {{ VALUES ?v {{ {values} }} "
        "?v mkg:versionOf ?owner ; mkg:versionNumber ?n . ?owner mkg:name ?name }"
    ):
        version, name, number = row["v"], row["name"], row["n"]
        if isinstance(version, NamedNode) and isinstance(name, Literal) and number is not None:
            found[version.value] = (name.value, str(number.value))
    return found


def _label(iri: str, label: str, base: str) -> str:
    """A node's label, made readable when the store has none (the walk then labels it with
    its whole IRI): a lifecycle part is named by its kind and key, `artifact model/w.bin`.

    >>> _label("https://x/id/run/ab/artifact/model%2Fw.bin", "https://x/id/run/ab/artifact/"
    ...        "model%2Fw.bin", "https://x/id/")
    'artifact model/w.bin'
    >>> _label("https://x/id/registered-model/k/version/1/decision/2", "https://x/id/"
    ...        "registered-model/k/version/1/decision/2", "https://x/id/")
    'decision 2'
    >>> _label("urn:a", "A", "https://x/id/")
    'A'
    """
    if label != iri or not iri.startswith(base):
        return label
    parts = iri.removeprefix(base).split("/")
    if len(parts) >= 2:
        return f"{parts[-2]} {unquote(parts[-1])}"
    return label


def lineage_view(store: ModelStore, iri: str, *, direction: str, depth: int) -> LineageView:
    """The lineage of `iri` as a picture (with the table behind it), its own node in bold."""
    try:
        graph = lineage(store, iri, direction=direction, depth=depth)
    except LifecycleError as exc:
        return LineageView(None, note=f"No lineage: {exc.message}.")
    if len(graph.nodes) <= 1:
        return LineageView(None, note="Nothing is recorded as coming from it or leading to it.")
    ids = LifecycleIds.from_environment()
    versions = _version_names(store, graph)
    ingested = set(find_models(store, [n.iri for n in graph.nodes if n.kind == "model"]).values())
    hrefs = {
        # a base model named by a card but not ingested has no page here: link its Hub page
        n.iri: node_href(n.iri, n.kind, versions, ids)
        if n.kind != "model" or n.iri in ingested
        else hub_page(n.iri)
        for n in graph.nodes
    }
    labels = {n.iri: _label(n.iri, n.label, ids.base) for n in graph.nodes}
    rows = [
        LineageRow(labels[e.source], hrefs[e.source], e.name, labels[e.target], hrefs[e.target])
        for e in graph.edges
    ]
    note = "The walk stopped early: the lineage is larger than drawn." if graph.truncated else None
    try:
        svg = lineage_svg(
            [PictureNode(n.iri, labels[n.iri], n.kind, hrefs[n.iri]) for n in graph.nodes],
            [PictureEdge(e.source, e.target, e.name) for e in graph.edges],
            focus=iri,
        )
    except PictureUnavailable as exc:
        return LineageView(None, rows, f"No picture ({exc.message}); the lineage as a table.")
    return LineageView(Markup(svg), rows, note)
