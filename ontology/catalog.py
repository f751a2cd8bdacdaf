"""What the installed transformers knows: model types, their key aliases, parts and architectures.

Read from `catalog.ttl`, which `modelkg catalog --write` generates from transformers' own auto
mappings; ingest looks up model types here without importing transformers (which takes seconds).

>>> catalog = load_catalog()
>>> catalog.model_types["gpt2"].aliases["n_embd"]
('hidden_size',)
>>> catalog.model_types["clip"].sub_configs["vision_config"]
'clip_vision_model'
>>> catalog.resolve_model_type("NoSuchModel") is None
True
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from functools import cache

from pyoxigraph import Store

from ontology.catalog_version import recorded_transformers_version
from ontology.files import catalog_quads, select, text_of
from ontology.namespaces import sparql_prologue

__all__ = ["ArchitectureEntry", "Catalog", "ModelTypeEntry", "load_catalog"]


@dataclass(frozen=True)
class ModelTypeEntry:
    """One transformers model type: its config class, attribute_map and nested configs."""

    name: str
    iri: str
    config_class: str | None
    aliases: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """attribute_map inverted: the class's own key -> transformers' canonical keys (usually one;
    whisper's encoder_attention_heads serves num_attention_heads and num_key_value_heads)."""
    sub_configs: dict[str, str | None] = field(default_factory=dict)
    """config key of a nested config -> the model type of that part (None when open-ended)."""


@dataclass(frozen=True)
class ArchitectureEntry:
    """One model class with the model types and auto mappings (heads) it is registered under."""

    name: str
    iri: str
    model_types: frozenset[str]
    auto_mappings: frozenset[str]
    pipeline_tasks: frozenset[str]


@dataclass(frozen=True)
class Catalog:
    """The catalog as plain Python lookups, built once per process from `catalog.ttl`."""

    transformers_version: str
    model_types: dict[str, ModelTypeEntry]
    architectures: dict[str, ArchitectureEntry]

    def resolve_model_type(self, name: str) -> ModelTypeEntry | None:
        """The entry for a model_type string, or None when transformers does not know it."""
        return self.model_types.get(name)

    def model_type_of_architecture(self, architecture: str) -> str | None:
        """The model type an architecture class belongs to, when exactly one claims it."""
        entry = self.architectures.get(architecture)
        if entry is None or len(entry.model_types) != 1:
            return None
        return next(iter(entry.model_types))


@cache
def load_catalog() -> Catalog:
    """Parse `catalog.ttl` once per process into lookups (warning once when it was generated
    from another transformers than the installed one: `ontology.files.catalog_quads`)."""
    store = Store()
    store.extend(catalog_quads())
    q = sparql_prologue()
    version = recorded_transformers_version(catalog_quads()) or ""
    config_class: dict[str, str | None] = {}
    iris: dict[str, str] = {}
    for row in select(
        store,
        q + "SELECT ?t ?name ?cls WHERE { GRAPH ?g { ?t a mkg:ModelType ; mkg:modelTypeName ?name "
        "OPTIONAL { ?t mkg:configClass ?cls } } }",
    ):
        name = text_of(row["name"])
        iris[name] = text_of(row["t"])
        config_class[name] = text_of(row["cls"]) if row["cls"] is not None else None
    aliases: dict[str, dict[str, tuple[str, ...]]] = defaultdict(dict)
    for row in select(
        store,
        q + "SELECT ?name ?src ?canon WHERE { GRAPH ?g { ?t mkg:modelTypeName ?name ; "
        "mkg:keyAlias [ mkg:sourceKey ?src ; mkg:canonicalKey ?canon ] } }",
    ):
        known = aliases[text_of(row["name"])]
        src = text_of(row["src"])
        known[src] = tuple(sorted({*known.get(src, ()), text_of(row["canon"])}))
    subs: dict[str, dict[str, str | None]] = defaultdict(dict)
    for row in select(
        store,
        q + "SELECT ?name ?key ?part WHERE { GRAPH ?g { ?t mkg:modelTypeName ?name ; "
        "mkg:subConfig ?s . ?s mkg:configKey ?key "
        "OPTIONAL { ?s mkg:partModelType/mkg:modelTypeName ?part } } }",
    ):
        part = row["part"]
        subs[text_of(row["name"])][text_of(row["key"])] = (
            text_of(part) if part is not None else None
        )
    model_types = {
        name: ModelTypeEntry(name, iris[name], config_class[name], aliases[name], subs[name])
        for name in iris
    }
    arch_types: dict[str, set[str]] = defaultdict(set)
    arch_maps: dict[str, set[str]] = defaultdict(set)
    arch_tasks: dict[str, set[str]] = defaultdict(set)
    arch_iri: dict[str, str] = {}
    for row in select(
        store,
        q + "SELECT ?a ?name ?type ?map ?task WHERE { GRAPH ?g { ?a a mkg:Architecture ; "
        "mkg:architectureName ?name . OPTIONAL { ?a mkg:ofModelType/mkg:modelTypeName ?type } "
        "OPTIONAL { ?a mkg:autoMapping ?m . ?m mkg:mappingName ?map "
        "OPTIONAL { ?m mkg:pipelineTask ?task } } } }",
    ):
        name = text_of(row["name"])
        arch_iri[name] = text_of(row["a"])
        if row["type"] is not None:
            arch_types[name].add(text_of(row["type"]))
        if row["map"] is not None:
            arch_maps[name].add(text_of(row["map"]))
        if row["task"] is not None:
            arch_tasks[name].add(text_of(row["task"]))
    architectures = {
        name: ArchitectureEntry(
            name,
            iri,
            frozenset(arch_types[name]),
            frozenset(arch_maps[name]),
            frozenset(arch_tasks[name]),
        )
        for name, iri in arch_iri.items()
    }
    return Catalog(version, model_types, architectures)
