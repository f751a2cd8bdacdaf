"""What the lookups need to know about every model, loaded from the store in a few queries.

Lookups run on this in-memory index (dicts keyed by task, by input kind, by tokenizer, and the
lineage graph), not by scanning every model per question; `CompatIndex.build` reads the store's
source and inferred graphs once, and `stamp` tells whether the store changed since.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from pyoxigraph import Literal, NamedNode

from kg.store.base import ModelStore

__all__ = ["CompatIndex", "DataType", "ModelProfile", "Signature"]

LINEAGE = {
    "https://w3id.org/modelkg/ontology#fineTunedFrom": "fine-tune",
    "https://w3id.org/modelkg/ontology#adapterOf": "adapter",
    "https://w3id.org/modelkg/ontology#quantizedFrom": "quantization",
    "https://w3id.org/modelkg/ontology#mergedFrom": "merge",
}
_MKG = "https://w3id.org/modelkg/ontology#"


@dataclass(frozen=True)
class DataType:
    """An input or output: its kind (a modality or data kind), and its shape where it has one."""

    kind: str
    dimension: int | None = None
    label_digest: str | None = None

    @property
    def short(self) -> str:
        """`Embedding[384]`, `LabelSet`, `Text`."""
        name = self.kind.removeprefix(_MKG)
        return f"{name}[{self.dimension}]" if self.dimension is not None else name


Signature = tuple[frozenset[DataType], frozenset[DataType]]
"""A model's inputs and outputs."""


@dataclass
class ModelProfile:
    """One model as the lookups see it."""

    iri: str
    name: str
    model_type: str | None = None
    tasks: set[str] = field(default_factory=set)
    inputs: set[DataType] = field(default_factory=set)
    outputs: set[DataType] = field(default_factory=set)
    tokenizer_class: str | None = None
    tokenizer_digest: str | None = None
    vocab_size: int | None = None
    parameters: int | None = None
    embedding_dimension: int | None = None
    pooling: frozenset[str] = frozenset()
    label_digest: str | None = None
    bases: dict[str, str] = field(default_factory=dict)
    """base model IRI -> relation (fine-tune, adapter, quantization, merge)"""
    layers: int | None = None
    kv_heads: int | None = None
    heads: int | None = None
    hidden: int | None = None
    head_dim: int | None = None

    @property
    def signature(self) -> Signature:
        """Its inputs and outputs, as one hashable value."""
        return frozenset(self.inputs), frozenset(self.outputs)

    @property
    def effective_head_dim(self) -> int | None:
        """The head dimension: stated, or hidden size / attention heads."""
        if self.head_dim:
            return self.head_dim
        return self.hidden // self.heads if self.hidden and self.heads else None

    @property
    def kv_values_per_token(self) -> int | None:
        """K and V values cached per token: 2 · layers · KV heads · head dim (None if unknown)."""
        head_dim = self.effective_head_dim
        if not (self.layers and self.kv_heads and head_dim):
            return None
        return 2 * self.layers * self.kv_heads * head_dim

    @property
    def generative(self) -> bool:
        """Whether it generates token by token (and so keeps a KV cache)."""
        return any(d.kind == f"{_MKG}GeneratedText" for d in self.outputs)


def _int(term: object) -> int | None:
    if isinstance(term, Literal):
        try:
            return int(term.value)
        except ValueError:
            return None
    return None


def _text(term: object) -> str | None:
    return term.value if isinstance(term, Literal | NamedNode) else None


class CompatIndex:
    """Profiles of every model, with the indexes the lookups use."""

    def __init__(self, profiles: dict[str, ModelProfile]) -> None:
        self.profiles = profiles
        self.by_name = {p.name: p for p in profiles.values()}
        self.by_task: dict[str, set[str]] = defaultdict(set)
        self.by_input_kind: dict[str, set[str]] = defaultdict(set)
        self.by_tokenizer: dict[tuple[str | None, int | None], set[str]] = defaultdict(set)
        self.derived: dict[str, dict[str, str]] = defaultdict(dict)
        """base IRI -> {derived model IRI: relation}"""
        self.by_signature: dict[Signature, set[str]] = defaultdict(set)
        """models by their exact inputs and outputs: a drop-in's first condition"""
        for profile in profiles.values():
            self.by_signature[profile.signature].add(profile.iri)
            for task in profile.tasks:
                self.by_task[task].add(profile.iri)
            for data in profile.inputs:
                self.by_input_kind[data.kind].add(profile.iri)
            if profile.tokenizer_class or profile.vocab_size:
                self.by_tokenizer[(profile.tokenizer_class, profile.vocab_size)].add(profile.iri)
            for base, relation in profile.bases.items():
                self.derived[base][profile.iri] = relation

    @classmethod
    def build(cls, store: ModelStore) -> CompatIndex:
        """Read every model's profile from the store (source and inferred graphs)."""
        profiles: dict[str, ModelProfile] = {}

        for row in store.select(
            "SELECT ?m ?name ?type ?params ?dim ?vocab WHERE { ?m a mkg:Model ; schema:name ?name "
            "OPTIONAL { ?m mkg:modelType ?type } OPTIONAL { ?m mkg:parameterCount ?params } "
            "OPTIONAL { ?m mkg:embeddingDimension ?dim } OPTIONAL { ?m mkg:vocabSize ?vocab } }"
        ):
            iri = _text(row["m"])
            if iri is None or iri in profiles:
                continue
            profiles[iri] = ModelProfile(
                iri,
                _text(row["name"]) or iri,
                _text(row["type"]),
                parameters=_int(row["params"]),
                embedding_dimension=_int(row["dim"]),
                vocab_size=_int(row["vocab"]),
            )
        for row in store.select(
            "SELECT ?m ?layers ?kv ?heads ?hidden ?hd WHERE { ?m a mkg:Model "
            "OPTIONAL { ?m mkg:numHiddenLayers ?layers } OPTIONAL { ?m mkg:numKeyValueHeads ?kv } "
            "OPTIONAL { ?m mkg:numAttentionHeads ?heads } OPTIONAL { ?m mkg:hiddenSize ?hidden } "
            "OPTIONAL { ?m mkg:headDim ?hd } }"
        ):
            profile = profiles.get(_text(row["m"]) or "")
            if profile is not None:
                profile.layers = _int(row["layers"])
                profile.kv_heads = _int(row["kv"])
                profile.heads = _int(row["heads"])
                profile.hidden = _int(row["hidden"])
                profile.head_dim = _int(row["hd"])
        for row in store.select("SELECT ?m ?t WHERE { ?m mkg:performsTask ?t }"):
            profile = profiles.get(_text(row["m"]) or "")
            if profile is not None and (task := _text(row["t"])):
                profile.tasks.add(task.rsplit("/", 1)[-1])
        for direction in ("acceptsInput", "producesOutput"):
            for row in store.select(
                f"SELECT ?m ?kind ?dim ?digest WHERE {{ ?m mkg:{direction} ?d . "
                "?d mkg:dataKind ?kind OPTIONAL { ?d mkg:dimension ?dim } "
                "OPTIONAL { ?d mkg:labelSet/mkg:labelSetDigest ?digest } }"
            ):
                profile = profiles.get(_text(row["m"]) or "")
                kind = _text(row["kind"])
                if profile is None or kind is None:
                    continue
                data = DataType(kind, _int(row["dim"]), _text(row["digest"]))
                (profile.inputs if direction == "acceptsInput" else profile.outputs).add(data)
        for row in store.select(
            "SELECT ?m ?cls ?digest WHERE { ?m mkg:hasTokenizer ?t "
            "OPTIONAL { ?t mkg:tokenizerClass ?cls } OPTIONAL { ?t mkg:tokenizerDigest ?digest } }"
        ):
            profile = profiles.get(_text(row["m"]) or "")
            if profile is not None:
                profile.tokenizer_class = _text(row["cls"])
                profile.tokenizer_digest = _text(row["digest"])
        for row in store.select("SELECT ?m ?mode WHERE { ?m mkg:poolingMode ?mode }"):
            profile = profiles.get(_text(row["m"]) or "")
            if profile is not None and (mode := _text(row["mode"])):
                profile.pooling = profile.pooling | {mode}
        for row in store.select(
            "SELECT ?m ?digest WHERE { ?m mkg:hasLabelSet/mkg:labelSetDigest ?digest }"
        ):
            profile = profiles.get(_text(row["m"]) or "")
            if profile is not None:
                profile.label_digest = _text(row["digest"])
        values = " ".join(f"<{p}>" for p in LINEAGE)
        for row in store.select(f"SELECT ?m ?p ?b WHERE {{ VALUES ?p {{ {values} }} ?m ?p ?b }}"):
            profile = profiles.get(_text(row["m"]) or "")
            base, predicate = _text(row["b"]), _text(row["p"])
            if profile is not None and base and predicate:
                profile.bases[base] = LINEAGE[predicate]
        return cls(profiles)

    def find(self, name: str) -> ModelProfile | None:
        """A model by hub id, name or IRI."""
        return self.by_name.get(name) or self.profiles.get(name)

    def known_names(self) -> list[str]:
        """Every model's name, for 'did you mean' hints."""
        return sorted(self.by_name)
