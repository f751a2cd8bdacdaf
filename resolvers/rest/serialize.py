"""`kg` values as the REST API's JSON shapes: pure conversions, no store access.

The handlers read with the batched readers of `kg.models.records` and hand the results here,
so what a field is called and how it is filled lives in one place. Card fields and parameters
keep the names the graph (and the GraphQL schema) give them; every normalized parameter of
`parameters.ttl` that a model has appears under `parameters`, with no code per parameter.

>>> from kg.models.records import ModelRecord
>>> record = ModelRecord("https://huggingface.co/gpt2", "gpt2",
...                      {"hiddenSize": [768], "modelType": ["gpt2"], "tag": ["b", "a"]})
>>> summary(record, []).model_type
'gpt2'
>>> parameters_of(record)
{'hiddenSize': 768}
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

from kg.compat import lookups
from kg.compat.index import CompatIndex
from kg.models.records import DataTypeRef, ModelRecord, PartRef, PrimaryTaskRef, TaskRef
from ontology.parameters import load_parameter_mapping
from resolvers.ingest import IngestReport
from resolvers.rest import schemas

__all__ = [
    "chain_steps",
    "compat_answers",
    "detail",
    "ingest_report",
    "model_ref",
    "parameters_of",
    "summary",
]


@cache
def _parameter_names() -> tuple[str, ...]:
    """The normalized parameters' camelCase names, from `parameters.ttl`."""
    return tuple(sorted({c.local_name for c in load_parameter_mapping().concepts.values()}))


def _text(record: ModelRecord, key: str) -> str | None:
    value = record.one(key)
    return None if value is None else str(value)


def _texts(record: ModelRecord, key: str) -> list[str]:
    return [str(value) for value in record.all(key)]


def parameters_of(record: ModelRecord) -> dict[str, schemas.ParameterValue]:
    """Every normalized parameter the model has, by camelCase name."""
    found: dict[str, schemas.ParameterValue] = {}
    for name in _parameter_names():
        value = record.one(name)
        if isinstance(value, int | float | bool | str):
            found[name] = value
    return found


def model_ref(iri: str, name: str | None) -> schemas.ModelRef:
    """A pointer to a model; the IRI stands in for the id when the model has no name."""
    return schemas.ModelRef(id=name or iri, iri=iri)


def summary(record: ModelRecord, tasks: Sequence[TaskRef]) -> schemas.ModelSummary:
    """A model as the list shows it."""
    return schemas.ModelSummary(
        id=record.name,
        iri=record.iri,
        name=record.name,
        tasks=[task.id for task in tasks],
        model_type=_text(record, "modelType"),
        license=_text(record, "license"),
        library_name=_text(record, "libraryName"),
    )


def _data_type(ref: DataTypeRef) -> schemas.DataType:
    return schemas.DataType(
        kind=ref.kind, modality=ref.modality, dimension=ref.dimension, labels=list(ref.labels)
    )


def _part(ref: PartRef) -> schemas.Part:
    values = {k: v for k, v in ref.values.items() if isinstance(v, int | float | bool | str)}
    return schemas.Part(
        iri=ref.iri, config_key=ref.config_key, model_type=ref.model_type, parameters=values
    )


def _edges(edges: Sequence[tuple[str, str, str]]) -> list[schemas.LineageEdge]:
    return [
        schemas.LineageEdge(relation=relation, model=model_ref(iri, name))
        for relation, iri, name in edges
    ]


def _task(ref: TaskRef) -> schemas.Task:
    return schemas.Task(id=ref.id, label=ref.label, category=ref.category, iri=ref.iri)


def detail(
    record: ModelRecord,
    tasks: Sequence[TaskRef],
    io: tuple[Sequence[DataTypeRef], Sequence[DataTypeRef]],
    parts: Sequence[PartRef],
    lineage: tuple[Sequence[tuple[str, str, str]], Sequence[tuple[str, str, str]]],
    primary: PrimaryTaskRef | None = None,
) -> schemas.ModelDetail:
    """Everything about one model; `lineage` is (bases, derived) as (relation, IRI, name)."""
    inputs, outputs = io
    bases, derived = lineage
    custom_code = record.one("customCode")
    return schemas.ModelDetail(
        id=record.name,
        iri=record.iri,
        name=record.name,
        kinds=[kind.rsplit("#", 1)[-1] for kind in record.classes],
        hub_id=_text(record, "hubId"),
        revision=_text(record, "revision"),
        model_type=_text(record, "modelType"),
        license=_text(record, "license"),
        library_name=_text(record, "libraryName"),
        pipeline_tag=_text(record, "pipelineTag"),
        description=_text(record, "description"),
        base_model_relation=_text(record, "baseModelRelation"),
        custom_code=None if custom_code is None else bool(custom_code),
        architectures=_texts(record, "architecture"),
        languages=_texts(record, "language"),
        tags=_texts(record, "tag"),
        datasets=_texts(record, "trainedOn"),
        parameters=parameters_of(record),
        tasks=[_task(t) for t in tasks],
        primary_task=None
        if primary is None
        else schemas.PrimaryTask(
            task=_task(primary.task),
            source=primary.source,
            reason=primary.reason,
            rule=primary.rule,
        ),
        inputs=[_data_type(ref) for ref in inputs],
        outputs=[_data_type(ref) for ref in outputs],
        modalities=sorted({ref.modality for ref in [*inputs, *outputs] if ref.modality}),
        parts=[_part(ref) for ref in parts],
        base_models=_edges(bases),
        derived_models=_edges(derived),
    )


def compat_answers(
    index: CompatIndex, answers: Sequence[lookups.Answer]
) -> list[schemas.CompatAnswer]:
    """Lookup answers with each model's id and IRI (answers name models by name)."""
    shaped = []
    for answer in answers:
        profile = index.find(answer.model)
        iri = profile.iri if profile is not None else answer.model
        shaped.append(
            schemas.CompatAnswer(
                model=model_ref(iri, answer.model), score=answer.score, case=answer.case,
                reasons=list(answer.reasons),
                components=[schemas.ScoreComponent(name=c.name, points=c.points,
                                                   weight=c.weight, why=c.why)
                            for c in answer.components],
            )
        )  # fmt: skip
    return shaped


def chain_steps(steps: Sequence[lookups.ChainStep]) -> list[schemas.ChainStep]:
    return [
        schemas.ChainStep(
            producer=s.producer, consumer=s.consumer, ok=s.ok, reasons=list(s.reasons)
        )
        for s in steps
    ]


def ingest_report(report: IngestReport) -> schemas.IngestReportOut:
    """The report as GraphQL's `IngestResult` gives it: warnings as `source: warning` lines."""
    return schemas.IngestReportOut(
        ingested=report.ingested,
        updated=report.updated,
        unchanged=report.unchanged,
        rejected=[schemas.Rejection(source=s, reason=r) for s, r in report.rejected],
        warnings=[f"{source}: {warning}" for source, warning in report.warnings],
        triples=report.triples,
    )
