"""Read a segmentation-models-pytorch model's `config.json`, as `save_pretrained` writes it: the
model class (`_model_class`: Unet, FPN, DeepLabV3Plus, ...), its encoder and its classes.

smp's own loader (`smp.from_pretrained`) builds the torch model; the config it reads is this
JSON of the constructor's arguments, read here directly.
"""

from __future__ import annotations

from pathlib import Path

from kg.ingest.draft import ModelDraft
from kg.ingest.json_file import read_json_object
from kg.ingest.libraries.common import offer, whole_number, wrong_shape
from ontology.namespaces import MKG

__all__ = ["read_smp"]

FILE = "config.json"


def read_smp(draft: ModelDraft, files: dict[str, Path]) -> None:
    """Add the segmentation model's class, encoder and number of classes to `draft`."""
    config = read_json_object(files[FILE])
    model = draft.model.iri
    model_class = config.get("_model_class")
    if not isinstance(model_class, str) or not model_class:
        raise wrong_shape(draft, FILE, "_model_class", model_class, 'the model class, e.g. "Unet"')
    draft.add_value(model, MKG.architecture, model_class)
    encoder = config.get("encoder_name")
    if isinstance(encoder, str) and encoder:
        draft.add_value(model, MKG.encoderName, encoder)
    classes = whole_number(config.get("classes"))
    if classes is not None and classes > 0:
        offer(
            draft,
            draft.model,
            "num_labels",
            classes,
            key="classes",
            file=FILE,
            framework="segmentation-models-pytorch",
            priority=10,
        )
