"""What every library reader shares: offering a normalized parameter, and the precise error for a
field of the wrong shape (the same `ConfigError` a `config.json` gets: file, field, expected)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from kg.errors import ConfigError
from kg.ingest.draft import Candidate

if TYPE_CHECKING:
    from kg.ingest.draft import ModelDraft, Subject

__all__ = ["file_path", "offer", "whole_number", "wrong_shape"]


def file_path(draft: ModelDraft, file: str) -> str:
    """Where `file` (relative to the model folder) is, as errors name it."""
    if draft.source.kind == "config-file":
        return str(draft.source.location)
    return str(draft.source.location / file)


def wrong_shape(
    draft: ModelDraft, file: str, field: str, value: object, expected: str
) -> ConfigError:
    """The error for `field` of `file` holding `value` where `expected` belongs."""
    shown = json.dumps(value, default=str)
    return ConfigError(
        f"`{field}` is {shown[:60]}", path=file_path(draft, file), field=field, expected=expected
    )


def offer(
    draft: ModelDraft,
    subject: Subject,
    canonical_key: str,
    value: int | str,
    *,
    key: str,
    file: str,
    framework: str,
    priority: int = 5,
) -> None:
    """Offer `value` for the parameter concept whose canonical key is `canonical_key`."""
    concept = draft.mapping.concepts[canonical_key]
    draft.offer(subject, concept, Candidate(value, key, file, framework, priority))


def whole_number(value: object) -> int | None:
    """`value` if it is a whole number (not a bool), else None."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return None
