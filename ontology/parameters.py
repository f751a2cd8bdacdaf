"""How framework keys become normalized parameter concepts: `parameters.ttl` plus the catalog.

The resolution order is data-driven (see the comment at the top of `parameters.ttl`): the
canonical key, the model type's own attribute_map, hand-written key mappings, and generic
aliases for model types transformers does not know.

>>> mapping = load_parameter_mapping()
>>> [r.concept.local_name for r in mapping.resolve("config.json", "n_embd", "gpt2")]
['hiddenSize']
>>> [r.concept.local_name for r in mapping.resolve("config.json", "dim", "distilbert")]
['hiddenSize']
>>> [r.source for r in mapping.resolve("config.json", "d_model", "my-custom-model")]
['generic alias']
>>> sorted(r.concept.local_name for r in mapping.resolve(
...     "config.json", "encoder_attention_heads", "whisper"))
['numAttentionHeads', 'numKeyValueHeads']
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from functools import cache
from typing import Literal as TypingLiteral

from pyoxigraph import NamedNode, Store

from ontology.catalog import Catalog, load_catalog
from ontology.files import ONTOLOGY_GRAPH, PARAMETERS_FILE, read_turtle, select, text_of
from ontology.namespaces import MKG, sparql_prologue

__all__ = ["Concept", "KeyResolution", "ParameterMapping", "ValueKind", "load_parameter_mapping"]

ValueKind = TypingLiteral["integer", "string"]


@dataclass(frozen=True)
class Concept:
    """One normalized parameter: its property IRI, canonical key and how values are read."""

    iri: NamedNode
    canonical_key: str
    value_kind: ValueKind
    label: str

    @property
    def local_name(self) -> str:
        """The concept's name in the mkg namespace (`hiddenSize`): GraphQL and CLI use it."""
        return self.iri.value.removeprefix(str(MKG))


@dataclass(frozen=True)
class KeyResolution:
    """Why a key maps to a concept: which rule, with which priority (higher wins)."""

    concept: Concept
    framework: str
    priority: int
    source: str


@dataclass(frozen=True)
class _KeyMapping:
    source_file: str
    source_key: str
    concept: Concept
    framework: str
    priority: int
    model_types: frozenset[str]


@dataclass(frozen=True)
class ParameterMapping:
    """Concepts by canonical key, generic aliases, and file-specific key mappings."""

    concepts: dict[str, Concept]
    """canonical key -> concept"""
    generic_aliases: dict[str, Concept]
    mappings: tuple[_KeyMapping, ...]
    catalog: Catalog
    pooling_modes: dict[str, str]
    """sentence-transformers legacy pooling key (pooling_mode_mean_tokens) -> mode name (mean)"""

    def by_local_name(self, name: str) -> Concept | None:
        """The concept named `hiddenSize` (the camelCase name users see)."""
        for concept in self.concepts.values():
            if concept.local_name == name:
                return concept
        return None

    def resolve(self, source_file: str, key: str, model_type: str | None) -> list[KeyResolution]:
        """Which concepts `key` of `source_file` means for a model of `model_type` (usually one).

        Keys of transformers configs are resolved for `config.json` (and nested parts); other
        files only through their explicit key mappings. A key can serve several concepts when
        the model type's attribute_map says so.
        """
        for mapping in self.mappings:
            if (
                mapping.source_key == key
                and mapping.source_file == source_file
                and (not mapping.model_types or model_type in mapping.model_types)
            ):
                return [
                    KeyResolution(
                        mapping.concept, mapping.framework, mapping.priority, "key mapping"
                    )
                ]
        if source_file != "config.json":
            return []
        concept = self.concepts.get(key)
        if concept is not None:
            return [KeyResolution(concept, "transformers", 4, "canonical key")]
        entry = self.catalog.resolve_model_type(model_type) if model_type else None
        if entry is not None:
            return [
                KeyResolution(self.concepts[c], "transformers", 3, f"attribute_map of {entry.name}")
                for c in entry.aliases.get(key, ())
                if c in self.concepts
            ]
        generic = self.generic_aliases.get(key)
        if generic is not None:
            return [KeyResolution(generic, "transformers", 1, "generic alias")]
        return []


@cache
def load_parameter_mapping() -> ParameterMapping:
    """Parse `parameters.ttl` once per process and join it with the catalog."""
    store = Store()
    store.extend(read_turtle(PARAMETERS_FILE, ONTOLOGY_GRAPH))
    q = sparql_prologue()
    concepts: dict[str, Concept] = {}
    by_iri: dict[str, Concept] = {}
    for row in select(
        store,
        q + "SELECT ?c ?key ?kind ?label WHERE { GRAPH ?g { ?c a mkg:ParameterConcept ; "
        "mkg:canonicalKey ?key ; mkg:valueKind ?kind ; rdfs:label ?label } }",
    ):
        kind: ValueKind
        if text_of(row["kind"]) == "integer":
            kind = "integer"
        elif text_of(row["kind"]) == "string":
            kind = "string"
        else:
            raise ValueError(f"unknown mkg:valueKind {text_of(row['kind'])!r} in parameters.ttl")
        iri = row["c"]
        assert isinstance(iri, NamedNode)
        concept = Concept(iri, text_of(row["key"]), kind, text_of(row["label"]))
        concepts[concept.canonical_key] = concept
        by_iri[iri.value] = concept
    generic: dict[str, Concept] = {}
    for row in select(
        store, q + "SELECT ?c ?alias WHERE { GRAPH ?g { ?c mkg:genericAlias ?alias } }"
    ):
        generic[text_of(row["alias"])] = by_iri[text_of(row["c"])]
    types: dict[str, set[str]] = defaultdict(set)
    rows: dict[str, tuple[str, str, Concept, str, int]] = {}
    for row in select(
        store,
        q + "SELECT ?m ?file ?key ?c ?fw ?prio ?type WHERE { GRAPH ?g { ?m a mkg:KeyMapping ; "
        "mkg:sourceFile ?file ; mkg:sourceKey ?key ; mkg:concept ?c ; mkg:framework ?fw ; "
        "mkg:priority ?prio OPTIONAL { ?m mkg:forModelType ?type } } }",
    ):
        m = text_of(row["m"])
        rows[m] = (
            text_of(row["file"]),
            text_of(row["key"]),
            by_iri[text_of(row["c"])],
            text_of(row["fw"]),
            int(text_of(row["prio"])),
        )
        if row["type"] is not None:
            types[m].add(text_of(row["type"]))
    mappings = tuple(
        _KeyMapping(file, key, concept, fw, prio, frozenset(types[m]))
        for m, (file, key, concept, fw, prio) in sorted(rows.items())
    )
    pooling = {
        text_of(row["key"]): text_of(row["mode"])
        for row in select(
            store,
            q + "SELECT ?key ?mode WHERE { GRAPH ?g { ?m a mkg:PoolingMode ; mkg:legacyKey ?key ; "
            "mkg:modeName ?mode } }",
        )
    }
    return ParameterMapping(concepts, generic, mappings, load_catalog(), pooling)
