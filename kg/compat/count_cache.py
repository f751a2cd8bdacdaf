"""Parameter counts kept on disk: a config is built once per machine, not once per process.

Why: counting a config builds its model on the meta device (`kg.compat.size`), and the first
build of an architecture in a process imports transformers' modeling code for it. In an ingest
of the 145 corpus models that was two thirds of the time, most of it in imports, and every
process paid it again: each ingest worker, each `modelkg ingest`, a Ray task, a restarted
server. A hub of fine-tunes repeats the same config text over and over, and so does an ingest
run again into a new store.

The key is the sha256 of the config text together with everything the count depends on: the
installed torch and transformers, and a digest of the counting code and the parameter mapping
it reads (`kg/compat/size.py`, `kg/model_builds.py`, `ontology/parameters.ttl`), so an upgrade
or an edit never reads an old count. diskcache holds them (SQLite: safe across threads,
processes and forks), as JSON, never pickle, in `MODELKG_CACHE_DIR` or the user's cache folder
(platformdirs; `~/.cache/modelkg/parameter-counts` on Linux). A folder that cannot be used
turns the cache off, never the count, and an entry that is not a count is counted again.

>>> import tempfile
>>> counts = CountCache(tempfile.mkdtemp())
>>> counts.get('{"model_type": "gpt2"}') is None
True
>>> counts.put('{"model_type": "gpt2"}', {"value": 124439808, "method": "meta-device",
...                                      "detail": "GPT2LMHeadModel built on the meta device"})
>>> counts.get('{"model_type": "gpt2"}')["value"]
124439808
"""

from __future__ import annotations

import hashlib
import logging
import os
import sqlite3
import zlib
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = ["CACHE_DIR_VARIABLE", "CountCache", "count_cache"]

CACHE_DIR_VARIABLE = "MODELKG_CACHE_DIR"
"""The folder ModelKG keeps its caches in (the parameter counts go in `parameter-counts/`)."""

SIZE_LIMIT_BYTES = 64 * 1024 * 1024
"""Room for about a million counts; past it diskcache evicts the least recently stored."""

_COUNTING_CODE = (
    Path(__file__).with_name("size.py"),
    Path(__file__).parents[1] / "model_builds.py",
    Path(__file__).parents[2] / "ontology" / "parameters.ttl",
)
_PROBE = "doctor/probe"
"""The key `CountCache.inspect` writes and removes (no count is ever stored under it)."""
_log = logging.getLogger(__name__)


def _cache_root() -> Path:
    chosen = os.environ.get(CACHE_DIR_VARIABLE)
    if chosen:
        return Path(chosen)
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("modelkg", appauthor=False))


@cache
def _counted_by() -> str:
    """What a count depends on besides the config: the libraries that build the model and the
    code that counts (read once per process)."""
    digest = hashlib.sha256()
    for package in ("torch", "transformers"):
        digest.update(f"{package}=={metadata.version(package)}\n".encode())
    for path in _COUNTING_CODE:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


class CountCache:
    """Counts by config text in one folder; every failure to use the folder is a miss."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self._cache: Any = None
        self._off = False

    def _open(self) -> Any:
        """The folder as a diskcache `Cache` of JSON values (raises OSError or sqlite3.Error)."""
        from diskcache import Cache, JSONDisk

        return Cache(str(self.directory), disk=JSONDisk, size_limit=SIZE_LIMIT_BYTES)

    def _opened(self) -> Any:
        if self._cache is None and not self._off:
            try:
                self._cache = self._open()
            except (OSError, sqlite3.Error) as exc:
                self._turn_off(exc)
        return self._cache

    def _turn_off(self, exc: Exception) -> None:
        self._off, self._cache = True, None
        _log.warning(
            "parameter counts are not cached: cannot use %s (%s); remove that folder (it is "
            "only a cache), or set %s to a writable one",
            self.directory,
            exc,
            CACHE_DIR_VARIABLE,
        )

    def inspect(self) -> tuple[int, str | None]:
        """How many counts the folder keeps, and why it cannot be used (None: it can), for
        `modelkg doctor`. The folder is opened afresh and written to (a probe, removed at
        once): a folder fixed since this process turned its cache off is seen as fixed, and
        one that opens but refuses writes is seen as broken."""
        try:
            with self._open() as probe:
                probe.set(_PROBE, True)
                probe.delete(_PROBE)
                return len(probe), None
        except (OSError, sqlite3.Error) as exc:
            return 0, f"cannot use {self.directory} ({exc})"

    @staticmethod
    def _key(config_json: str) -> str:
        return f"{_counted_by()}/{hashlib.sha256(config_json.encode()).hexdigest()}"

    def get(self, config_json: str) -> dict[str, Any] | None:
        """The count kept for this config text, or None."""
        opened = self._opened()
        if opened is None:
            return None
        try:
            found = opened.get(self._key(config_json))
        except (OSError, sqlite3.Error, ValueError, zlib.error) as exc:  # bytes not JSON
            _log.warning("a kept parameter count could not be read (%s): counting again", exc)
            return None
        return found if isinstance(found, dict) else None

    def put(self, config_json: str, count: dict[str, Any]) -> None:
        """Keep `count` for this config text (a failure to write is logged, not raised)."""
        opened = self._opened()
        if opened is None:
            return
        try:
            opened.set(self._key(config_json), count)
        except (OSError, sqlite3.Error) as exc:
            self._turn_off(exc)


_caches: dict[Path, CountCache] = {}


def count_cache() -> CountCache:
    """The cache of the folder the environment names now (one per folder and process)."""
    folder = _cache_root() / "parameter-counts"
    return _caches.setdefault(folder, CountCache(folder))
