"""pyshacl, the reference SHACL engine: for reports, for the baseline, and to check the compiled
engine's verdicts.

>>> from kg.validate.pyshacl_engine import shapes_graph
>>> len(shapes_graph()) > 100
True
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import cache
from typing import TYPE_CHECKING, Any

from pyoxigraph import Quad, RdfFormat, serialize

from kg.validate.report import Severity, ValidationResult, show_value
from ontology.files import SHAPES_FILE, validation_context_quads

if TYPE_CHECKING:
    import rdflib

    from kg.store.model_graph import ModelGraph

__all__ = ["context_graph", "shapes_graph", "validate_quads", "validate_with_pyshacl"]

_SH = "http://www.w3.org/ns/shacl#"


@cache
def shapes_graph() -> rdflib.Graph:
    """The shapes as an rdflib graph, parsed once."""
    import rdflib

    graph = rdflib.Graph()
    graph.parse(SHAPES_FILE, format="turtle")
    return graph


@cache
def context_graph() -> rdflib.Graph:
    """What the shapes may look at beside the model (`validation_context_quads`), parsed once."""
    import rdflib

    graph = rdflib.Graph()
    payload = serialize((q.triple for q in validation_context_quads()), format=RdfFormat.N_TRIPLES)
    graph.parse(data=payload, format="nt")
    return graph


def validate_quads(quads: Iterable[Quad]) -> list[ValidationResult]:
    """Validate the union of `quads` and the validation context with pyshacl."""
    import rdflib
    from pyshacl import validate

    data = rdflib.Graph()
    data += context_graph()
    payload = serialize((q.triple for q in quads), format=RdfFormat.N_TRIPLES)
    data.parse(data=payload, format="nt")
    _conforms, report, _text = validate(
        data,
        shacl_graph=shapes_graph(),
        inference="none",
        allow_warnings=True,
        allow_infos=True,
    )
    return list(_results(report))


def validate_with_pyshacl(models: Sequence[ModelGraph]) -> list[list[ValidationResult]]:
    """pyshacl, model by model (the slow, exact baseline)."""
    return [validate_quads(model.quads) for model in models]


def _results(report: Any) -> Iterable[ValidationResult]:
    import rdflib

    sh = rdflib.Namespace(_SH)
    for node in report.subjects(rdflib.RDF.type, sh.ValidationResult):
        focus = report.value(node, sh.focusNode)
        path = report.value(node, sh.resultPath)
        value = report.value(node, sh.value)
        severity = str(report.value(node, sh.resultSeverity)).removeprefix(_SH)
        component = str(report.value(node, sh.sourceConstraintComponent)).removeprefix(_SH)
        message = report.value(node, sh.resultMessage)
        yield ValidationResult(
            focus=str(focus),
            path=str(path) if path is not None else None,
            value=_show(value),
            severity=_as_severity(severity),
            message=str(message) if message is not None else component,
            component=component,
        )


def _show(value: Any) -> str | None:
    import rdflib

    if value is None:
        return None
    if isinstance(value, rdflib.Literal):
        datatype = str(value.datatype) if value.datatype is not None else None
        return show_value(str(value), datatype=datatype, literal=True)
    return str(value)


def _as_severity(name: str) -> Severity:
    if name == "Warning":
        return "Warning"
    if name == "Info":
        return "Info"
    return "Violation"
