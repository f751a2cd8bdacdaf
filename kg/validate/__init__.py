"""Validation of model graphs against the SHACL shapes: a compiled engine for ingest, pyshacl
as the reference. `validate_models` picks the engine and attaches file/field locations.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

from pyoxigraph import Literal as RdfLiteral
from pyoxigraph import NamedNode

from kg.errors import UsageError
from kg.validate.report import Severity, ValidationResult, verdict_key
from ontology.namespaces import MKG

if TYPE_CHECKING:
    from kg.ingest.reader import ModelGraph

__all__ = ["ENGINES", "Engine", "Severity", "ValidationResult", "locate", "validate_models", "verdict_key"]

Engine = Literal["compiled", "pyshacl"]
ENGINES: tuple[Engine, ...] = ("compiled", "pyshacl")


def validate_models(models: Sequence[ModelGraph], engine: str = "compiled") -> list[list[ValidationResult]]:
    """SHACL results for each model (in order), located in the files they came from."""
    if engine == "compiled":
        from kg.validate.compiled import CompiledShapes

        raw = CompiledShapes.load().validate(models)
    elif engine == "pyshacl":
        from kg.validate.pyshacl_engine import validate_with_pyshacl

        raw = validate_with_pyshacl(models)
    else:
        raise UsageError(f"unknown validation engine `{engine}`", expected=" or ".join(ENGINES))
    return [
        [locate(result, model) for result in results] if results else []
        for model, results in zip(models, raw, strict=True)
    ]


def locate(result: ValidationResult, model: ModelGraph) -> ValidationResult:
    """Attach the source file and key of the value a result is about, when a setting records it."""
    setting: str | None = None
    focus = result.focus
    settings_of_focus = {
        q.object.value
        for q in model.quads
        if q.subject.value == focus and q.predicate == MKG.hasSetting and isinstance(q.object, NamedNode)
    }
    if result.path is not None and settings_of_focus:
        for quad in model.quads:
            if (
                quad.subject.value in settings_of_focus
                and quad.predicate == MKG.concept
                and quad.object.value == result.path
            ):
                effective = any(
                    q.subject == quad.subject and q.predicate == MKG.effective and q.object.value == "true"
                    for q in model.quads
                )
                if effective:
                    setting = quad.subject.value
                    break
    elif any(q.subject.value == focus and q.predicate == MKG.sourceKey for q in model.quads):
        setting = focus
    if setting is None:
        return result
    fields: dict[str, str] = {}
    for quad in model.quads:
        if quad.subject.value == setting and isinstance(quad.object, RdfLiteral):
            if quad.predicate == MKG.sourceFile:
                fields["file"] = quad.object.value
            elif quad.predicate == MKG.sourceKey:
                fields["key"] = quad.object.value
    return result.located(fields.get("file"), fields.get("key"))
