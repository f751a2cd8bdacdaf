"""Who serves an embedded store: a running `modelkg serve` says so beside the store.

The server shares the store (`kg.store.shared`): nobody keeps it open for writing, every
process reads published checkpoints and writes under one lock file. A command (`ingest`,
`reason`, `search`, `query`) finds the server's record and shares the store with it instead
of opening it alone. The server writes `{store}.server.json` when it starts and removes it when
it stops; a file left by a server that died is ignored (its process is gone). Should a command
still meet RocksDB's lock (it opened the store alone just before the server started), the error
names the server and how to send the write there.

>>> import tempfile
>>> folder = tempfile.mkdtemp() + "/kg"
>>> record_holder(folder, "http://127.0.0.1:8000")
>>> current_holder(folder)["url"]
'http://127.0.0.1:8000'
>>> release_holder(folder)
>>> current_holder(folder) is None
True
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from kg.atomic import write_atomically

__all__ = ["current_holder", "record_holder", "release_holder"]


def _file(location: str) -> Path:
    return Path(f"{location.rstrip('/')}.server.json")


def record_holder(location: str, url: str) -> None:
    """Say that this process serves the store at `location` on `url`."""
    write_atomically(_file(location), json.dumps({"url": url, "pid": os.getpid()}))


def release_holder(location: str) -> None:
    """Remove this process's record (another process's is left alone)."""
    holder = current_holder(location)
    if holder is not None and holder.get("pid") == os.getpid():
        _file(location).unlink(missing_ok=True)


def current_holder(location: str) -> dict[str, Any] | None:
    """The live server holding the store at `location`, if one recorded itself."""
    try:
        holder: dict[str, Any] = json.loads(_file(location).read_text(encoding="utf-8"))
        os.kill(int(holder["pid"]), 0)  # raises when that process is gone
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return holder
