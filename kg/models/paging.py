"""Pages of models: keyset paging on (name, IRI) with opaque, signed cursors.

A cursor names the last model of a page and the filter it was made for, signed with the
server's key (HMAC-SHA256), so a cursor that was edited, truncated or made for another filter is
refused with a clear error instead of silently giving a wrong page. Keyset paging (rather than
OFFSET) keeps a page stable while models are added before it.

>>> key = b"k" * 32
>>> cursor = encode_cursor(("bert", "https://x/m"), "f1", key)
>>> decode_cursor(cursor, "f1", key)
('bert', 'https://x/m')
>>> decode_cursor(cursor[:-2] + "xx", "f1", key)
Traceback (most recent call last):
...
kg.errors.InputError: field `after`: the cursor is not one this server issued (it was changed or \
truncated) (start again without `after`, or pass an `endCursor` exactly as returned)
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass

from pyoxigraph import Literal, NamedNode

from kg.errors import InputError
from kg.models.filters import ModelFilter, compile_filter
from kg.store.embedded import EmbeddedStore

__all__ = ["MAX_PAGE", "ModelPage", "decode_cursor", "encode_cursor", "list_models"]

MAX_PAGE = 100
"""The largest page a client may ask for: a bound on what one request can cost."""


@dataclass(frozen=True)
class ModelPage:
    """One page: the models (IRI, name) in order, each with its cursor, and the total."""

    models: list[tuple[str, str]]
    cursors: list[str]
    total: int
    has_next: bool
    has_previous: bool


def encode_cursor(position: tuple[str, str], filter_digest: str, key: bytes) -> str:
    """An opaque cursor for `position` (name, IRI) under the filter with `filter_digest`."""
    body = json.dumps([position[0], position[1], filter_digest], ensure_ascii=False).encode()
    mac = hmac.new(key, body, hashlib.sha256).digest()[:12]
    return base64.urlsafe_b64encode(mac + body).decode().rstrip("=")


def decode_cursor(cursor: str, filter_digest: str, key: bytes) -> tuple[str, str]:
    """The (name, IRI) a cursor points after; `InputError` when it is not genuine."""
    tampered = InputError(
        "the cursor is not one this server issued (it was changed or truncated)",
        field="after",
        hint="start again without `after`, or pass an `endCursor` exactly as returned",
    )
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except (binascii.Error, ValueError):
        raise tampered from None
    mac, body = raw[:12], raw[12:]
    if not hmac.compare_digest(mac, hmac.new(key, body, hashlib.sha256).digest()[:12]):
        raise tampered
    name, iri, digest = json.loads(body)
    if digest != filter_digest:
        raise InputError(
            "the cursor was made for a different filter",
            field="after",
            hint="page with the same filter that returned the cursor, or start again",
        )
    return str(name), str(iri)


def _check_first(first: int) -> None:
    if not 0 <= first <= MAX_PAGE:
        raise InputError(
            f"`first` is {first}; a page holds 0 to {MAX_PAGE} models",
            field="first",
            hint=f"ask for at most {MAX_PAGE} and page on with `after`",
        )


def list_models(
    store: EmbeddedStore,
    spec: ModelFilter,
    first: int,
    after: str | None,
    key: bytes,
) -> ModelPage:
    """The page of models `spec` admits after the cursor `after`, ordered by name then IRI."""
    _check_first(first)
    pattern = compile_filter(spec)
    digest = spec.digest()
    keyset = ""
    if after:
        name, iri = decode_cursor(after, digest, key)
        literal = json.dumps(name, ensure_ascii=False)
        keyset = f"FILTER(?name > {literal} || (?name = {literal} && STR(?m) > {json.dumps(iri)}))"
    rows = store.select(
        f"SELECT DISTINCT ?m ?name WHERE {{ ?m a mkg:Model ; schema:name ?name .\n{pattern}\n"
        f"{keyset} }} ORDER BY ?name STR(?m) LIMIT {first + 1}"
    )
    found: list[tuple[str, str]] = []
    for row in rows:
        model, label = row["m"], row["name"]
        if isinstance(model, NamedNode) and isinstance(label, Literal):
            found.append((model.value, label.value))
    total = 0
    for row in store.select(
        f"SELECT (COUNT(DISTINCT ?m) AS ?n) WHERE {{ ?m a mkg:Model ; schema:name ?name .\n"
        f"{pattern} }}"
    ):
        count = row["n"]
        total = int(count.value) if isinstance(count, Literal) else 0
    page = found[:first]
    return ModelPage(
        models=page,
        cursors=[encode_cursor((name, iri), digest, key) for iri, name in page],
        total=total,
        has_next=len(found) > first,
        has_previous=after is not None,
    )
