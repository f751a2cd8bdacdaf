"""Lineage pictures: who was trained from what, drawn left to right as an inline SVG.

The web pages show a model's lineage (model -> version -> run -> dataset, artifact,
deployment) as a picture rather than a table. The `graphviz` package writes the DOT source,
quoting every label; Debian's `dot` lays it out (`bash scripts/graphviz.sh` installs it). The
SVG `dot` writes uses presentation attributes only (`fill="..."`, no `style="..."`), so it obeys
the pages' Content-Security-Policy when inlined, and its links are real `<a>` elements.

Everything in the picture is user text or an IRI, so none of it reaches DOT as syntax: node ids
become `n0`, `n1`, ...; labels are cleaned, shortened and escaped (backslashes, quotes, `<...>`,
and `&`, which `dot` would otherwise read as an entity); links must be http(s) or relative.
The work is bounded: at most `MAX_NODES` nodes and `MAX_EDGES` edges, and `dot` is killed after
`DOT_TIMEOUT_S` seconds.

Errors::

    RuntimeError
     └── PictureUnavailable       no picture: `dot` missing, failed or too slow
          └── PictureTooLarge     (also a ValueError) more nodes or edges than drawn
"""

from __future__ import annotations

import re
import shutil
import subprocess
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal
from urllib.parse import quote, urlsplit

import graphviz

__all__ = [
    "DOT_TIMEOUT_S",
    "KIND_STYLES",
    "MAX_EDGES",
    "MAX_NODES",
    "PictureEdge",
    "PictureKind",
    "PictureNode",
    "PictureTooLarge",
    "PictureUnavailable",
    "lineage_svg",
]

PictureKind = Literal["model", "version", "run", "dataset", "artifact", "deployment", "experiment"]
"""The kinds of node drawn with their own shape and colour; any other kind is drawn plainly."""

KIND_STYLES: Final[dict[str, dict[str, str]]] = {
    "model": {"shape": "box3d", "fillcolor": "#dbeafe"},
    "version": {"shape": "box", "style": "rounded,filled", "fillcolor": "#e0e7ff"},
    "run": {"shape": "ellipse", "fillcolor": "#fef3c7"},
    "dataset": {"shape": "cylinder", "fillcolor": "#dcfce7"},
    "artifact": {"shape": "note", "fillcolor": "#f3f4f6"},
    "deployment": {"shape": "house", "fillcolor": "#fee2e2"},
    "experiment": {"shape": "folder", "fillcolor": "#ede9fe"},
}
"""DOT node attributes per `PictureKind`: a reader tells a dataset from a run at a glance."""

_PLAIN_STYLE: Final = {"shape": "box", "fillcolor": "#ffffff"}

MAX_NODES: Final = 500
"""More nodes than this is no longer a picture anyone reads; `dot` also slows down sharply."""

MAX_EDGES: Final = 2000

DOT_TIMEOUT_S: Final = 10.0
"""`dot` gets this long; graphviz 0.21's `pipe` has no timeout, so `dot` is run here."""

_LABEL_CHARS: Final = 40
_EDGE_LABEL_CHARS: Final = 24
_TOOLTIP_CHARS: Final = 200
_FOCUS_PENWIDTH: Final = "3"
_INSTALL_HINT: Final = "install Debian's graphviz: `bash scripts/graphviz.sh`"
_WHITESPACE = re.compile(r"\s+")
_URL_SAFE: Final = "/:?#[]@!$&'()*+,;=%-._~"


class PictureUnavailable(RuntimeError):  # noqa: N818 - a state the page shows, not a bug
    """No picture could be drawn; the page shows its table instead. `hint` says what to do."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(f"{message}; {hint}" if hint else message)
        self.message = message
        self.hint = hint


class PictureTooLarge(PictureUnavailable, ValueError):  # noqa: N818 - named as the page says it
    """More `what` (nodes, edges, series) than a picture draws: `count` > `limit`."""

    def __init__(self, what: str, count: int, limit: int) -> None:
        super().__init__(
            f"too many {what} to draw: {count} > {limit}",
            hint=f"narrow the selection to at most {limit} {what}",
        )
        self.what = what
        self.count = count
        self.limit = limit


@dataclass(frozen=True)
class PictureNode:
    """One node of a lineage picture. `id` is any string (an IRI); `kind` picks the shape
    (see `KIND_STYLES`); `href`, an http(s) or relative URL, makes the node a link."""

    id: str
    label: str
    kind: str
    href: str | None = None


@dataclass(frozen=True)
class PictureEdge:
    """An arrow from node `source` to node `target` (their ids), captioned `label`."""

    source: str
    target: str
    label: str


def lineage_svg(
    nodes: Sequence[PictureNode],
    edges: Sequence[PictureEdge],
    *,
    focus: str | None = None,
) -> str:
    """The lineage `nodes` and `edges` as an SVG element to inline in an HTML page.

    Laid out left to right, so a model's ancestors read before its descendants. The `focus`
    node (the page's own subject) has a thicker border. Labels go on one line and end in "…"
    past 40 characters; the tooltip shows the kind and up to 200 characters of the label (a
    backslash as U+29F5, since `dot` 2.43 expands escapes in tooltips twice).

    >>> svg = lineage_svg(
    ...     [
    ...         PictureNode("urn:ds:squad", "SQuAD v2", "dataset"),
    ...         PictureNode("urn:m:bert-qa", "bert-qa", "model", href="/models/bert-qa"),
    ...     ],
    ...     [PictureEdge("urn:ds:squad", "urn:m:bert-qa", "trained on")],
    ...     focus="urn:m:bert-qa",
    ... )
    >>> svg.startswith("<svg"), "SQuAD v2" in svg, 'xlink:href="/models/bert-qa"' in svg
    (True, True, True)

    Raises `PictureTooLarge` over `MAX_NODES` nodes or `MAX_EDGES` edges, `ValueError` for an
    edge or focus naming no node, a repeated node id or a link that is not http(s) or
    relative, and `PictureUnavailable` when `dot` is missing, fails or times out.
    """
    if len(nodes) > MAX_NODES:
        raise PictureTooLarge("nodes", len(nodes), MAX_NODES)
    if len(edges) > MAX_EDGES:
        raise PictureTooLarge("edges", len(edges), MAX_EDGES)
    names: dict[str, str] = {}
    for node in nodes:
        if node.id in names:
            raise ValueError(f"node id {node.id!r} appears twice; ids name one node each")
        names[node.id] = f"n{len(names)}"
    if focus is not None and focus not in names:
        raise ValueError(f"focus {focus!r} is not the id of any node")

    graph = graphviz.Digraph("lineage")
    graph.attr(rankdir="LR", bgcolor="transparent", fontname="Helvetica,Arial,sans-serif")
    graph.attr("node", style="filled", fontname="Helvetica,Arial,sans-serif", fontsize="11")
    graph.attr("edge", fontname="Helvetica,Arial,sans-serif", fontsize="9", color="#555555")
    for node in nodes:
        attrs = dict(KIND_STYLES.get(node.kind, _PLAIN_STYLE))
        tooltip = f"{node.kind}: {node.label}".replace("\\", "\u29f5")  # `dot` expands it twice
        attrs["tooltip"] = _dot_text(tooltip, _TOOLTIP_CHARS)
        if node.href is not None:
            attrs["URL"] = _dot_url(node.href)
            attrs["target"] = "_top"
        if node.id == focus:
            attrs["penwidth"] = _FOCUS_PENWIDTH
        graph.node(names[node.id], label=_dot_text(node.label, _LABEL_CHARS), **attrs)
    for edge in edges:
        for end in (edge.source, edge.target):
            if end not in names:
                raise ValueError(f"edge {edge.source!r} -> {edge.target!r}: no node {end!r}")
        label = _dot_text(edge.label, _EDGE_LABEL_CHARS)
        graph.edge(names[edge.source], names[edge.target], label=label)
    return _strip_prolog(_run_dot(graph.source))


def _clean(text: str) -> str:
    """`text` on one line: whitespace runs become one space, control characters go (XML 1.0
    admits none of them, and a newline would end a DOT label's line)."""
    text = _WHITESPACE.sub(" ", text).strip()
    return "".join(ch for ch in text if unicodedata.category(ch) not in {"Cc", "Cs"})


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _dot_text(text: str, limit: int) -> str:
    """`text` as a DOT escString shown literally: `&` as `&amp;` (`dot` reads entities in plain
    labels), backslashes doubled and `<...>` not HTML (`graphviz.escape`); `graphviz` then
    quotes it and escapes the double quotes."""
    shown = _shorten(_clean(text), limit).replace("&", "&amp;")
    escaped: str = graphviz.escape(shown)  # a `NoHtml` str: "<b>" stays text, not HTML
    return escaped


def _dot_url(href: str) -> str:
    """`href` as a DOT `URL`: http(s) or relative only (no `javascript:` in a page), anything
    outside a URL's characters percent-encoded, and `&` as `&amp;` (`dot` 2.43 writes a bare
    `&` into the SVG attribute, which is not XML)."""
    scheme = urlsplit(href).scheme.lower()
    if scheme not in {"", "http", "https"}:
        raise ValueError(f"link {href!r} is not http(s) or relative; pages link nothing else")
    escaped: str = graphviz.escape(quote(href, safe=_URL_SAFE).replace("&", "&amp;"))
    return escaped


def _run_dot(source: str) -> str:
    dot = shutil.which("dot")
    if dot is None:
        raise PictureUnavailable("Graphviz's `dot` is not on PATH", hint=_INSTALL_HINT)
    try:
        done = subprocess.run(
            [dot, "-Tsvg"],
            input=source.encode("utf-8"),
            capture_output=True,
            timeout=DOT_TIMEOUT_S,
            check=False,
        )
    except FileNotFoundError as exc:
        raise PictureUnavailable(f"cannot run {dot}", hint=_INSTALL_HINT) from exc
    except subprocess.TimeoutExpired as exc:
        raise PictureUnavailable(
            f"`dot` took longer than {DOT_TIMEOUT_S:g} s", hint="draw fewer nodes"
        ) from exc
    if done.returncode != 0:
        stderr = done.stderr.decode("utf-8", "replace").strip()
        raise PictureUnavailable(f"`dot` failed (exit {done.returncode}): {stderr}")
    return done.stdout.decode("utf-8")


def _strip_prolog(svg: str) -> str:
    """The `<svg>` element alone: no XML declaration, doctype or comments before it, which
    have no place inside an HTML page."""
    start = svg.find("<svg")
    if start < 0:
        raise PictureUnavailable("`dot` wrote no <svg> element")
    return svg[start:].rstrip() + "\n"
