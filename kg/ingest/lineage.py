"""Lineage from metadata: which base models a model derives from, and how.

The relation is the card's `base_model_relation` when given; otherwise it is inferred the way
the Hub does: an adapter config means adapter, a quantization config means quantized, several
base models mean merge, and one base model means finetune. Bases are linked by hub IRI even
when they are not ingested (yet).
"""

from __future__ import annotations

from typing import Literal

from pyoxigraph import NamedNode

from kg.ingest.draft import ModelDraft
from ontology.namespaces import MKG

__all__ = ["RELATION_PROPERTIES", "Relation", "infer_relation", "record_lineage"]

Relation = Literal["adapter", "merge", "quantized", "finetune"]

RELATION_PROPERTIES: dict[Relation, NamedNode] = {
    "finetune": MKG.fineTunedFrom,
    "adapter": MKG.adapterOf,
    "quantized": MKG.quantizedFrom,
    "merge": MKG.mergedFrom,
}


def infer_relation(*, stated: str | None, adapter: bool, quantized: bool, bases: int) -> Relation:
    """The base-model relation, stated or inferred as the Hub infers it.

    >>> infer_relation(stated=None, adapter=True, quantized=False, bases=1)
    'adapter'
    >>> infer_relation(stated=None, adapter=False, quantized=False, bases=2)
    'merge'
    >>> infer_relation(stated="quantized", adapter=False, quantized=False, bases=1)
    'quantized'
    """
    for relation in RELATION_PROPERTIES:
        if stated == relation:
            return relation
    if adapter:
        return "adapter"
    if quantized:
        return "quantized"
    if bases > 1:
        return "merge"
    return "finetune"


def record_lineage(draft: ModelDraft) -> None:
    """Link the model to its bases from what the card and the adapter config said."""
    facts = draft.facts
    stated_bases = facts.get("card_base_models", ())
    card_bases = (
        [b for b in stated_bases if isinstance(b, str)] if isinstance(stated_bases, tuple) else []
    )
    adapter_base = facts.get("adapter_base")
    stated = facts.get("card_relation")
    relation = infer_relation(
        stated=stated if isinstance(stated, str) else None,
        adapter=bool(facts.get("adapter")),
        quantized=bool(facts.get("quantized")),
        bases=len(card_bases),
    )
    links: set[tuple[NamedNode, str]] = set()
    for base in card_bases:
        links.add((RELATION_PROPERTIES[relation], base))
    if isinstance(adapter_base, str):
        links.add((MKG.adapterOf, adapter_base))
    own = draft.source.hub_id
    for predicate, base in sorted(links, key=lambda link: (link[0].value, link[1])):
        if base == own:
            draft.warn(f"the model names itself (`{base}`) as its base model; ignored")
            continue
        draft.add(draft.model.iri, predicate, draft.ids.model_iri(base))
    if links:
        draft.add_value(draft.model.iri, MKG.baseModelRelation, relation)
