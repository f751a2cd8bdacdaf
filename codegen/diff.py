"""Compare two interface descriptions and classify every change by semver.

What breaks a caller is major: a function or argument gone, an argument that became required, a
type that changed or a range that narrowed, a result whose dimension, labels or type changed.
What a caller may use but need not is minor: a new function, a new optional argument, an
argument that became optional, a range that widened. Everything else (descriptions, license,
defaults, hints) is a patch. The bump is the largest change; CI fails on a major one.

>>> from codegen.interface import Function, ModelInterface, Result
>>> def model(*labels: str) -> ModelInterface:
...     result = Result(kind="LabelSet", python_type="str", json_type="string", labels=labels)
...     function = Function(name="classify", task="text-classification", task_label="",
...         runtime="transformers", pipeline_task=None, description="", arguments=(),
...         result=result)
...     return ModelInterface(model_id="m", iri="urn:m", module="m", summary="", license=None,
...         intended_use=None, limitations=None, library=None, modalities=(),
...         max_sequence_length=None, weights_bytes=None, source_location=None,
...         functions=(function,))
>>> report = compare(model("neg", "pos"), model("neg", "neutral", "pos"))
>>> report.bump, [c.describe() for c in report.changes]
('major', ["major: classify: result labels changed: added 'neutral'"])
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Literal

from codegen.interface import Argument, Function, ModelInterface

__all__ = ["Change", "DiffReport", "Level", "compare"]

Level = Literal["major", "minor", "patch"]
_RANK: dict[str, int] = {"none": 0, "patch": 1, "minor": 2, "major": 3}


@dataclass(frozen=True)
class Change:
    """One difference, where it is, and what it means to a caller."""

    level: Level
    where: str
    what: str

    def describe(self) -> str:
        """One line: level, place, what changed."""
        return f"{self.level}: {self.where}: {self.what}"


@dataclass(frozen=True)
class DiffReport:
    """Every change between two interfaces, and the version bump they call for."""

    old: str
    new: str
    changes: tuple[Change, ...] = field(default_factory=tuple)

    @property
    def bump(self) -> Literal["major", "minor", "patch", "none"]:
        """The largest change: what the version of generated code must move by."""
        levels: list[Level] = [c.level for c in self.changes]
        return max(levels, key=_RANK.__getitem__) if levels else "none"

    @property
    def breaking(self) -> bool:
        """A caller written against the old interface may fail against the new one."""
        return self.bump == "major"


def compare(old: ModelInterface, new: ModelInterface) -> DiffReport:
    """Every change from `old` to `new`, classified (module docstring)."""
    return DiffReport(old.model_id, new.model_id, tuple(_model_changes(old, new)))


def _model_changes(old: ModelInterface, new: ModelInterface) -> Iterator[Change]:
    for name in ("summary", "license", "intended_use", "limitations", "library"):
        if getattr(old, name) != getattr(new, name):
            yield Change("patch", "model", f"{name} changed")
    if old.max_sequence_length != new.max_sequence_length:
        yield Change(
            "patch",
            "model",
            f"max sequence length {old.max_sequence_length} -> {new.max_sequence_length}",
        )
    if old.weights_bytes != new.weights_bytes:
        yield Change("patch", "model", f"weights {old.weights_bytes} -> {new.weights_bytes} bytes")
    before = {f.name: f for f in old.functions}
    after = {f.name: f for f in new.functions}
    for name in sorted(before.keys() - after.keys()):
        yield Change("major", name, "function removed")
    for name in sorted(after.keys() - before.keys()):
        yield Change("minor", name, "function added")
    for name in sorted(before.keys() & after.keys()):
        yield from _function_changes(before[name], after[name])


def _function_changes(old: Function, new: Function) -> Iterator[Change]:
    where = old.name
    if old.description != new.description or old.task_label != new.task_label:
        yield Change("patch", where, "description changed")
    if (old.runtime, old.pipeline_task, old.task) != (new.runtime, new.pipeline_task, new.task):
        yield Change("patch", where, f"runs as {new.task} with {new.runtime}")
    before = {a.name: a for a in old.arguments}
    after = {a.name: a for a in new.arguments}
    for name in sorted(before.keys() - after.keys()):
        yield Change("major", f"{where}({name})", "argument removed")
    for name in sorted(after.keys() - before.keys()):
        added = after[name]
        if added.required:
            yield Change("major", f"{where}({name})", "required argument added")
        else:
            yield Change("minor", f"{where}({name})", "optional argument added")
    for name in sorted(before.keys() & after.keys()):
        yield from _argument_changes(f"{where}({name})", before[name], after[name])
    old_order = [a.name for a in old.arguments if a.name in after]
    new_order = [a.name for a in new.arguments if a.name in before]
    if old_order != new_order:
        yield Change("major", where, "arguments reordered: positional calls break")
    result_old, result_new = old.result, new.result
    if result_old.python_type != result_new.python_type and result_old.labels == result_new.labels:
        yield Change(
            "major",
            where,
            f"result type {result_old.python_type} -> {result_new.python_type}",
        )
    if result_old.dimension != result_new.dimension:
        yield Change(
            "major",
            where,
            f"result dimension {result_old.dimension} -> {result_new.dimension}",
        )
    if result_old.labels != result_new.labels:
        gone = sorted(set(result_old.labels) - set(result_new.labels))
        came = sorted(set(result_new.labels) - set(result_old.labels))
        parts = [f"removed {', '.join(map(repr, gone))}"] if gone else []
        parts += [f"added {', '.join(map(repr, came))}"] if came else []
        detail = "; ".join(parts) or "reordered"
        yield Change("major", where, f"result labels changed: {detail}")


def _argument_changes(where: str, old: Argument, new: Argument) -> Iterator[Change]:
    if (old.python_type, old.json_type, old.json_item_type) != (
        new.python_type,
        new.json_type,
        new.json_item_type,
    ):
        yield Change("major", where, f"type {old.python_type} -> {new.python_type}")
    if old.required and not new.required:
        yield Change("minor", where, "now optional")
    elif new.required and not old.required:
        yield Change("major", where, "now required")
    yield from _bound_change(where, "maximum", old.maximum, new.maximum, narrower=_less)
    yield from _bound_change(where, "minimum", old.minimum, new.minimum, narrower=_more)
    if old.default != new.default and not new.required and not old.required:
        yield Change("patch", where, f"default {old.default!r} -> {new.default!r}")
    if (old.description, old.hint, old.semantic_name) != (
        new.description,
        new.hint,
        new.semantic_name,
    ):
        yield Change("patch", where, "description changed")


def _less(new: int, old: int) -> bool:
    return new < old


def _more(new: int, old: int) -> bool:
    return new > old


def _bound_change(
    where: str,
    name: str,
    old: int | None,
    new: int | None,
    *,
    narrower: Callable[[int, int], bool],
) -> Iterator[Change]:
    if old == new:
        return
    if new is not None and (old is None or narrower(new, old)):
        yield Change("major", where, f"{name} {old} -> {new}: narrowed")
    else:
        yield Change("minor", where, f"{name} {old} -> {new}: widened")
