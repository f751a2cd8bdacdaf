"""Read a small JSON metadata file safely: size cap, UTF-8, and errors with line and column.

Metadata files are small; a 5 MB `config.json` is a mistake (usually a weights file renamed),
and reading it whole would hide that. Every failure names the file and says how to fix it,
including what Python's `json` module lets through or fails on in ways a user cannot act on:
a nesting bomb (`[[[[...`, a RecursionError deep in the decoder), a lone surrogate escape
(`"\\ud800"`, a string no UTF-8 store can hold), a number of more than 4,300 digits, a
byte-order mark, and a FIFO or device where a file should be (reading it would block forever).

What is accepted on purpose, as transformers and diffusers accept it: duplicate keys (the last
one wins; a real `tokenizer_config.json` in the corpus repeats `add_prefix_space`), and the
`NaN`/`Infinity` literals Python's own `json.dump` writes (a real diffusers scheduler config has
`-Infinity`); a field that needs a whole number still rejects them.

>>> import json, tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> _ = (folder / "config.json").write_text('{"model_type": "bert",}')
>>> read_json_object(folder / "config.json")
Traceback (most recent call last):
...
kg.errors.JSONSyntaxError: .../config.json: malformed JSON at line 1, column 23: ...
>>> _ = (folder / "config.json").write_text('{"model_type": ' + "[" * 5000 + "]" * 5000 + "}")
>>> read_json_object(folder / "config.json")
Traceback (most recent call last):
...
kg.errors.JSONSyntaxError: .../config.json: malformed JSON at line 1, column 47: nested deeper \
than 32 levels ...
"""

from __future__ import annotations

import json
import re
import stat
from pathlib import Path
from typing import Any

from kg.errors import (
    ConfigError,
    EncodingError,
    FileTooLargeError,
    InputError,
    JSONSyntaxError,
    SourceNotFoundError,
)
from kg.ingest.limits import MAX_JSON_DEPTH

__all__ = [
    "MAX_METADATA_BYTES",
    "json_kind",
    "parse_json",
    "read_json_object",
    "read_json_object_or_none",
    "read_json_value",
    "read_text_file",
    "regular_file_size",
    "shown",
]

MAX_METADATA_BYTES = 5 * 1024 * 1024
"""Cap on one metadata file (config, card, tokenizer config): 5 MiB."""

_BOM = "\ufeff"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')
"""A JSON string (skipped whole) or a bracket: enough to follow the nesting depth."""
_SURROGATE_HINT = re.compile(r"\\u[dD][89a-fA-F]")
_ESCAPE = re.compile(
    r"\\(?:u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}"  # a proper pair
    r"|(u[dD][89a-fA-F][0-9a-fA-F]{2})"  # a lone half: group 1
    r"|.)",
    re.DOTALL,
)
_LONG_NUMBER = re.compile(r"-?\d{4301,}")


def regular_file_size(path: Path) -> int:
    """The size of `path`, which must be a regular file (after symlinks).

    A FIFO or a device named like a metadata file would block or never end when read, and a
    folder where a file should be is a mistake: each is an `InputError` naming the path.

    >>> import os, tempfile, pathlib
    >>> fifo = pathlib.Path(tempfile.mkdtemp()) / "config.json"
    >>> os.mkfifo(fifo)
    >>> regular_file_size(fifo)
    Traceback (most recent call last):
    ...
    kg.errors.InputError: .../config.json: not a regular file but a FIFO (named pipe) ...
    """
    try:
        info = path.stat()
    except FileNotFoundError as exc:
        raise SourceNotFoundError(
            "file not found",
            path=str(path),
            hint="check the path (in a HuggingFace cache, a broken symlink is a partial "
            "download: download the model again)",
        ) from exc
    except OSError as exc:  # a symlink loop, a permission denied, a name too long
        raise InputError(
            f"cannot read: {exc.strerror or exc}",
            path=str(path),
            expected="a readable regular file",
            hint="fix the file's permissions or the symlink it is",
        ) from exc
    if stat.S_ISREG(info.st_mode):
        return info.st_size
    kind = (
        "a folder"
        if stat.S_ISDIR(info.st_mode)
        else "a FIFO (named pipe)"
        if stat.S_ISFIFO(info.st_mode)
        else "a socket"
        if stat.S_ISSOCK(info.st_mode)
        else "a device"
    )
    raise InputError(
        f"not a regular file but {kind}",
        path=str(path),
        expected="a regular file",
        hint="replace it with the file itself (ModelKG does not read from pipes or devices)",
    )


def read_text_file(path: Path, *, limit: int = MAX_METADATA_BYTES) -> str:
    """The UTF-8 text of `path`, refusing files over `limit` bytes and non-UTF-8 bytes."""
    size = regular_file_size(path)
    if size > limit:
        raise FileTooLargeError(
            f"file is {size:,} bytes, over the {limit:,}-byte cap for metadata",
            path=str(path),
            hint="metadata files are small; check that this is the right file",
        )
    try:
        with path.open("rb") as handle:
            data = handle.read(limit + 1)  # the file may have grown since stat
    except OSError as exc:
        raise InputError(
            f"cannot read: {exc.strerror or exc}",
            path=str(path),
            expected="a readable regular file",
            hint="fix the file's permissions",
        ) from exc
    if len(data) > limit:
        raise FileTooLargeError(
            f"file is over the {limit:,}-byte cap for metadata",
            path=str(path),
            hint="metadata files are small; check that this is the right file",
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        utf16 = data.startswith(_UTF16_BOMS)
        raise EncodingError(
            f"not UTF-8: byte 0x{data[exc.start]:02x} at offset {exc.start} (line {line})"
            + (", the byte-order mark of UTF-16" if utf16 and exc.start < 2 else ""),
            path=str(path),
            expected="UTF-8 text",
            hint="re-save the file as UTF-8",
        ) from exc


def _line_column(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def _too_deep_at(text: str, limit: int) -> int | None:
    """The offset of the first bracket nested deeper than `limit`, if any."""
    depth = 0
    for match in _TOKEN.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth > limit:
                return match.start()
        elif token in "]}":
            depth -= 1
    return None


def _depth_exceeds(value: Any, limit: int) -> bool:
    """Whether a parsed value nests deeper than `limit` (iterative: no recursion limit)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item
        if depth > limit:
            return True
        stack.extend((c, depth + 1) for c in children if isinstance(c, dict | list))
    return False


def _syntax_error(path: Path, text: str, offset: int, message: str, hint: str) -> JSONSyntaxError:
    line, column = _line_column(text, offset)
    error = JSONSyntaxError(message, path=str(path), line=line, column=column)
    error.hint = hint
    return error


def parse_json(text: str, path: Path) -> Any:
    r"""Parse JSON `text` read from `path`; every failure is an `InputError` naming the file
    and, where there is one, the line and column.

    >>> parse_json('{"name": "\\ud83d\\ude00"}', Path("config.json"))  # a proper pair
    {'name': '😀'}
    >>> parse_json('{"name": "\\ud800"}', Path("config.json"))
    Traceback (most recent call last):
    ...
    kg.errors.EncodingError: config.json: line 1, column 11: a lone surrogate escape ...
    """
    if text.startswith(_BOM):
        raise EncodingError(
            "the file starts with a UTF-8 byte-order mark, which JSON forbids "
            "(transformers cannot load it either)",
            path=str(path),
            expected="UTF-8 without a byte-order mark",
            hint="re-save the file as UTF-8 without BOM",
        )
    too_deep = False
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        message = "the file is empty" if not text.strip() else exc.msg
        raise JSONSyntaxError(message, path=str(path), line=exc.lineno, column=exc.colno) from exc
    except RecursionError:
        value, too_deep = None, True  # reported below, with where the nesting goes too deep
    except ValueError as exc:  # a number of more than 4,300 digits (int's conversion limit)
        long = _LONG_NUMBER.search(text)
        if long is None:
            raise
        raise _syntax_error(
            path,
            text,
            long.start(),
            f"a number of {len(long.group().lstrip('-')):,} digits",
            "no metadata value needs more than a few digits: check this value",
        ) from exc
    if too_deep or (isinstance(value, dict | list) and _depth_exceeds(value, MAX_JSON_DEPTH)):
        offset = _too_deep_at(text, MAX_JSON_DEPTH)
        raise _syntax_error(
            path,
            text,
            offset if offset is not None else 0,
            f"nested deeper than {MAX_JSON_DEPTH} levels (kg.ingest.limits.MAX_JSON_DEPTH)",
            "metadata nests a few levels deep; this file is broken or made to harm",
        )
    if _SURROGATE_HINT.search(text):
        for match in _ESCAPE.finditer(text):
            if match.group(1):
                line, column = _line_column(text, match.start())
                raise EncodingError(
                    f"line {line}, column {column}: a lone surrogate escape "
                    f"`\\{match.group(1)}`, which is no character",
                    path=str(path),
                    expected="escapes of whole characters (a surrogate pair, or the character)",
                    hint="remove the escape or write the intended character",
                )
    return value


def read_json_object(path: Path, *, limit: int = MAX_METADATA_BYTES) -> dict[str, Any]:
    """Parse `path` as a JSON object (a dict); anything else is an error naming the file."""
    value = parse_json(read_text_file(path, limit=limit), path)
    if not isinstance(value, dict):
        raise ConfigError(
            f"the file holds a JSON {type(value).__name__ if value is not None else 'null'}",
            path=str(path),
            expected="a JSON object ({...}) at the top level",
        )
    return value


def read_json_object_or_none(path: Path) -> dict[str, Any] | None:
    """`read_json_object`, or None for a file that cannot be read as a JSON object: for a
    look that must not fail (which library a folder holds), where the file's own reader
    raises the error that names it.

    >>> read_json_object_or_none(Path("no/such/config.json")) is None
    True
    """
    try:
        return read_json_object(path)
    except (OSError, ValueError):  # an InputError is a ValueError
        return None


def read_json_value(path: Path, *, limit: int = MAX_METADATA_BYTES) -> Any:
    """Parse `path` as any JSON value (`modules.json` is a list)."""
    return parse_json(read_text_file(path, limit=limit), path)


def json_kind(value: object) -> str:
    """What JSON calls a parsed value's type, for messages.

    >>> json_kind("big"), json_kind([1]), json_kind(True), json_kind(5)
    ('string', 'array', 'boolean', 'number')
    """
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return {"str": "string", "list": "array", "dict": "object"}.get(type(value).__name__, "null")


def shown(value: object, limit: int = 60) -> str:
    """A JSON value as a user wrote it, shortened for a message.

    >>> shown(["BertModel"] * 40, 30)
    '["BertModel", "BertModel", "Be…'
    """
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[:limit] + "…"
