"""Read a timm model's `config.json`: `architecture`, `num_classes`, `num_features` and the
`pretrained_cfg` (input size, label names, weights tag).

timm's own reader (`timm.models.load_model_config_from_hf`) needs timm and torch to return
this same JSON as a dict, so the documented keys are read here directly.
"""

from __future__ import annotations

from pathlib import Path

from kg.ingest.config_json import write_label_set
from kg.ingest.draft import ModelDraft
from kg.ingest.json_file import read_json_object
from kg.ingest.libraries.common import offer, whole_number, wrong_shape
from ontology.namespaces import MKG

__all__ = ["read_timm"]

FILE = "config.json"


def read_timm(draft: ModelDraft, files: dict[str, Path]) -> None:
    """Add the timm architecture, classes, feature width and input size to `draft`."""
    config = read_json_object(files[FILE])
    model = draft.model.iri
    architecture = config.get("architecture")
    if not isinstance(architecture, str) or not architecture:
        raise wrong_shape(
            draft, FILE, "architecture", architecture, 'a timm model name, e.g. "resnet50.a1_in1k"'
        )
    draft.add_value(model, MKG.architecture, architecture)
    pretrained = config.get("pretrained_cfg")
    if not isinstance(pretrained, dict):
        raise wrong_shape(
            draft, FILE, "pretrained_cfg", pretrained, "an object (timm's pretrained config)"
        )
    classes = whole_number(config.get("num_classes", pretrained.get("num_classes")))
    if classes is not None and classes > 0:
        offer(
            draft,
            draft.model,
            "num_labels",
            classes,
            key="num_classes",
            file=FILE,
            framework="timm",
            priority=10,
        )
    features = whole_number(config.get("num_features"))
    if features is not None:
        offer(
            draft,
            draft.model,
            "embedding_dimension",
            features,
            key="num_features",
            file=FILE,
            framework="timm",
            priority=10,
        )
    input_size = pretrained.get("input_size")
    if (
        isinstance(input_size, list)
        and len(input_size) == 3
        and whole_number(input_size[-1]) is not None
    ):
        offer(
            draft,
            draft.model,
            "image_size",
            input_size[-1],
            key="pretrained_cfg.input_size",
            file=FILE,
            framework="timm",
            priority=10,
        )
    tag = pretrained.get("tag")
    if isinstance(tag, str) and tag:
        draft.add_value(model, MKG.pretrainedTag, tag)
    labels = config.get("label_names")
    if isinstance(labels, list) and labels and all(isinstance(label, str) for label in labels):
        write_label_set(draft, dict(enumerate(labels)), FILE)
