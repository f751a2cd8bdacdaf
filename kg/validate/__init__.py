"""Validation of model graphs against the SHACL shapes: a compiled engine for ingest, pyshacl
as the reference. `validate_models` picks the engine and attaches file/field locations.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

from pyoxigraph import Literal as RdfLiteral
from pyoxigraph import NamedNode, Quad

from kg.errors import UsageError
from kg.validate.report import Severity, ValidationResult, verdict_key
from ontology.namespaces import MKG

if TYPE_CHECKING:
    from kg.store.model_graph import ModelGraph

__all__ = [
    "ENGINES",
    "Engine",
    "Severity",
    "ValidationResult",
    "locate",
    "validate_models",
    "verdict_key",
]

Engine = Literal["compiled", "pyshacl"]
ENGINES: tuple[Engine, ...] = ("compiled", "pyshacl")


def validate_models(
    models: Sequence[ModelGraph],
    engine: str = "compiled",
    built: Sequence[Sequence[Quad]] | None = None,
) -> list[list[ValidationResult]]:
    """SHACL results for each model (in order), located in the files they came from."""
    if engine == "compiled":
        from kg.validate.compiled import CompiledShapes

        raw = CompiledShapes.load().validate(models, built)
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
    """Attach the source file and key of the value a result is about, when a setting records it.

    For a finding on a model's `mkg:hiddenSize`, that is its effective setting's file and key
    (`config.json`, `n_embd`); for a finding on a setting node, the setting's own.
    """
    by_subject: dict[str, dict[str, list[str]]] = {}
    for quad in model.quads:
        subject, obj = quad.subject, quad.object
        if isinstance(subject, NamedNode) and isinstance(obj, NamedNode | RdfLiteral):
            by_subject.setdefault(subject.value, {}).setdefault(quad.predicate.value, []).append(
                obj.value
            )
    focus = by_subject.get(result.focus, {})
    setting: dict[str, list[str]] | None = None
    if MKG.sourceKey.value in focus:
        setting = focus
    elif result.path is not None:
        for candidate in focus.get(MKG.hasSetting.value, []):
            fields = by_subject.get(candidate, {})
            effective = fields.get(MKG.effective.value) == ["true"]
            if fields.get(MKG.concept.value) == [result.path] and effective:
                setting = fields
                break
    if setting is None:
        return result
    files: list[str | None] = [*setting.get(MKG.sourceFile.value, []), None]
    keys: list[str | None] = [*setting.get(MKG.sourceKey.value, []), None]
    return result.located(files[0], keys[0])
