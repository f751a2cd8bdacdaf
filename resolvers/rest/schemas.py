"""The REST API's JSON shapes, as pydantic models so `/openapi.json` describes every answer.

Keys are camelCase, the names the GraphQL schema uses for the same data (`modelType`,
`totalCount`, `hasNextPage`), so a client can move between the two APIs without a mapping.
Python code builds them with snake_case field names; FastAPI writes the camelCase aliases.

>>> ModelRef(id="openai-community/gpt2", iri="https://huggingface.co/openai-community/gpt2")\\
...     .model_dump(by_alias=True)["id"]
'openai-community/gpt2'
>>> PageInfo(has_next_page=False, end_cursor=None).model_dump(by_alias=True)
{'hasNextPage': False, 'endCursor': None}
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

__all__ = [
    "ApiVersion",
    "ChainStep",
    "CompatAnswer",
    "DataType",
    "ErrorBody",
    "ErrorResponse",
    "Excluded",
    "Explanation",
    "FitsAnswer",
    "IngestReportOut",
    "IngestRequest",
    "LineageEdge",
    "MemoryFit",
    "ModelDetail",
    "ModelPage",
    "ModelRef",
    "ModelSummary",
    "PageInfo",
    "Part",
    "Premise",
    "PrimaryTask",
    "Rejection",
    "ScoreComponent",
    "Task",
]

ParameterValue = int | float | bool | str
"""A normalized parameter's value: numbers for sizes and counts, strings for dtypes."""


class _Shape(BaseModel):
    """camelCase on the wire, snake_case in Python; frozen: an answer is a value."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True)


class ErrorBody(_Shape):
    code: str = Field(description="Stable machine-readable code: `not_found`, `bad_parameter`...")
    message: str = Field(description="What went wrong, naming the bad value.")
    field: str | None = Field(description="The parameter or field at fault, when there is one.")
    hint: str | None = Field(description="How to fix it: close names, allowed values.")


class ErrorResponse(_Shape):
    """Every error of every endpoint (REST, SPARQL, `/health`) has this shape."""

    error: ErrorBody


class ModelRef(_Shape):
    """A pointer to a model: its hub id (what `/models/{id}` takes) and its IRI in the graph."""

    id: str
    iri: str


class ModelSummary(_Shape):
    """A model as a list shows it: cheap fields only (one batched query each per page)."""

    id: str = Field(description="The hub id (or name): what `/models/{id}` takes.")
    iri: str
    name: str
    tasks: list[str] = Field(description="Hub task ids, asserted or inferred.")
    model_type: str | None = Field(description="The config's model_type.")
    license: str | None
    library_name: str | None


class PageInfo(_Shape):
    has_next_page: bool
    end_cursor: str | None = Field(description="Pass as `after` for the next page.")


class Excluded(_Shape):
    """Models a range left out only because the value it ranges over is not known for them."""

    parameter: str = Field(description="The ranged parameter, e.g. `parameterCount`.")
    count: int = Field(description="How many models the rest of the filter admits.")
    reason: str


class ModelPage(_Shape):
    """One page of models, ordered by name; `Link: <...>; rel="next"` points at the next."""

    items: list[ModelSummary]
    total_count: int = Field(description="How many models the filter admits, on all pages.")
    page_info: PageInfo
    excluded: list[Excluded] = Field(
        default_factory=list,
        description="Per range, the models it left out because their value is not known (not "
        "in `totalCount`); a size filter never drops models of unknown size silently.",
    )


class Task(_Shape):
    id: str = Field(description="The Hub's task id, e.g. `text-classification`.")
    label: str
    category: str | None = Field(description="nlp, audio, vision, multimodal, ...")
    iri: str


class PrimaryTask(_Shape):
    """The one task the Hub would show as the model's pipeline_tag, and why it was chosen."""

    task: Task
    source: str = Field(description="`card` (its pipeline_tag) or `files` (task precedence).")
    reason: str
    rule: str = Field(description="The rule that chose it; `/models/{id}/explanations` shows it.")


class DataType(_Shape):
    """An input or output: data kind, modality and shape."""

    kind: str = Field(description="Text, Image, Audio, Embedding, LabelSet, ...")
    modality: str | None
    dimension: int | None = Field(description="An embedding's dimension.")
    labels: list[str] = Field(description="A classifier's label names.")


class Part(_Shape):
    """A nested sub-model (text_config, vision_config, encoder, ...)."""

    iri: str
    config_key: str | None
    model_type: str | None
    parameters: dict[str, ParameterValue]


class LineageEdge(_Shape):
    relation: str = Field(description="fine-tune, adapter, quantization or merge.")
    model: ModelRef


class ModelDetail(_Shape):
    """Everything the registry holds about one model, named as in the GraphQL `Model` type."""

    id: str
    iri: str
    name: str
    kinds: list[str] = Field(description="The model's classes: Model, SentenceTransformer, ...")
    hub_id: str | None
    revision: str | None = Field(description="The Hub commit the metadata was read from.")
    model_type: str | None
    license: str | None
    library_name: str | None
    pipeline_tag: str | None
    description: str | None
    base_model_relation: str | None
    custom_code: bool | None = Field(description="True when auto_map needs trust_remote_code.")
    architectures: list[str]
    languages: list[str]
    tags: list[str]
    datasets: list[str]
    parameters: dict[str, ParameterValue] = Field(
        description="Every normalized parameter present, by camelCase name (`hiddenSize`, ...)."
    )
    tasks: list[Task]
    primary_task: PrimaryTask | None = Field(
        default=None, description="Null until `modelkg reason` has run."
    )
    inputs: list[DataType]
    outputs: list[DataType]
    modalities: list[str]
    parts: list[Part]
    base_models: list[LineageEdge]
    derived_models: list[LineageEdge]


class Premise(_Shape):
    """A triple a rule used, with the file and key its value was read from."""

    triple: str
    source_file: str | None
    source_key: str | None


class Explanation(_Shape):
    """One inferred fact about a model and why it holds."""

    fact: str
    rule: str
    premises: list[Premise]


class ScoreComponent(_Shape):
    """One part of a compatibility score: what was measured, the points it earned out of its
    weight, and why."""

    name: str = Field(description="What was measured: `size`, `lineage`, `family`, ...")
    points: float
    weight: float = Field(description="The most this part can earn.")
    why: str


class CompatAnswer(_Shape):
    """A model in a compatibility answer, with its score (0..1, the sum of its components),
    its case and the reasons it is there."""

    model: ModelRef
    score: float
    case: str = Field(
        description="Why it is listed: `replacement`, `needs base` (an adapter), `consumes`, "
        "`tokenizer`, `lineage`, `fits`."
    )
    reasons: list[str]
    components: list[ScoreComponent] = Field(description="What the score is made of.")


class MemoryFit(_Shape):
    """Whether one model fits a memory budget, with the arithmetic line by line."""

    model: ModelRef
    fits: bool
    total_bytes: int
    lines: list[str]


class FitsAnswer(_Shape):
    """Models that fit a budget, largest share of it first, and those of unknown size."""

    items: list[CompatAnswer]
    unsized: list[str] = Field(description="Models left out because their size is not known.")


class ChainStep(_Shape):
    """One link of a pipeline: does `producer`'s output feed `consumer`'s input?"""

    producer: str
    consumer: str
    ok: bool
    reasons: list[str]


class IngestRequest(_Shape):
    """Server-side folders or files to ingest; each must lie under an allowed root."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, frozen=True, extra="forbid"
    )
    paths: list[Annotated[str, Field(min_length=1)]] = Field(
        min_length=1, examples=[["/srv/models/org__name"]]
    )


class Rejection(_Shape):
    source: str
    reason: str


class IngestReportOut(_Shape):
    """What an ingest did: 200 when nothing was rejected, 422 (same body) otherwise."""

    ingested: list[str]
    updated: list[str]
    unchanged: list[str]
    rejected: list[Rejection]
    warnings: list[str]
    triples: int


class ApiVersion(_Shape):
    version: str = Field(description="The ModelKG version serving this API.")
    api: str = Field(description="The REST API's version: `v1`.")
