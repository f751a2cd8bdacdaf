"""Bounds on a request's text, checked before anything parses it: its size and its nesting.

Parsers recurse once per nested group, so a few kilobytes of `{{{{...` can exhaust a thread's
stack. Oxigraph's parser does that in native code, which kills the process (SIGSEGV) instead of
raising. The bound here is the first of two lines of defence: the analyzer (`kg.sparql.parse`)
parses in an embedded V8, where running out of stack is a JavaScript error, and measures the
depth of the algebra it built. Only then does a request reach Oxigraph.

The scan skips comments, strings and IRIs, so brackets inside them do not count.

>>> nesting('SELECT * { ?s ?p "}}}{{{" . { ?s <urn:x#{> ?o } }')
2
>>> check_bounds("SELECT * WHERE " + "{" * 100 + "}" * 100, max_bytes=10_000, max_nesting=64)
Traceback (most recent call last):
...
kg.errors.QueryRefused: the request nests groups 100 deep; ModelKG takes at most 64 (...)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kg.errors import QueryRefused

__all__ = ["DEFAULT_LIMITS", "Limits", "check_bounds", "nesting"]

_TOKENS = re.compile(
    r"""
      \#[^\n\r]*                                  # a comment
    | \"\"\"(?:[^"\\]|\\.|"(?!""))*\"\"\"          # long strings
    | '''(?:[^'\\]|\\.|'(?!''))*'''
    | "(?:[^"\\\n\r]|\\.)*"                       # short strings
    | '(?:[^'\\\n\r]|\\.)*'
    | <[^<>"{}|^`\\\x00-\x20]*>                   # an IRI
    | [{(\[]                                      # what nests
    | [})\]]
    """,
    re.VERBOSE,
)


@dataclass(frozen=True)
class Limits:
    """How large and how deeply nested a request may be (operator settings)."""

    max_bytes: int = 1 << 20
    max_nesting: int = 64


DEFAULT_LIMITS = Limits()


def nesting(text: str) -> int:
    """The deepest bracket nesting (`{`, `(`, `[`) in `text`'s code."""
    depth = deepest = 0
    for match in _TOKENS.finditer(text):
        token = match.group()
        if token in "{([":
            depth += 1
            deepest = max(deepest, depth)
        elif token in "})]":
            depth = max(depth - 1, 0)
    return deepest


def check_bounds(text: str, *, max_bytes: int, max_nesting: int) -> None:
    """Refuse `text` when it is larger than `max_bytes` (UTF-8) or nests deeper than allowed."""
    size = len(text.encode("utf-8", errors="surrogatepass"))
    if size > max_bytes:
        raise QueryRefused(
            "query_too_large",
            f"the request is {size:,} bytes; ModelKG takes at most {max_bytes:,}",
            hint="send less: page with LIMIT/OFFSET, or load data with the Graph Store "
            "Protocol (/rdf-graph-store) instead of INSERT DATA",
        )
    depth = nesting(text)
    if depth > max_nesting:
        raise QueryRefused(
            "query_too_deep",
            f"the request nests groups {depth} deep; ModelKG takes at most {max_nesting}",
            hint="flatten the nested { } or ( ): join patterns side by side instead",
        )
