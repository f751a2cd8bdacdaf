"""Was `catalog.ttl` generated from the installed transformers? If not, warn once per process.

The catalog records the transformers version it was generated from (`mkg:transformersVersion`).
A catalog from another version still works (model types it lacks are ingested as unrecognized),
so a mismatch is a warning on the `modelkg.catalog` logger naming the file and the fix, never an
error. The installed version is read from the package metadata: transformers is not imported.

>>> print(stale_catalog_message(Path("ontology/catalog.ttl"), "5.0.0", "5.1.0"))
ontology/catalog.ttl was generated from transformers 5.0.0 but transformers 5.1.0 is installed:
model types, key aliases and architectures added or changed since are unknown to ModelKG;
regenerate it with `modelkg catalog --write` (or install the locked versions:
`bash scripts/setup.sh`)
>>> stale_catalog_message(Path("ontology/catalog.ttl"), "5.1.0", "5.1.0") is None
True
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from pyoxigraph import Literal, Quad

from ontology.namespaces import MKG

__all__ = [
    "REGENERATE_COMMAND",
    "installed_transformers_version",
    "recorded_transformers_version",
    "stale_catalog_message",
    "warn_if_stale",
]

log = logging.getLogger("modelkg.catalog")

REGENERATE_COMMAND = "modelkg catalog --write"


def recorded_transformers_version(quads: Iterable[Quad]) -> str | None:
    """The transformers version the catalog says it was generated from (None when it says none)."""
    for quad in quads:
        if quad.predicate == MKG.transformersVersion and isinstance(quad.object, Literal):
            return quad.object.value
    return None


def installed_transformers_version() -> str | None:
    """The installed transformers' version from its metadata, or None when it is not installed."""
    try:
        return version("transformers")
    except PackageNotFoundError:
        return None


def stale_catalog_message(path: Path, recorded: str | None, installed: str | None) -> str | None:
    """The warning for a catalog generated from another transformers, or None when it matches
    (or when transformers is not installed: there is nothing to compare with)."""
    if installed is None or recorded == installed:
        return None
    made_from = (
        f"was generated from transformers {recorded}"
        if recorded
        else "does not say which transformers it was generated from"
    )
    return (
        f"{path} {made_from} but transformers {installed} is installed: model types, key "
        "aliases and architectures added or changed since are unknown to ModelKG; regenerate it "
        f"with `{REGENERATE_COMMAND}` (or install the locked versions: `bash scripts/setup.sh`)"
    )


def warn_if_stale(path: Path, quads: Iterable[Quad]) -> None:
    """Log a warning (once per process) when the catalog in `quads` is not for the installed
    transformers."""
    message = stale_catalog_message(
        path, recorded_transformers_version(quads), installed_transformers_version()
    )
    if message is not None:
        _warn_once(message)


@cache
def _warn_once(message: str) -> None:
    log.warning(message)
