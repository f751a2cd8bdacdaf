"""Finding runs: MLflow's `search_runs` filter strings and orderings, and leaderboards, answered by
one SPARQL query over the run summaries.

The filter is parsed by MLflow's own grammar (`SearchUtils.parse_search_filter`), so what MLflow
accepts is accepted here and what it refuses is refused with its message. Each clause becomes a
graph pattern whose values are written as terms (never pasted text): a metric clause compares
the series' latest value, a param or tag clause its value, `LIKE` and `ILIKE` become anchored
regular expressions with every other character escaped.

>>> from kg.store import EmbeddedStore
>>> from kg.lifecycle.tracking import Tracking
>>> from kg.lifecycle.records import Metric
>>> tracking = Tracking(EmbeddedStore.open(None))
>>> experiment = tracking.create_experiment("sweep")
>>> for lr, acc in (("0.1", 0.8), ("0.01", 0.93), ("0.001", 0.9)):
...     run = tracking.create_run(experiment, run_name=f"lr={lr}")
...     tracking.log_batch(run.run_id, metrics=[Metric("acc", acc, 1, 0)], params=[("lr", lr)])
>>> [r.info.run_name for r in search_runs(tracking, [experiment], "metrics.acc >= 0.9",
...                                         order_by=["metrics.acc DESC"]).items]
['lr=0.01', 'lr=0.001']
>>> board = leaderboard(tracking, experiment, "acc", limit=2)
>>> [(row.rank, row.run_name, row.value) for row in board]
[(1, 'lr=0.01', 0.93), (2, 'lr=0.001', 0.9)]
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pyoxigraph import Literal, NamedNode

from kg.errors import LifecycleError
from kg.lifecycle.graph import LifecycleIds
from kg.lifecycle.records import LeaderboardRow, Page, Run
from kg.lifecycle.rules import mlflow_verdicts, page_start, search_utils, token_at
from kg.lifecycle.tracking import Tracking
from kg.store.sparql_text import sparql_term
from ontology.files import text_of

__all__ = ["GOALS", "VALUES", "leaderboard", "like_pattern", "search_runs"]

MAX_RESULTS = 50_000
"""MLflow's cap on `max_results` for runs."""
GOALS = ("max", "min")
VALUES = ("last", "best")

_ATTRIBUTE_PATTERNS = {
    "run_id": "?run mkg:runId ?x{i} .",
    "run_name": "?run mkg:runName ?x{i} .",
    "status": "?run mkg:runStatus/mkg:mlflowName ?x{i} .",
    "user_id": "?run mkg:userId ?x{i} .",
    "artifact_uri": "?run mkg:artifactUri ?x{i} .",
}
_ALIASES = {"created": "start_time", "Created": "start_time", "Run name": "run_name",
            "run name": "run_name", "Run Name": "run_name"}  # fmt: skip
_OPERATORS = {"=": "=", "!=": "!=", ">": ">", ">=": ">=", "<": "<", "<=": "<="}


def like_pattern(pattern: str) -> str:
    """An SQL LIKE pattern as an anchored XPath regular expression (`%` any run, `_` one
    character, everything else literal).

    >>> like_pattern("bert%v1_0.")
    '^bert.*v1.0\\\\.$'
    """
    out = []
    for char in pattern:
        if char == "%":
            out.append(".*")
        elif char == "_":
            out.append(".")
        elif char in r"\^$.|?*+()[]{}-":
            out.append("\\" + char)
        else:
            out.append(char)
    return "^" + "".join(out) + "$"


def _time_literal(millis: Any) -> Literal:
    from kg.lifecycle.graph import to_millis_literal

    try:
        return to_millis_literal(int(millis))
    except (TypeError, ValueError, OverflowError):
        raise LifecycleError(f"not a time in milliseconds: {millis!r}", field="filter") from None


def _compare(variable: str, comparator: str, value: Any, *, numeric: bool) -> str:
    """A FILTER comparing `variable` to `value` with an MLflow comparator."""
    if comparator in ("LIKE", "ILIKE"):
        flags = ', "i"' if comparator == "ILIKE" else ""
        pattern = sparql_term(Literal(like_pattern(str(value))))
        return f"FILTER(REGEX(STR({variable}), {pattern}{flags}))"
    if comparator in ("IN", "NOT IN"):
        members = ", ".join(sparql_term(Literal(str(v))) for v in value)
        return f"FILTER(STR({variable}) {'NOT IN' if comparator == 'NOT IN' else 'IN'} ({members}))"
    operator = _OPERATORS.get(comparator)
    if operator is None:
        raise LifecycleError(f"unsupported comparator {comparator!r}", field="filter")
    if numeric:
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise LifecycleError(
                f"expected a number to compare with, got {value!r}", field="filter"
            ) from None
        return f"FILTER({variable} {operator} {sparql_term(Literal(number))})"
    return f"FILTER(STR({variable}) {operator} {sparql_term(Literal(str(value)))})"


def _clause(i: int, clause: dict[str, Any], index: _Index | None = None) -> str:
    kind, key, comparator, value = (
        clause["type"],
        clause["key"],
        clause["comparator"],
        clause["value"],
    )
    if index is not None and kind in ("metric", "parameter"):
        # its own sub-select over one index property: the engine joins the clauses by hash,
        # not by a look-up per run (100,000 runs: 350 -> 70 ms for two clauses)
        numeric = kind == "metric"
        indexed = index.metric(key, "last") if numeric else index.param(key)
        if not numeric and comparator == "=":
            # a param's value is a plain string: equal to one is the index's (P, O) look-up,
            # not a scan of every run's value (100,000 runs: 200 -> 135 ms for the search)
            return (
                f"{{ SELECT ?run WHERE {{ GRAPH ?g{i} {{ ?run {sparql_term(indexed)} "
                f"{sparql_term(Literal(str(value)))} }} }} }}"
            )
        return (
            f"{{ SELECT ?run ?x{i} WHERE {{ GRAPH ?g{i} {{ ?run {sparql_term(indexed)} ?x{i} }} "
            + _compare(f"?x{i}", comparator, value, numeric=numeric)
            + " } }"
        )
    if kind == "metric":
        return (
            f"?run mkg:hasMetric ?m{i} . ?m{i} mkg:key {sparql_term(Literal(key))} ; "
            f"mkg:lastValue ?x{i} . " + _compare(f"?x{i}", comparator, value, numeric=True)
        )
    if kind in ("parameter", "tag"):
        link = "mkg:hasParam" if kind == "parameter" else "mkg:hasTag"
        return (
            f"?run {link} ?k{i} . ?k{i} mkg:key {sparql_term(Literal(key))} ; mkg:value ?x{i} . "
            + _compare(f"?x{i}", comparator, value, numeric=False)
        )
    if kind == "dataset":
        field = {"name": "mkg:name", "digest": "mkg:datasetDigest", "context": None}.get(key)
        if key == "context":
            return f"?run prov:qualifiedUsage ?u{i} . ?u{i} mkg:datasetContext ?x{i} . " + _compare(
                f"?x{i}", comparator, value, numeric=False
            )
        if field is None:
            raise LifecycleError(f"cannot search datasets by {key!r}", field="filter")
        return f"?run mkg:usedDataset ?d{i} . ?d{i} {field} ?x{i} . " + _compare(
            f"?x{i}", comparator, value, numeric=False
        )
    attribute = _ALIASES.get(key, key)
    if attribute in ("start_time", "end_time"):
        prop = "prov:startedAtTime" if attribute == "start_time" else "prov:endedAtTime"
        operator = _OPERATORS.get(comparator)
        if operator is None:
            raise LifecycleError(f"unsupported comparator {comparator!r} for {key}", field="filter")
        return f"?run {prop} ?x{i} . FILTER(?x{i} {operator} {sparql_term(_time_literal(value))})"
    pattern = _ATTRIBUTE_PATTERNS.get(attribute)
    if pattern is None:
        raise LifecycleError(f"cannot search runs by the attribute {key!r}", field="filter")
    return pattern.format(i=i) + " " + _compare(f"?x{i}", comparator, value, numeric=False)


def _order(i: int, kind: str, key: str, index: _Index | None = None) -> tuple[str, str]:
    """An OPTIONAL pattern binding ?o{i} for one ordering key, and the variable."""
    if index is not None and kind == "metric":
        return f"OPTIONAL {{ ?run {sparql_term(index.metric(key, 'last'))} ?o{i} }}", f"?o{i}"
    if kind == "metric":
        return (
            f"OPTIONAL {{ ?run mkg:hasMetric ?om{i} . ?om{i} mkg:key {sparql_term(Literal(key))} ; "
            f"mkg:lastValue ?o{i} }}",
            f"?o{i}",
        )
    if kind in ("parameter", "tag"):
        link = "mkg:hasParam" if kind == "parameter" else "mkg:hasTag"
        return (
            f"OPTIONAL {{ ?run {link} ?ok{i} . ?ok{i} mkg:key {sparql_term(Literal(key))} ; "
            f"mkg:value ?o{i} }}",
            f"?o{i}",
        )
    attribute = _ALIASES.get(key, key)
    prop = {
        "start_time": "prov:startedAtTime",
        "end_time": "prov:endedAtTime",
        "run_name": "mkg:runName",
        "run_id": "mkg:runId",
        "user_id": "mkg:userId",
        "artifact_uri": "mkg:artifactUri",
        "status": "mkg:runStatus/mkg:mlflowName",
    }.get(attribute)
    if prop is None:
        raise LifecycleError(f"cannot order runs by {key!r}", field="order_by")
    return f"OPTIONAL {{ ?run {prop} ?o{i} }}", f"?o{i}"


def _stages(view: str) -> str:
    view = view.lower()
    stages = {
        "active_only": ("active",),
        "deleted_only": ("deleted",),
        "all": ("active", "deleted"),
    }
    if view not in stages:
        raise LifecycleError(
            f"unknown run view type {view!r}", field="run_view_type",
            expected="ACTIVE_ONLY, DELETED_ONLY or ALL",
        )  # fmt: skip
    members = ", ".join(sparql_term(Literal(s)) for s in stages[view])
    return f"?run mkg:lifecycleStage ?stage . FILTER(?stage IN ({members}))"


def _experiments(tracking: Tracking, experiment_ids: Sequence[str]) -> str:
    if not experiment_ids:
        raise LifecycleError("name at least one experiment to search", field="experiment_ids")
    nodes = []
    for experiment_id in experiment_ids:
        if not re.fullmatch(r"\d{1,19}", str(experiment_id)):
            raise LifecycleError(
                f"Invalid experiment ID: '{experiment_id}'", field="experiment_ids",
                expected="an experiment id (digits)",
            )  # fmt: skip
        nodes.append(sparql_term(tracking.ids.experiment(str(experiment_id))))
    return f"VALUES ?experiment {{ {' '.join(nodes)} }} ?run mkg:inExperiment ?experiment ."


@dataclass(frozen=True)
class _Index:
    """The index properties of one experiment's active runs (`LifecycleIds.metric_index`):
    a search or leaderboard over them is a triple pattern, not a join per run."""

    ids: LifecycleIds
    experiment_id: str

    def metric(self, key: str, which: str) -> NamedNode:
        return self.ids.metric_index(self.experiment_id, key, which)

    def param(self, key: str) -> NamedNode:
        return self.ids.param_index(self.experiment_id, key)


def _index(tracking: Tracking, experiment_ids: Sequence[str], view: str) -> _Index | None:
    """The index a search may use: of its one experiment, when it wants active runs only."""
    if len(experiment_ids) == 1 and view.lower() == "active_only":
        return _Index(tracking.ids, str(experiment_ids[0]))
    return None


@dataclass(frozen=True)
class _Ranked:
    run: str
    run_id: str
    name: str
    value: float | str
    """A metric's value, or a start time (ISO text, which sorts as time does)."""
    started: str


def _ranked(
    tracking: Tracking, body: str, *, descending: bool, count: int, newest_first: bool
) -> list[_Ranked]:
    """The `count` best rows of `body` (a pattern binding ?run and ?value) by value, ties
    broken by start time (newest or oldest first) then run id. The engine sorts the values of
    one index property; only the rows at the top, with every tie at the cut, are looked up,
    so the cost follows the runs that have the metric, not a join per run."""
    order = "DESC" if descending else "ASC"
    store = tracking.store
    rows = list(
        store.select(
            f"SELECT ?run ?value WHERE {{ {body} FILTER(?value = ?value) }} "
            f"ORDER BY {order}(?value) LIMIT {int(count)}"
        )
    )
    found: dict[str, float | str] = {text_of(row["run"]): _sortable(row["value"]) for row in rows}
    if rows and len(rows) == count:
        edge = rows[-1]["value"]
        assert isinstance(edge, Literal)
        for row in store.select(
            f"SELECT ?run ?value WHERE {{ {body} FILTER(?value = {sparql_term(edge)}) }}"
        ):
            found.setdefault(text_of(row["run"]), _sortable(row["value"]))
    if not found:
        return []
    values = " ".join(sparql_term(NamedNode(run)) for run in found)
    ranked = [
        _Ranked(
            text_of(row["run"]),
            text_of(row["id"]),
            text_of(row["name"]),
            found[text_of(row["run"])],
            text_of(row["started"]),
        )
        for row in store.select(
            f"SELECT ?run ?id ?name ?started WHERE {{ VALUES ?run {{ {values} }} "
            "?run mkg:runId ?id ; mkg:runName ?name ; prov:startedAtTime ?started }"
        )
    ]
    ranked.sort(key=lambda r: r.run_id)
    ranked.sort(key=lambda r: r.started, reverse=newest_first)
    ranked.sort(key=lambda r: r.value, reverse=descending)
    return ranked[:count]


def _sortable(term: object) -> float | str:
    """A value as it sorts: a number as a float, a time as its text."""
    assert isinstance(term, Literal)
    return term.value if term.datatype.value.endswith("#dateTime") else float(term.value)


def search_runs(
    tracking: Tracking,
    experiment_ids: Sequence[str],
    filter_string: str | None = None,
    *,
    view: str = "active_only",
    max_results: int = 1000,
    order_by: Sequence[str] = (),
    page_token: str | None = None,
) -> Page[Run]:
    """Runs of the experiments that match an MLflow filter string, in MLflow's order (the given
    keys, then start time descending, then run id), one page at a time."""
    if not 0 < max_results <= MAX_RESULTS:
        raise LifecycleError(
            f"Invalid value {max_results} for parameter 'max_results' supplied. It must be at "
            f"most {MAX_RESULTS}, and at least 1",
            field="max_results",
        )
    with mlflow_verdicts("filter"):
        clauses = search_utils.SearchUtils.parse_search_filter(filter_string or "")
        orders = [search_utils.SearchUtils.parse_order_by_for_search_runs(o) for o in order_by]
        start = page_start(page_token)
    scope = _experiments(tracking, experiment_ids)  # checks the ids
    index = _index(tracking, experiment_ids, view)
    if index is not None and not clauses and len(orders) == 1 and orders[0][0] == "metric":
        # a leaderboard through MLflow's API: the top of one index property
        _, key, ascending = orders[0]
        body = f"?run {sparql_term(index.metric(key, 'last'))} ?value ."
        (row,) = tracking.store.select(f"SELECT (COUNT(*) AS ?n) WHERE {{ {body} }}")
        if start + max_results < int(text_of(row["n"])):  # a page of runs that have the metric
            top = _ranked(tracking, body, descending=not ascending,
                          count=start + max_results, newest_first=True)  # fmt: skip
            chosen = top[start : start + max_results]
            token: str | None = token_at(start + max_results)
            return Page([tracking.get_run(r.run_id) for r in chosen], token)
    if index is not None and not clauses and not orders:
        # MLflow's default order, newest first: the top of the start-time index
        body = f"?run {sparql_term(index.ids.start_index(index.experiment_id))} ?value ."
        top = _ranked(tracking, body, descending=True, count=start + max_results + 1,
                      newest_first=True)  # fmt: skip
        chosen = top[start : start + max_results]
        more = len(top) > start + max_results
        token = token_at(start + max_results) if more else None
        return Page([tracking.get_run(r.run_id) for r in chosen], token)
    indexed = index is not None and any(c["type"] in ("metric", "parameter") for c in clauses)
    patterns = [] if indexed else [scope, _stages(view)]
    chosen_index = index if indexed else None
    found = [_clause(i, clause, chosen_index) for i, clause in enumerate(clauses)]
    patterns += sorted(found, key=lambda text: 0 if text.startswith("{ SELECT") else 1)
    keys = []
    for i, (kind, key, ascending) in enumerate(orders):
        pattern, variable = _order(i, kind, key, chosen_index)
        patterns.append(pattern)
        # MLflow puts runs without the key last whichever the direction
        keys += [f"{'DESC' if ascending else 'ASC'}(BOUND({variable}))",
                 f"{'ASC' if ascending else 'DESC'}({variable})"]  # fmt: skip
    if chosen_index is not None:
        started = sparql_term(chosen_index.ids.start_index(chosen_index.experiment_id))
        patterns.append(
            f"{{ SELECT ?run ?started WHERE {{ GRAPH ?gs {{ ?run {started} ?started }} }} }}"
        )
    else:
        patterns.append("?run prov:startedAtTime ?started .")
    keys += ["DESC(?started)", "ASC(STR(?run))"]  # a run's IRI ends with its id
    query = (
        "SELECT ?run WHERE { " + "\n".join(patterns) + " } ORDER BY " + " ".join(keys)
        + f" OFFSET {int(start)} LIMIT {int(max_results) + 1}"
    )  # fmt: skip
    ids = [text_of(row["run"]).rsplit("/", 1)[-1] for row in tracking.store.select(query)]
    more = len(ids) > max_results
    runs = [tracking.get_run(run_id) for run_id in ids[:max_results]]
    token = token_at(start + max_results) if more else None
    return Page(runs, token)


def leaderboard(
    tracking: Tracking,
    experiment_id: str,
    metric: str,
    *,
    goal: str = "max",
    value: str = "last",
    limit: int = 10,
    filter_string: str | None = None,
) -> list[LeaderboardRow]:
    """The experiment's active runs ranked by one metric: its last value or its best (the
    maximum when the goal is max, the minimum when it is min). Runs without the metric, or
    whose value is NaN, are left out; ties keep the earlier run first."""
    if goal not in GOALS:
        raise LifecycleError(f"unknown goal {goal!r}", field="goal", expected="max or min")
    if value not in VALUES:
        raise LifecycleError(f"unknown value {value!r}", field="value", expected="last or best")
    if not 0 < limit <= MAX_RESULTS:
        raise LifecycleError(f"limit must be between 1 and {MAX_RESULTS}", field="limit")
    with mlflow_verdicts("filter"):
        clauses = search_utils.SearchUtils.parse_search_filter(filter_string or "")
    which = "last" if value == "last" else goal
    index = _Index(tracking.ids, str(experiment_id))
    _experiments(tracking, [experiment_id])
    patterns = [f"?run {sparql_term(index.metric(metric, which))} ?value ."]
    patterns += [_clause(i, clause, index) for i, clause in enumerate(clauses)]
    ranked = _ranked(tracking, " ".join(patterns), descending=goal == "max", count=limit,
                     newest_first=False)  # fmt: skip
    steps = _steps(tracking, [r.run for r in ranked], metric)
    return [
        LeaderboardRow(rank, r.run_id, r.name, float(r.value), steps.get(r.run), r.run)
        for rank, r in enumerate(ranked, start=1)
    ]


def _steps(tracking: Tracking, runs: Sequence[str], metric: str) -> dict[str, int]:
    """run IRI -> the step of its latest point of `metric`."""
    if not runs:
        return {}
    values = " ".join(sparql_term(NamedNode(run)) for run in runs)
    rows = tracking.store.select(
        f"SELECT ?run ?step WHERE {{ VALUES ?run {{ {values} }} ?run mkg:hasMetric ?s . "
        f"?s mkg:key {sparql_term(Literal(metric))} ; mkg:lastStep ?step }}"
    )
    return {text_of(row["run"]): int(text_of(row["step"])) for row in rows}
