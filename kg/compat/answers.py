"""What every compatibility lookup answers with: a model, a score, and what the score is made of.

A score is never a bare number: it is the sum of its `Component`s, each saying what it
measured and why it earned what it did, so a person can check the ranking by hand.

>>> size = Component("size", 0.4, 0.4, "same size")
>>> family = Component("family", 0.0, 0.2, "other model type")
>>> answer = Answer.scored("org/model", "replacement", (size, family), ("performs x",))
>>> answer.score, answer.breakdown
(0.4, 'size 0.4/0.4 + family 0/0.2')
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from kg.compat.index import CompatIndex, ModelProfile
from kg.errors import InputError
from kg.iris import hub_id_of_iri

__all__ = ["Answer", "Component", "display_name", "lineage_family", "lineage_link", "require"]


@dataclass(frozen=True)
class Component:
    """One part of a score: what was measured, the points it earned out of `weight`, and why."""

    name: str
    points: float
    weight: float
    why: str


@dataclass(frozen=True)
class Answer:
    """One model in a lookup's answer, with why it is there and what its score is made of."""

    model: str
    score: float
    case: str
    reasons: tuple[str, ...]
    components: tuple[Component, ...] = ()

    @classmethod
    def scored(
        cls,
        model: str,
        case: str,
        components: tuple[Component, ...],
        reasons: tuple[str, ...] = (),
    ) -> Answer:
        """An answer whose score is the sum of `components`."""
        return cls(model, round(sum(c.points for c in components), 4), case, reasons, components)

    @property
    def breakdown(self) -> str:
        """The score as a sum people can check: `size 0.4/0.4 + family 0.2/0.2`."""
        return " + ".join(f"{c.name} {c.points:g}/{c.weight:g}" for c in self.components)


def require(index: CompatIndex, name: str) -> ModelProfile:
    """The model called `name`, or an error naming the closest known models."""
    found = index.find(name)
    if found is not None:
        return found
    close = difflib.get_close_matches(name, index.known_names(), n=3)
    raise InputError(
        f"no model `{name}` in the registry",
        path=name,
        hint=f"did you mean {', '.join(close)}?" if close else "ingest it first: modelkg ingest",
    )


def display_name(index: CompatIndex, iri: str) -> str:
    """How a person knows the model at `iri`: its name, else its hub id, else the IRI.

    >>> display_name(CompatIndex({}), "https://huggingface.co/org/base")
    'org/base'
    """
    profile = index.profiles.get(iri)
    if profile is not None:
        return profile.name
    return hub_id_of_iri(iri) or iri


def lineage_link(index: CompatIndex, a: ModelProfile, b: ModelProfile) -> str | None:
    """How `b` is related to `a` by lineage, in words, or None."""
    if a.iri in b.bases:
        return f"{b.name} is a {b.bases[a.iri]} of {a.name}"
    if b.iri in a.bases:
        return f"{a.name} is a {a.bases[b.iri]} of {b.name}"
    shared = set(a.bases) & set(b.bases)
    if shared:
        return f"both derive from {display_name(index, sorted(shared)[0])}"
    return None


def lineage_family(index: CompatIndex, model: ModelProfile) -> set[str]:
    """Models linked to `model` by fine-tune/adapter/quantization (either way), transitively;
    a merge is not a link (its vectors and token ids follow none of its parents).

    >>> base = ModelProfile("base", "base")
    >>> chat = ModelProfile("chat", "chat", bases={"base": "fine-tune"})
    >>> gptq = ModelProfile("gptq", "gptq", bases={"chat": "quantization"})
    >>> index = CompatIndex({p.iri: p for p in (base, chat, gptq)})
    >>> sorted(lineage_family(index, gptq)), display_name(index, "chat")
    (['base', 'chat'], 'chat')
    """
    seen = {model.iri}
    frontier = [model.iri]
    while frontier:
        current = frontier.pop()
        profile = index.profiles.get(current)
        neighbours = set(index.derived.get(current, {}))
        if profile is not None:
            neighbours |= {b for b, r in profile.bases.items() if r != "merge"}
        for iri in neighbours - seen:
            seen.add(iri)
            frontier.append(iri)
    return seen - {model.iri}
