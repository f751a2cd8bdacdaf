"""Drop-in replacements: models that do the same job with the same inputs and outputs.

A candidate must perform every task of the model, accept and produce the same data types and
shapes, share the label set (classifiers) and the vocabulary (where token ids cross the
boundary). An adapter is never a drop-in for a full model: it is listed after the drop-ins,
as "needs base X". The model itself is never an answer.

Candidates are ranked by a score that is the sum of the components in `WEIGHTS` (each shown
with the answer), then by closeness in size, then lineage, then name; so a chat fine-tune of
the same base ranks above an unrelated model ten times larger.

>>> sorted(WEIGHTS.items())
[('family', 0.2), ('lineage', 0.3), ('size', 0.4), ('tokenizer', 0.1)]
>>> from kg.compat.index import DataType, ModelProfile as P
>>> text, out = DataType(_MKG + "Text"), DataType(_MKG + "GeneratedText")
>>> def lm(name, size, **more):
...     return P(name, name, "llama", {"text-generation"}, {text}, {out}, parameters=size, **more)
>>> index = CompatIndex({p.iri: p for p in (
...     lm("base-7b", 7 * 10**9), lm("chat-7b", 7 * 10**9), lm("big-70b", 70 * 10**9),
...     lm("lora", None, bases={"base-7b": "adapter"}))})
>>> [(a.model, a.case, a.score) for a in replacements(index, "base-7b")]
[('chat-7b', 'replacement', 0.6), ('big-70b', 'replacement', 0.24), ('lora', 'needs base', 0.5)]
>>> replacements(index, "base-7b")[0].breakdown
'size 0.4/0.4 + lineage 0/0.3 + family 0.2/0.2 + tokenizer 0/0.1'
"""

from __future__ import annotations

import heapq
import math
from operator import itemgetter

from pyoxigraph import RdfFormat, Store

from kg.compat.answers import (
    Answer,
    Component,
    display_name,
    lineage_family,
    lineage_link,
    require,
)
from kg.compat.index import CompatIndex, ModelProfile
from ontology.files import CORE_FILE, select, text_of
from ontology.namespaces import sparql_prologue

__all__ = ["NEEDS_BASE", "REPLACEMENT", "WEIGHTS", "components", "replacements", "same_vocabulary"]


def _weights() -> dict[str, float]:
    store = Store()
    store.load(path=str(CORE_FILE), format=RdfFormat.TURTLE)
    rows = select(
        store,
        sparql_prologue() + "SELECT ?name ?weight { ?c a mkg:ScoreComponent ; "
        "mkg:componentName ?name ; mkg:scoreWeight ?weight }",
    )
    return {text_of(row["name"]): float(text_of(row["weight"])) for row in rows}


WEIGHTS: dict[str, float] = _weights()
"""What a replacement's score is made of, and how much each part can earn (the sum is 1): the
`mkg:ScoreComponent` individuals of `ontology/core.ttl`, each described there (size, lineage,
family, tokenizer)."""

REPLACEMENT = "replacement"
NEEDS_BASE = "needs base"
_MKG = "https://w3id.org/modelkg/ontology#"
_TOKENS = f"{_MKG}Tokens"


def same_vocabulary(a: ModelProfile, b: ModelProfile) -> bool:
    """Whether token ids mean the same for `a` and `b`."""
    if a.tokenizer_digest and b.tokenizer_digest:
        return a.tokenizer_digest == b.tokenizer_digest
    return (
        a.tokenizer_class is not None
        and a.tokenizer_class == b.tokenizer_class
        and a.vocab_size is not None
        and a.vocab_size == b.vocab_size
    )


def _token_ids_cross(profile: ModelProfile) -> bool:
    return any(d.kind == _TOKENS for d in (*profile.inputs, *profile.outputs))


def _adapter_bases(profile: ModelProfile) -> list[str]:
    return sorted(base for base, relation in profile.bases.items() if relation == "adapter")


def _size_gap(model: ModelProfile, other: ModelProfile) -> float:
    """How far apart two sizes are (|log ratio|; infinite when either is unknown)."""
    if not (model.parameters and other.parameters):
        return math.inf
    return abs(math.log(other.parameters / model.parameters))


def _human(count: int) -> str:
    for scale, unit in ((10**12, "T"), (10**9, "B"), (10**6, "M"), (10**3, "K")):
        if count >= scale:
            return f"{count / scale:.3g}{unit}"
    return str(count)


def _size_ratio(model: ModelProfile, other: ModelProfile) -> float | None:
    if not (model.parameters and other.parameters):
        return None
    return min(model.parameters, other.parameters) / max(model.parameters, other.parameters)


def _linked(model: ModelProfile, other: ModelProfile, family: set[str]) -> bool:
    """Whether `lineage_link` or the transitive `family` links the two (no words written)."""
    if other.iri in family:
        return True
    if not (model.bases and other.bases):  # most models derive from nothing stated
        return other.iri in model.bases or model.iri in other.bases
    return (
        model.iri in other.bases
        or other.iri in model.bases
        or not model.bases.keys().isdisjoint(other.bases)
    )


def _score(model: ModelProfile, other: ModelProfile, linked: bool) -> float:
    """The sum of `components`' points, without their words: what ranks every candidate."""
    ratio = _size_ratio(model, other)
    points = round(WEIGHTS["size"] * ratio, 4) if ratio is not None else 0.0
    points += WEIGHTS["lineage"] if linked else 0.0
    if other.model_type is not None and other.model_type == model.model_type:
        points += WEIGHTS["family"]
    if same_vocabulary(model, other):
        points += WEIGHTS["tokenizer"]
    return round(points, 4)


def components(
    index: CompatIndex,
    model: ModelProfile,
    other: ModelProfile,
    family: set[str] | None = None,
) -> tuple[Component, ...]:
    """The score of `other` as a replacement for `model`, part by part (`family`: the models
    linked to `model` by lineage, transitively, when the caller has it)."""
    ratio = _size_ratio(model, other)
    if ratio is not None and model.parameters and other.parameters:
        size = Component(
            "size", round(WEIGHTS["size"] * ratio, 4), WEIGHTS["size"],
            f"{_human(other.parameters)} vs {_human(model.parameters)} parameters "
            f"(ratio {ratio:.2f})",
        )  # fmt: skip
    else:
        unknown = model.name if not model.parameters else other.name
        size = Component("size", 0.0, WEIGHTS["size"], f"size of {unknown} unknown")
    link = lineage_link(index, model, other)
    if link is None and other.iri in (family if family is not None else set()):
        link = "same lineage (through other models)"
    lineage = Component(
        "lineage", WEIGHTS["lineage"] if link else 0.0, WEIGHTS["lineage"], link or "no link"
    )
    same_type = other.model_type is not None and other.model_type == model.model_type
    kin = Component(
        "family", WEIGHTS["family"] if same_type else 0.0, WEIGHTS["family"],
        f"same model type {model.model_type}" if same_type
        else f"model type {other.model_type or 'unknown'} vs {model.model_type or 'unknown'}",
    )  # fmt: skip
    shared = same_vocabulary(model, other)
    tokenizer = Component(
        "tokenizer", WEIGHTS["tokenizer"] if shared else 0.0, WEIGHTS["tokenizer"],
        "same vocabulary" if shared else "different or unknown vocabulary",
    )  # fmt: skip
    return (size, lineage, kin, tokenizer)


def replacements(index: CompatIndex, name: str, limit: int = 20) -> list[Answer]:
    """Drop-in replacements for `name`, best first; then adapters, each as "needs base X"."""
    model = require(index, name)
    if not model.tasks:
        return []
    # the same inputs and outputs first: one set intersection, smallest set first
    admitted = sorted(
        [index.by_signature.get(model.signature, set())]
        + [index.by_task.get(task, set()) for task in model.tasks],
        key=len,
    )
    candidates = set.intersection(*admitted)
    candidates.discard(model.iri)
    tokens = _token_ids_cross(model)
    model_bases = set(_adapter_bases(model))
    lineage = lineage_family(index, model)
    # rank on the numbers first; the components and reasons (text) are written only for the
    # answers kept: at 20,000 models a text-generation model has thousands of candidates
    ranked: list[tuple[tuple[bool, float, float, bool, str], ModelProfile]] = []
    for iri in candidates:
        other = index.profiles[iri]
        if model.label_digest is not None and other.label_digest != model.label_digest:
            continue
        if tokens and not same_vocabulary(model, other):
            continue
        # an adapter swaps in only for another adapter of the same base
        bases = _adapter_bases(other) if other.bases else []
        needs_base = bool(bases) and set(bases) != model_bases
        linked = _linked(model, other, lineage)
        key = (needs_base, -_score(model, other, linked), _size_gap(model, other), not linked,
               other.name)  # fmt: skip
        ranked.append((key, other))
    by_key = itemgetter(0)
    chosen = heapq.nsmallest(limit, ranked, key=by_key) if limit else sorted(ranked, key=by_key)
    return [
        _answer(index, model, other, components(index, model, other, lineage), key[0], tokens)
        for key, other in chosen
    ]


def _answer(
    index: CompatIndex,
    model: ModelProfile,
    other: ModelProfile,
    parts: tuple[Component, ...],
    needs_base: bool,
    tokens: bool,
) -> Answer:
    """`other` as an answer: its score's parts and why it replaces `model`."""
    reasons = [
        f"performs {', '.join(sorted(model.tasks))}",
        "same inputs and outputs: "
        + ", ".join(sorted(d.short for d in model.inputs))
        + " -> "
        + ", ".join(sorted(d.short for d in model.outputs)),
    ]
    if model.label_digest is not None:
        reasons.append("same label set (id2label)")
    if tokens:
        reasons.append("same tokenizer (token ids cross the boundary)")
    if needs_base:
        wanted = ", ".join(display_name(index, base) for base in _adapter_bases(other))
        reasons.insert(0, f"an adapter, not a drop-in: needs base {wanted} loaded under it")
    case = NEEDS_BASE if needs_base else REPLACEMENT
    return Answer.scored(other.name, case, parts, tuple(reasons))
