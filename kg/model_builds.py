"""Building transformers models in this process: real ones, and ones built for their shapes.

Counting a config's parameters builds its model on the meta device (`kg.compat.size`). There,
drawing initial weights is pure cost: a meta tensor has no values, yet every `nn.Linear`
still runs `kaiming_uniform_` and every `_init_weights` its `normal_`, through PyTorch's
Python decompositions. That was 60% of a build (52 ms of a corpus config's 87 on average).
`shapes_only` makes the weight initializers (`transformers.initialization.TORCH_INIT_FUNCTIONS`,
in the modules transformers itself patches, `TORCH_MODULES_TO_PATCH`, and transformers' own
guarded copies) do nothing while it is open. Tying is left alone: a tied LM head is still one
`Parameter`, counted once (the 145 corpus configs count the same with and without it).

The switch is process-wide (module attributes), so it and every build of a real model
(`kg.search.embedder` loading sentence-transformers) hold `MODEL_BUILDS`: a model loaded
meanwhile in another thread would otherwise keep uninitialized weights where its checkpoint
has none.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["MODEL_BUILDS", "shapes_only"]

MODEL_BUILDS = threading.RLock()
"""Held while a model is built in this process, real or for its shapes."""


def _keep(tensor: Any, *args: Any, **kwargs: Any) -> Any:
    """An initializer that leaves the tensor as it is (what the real ones return)."""
    del args, kwargs
    return tensor


@contextmanager
def shapes_only() -> Iterator[None]:
    """Weight initializers do nothing while this is open; holds `MODEL_BUILDS`.

    >>> import torch
    >>> with shapes_only():
    ...     weight = torch.nn.init.normal_(torch.ones(2))
    >>> weight.tolist()
    [1.0, 1.0]
    """
    from transformers import initialization

    with MODEL_BUILDS:
        saved: list[tuple[object, str, object]] = []
        for module_name in (*initialization.TORCH_MODULES_TO_PATCH, initialization.__name__):
            module = sys.modules.get(module_name)
            if module is None:
                continue
            for name in initialization.TORCH_INIT_FUNCTIONS:
                if hasattr(module, name):
                    saved.append((module, name, getattr(module, name)))
                    setattr(module, name, _keep)
        try:
            yield
        finally:
            for owner, attribute, original in reversed(saved):
                setattr(owner, attribute, original)
