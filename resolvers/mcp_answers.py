"""The shapes of `modelkg mcp`'s answers: each tool's output schema, which the SDK derives
from these types and checks every answer against, so an agent knows what comes back before it
calls. Compatibility answers and chain steps are `kg`'s own dataclasses (`kg.compat`), a
model's record is the REST API's (`resolvers.rest.schemas.ModelDetail`): one shape per
answer, whichever face gives it.

>>> from pydantic import TypeAdapter
>>> sorted(TypeAdapter(SparqlAnswer).json_schema()["properties"])
['boolean', 'rows', 'triples', 'truncated', 'vars']
"""

from __future__ import annotations

from typing import NotRequired

from typing_extensions import TypedDict

from kg.compat.answers import Answer
from kg.compat.lookups import ChainStep

__all__ = [
    "ChainAnswer",
    "CompatAnswers",
    "Explanations",
    "Fact",
    "Premise",
    "PrimaryTask",
    "SearchAnswer",
    "SearchHit",
    "SparqlAnswer",
]


class CompatAnswers(TypedDict):
    """Models answering a compatibility question, best first, each with its case, its score
    (the sum of its components' points) and its reasons; `notes` says what was left out."""

    answers: list[Answer]
    notes: list[str]


class SearchHit(TypedDict):
    """A model found: its name, IRI, cosine similarity and the text embedded for it."""

    model: str
    iri: str
    score: float
    matched_text: str


class SearchAnswer(TypedDict):
    """Hits best first, the embedding model that scored them, and warnings (an index rebuilt)."""

    hits: list[SearchHit]
    model: str
    warnings: list[str]


class ChainAnswer(TypedDict):
    """Whether every step of a pipeline feeds the next, and each step's reasons."""

    ok: bool
    steps: list[ChainStep]


class PrimaryTask(TypedDict):
    """The task the Hub would show as the model's pipeline_tag, and why it was chosen."""

    task: str
    reason: str
    rule: str


class Premise(TypedDict):
    """A triple an inference used (N-Triples), with the file and key its value came from."""

    triple: str
    source_file: str | None
    source_key: str | None


class Fact(TypedDict):
    """An inferred fact (N-Triples), the rule that made it, and the premises it used."""

    fact: str
    rule: str
    premises: list[Premise]


class Explanations(TypedDict):
    """Why the registry holds what it inferred about a model."""

    primary_task: PrimaryTask | None
    facts: list[Fact]


class SparqlAnswer(TypedDict):
    """A SELECT's `vars` and `rows` (variable -> plain value; unbound ones left out), an
    ASK's `boolean`, or a CONSTRUCT/DESCRIBE's `triples` ([subject, predicate, object]);
    `truncated` when the rows were capped."""

    vars: NotRequired[list[str]]
    rows: NotRequired[list[dict[str, object]]]
    boolean: NotRequired[bool]
    triples: NotRequired[list[list[object]]]
    truncated: NotRequired[bool]
