"""The patterns REST parameters are checked against, each with the words a user reads when a
value does not match.

A pattern in a pydantic field puts the constraint in the OpenAPI description, so a client or a
fuzzer knows it before sending; but pydantic's refusal quotes the regex ("String should match
pattern '\\S'"), which tells a user nothing they can act on. Each pattern is declared here with
its plain words, and `said` turns a validation error into them.

>>> said("query", {"type": "string_pattern_mismatch", "msg": "", "ctx": {"pattern": NOT_BLANK}})
'`query` is empty or only spaces'
>>> said("query", {"type": "string_too_long", "msg": "", "ctx": {"max_length": 10000}})
'`query` is too long: at most 10,000 characters'
>>> said("first", {"type": "greater_than_equal", "msg": "Input should be >= 1"})
'`first`: Input should be >= 1'
>>> said("[19]", {"type": "json_invalid", "loc": ("body", 19), "ctx": {"error": "Expecting ','"}})
"the body is not valid JSON at character 19: Expecting ','"
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["CURSOR", "NOT_BLANK", "PRINTABLE", "said", "worded"]

_WORDS: dict[str, str] = {}
"""Every pattern declared through `worded` -> what a value failing it is, in words."""


def worded(pattern: str, words: str) -> str:
    """Declare `pattern` with the `words` that describe a value failing it; returns it."""
    _WORDS[pattern] = words
    return pattern


PRINTABLE = worded(
    r"^[^\x00-\x1f\x7f]+$",
    "holds a control character (U+0000-U+001F or U+007F), which no name holds",
)
"""A name (a task id, a model type, a library, ...): no control characters, which no name holds
and which a log or a terminal would act on."""
NOT_BLANK = worded(r"\S", "is empty or only spaces")
"""A text to search or embed: something besides spaces."""
CURSOR = worded(
    r"^[A-Za-z0-9+/=_-]*$", "is not a page cursor this server gave (base64 letters only)"
)
"""A page cursor: the server's own tokens are base64."""


def said(field: str | None, error: Mapping[str, Any]) -> str:
    """What is wrong with `field`, from one of pydantic's validation errors: the declared
    words for a pattern, the limit for a length, pydantic's own message otherwise."""
    kind = str(error.get("type", ""))
    context = error.get("ctx") or {}
    if kind == "json_invalid":  # FastAPI's: the location's last part is the character offset
        where = error.get("loc", ())[-1:]
        at = f" at character {where[0]}" if where and isinstance(where[0], int) else ""
        return f"the body is not valid JSON{at}: {context.get('error', 'it cannot be decoded')}"
    words: str | None = None
    if kind == "string_pattern_mismatch" and context.get("pattern") in _WORDS:
        words = _WORDS[context["pattern"]]
    elif kind == "string_too_short" and context.get("min_length") == 1:
        words = "is empty"
    elif kind == "string_too_long" and "max_length" in context:
        words = f"is too long: at most {context['max_length']:,} characters"
    elif kind == "too_short" and context.get("min_length") == 1:
        words = "is empty: give at least one"
    message = str(error.get("msg") or "is invalid")
    if field is None:
        return message if words is None else f"the value {words}"
    return f"`{field}`: {message}" if words is None else f"`{field}` {words}"
