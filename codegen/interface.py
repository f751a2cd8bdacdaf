"""A model's interface description: the functions code can call it through, read from the graph.

Everything generated (UDF packages, tool schemas, MCP servers) and every interface diff starts
here, so they cannot disagree. A function is the model's task as `ontology/codegen.ttl` binds it
(name, runtime, arguments with their types); the model's own facts fill in the shapes (the
embedding's dimension, the label names), the bounds (`max_new_tokens` up to its positions), the
defaults (its sampling rate) and the hints (sequence length, modalities, memory); the card gives
the descriptions. The description is plain data (pydantic), saved as JSON for snapshots.

>>> import tempfile
>>> from kg.ingest.register import register
>>> from kg.store import open_store
>>> store = open_store(tempfile.mkdtemp() + "/kg")
>>> _ = register(["examples/models/tiny-sentiment-classifier"], store, size=False)
>>> interface = describe(store, "tiny-sentiment-classifier")
>>> [(f.name, f.task, f.result.python_type) for f in interface.functions]
[('classify', 'text-classification', "Literal['NEGATIVE', 'POSITIVE']")]
"""

from __future__ import annotations

import keyword
import math
import re
from collections.abc import Sequence
from functools import cache
from typing import Literal

from pydantic import BaseModel, ConfigDict
from pyoxigraph import Literal as RdfLiteral
from pyoxigraph import NamedNode, RdfFormat, Store

from kg.compat.memory import DTYPE_BYTES
from kg.errors import CodegenError
from kg.models import records
from kg.store.base import ModelStore
from ontology.files import CODEGEN_FILE, CORE_FILE, TASKS_FILE
from ontology.namespaces import sparql_prologue

__all__ = [
    "INTERFACE_VERSION",
    "Argument",
    "Function",
    "ModelInterface",
    "Result",
    "describe",
    "describe_each",
    "describe_many",
    "python_name",
]

INTERFACE_VERSION = 1
"""Bumped when the description's own shape changes (a saved snapshot says which it has)."""

_MKG = "https://w3id.org/modelkg/ontology#"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Argument(_Frozen):
    """One argument of a generated function."""

    name: str
    kind: str | None
    """the data kind it carries (`Text`, `Image`, ...), or None for an option"""
    python_type: str
    json_type: str
    json_item_type: str | None = None
    description: str = ""
    required: bool = True
    default: int | float | str | None = None
    minimum: int | None = None
    maximum: int | None = None
    semantic_name: str | None = None
    """the normalized parameter it is (`samplingRate`), when it is one"""
    hint: str | None = None
    """how a tool call passes it (a path to an image file, ...)"""


class Result(_Frozen):
    """What a generated function returns."""

    kind: str
    python_type: str
    """`list[float]`, `str`, or a `Literal[...]` of the label names"""
    json_type: str
    json_item_type: str | None = None
    dimension: int | None = None
    labels: tuple[str, ...] = ()


class Function(_Frozen):
    """One function: a task of the model, as code calls it."""

    name: str
    task: str
    task_label: str
    runtime: Literal["transformers", "sentence-transformers"]
    pipeline_task: str | None
    description: str
    arguments: tuple[Argument, ...]
    result: Result


class ModelInterface(_Frozen):
    """Everything code needs to call one model, and nothing about how it is generated."""

    interface_version: int = INTERFACE_VERSION
    model_id: str
    iri: str
    module: str
    """the model's name as a Python module (`all_minilm_l6_v2`)"""
    summary: str
    license: str | None
    intended_use: str | None
    limitations: str | None
    library: str | None
    modalities: tuple[str, ...]
    max_sequence_length: int | None
    weights_bytes: int | None
    """memory for the weights, in the model's dtype (float32 when it states none)"""
    source_location: str | None
    """the folder the model was ingested from, where its weights may be"""
    functions: tuple[Function, ...]


def python_name(text: str) -> str:
    """`text` as a Python identifier: lower case, `_` for anything else, never a keyword.

    >>> python_name("sentence-transformers/all-MiniLM-L6-v2")
    'all_minilm_l6_v2'
    >>> python_name("openai/class")
    'class_'
    >>> python_name("org/2-bit")
    'm_2_bit'
    """
    name = re.sub(r"[^0-9a-zA-Z]+", "_", text.rsplit("/", 1)[-1]).strip("_").lower() or "model"
    if name[0].isdigit():
        name = "m_" + name
    if keyword.iskeyword(name) or keyword.issoftkeyword(name):
        name += "_"
    return name


def describe(store: ModelStore, model_id: str) -> ModelInterface:
    """The interface of the model a hub id, name or IRI names.

    Raises `CodegenError` naming the model and the missing fact: not in the graph, no known
    task, or no task that code can call.
    """
    return describe_many(store, [model_id])[0]


def describe_many(store: ModelStore, model_ids: Sequence[str]) -> list[ModelInterface]:
    """`describe` for many models with a fixed number of queries (a thousand cost the same
    handful as one); raises the `CodegenError` of the first model that cannot become code,
    or one naming every model not in the graph."""
    described = describe_each(store, model_ids)
    missing = [
        m for m, d in zip(model_ids, described, strict=True) if isinstance(d, _UnknownModelError)
    ]
    if missing:
        raise _unknown(missing)
    for outcome in described:
        if isinstance(outcome, CodegenError):
            raise outcome
    return [d for d in described if isinstance(d, ModelInterface)]


def describe_each(
    store: ModelStore, model_ids: Sequence[str]
) -> list[ModelInterface | CodegenError]:
    """Each model's interface, or the `CodegenError` that says why it cannot become code, in
    one batch of queries: a page of models where some cannot be code still answers for the
    rest (GraphQL's `interface` field fails only its own model's)."""
    found = records.find_models(store, list(model_ids))
    iris = sorted({found[m] for m in model_ids if m in found})
    loaded = records.load_records(store, iris)
    tasks = records.load_tasks(store, iris)
    primary = records.load_primary_tasks(store, iris)
    io = records.load_io(store, iris)
    locations = _source_locations(store, iris)
    described: list[ModelInterface | CodegenError] = []
    for model_id in model_ids:
        iri = found.get(model_id)
        if iri is None:
            described.append(_unknown([model_id]))
            continue
        try:
            described.append(
                _interface(
                    model_id,
                    loaded.get(iri) or records.ModelRecord(iri, model_id),
                    tasks.get(iri, []),
                    primary.get(iri),
                    io.get(iri, ([], [])),
                    locations.get(iri),
                )
            )
        except CodegenError as exc:  # kept without its traceback: it holds this thread's rows
            described.append(exc.with_traceback(None))
    return described


class _UnknownModelError(CodegenError):
    """A model that is not in the graph."""


def _unknown(model_ids: Sequence[str]) -> _UnknownModelError:
    return _UnknownModelError(
        f"no model {', '.join(f'`{m}`' for m in model_ids)} in the graph",
        hint="ingest it first (`modelkg ingest`), or list models with `modelkg search`",
    )


def _interface(
    model_id: str,
    record: records.ModelRecord,
    tasks: list[records.TaskRef],
    primary: records.PrimaryTaskRef | None,
    io: tuple[list[records.DataTypeRef], list[records.DataTypeRef]],
    location: str | None,
) -> ModelInterface:
    name = record.name or model_id
    if not tasks:
        raise CodegenError(
            f"model `{name}` has no known task, so there is no function to generate",
            field="mkg:performsTask",
            hint="give it a card with a pipeline_tag, or a config whose architecture names a head; "
            "`modelkg explain` shows what was inferred",
        )
    bindings = task_bindings()
    callable_tasks = [t for t in tasks if t.id in bindings]
    if not callable_tasks:
        listed = ", ".join(f"`{t.id}`" for t in tasks)
        raise CodegenError(
            f"model `{name}`: no task of its ({listed}) has a type mapping for code",
            field="mkg:codeFunction",
            hint=f"tasks with one: {', '.join(sorted(bindings))} (ontology/codegen.ttl)",
        )
    first = primary.task.id if primary is not None else None
    callable_tasks.sort(key=lambda t: (t.id != first, t.id))
    outputs = io[1]
    functions: dict[str, Function] = {}
    for task in callable_tasks:
        function = _function(record, task, bindings[task.id], outputs)
        functions.setdefault(function.name, function)  # feature-extraction and similarity: one
    return ModelInterface(
        model_id=name,
        iri=record.iri,
        module=python_name(name),
        summary=_text(record.one("description")) or f"The model {name}.",
        license=_text(record.one("license")),
        intended_use=_text(record.one("intendedUse")),
        limitations=_text(record.one("limitations")),
        library=_text(record.one("libraryName")),
        modalities=tuple(sorted({d.modality for d in io[0] if d.modality})),
        max_sequence_length=_int(record.one("maxPositionEmbeddings")),
        weights_bytes=_weights_bytes(record),
        source_location=location,
        functions=tuple(functions.values()),
    )


def _function(
    record: records.ModelRecord,
    task: records.TaskRef,
    binding: _Binding,
    outputs: list[records.DataTypeRef],
) -> Function:
    shape = max(  # the task's generic output, or the model's own with its shape: the latter
        (o for o in outputs if o.kind == binding.result_kind),
        key=lambda o: (bool(o.labels), o.dimension is not None),
        default=None,
    )
    kind_types = data_kinds()
    python_type, json_type, item_type, _ = kind_types[binding.result_kind]
    dimension = shape.dimension if shape is not None else None
    labels = shape.labels if shape is not None else ()
    if binding.result_kind == "Embedding":
        dimension = dimension or _int(record.one("embeddingDimension"))
        if dimension is None:
            raise CodegenError(
                f"model `{record.name}`: task `{task.id}` returns an embedding, and its "
                "dimension is not in the graph",
                field="mkg:embeddingDimension",
                hint="a sentence-transformers folder or a config with hidden_size states it",
            )
    if binding.result_kind == "LabelSet" and labels and not binding.open_labels:
        python_type = "Literal[" + ", ".join(repr(label) for label in labels) + "]"
    arguments = tuple(_argument(record, a) for a in binding.arguments)
    return Function(
        name=binding.function,
        task=task.id,
        task_label=task.label,
        runtime=binding.runtime,
        pipeline_task=binding.pipeline_task,
        description=f"{task.label} with {record.name}.",
        arguments=arguments,
        result=Result(
            kind=binding.result_kind,
            python_type=python_type,
            json_type=json_type,
            json_item_type=item_type,
            dimension=dimension,
            labels=() if binding.open_labels else labels,
        ),
    )


def _argument(record: records.ModelRecord, spec: _ArgumentSpec) -> Argument:
    if spec.kind is not None:
        python_type, json_type, item_type, hint = data_kinds()[spec.kind]
    else:
        python_type, json_type, item_type, hint = spec.python_type, spec.json_type, None, None
        item_type = spec.json_item_type
    default = spec.default
    if spec.default_from is not None:
        default = _number(record.one(spec.default_from)) or default
    maximum = _int(record.one(spec.bounded_by)) if spec.bounded_by else None
    return Argument(
        name=spec.name,
        kind=spec.kind,
        python_type=python_type,
        json_type=json_type,
        json_item_type=item_type,
        description=spec.description,
        required=default is None,
        default=default,
        minimum=spec.minimum,
        maximum=maximum,
        semantic_name=spec.semantic_name,
        hint=hint,
    )


# --- ontology/codegen.ttl, read once ----------------------------------------------------------


class _ArgumentSpec(_Frozen):
    name: str
    order: int
    kind: str | None
    python_type: str
    json_type: str
    json_item_type: str | None
    description: str
    default: int | float | str | None
    minimum: int | None
    default_from: str | None
    bounded_by: str | None
    semantic_name: str | None


class _Binding(_Frozen):
    function: str
    runtime: Literal["transformers", "sentence-transformers"]
    pipeline_task: str | None
    result_kind: str
    open_labels: bool
    """the labels are the caller's (`candidate_labels`), not the model's"""
    arguments: tuple[_ArgumentSpec, ...]


@cache
def _vocabulary() -> Store:
    store = Store()
    for path in (CORE_FILE, TASKS_FILE, CODEGEN_FILE):
        store.load(path=str(path), format=RdfFormat.TURTLE)
    return store


def _rows(sparql: str) -> list[dict[str, object]]:
    result = _vocabulary().query(sparql_prologue() + sparql)
    variables = [v.value for v in result.variables]  # type: ignore[union-attr]
    return [{v: row[v] for v in variables} for row in result]  # type: ignore[union-attr]


@cache
def data_kinds() -> dict[str, tuple[str, str, str | None, str | None]]:
    """Data kind (local name) -> (Python type, JSON type, JSON item type, tool hint)."""
    found = {}
    for row in _rows(
        "SELECT ?kind ?py ?json ?item ?hint WHERE { ?kind mkg:pythonType ?py ; mkg:jsonType ?json "
        "FILTER NOT EXISTS { ?kind a mkg:CodeArgument } "
        "OPTIONAL { ?kind mkg:jsonItemType ?item } OPTIONAL { ?kind mkg:toolHint ?hint } }"
    ):
        found[_local(row["kind"])] = (
            _value(row["py"]) or "",
            _value(row["json"]) or "",
            _value(row["item"]),
            _value(row["hint"]),
        )
    return found


@cache
def task_bindings() -> dict[str, _Binding]:
    """Task id -> how code calls it (ontology/codegen.ttl)."""
    arguments: dict[str, list[_ArgumentSpec]] = {}
    for row in _rows(
        "SELECT ?task ?name ?order ?kind ?py ?json ?item ?comment ?default ?min ?from ?bound ?sem "
        "WHERE { ?task mkg:codeArgument ?a . ?a mkg:argumentName ?name ; mkg:argumentOrder ?order "
        "OPTIONAL { ?a mkg:argumentKind ?kind } OPTIONAL { ?a mkg:pythonType ?py } "
        "OPTIONAL { ?a mkg:jsonType ?json } OPTIONAL { ?a mkg:jsonItemType ?item } "
        "OPTIONAL { ?a rdfs:comment ?comment } OPTIONAL { ?a mkg:argumentDefault ?default } "
        "OPTIONAL { ?a mkg:argumentMinimum ?min } OPTIONAL { ?a mkg:defaultFrom ?from } "
        "OPTIONAL { ?a mkg:boundedBy ?bound } OPTIONAL { ?a mkg:semanticName ?sem } }"
    ):
        arguments.setdefault(_iri(row["task"]), []).append(
            _ArgumentSpec(
                name=_value(row["name"]) or "",
                order=_int(_value(row["order"])) or 0,
                kind=_local(row["kind"]) if row["kind"] is not None else None,
                python_type=_value(row["py"]) or "",
                json_type=_value(row["json"]) or "",
                json_item_type=_value(row["item"]),
                description=_value(row["comment"]) or "",
                default=_number(_value(row["default"])),
                minimum=_int(_value(row["min"])),
                default_from=_local(row["from"]) if row["from"] is not None else None,
                bounded_by=_local(row["bound"]) if row["bound"] is not None else None,
                semantic_name=_local(row["sem"]) if row["sem"] is not None else None,
            )
        )
    bindings = {}
    for row in _rows(
        "SELECT ?task ?id ?function ?runtime ?pipeline ?result WHERE { ?task mkg:taskId ?id ; "
        "mkg:codeFunction ?function ; mkg:codeRuntime ?runtime ; mkg:codeResult ?result "
        "OPTIONAL { ?task mkg:pipelineTask ?pipeline } }"
    ):
        specs = sorted(arguments.get(_iri(row["task"]), []), key=lambda a: a.order)
        runtime = _value(row["runtime"])
        if runtime not in ("transformers", "sentence-transformers"):
            raise CodegenError(f"ontology/codegen.ttl: unknown runtime {runtime!r}")
        bindings[_value(row["id"]) or ""] = _Binding(
            function=_value(row["function"]) or "",
            runtime="transformers" if runtime == "transformers" else "sentence-transformers",
            pipeline_task=_value(row["pipeline"]),
            result_kind=_local(row["result"]),
            open_labels=any(a.name == "candidate_labels" for a in specs),
            arguments=tuple(specs),
        )
    return bindings


def _source_locations(store: ModelStore, iris: Sequence[str]) -> dict[str, str]:
    values = " ".join(f"<{NamedNode(iri).value}>" for iri in iris)
    found: dict[str, str] = {}
    for row in store.select(
        f"SELECT ?m ?where WHERE {{ VALUES ?m {{ {values} }} GRAPH ?g {{ ?g mkg:describes ?m ; "
        "mkg:sourceLocation ?where } }"
    ):
        model, where = row["m"], row["where"]
        if isinstance(model, NamedNode) and isinstance(where, RdfLiteral):
            found[model.value] = where.value
    return found


def _weights_bytes(record: records.ModelRecord) -> int | None:
    """The weights' bytes in the model's dtype (float32 when it states none or one not known)."""
    parameters = _int(record.one("parameterCount"))
    if parameters is None:
        return None
    dtype = str(record.one("torchDtype") or "float32").lower().removeprefix("torch.")
    return math.ceil(parameters * DTYPE_BYTES.get(dtype, DTYPE_BYTES["float32"]))


def _local(term: object) -> str:
    text = term.value if isinstance(term, NamedNode) else str(term)
    return text.removeprefix(_MKG).rsplit("#", 1)[-1].rsplit("/", 1)[-1]


def _iri(term: object) -> str:
    return term.value if isinstance(term, NamedNode) else str(term)


def _value(term: object) -> str | None:
    if term is None:
        return None
    return term.value if isinstance(term, RdfLiteral | NamedNode) else str(term)


def _text(value: object) -> str | None:
    return str(value).strip() or None if value is not None else None


def _int(value: object) -> int | None:
    if value is None:
        return None
    try:
        return int(str(value))
    except ValueError:
        return None


def _number(value: object) -> int | float | None:
    if value is None:
        return None
    try:
        number = float(str(value))
    except ValueError:
        return None
    return int(number) if number.is_integer() else number
