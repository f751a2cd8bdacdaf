"""Read a SetFit model: `config_setfit.json` beside the sentence-transformers files. SetFit puts a
classification head on a sentence-transformers body, so the model is a text classifier with the
labels the file lists (`ontology/libraries.ttl` gives the task).

SetFit's own loader (`SetFitModel.from_pretrained`) loads the body and head weights with torch;
the file itself is two documented keys, `labels` and `normalize_embeddings`, read here.
"""

from __future__ import annotations

from pathlib import Path

from kg.ingest.config_json import write_label_set
from kg.ingest.draft import ModelDraft
from kg.ingest.json_file import read_json_object
from kg.ingest.libraries.common import offer, wrong_shape
from ontology.namespaces import MKG

__all__ = ["read_setfit"]

FILE = "config_setfit.json"


def read_setfit(draft: ModelDraft, files: dict[str, Path]) -> None:
    """Add the SetFit head's labels and normalization to `draft`."""
    config = read_json_object(files[FILE])
    labels = config.get("labels")
    if labels is not None:
        if not isinstance(labels, list) or not all(isinstance(label, str) for label in labels):
            raise wrong_shape(
                draft,
                FILE,
                "labels",
                labels,
                'a list of label names, e.g. ["negative", "positive"]',
            )
        if labels:
            write_label_set(draft, dict(enumerate(labels)), FILE)
            offer(
                draft,
                draft.model,
                "num_labels",
                len(labels),
                key="labels",
                file=FILE,
                framework="setfit",
                priority=10,
            )
    normalize = config.get("normalize_embeddings")
    if normalize is not None:
        if not isinstance(normalize, bool):
            raise wrong_shape(draft, FILE, "normalize_embeddings", normalize, "true or false")
        if normalize:
            draft.add_value(draft.model.iri, MKG.normalizesEmbeddings, True)
