"""Read an OpenCLIP model: `open_clip_config.json` gives the joint image-text embedding space
(`model_cfg.embed_dim`) and each tower's size. The rule
`task-from-library-joint-embedding.rq` turns the dimension into the model's embedding output.

open_clip's own loader (`open_clip.create_model_from_pretrained`) builds the torch model; the
config it reads is this documented JSON, read here directly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kg.ingest.draft import ModelDraft
from kg.ingest.json_file import read_json_object
from kg.ingest.libraries.common import offer, whole_number, wrong_shape

__all__ = ["read_open_clip"]

FILE = "open_clip_config.json"
_TOWER_KEYS = {
    "text_cfg": (
        ("context_length", "max_position_embeddings"),
        ("vocab_size", "vocab_size"),
    ),
    "vision_cfg": (("image_size", "image_size"),),
}


def read_open_clip(draft: ModelDraft, files: dict[str, Path]) -> None:
    """Add the embedding dimension and the towers' sizes to `draft`."""
    config = read_json_object(files[FILE])
    model_cfg = config.get("model_cfg")
    if not isinstance(model_cfg, dict):
        raise wrong_shape(draft, FILE, "model_cfg", model_cfg, "an object with `embed_dim`")
    embed_dim = whole_number(model_cfg.get("embed_dim"))
    if embed_dim is None:
        raise wrong_shape(
            draft,
            FILE,
            "model_cfg.embed_dim",
            model_cfg.get("embed_dim"),
            "the joint embedding's dimension, a whole number such as 512",
        )
    offer(
        draft,
        draft.model,
        "embedding_dimension",
        embed_dim,
        key="model_cfg.embed_dim",
        file=FILE,
        framework="open_clip",
        priority=10,
    )
    for tower, keys in _TOWER_KEYS.items():
        cfg: Any = model_cfg.get(tower)
        if not isinstance(cfg, dict):
            continue
        for key, canonical in keys:
            value = whole_number(cfg.get(key))
            if value is not None:
                offer(
                    draft,
                    draft.model,
                    canonical,
                    value,
                    key=f"model_cfg.{tower}.{key}",
                    file=FILE,
                    framework="open_clip",
                    priority=1,
                )
