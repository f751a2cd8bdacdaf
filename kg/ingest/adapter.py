"""Read a PEFT `adapter_config.json`: the adapter's kind, rank, targets and its base model.

Most adapter repositories carry no `config.json`, only this file and a card; they still ingest
as `mkg:Adapter` models linked to their base with `mkg:adapterOf`.
"""

from __future__ import annotations

from pathlib import Path

from kg.ingest.draft import ModelDraft
from kg.ingest.json_file import read_json_object
from kg.ingest.model_card import hub_id_from_reference
from ontology.namespaces import MKG, RDF

__all__ = ["read_adapter_config"]


def read_adapter_config(draft: ModelDraft, path: Path) -> None:
    """Add the adapter's description to `draft`; its base goes to `draft.facts` for lineage."""
    config = read_json_object(path)
    model = draft.model.iri
    draft.add(model, RDF.type, MKG.Adapter)
    draft.facts["adapter"] = True
    peft_type = config.get("peft_type")
    if isinstance(peft_type, str):
        draft.add_value(model, MKG.peftType, peft_type)
    task_type = config.get("task_type")
    if isinstance(task_type, str):
        draft.add_value(model, MKG.taskTypeHint, task_type)
    rank = config.get("r")
    if isinstance(rank, int) and not isinstance(rank, bool):
        draft.add_value(model, MKG.loraRank, rank)
    alpha = config.get("lora_alpha")
    if isinstance(alpha, int | float) and not isinstance(alpha, bool):
        draft.add_value(model, MKG.loraAlpha, alpha)
    targets = config.get("target_modules")
    if isinstance(targets, str):
        targets = [targets]
    if isinstance(targets, list):
        for target in sorted({t for t in targets if isinstance(t, str)}):
            draft.add_value(model, MKG.targetModule, target)
    base = config.get("base_model_name_or_path")
    if isinstance(base, str) and base:
        hub_id = hub_id_from_reference(base)
        if hub_id is None:
            draft.warn(
                f"adapter_config.json: base_model_name_or_path `{base}` is a local path, not a "
                "hub id; no lineage recorded"
            )
        else:
            draft.facts["adapter_base"] = hub_id
