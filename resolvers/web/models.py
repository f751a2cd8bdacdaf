"""`/models` and `/models/{id}`: the model list with its filters, and a page per model.

The list reads what REST's `/api/v1/models` reads (`kg.models.paging.list_models`, then the
records and primary tasks of the page in one query each), so the page and the API agree. A
model's page gathers what the APIs spread over several calls: its facts, each normalized
parameter with the file and key it was read from (its `mkg:ParameterSetting`), its tasks with
the rule that inferred each, compatibility answers with their reasons, its lineage as a
picture, and the runs and registered versions that started from it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from pyoxigraph import Literal, NamedNode

from kg.compat import lookups
from kg.errors import InputError
from kg.models import records
from kg.models.filters import ModelFilter, known_tasks
from kg.models.paging import MAX_PAGE, list_models
from kg.reason.explain import Explanation, explain
from kg.store.base import ModelStore
from kg.store.sparql_text import sparql_term
from resolvers.rest.context import find_model
from resolvers.services import Services, services
from resolvers.threads import run_in_worker
from resolvers.web import links
from resolvers.web.layout import (
    MAX_ID_CHARS,
    BadParameter,
    NotFound,
    Rendered,
    build,
    read_query,
    render,
    whole_number,
)
from resolvers.web.lineage import lineage_view

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 25
COMPAT_ANSWERS = 5
_LIST_PARAMETERS = ("q", "task", "library", "first", "after")


@dataclass(frozen=True)
class ListRow:
    """One model in the list."""

    name: str
    href: str
    primary_task: str
    library: str
    parameters: object
    hidden_size: object


def _list_page(
    store: ModelStore, key: bytes, query: Sequence[tuple[str, str]], path: str
) -> Rendered:
    wanted = read_query(query, _LIST_PARAMETERS)
    first = whole_number("first", wanted.get("first"), default=PAGE_SIZE, low=1, high=MAX_PAGE)
    spec = ModelFilter(
        tasks=(wanted["task"],) if "task" in wanted else (),
        libraries=(wanted["library"],) if "library" in wanted else (),
        name_contains=wanted.get("q"),
    )
    try:
        page = list_models(store, spec, first, wanted.get("after"), key)
    except InputError as exc:
        name = {"tasks": "task"}.get(exc.field or "", exc.field or "after")
        raise BadParameter(name, exc.message, exc.hint) from None
    iris = [iri for iri, _ in page.models]
    found = records.load_records(store, iris)
    primary = records.load_primary_tasks(store, iris)
    rows = []
    for iri, name in page.models:
        record = found.get(iri) or records.ModelRecord(iri, name)
        task = primary.get(iri)
        rows.append(
            ListRow(
                name=name,
                href=links.model_href(iri),
                primary_task=task.task.id if task else "",
                library=str(record.one("libraryName") or ""),
                parameters=record.one("parameterCount"),
                hidden_size=record.one("hiddenSize"),
            )
        )
    kept = {k: v for k, v in wanted.items() if k != "after"}
    next_href = None
    if page.has_next and page.cursors:
        next_href = f"{path}?{urlencode({**kept, 'after': page.cursors[-1]})}"
    return render(
        "models.html.j2",
        title="Models",
        rows=rows,
        total=page.total,
        wanted=wanted,
        tasks=sorted(known_tasks()),
        next_href=next_href,
        first_href=f"{path}?{urlencode(kept)}" if "after" in wanted else None,
    )


@router.get("/models", response_class=HTMLResponse)
async def model_list(request: Request) -> HTMLResponse:
    """Models by name, filtered by part of the name, a task and a library, a page at a time."""
    shared = services(request)
    query, path = list(request.query_params.multi_items()), request.url.path
    page = await run_in_worker(
        build,
        lambda: _list_page(shared.store, shared.settings.cursor_key, query, path),
        query_fields=_LIST_PARAMETERS,
    )
    return page.response()


@dataclass(frozen=True)
class Setting:
    """A normalized parameter as read: its value, the key and file it came from, whether this
    reading is the one in effect (a config may say the same thing under several keys)."""

    concept: str
    value: str
    key: str
    file: str
    framework: str
    effective: bool


def _settings(store: ModelStore, iri: str) -> list[Setting]:
    """Every `mkg:ParameterSetting` of the model, effective first within each concept."""
    rows = store.select(
        f"SELECT ?concept ?value ?key ?file ?framework ?effective WHERE {{ "
        f"{sparql_term(NamedNode(iri))} mkg:hasSetting ?s . ?s mkg:concept ?concept ; "
        "mkg:value ?value ; mkg:sourceKey ?key ; mkg:sourceFile ?file . "
        "OPTIONAL { ?s mkg:framework ?framework } OPTIONAL { ?s mkg:effective ?effective } }"
    )
    found = []
    for row in rows:
        concept, value = row["concept"], row["value"]
        if not isinstance(concept, NamedNode) or not isinstance(value, Literal):
            continue
        found.append(
            Setting(
                concept=concept.value.rsplit("#", 1)[-1],
                value=value.value,
                key=str(row["key"].value) if row["key"] is not None else "",
                file=str(row["file"].value) if row["file"] is not None else "",
                framework=str(row["framework"].value) if row["framework"] is not None else "",
                effective=row["effective"] is not None and row["effective"].value == "true",
            )
        )
    return sorted(found, key=lambda s: (s.concept, not s.effective, s.file, s.key))


@dataclass(frozen=True)
class UseRow:
    """A lifecycle record that started from the model: a run that used it, or a version
    registered from it or fine-tuned from it."""

    kind: str
    label: str
    href: str
    relation: str


def _uses(store: ModelStore, iri: str) -> list[UseRow]:
    """Runs that used the model, and versions registered or fine-tuned from it: one query."""
    model = sparql_term(NamedNode(iri))
    rows = store.select(
        "SELECT ?kind ?id ?name ?number ?relation WHERE { "
        f"{{ ?x mkg:usedModel {model} ; mkg:runId ?id OPTIONAL {{ ?x mkg:runName ?name }} "
        'BIND("run" AS ?kind) BIND("used" AS ?relation) } UNION '
        f"{{ VALUES ?p {{ mkg:registeredFrom mkg:fineTunedFrom }} ?x ?p {model} ; "
        "mkg:versionOf/mkg:name ?name ; mkg:versionNumber ?number "
        'BIND("version" AS ?kind) BIND(IF(?p = mkg:registeredFrom, "registered from", '
        '"fine-tuned from") AS ?relation) } } ORDER BY ?kind ?name ?number'
    )
    found = []
    for row in rows:
        kind = str(row["kind"].value)
        name = str(row["name"].value) if row["name"] is not None else ""
        relation = str(row["relation"].value)
        if kind == "run":
            run_id = str(row["id"].value)
            found.append(UseRow("run", name or run_id, links.run_href(run_id), relation))
        else:
            number = str(row["number"].value)
            href = links.version_href(name, number)
            found.append(UseRow("version", f"{name} v{number}", href, relation))
    return found


@dataclass(frozen=True)
class TaskRow:
    """A task the model performs, and why: the rule that inferred it and its premises, or
    that it was read as such from the files."""

    id: str
    label: str
    primary: bool
    why: list[str]


def _task_rows(
    tasks: Sequence[records.TaskRef],
    explanations: Sequence[Explanation],
    primary: records.PrimaryTaskRef | None,
) -> list[TaskRow]:
    reasons: dict[str, list[str]] = {}
    for explanation in explanations:
        fact = explanation.fact
        if fact.predicate.value.endswith("#performsTask") and isinstance(fact.object, NamedNode):
            premises = "; ".join(_triple(p.triple) for p in explanation.premises)
            reasons.setdefault(fact.object.value, []).append(
                f"rule {explanation.rule}" + (f" from {premises}" if premises else "")
            )
    rows = []
    for task in tasks:
        why = reasons.get(task.iri) or ["read from the model's files (asserted, not inferred)"]
        is_primary = primary is not None and primary.task.iri == task.iri
        if is_primary and primary is not None:
            why = [f"primary task: {primary.reason}", *why]
        rows.append(TaskRow(task.id, task.label, is_primary, why))
    return rows


def _short(term: object) -> str:
    """A term as people read it: a hub id, else the IRI's last segment, else the text."""
    text = str(getattr(term, "value", term))
    if "://" not in text:
        return text
    return links.model_label(text) if links.hub_page(text) else re.split(r"[#/]", text)[-1]


def _triple(triple: object) -> str:
    """A premise as people read it: `subject predicate object` with names shortened."""
    parts = (getattr(triple, name, "") for name in ("subject", "predicate", "object"))
    return " ".join(_short(part) for part in parts)


@dataclass(frozen=True)
class CompatRow:
    name: str
    href: str
    score: float
    reasons: tuple[str, ...]


def _compat(shared: Services, iri: str) -> tuple[dict[str, list[CompatRow]], str | None]:
    """Drop-in replacements and models sharing the tokenizer, best first, with reasons."""
    try:
        index = shared.compat.get(shared.store)
        name = lookups.require(index, iri).name
        answers = {
            "Drop-in replacements": lookups.replacements(index, name, COMPAT_ANSWERS),
            "Same tokenizer": lookups.same_tokenizer(index, name, COMPAT_ANSWERS),
        }
    except InputError as exc:
        return {}, exc.message
    shaped: dict[str, list[CompatRow]] = {}
    for title, found in answers.items():
        rows = []
        for answer in found:
            profile = index.find(answer.model)
            other = profile.iri if profile is not None else answer.model
            rows.append(
                CompatRow(answer.model, links.model_href(other), answer.score, answer.reasons)
            )
        shaped[title] = rows
    return shaped, None


_FACTS = (
    ("modelType", "Type"),
    ("architecture", "Architectures"),
    ("libraryName", "Library"),
    ("license", "License"),
    ("parameterCount", "Parameters"),
    ("pipelineTag", "Pipeline tag"),
    ("language", "Languages"),
    ("trainedOn", "Trained on"),
)
"""(record key, label) of the facts shown at the top of a model's page."""


def _model_page(shared: Services, model_id: str) -> Rendered:
    store = shared.store
    if not model_id or len(model_id) > MAX_ID_CHARS:
        raise NotFound(f"no model `{model_id[:80]}` in the registry")
    iri = find_model(store, model_id)
    ids = [iri]
    record = records.load_records(store, ids).get(iri) or records.ModelRecord(iri, model_id)
    primary = records.load_primary_tasks(store, ids).get(iri)
    tasks = _task_rows(records.load_tasks(store, ids).get(iri, []), explain(store, iri), primary)
    facts = [(label, record.all(key)) for key, label in _FACTS if record.all(key)]
    compat, compat_note = _compat(shared, iri)
    return render(
        "model.html.j2",
        title=record.name,
        record=record,
        facts=facts,
        settings=_settings(store, iri),
        tasks=tasks,
        compat=compat,
        compat_note=compat_note,
        hub_page=links.hub_page(iri),
        lineage=lineage_view(store, iri, direction="both", depth=3),
        uses=_uses(store, iri),
    )


@router.get("/models/{model_id:path}", response_class=HTMLResponse)
async def model_page(model_id: str, request: Request) -> HTMLResponse:
    """One model: facts, parameters with their sources, tasks with why, compatibility,
    lineage, and the runs and versions that started from it."""
    shared = services(request)
    page = await run_in_worker(build, lambda: _model_page(shared, model_id))
    return page.response()
