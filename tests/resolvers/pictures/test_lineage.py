"""A run page draws its lineage: dataset -> run -> artifact -> version <- model -> deployment.

Each test draws with Debian's `dot` (`bash scripts/graphviz.sh`), parses the SVG as XML and
reads it as a browser would: the text shown, the links, the arrows, the styles.
"""

from __future__ import annotations

import shutil
import subprocess
import xml.etree.ElementTree as ET

import pytest

from resolvers.pictures import (
    PictureEdge,
    PictureNode,
    PictureTooLarge,
    PictureUnavailable,
    lineage_svg,
)
from resolvers.pictures.lineage import DOT_TIMEOUT_S, KIND_STYLES, MAX_NODES

SVG = "{http://www.w3.org/2000/svg}"
XLINK_HREF = "{http://www.w3.org/1999/xlink}href"

NODES = (
    PictureNode("https://example.org/exp/sentiment", "sentiment experiments", "experiment"),
    PictureNode("https://example.org/data/imdb", "imdb", "dataset", href="/datasets/imdb"),
    PictureNode("https://example.org/run/7f3a", "run 7f3a", "run", href="/runs/7f3a"),
    PictureNode("https://example.org/artifact/1", "model.safetensors", "artifact"),
    PictureNode("https://example.org/model/distil", "distilbert-sentiment", "model"),
    PictureNode("https://example.org/model/distil/v3", "v3", "version", href="/models/distil/3"),
    PictureNode("https://example.org/deploy/eu", "prod-eu", "deployment"),
)
EDGES = (
    PictureEdge(NODES[0].id, NODES[2].id, "contains"),
    PictureEdge(NODES[1].id, NODES[2].id, "trained on"),
    PictureEdge(NODES[2].id, NODES[3].id, "produced"),
    PictureEdge(NODES[3].id, NODES[5].id, "packaged as"),
    PictureEdge(NODES[4].id, NODES[5].id, "has version"),
    PictureEdge(NODES[5].id, NODES[6].id, "deployed to"),
)


def node_groups(root: ET.Element) -> list[ET.Element]:
    """The node groups in the order the nodes were given (`dot` writes them in its own order;
    each group's <title> is the node's DOT name, n0, n1, ...)."""
    groups = [g for g in root.iter(f"{SVG}g") if g.get("class") == "node"]
    return sorted(groups, key=lambda g: int(g.findtext(f"{SVG}title", "n-1")[1:]))


def shown_text(element: ET.Element) -> str:
    return " ".join("".join(t.itertext()) for t in element.iter(f"{SVG}text"))


def test_the_lineage_is_an_svg_element_with_every_label_link_and_arrow() -> None:
    svg = lineage_svg(NODES, EDGES, focus=NODES[5].id)

    assert svg.startswith("<svg")  # no XML prolog or doctype: it inlines into HTML
    root = ET.fromstring(svg)
    groups = node_groups(root)
    assert [shown_text(g) for g in groups] == [node.label for node in NODES]
    links = [a.get(XLINK_HREF, "") for a in root.iter(f"{SVG}a") if a.get(XLINK_HREF)]
    assert sorted(links) == sorted(node.href for node in NODES if node.href)
    assert all(a.get("target") == "_top" for a in root.iter(f"{SVG}a") if a.get(XLINK_HREF))
    edges = [g for g in root.iter(f"{SVG}g") if g.get("class") == "edge"]
    assert [shown_text(g) for g in edges] == [edge.label for edge in EDGES]


def test_node_ids_never_reach_the_picture() -> None:
    svg = lineage_svg(NODES, EDGES)

    assert "example.org" not in svg
    titles = [g.find(f"{SVG}title") for g in node_groups(ET.fromstring(svg))]
    assert [t.text for t in titles if t is not None] == [f"n{i}" for i in range(len(NODES))]


def test_the_focus_node_has_the_thick_border() -> None:
    root = ET.fromstring(lineage_svg(NODES, EDGES, focus=NODES[2].id))

    widths = [
        {shape.get("stroke-width") for shape in g.iter() if shape.get("stroke") == "black"}
        for g in node_groups(root)
    ]
    assert widths[2] == {"3"}
    assert all(w == {None} for i, w in enumerate(widths) if i != 2)


@pytest.mark.parametrize("kind", [*KIND_STYLES, "checkpoint"])
def test_each_kind_has_its_fill_and_an_unknown_kind_is_drawn_plainly(kind: str) -> None:
    svg = lineage_svg([PictureNode("x", "thing", kind)], [])

    fill = KIND_STYLES.get(kind, {}).get("fillcolor", "#ffffff")
    [group] = node_groups(ET.fromstring(svg))
    assert fill in {shape.get("fill") for shape in group.iter()}


def test_a_long_label_is_shortened_and_kept_whole_in_the_tooltip() -> None:
    label = "imdb, the train split: 25,000 movie reviews labelled positive or negative"
    root = ET.fromstring(lineage_svg([PictureNode("d", label, "dataset")], []))

    [group] = node_groups(root)
    assert shown_text(group) == label[:39] + "…"
    tooltips = {a.get("{http://www.w3.org/1999/xlink}title") for a in group.iter(f"{SVG}a")}
    assert tooltips == {f"dataset: {label}"}


HOSTILE = [
    'say "hi"',
    "<script>alert(1)</script>",
    "</text></g><script>alert(1)</script>",
    "<b>bold?</b>",
    "a & b &amp; &lt;c&gt; &#60;",
    "back\\slash \\N \\G \\n \\",
    "} -> evil; x [label=pwned] {",
    "line one\nline two\ttabbed",
    "]]><!-- -->",
]


@pytest.mark.parametrize("label", HOSTILE)
def test_a_hostile_label_is_shown_as_text_and_injects_nothing(label: str) -> None:
    nodes = [
        PictureNode(label, label, "model", href="/models/x"),
        PictureNode("plain", "plain", "run"),
    ]
    svg = lineage_svg(nodes, [PictureEdge(label, "plain", label)], focus=label)

    root = ET.fromstring(svg)
    shown = " ".join(label.split())  # on one line: newlines and tabs become spaces
    groups = node_groups(root)
    assert [shown_text(g) for g in groups] == [shown, "plain"]
    [edge] = [g for g in root.iter(f"{SVG}g") if g.get("class") == "edge"]
    assert shown_text(edge) == (shown if len(shown) <= 24 else shown[:23].rstrip() + "…")
    allowed = {"svg", "g", "title", "a", "polygon", "polyline", "path", "ellipse", "text"}
    assert {e.tag.removeprefix(SVG) for e in root.iter()} <= allowed
    assert len(groups) == 2  # no node made up by DOT syntax in a label
    assert "<script" not in svg


def test_a_link_is_escaped_and_only_http_or_relative_links_are_drawn() -> None:
    href = 'https://example.org/models?q=a b&sort="new"<x>'
    root = ET.fromstring(lineage_svg([PictureNode("m", "m", "model", href=href)], []))

    [link] = [a.get(XLINK_HREF) for a in root.iter(f"{SVG}a") if a.get(XLINK_HREF)]
    assert link == "https://example.org/models?q=a%20b&sort=%22new%22%3Cx%3E"
    with pytest.raises(ValueError, match="javascript:alert"):
        lineage_svg([PictureNode("m", "m", "model", href="javascript:alert(1)")], [])


def test_more_nodes_than_a_picture_holds_are_refused_before_dot_runs() -> None:
    nodes = [PictureNode(f"n{i}", f"node {i}", "run") for i in range(MAX_NODES + 1)]

    with pytest.raises(PictureTooLarge, match=r"too many nodes to draw: 501 > 500") as refused:
        lineage_svg(nodes, [])
    assert isinstance(refused.value, ValueError)
    assert isinstance(refused.value, PictureUnavailable)
    assert refused.value.hint == "narrow the selection to at most 500 nodes"


def test_the_most_nodes_allowed_still_draw() -> None:
    nodes = [PictureNode(f"n{i}", f"node {i}", "run") for i in range(MAX_NODES)]
    edges = [PictureEdge(f"n{i}", f"n{i + 1}", "next") for i in range(MAX_NODES - 1)]

    assert len(node_groups(ET.fromstring(lineage_svg(nodes, edges)))) == MAX_NODES


@pytest.mark.parametrize(
    ("nodes", "edges", "focus", "message"),
    [
        ([PictureNode("a", "a", "run")], [PictureEdge("a", "b", "x")], None, "no node 'b'"),
        ([PictureNode("a", "a", "run")], [], "b", "focus 'b' is not the id of any node"),
        ([PictureNode("a", "a", "run")] * 2, [], None, "node id 'a' appears twice"),
    ],
)
def test_a_picture_that_does_not_add_up_is_refused(
    nodes: list[PictureNode], edges: list[PictureEdge], focus: str | None, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        lineage_svg(nodes, edges, focus=focus)


def test_without_dot_the_error_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)

    with pytest.raises(PictureUnavailable, match=r"bash scripts/graphviz\.sh"):
        lineage_svg(NODES, EDGES)


def test_a_dot_that_hangs_is_stopped(monkeypatch: pytest.MonkeyPatch) -> None:
    def hangs(*args: object, **kwargs: object) -> None:
        raise subprocess.TimeoutExpired(cmd="dot", timeout=DOT_TIMEOUT_S)

    monkeypatch.setattr(subprocess, "run", hangs)

    with pytest.raises(PictureUnavailable, match="took longer than 10 s"):
        lineage_svg(NODES, EDGES)
