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
import bisect
import hashlib
import hmac
import json
import threading
from dataclasses import dataclass

from cachetools import LRUCache
from pyoxigraph import Literal, NamedNode

from kg.errors import InputError
from kg.models.filters import ModelFilter, compile_filter, compile_unknown
from kg.store.base import ModelStore

__all__ = [
    "MAX_PAGE",
    "Excluded",
    "ModelPage",
    "decode_cursor",
    "encode_cursor",
    "excluded",
    "list_models",
]

MAX_PAGE = 100
"""The largest page a client may ask for: a bound on what one request can cost."""


@dataclass(frozen=True)
class Excluded:
    """Models a range left out only because the value it ranges over is not known for them."""

    parameter: str
    count: int

    @property
    def reason(self) -> str:
        """Why, in words.

        >>> Excluded("parameterCount", 3).reason
        '3 model(s) left out: their parameterCount is not known, so the range cannot place them'
        """
        return (
            f"{self.count} model(s) left out: their {self.parameter} is not known, so the range "
            "cannot place them"
        )


@dataclass(frozen=True)
class ModelPage:
    """One page: the models (IRI, name) in order, each with its cursor, and the total; and
    how many models each range left out for want of a value."""

    models: list[tuple[str, str]]
    cursors: list[str]
    total: int
    has_next: bool
    has_previous: bool
    excluded: tuple[Excluded, ...] = ()


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


_ORDERED: LRUCache[tuple[str, int, str], list[tuple[str, str]]] = LRUCache(maxsize=64)
_ORDERED_LOCK = threading.Lock()


def _ordered(store: ModelStore, spec: ModelFilter) -> list[tuple[str, str]]:
    """Every (name, IRI) the filter admits, sorted; cached until the store is written.

    One SPARQL query per filter and store generation: sorting ten thousand names in oxigraph
    (ORDER BY over the union of every model graph) costs seconds, in Python milliseconds.
    """
    key = (store.location, store.generation, spec.digest())
    with _ORDERED_LOCK:
        found = _ORDERED.get(key)
    if found is not None:
        return found
    rows = store.select(
        "SELECT DISTINCT ?m ?name WHERE { ?m a mkg:Model ; schema:name ?name .\n"
        f"{compile_filter(spec)} }}"
    )
    ordered = sorted(
        {
            (row["name"].value, row["m"].value)
            for row in rows
            if isinstance(row["m"], NamedNode) and isinstance(row["name"], Literal)
        }
    )
    with _ORDERED_LOCK:
        _ORDERED[key] = ordered
    return ordered


_EXCLUDED: LRUCache[tuple[str, int, str], tuple[Excluded, ...]] = LRUCache(maxsize=64)


def excluded(store: ModelStore, spec: ModelFilter) -> tuple[Excluded, ...]:
    """For each range in `spec`, how many models the rest of the filter admits whose value
    is unknown (a size filter must not drop models of unknown size silently); cached until
    the store is written. Ranges that leave nothing out are not listed."""
    if not spec.ranges:
        return ()
    key = (store.location, store.generation, spec.digest())
    with _ORDERED_LOCK:
        found = _EXCLUDED.get(key)
    if found is not None:
        return found
    counts = []
    for parameter in sorted(spec.ranges):
        rows = store.select(
            "SELECT (COUNT(DISTINCT ?m) AS ?n) WHERE { ?m a mkg:Model ; schema:name ?name .\n"
            f"{compile_unknown(spec, parameter)} }}"
        )
        count = next((int(row["n"].value) for row in rows if isinstance(row["n"], Literal)), 0)
        if count:
            counts.append(Excluded(parameter, count))
    answer = tuple(counts)
    with _ORDERED_LOCK:
        _EXCLUDED[key] = answer
    return answer


def list_models(
    store: ModelStore,
    spec: ModelFilter,
    first: int,
    after: str | None,
    key: bytes,
) -> ModelPage:
    """The page of models `spec` admits after the cursor `after`, ordered by name then IRI."""
    _check_first(first)
    ordered = _ordered(store, spec)
    digest = spec.digest()
    start = 0
    if after:
        start = bisect.bisect_right(ordered, decode_cursor(after, digest, key))
    page = ordered[start : start + first]
    return ModelPage(
        models=[(iri, name) for name, iri in page],
        cursors=[encode_cursor(position, digest, key) for position in page],
        total=len(ordered),
        has_next=start + first < len(ordered),
        has_previous=after is not None,
        excluded=excluded(store, spec),
    )
