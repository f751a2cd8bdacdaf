"""Graph filters over models, the one vocabulary GraphQL, REST and search share.

A filter names what users think in (task ids, modalities, library, license, model type,
language, ranges on any normalized parameter, part of the name, lineage) and compiles to one
SPARQL group pattern over `?m`. Task and modality names are checked against the ontology, so a
typo is an error with close names, never a silently empty page; parameter names against
`parameters.ttl`, so every normalized concept can be filtered on without code per concept.

>>> f = ModelFilter(tasks=("text-generation",), ranges={"hiddenSize": Range(gte=768)})
>>> print(compile_filter(f))  # doctest: +NORMALIZE_WHITESPACE
?m mkg:performsTask <https://huggingface.co/tasks/text-generation> .
?m mkg:hiddenSize ?r0 . FILTER(?r0 >= 768)
>>> print(compile_filter(ModelFilter(tasks=("text2text-generation",))))  # doctest: +ELLIPSIS
?m mkg:performsTask ?task_tasks . VALUES ?task_tasks { ...summarization> ...translation> }
>>> print(compile_filter(ModelFilter(primary_tasks=("translation",))))
?m mkg:primaryTask <https://huggingface.co/tasks/translation> .
>>> compile_filter(ModelFilter(ranges={"hiddenSiz": Range(gte=1)}))
Traceback (most recent call last):
...
kg.errors.InputError: field `hiddenSiz`: no parameter `hiddenSiz` to filter on (did you mean \
hiddenSize?)
"""

from __future__ import annotations

import difflib
import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from functools import cache

from pyoxigraph import RdfFormat, Store

from kg.errors import InputError
from kg.models.terms import iri_term, string_term
from ontology.files import SHAPES_FILE, TASKS_FILE, select, text_of
from ontology.namespaces import sparql_prologue
from ontology.parameters import load_parameter_mapping

__all__ = [
    "ModelFilter",
    "Range",
    "compile_filter",
    "compile_unknown",
    "known_modalities",
    "known_tasks",
    "narrower_or_same",
    "numeric_parameters",
    "taxonomy",
    "wide_parameters",
]

TASKS = "https://huggingface.co/tasks/"
MKG = "https://w3id.org/modelkg/ontology#"


@dataclass(frozen=True)
class Range:
    """Bounds on a number; any of them may be left out."""

    gte: float | None = None
    lte: float | None = None
    gt: float | None = None
    lt: float | None = None


@dataclass(frozen=True)
class ModelFilter:
    """Which models to list; fields combine with AND, values inside one field with OR."""

    tasks: tuple[str, ...] = ()
    primary_tasks: tuple[str, ...] = ()
    """Hub task ids a model's primary task (`mkg:primaryTask`) is one of, exactly"""
    modalities: tuple[str, ...] = ()
    libraries: tuple[str, ...] = ()
    licenses: tuple[str, ...] = ()
    model_types: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    name_contains: str | None = None
    derived_from: str | None = None
    """a model IRI: only models derived from it (fine-tunes, adapters, ...), transitively"""
    ranges: dict[str, Range] = field(default_factory=dict)
    """normalized parameter (camelCase, e.g. `hiddenSize`, `parameterCount`) -> bounds"""

    def digest(self) -> str:
        """A short stable digest: a cursor is only valid for the filter that made it."""
        data = asdict(self)
        data["ranges"] = sorted((k, asdict(v)) for k, v in self.ranges.items())
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


@cache
def taxonomy() -> Store:
    """tasks.ttl in a store of its own, loaded once: tasks, modalities, data kinds."""
    store = Store()
    store.load(path=str(TASKS_FILE), format=RdfFormat.TURTLE)
    return store


@cache
def known_tasks() -> frozenset[str]:
    """Every Hub task id the ontology knows (`text-generation`, ...)."""
    rows = select(taxonomy(), sparql_prologue() + "SELECT ?id { ?t a mkg:Task ; mkg:taskId ?id }")
    return frozenset(text_of(row["id"]) for row in rows)


@cache
def known_modalities() -> dict[str, str]:
    """Modality name as users write it (`audio`) -> its IRI."""
    rows = select(taxonomy(), sparql_prologue() + "SELECT ?m { ?m a mkg:Modality }")
    return {text_of(row["m"]).removeprefix(MKG).lower(): text_of(row["m"]) for row in rows}


@cache
def narrower_or_same(iri: str) -> tuple[str, ...]:
    """`iri` and every task or data kind under it (`mkg:broader*`, tasks.ttl), sorted.

    Filters name these as constants rather than walking `mkg:broader*` in the store: every
    `mkg:broader` edge comes from the ontology, a constant list plans fast in oxigraph, and
    Virtuoso can lose rows of a `*` path joined with other patterns (README, "Engines").

    >>> narrower_or_same("https://huggingface.co/tasks/text2text-generation")[-1]
    'https://huggingface.co/tasks/translation'
    """
    rows = select(taxonomy(), sparql_prologue() + f"SELECT ?t {{ ?t mkg:broader* <{iri}> }}")
    return tuple(sorted({text_of(row["t"]) for row in rows}))


@cache
def numeric_parameters() -> frozenset[str]:
    """The normalized parameters that hold numbers, by their camelCase names."""
    mapping = load_parameter_mapping()
    return frozenset(c.local_name for c in mapping.concepts.values() if c.value_kind == "integer")


INT32_MAX = 2**31 - 1


@cache
def wide_parameters() -> frozenset[str]:
    """Numeric parameters whose values may pass 2^31 - 1 (GraphQL's Int): `parameterCount`.

    Read from the SHACL shapes' `sh:maxInclusive`, so the API's types follow the data's bounds.
    """
    shapes = Store()
    shapes.load(path=str(SHAPES_FILE), format=RdfFormat.TURTLE)
    rows = select(
        shapes,
        sparql_prologue() + "SELECT ?p ?max { ?s sh:path ?p ; sh:maxInclusive ?max }",
    )
    bounded = {
        text_of(row["p"]).removeprefix(MKG) for row in rows if int(text_of(row["max"])) <= INT32_MAX
    }
    return frozenset(numeric_parameters() - bounded)


def _unknown(kind: str, name: str, field_name: str, known: list[str]) -> InputError:
    close = difflib.get_close_matches(name, known, n=3)
    return InputError(
        f"no {kind} `{name}` to filter on",
        field=field_name,
        hint=f"did you mean {', '.join(close)}?" if close else f"known: {', '.join(known[:12])}",
    )


def _values(variable: str, items: tuple[str, ...]) -> str:
    return f"VALUES {variable} {{ {' '.join(string_term(i) for i in items)} }}"


def _task_pattern(tasks: Sequence[str], field: str, path: str, *, narrower: bool) -> list[str]:
    """`?m path <task>` for one Hub task (oxigraph plans a constant fast), a VALUES variable
    for several (with the tasks under them when `narrower`); an unknown task is an error
    naming the filter `field`."""
    for task in tasks:
        if task not in known_tasks():
            raise _unknown("task", task, field, sorted(known_tasks()))
    chosen = sorted(
        {iri for t in tasks for iri in (narrower_or_same(TASKS + t) if narrower else [TASKS + t])}
    )
    if not chosen:
        return []
    if len(chosen) == 1:
        return [f"?m {path} <{chosen[0]}> ."]
    iris = " ".join(f"<{iri}>" for iri in chosen)
    return [f"?m {path} ?task_{field} . VALUES ?task_{field} {{ {iris} }}"]


def compile_filter(spec: ModelFilter) -> str:
    """The SPARQL group pattern (over `?m`) selecting the models `spec` admits."""
    lines: list[str] = []
    lines += _task_pattern(spec.tasks, "tasks", "mkg:performsTask", narrower=True)
    lines += _task_pattern(spec.primary_tasks, "primaryTasks", "mkg:primaryTask", narrower=False)
    if spec.modalities:
        kinds: set[str] = set()
        for name in spec.modalities:
            iri = known_modalities().get(name.lower())
            if iri is None:
                raise _unknown("modality", name, "modalities", sorted(known_modalities()))
            kinds.update(narrower_or_same(iri))
        lines.append(
            "FILTER EXISTS { ?m mkg:acceptsInput|mkg:producesOutput ?io . "
            "?io mkg:dataKind ?kind . "
            f"VALUES ?kind {{ {' '.join(f'<{k}>' for k in sorted(kinds))} }} }}"
        )
    if spec.libraries:  # the library the files show (mkg:library), or the card's library_name
        lines.append(
            "FILTER EXISTS { { ?m mkg:libraryName ?libraryName } UNION "
            "{ ?m mkg:library/mkg:libraryId ?libraryName } "
            f"{_values('?libraryName', spec.libraries)} }}"
        )
    for values, predicate in (
        (spec.licenses, "license"),
        (spec.model_types, "modelType"),
        (spec.languages, "language"),
    ):
        if values:
            lines.append(
                f"FILTER EXISTS {{ ?m mkg:{predicate} ?{predicate} . "
                f"{_values('?' + predicate, values)} }}"
            )
    if spec.name_contains:
        lines.append(f"FILTER(CONTAINS(LCASE(?name), {string_term(spec.name_contains.lower())}))")
    if spec.derived_from:
        base = iri_term(spec.derived_from)
        if base is None:
            raise InputError(
                f"`{spec.derived_from}` is not a model id or IRI",
                field="derivedFrom",
                hint="give a hub id (org/name) or a model IRI",
            )
        lines.append(f"?m mkg:derivedFrom+ {base} .")
    for index, (name, bounds) in enumerate(sorted(spec.ranges.items())):
        if name not in numeric_parameters():
            raise _unknown("parameter", name, name, sorted(numeric_parameters()))
        tests = [
            f"?r{index} {op} {value!r}"
            for op, value in ((">=", bounds.gte), ("<=", bounds.lte), (">", bounds.gt),
                              ("<", bounds.lt))
            if value is not None
        ]  # fmt: skip
        test = f" FILTER({' && '.join(tests)})" if tests else ""
        lines.append(f"?m mkg:{name} ?r{index} .{test}")
    return "\n".join(lines)


def compile_unknown(spec: ModelFilter, parameter: str) -> str:
    """The pattern (over `?m`) for models `spec` leaves out only because `parameter`, which it
    ranges over, is not known for them: a range cannot say whether they are in it.

    >>> f = ModelFilter(ranges={"parameterCount": Range(lte=2e8)})
    >>> print(compile_unknown(f, "parameterCount"))
    FILTER NOT EXISTS { ?m mkg:parameterCount ?unknown }
    """
    if parameter not in numeric_parameters():
        raise _unknown("parameter", parameter, parameter, sorted(numeric_parameters()))
    rest = replace(spec, ranges={k: v for k, v in spec.ranges.items() if k != parameter})
    missing = f"FILTER NOT EXISTS {{ ?m mkg:{parameter} ?unknown }}"
    return f"{compile_filter(rest)}\n{missing}".lstrip("\n")
