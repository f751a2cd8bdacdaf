"""Files written whole: a reader sees the old file or the new one, never a part of either.

What is written goes to a temporary file beside the target (the same folder, so the same file
system), renamed over the target only once it is complete (`os.replace`, atomic on POSIX). The
temporary name holds the writing process and thread, so two writers never write into one
temporary file; a write that fails removes its temporary file and leaves the target as it was.

>>> import tempfile
>>> target = Path(tempfile.mkdtemp()) / "state.json"
>>> write_atomically(target, '{"ok": true}')
>>> target.read_text()
'{"ok": true}'
>>> [p.name for p in target.parent.iterdir()]
['state.json']
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["replacing", "write_atomically"]


@contextmanager
def replacing(path: Path) -> Iterator[Path]:
    """A temporary path beside `path` to write to, which replaces `path` when the block ends
    without an error (on an error it is removed, and `path` stays as it was).

    >>> import tempfile
    >>> target = Path(tempfile.mkdtemp()) / "vectors.bin"
    >>> with replacing(target) as temporary:
    ...     _ = temporary.write_bytes(b"0123")
    >>> target.read_bytes()
    b'0123'
    """
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        yield temporary
        temporary.replace(path)
    finally:
        temporary.unlink(missing_ok=True)


def write_atomically(path: Path, content: str | bytes) -> None:
    """Replace `path` with `content` (text is written as UTF-8), whole or not at all."""
    with replacing(path) as temporary:
        temporary.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
