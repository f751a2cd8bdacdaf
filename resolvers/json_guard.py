"""Refuse JSON bodies no handler can use, before any route reads them: bytes that are not UTF-8,
text holding a lone UTF-16 surrogate, and nesting too deep to decode.

JSON may spell a lone surrogate (`"\\ud800"`) and Python's decoder accepts it, but it is not a
character: a tokenizer, the store or an encoder fails on it far from the request, as a 500 or a
GraphQL `internal_error`. So a body whose raw bytes hold a surrogate escape is decoded here
once, and a lone one is a 400 that names the field (`query`, `variables.id`,
`metrics[0].key`), in the shape of the path's surface. A body nested past what the decoder's
recursion allows is a 400 too, not a crash. Other bodies pass untouched (their bytes scanned
once): the routes' own parsers report the rest.

>>> lone_surrogate_at({"variables": {"id": "a\\ud800"}})
'variables.id'
>>> lone_surrogate_at({"query": "\\U0001f600 fine"}) is None
True
>>> lone_surrogate_at([{"key": "ok"}, {"key": "\\udfff"}])
'[1].key'
>>> _too_deep(b'{"q": "' + b"{" * 5000 + b'"}'), _too_deep(b"[" * 5000 + b"]" * 5000)
(False, True)
"""

from __future__ import annotations

import json
import re

from starlette.types import ASGIApp, Receive, Scope, Send

from resolvers.middleware import read_body
from resolvers.surface_errors import send_error

__all__ = ["JsonGuard", "lone_surrogate_at"]

_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
"""How a surrogate looks in raw JSON: UTF-8 cannot carry one, only an escape can."""
_DEEP = 1000
"""Brackets `[`/`{` at which a body is refused without decoding (the decoder recurses)."""


def _is_lone(text: str) -> bool:
    # the decoder joins a valid pair into one character: any surrogate left is alone
    return any(0xD800 <= ord(char) <= 0xDFFF for char in text)


def lone_surrogate_at(value: object, where: str = "") -> str | None:
    """The dotted path of the first string (or key) in decoded JSON holding a lone surrogate."""
    if isinstance(value, str):
        return (where or "body") if _is_lone(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            path = f"{where}.{key}" if where else str(key)
            if _is_lone(str(key)):
                return path
            found = lone_surrogate_at(item, path)
            if found is not None:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = lone_surrogate_at(item, f"{where}[{index}]")
            if found is not None:
                return found
    return None


def _is_json(scope: Scope) -> bool:
    for name, value in scope.get("headers") or []:
        if name == b"content-type":
            media: bytes = value.split(b";")[0].strip().lower()
            return media == b"application/json" or media.endswith(b"+json")
    return False


_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
"""A JSON string, escapes included: its brackets are text, not nesting."""
_NOT_BRACKETS = bytes(byte for byte in range(256) if byte not in b"[]{}")


def _too_deep(body: bytes) -> bool:
    """Whether `body` nests `_DEEP` arrays or objects deep, brackets inside strings not counted
    (a SPARQL query in a GraphQL variable may hold thousands of `{`: its own guard judges it)."""
    if body.count(b"[") + body.count(b"{") < _DEEP:
        return False
    brackets = _STRING.sub(b"", body).translate(None, _NOT_BRACKETS)
    depth = 0
    for byte in brackets:
        depth += 1 if byte in b"[{" else -1
        if depth >= _DEEP:
            return True
    return False


class JsonGuard:
    """ASGI middleware: 400 for a JSON body not in UTF-8, with a lone surrogate, or nested
    1000 deep."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _is_json(scope):
            await self.app(scope, receive, send)
            return
        read = await read_body(receive)
        if read is None:  # the client left: nothing to answer
            return
        body, replay = read
        path = str(scope.get("path", ""))
        try:
            body.decode("utf-8")
        except UnicodeDecodeError as exc:
            await send_error(
                send,
                path,
                400,
                "not_utf8",
                f"the JSON body is not UTF-8 (invalid byte at offset {exc.start})",
                field="body",
                hint="JSON is sent in UTF-8 (RFC 8259)",
            )
            return
        if _too_deep(body):
            await send_error(
                send,
                path,
                400,
                "bad_json",
                f"the JSON body is nested {_DEEP} levels deep or more",
                field="body",
                hint="send flatter JSON: no request of this API nests that deep",
            )
            return
        if _SURROGATE_ESCAPE.search(body):
            field = _lone_surrogate_in(body)
            if field is not None:
                await send_error(
                    send,
                    path,
                    400,
                    "bad_text",
                    f"`{field}` holds a lone UTF-16 surrogate escape (\\uD800-\\uDFFF alone), "
                    "which is not a character",
                    field=field,
                    hint="send valid Unicode: a high surrogate escape \\uD800-\\uDBFF must be "
                    "followed by a low one \\uDC00-\\uDFFF, or send the character in UTF-8",
                )
                return
        await self.app(scope, replay, send)


def _lone_surrogate_in(body: bytes) -> str | None:
    try:
        decoded = json.loads(body)
    except ValueError:  # not JSON (or not UTF-8): the route's parser says so
        return None
    return lone_surrogate_at(decoded)
