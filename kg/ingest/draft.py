"""The model graph under construction: triples, parameter candidates with their sources, warnings.

Readers (one per file kind) add what they read to a `ModelDraft`; `finish()` turns competing
parameter candidates into one effective value per concept and keeps every candidate as a
`mkg:ParameterSetting`, so `explain` can always say where a number came from.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING

from pyoxigraph import Literal, NamedNode, Quad

from kg.errors import ConfigError
from ontology.namespaces import MKG, XSD

if TYPE_CHECKING:
    from kg.ingest.sources import ModelSource
    from kg.iris import IriMinter
    from ontology.parameters import Concept, ParameterMapping

__all__ = ["Candidate", "ModelDraft", "Subject", "literal"]

Value = int | float | str | bool

_TRUE = Literal("true", datatype=XSD.boolean)
_FALSE = Literal("false", datatype=XSD.boolean)
_XSD_SPECIAL = {"nan": "NaN", "inf": "INF", "-inf": "-INF"}
"""Python's spellings of the special doubles -> XSD's (`"nan"^^xsd:double` is ill-typed)."""


@lru_cache(maxsize=1 << 16)
def _cached_literal(value: Value, kind: str) -> Literal:
    del kind  # part of the cache key only: True and 1 are equal but different literals
    return literal(value)


def literal(value: Value) -> Literal:
    """An RDF literal with the XSD datatype of a JSON scalar.

    >>> literal(768).datatype.value, literal(True).value, literal(0.1).datatype.value
    ('http://www.w3.org/2001/XMLSchema#integer', 'true', 'http://www.w3.org/2001/XMLSchema#double')
    >>> literal(float("nan")).value, literal(float("-inf")).value   # XSD's spellings, not Python's
    ('NaN', '-INF')
    """
    if isinstance(value, bool):
        return _TRUE if value else _FALSE
    if isinstance(value, int):
        return Literal(str(value), datatype=XSD.integer)
    if isinstance(value, float):
        return Literal(_XSD_SPECIAL.get(repr(value), repr(value)), datatype=XSD.double)
    return Literal(value)


@dataclass(frozen=True)
class Candidate:
    """One source's value for one concept of one subject."""

    value: int | str
    key: str
    file: str
    framework: str
    priority: int


@dataclass(frozen=True)
class Subject:
    """A node that carries parameters: the model itself or one of its parts."""

    iri: NamedNode
    key: tuple[str, ...]
    """segments under the model key that name this subject's own nodes ("" for the model)"""
    model_type: str | None


@dataclass
class ModelDraft:
    """Everything read so far about one model."""

    source: ModelSource
    model: Subject
    model_key: str
    graph: NamedNode
    ids: IriMinter
    mapping: ParameterMapping
    quads: list[Quad] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    candidates: dict[tuple[NamedNode, NamedNode], list[tuple[Subject, Concept, Candidate]]] = field(
        default_factory=dict
    )
    facts: dict[str, object] = field(default_factory=dict)
    """what readers tell each other (has adapter config, quantized, base models, ...)"""

    def add(self, subject: NamedNode, predicate: NamedNode, obj: NamedNode | Literal) -> None:
        self.quads.append(Quad(subject, predicate, obj, self.graph))

    def add_value(self, subject: NamedNode, predicate: NamedNode, value: Value) -> None:
        self.quads.append(
            Quad(subject, predicate, _cached_literal(value, type(value).__name__), self.graph)
        )

    def node(self, *segments: str) -> NamedNode:
        """A node that belongs to this model (`.../hf/org/name/tokenizer`)."""
        return NamedNode(self.ids.node(self.model_key, *segments))

    def warn(self, message: str) -> None:
        self.warnings.append(message)

    def offer(self, subject: Subject, concept: Concept, candidate: Candidate) -> None:
        """Propose a value for a concept; the highest priority wins in `finish`."""
        self.candidates.setdefault((subject.iri, concept.iri), []).append(
            (subject, concept, candidate)
        )

    def coerce(
        self, concept: Concept, raw: object, *, key: str, file: str, strict: bool
    ) -> int | str | None:
        """Read a raw JSON value as the concept's kind; None for null or (when not strict) junk.

        A wrong scalar type under a key transformers itself defines is an error naming the file
        and key; under a generic alias (custom models) it is a warning and the value is skipped.
        """
        if raw is None:
            return None
        if concept.value_kind == "integer":
            if isinstance(raw, int) and not isinstance(raw, bool):
                return raw
            if isinstance(raw, float) and raw.is_integer():
                return int(raw)
            if isinstance(raw, list | dict):
                self.warn(
                    f"{file}: `{key}` is a {type(raw).__name__}, not one {concept.label}; skipped"
                )
                return None
            expected = f"a whole number ({concept.label})"
        else:
            if isinstance(raw, str):
                return raw
            expected = f"a string ({concept.label})"
        shown = json.dumps(raw)
        if not strict:
            self.warn(f"{file}: `{key}` is {shown}, expected {expected}; skipped")
            return None
        raise ConfigError(
            f"`{key}` is {shown[:60]}",
            path=str(self.source.location / file)
            if self.source.kind != "config-file"
            else str(self.source.location),
            field=key,
            expected=expected,
            hint=f"write the {concept.label} as "
            + ("a number, e.g. 768" if concept.value_kind == "integer" else "a string"),
        )

    def finish(self) -> None:
        """Settle every concept: one effective value per subject, each candidate a setting."""
        for (subject_iri, concept_iri), offers in self.candidates.items():
            ranked = sorted(offers, key=lambda o: -o[2].priority)
            subject, concept, best = ranked[0]
            self.quads.append(Quad(subject_iri, concept_iri, literal(best.value), self.graph))
            for other_subject, _, other in ranked[1:]:
                if other.priority == best.priority and other.value != best.value:
                    self.warn(
                        f"{concept.label}: {best.file} `{best.key}` = {best.value!r} and "
                        f"{other.file} `{other.key}` = {other.value!r} disagree; kept the first"
                    )
                del other_subject
            for index, (_, _, cand) in enumerate(ranked):
                setting = NamedNode(
                    self.ids.node(
                        self.model_key,
                        *subject.key,
                        "setting",
                        concept.local_name,
                        cand.file,
                        cand.key,
                    )
                )
                # typed mkg:ParameterSetting by the range of mkg:hasSetting, not restated
                self.add(subject_iri, MKG.hasSetting, setting)
                self.add(setting, MKG.concept, concept.iri)
                self.add_value(setting, MKG.value, cand.value)
                self.add_value(setting, MKG.sourceKey, cand.key)
                self.add_value(setting, MKG.sourceFile, cand.file)
                self.add_value(setting, MKG.framework, cand.framework)
                self.add_value(setting, MKG.effective, index == 0)
        self.candidates.clear()
