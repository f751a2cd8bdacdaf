"""Who may write over HTTP: only a client with the operator's bearer token, and only when writes
are on.

Writes are off unless the operator sets a token (`MODELKG_TOKEN`). With it, a write must carry
`Authorization: Bearer <token>` (401 without, 403 with a wrong one). What an update may do once
the token is accepted is decided on the parsed update by `kg.sparql.guard` (no LOAD, no SERVICE,
no graph ModelKG owns), in `resolvers.sparql_run`.

>>> check_token("s3cret", "Bearer s3cret")
>>> check_token("s3cret", None)
Traceback (most recent call last):
...
resolvers.errors.HttpError: this update needs a bearer token
"""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING

from resolvers.errors import HttpError

if TYPE_CHECKING:
    from resolvers.settings import ServerSettings

__all__ = ["check_token", "check_writes"]


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
        raise HttpError(403, "bad_token", "the bearer token is not the one this server accepts",
                        field="Authorization", hint="send `Authorization: Bearer <token>` with "
                        "the token the operator set (--token, MODELKG_TOKEN)")  # fmt: skip


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
