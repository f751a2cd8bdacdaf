"""Parse a SPARQL request into the facts a guard decides on (`kg.sparql.request`).

The parser is Traqula (the Comunica project's SPARQL 1.2 parser and algebra translator), bundled
into `vendor/sparql-analyzer.js` by `scripts/vendor_sparql_parser.sh` and run in an embedded V8
(`mini-racer`). Python has no maintained SPARQL parser that resolves BASE, prefixes and escapes
as the standard says (rdflib keeps `\\/` in prefixed names and overflows at 40 nested groups),
and the engine's own parser (Oxigraph's) is not exposed by pyoxigraph. Running the parser in
V8 has a second use: a request nested deep enough to exhaust the stack is a JavaScript
`RangeError` there, not a crash of this process.

Requests are bounded before parsing (`kg.sparql.bounds`).

>>> parsed = parse_update("BASE <https://w3id.org/modelkg/zzz/> DROP GRAPH <../graph/shapes>")
>>> parsed.operations[0].source
GraphRef(kind='iri', value='https://w3id.org/modelkg/graph/shapes')
>>> parse_query("SELECT * WHERE { SERVICE <http://127.0.0.1:9/x> { ?s ?p ?o } }").services
(GraphRef(kind='iri', value='http://127.0.0.1:9/x'),)
>>> parse_query("SELECT ?m WHERE { ?m a mkg:Model }").form
'select'
>>> parse_query("ASK {}") is parse_query("ASK {}")  # a text asked again is not parsed again
True
"""

from __future__ import annotations

import asyncio
import atexit
import json
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar, cast

from cachetools import LRUCache
from pyoxigraph import NamedNode

from kg.errors import QueryError, QueryRefused
from kg.sparql.bounds import DEFAULT_LIMITS, Limits, check_bounds
from kg.sparql.request import (
    READS_ANYTHING,
    GraphKind,
    GraphRef,
    OperationKind,
    ParsedQuery,
    ParsedUpdate,
    QueryForm,
    Reads,
    UpdateOperation,
)
from ontology.namespaces import PREFIXES

__all__ = ["ANALYZER_BUNDLE", "parse_query", "parse_update", "with_dataset"]

ANALYZER_BUNDLE = Path(__file__).with_name("vendor") / "sparql-analyzer.js"


class _Analyzer:
    """One V8 context holding the bundle; calls are serialized (a context is single-threaded).

    mini-racer runs a call at once, on the caller's thread, only when it is made from the
    event loop the context was made on; from anywhere else it sends the call to that loop and
    waits, two more thread crossings that cost ~0.3 ms on a 2-core machine, more than the parse.
    So the context is made on a loop of its own (running on a thread, for any call mini-racer
    still sends there), and each call is made with that loop set as the calling thread's
    running loop for its duration (`asyncio._set_running_loop`, the hook event loops set
    themselves with): the call then goes straight to V8's thread and back.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._context: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pid = os.getpid()

    def call(self, function: str, *arguments: str) -> dict[str, Any]:
        """Call one of the bundle's functions (`modelkgAnalyze`, `modelkgWithDataset`)."""
        with self._lock:
            if self._context is not None and self._pid != os.getpid():
                # V8's threads did not survive the fork: a call would wait for them forever
                raise RuntimeError(
                    "the SPARQL analyzer cannot run in a process forked from one that used it "
                    "(V8 does not survive a fork); analyze before forking, or spawn the process"
                )
            if self._context is None:
                self._loop, self._context = _new_context()
                self._pid = os.getpid()
                atexit.register(self.close)
            caller_loop = asyncio._get_running_loop()
            asyncio._set_running_loop(self._loop)
            try:
                answer = self._context.call(function, *arguments)
            finally:
                asyncio._set_running_loop(caller_loop)
        return cast(dict[str, Any], json.loads(answer))

    def close(self) -> None:
        """Stop V8's threads and the context's loop (left running, they can hold the
        interpreter at exit)."""
        with self._lock:
            if self._context is None or self._loop is None or self._pid != os.getpid():
                return  # never started, or a forked child's copy of the parent's
            context, loop = self._context, self._loop
            self._context = self._loop = None

        async def close() -> None:
            context.close()

        # closed on the loop it was made on, as it was made: freed from another thread while
        # V8's own threads still ran, it crashed the process at exit (SIGSEGV, exit code 139)
        asyncio.run_coroutine_threadsafe(close(), loop).result(timeout=30)
        loop.call_soon_threadsafe(loop.stop)


def _new_context() -> tuple[asyncio.AbstractEventLoop, Any]:
    """A V8 context holding the bundle, and the loop it belongs to: a loop of its own, on a
    daemon thread, never a server's (a server's loop ends with the server, while this context
    lives as long as the process)."""
    from py_mini_racer import MiniRacer

    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, name="modelkg-sparql-analyzer", daemon=True).start()

    async def make() -> Any:
        context = MiniRacer()  # made in a coroutine on `loop`: mini-racer takes it for its own
        context.eval(ANALYZER_BUNDLE.read_text(encoding="utf-8"))
        return context

    try:
        return loop, asyncio.run_coroutine_threadsafe(make(), loop).result()
    except Exception as exc:
        loop.call_soon_threadsafe(loop.stop)
        raise RuntimeError(f"cannot load the SPARQL analyzer {ANALYZER_BUNDLE}: {exc}") from exc


_ANALYZER = _Analyzer()
_DEFAULT_PREFIXES = json.dumps(PREFIXES)


def _call(
    function: str,
    text: str,
    base_iri: str | None,
    prefixes: Mapping[str, str] | None,
    limits: Limits,
    *arguments: str,
) -> dict[str, Any]:
    """Bound `text`, call the bundle's `function` on it, and raise what it could not parse."""
    check_bounds(text, max_bytes=limits.max_bytes, max_nesting=limits.max_nesting)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise QueryError(
            f"the request is not valid Unicode (a lone surrogate at character {exc.start})"
        ) from None
    declared = _DEFAULT_PREFIXES if prefixes is None else json.dumps(dict(prefixes))
    answer = _ANALYZER.call(function, text, base_iri or "", declared, *arguments)
    if answer.get("ok"):
        return answer
    message = str(answer.get("error", "unreadable request")).replace("\n", " ").strip()
    if answer.get("wrongKind"):
        raise QueryRefused(
            "wrong_operation",
            message,
            hint="send updates as `update=` or application/sparql-update, queries as "
            "`query=` or application/sparql-query",
        )
    if "call stack" in message:
        raise QueryRefused(
            "query_too_deep",
            "the request nests too deeply to parse",
            hint="flatten the nested { } or ( ): join patterns side by side instead",
        )
    line, column = answer.get("line"), answer.get("column")
    where = f" at line {line}, column {column}" if line else ""
    if len(message) > 240:
        message = message[:230].rsplit(" ", 1)[0] + " ..."
    lines = text.splitlines()
    excerpt = ""
    if isinstance(line, int) and isinstance(column, int) and 1 <= line <= len(lines):
        excerpt = f"\n  {lines[line - 1][:200]}\n  {' ' * min(max(column - 1, 0), 200)}^"
    raise QueryError(f"invalid SPARQL{where}: {message}{excerpt}", line=line, column=column)


def _ref(raw: list[str]) -> GraphRef:
    kind = cast(GraphKind, raw[0])
    return GraphRef(kind, raw[1] if len(raw) > 1 else "")


def _reads(raw: dict[str, Any]) -> Reads:
    return Reads(frozenset(raw["predicates"]), frozenset(raw["classes"]), bool(raw["any"]))


def _operation(raw: dict[str, Any]) -> UpdateOperation:
    return UpdateOperation(
        op=cast(OperationKind, raw["op"]),
        silent=bool(raw.get("silent")),
        source=_ref(raw["source"]) if "source" in raw else None,
        destination=_ref(raw["destination"]) if "destination" in raw else None,
        insert=tuple(_ref(r) for r in raw.get("insert", ())),
        delete=tuple(_ref(r) for r in raw.get("delete", ())),
        dataset=bool(raw.get("dataset")),
    )


_PARSED: LRUCache[tuple[object, ...], ParsedQuery | ParsedUpdate] = LRUCache(
    maxsize=32 * 1024 * 1024, getsizeof=lambda parsed: len(parsed.text) + 512
)
"""What parsing gave for a request text asked again: a parse is a pure function of the text,
base, prefixes and bounds, and applications send the same few queries over and over. Bounded by
the texts' size (32 MiB); only successes are kept. The guard still runs on every request."""
_PARSED_LOCK = threading.Lock()

_Parsed = TypeVar("_Parsed", ParsedQuery, ParsedUpdate)


def _remembered(
    key: tuple[object, ...], parse: Callable[[], _Parsed], kind: type[_Parsed]
) -> _Parsed:
    with _PARSED_LOCK:
        found = _PARSED.get(key)
    if isinstance(found, kind):
        return found
    parsed = parse()
    with _PARSED_LOCK:
        _PARSED[key] = parsed
    return parsed


def _key(
    kind: str, text: str, base_iri: str | None, prefixes: Mapping[str, str] | None, limits: Limits
) -> tuple[object, ...]:
    declared = None if prefixes is None else tuple(sorted(prefixes.items()))
    return (kind, text, base_iri, declared, limits)


def parse_query(
    text: str,
    *,
    base_iri: str | None = None,
    prefixes: Mapping[str, str] | None = None,
    limits: Limits = DEFAULT_LIMITS,
    with_reads: bool = False,
) -> ParsedQuery:
    """Parse a query; `prefixes` are predeclared (default: ModelKG's, `mkg:` and the rest).
    With `with_reads`, say what its patterns can match (`ParsedQuery.reads`; else it is taken
    to read anything): the reasoner asks it of its rules, the guards do not need it.

    Raises `QueryRefused` past the bounds or for an update, `QueryError` for bad syntax.

    >>> reads = parse_query("CONSTRUCT { ?m a mkg:Y } WHERE { ?m a mkg:X }", with_reads=True).reads
    >>> sorted(reads.classes), reads.any
    (['https://w3id.org/modelkg/ontology#X'], False)
    """

    def parse() -> ParsedQuery:
        wanted = "reads" if with_reads else ""
        answer = _call("modelkgAnalyze", text, base_iri, prefixes, limits, "query", wanted)
        return ParsedQuery(
            text=text,
            form=cast(QueryForm, answer["form"]),
            depth=int(answer["depth"]),
            services=tuple(_ref(r) for r in answer["services"]),
            dataset=bool(answer["dataset"]),
            volatile=bool(answer.get("volatile")),
            reads=_reads(answer["reads"]) if with_reads else READS_ANYTHING,
        )

    kind = "query+reads" if with_reads else "query"
    return _remembered(_key(kind, text, base_iri, prefixes, limits), parse, ParsedQuery)


def parse_update(
    text: str,
    *,
    base_iri: str | None = None,
    prefixes: Mapping[str, str] | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> ParsedUpdate:
    """Parse an update request into its operations, in order.

    >>> [o.op for o in parse_update("CLEAR DEFAULT ; INSERT DATA { <urn:a> <urn:b> 1 }").operations]
    ['clear', 'modify']
    """

    def parse() -> ParsedUpdate:
        answer = _call("modelkgAnalyze", text, base_iri, prefixes, limits, "update", "")
        return ParsedUpdate(
            text=text,
            depth=int(answer["depth"]),
            services=tuple(_ref(r) for r in answer["services"]),
            operations=tuple(_operation(o) for o in answer["operations"]),
        )

    return _remembered(_key("update", text, base_iri, prefixes, limits), parse, ParsedUpdate)


def with_dataset(
    text: str,
    *,
    default_graphs: Sequence[str],
    named_graphs: Sequence[str],
    base_iri: str | None = None,
    prefixes: Mapping[str, str] | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> str:
    """The update `text` with `USING` / `USING NAMED` for the given graphs on each DELETE/INSERT
    (the SPARQL 1.1 Protocol's `using-graph-uri` / `using-named-graph-uri`; pyoxigraph's
    `update()` takes no dataset). The text is generated from the parsed terms by Traqula's
    generator; the IRIs are checked first. Parse the result again before running it.

    >>> print(with_dataset("DELETE WHERE { ?s ?p ?o }", default_graphs=["urn:g"], named_graphs=[]))
    DELETE {
      ?s ?p ?o .
    }
    USING <urn:g> WHERE {
      ?s ?p ?o .
    }
    """
    for iri in (*default_graphs, *named_graphs):
        try:
            NamedNode(iri)
        except ValueError as exc:
            raise QueryRefused(
                "bad_graph_uri",
                f"`{iri}` is not an absolute IRI: {exc}",
                hint="give each using-graph-uri / using-named-graph-uri as a full IRI",
                field="using-graph-uri",
            ) from None
    answer = _call(
        "modelkgWithDataset",
        text,
        base_iri,
        prefixes,
        limits,
        json.dumps(list(default_graphs)),
        json.dumps(list(named_graphs)),
    )
    return str(answer["text"])
