"""Server settings: flags, else environment variables, else safe defaults (read-only)."""

from __future__ import annotations

import os
from dataclasses import dataclass

__all__ = ["ServerSettings"]


@dataclass(frozen=True)
class ServerSettings:
    """How `modelkg serve` runs; every value also comes from `MODELKG_*` variables."""

    store: str = ".modelkg"
    host: str = "127.0.0.1"
    port: int = 8000
    token: str | None = None
    """bearer token that enables writes; None means read-only (the default)"""

    @classmethod
    def from_environment(cls, **overrides: object) -> ServerSettings:
        """Settings from `MODELKG_STORE`, `MODELKG_TOKEN`, then explicit overrides."""
        values: dict[str, object] = {
            "store": os.environ.get("MODELKG_STORE") or ".modelkg",
            "token": os.environ.get("MODELKG_TOKEN") or None,
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]
