"""The model list's query string, read strictly into a `kg.models` filter.

A typo in a query parameter must not widen the answer: `?hiddenSise.gte=768` silently ignored
would list every model. So every parameter is checked: the filter names (`task`,
`primary_task`, `modality`, `library`, `license`, `model_type`, `language`, `q`,
`derived_from`), paging (`first`,
`after`), and ranges written `<parameter>.<bound>` with a bound of `gte`, `lte`, `gt`, `lt` on
any numeric normalized parameter (`hiddenSize.gte=768`, `parameterCount.lte=1e9`). Anything
else is a 400 that names the parameter and the closest real ones.

>>> read_ranges([("hiddenSize.gte", "768"), ("parameterCount.lte", "1e9")])["hiddenSize"]
Range(gte=768.0, lte=None, gt=None, lt=None)
>>> read_ranges([("hiddenSise.gte", "768")])
Traceback (most recent call last):
...
resolvers.errors.HttpError: no numeric parameter `hiddenSise` to bound
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable
from dataclasses import replace

from kg.models.filters import Range, numeric_parameters
from resolvers.errors import HttpError
from resolvers.rest.patterns import PRINTABLE

__all__ = [
    "BOUNDS",
    "LIST_PARAMETERS",
    "PRINTABLE",
    "SCALAR_PARAMETERS",
    "check_names",
    "read_ranges",
]


LIST_PARAMETERS = {
    "task": "tasks",
    "primary_task": "primary_tasks",
    "modality": "modalities",
    "library": "libraries",
    "license": "licenses",
    "model_type": "model_types",
    "language": "languages",
}
"""Repeatable filter parameters -> the `ModelFilter` field they fill."""
SCALAR_PARAMETERS = ("q", "derived_from", "first", "after")
BOUNDS = ("gte", "lte", "gt", "lt")


def _bad(name: str, message: str, candidates: Iterable[str], fallback: str) -> HttpError:
    close = difflib.get_close_matches(name, sorted(candidates), n=3)
    return HttpError(
        400,
        "bad_parameter",
        message,
        field=name,
        hint=f"did you mean {', '.join(close)}?" if close else fallback,
    )


def check_names(names: Iterable[str]) -> None:
    """400 for the first query parameter the model list does not know."""
    known = {*LIST_PARAMETERS, *SCALAR_PARAMETERS}
    for name in names:
        if name in known or "." in name:
            continue
        ranges = {f"{p}.{b}" for p in numeric_parameters() for b in ("gte", "lte")}
        raise _bad(
            name,
            f"unknown query parameter `{name}`",
            known | ranges,
            "filters: " + ", ".join(sorted(known)) + ", and ranges such as hiddenSize.gte",
        )


def _number(name: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise HttpError(
            400,
            "bad_parameter",
            f"`{name}` is {text!r}, not a number",
            field=name,
            hint="write a plain number: 768, 1e9, 0.5",
        )
    return value


def read_ranges(items: Iterable[tuple[str, str]]) -> dict[str, Range]:
    """Bounds per numeric parameter from `<parameter>.<bound>=<number>` query items."""
    ranges: dict[str, Range] = {}
    seen: set[str] = set()
    for key, text in items:
        if "." not in key:
            continue
        parameter, _, bound = key.rpartition(".")
        if parameter not in numeric_parameters():
            raise _bad(
                key,
                f"no numeric parameter `{parameter}` to bound",
                numeric_parameters(),
                "numeric parameters: " + ", ".join(sorted(numeric_parameters())),
            )
        if bound not in BOUNDS:
            raise _bad(key, f"`{bound}` is not a bound", BOUNDS, "bounds: gte, lte, gt, lt")
        if key in seen:
            raise HttpError(400, "bad_parameter", f"`{key}` is given twice", field=key,
                            hint="give each bound once")  # fmt: skip
        seen.add(key)
        ranges[parameter] = replace(ranges.get(parameter, Range()), **{bound: _number(key, text)})
    return ranges
