"""Metric series, stored compactly: one JSON literal of points per write, one summary per series.

A run's series is not one triple per point: each log call adds a single `mkg:points` literal
holding its points as `[step, timestamp_ms, value]` (NaN written as null), and the series node
keeps what queries join and sort on (the latest value, step and time, the minimum and maximum,
the count), rewritten in the same update. A leaderboard over 100,000 runs reads one triple per
run; the history of one series reads its literals.

Values follow MLflow's rules: NaN is kept, and infinities are stored as the largest finite
double of their sign, as MLflow's SQL store does.

>>> points = [Metric("loss", 0.9, 10, 0), Metric("loss", float("inf"), 20, 1)]
>>> encode_points(points).value
'[[0,10,0.9],[1,20,1.7976931348623157e+308]]'
>>> [m.value for m in decode_points("loss", encode_points(points))]
[0.9, 1.7976931348623157e+308]
>>> summary = summarize("loss", None, points)
>>> summary.step, summary.minimum, summary.count
(1, 0.9, 2)
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Iterable, Sequence

from pyoxigraph import Literal, NamedNode

from kg.lifecycle.records import LatestMetric, Metric

__all__ = ["RDF_JSON", "decode_points", "encode_points", "history", "stored_value", "summarize"]

RDF_JSON = NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#JSON")


def stored_value(value: float) -> float:
    """The value as MLflow stores it: infinities become the largest finite double of their
    sign; NaN stays NaN."""
    if math.isinf(value):
        return sys.float_info.max if value > 0 else -sys.float_info.max
    return float(value)


def encode_points(points: Sequence[Metric]) -> Literal:
    """The points of one write as one compact JSON literal."""
    rows = [
        [int(p.step), int(p.timestamp), None if math.isnan(p.value) else stored_value(p.value)]
        for p in points
    ]
    return Literal(json.dumps(rows, separators=(",", ":")), datatype=RDF_JSON)


def decode_points(key: str, literal: Literal) -> list[Metric]:
    """The points of one literal, back as metrics of `key`."""
    return [
        Metric(key, math.nan if value is None else float(value), int(ts), int(step))
        for step, ts, value in json.loads(literal.value)
    ]


def _latest_order(metric: Metric) -> tuple[int, int, float]:
    """MLflow's order for the latest point: highest step, then timestamp, then value (a NaN
    counts as lower than any number)."""
    return (metric.step, metric.timestamp, -math.inf if math.isnan(metric.value) else metric.value)


def summarize(key: str, before: LatestMetric | None, points: Iterable[Metric]) -> LatestMetric:
    """The summary of a series after `points` are added to one whose summary was `before`."""
    points = list(points)
    latest = max(points, key=_latest_order)
    if before is not None:
        previous = Metric(key, before.value, before.timestamp, before.step)
        latest = max(previous, latest, key=_latest_order)
    numbers = [stored_value(p.value) for p in points if not math.isnan(p.value)]
    if before is not None and before.minimum is not None and before.maximum is not None:
        numbers += [before.minimum, before.maximum]
    return LatestMetric(
        key,
        stored_value(latest.value),
        latest.timestamp,
        latest.step,
        min(numbers) if numbers else None,
        max(numbers) if numbers else None,
        (before.count if before is not None else 0) + len(points),
    )


def history(key: str, literals: Iterable[Literal]) -> list[Metric]:
    """Every point of a series, ordered by step then timestamp; a point logged twice (same
    step, time and value) is one point, as in MLflow."""
    seen: dict[tuple[int, int, str], Metric] = {}
    for literal in literals:
        for metric in decode_points(key, literal):
            seen.setdefault((metric.step, metric.timestamp, repr(metric.value)), metric)
    return sorted(seen.values(), key=lambda m: (m.step, m.timestamp))
