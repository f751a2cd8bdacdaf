"""The GraphQL object types: a model and everything hanging off it.

A `Model` holds only its IRI (and name when known); every field is resolved through the
request's DataLoaders, so asking for `tasks` on a page of 100 models is one store query. A page
of `models` reads its tasks and lineage for all its models before it answers (`PageData`), and
those fields are then plain values. The
normalized parameters are fields too (`hiddenSize`, `numKeyValueHeads`, ...), generated from
`parameters.ttl` when the schema is built: a concept added there is a field here, with no code.
Values that can pass 2^31 (`parameterCount`, by the shapes' `sh:maxInclusive`) are `Long`.
"""

# Strawberry reads resolver annotations at schema build, so they must be real objects here:
# no `from __future__ import annotations` in this module.

from collections.abc import Awaitable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any, NewType, cast

import strawberry
from strawberry.types import Info

from codegen.tools import tool_schemas
from kg.compat import lookups
from kg.compat.memory import estimate_memory, parse_dtype, parse_memory, verdict
from kg.errors import InputError
from kg.models.filters import wide_parameters
from kg.models.records import DataTypeRef, ModelRecord, PartRef, PrimaryTaskRef, TaskRef
from kg.reason.explain import explain
from ontology.parameters import load_parameter_mapping
from resolvers.graphql.context import GraphQLContext
from resolvers.threads import run_in_worker

if TYPE_CHECKING:
    from resolvers.graphql.lifecycle import Run

__all__ = [
    "LONG_SCALAR",
    "CompatAnswer",
    "LineageEdge",
    "Long",
    "MemoryFit",
    "Model",
    "PageData",
    "PrimaryTask",
    "Task",
    "ToolFormat",
]

Edges = list[tuple[str, str, str]]
"""(relation, other model's IRI, its name) per lineage edge."""


Long = NewType("Long", int)
LONG_SCALAR = strawberry.scalar(
    name="Long",
    serialize=int,
    parse_value=int,
    description="A whole number that may pass 2^31 (parameter counts); JSON number on the wire.",
)
"""How `Long` is written (the schema's `scalar_map`)."""


@strawberry.type(description="A Hub task a model performs (asserted by its card or inferred).")
class Task:
    id: str = strawberry.field(description="The Hub's task id, e.g. `text-classification`.")
    label: str
    category: str | None = strawberry.field(description="nlp, audio, vision, multimodal, ...")
    iri: str

    @classmethod
    def of(cls, ref: TaskRef) -> "Task":
        return cls(id=ref.id, label=ref.label, category=ref.category, iri=ref.iri)


@strawberry.type(
    description="The one task the Hub would show for a model (its pipeline_tag), and why it was "
    "chosen: the card's pipeline_tag, else the most specific of the tasks its files imply."
)
class PrimaryTask:
    task: Task
    source: str = strawberry.field(
        description="`card` (the card's pipeline_tag) or `files` (highest task precedence)."
    )
    reason: str = strawberry.field(description="Why this task, in words.")
    rule: str = strawberry.field(description="The rule that chose it (`modelkg explain`).")

    @classmethod
    def of(cls, ref: PrimaryTaskRef) -> "PrimaryTask":
        return cls(task=Task.of(ref.task), source=ref.source, reason=ref.reason, rule=ref.rule)


@strawberry.enum(description="The shape of an LLM tool schema (`modelkg codegen tools --format`).")
class ToolFormat(Enum):
    OPENAI = "openai"
    ANTHROPIC = "anthropic"
    MCP = "mcp"
    JSONSCHEMA = "jsonschema"


@strawberry.type(description="An input or output of a model: data kind, modality and shape.")
class DataType:
    kind: str = strawberry.field(description="Text, Image, Audio, Embedding, LabelSet, ...")
    modality: str | None
    dimension: int | None = strawberry.field(description="An embedding's dimension.")
    labels: list[str] = strawberry.field(description="A classifier's label names.")

    @classmethod
    def of(cls, ref: DataTypeRef) -> "DataType":
        return cls(
            kind=ref.kind, modality=ref.modality, dimension=ref.dimension, labels=list(ref.labels)
        )


@strawberry.type(description="A nested sub-model (text_config, vision_config, encoder, ...).")
class Part:
    iri: str
    config_key: str | None
    model_type: str | None
    parameters: strawberry.scalars.JSON = strawberry.field(
        description="The part's own values by normalized name (`hiddenSize`, ...)."
    )

    @classmethod
    def of(cls, ref: PartRef) -> "Part":
        return cls(
            iri=ref.iri, config_key=ref.config_key, model_type=ref.model_type,
            parameters=cast(strawberry.scalars.JSON, ref.values),
        )  # fmt: skip


@strawberry.type(description="A triple a rule used, with the file and key its value came from.")
class Premise:
    triple: str
    source_file: str | None
    source_key: str | None


@strawberry.type(description="One inferred fact about a model and why it holds.")
class Explanation:
    fact: str
    rule: str
    premises: list[Premise]


@strawberry.type(
    description="One part of a compatibility score: what was measured, the points it earned "
    "out of its weight, and why."
)
class ScoreComponent:
    name: str = strawberry.field(description="What was measured: size, lineage, family, ...")
    points: float
    weight: float = strawberry.field(description="The most this part can earn.")
    why: str


@strawberry.type(
    description="A model in a compatibility answer, with its score (the sum of its "
    "components), its case and reasons."
)
class CompatAnswer:
    model: "Model"
    score: float
    case: str = strawberry.field(
        description="Why it is listed: replacement, needs base (an adapter), consumes, "
        "tokenizer, lineage, fits."
    )
    reasons: list[str]
    components: list[ScoreComponent] = strawberry.field(description="What the score is made of.")


@strawberry.type(description="Whether a model fits a memory budget, with the arithmetic.")
class MemoryFit:
    fits: bool
    total_bytes: Long
    lines: list[str]


@strawberry.type(description="A lineage link: how one model was made from another.")
class LineageEdge:
    relation: str = strawberry.field(description="fine-tune, adapter, quantization or merge.")
    model: "Model"


def _context(info: Info) -> GraphQLContext:
    context = info.context
    assert isinstance(context, GraphQLContext)
    return context


async def _record(root: "_ModelFields", info: Info) -> ModelRecord | None:
    return await _context(info).records.load(root.iri)


def _answers(answers: list[lookups.Answer], index: Any) -> list[CompatAnswer]:
    out = []
    for answer in answers:
        profile = index.find(answer.model)
        iri = profile.iri if profile is not None else answer.model
        parts = [
            ScoreComponent(name=c.name, points=c.points, weight=c.weight, why=c.why)
            for c in answer.components
        ]
        name = profile.name if profile is not None else answer.model
        out.append(CompatAnswer(model=Model(key=iri, known_name=name), score=answer.score,
                                case=answer.case, reasons=list(answer.reasons),
                                components=parts))  # fmt: skip
    return out


def _lineage(edges: Edges) -> list["LineageEdge"]:
    return [LineageEdge(relation=r, model=Model(key=iri, known_name=n)) for r, iri, n in edges]


def _single(name: str, description: str) -> Any:
    async def resolve(root: _ModelFields, info: Info) -> str | None:
        record = await _record(root, info)
        value = record.one(name) if record else None
        return None if value is None else str(value)

    return strawberry.field(resolver=resolve, description=description)


def _many(name: str, description: str) -> Any:
    async def resolve(root: _ModelFields, info: Info) -> list[str]:
        record = await _record(root, info)
        return [str(v) for v in record.all(name)] if record else []

    return strawberry.field(resolver=resolve, description=description)


def _parameter(name: str, label: str, kind: str) -> Any:
    wide = name in wide_parameters()

    async def resolve(root: _ModelFields, info: Info) -> Any:
        record = await _record(root, info)
        value = record.one(name) if record else None
        if value is None or kind != "integer":
            return value
        return int(str(value))

    returns: Any = Long if wide else int if kind == "integer" else str
    returns = returns | None
    resolve.__annotations__["return"] = returns
    return strawberry.field(resolver=resolve, description=f"Normalized parameter: {label}.")


@dataclass(frozen=True)
class PageData:
    """What a page of models already read for all of them, by model IRI (None: not read, the
    field goes through its DataLoader): a page's `tasks`, `baseModels` and `derivedModels`
    answered as plain values, not as one awaited DataLoader future per model and field, which
    cost graphql-core more than the store queries themselves (~3 ms of a 20-model page)."""

    tasks: Mapping[str, list[TaskRef]] | None = None
    bases: Mapping[str, Edges] | None = None
    derived: Mapping[str, Edges] | None = None


class _ModelFields:
    """A registered model; `model_type` adds a field per parameter and makes it a GraphQL type."""

    key: strawberry.Private[str]
    known_name: strawberry.Private[str | None] = None
    page: strawberry.Private[PageData | None] = None

    if TYPE_CHECKING:  # strawberry makes the built type a dataclass with this constructor

        def __init__(
            self, key: str, known_name: str | None = None, page: PageData | None = None
        ) -> None: ...

    @property
    def iri(self) -> str:
        return self.key

    @strawberry.field(name="iri", description="The model's IRI in the graph.")
    def iri_field(self) -> str:
        return self.key

    # id and name are plain (not async) fields: whoever makes a Model knows its name, and an
    # async field per model costs graphql-core a coroutine and a gather (a page has ~40)
    @strawberry.field(description="The hub id (or name) of the model: what `model(id:)` takes.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(self.known_name or self.key)

    @strawberry.field(description="The model's name (its hub id when it has one).")
    def name(self) -> str:
        return self.known_name or self.key

    @strawberry.field(description="Every model's classes: Model, SentenceTransformer, ...")
    async def kinds(self, info: Info) -> list[str]:
        record = await _record(self, info)
        return [c.rsplit("#", 1)[-1] for c in record.classes] if record else []

    @strawberry.field(description="True when the config's auto_map needs trust_remote_code.")
    async def custom_code(self, info: Info) -> bool | None:
        record = await _record(self, info)
        value = record.one("customCode") if record else None
        return None if value is None else bool(value)

    # tasks and lineage are plain fields when the page read them (`PageData`), else awaitables
    @strawberry.field(
        description="Tasks the model performs, asserted or inferred.", graphql_type=list[Task]
    )
    def tasks(self, info: Info) -> list[Task] | Awaitable[list[Task]]:
        if self.page is not None and self.page.tasks is not None:
            return [Task.of(ref) for ref in self.page.tasks.get(self.iri, [])]
        return self._tasks(info)

    async def _tasks(self, info: Info) -> list[Task]:
        return [Task.of(ref) for ref in await _context(info).tasks.load(self.iri)]

    @strawberry.field(
        description="The task the Hub would show as the model's pipeline_tag, with its reason "
        "(null until `modelkg reason` has run)."
    )
    async def primary_task(self, info: Info) -> PrimaryTask | None:
        ref = await _context(info).primary_task.load(self.iri)
        return PrimaryTask.of(ref) if ref is not None else None

    @strawberry.field(description="What the model accepts.")
    async def inputs(self, info: Info) -> list[DataType]:
        inputs, _ = await _context(info).io.load(self.iri)
        return [DataType.of(ref) for ref in inputs]

    @strawberry.field(description="What the model produces.")
    async def outputs(self, info: Info) -> list[DataType]:
        _, outputs = await _context(info).io.load(self.iri)
        return [DataType.of(ref) for ref in outputs]

    @strawberry.field(description="Modalities of its inputs and outputs (Text, Image, Audio, ...).")
    async def modalities(self, info: Info) -> list[str]:
        inputs, outputs = await _context(info).io.load(self.iri)
        return sorted({ref.modality for ref in inputs + outputs if ref.modality})

    @strawberry.field(
        description="Runs that used this model (fine-tuned it) or made a version of it."
    )
    async def runs(
        self, info: Info
    ) -> list[Annotated["Run", strawberry.lazy("resolvers.graphql.lifecycle")]]:
        from kg.lifecycle.tracking import Tracking
        from resolvers.graphql.lifecycle import Run

        context = _context(info)
        ids = await context.runs_of.load(self.iri)
        tracking = Tracking(context.store)
        found = await run_in_worker(lambda: [tracking.get_run(i) for i in ids])
        return [Run(record=run) for run in found]

    @strawberry.field(description="Nested sub-models with their own parameters.")
    async def parts(self, info: Info) -> list[Part]:
        return [Part.of(ref) for ref in await _context(info).parts.load(self.iri)]

    @strawberry.field(
        description="The models this one was made from, with the relation.",
        graphql_type=list[LineageEdge],
    )
    def base_models(self, info: Info) -> list["LineageEdge"] | Awaitable[list["LineageEdge"]]:
        return self._edges(info, derived=False)

    @strawberry.field(
        description="The models made from this one, with the relation.",
        graphql_type=list[LineageEdge],
    )
    def derived_models(self, info: Info) -> list["LineageEdge"] | Awaitable[list["LineageEdge"]]:
        return self._edges(info, derived=True)

    def _edges(
        self, info: Info, *, derived: bool
    ) -> list["LineageEdge"] | Awaitable[list["LineageEdge"]]:
        """The page's edges when it read them, else an awaitable of the DataLoader's."""
        read = None if self.page is None else self.page.derived if derived else self.page.bases
        if read is not None:
            return _lineage(read.get(self.iri, []))
        return self._load_lineage(info, derived=derived)

    async def _load_lineage(self, info: Info, *, derived: bool) -> list["LineageEdge"]:
        loader = _context(info).derived if derived else _context(info).bases
        return _lineage(await loader.load(self.iri))

    @strawberry.field(description="Every inferred fact with its rule and premises (`explain`).")
    async def explanations(self, info: Info) -> list[Explanation]:
        from resolvers.threads import run_in_worker

        found = await run_in_worker(explain, _context(info).store, self.iri)
        return [
            Explanation(
                fact=str(e.fact), rule=e.rule,
                premises=[Premise(triple=str(p.triple), source_file=p.source_file,
                                  source_key=p.source_key) for p in e.premises],
            )
            for e in found
        ]  # fmt: skip

    @strawberry.field(
        description="The model's interface description (`modelkg codegen describe`): one typed "
        "function per task code knows, arguments bounded by the model's facts, the result's "
        "shape; null, with an error naming the missing fact, for a model that cannot become code."
    )
    async def interface(self, info: Info) -> strawberry.scalars.JSON | None:
        interface = await _context(info).interfaces.load(self.iri)
        return cast(strawberry.scalars.JSON, interface.model_dump(mode="json"))

    @strawberry.field(
        description="The model's LLM tool schemas in `format` (`modelkg codegen tools`): a list, "
        "one tool per function; null, with an error, for a model that cannot become code."
    )
    async def tool_schema(
        self, info: Info, fmt: Annotated[ToolFormat, strawberry.argument(name="format")]
    ) -> strawberry.scalars.JSON | None:
        interface = await _context(info).interfaces.load(self.iri)
        return cast(strawberry.scalars.JSON, tool_schemas([interface], fmt.value))

    @strawberry.field(description="Models that can take this model's output as input.")
    async def consumers(self, info: Info, first: int = 20) -> list[CompatAnswer]:
        index = await _context(info).compat()
        return _answers(lookups.consumers(index, self.iri, _limit(first)), index)

    @strawberry.field(description="Drop-in replacements: same tasks, inputs, outputs, shapes.")
    async def replacements(self, info: Info, first: int = 20) -> list[CompatAnswer]:
        index = await _context(info).compat()
        return _answers(lookups.replacements(index, self.iri, _limit(first)), index)

    @strawberry.field(description="Models whose embeddings live in this model's vector space.")
    async def same_embedding_space(self, info: Info, first: int = 20) -> list[CompatAnswer]:
        index = await _context(info).compat()
        return _answers(lookups.same_embedding_space(index, self.iri, _limit(first)), index)

    @strawberry.field(description="Models with the same tokenizer and vocabulary.")
    async def same_tokenizer(self, info: Info, first: int = 20) -> list[CompatAnswer]:
        index = await _context(info).compat()
        return _answers(lookups.same_tokenizer(index, self.iri, _limit(first)), index)

    @strawberry.field(description='Whether the model fits `memory` (e.g. "16GB", "8GiB").')
    async def fits_in(
        self, info: Info, memory: str, dtype: str = "bf16", seq_len: int = 4096, batch: int = 1
    ) -> MemoryFit | None:
        index = await _context(info).compat()
        budget = parse_memory(memory)
        profile = lookups.require(index, self.iri)
        if not profile.parameters:
            return None
        estimate = estimate_memory(
            parameters=profile.parameters, dtype=parse_dtype(dtype), layers=profile.layers,
            kv_heads=profile.kv_heads, head_dim=profile.effective_head_dim, seq_len=seq_len,
            batch=batch, generative=profile.generative,
        )  # fmt: skip
        return MemoryFit(
            fits=estimate.total_bytes <= budget,
            total_bytes=Long(estimate.total_bytes),
            lines=[*estimate.lines, verdict(estimate, budget)],
        )


def _limit(first: int) -> int:
    if not 1 <= first <= 100:
        raise InputError(f"`first` is {first}; ask for 1 to 100", field="first")
    return first


_SINGLE = {
    "hubId": "The Hub repository id.",
    "revision": "The Hub commit the metadata was read from.",
    "modelType": "The config's model_type.",
    "license": "The card's license.",
    "libraryName": "The card's library_name (transformers, sentence-transformers, ...).",
    "pipelineTag": "The card's pipeline_tag.",
    "description": "The card's summary.",
    "baseModelRelation": "The card's base_model_relation.",
}
_MANY = {
    "architecture": ("architectures", "The config's architectures."),
    "language": ("languages", "The card's languages."),
    "tag": ("tags", "The card's tags."),
    "trainedOn": ("datasets", "The datasets the card names."),
}


def _model_type() -> Any:
    """`Model` as a strawberry type, with a field per normalized parameter (camelCase)."""
    namespace: dict[str, Any] = {
        key: value
        for key, value in vars(_ModelFields).items()
        if not key.startswith("__") or key in ("__annotations__", "__doc__")
    }  # strawberry reads fields from the class itself, so copy rather than inherit
    for key, description in _SINGLE.items():
        namespace[key] = _single(key, description)
    for key, (field_name, description) in _MANY.items():
        namespace[field_name] = _many(key, description)
    for concept in load_parameter_mapping().concepts.values():
        name = concept.local_name
        if name not in namespace:
            namespace[name] = _parameter(name, concept.label, concept.value_kind)
    built = type("Model", (), namespace)
    built.__module__ = __name__
    return strawberry.type(built, description="A registered model: metadata, parameters, tasks, "
                           "I/O, lineage, compatibility.")  # fmt: skip


if TYPE_CHECKING:
    Model = _ModelFields
else:
    Model = _model_type()
