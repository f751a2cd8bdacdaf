"""Recognize a sentence-transformers CrossEncoder: a transformers sequence classifier saved by
sentence-transformers, which says so in its `config.json` (`sentence_transformers`, or the older
`sbert_ce_default_activation_function`). It scores a pair of texts together: a reranker.
The transformers reader reads the rest of the config.
"""

from __future__ import annotations

from pathlib import Path

from kg.ingest.draft import ModelDraft
from kg.ingest.json_file import read_json_object
from ontology.namespaces import MKG, RDF

__all__ = ["CROSS_ENCODER_KEYS", "read_cross_encoder"]

CROSS_ENCODER_KEYS = ("sentence_transformers", "sbert_ce_default_activation_function")


def read_cross_encoder(draft: ModelDraft, files: dict[str, Path]) -> None:
    """Type the model a `mkg:CrossEncoder` when its config.json was saved by one."""
    if "config.json" not in files or "modules.json" in files:
        return
    config = read_json_object(files["config.json"])
    if any(key in config for key in CROSS_ENCODER_KEYS):
        draft.add(draft.model.iri, RDF.type, MKG.CrossEncoder)
