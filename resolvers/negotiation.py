"""Which media type an answer is written in: the types each endpoint offers, and the client's
`Accept` weighed by python-mimeparse (q-values, `q=0` as "never", the most specific range
winning over a wildcard, as RFC 9110 says).

>>> negotiate("text/csv;q=0.5, application/sparql-results+json", list(RESULT_TYPES))
'application/sparql-results+json'
>>> negotiate("text/turtle;q=0, */*", list(GRAPH_TYPES))
'application/n-triples'
>>> negotiate(None, list(GRAPH_TYPES))
'text/turtle'
>>> negotiate("image/png", list(RESULT_TYPES)) is None
True
>>> media_type("application/sparql-query; charset=ISO-8859-1")
('application/sparql-query', 'iso-8859-1')
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import mimeparse
from pyoxigraph import QueryResultsFormat, RdfFormat
from python_multipart.multipart import parse_options_header

from resolvers.errors import HttpError

__all__ = ["GRAPH_TYPES", "RESULT_TYPES", "media_type", "negotiate", "not_acceptable"]

RESULT_TYPES: dict[str, QueryResultsFormat] = {
    "application/sparql-results+json": QueryResultsFormat.JSON,
    "application/json": QueryResultsFormat.JSON,
    "application/sparql-results+xml": QueryResultsFormat.XML,
    "application/xml": QueryResultsFormat.XML,
    "text/csv": QueryResultsFormat.CSV,
    "text/tab-separated-values": QueryResultsFormat.TSV,
}
"""SELECT/ASK results, the default first."""

GRAPH_TYPES: dict[str, RdfFormat] = {
    "text/turtle": RdfFormat.TURTLE,
    "application/n-triples": RdfFormat.N_TRIPLES,
    "application/rdf+xml": RdfFormat.RDF_XML,
    "application/ld+json": RdfFormat.JSON_LD,
}
"""Graphs (CONSTRUCT, DESCRIBE, the Graph Store, a model's graph), the default first."""


def negotiate(accept: str | None, offered: Sequence[str]) -> str | None:
    """The type of `offered` the client ranks best (ties go to the earlier one, so the first is
    the default); None when the client accepts none of them (406)."""
    if not accept or not accept.strip():
        return offered[0] if offered else None
    return _best(accept, tuple(offered))


@lru_cache(maxsize=1024)
def _best(accept: str, offered: tuple[str, ...]) -> str | None:
    """`negotiate`, remembered: a client sends the same `Accept` on every request, and weighing
    it again costs ~15 us (a hit: under 1 us)."""
    try:
        # mimeparse breaks ties in favour of the last candidate: give it ours in reverse
        chosen = mimeparse.best_match(list(reversed(offered)), accept)
    except mimeparse.MimeTypeParseException:
        return offered[0] if offered else None  # an unreadable Accept asks for nothing special
    return chosen or None


def not_acceptable(what: str, accept: str | None, offered: Sequence[str]) -> HttpError:
    """The 406 for `what` (a graph, results) that cannot be written in any type `accept` takes."""
    return HttpError(
        406,
        "not_acceptable",
        f"{what} cannot be written as {accept}",
        hint="accept one of " + ", ".join(offered),
    )


def media_type(header: str | None) -> tuple[str, str | None]:
    """A `Content-Type` header's media type and charset, lower-cased (python-multipart)."""
    media, options = parse_options_header(header or "")
    charset = options.get(b"charset")
    return media.decode("latin-1").lower(), charset.decode("latin-1").lower() if charset else None
