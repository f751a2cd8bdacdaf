"""SPARQL UPDATE over HTTP: only with the operator's bearer token, never into derived graphs.

Writes are off unless the operator sets a token (`MODELKG_TOKEN`). With it, an update must carry
`Authorization: Bearer <token>` (401 without, 403 with a wrong one). Whatever the token, an
update is refused (403) when it could touch the ontology, shapes, inferred or size graphs (it
names one, or writes through a variable graph, `ALL` or `NAMED`), or fetches a URL (`LOAD`,
`SERVICE`): the server never fetches addresses a client chooses.

>>> guard_update("INSERT DATA { GRAPH <urn:mine> { <urn:a> <urn:b> <urn:c> } }")
>>> guard_update("LOAD <http://example.org/data.ttl>")
Traceback (most recent call last):
...
resolvers.errors.HttpError: LOAD is refused: this endpoint never fetches addresses a client chooses
"""

from __future__ import annotations

import hmac
import re
from typing import TYPE_CHECKING

from resolvers.errors import HttpError
from resolvers.sparql_text import iris_in, without_iris

if TYPE_CHECKING:
    from resolvers.settings import ServerSettings

__all__ = ["check_token", "check_writes", "guard_update"]

_PROTECTED = (
    "https://w3id.org/modelkg/graph/",
    "/graph/inferred/",
    "/graph/size/",
    "/graph/search/",
)
_FETCHING = re.compile(r"\b(LOAD|SERVICE)\b", re.IGNORECASE)
_WIDE = re.compile(r"\b(DROP|CLEAR)\s+(SILENT\s+)?(ALL|NAMED)\b|\bGRAPH\s+[?$]", re.IGNORECASE)


def check_token(configured: str | None, authorization: str | None) -> None:
    """Writes need the operator's token: 403 when none is configured, 401 without a match."""
    if not configured:
        raise HttpError(
            403,
            "writes_disabled",
            "writes are not enabled on this server",
            hint="the operator enables writes by setting MODELKG_TOKEN; reads are open",
        )
    scheme, _, given = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not given:
        raise HttpError(
            401, "token_required", "this update needs a bearer token", field="Authorization",
            hint="send `Authorization: Bearer <token>`",
        )  # fmt: skip
    if not hmac.compare_digest(given.strip().encode(), configured.encode()):
        raise HttpError(403, "bad_token", "the bearer token is not the one this server accepts")


def check_writes(settings: ServerSettings, authorization: str | None) -> None:
    """Writes need a token and writes left on (`--no-writes` turns them off with a token set)."""
    if settings.token and not settings.writes:
        raise HttpError(
            403,
            "writes_disabled",
            "writes are switched off on this server",
            hint="the operator turns them on by dropping --no-writes (MODELKG_WRITES=0)",
        )
    check_token(settings.token, authorization)


def guard_update(update: str) -> None:
    """Refuse an update that could fetch URLs or touch derived graphs (see module docstring)."""
    fetching = _FETCHING.search(without_iris(update))
    if fetching:
        raise HttpError(
            403, "fetch_refused",
            f"{fetching.group(1).upper()} is refused: this endpoint never fetches addresses a "
            "client chooses",
            hint="download the data yourself and INSERT DATA it",
        )  # fmt: skip
    for iri in iris_in(update):
        if any(marker in iri for marker in _PROTECTED) or any(
            protected.startswith(iri) for protected in _PROTECTED[:1]
        ):
            raise HttpError(
                403, "protected_graph",
                f"<{iri}> is (or prefixes) a graph ModelKG derives or owns; updates may not "
                "touch it",
                hint="write into graphs of your own; re-ingest or re-derive to change ModelKG's",
            )  # fmt: skip
    if _WIDE.search(without_iris(update)):
        raise HttpError(
            403, "protected_graph",
            "DROP/CLEAR ALL or NAMED, and GRAPH ?variable, could reach graphs ModelKG derives",
            hint="name the graphs you write to",
        )  # fmt: skip
