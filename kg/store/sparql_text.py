"""SPARQL text that the store engines build from terms: writes, the vocabulary refresh, and bound
values for a server that takes no `substitutions=`.

Both engines apply a write as one SPARQL update built here (the embedded store through
`Store.update`, the remote one as one HTTP request), so the two write the same statements the
same way. Everything is written from pyoxigraph terms, whose N-Triples form is valid SPARQL:
no text from a user is pasted into an update.

>>> from pyoxigraph import Literal, NamedNode, Quad
>>> g = NamedNode("urn:example:g")
>>> print(drop_graphs_update([g]))
DROP SILENT GRAPH <urn:example:g>;
>>> note = Quad(g, NamedNode("urn:example:says"), Literal("hi"), g)
>>> print(in_graph(g, ntriples([note])))
GRAPH <urn:example:g> {
<urn:example:g> <urn:example:says> "hi" .
<BLANKLINE>
}
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, NoReturn

from pyoxigraph import (
    BlankNode,
    DefaultGraph,
    Literal,
    NamedNode,
    Quad,
    RdfFormat,
    Triple,
    serialize,
)

from kg.errors import QueryError
from ontology.files import (
    ONTOLOGY_FILES,
    ONTOLOGY_GRAPH,
    SHAPES_FILE,
    SHAPES_GRAPH,
    ontology_quads,
    shapes_quads,
)
from ontology.namespaces import MKG

if TYPE_CHECKING:
    from pyoxigraph import Variable

    from kg.store.base import Term
    from kg.store.model_graph import ModelGraph

__all__ = [
    "COUNT_MODELS",
    "BoundQuery",
    "bind_values",
    "derived_graphs_update",
    "drop_graphs_update",
    "edit_graph_update",
    "in_graph",
    "ntriples",
    "sparql_term",
    "vocabulary_digest",
    "vocabulary_marker",
    "vocabulary_quads",
    "vocabulary_update",
    "write_models_update",
]

COUNT_MODELS = (
    f"SELECT (COUNT(DISTINCT ?m) AS ?n) WHERE {{ GRAPH ?g {{ ?g <{MKG.describes.value}> ?m }} }}"
)
"""How many models a store describes: each model's graph names the model it describes."""


# --- writes --------------------------------------------------------------------------------


def ntriples(quads: Iterable[Quad]) -> str:
    """Triples as N-Triples 1.2 text, which SPARQL 1.2 INSERT DATA accepts as written
    (escapes, language tags, triple terms `<<( s p o )>>` all serialized by oxigraph)."""
    data = serialize((q.triple for q in quads), format=RdfFormat.N_TRIPLES)
    return (data or b"").decode("utf-8")


def in_graph(graph: NamedNode | DefaultGraph, data: str) -> str:
    """N-Triples `data` as the part of an INSERT DATA that puts it in `graph`."""
    return data if isinstance(graph, DefaultGraph) else f"GRAPH {graph} {{\n{data}\n}}"


def insert_quads_update(quads: Iterable[Quad]) -> str:
    """One INSERT DATA adding `quads` to their graphs (the default graph's too)."""
    by_graph: dict[NamedNode | DefaultGraph, list[Quad]] = {}
    for quad in quads:
        graph = quad.graph_name
        assert isinstance(graph, NamedNode | DefaultGraph), "no blank node names a graph here"
        by_graph.setdefault(graph, []).append(quad)
    data = "\n".join(in_graph(graph, ntriples(group)) for graph, group in by_graph.items())
    return f"INSERT DATA {{\n{data}\n}}"


def drop_graphs_update(graphs: Sequence[NamedNode]) -> str:
    """Drop `graphs` (a graph that is not there is no error)."""
    return "".join(f"DROP SILENT GRAPH {g};\n" for g in graphs)


def write_models_update(models: Sequence[ModelGraph], replace: Sequence[NamedNode]) -> str:
    """One update that drops the `replace` graphs and inserts the models' graphs: applied as
    one transaction, each model's graph is wholly old or wholly new."""
    by_graph: dict[NamedNode, list[Quad]] = {}
    for model in models:  # its own graph, and those derived from it that travel with it
        for quad in model.quads:
            assert isinstance(quad.graph_name, NamedNode)
            by_graph.setdefault(quad.graph_name, []).append(quad)
    data = "\n".join(in_graph(graph, ntriples(quads)) for graph, quads in by_graph.items())
    return f"{drop_graphs_update(replace)}INSERT DATA {{\n{data}\n}}"


def derived_graphs_update(graphs: Mapping[NamedNode, Sequence[Quad]], *, kind: NamedNode) -> str:
    """One update that replaces whole graphs of derived data, each stating its `kind` inside
    itself (`<g> mkg:graphKind kind`: how the store knows its own graphs)."""
    data = "\n".join(
        in_graph(graph, f"{graph} {MKG.graphKind} {kind} .\n{ntriples(quads)}")
        for graph, quads in graphs.items()
        if quads
    )
    return f"{drop_graphs_update(list(graphs))}INSERT DATA {{\n{data}\n}}"


def edit_graph_update(
    graph: NamedNode | DefaultGraph, triples: Sequence[Triple], *, drop: bool, create: bool
) -> str:
    """The Graph Store Protocol's PUT (`drop` and `create`), POST (`create`) and DELETE
    (`drop`) of one graph as one update; an empty PUT leaves an empty graph.

    >>> print(edit_graph_update(NamedNode("urn:example:g"), [], drop=True, create=True))
    DROP SILENT GRAPH <urn:example:g>;
    CREATE SILENT GRAPH <urn:example:g>
    """
    default = isinstance(graph, DefaultGraph)
    data = ntriples(Quad(t.subject, t.predicate, t.object) for t in triples)
    steps = []
    if drop:
        steps.append("DROP SILENT DEFAULT" if default else f"DROP SILENT GRAPH {graph}")
    if create and not default:
        steps.append(f"CREATE SILENT GRAPH {graph}")
    if data.strip():
        steps.append(f"INSERT DATA {{\n{in_graph(graph, data)}\n}}")
    return ";\n".join(steps)


# --- the vocabulary graphs -----------------------------------------------------------------


@cache
def vocabulary_digest() -> str:
    """The ontology and shapes files' digest: a store whose marker holds another one loads
    them again."""
    digest = hashlib.sha256()
    for path in (*ONTOLOGY_FILES, SHAPES_FILE):
        digest.update(path.read_bytes())
    return digest.hexdigest()


def vocabulary_marker() -> Quad:
    """The quad a store holds when its ontology and shapes graphs are the current files."""
    return Quad(ONTOLOGY_GRAPH, MKG.sourceDigest, Literal(vocabulary_digest()), ONTOLOGY_GRAPH)


def vocabulary_quads() -> list[Quad]:
    """The ontology and shapes graphs, with the marker: what a fresh store is given."""
    return [*ontology_quads(), *shapes_quads(), vocabulary_marker()]


def vocabulary_update() -> str:
    """One update that replaces both vocabulary graphs with the current files (and the
    marker): a store is never seen with one graph refreshed and not the other."""
    quads = vocabulary_quads()
    body = "\n".join(
        in_graph(graph, ntriples(q for q in quads if q.graph_name == graph))
        for graph in (ONTOLOGY_GRAPH, SHAPES_GRAPH)
    )
    return f"{drop_graphs_update([ONTOLOGY_GRAPH, SHAPES_GRAPH])}INSERT DATA {{\n{body}\n}}"


# --- bound values for a server -------------------------------------------------------------


def sparql_term(term: Term) -> str:
    """A term as SPARQL 1.2 text for a VALUES block. A blank node is refused: VALUES cannot
    hold one, and a label sent to a server would name a fresh node there, not this one.

    >>> sparql_term(Literal("Kurdî", language="ku"))
    '"Kurdî"@ku'
    """
    if isinstance(term, BlankNode):
        error = QueryError(f"cannot bind the blank node {term} in a query sent to a SPARQL server")
        error.hint = "bind an IRI or a literal: a blank node means something in one store only"
        raise error
    if isinstance(term, Triple):
        parts = (sparql_term(term.subject), sparql_term(term.predicate), sparql_term(term.object))
        return f"<<( {' '.join(parts)} )>>"
    return str(term)  # IRIs and literals: their N-Triples form is valid SPARQL


_TOKENS = re.compile(
    r"""(?P<space>\s+)
      | (?P<comment>\#[^\n\r]*)
      | (?P<string>\"\"\"(?:[^"\\]|\\.|"(?!""))*\"\"\"|'''(?:[^'\\]|\\.|'(?!''))*'''
                   |"(?:[^"\\\n\r]|\\.)*"|'(?:[^'\\\n\r]|\\.)*')
      | (?P<iri><[^<>"{}|^`\\\x00-\x20]*>)
      | (?P<var>[?$]\w+)
      | (?P<word>(?:[^\W\d]|:)(?:[\w\-.:%]|\\.)*)
      | (?P<other>.)""",
    re.VERBOSE | re.DOTALL,
)
"""SPARQL's lexical structure, as far as finding the WHERE group needs: strings, IRIs and
comments are skipped whole (a brace or keyword inside them is text), variables and prefixed
names are not keywords, and a `<` that starts no IRI is the less-than operator."""

_FORMS = frozenset({"SELECT", "CONSTRUCT", "DESCRIBE", "ASK"})


@dataclass(frozen=True)
class BoundQuery:
    """A query with its bound values written in, and what was written where, so a position
    the server reports in `text` maps back to the caller's text (`original_offset`)."""

    text: str
    insertions: tuple[tuple[int, str], ...] = ()
    """(offset in the caller's text, text inserted there), in order."""

    def original_offset(self, offset: int) -> int:
        """The offset in the caller's text of `offset` in `text` (an offset inside inserted
        text maps to where it was inserted)."""
        shift = 0
        for at, inserted in self.insertions:
            if offset < at + shift:
                break
            if offset < at + shift + len(inserted):
                return at
            shift += len(inserted)
        return offset - shift


def bind_values(query: str, substitutions: Mapping[Variable, Term]) -> BoundQuery:
    """`query` with `substitutions` bound by a VALUES block at the start of its top-level WHERE
    group: what pyoxigraph's `substitutions=` does in the embedded store, for a server that
    takes only text. The values are written from terms (`sparql_term`), never pasted from a
    caller, and the query's own text is not touched. As in pyoxigraph, a SELECT must project
    each variable it binds.

    The one difference from pyoxigraph's binding (SEP-0007): a sub-SELECT is evaluated on its
    own and joined on the variable afterwards, so a sub-SELECT that aggregates or LIMITs over
    the variable sees it unbound. A CONSTRUCT WHERE { T } is written out as
    CONSTRUCT { T } WHERE { VALUES ... T }.

    >>> from pyoxigraph import Variable
    >>> bound = bind_values("SELECT ?m ?n WHERE { ?m mkg:name ?n }",
    ...                     {Variable("m"): NamedNode("urn:example:m")})
    >>> bound.text
    'SELECT ?m ?n WHERE { VALUES (?m) { (<urn:example:m>) } ?m mkg:name ?n }'
    """
    if not substitutions:
        return BoundQuery(query)
    names = " ".join(f"?{variable.value}" for variable in substitutions)
    terms = " ".join(sparql_term(term) for term in substitutions.values())
    values = f" VALUES ({names}) {{ ({terms}) }}"
    top = _top_level(query)
    if top.form is None or not top.groups:
        _refuse_unbindable(query)
    if top.form == "SELECT" and top.projection is not None:
        for variable in substitutions:
            if variable.value not in top.projection:
                error = QueryError(f"cannot bind {variable}: the SELECT does not project it")
                error.hint = f"add {variable} to the SELECT, as the embedded store requires"
                raise error
    open_, close = top.groups[0]
    if top.form == "CONSTRUCT":
        if not top.template:  # CONSTRUCT WHERE { T }: T is both the template and the pattern
            template = f" {{{query[open_ + 1 : close]}}}"
            return BoundQuery(
                query[: top.form_end] + template + query[top.form_end : open_ + 1] + values
                + query[open_ + 1 :],
                ((top.form_end, template), (open_ + 1, values)),
            )  # fmt: skip
        if len(top.groups) < 2:
            _refuse_unbindable(query)
        open_, close = top.groups[1]
    if re.match(r"\s*(?:#[^\n]*\s*)*select\b", query[open_ + 1 : close], re.IGNORECASE):
        wrapped = values + " {"  # `{ SELECT ... }` holds nothing beside the sub-SELECT
        return BoundQuery(
            query[: open_ + 1] + wrapped + query[open_ + 1 : close] + "} " + query[close:],
            ((open_ + 1, wrapped), (close, "} ")),
        )
    return BoundQuery(query[: open_ + 1] + values + query[open_ + 1 :], ((open_ + 1, values),))


@dataclass
class _TopLevel:
    """What `bind_values` needs of a query's shape."""

    form: str | None = None
    form_end: int = 0
    """Where the form's keyword ends."""
    template: bool = False
    """A `{` comes right after the keyword: a CONSTRUCT's template."""
    groups: list[tuple[int, int]] = field(default_factory=list)
    """The offsets of each top-level `{` and its `}` after the keyword, up to a trailing
    VALUES clause."""
    projection: set[str] | None = field(default_factory=set)
    """A SELECT's projected variables (None for `SELECT *`)."""


def _top_level(query: str) -> _TopLevel:
    top = _TopLevel()
    braces = parens = opened = 0
    seen = after_as = False
    for match in _TOKENS.finditer(query):
        kind, text = match.lastgroup, match.group()
        projecting = top.form == "SELECT" and not top.groups and braces == 0
        if projecting and top.projection is not None:
            if kind == "var" and (parens == 0 or after_as):
                top.projection.add(text[1:])
            elif text == "*" and parens == 0:
                top.projection = None
        if kind in ("space", "comment", "string", "iri", "var"):
            continue
        after_as = kind == "word" and text.upper() == "AS"
        if top.form is None:
            if kind == "word" and text.upper() in _FORMS:
                top.form, top.form_end = text.upper(), match.end()
            continue
        if not seen:  # the first token after the keyword
            top.template, seen = text == "{", True
        if kind == "word" and text.upper() == "VALUES" and braces == 0 and parens == 0:
            break  # the trailing VALUES clause: its block is data, not a group
        if text == "(":
            parens += 1
        elif text == ")":
            parens -= 1
        elif text == "{" and parens == 0:
            if braces == 0:
                opened = match.start()
            braces += 1
        elif text == "}" and parens == 0:
            braces -= 1
            if braces == 0:
                top.groups.append((opened, match.start()))
    return top


def _refuse_unbindable(query: str) -> NoReturn:
    """No WHERE group was found: say why, with the parser's position when the query is not
    SPARQL at all."""
    from kg.sparql.parse import parse_query  # the analyzer's V8 starts only on this rare path

    parse_query(query)
    error = QueryError("cannot bind substitutions: the query has no WHERE clause to bind them in")
    error.hint = "write the query with a WHERE { ... } clause"
    raise error
