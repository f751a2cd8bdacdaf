"""An agent's SPARQL, for `modelkg mcp`'s `sparql` tool: guarded as everywhere, run where it can
be killed, answered as JSON rows.

1. Bounds and parsing (`kg.sparql.parse`): size and nesting checked before a real parser builds
   the algebra; an update is refused here (the MCP server only reads).
2. The guard (`kg.sparql.guard`): no SERVICE anywhere.
3. The query runs in a fresh process (`kg.sparql.worker.run_query`, what `modelkg serve`'s
   query workers run), killed past `QUERY_SECONDS`: pyoxigraph cannot interrupt a query, and a
   cross product computing for minutes must not keep a core of the agent's machine. A fresh
   process opens the store as it is now (a RocksDB read-only handle never sees later writes);
   it costs ~0.3 s, little beside an agent's turn. Beside `modelkg serve` it reads the
   server's published checkpoint. Over a remote store the remote server runs the query.
4. The answer, capped at `MAX_RESULT_BYTES` serialized, becomes JSON: rows of plain values
   (IRIs and strings as strings, numbers as numbers), at most `max_rows`, `truncated` when cut.

>>> _plain({"type": "literal", "value": "768",
...         "datatype": "http://www.w3.org/2001/XMLSchema#integer"})
768
>>> _plain({"type": "uri", "value": "https://huggingface.co/openai-community/gpt2"})
'https://huggingface.co/openai-community/gpt2'
"""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path
from typing import Any

from pyoxigraph import (
    BlankNode,
    Literal,
    NamedNode,
    Quad,
    QueryBoolean,
    QueryTriples,
    RdfFormat,
    Triple,
    parse,
)

from kg.errors import QueryError, QueryKilledError, QueryRefused, StoreError
from kg.sparql.guard import check_query
from kg.sparql.parse import parse_query
from kg.sparql.worker import Outcome, QueryJob, run_query
from kg.store import EmbeddedStore, ModelStore
from kg.store.shared import SharedStore
from ontology.namespaces import PREFIXES
from resolvers.mcp_answers import SparqlAnswer

__all__ = ["MAX_RESULT_BYTES", "MAX_ROWS", "QUERY_SECONDS", "answer", "run_killable"]

MAX_ROWS = 1000
"""The most rows (or triples) one call returns; the answer says when it stopped."""
QUERY_SECONDS = 30.0
"""A query still running after this many seconds is killed (with its process), unless the
operator says otherwise (`modelkg mcp --query-timeout`, as `modelkg serve`'s)."""
MAX_RESULT_BYTES = 16 * 1024 * 1024
"""The most a serialized answer may weigh before rows are counted."""

_XSD = "http://www.w3.org/2001/XMLSchema#"
_INTEGERS = {"integer", "int", "long", "short", "byte", "nonNegativeInteger", "positiveInteger"}
_REALS = {"decimal", "double", "float"}
_RESULTS_JSON = "application/sparql-results+json"
_TRIPLES = "application/n-triples"


def answer(
    store: ModelStore, query: str, max_rows: int, *, timeout: float = QUERY_SECONDS
) -> SparqlAnswer:
    """The answer to an agent's `query` over `store` (module docstring), as JSON; a query
    still running after `timeout` seconds is killed."""
    try:
        parsed = parse_query(query)  # bounded, then parsed into algebra by a real parser
    except QueryRefused as exc:
        if exc.code != "wrong_operation":
            raise
        raise QueryRefused(
            "wrong_operation",
            "this is a SPARQL update; the MCP server only reads (its store is open read-only)",
            hint="write with `modelkg ingest`, or send the update to `modelkg serve` with its "
            "token",
        ) from None
    check_query(parsed)  # no SERVICE anywhere: the server never fetches a client's URL
    folder = _folder(store)
    if folder is None:  # a remote store: its server runs the query, within its own bounds
        return _from_result(store.query(parsed.text), max_rows)
    media = _TRIPLES if parsed.gives_graph else _RESULTS_JSON
    job = QueryJob(folder, parsed.text, media, prefixes=PREFIXES, max_bytes=MAX_RESULT_BYTES)
    body = _body(run_killable(job, timeout))
    if parsed.gives_graph:
        return _from_triples(list(parse(body, RdfFormat.N_TRIPLES)), max_rows)
    return _from_json(json.loads(body), max_rows)


def _folder(store: ModelStore) -> str | None:
    """The folder a query process opens: the published checkpoint of a served store, the
    store itself otherwise; None for a remote store."""
    if isinstance(store, SharedStore):
        store.publish_pending()  # this process's latest writes, for the query's process
        return store.checkpoint_folder()
    if isinstance(store, EmbeddedStore) and Path(store.location).is_dir():
        return store.location
    return None


def run_killable(job: QueryJob, timeout: float) -> Outcome:
    """`run_query(job)` in a fresh process, killed when it outlives `timeout` seconds.

    A spawned process, not a fork: the server has threads (the MCP transport, the SPARQL
    parser's V8) that a fork would copy in whatever state they were in."""
    pool = multiprocessing.get_context("spawn").Pool(1)
    try:
        return pool.apply_async(run_query, (job,)).get(timeout)
    except multiprocessing.TimeoutError:
        raise QueryKilledError(
            f"the query did not finish within {timeout:g} s and was stopped",
            timed_out=True,
        ) from None
    finally:
        pool.terminate()  # the process goes, with a query still running in it


def _body(outcome: Outcome) -> bytes:
    """The serialized answer, or the error the worker's verdict stands for."""
    if outcome.status == "ok":
        return outcome.body
    if outcome.status == "too_large":
        raise QueryRefused(
            "result_too_large",
            f"the answer is larger than {MAX_RESULT_BYTES // (1024 * 1024)} MiB",
            hint="ask for less: select fewer variables, or page with LIMIT and OFFSET",
        )
    if outcome.status == "bad_query":
        raise QueryError(outcome.message)
    raise StoreError(f"the query could not read the store: {outcome.message}")


def _literal(value: str, datatype: str | None) -> object:
    """A literal's value as JSON: numbers and booleans as themselves, the rest as text."""
    kind = (datatype or "").removeprefix(_XSD)
    try:
        if kind in _INTEGERS:
            return int(value)
        if kind in _REALS:
            return float(value)
    except ValueError:  # an ill-typed literal ("big"^^xsd:integer) stays as written
        return value
    if kind == "boolean":
        return value in ("true", "1")
    return value


def _plain(binding: dict[str, Any]) -> object:
    """A term of SPARQL JSON results as a plain JSON value (a triple term as [s, p, o])."""
    kind, value = binding.get("type"), binding.get("value")
    if kind == "literal":
        return _literal(str(value), binding.get("datatype"))
    if kind == "bnode":
        return f"_:{value}"
    if kind == "triple" and isinstance(value, dict):
        return [_plain(value[part]) for part in ("subject", "predicate", "object")]
    return value


def _from_json(results: dict[str, Any], max_rows: int) -> SparqlAnswer:
    if "boolean" in results:
        return {"boolean": bool(results["boolean"])}
    names = list(results["head"].get("vars", []))
    bindings = results["results"]["bindings"]
    rows = [{name: _plain(row[name]) for name in names if name in row} for row in bindings]
    return {"vars": names, "rows": rows[:max_rows], "truncated": len(rows) > max_rows}


def _term(term: object) -> object:
    """A pyoxigraph term as a plain JSON value."""
    if isinstance(term, NamedNode):
        return term.value
    if isinstance(term, BlankNode):
        return f"_:{term.value}"
    if isinstance(term, Literal):
        return _literal(term.value, term.datatype.value)
    if isinstance(term, Triple):
        return [_term(term.subject), _term(term.predicate), _term(term.object)]
    return None if term is None else str(term)


def _from_triples(triples: list[Triple | Quad], max_rows: int) -> SparqlAnswer:
    """Triples (or quads read back from N-Triples) as [subject, predicate, object] lists."""
    return {
        "triples": [
            [_term(t.subject), _term(t.predicate), _term(t.object)] for t in triples[:max_rows]
        ],
        "truncated": len(triples) > max_rows,
    }


def _from_result(result: object, max_rows: int) -> SparqlAnswer:
    """A remote store's answer, read row by row up to the cap."""
    if isinstance(result, QueryBoolean):
        return {"boolean": bool(result)}
    if isinstance(result, QueryTriples):
        return _from_triples([t for _, t in zip(range(max_rows + 1), result, strict=False)],
                             max_rows)  # fmt: skip
    names = [v.value for v in getattr(result, "variables", [])]
    rows = []
    for _, solution in zip(range(max_rows + 1), result, strict=False):  # type: ignore[call-overload]
        rows.append({n: _term(solution[n]) for n in names if solution[n] is not None})
    return {"vars": names, "rows": rows[:max_rows], "truncated": len(rows) > max_rows}
