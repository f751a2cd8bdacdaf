"""What APIs show of a model, read for many models at once.

Every reader takes a list of model IRIs and answers for all of them with one SPARQL query, so a
page of a hundred models with their tasks and lineage costs a handful of queries, not hundreds
(GraphQL's DataLoaders and REST's list call these). Literal properties are read generically:
every normalized parameter in `parameters.ttl` shows up without code per parameter.

>>> import tempfile
>>> from kg.store import open_store
>>> store = open_store(tempfile.mkdtemp() + "/kg")
>>> load_records(store, ["https://example.org/no-such-model"])
{}
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache

from pyoxigraph import Literal, NamedNode

from kg.compat.index import LINEAGE
from kg.models.terms import iri_term, string_term
from kg.store.base import ModelStore

__all__ = [
    "DataTypeRef",
    "ModelRecord",
    "PartRef",
    "PrimaryTaskRef",
    "TaskRef",
    "find_models",
    "load_io",
    "load_lineage",
    "load_parts",
    "load_primary_tasks",
    "load_records",
    "load_tasks",
]

MKG = "https://w3id.org/modelkg/ontology#"
_SCHEMA_NAME = "https://schema.org/name"
_XSD = "http://www.w3.org/2001/XMLSchema#"


@dataclass
class ModelRecord:
    """A model's own values: identity, card fields and normalized parameters."""

    iri: str
    name: str = ""
    values: dict[str, list[object]] = field(default_factory=dict)
    """predicate local name (`hiddenSize`, `license`, `tag`, `trainedOn`) -> values"""
    classes: list[str] = field(default_factory=list)

    def one(self, key: str) -> object | None:
        """The value of a single-valued property (the first, when a card repeats one)."""
        found = self.values.get(key)
        return found[0] if found else None

    def all(self, key: str) -> list[object]:
        """Every value of a property, in a stable order."""
        return list(self.values.get(key, []))


@dataclass(frozen=True)
class TaskRef:
    """A task a model performs: the Hub id, label and category."""

    iri: str
    id: str
    label: str
    category: str | None


@dataclass(frozen=True)
class PrimaryTaskRef:
    """A model's primary task (the one the Hub would show as its pipeline_tag) and why."""

    task: TaskRef
    source: str
    """`card` (its pipeline_tag) or `files` (the task of highest precedence among its tasks)"""
    reason: str
    rule: str = "primary-task"


@dataclass(frozen=True)
class DataTypeRef:
    """An input or output: its data kind, its modality, and its shape where it has one."""

    kind: str
    modality: str | None
    dimension: int | None
    labels: tuple[str, ...] = ()


@dataclass(frozen=True)
class PartRef:
    """A nested sub-model (text_config, vision_config, encoder, ...)."""

    iri: str
    config_key: str | None
    model_type: str | None
    values: dict[str, object]


@cache
def modalities_by_kind() -> dict[str, str]:
    """Data kind IRI -> the modality (local name) it is or falls under, from tasks.ttl.

    Read once: walking `mkg:broader*` from a variable in every query is slow in oxigraph.
    """
    from kg.models.filters import taxonomy
    from ontology.namespaces import sparql_prologue

    found: dict[str, str] = {}
    for row in taxonomy().query(
        sparql_prologue() + "SELECT ?kind ?mod { ?kind mkg:broader* ?mod . ?mod a mkg:Modality }"
    ):  # type: ignore[union-attr]
        kind, modality = row["kind"], row["mod"]
        if isinstance(kind, NamedNode) and isinstance(modality, NamedNode):
            found.setdefault(kind.value, _local(modality.value))
    return found


def _iri_values(iris: Sequence[str]) -> str:
    terms = (iri_term(iri) for iri in iris)
    return "VALUES ?m { " + " ".join(t for t in terms if t) + " }"


def _python(term: object) -> object:
    """A literal as a Python value (integers, booleans, floats, JSON); IRIs as strings."""
    if isinstance(term, Literal):
        datatype = term.datatype.value
        if datatype in (_XSD + "integer", _XSD + "int", _XSD + "long"):
            return int(term.value)
        if datatype == _XSD + "boolean":
            return term.value in ("true", "1")
        if datatype in (_XSD + "double", _XSD + "decimal", _XSD + "float"):
            return float(term.value)
        return term.value
    if isinstance(term, NamedNode):
        return term.value
    return str(term)


def _local(iri: str) -> str:
    return iri.rsplit("#", 1)[-1].rsplit("/", 1)[-1]


def find_models(store: ModelStore, names: Sequence[str]) -> dict[str, str]:
    """Model IRIs for hub ids, names or IRIs (the ones that exist)."""
    if not names:
        return {}
    values = " ".join(string_term(n) for n in names)
    iris = " ".join(
        t for t in (iri_term(n) for n in names if n.startswith(("http://", "https://"))) if t
    )
    found: dict[str, str] = {}
    for row in store.select(
        f"SELECT ?key ?m WHERE {{ {{ VALUES ?key {{ {values} }} ?m a mkg:Model ; "
        f"schema:name ?key }} UNION {{ VALUES ?m {{ {iris} }} ?m a mkg:Model BIND(STR(?m) AS "
        "?key) } }"
    ):
        key, model = row["key"], row["m"]
        if isinstance(key, Literal) and isinstance(model, NamedNode):
            found.setdefault(key.value, model.value)
    return found


def load_records(store: ModelStore, iris: Sequence[str]) -> dict[str, ModelRecord]:
    """Identity, card fields and parameters of each model, in one query."""
    if not iris:
        return {}
    records: dict[str, ModelRecord] = {}
    for row in store.select(
        f"SELECT ?m ?p ?o WHERE {{ {_iri_values(iris)} ?m a mkg:Model . "
        "{ ?m ?p ?o FILTER(isLiteral(?o) && ?p != mkg:configJSON) } "
        "UNION { ?m a ?o BIND(rdf:type AS ?p) } "
        "UNION { ?m mkg:trainedOn ?d . OPTIONAL { ?d schema:name ?dn } "
        "BIND(COALESCE(?dn, STR(?d)) AS ?o) BIND(mkg:trainedOn AS ?p) } }"
    ):
        model, predicate = row["m"], row["p"]
        if not isinstance(model, NamedNode) or not isinstance(predicate, NamedNode):
            continue
        record = records.setdefault(model.value, ModelRecord(model.value))
        value = _python(row["o"])
        if predicate.value == _SCHEMA_NAME:
            record.name = str(value)
        elif predicate.value.endswith("#type"):
            if str(value) not in record.classes:
                record.classes.append(str(value))
        else:
            bucket = record.values.setdefault(_local(predicate.value), [])
            if value not in bucket:
                bucket.append(value)
    for record in records.values():
        for bucket in record.values.values():
            bucket.sort(key=str)
        if not record.name:
            record.name = record.iri
    return records


def load_tasks(store: ModelStore, iris: Sequence[str]) -> dict[str, list[TaskRef]]:
    """The tasks each model performs (asserted or inferred), by task id."""
    found: dict[str, list[TaskRef]] = defaultdict(list)
    if not iris:
        return found
    for row in store.select(
        f"SELECT DISTINCT ?m ?t ?id ?label ?category WHERE {{ {_iri_values(iris)} "
        "?m mkg:performsTask ?t . OPTIONAL { ?t mkg:taskId ?id } OPTIONAL { ?t rdfs:label ?label }"
        " OPTIONAL { ?t mkg:taskCategory ?category } } ORDER BY ?m ?id"
    ):
        model, task = row["m"], row["t"]
        if isinstance(model, NamedNode) and isinstance(task, NamedNode):
            task_id = str(_python(row["id"])) if row["id"] else _local(task.value)
            label = str(_python(row["label"])) if row["label"] else task_id
            category = str(_python(row["category"])) if row["category"] else None
            refs = found[model.value]
            if all(ref.iri != task.value for ref in refs):
                refs.append(TaskRef(task.value, task_id, label, category))
    return found


def load_primary_tasks(store: ModelStore, iris: Sequence[str]) -> dict[str, PrimaryTaskRef]:
    """Each model's primary task (`mkg:primaryTask`, inferred by ontology/rules/primary-task.rq)
    with the reason it was chosen, in one query. A model not reasoned over yet has none."""
    found: dict[str, PrimaryTaskRef] = {}
    if not iris:
        return found
    rows = store.select(
        f"SELECT ?m ?t ?id ?label ?category ?tag ?rank "
        f"(GROUP_CONCAT(DISTINCT ?otherId; separator=' ') AS ?others) WHERE {{ "
        f"{_iri_values(iris)} ?m mkg:primaryTask ?t . OPTIONAL {{ ?t mkg:taskId ?id }} "
        "OPTIONAL { ?t rdfs:label ?label } OPTIONAL { ?t mkg:taskCategory ?category } "
        "OPTIONAL { ?m mkg:pipelineTag ?tag } OPTIONAL { ?t mkg:primaryPrecedence ?rank } "
        "OPTIONAL { ?m mkg:performsTask ?other FILTER(?other != ?t) ?other mkg:taskId ?otherId } "
        "} GROUP BY ?m ?t ?id ?label ?category ?tag ?rank"
    )
    for row in rows:
        model, task = row["m"], row["t"]
        if not isinstance(model, NamedNode) or not isinstance(task, NamedNode):
            continue
        task_id = str(_python(row["id"])) if row["id"] else _local(task.value)
        ref = TaskRef(
            task.value,
            task_id,
            str(_python(row["label"])) if row["label"] else task_id,
            str(_python(row["category"])) if row["category"] else None,
        )
        if row["tag"] is not None:
            reason = f"the card's pipeline_tag is `{_python(row['tag'])}`"
            found[model.value] = PrimaryTaskRef(ref, "card", reason)
            continue
        others = sorted(str(_python(row["others"])).split()) if row["others"] else []
        rank = f" (precedence {_python(row['rank'])})" if row["rank"] is not None else ""
        reason = f"no pipeline_tag on a card; `{task_id}`{rank} is the most specific of its tasks"
        if others:
            reason += f", ahead of {', '.join(f'`{o}`' for o in others)}"
        found[model.value] = PrimaryTaskRef(ref, "files", reason)
    return found


def load_io(
    store: ModelStore, iris: Sequence[str]
) -> dict[str, tuple[list[DataTypeRef], list[DataTypeRef]]]:
    """What each model accepts and produces: data kind, modality, dimension, label names."""
    found: dict[str, tuple[list[DataTypeRef], list[DataTypeRef]]] = defaultdict(lambda: ([], []))
    if not iris:
        return found
    modality_of = modalities_by_kind()
    values = _iri_values(iris)
    # UNION, not `VALUES ?dir { ... } ?m ?dir ?d`: oxigraph plans the latter ~100x slower
    labels: dict[str, list[str]] = defaultdict(list)
    for row in store.select(
        f"SELECT DISTINCT ?d ?label WHERE {{ {values} ?m mkg:producesOutput ?d . "
        "?d mkg:labelSet/mkg:hasLabel/mkg:labelName ?label }"
    ):
        labels[str(_python(row["d"]))].append(str(_python(row["label"])))
    rows = store.select(
        f"SELECT DISTINCT ?m ?way ?d ?kind ?dim WHERE {{ {values} "
        # strings, not booleans: Virtuoso computes `true` as the integer 1
        '{ ?m mkg:acceptsInput ?d BIND("in" AS ?way) } UNION '
        '{ ?m mkg:producesOutput ?d BIND("out" AS ?way) } '
        "?d mkg:dataKind ?kind OPTIONAL { ?d mkg:dimension ?dim } } ORDER BY ?m ?kind"
    )
    for row in rows:
        model, kind = row["m"], row["kind"]
        if not isinstance(model, NamedNode) or not isinstance(kind, NamedNode):
            continue
        dimension = _python(row["dim"]) if row["dim"] else None
        ref = DataTypeRef(
            _local(kind.value),
            modality_of.get(kind.value),
            dimension if isinstance(dimension, int) else None,
            tuple(sorted(set(labels.get(str(_python(row["d"])), [])))),
        )
        inputs, outputs = found[model.value]
        target = inputs if _python(row["way"]) == "in" else outputs
        if ref not in target:
            target.append(ref)
    return found


def load_lineage(
    store: ModelStore, iris: Sequence[str], *, derived: bool
) -> dict[str, list[tuple[str, str, str]]]:
    """(relation, other model's IRI, its name) per model: its bases, or (`derived`) the models
    made from it.

    Relations use the Hub's words (fine-tune, adapter, quantization, merge).
    """
    found: dict[str, list[tuple[str, str, str]]] = defaultdict(list)
    if not iris:
        return found
    edge = "?other <{0}> ?m" if derived else "?m <{0}> ?other"
    relations = " UNION ".join(
        "{ " + edge.format(p) + f" BIND(<{p}> AS ?rel) }}" for p in LINEAGE
    )  # UNION: `VALUES ?rel` as a predicate is planned far slower by oxigraph
    for row in store.select(
        f"SELECT DISTINCT ?m ?rel ?other ?name WHERE {{ {_iri_values(iris)} {relations} "
        "?other a mkg:Model ; schema:name ?name } ORDER BY ?m ?other"
    ):
        model, relation, other = row["m"], row["rel"], row["other"]
        if isinstance(model, NamedNode) and isinstance(other, NamedNode):
            relation_name = LINEAGE[str(_python(relation))]
            found[model.value].append((relation_name, other.value, str(_python(row["name"]))))
    return found


def load_parts(store: ModelStore, iris: Sequence[str]) -> dict[str, list[PartRef]]:
    """Each model's nested sub-models with their own literal values."""
    found: dict[str, list[PartRef]] = defaultdict(list)
    if not iris:
        return found
    parts: dict[tuple[str, str], dict[str, object]] = {}
    for row in store.select(
        f"SELECT ?m ?part ?p ?o WHERE {{ {_iri_values(iris)} ?m mkg:hasPart ?part . "
        "?part ?p ?o FILTER(isLiteral(?o)) } ORDER BY ?m ?part ?p"
    ):
        model, part, predicate = row["m"], row["part"], row["p"]
        if isinstance(model, NamedNode) and isinstance(part, NamedNode | Literal):
            values = parts.setdefault((model.value, str(_python(part))), {})
            values.setdefault(_local(str(_python(predicate))), _python(row["o"]))
    for (model_iri, part_iri), values in parts.items():
        config_key = values.pop("configKey", None)
        model_type = values.pop("modelType", None)
        found[model_iri].append(
            PartRef(
                part_iri,
                str(config_key) if config_key is not None else None,
                str(model_type) if model_type is not None else None,
                values,
            )
        )
    return found
