"""SHACL shapes compiled to SPARQL, checked over a batch of model graphs at once.

pyshacl takes ~10 ms even for a tiny graph, so validating model by model cannot keep up with
ingest. Here each constraint of `shapes.ttl` becomes one SPARQL SELECT that finds every focus
node violating it across a whole batch, run by pyoxigraph in memory. The compiler accepts only
the SHACL Core subset listed in `SUPPORTED` and refuses anything else at load, so it cannot
silently disagree; the tests hold its verdicts to pyshacl's on the corpus and on broken graphs.

>>> shapes = CompiledShapes.load()
>>> len(shapes.checks) > 20
True
>>> sorted({c for check in shapes.checks for c in check.components})[:3]
['ClassConstraintComponent', 'DatatypeConstraintComponent', 'InConstraintComponent']
"""

from __future__ import annotations

from collections.abc import Sequence, Set
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Literal

from pyoxigraph import (
    BlankNode,
    NamedNode,
    Quad,
    QuerySolution,
    QuerySolutions,
    RdfFormat,
    Store,
)
from pyoxigraph import Literal as RdfLiteral

from kg.errors import ModelKGError
from kg.validate.report import Severity, ValidationResult, show_value
from ontology.files import ONTOLOGY_GRAPH, SHAPES_GRAPH, shapes_quads, validation_context_quads
from ontology.namespaces import RDF, RDFS, SH, XSD, sparql_prologue

if TYPE_CHECKING:
    from kg.store.model_graph import ModelGraph

__all__ = ["SUPPORTED", "Check", "CompiledShapes", "UnsupportedShapeError"]

SUPPORTED_PROPERTY_SHAPE = frozenset(
    SH.iri(name)
    for name in (
        "path", "datatype", "minCount", "maxCount", "minInclusive", "maxInclusive",
        "minExclusive", "maxExclusive", "in", "pattern", "flags", "nodeKind", "class",
        "severity", "message", "name", "description",
    )
)  # fmt: skip
SUPPORTED_NODE_SHAPE = frozenset(
    [SH.iri("targetClass"), SH.iri("targetObjectsOf"), SH.iri("property"), SH.iri("sparql"),
     SH.iri("severity"),
     SH.iri("message"), RDF.iri("type"), RDFS.iri("comment"), RDFS.iri("label")]
)  # fmt: skip
SUPPORTED = SUPPORTED_PROPERTY_SHAPE | SUPPORTED_NODE_SHAPE
"""Every SHACL term the compiler understands; a shape using another one is refused at load."""

_NODE_KIND_FILTER = {
    "IRI": "!isIRI(?value)",
    "Literal": "!isLiteral(?value)",
    "BlankNode": "!isBlank(?value)",
    "BlankNodeOrIRI": "isLiteral(?value)",
    "IRIOrLiteral": "isBlank(?value)",
    "BlankNodeOrLiteral": "isIRI(?value)",
}


_CASTABLE = frozenset(
    XSD.iri(name) for name in ("integer", "decimal", "double", "float", "boolean", "dateTime")
)
"""XSD datatypes with a SPARQL cast function: how the compiled check spots ill-typed literals."""


class UnsupportedShapeError(ModelKGError):
    """shapes.ttl uses a SHACL feature the compiled engine does not implement."""


@dataclass(frozen=True)
class Part:
    """One constraint component inside a check: what to report when its condition holds."""

    component: str
    message: str
    condition: str = ""
    """a SPARQL boolean over ?value (value checks); empty for count and SPARQL checks"""


@dataclass(frozen=True)
class Check:
    """One query that finds every violation of one or more constraints of a property shape.

    - `value`: the constraints on each value (datatype, ranges, sh:in, pattern, node kind,
      class) of one path, combined: the query flags which of them each bad value breaks;
    - `count`: sh:minCount/sh:maxCount of one path: the query returns the count;
    - `sparql`: a SHACL-SPARQL constraint, as written.
    """

    kind: Literal["value", "count", "sparql"]
    path: str | None
    severity: Severity
    parts: tuple[Part, ...]
    sparql: str
    bounds: tuple[int, int | None] = (0, None)

    @property
    def components(self) -> tuple[str, ...]:
        """The SHACL constraint components this check covers."""
        return tuple(part.component for part in self.parts)


def _one(
    store: Store, subject: NamedNode | BlankNode, predicate: str
) -> NamedNode | BlankNode | RdfLiteral | None:
    for quad in store.quads_for_pattern(subject, NamedNode(predicate), None, SHAPES_GRAPH):
        obj = quad.object
        assert isinstance(obj, NamedNode | BlankNode | RdfLiteral)
        return obj
    return None


def _rdf_list(
    store: Store, head: NamedNode | BlankNode | RdfLiteral | None
) -> list[NamedNode | RdfLiteral]:
    items: list[NamedNode | RdfLiteral] = []
    nil = RDF.iri("nil")
    while isinstance(head, NamedNode | BlankNode) and not (
        isinstance(head, NamedNode) and head.value == nil
    ):
        first = _one(store, head, RDF.iri("first"))
        assert isinstance(first, NamedNode | RdfLiteral), "sh:in lists hold IRIs or literals"
        items.append(first)
        head = _one(store, head, RDF.iri("rest"))
    return items


def _severity(term: object, default: Severity) -> Severity:
    if isinstance(term, NamedNode):
        name = term.value.removeprefix(str(SH))
        if name in ("Violation", "Warning", "Info"):
            return name  # type: ignore[return-value]
    return default


class CompiledShapes:
    """The shapes as SPARQL checks, plus an in-memory scratch store holding the ontology."""

    def __init__(self, checks: tuple[Check, ...]) -> None:
        self.checks = checks
        self._context = validation_context_quads()

    @classmethod
    @cache
    def load(cls) -> CompiledShapes:
        """Compile `shapes.ttl` once per process."""
        return cls(compile_shapes())

    def validate(
        self, models: Sequence[ModelGraph], built: Sequence[Sequence[Quad]] | None = None
    ) -> list[list[ValidationResult]]:
        """Results per model, in the order given; one query per constraint for the whole batch."""
        owner = {model.graph_iri.value: index for index, model in enumerate(models)}
        results: list[list[ValidationResult]] = [[] for _ in models]
        if not models:
            return results
        scratch = Store()  # in memory; a fresh one per batch is cheaper than removing graphs
        scratch.extend(self._context)
        if built is not None:  # the quads as the reader built them: no parsing
            scratch.extend(q for quads in built for q in quads)
        else:
            scratch.load(b"".join(model.nquads for model in models), format=RdfFormat.N_QUADS)
        for check in self.checks:
            answer = scratch.query(check.sparql, use_default_graph_as_union=True)
            assert isinstance(answer, QuerySolutions)
            for row in answer:
                focus, graph = row["this"], row["g"]
                if not isinstance(focus, NamedNode) or graph is None or graph.value not in owner:
                    continue
                found = results[owner[graph.value]]
                for part, value in _broken(check, row):
                    found.append(
                        ValidationResult(
                            focus=focus.value,
                            path=check.path,
                            value=value,
                            severity=check.severity,
                            message=part.message,
                            component=part.component,
                        )
                    )
        return results


def _broken(check: Check, row: QuerySolution) -> list[tuple[Part, str | None]]:
    """Which parts of `check` a result row breaks, with the offending value."""
    if check.kind == "count":
        count = row["n"]
        assert isinstance(count, RdfLiteral)
        n = int(count.value)
        low, high = check.bounds
        return [
            (part, None)
            for part in check.parts
            if (part.component == "MinCountConstraintComponent" and n < low)
            or (part.component == "MaxCountConstraintComponent" and high is not None and n > high)
        ]
    value = row["value"]
    shown: str | None = None
    if isinstance(value, RdfLiteral):
        shown = show_value(value.value, datatype=value.datatype.value, literal=True)
    elif value is not None:
        shown = value.value if isinstance(value, NamedNode) else str(value)
    if check.kind == "sparql":
        return [(check.parts[0], shown)]
    broken = []
    for index, part in enumerate(check.parts):
        flag = row[f"f{index}"]
        if isinstance(flag, RdfLiteral) and flag.value == "true":
            broken.append((part, shown))
    return broken


def compile_shapes() -> tuple[Check, ...]:
    """Every constraint of the shapes graph as a `Check`; refuses unsupported SHACL."""
    store = Store()
    store.extend(shapes_quads())
    store.extend(validation_context_quads())
    checks: list[Check] = []
    node_shapes = {
        q.subject for q in store.quads_for_pattern(None, RDF.type, SH.NodeShape, SHAPES_GRAPH)
    }
    _refuse_other_shapes(store, node_shapes)
    for shape in sorted(node_shapes, key=str):
        assert isinstance(shape, NamedNode | BlankNode)
        for quad in store.quads_for_pattern(shape, None, None, SHAPES_GRAPH):
            if quad.predicate.value not in SUPPORTED_NODE_SHAPE:
                raise UnsupportedShapeError(
                    f"shape {shape} uses {quad.predicate}, which the compiled validator does "
                    "not support",
                    path="ontology/shapes.ttl",
                    hint="extend kg.validate.compiled (and its agreement tests), or use a "
                    "supported term",
                )
        targets = sorted(
            q.object.value
            for q in store.quads_for_pattern(shape, SH.targetClass, None, SHAPES_GRAPH)
            if isinstance(q.object, NamedNode)
        )
        objects_of = sorted(
            q.object.value
            for q in store.quads_for_pattern(shape, SH.targetObjectsOf, None, SHAPES_GRAPH)
            if isinstance(q.object, NamedNode)
        )
        if not targets and not objects_of:
            continue
        # the focus node's own graph names the model it belongs to
        patterns = []
        if targets:
            classes = " ".join(f"<{c}>" for c in _subclass_closure(store, targets))
            patterns.append(f"{{ VALUES ?cls {{ {classes} }} GRAPH ?g {{ ?this a ?cls }} }}")
        patterns.extend(f"{{ GRAPH ?g {{ ?subject <{p}> ?this }} }}" for p in objects_of)
        target = " UNION ".join(patterns)
        node_severity = _severity(_one(store, shape, SH.iri("severity")), "Violation")
        for prop_quad in store.quads_for_pattern(shape, SH.property, None, SHAPES_GRAPH):
            prop = prop_quad.object
            assert isinstance(prop, BlankNode | NamedNode)
            checks.extend(
                _property_checks(store, prop, target, "Violation")
            )  # shapes do not inherit severity
        for sparql_quad in store.quads_for_pattern(shape, SH.sparql, None, SHAPES_GRAPH):
            constraint = sparql_quad.object
            assert isinstance(constraint, BlankNode | NamedNode)
            checks.append(_sparql_check(store, constraint, target, node_severity))
    return tuple(checks)


_TARGETS = ("targetClass", "targetNode", "targetSubjectsOf", "targetObjectsOf", "target")


def _refuse_other_shapes(store: Store, node_shapes: Set[object]) -> None:
    """Shapes pyshacl would enforce but the compiler would not visit: refuse them loudly."""
    nested = {q.object for q in store.quads_for_pattern(None, SH.property, None, SHAPES_GRAPH)}
    for name in _TARGETS:
        for quad in store.quads_for_pattern(None, SH[name], None, SHAPES_GRAPH):
            if quad.subject not in node_shapes:
                raise UnsupportedShapeError(
                    f"{quad.subject} has sh:{name} but is not an sh:NodeShape; the compiled "
                    "validator only walks node shapes",
                    path="ontology/shapes.ttl",
                    hint="declare it `a sh:NodeShape` with its constraints under sh:property",
                )
    for quad in store.quads_for_pattern(None, RDF.type, SH.PropertyShape, SHAPES_GRAPH):
        if quad.subject not in nested:
            raise UnsupportedShapeError(
                f"property shape {quad.subject} is not under any node shape's sh:property",
                path="ontology/shapes.ttl",
            )


def _subclass_closure(store: Store, targets: list[str]) -> list[str]:
    values = " ".join(f"<{t}>" for t in targets)
    answer = store.query(
        f"SELECT DISTINCT ?c WHERE {{ VALUES ?t {{ {values} }} GRAPH <{ONTOLOGY_GRAPH.value}> "
        f"{{ ?c <{RDFS.iri('subClassOf')}>* ?t }} }}"
    )
    assert isinstance(answer, QuerySolutions)
    found = {row["c"].value for row in answer if row["c"] is not None}
    return sorted(found | set(targets))


def _property_checks(
    store: Store, prop: NamedNode | BlankNode, target: str, default: Severity
) -> list[Check]:
    predicates = {
        q.predicate.value for q in store.quads_for_pattern(prop, None, None, SHAPES_GRAPH)
    }
    unsupported = predicates - SUPPORTED_PROPERTY_SHAPE
    if unsupported:
        raise UnsupportedShapeError(
            f"a property shape uses {', '.join(sorted(unsupported))}, which the compiled validator "
            "does not support",
            path="ontology/shapes.ttl",
        )
    path = _one(store, prop, SH.iri("path"))
    if not isinstance(path, NamedNode):
        raise UnsupportedShapeError(
            "only IRI property paths are supported", path="ontology/shapes.ttl"
        )
    p = f"<{path.value}>"
    severity = _severity(_one(store, prop, SH.iri("severity")), default)
    custom = _one(store, prop, SH.iri("message"))
    value_parts: list[Part] = []
    count_parts: list[Part] = []
    low, high = 0, None

    def part(component: str, message: str, condition: str = "") -> Part:
        text = custom.value if isinstance(custom, RdfLiteral) else message
        return Part(component, text, condition)

    for predicate in sorted(predicates):
        term = _one(store, prop, predicate)
        name = predicate.removeprefix(str(SH))
        if name == "datatype":
            assert isinstance(term, NamedNode)
            # SHACL also rejects an ill-typed literal ("big"^^xsd:integer): cast it back
            dt = f"<{term.value}>"
            condition = f"!isLiteral(?value) || datatype(?value) != {dt}"
            if term.value in _CASTABLE:
                condition += f" || !COALESCE(datatype({dt}(STR(?value))) = {dt}, false)"
            value_parts.append(
                part(
                    "DatatypeConstraintComponent",
                    f"value is not of datatype {term.value}",
                    condition,
                )
            )
        elif name == "minCount":
            assert isinstance(term, RdfLiteral)
            low = int(term.value)
            count_parts.append(part("MinCountConstraintComponent", f"fewer than {low} value(s)"))
        elif name == "maxCount":
            assert isinstance(term, RdfLiteral)
            high = int(term.value)
            count_parts.append(part("MaxCountConstraintComponent", f"more than {high} value(s)"))
        elif name in ("minInclusive", "maxInclusive", "minExclusive", "maxExclusive"):
            assert isinstance(term, RdfLiteral)
            op = {
                "minInclusive": ">=",
                "maxInclusive": "<=",
                "minExclusive": ">",
                "maxExclusive": "<",
            }[name]
            value_parts.append(part(f"{name[0].upper()}{name[1:]}ConstraintComponent",
                f"value is not {op} {term.value}",
                f"!COALESCE(?value {op} {term}, false)"))  # fmt: skip
        elif name == "in":
            allowed = _rdf_list(store, term)
            condition = " || ".join(f"sameTerm(?value, {item})" for item in allowed) or "false"
            value_parts.append(part("InConstraintComponent",
                "value is not one of the allowed values", f"!({condition})"))  # fmt: skip
        elif name == "pattern":
            assert isinstance(term, RdfLiteral)
            flags = _one(store, prop, SH.iri("flags"))
            flag_arg = f", {RdfLiteral(flags.value)}" if isinstance(flags, RdfLiteral) else ""
            regex = f"regex(str(?value), {RdfLiteral(term.value)}{flag_arg})"
            value_parts.append(part("PatternConstraintComponent",
                f"value does not match {term.value}", f"isBlank(?value) || !{regex}"))  # fmt: skip
        elif name == "nodeKind":
            assert isinstance(term, NamedNode)
            kind = term.value.removeprefix(str(SH))
            value_parts.append(part("NodeKindConstraintComponent",
                f"value is not a {kind}", _NODE_KIND_FILTER[kind]))  # fmt: skip
        elif name == "class":
            assert isinstance(term, NamedNode)
            closure = " ".join(f"<{c}>" for c in _subclass_closure(store, [term.value]))
            typed = f"VALUES ?vc {{ {closure} }} ?value a ?vc"
            value_parts.append(part("ClassConstraintComponent",
                f"value is not an instance of {term.value}",
                f"isLiteral(?value) || NOT EXISTS {{ {typed} }}"))  # fmt: skip
    checks: list[Check] = []
    if value_parts:
        projected = " ".join(f"({v.condition} AS ?f{i})" for i, v in enumerate(value_parts))
        either = " || ".join(f"({v.condition})" for v in value_parts)
        sparql = (
            f"SELECT DISTINCT ?this ?g ?value {projected} WHERE {{ {target} ?this {p} ?value "
            f"FILTER({either}) }}"
        )
        checks.append(Check("value", path.value, severity, tuple(value_parts), sparql))
    if count_parts:
        having = " || ".join(
            ([f"COUNT(DISTINCT ?v) < {low}"] if low else [])
            + ([f"COUNT(DISTINCT ?v) > {high}"] if high is not None else [])
        )
        sparql = (
            f"SELECT ?this ?g (COUNT(DISTINCT ?v) AS ?n) WHERE {{ {target} "
            f"OPTIONAL {{ ?this {p} ?v }} }} GROUP BY ?this ?g HAVING ({having})"
        )
        checks.append(Check("count", path.value, severity, tuple(count_parts), sparql, (low, high)))
    return checks


def _sparql_check(
    store: Store, constraint: NamedNode | BlankNode, target: str, default: Severity
) -> Check:
    select = _one(store, constraint, SH.iri("select"))
    if not isinstance(select, RdfLiteral):
        raise UnsupportedShapeError(
            "a sh:sparql constraint needs sh:select", path="ontology/shapes.ttl"
        )
    prologue = sparql_prologue()
    inner = select.value.replace("$this", "?this")
    message = _one(store, constraint, SH.iri("message"))
    text = message.value if isinstance(message, RdfLiteral) else "SPARQL constraint violated"
    if _one(store, constraint, SH.iri("severity")) is not None:
        raise UnsupportedShapeError(
            "sh:severity on a SPARQL constraint is ignored by SHACL; put it on the shape",
            path="ontology/shapes.ttl",
        )
    return Check(
        "sparql",
        None,
        default,
        (Part("SPARQLConstraintComponent", text),),
        f"{prologue}SELECT DISTINCT ?this ?g ?value WHERE {{ {target} {{ {inner} }} }}",
    )
