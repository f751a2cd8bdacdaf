"""Why a model has each inferred fact: the rule, and the premises with the file and key they
were read from.

>>> import tempfile
>>> from kg.store import open_store
>>> explain(open_store(tempfile.mkdtemp() + "/kg"), "org/missing")
Traceback (most recent call last):
...
kg.errors.InputError: org/missing: no model `org/missing` in the store (...)
"""

from __future__ import annotations

from dataclasses import dataclass

from pyoxigraph import Literal, NamedNode, Triple

from kg.errors import InputError
from kg.models.records import PrimaryTaskRef, load_primary_tasks
from kg.store.base import ModelStore

__all__ = ["Explanation", "Premise", "explain", "primary_task", "resolve_model"]


@dataclass(frozen=True)
class Premise:
    """A triple an inference used, and where its value was read when a setting says so."""

    triple: Triple
    source_file: str | None = None
    source_key: str | None = None


@dataclass(frozen=True)
class Explanation:
    """One inferred fact and why it holds."""

    fact: Triple
    rule: str
    premises: tuple[Premise, ...]


def resolve_model(store: ModelStore, name: str) -> NamedNode:
    """The model IRI for a hub id, a name or an IRI; an `InputError` with close names if none."""
    import difflib

    result = store.select("SELECT ?m ?name WHERE { ?m a mkg:Model ; schema:name ?name }")
    known: dict[str, NamedNode] = {}
    for row in result:
        model, label = row["m"], row["name"]
        if isinstance(model, NamedNode) and isinstance(label, Literal):
            known[label.value] = model
            known[model.value] = model
    if name in known:
        return known[name]
    close = difflib.get_close_matches(name, [k for k in known if "://" not in k], n=3)
    raise InputError(
        f"no model `{name}` in the store",
        path=name,
        hint=f"did you mean {', '.join(close)}?" if close else "list models with `modelkg query`",
    )


def explain(store: ModelStore, name: str) -> list[Explanation]:
    """Every inferred fact in the model's inferred graph, with its rule and premises."""
    model = resolve_model(store, name)
    result = store.select(
        f"""SELECT ?why ?rule ?fact ?premise WHERE {{
            ?source a mkg:SourceRecord ; mkg:describes {model} .
            ?inferred mkg:describes {model} ; mkg:derivedFromDigest ?digest .
            GRAPH ?inferred {{
                ?why a mkg:Inference ; mkg:rule ?rule ; mkg:concludes ?fact .
                OPTIONAL {{ ?why mkg:premise ?premise }}
            }}
        }} ORDER BY ?rule ?fact"""
    )
    grouped: dict[str, tuple[Triple, str, list[Triple]]] = {}
    for row in result:
        why, rule, fact, premise = row["why"], row["rule"], row["fact"], row["premise"]
        assert isinstance(why, NamedNode) and isinstance(rule, NamedNode)
        assert isinstance(fact, Triple)
        entry = grouped.setdefault(why.value, (fact, rule.value.rsplit("/", 1)[-1], []))
        if isinstance(premise, Triple) and premise not in entry[2]:
            entry[2].append(premise)
    return [
        Explanation(fact, rule, tuple(_locate(store, p) for p in sorted(premises, key=str)))
        for fact, rule, premises in grouped.values()
    ]


def primary_task(store: ModelStore, name: str) -> PrimaryTaskRef | None:
    """The model's primary task and why it was chosen (None before `modelkg reason`)."""
    model = resolve_model(store, name)
    return load_primary_tasks(store, [model.value]).get(model.value)


def _locate(store: ModelStore, premise: Triple) -> Premise:
    """The file and key a premise's value came from, via its effective parameter setting."""
    result = store.select(
        f"""SELECT ?file ?key WHERE {{
            {premise.subject} mkg:hasSetting ?s .
            ?s mkg:concept {premise.predicate} ; mkg:effective true ;
               mkg:sourceFile ?file ; mkg:sourceKey ?key .
        }} LIMIT 1"""
    )
    for row in result:
        file, key = row["file"], row["key"]
        if isinstance(file, Literal) and isinstance(key, Literal):
            return Premise(premise, file.value, key.value)
    return Premise(premise)
