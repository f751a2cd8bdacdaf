"""GraphQL inputs: the model filter, with a range field per numeric parameter.

Each field takes one value or a list (GraphQL coerces `task: "x"` to `["x"]`). The ranges take
floats so `parameterCount: {lte: 1e9}` reads as users write it.
"""

# Strawberry reads annotations at schema build: no `from __future__ import annotations` here.

from typing import Any

import strawberry

from kg.models.filters import ModelFilter, Range, numeric_parameters

__all__ = ["ModelFilterInput", "NumberRange", "to_filter"]


@strawberry.input(description="Bounds on a number; give any of them.")
class NumberRange:
    gte: float | None = None
    lte: float | None = None
    gt: float | None = None
    lt: float | None = None


_LISTS = {
    "task": ("tasks", "Hub task ids, e.g. `feature-extraction`; narrower tasks match too."),
    "primary_task": (
        "primary_tasks",
        "Hub task ids the model's primary task (its would-be pipeline_tag) is, exactly.",
    ),
    "modality": ("modalities", "text, image, audio, video, tabular, document."),
    "library": ("libraries", "The card's library_name."),
    "license": ("licenses", "The card's license id."),
    "model_type": ("model_types", "The config's model_type."),
    "language": ("languages", "A language code from the card."),
}


def _filter_input() -> Any:
    annotations: dict[str, Any] = {}
    namespace: dict[str, Any] = {}
    for name, (_, description) in _LISTS.items():
        annotations[name] = list[str] | None
        namespace[name] = strawberry.field(default=None, description=description)
    annotations["name_contains"] = str | None
    namespace["name_contains"] = strawberry.field(
        default=None, description="Part of the model's name, any case."
    )
    annotations["derived_from"] = strawberry.ID | None
    namespace["derived_from"] = strawberry.field(
        default=None, description="Only models made from this one (fine-tunes, adapters, ...)."
    )
    for parameter in sorted(numeric_parameters()):
        annotations[parameter] = NumberRange | None
        namespace[parameter] = strawberry.field(
            default=None, name=parameter, description=f"Range on `{parameter}`."
        )
    namespace["__annotations__"] = annotations
    built = type("ModelFilter", (), namespace)
    built.__module__ = __name__
    return strawberry.input(built, description="Which models: fields combine with AND.")


ModelFilterInput = _filter_input()


def to_filter(given: Any, derived_from_iri: str | None) -> ModelFilter:
    """The `kg.models` filter for a GraphQL filter input (None: every model)."""
    if given is None:
        return ModelFilter()
    lists = {target: tuple(getattr(given, name) or ()) for name, (target, _) in _LISTS.items()}
    ranges = {}
    for parameter in numeric_parameters():
        bounds = getattr(given, parameter, None)
        if bounds is not None:
            ranges[parameter] = Range(gte=bounds.gte, lte=bounds.lte, gt=bounds.gt, lt=bounds.lt)
    return ModelFilter(
        **lists,
        name_contains=given.name_contains,
        derived_from=derived_from_iri,
        ranges=ranges,
    )
