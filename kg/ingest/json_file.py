"""Read a small JSON metadata file safely: size cap, UTF-8, and errors with line and column.

Metadata files are small; a 5 MB `config.json` is a mistake (usually a weights file renamed),
and reading it whole would hide that. Every failure names the file and says how to fix it.

>>> import json, tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> _ = (folder / "config.json").write_text('{"model_type": "bert",}')
>>> read_json_object(folder / "config.json")
Traceback (most recent call last):
...
kg.errors.JSONSyntaxError: .../config.json: malformed JSON at line 1, column 23: ...
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from kg.errors import (
    ConfigError,
    EncodingError,
    FileTooLargeError,
    JSONSyntaxError,
    SourceNotFoundError,
)

__all__ = ["MAX_METADATA_BYTES", "read_json_object", "read_text_file"]

MAX_METADATA_BYTES = 5 * 1024 * 1024
"""Cap on one metadata file (config, card, tokenizer config): 5 MiB."""


def read_text_file(path: Path, *, limit: int = MAX_METADATA_BYTES) -> str:
    """The UTF-8 text of `path`, refusing files over `limit` bytes and non-UTF-8 bytes."""
    try:
        size = path.stat().st_size
    except FileNotFoundError as exc:
        raise SourceNotFoundError(
            "file not found",
            path=str(path),
            hint="check the path (in a HuggingFace cache, a broken symlink is a partial "
            "download: download the model again)",
        ) from exc
    if size > limit:
        raise FileTooLargeError(
            f"file is {size:,} bytes, over the {limit:,}-byte cap for metadata",
            path=str(path),
            hint="metadata files are small; check that this is the right file",
        )
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise EncodingError(
            f"not UTF-8: byte 0x{data[exc.start]:02x} at offset {exc.start} (line {line})",
            path=str(path),
            expected="UTF-8 text",
            hint="re-save the file as UTF-8",
        ) from exc


def read_json_object(path: Path, *, limit: int = MAX_METADATA_BYTES) -> dict[str, Any]:
    """Parse `path` as a JSON object (a dict); anything else is an error naming the file."""
    text = read_text_file(path, limit=limit)
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise JSONSyntaxError(exc.msg, path=str(path), line=exc.lineno, column=exc.colno) from exc
    if not isinstance(value, dict):
        raise ConfigError(
            f"the file holds a JSON {type(value).__name__ if value is not None else 'null'}",
            path=str(path),
            expected="a JSON object ({...}) at the top level",
        )
    return value


def read_json_value(path: Path, *, limit: int = MAX_METADATA_BYTES) -> Any:
    """Parse `path` as any JSON value (`modules.json` is a list)."""
    text = read_text_file(path, limit=limit)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise JSONSyntaxError(exc.msg, path=str(path), line=exc.lineno, column=exc.colno) from exc
