"""The remote store: a SPARQL 1.1 server, spoken to over HTTP, behind the same interface as the
embedded store (`kg.store.base.ModelStore`).

Where the store is, as a URL (`--store` or `MODELKG_STORE`):

    sparql+http://HOST:PORT[/PATH][?query=/P&update=/P&store=/P&union=parameter|native&timeout=S]

Alone, it reaches an Oxigraph server (`oxigraph serve`): its `/query` (SPARQL 1.1 Protocol,
queries), `/update` (updates) and `/store` (Graph Store HTTP Protocol) endpoints, under `/PATH`
when one is given. `sparql+https://` speaks TLS; `USER:PASSWORD@` before the host answers the
server's HTTP digest or basic challenge (and is never shown in a message). The parameters:

- `query`, `update`, `store`: another server's endpoint paths (each starts with `/`);
- `union`: how queries get the union of all named graphs as their default graph, as the
  embedded store gives it: `parameter` (the default) sends Oxigraph's `union-default-graph`
  parameter with each query; `native` sends nothing, for a server whose default graph already
  is the union (Virtuoso, or Oxigraph started with `--union-default-graph`);
- `timeout`: seconds to wait for a query's answer (default 60; an update waits ten times
  that). Connecting gives up after 5 seconds.

>>> ends = parse_location("sparql+http://127.0.0.1:8890?query=/sparql&update=/sparql"
...                       "&store=/sparql-graph-crud&union=native&timeout=5")
>>> ends.query, ends.store, ends.union, ends.timeout
('http://127.0.0.1:8890/sparql', 'http://127.0.0.1:8890/sparql-graph-crud', 'native', 5.0)
>>> parse_location("sparql+https://me:secret@kg.example.org/oxigraph").update
'https://kg.example.org/oxigraph/update'

Facts this relies on (Oxigraph 0.5, `cli/src/main.rs`): an update request is applied as one
transaction, so one request per write leaves each model's graph wholly old or wholly new; an
update body is limited to 128 MiB; the Graph Store Protocol's PUT clears and then loads in two
steps, so whole-graph writes here are SPARQL updates too; `GET /store` with no graph streams
the whole dataset as N-Quads from one snapshot; a bad query is a 400, a failure while
evaluating it a 500, unless the failure comes after the answer began: results are streamed,
so the status is already 200 and the error text ends the body (every answer is read whole and
checked before it is returned); a HEAD of a missing graph answers with a body, which garbles
the next answer on that connection, so existence is asked with `ASK { GRAPH <g> {} }`; a
relative IRI resolves against the endpoint's URL where the embedded store refuses it.

Virtuoso (Debian's `virtuoso-opensource` 7.2), recognised by its `Server:` header or by its
answer to an ASK (`RemoteStore.virtuoso`), departs from the standards in ways the README's
table "Engines: where Virtuoso departs from the standard" lists, each shown on a real server
by tests/kg/store/test_virtuoso.py. What this module absorbs there: queries go URL-encoded
(every server takes that; Virtuoso never answers a query POSTed directly) with an `Accept`
for their form; its JSON answers are read as the standard writes them (ASK's one row, its
`nodeID://` blank nodes, its `"1"` booleans); ModelKG's writes go in operations its parser
and SQL generator take, blank nodes through INSERT templates, triple terms as reified IRIs
(`TRIPLE_IRI`), NaN doubles marked (`NAN_DATATYPE`), never into the default graph it lacks;
graphs are read with every digit of their doubles, without its own graphs
(`VIRTUOSO_GRAPHS`). A failed update there says what stayed applied: Virtuoso applies a
request's operations one by one, so a write is wholly old or wholly new only on a server
that applies a request as one transaction. Its endpoints for a user with the SPARQL_UPDATE
role:

    sparql+http://USER:PASSWORD@HOST:8890?query=/sparql-auth&update=/sparql-auth&store=/sparql-graph-crud-auth
"""

from __future__ import annotations

import io
import json
import math
import re
from collections.abc import Generator, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Literal
from urllib.parse import parse_qsl, unquote, urlsplit

import httpx
from pyoxigraph import (
    DefaultGraph,
    NamedNode,
    Quad,
    QueryResultsFormat,
    QuerySolutions,
    RdfFormat,
    Store,
    Triple,
    Variable,
    parse,
    parse_query_results,
    serialize,
)
from pyoxigraph import Literal as RdfLiteral
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from kg.errors import QueryError, StoreError, UsageError
from kg.store.base import (
    BinaryOutput,
    Graph,
    QueryResult,
    Term,
    expect_boolean,
    expect_solutions,
)
from kg.store.embedded import QUERY_TALLY, parse_query_error
from kg.store.engine import VOCABULARY_GRAPHS, StoreEngine
from kg.store.sparql_text import (
    COUNT_MODELS,
    BoundQuery,
    bind_values,
    edit_graph_update,
    insert_quads_update,
    vocabulary_marker,
    vocabulary_update,
    write_models_update,
)
from kg.store.virtuoso import (
    ASK_RETVAL,
    BOOLEANS,
    NAN_TEXT,
    REIFY,
    TRIPLE_JSON,
    VIRTUOSO_GRAPHS,
    VIRTUOSO_MAX_IRI,
    is_triple_iri,
    json_term,
    quads_to_virtuoso,
    replaced,
    to_virtuoso,
    triple_iri,
    triples_in,
    virtuoso_graph_read,
    virtuoso_inserts,
    virtuoso_json,
)
from ontology.namespaces import MKG, PREFIXES, XSD

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

    from kg.store.model_graph import ModelGraph

__all__ = ["SCHEMES", "Endpoints", "RemoteStore", "parse_location"]

SCHEMES = ("sparql+http://", "sparql+https://")
"""How a store location says it is a remote store."""

DEFAULT_TIMEOUT = 60.0
"""Seconds to wait for a query's answer: Oxigraph's own HTTP timeout."""
CONNECT_TIMEOUT = 5.0
ATTEMPTS = 3
"""Tries of a read (a query, a GET) that could not connect or met a 502/503/504; never of an
update, which might have been applied."""
MAX_UPDATE_BYTES = 128 * 1024 * 1024
"""Oxigraph's limit on an update request's body."""
BULK_QUADS = 1_000_000
"""Below this, Oxigraph's bulk loader takes a body in one ingest (whole or not at all)."""

_UNAVAILABLE = frozenset({502, 503, 504})
_NOT_SPARQL = frozenset({404, 405, 406, 415, 501})
_ACCEPT_ANY = (
    "application/sparql-results+json, application/sparql-results+xml;q=0.9, "
    "application/n-triples;q=0.8, text/turtle;q=0.5"
)  # for a query whose form was not recognised: the server picks what fits its kind
_ACCEPT = {
    "SELECT": "application/sparql-results+json, application/sparql-results+xml;q=0.9",
    "ASK": "application/sparql-results+json, application/sparql-results+xml;q=0.9",
    "CONSTRUCT": "application/n-triples, text/turtle;q=0.9",
    "DESCRIBE": "application/n-triples, text/turtle;q=0.9",
}
"""What to accept for each query form: Virtuoso answers with the first type named, whatever
the form (a CONSTRUCT as JSON results, a SELECT as RDF), so each form names only its own."""
_FORM = re.compile(
    r"""\#[^\n\r]*|\"\"\"(?:[^"\\]|\\.|"(?!""))*\"\"\"|'''(?:[^'\\]|\\.|'(?!''))*'''
      |"(?:[^"\\\n\r]|\\.)*"|'(?:[^'\\\n\r]|\\.)*'|<[^<>"{}|^`\\\x00-\x20]*>|[?$]\w+
      |(?<![\w:])(?P<form>SELECT|CONSTRUCT|DESCRIBE|ASK)(?![\w:])""",
    re.IGNORECASE | re.DOTALL | re.VERBOSE,
)
"""A query's form: the first keyword outside comments, strings, IRIs and prefixed names."""
_PROLOGUE = " ".join(f"PREFIX {prefix}: <{iri}>" for prefix, iri in PREFIXES.items())
"""ModelKG's prefixes on one line, so a position on the caller's line N is the server's N+1."""
_PATHS_HINT = (
    "check the URL; for a server other than Oxigraph give its endpoint paths, e.g. "
    "sparql+http://HOST:PORT?query=/sparql&update=/sparql&store=/sparql-graph-crud"
)


@dataclass(frozen=True)
class Endpoints:
    """Where a remote store's endpoints are, and how to speak to them."""

    query: str
    update: str
    store: str
    union: Literal["parameter", "native"] = "parameter"
    timeout: float = DEFAULT_TIMEOUT
    display: str = ""
    """The location as messages show it: without a password."""
    auth: tuple[str, str] | None = None


def parse_location(location: str) -> Endpoints:
    """A `sparql+http(s)://` location's endpoints (syntax in the module's docstring); a
    `UsageError` naming what is wrong otherwise.

    >>> parse_location("sparql+http://127.0.0.1:7878").query
    'http://127.0.0.1:7878/query'
    """
    if not location.startswith(SCHEMES):
        raise UsageError(f"not a remote store location: {location}", expected=" or ".join(SCHEMES))
    parts = urlsplit(location.removeprefix("sparql+"))
    host = parts.hostname or ""
    display = location.replace(f":{parts.password}@", ":***@") if parts.password else location
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        host = ""  # a port that is no number
    if not host:
        raise UsageError(f"no host or a bad port in {display}", expected="sparql+http://HOST:PORT")
    root = f"{parts.scheme}://{'[' + host + ']' if ':' in host else host}{port}"
    prefix = parts.path.rstrip("/")
    paths = {"query": f"{prefix}/query", "update": f"{prefix}/update", "store": f"{prefix}/store"}
    union = "parameter"
    timeout = DEFAULT_TIMEOUT
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        if name in paths:
            if not value.startswith("/"):
                raise UsageError(f"the {name} path must start with /", field=name, path=display)
            paths[name] = value
        elif name == "union" and value in ("parameter", "native"):
            union = value
        elif name == "timeout" and re.fullmatch(r"\d+(\.\d+)?", value) and float(value) > 0:
            timeout = float(value)
        else:
            raise UsageError(
                f"unknown or bad parameter {name}={value!r} in a store URL",
                path=display,
                expected="query=/PATH, update=/PATH, store=/PATH, union=parameter|native, "
                "timeout=SECONDS",
            )
    auth = None
    if parts.username is not None:
        auth = (unquote(parts.username), unquote(parts.password or ""))
    return Endpoints(
        query=root + paths["query"],
        update=root + paths["update"],
        store=root + paths["store"],
        union="native" if union == "native" else "parameter",
        timeout=timeout,
        display=display,
        auth=auth,
    )


@dataclass(frozen=True)
class _Sent:
    """A caller's query or update as sent: our prologue line, then their text (with values
    bound in), so a syntax error's position maps back to their text."""

    original: str
    bound: BoundQuery
    prologue: str

    @property
    def text(self) -> str:
        return f"{self.prologue}\n{self.bound.text}"

    def error(self, detail: str, body: str) -> QueryError:
        """The server's syntax error (Oxigraph: `error at LINE:COLUMN: ...`; Virtuoso:
        `SPARQL compiler, line LINE: ...`, no column), with its position in the caller's
        text."""
        virtuoso = re.search(r"SPARQL compiler, line (\d+): ([^\n]*)", body)
        if virtuoso is not None:
            line = int(virtuoso.group(1)) - 1  # line 1 is our prologue; Virtuoso's 0: unknown
            lines = self.original.split("\n")
            if not 1 <= line <= len(lines):  # bound values add no line
                return QueryError(f"invalid SPARQL: {virtuoso.group(2)}")
            return QueryError(
                f"invalid SPARQL at line {line}: {virtuoso.group(2)}\n  {lines[line - 1]}",
                line=line,
            )
        match = re.search(r"error at (\d+):(\d+)", detail)
        if match is None or int(match.group(1)) < 2:  # line 1 is our prologue
            return QueryError(f"invalid SPARQL: {detail}")
        line, column = int(match.group(1)), int(match.group(2))
        lines = self.bound.text.split("\n")
        offset = sum(len(text) + 1 for text in lines[: line - 2]) + column - 1
        offset = self.bound.original_offset(offset)
        before = self.original[:offset]
        where = f"error at {before.count(chr(10)) + 1}:{offset - before.rfind(chr(10))}"
        text = detail[: match.start()] + where + detail[match.end() :]
        return parse_query_error(SyntaxError(text), self.original)


class _UnavailableError(Exception):
    """A 502/503/504 answer to a read: tried again."""

    def __init__(self, response: httpx.Response) -> None:
        super().__init__(response.status_code)
        self.response = response


class _Credentials(httpx.Auth):
    """The URL's `USER:PASSWORD`, answered to the server's challenge: HTTP digest when the
    server asks for it (Virtuoso's `/sparql-auth` takes nothing else), else basic. Sent only
    after a 401 named the scheme; from then on with every request, without that round trip."""

    requires_request_body = True  # a digest answer sends the request again

    def __init__(self, user: str, password: str) -> None:
        self._digest = httpx.DigestAuth(user, password)
        self._basic = httpx.BasicAuth(user, password)
        self._basic_asked = False

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if self._basic_asked:
            yield from self._basic.auth_flow(request)
            return
        flow = self._digest.auth_flow(request)  # sends nothing until a digest challenge came
        outgoing = next(flow)
        while True:
            response = yield outgoing
            try:
                outgoing = flow.send(response)
            except StopIteration:
                break
        challenges = response.headers.get_list("www-authenticate")
        if response.status_code == 401 and any(c.lower().startswith("basic") for c in challenges):
            self._basic_asked = True
            yield from self._basic.auth_flow(request)


class _ResponseReader(io.RawIOBase):
    """A streamed response body as a file, for pyoxigraph's incremental parser."""

    def __init__(self, response: httpx.Response) -> None:
        self._chunks = response.iter_bytes()
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer, /) -> int:
        while not self._pending:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._pending = chunk
        view = memoryview(buffer).cast("B")
        size = min(len(view), len(self._pending))
        view[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size


class RemoteStore(StoreEngine):
    """A store on a SPARQL 1.1 server (`sparql+http://`), through one pooled HTTP client.
    Its `generation` counts the writes made through this object: a write by another process
    does not move it."""

    compacts = False  # SPARQL has no request for it: the server compacts on its own

    def __init__(self, endpoints: Endpoints, *, read_only: bool) -> None:
        super().__init__(endpoints.display, read_only=read_only)
        self._endpoints = endpoints
        self._client = httpx.Client(
            timeout=httpx.Timeout(endpoints.timeout, connect=CONNECT_TIMEOUT),
            limits=httpx.Limits(max_connections=32, max_keepalive_connections=8),
            auth=_Credentials(*endpoints.auth) if endpoints.auth else None,
            headers={"User-Agent": "modelkg"},
        )
        self.virtuoso = False
        """The server is Virtuoso (its `Server:` header or its ASK answer said so): its
        departures from the standards are absorbed here (module docstring)."""
        self.oxigraph = False
        """The server is Oxigraph (its `Server:` header said so): new models go to its bulk
        loader (`write_models`)."""
        query = httpx.URL(endpoints.query)
        self._query_urls = (query, query.copy_merge_params({"union-default-graph": ""}))
        """The query endpoint, without and with the union-default-graph parameter: parsed
        once, not for each query (httpx's URL parsing was a tenth of a query's own cost)."""

    @classmethod
    def open(
        cls, location: str, *, read_only: bool = False, timeout: float | None = None
    ) -> RemoteStore:
        """Reach the server at `location` (checked with a cheap ASK: a URL that is not a
        SPARQL store fails here, not at the first query) and, unless `read_only`, load or
        refresh the ontology and shapes graphs."""
        endpoints = parse_location(location)
        if timeout is not None:
            endpoints = replace(endpoints, timeout=timeout)
        store = cls(endpoints, read_only=read_only)
        try:
            if read_only:
                store._run_query("ASK {}")
            else:
                store._ensure_vocabulary()
        except StoreError as exc:
            store.close()
            raise StoreError(
                f"cannot open the store: {exc.message}", path=store.location, hint=exc.hint
            ) from exc
        except BaseException:
            store.close()
            raise
        return store

    def _ensure_vocabulary(self) -> None:
        """Load the ontology and shapes graphs, replacing both in one update when the files
        changed (the embedded store's rule, through the same marker and update text)."""
        marker = vocabulary_marker()
        graph, triple = marker.graph_name, marker.triple
        ask = f"ASK {{ GRAPH {graph} {{ {triple.subject} {triple.predicate} {triple.object} }} }}"
        if not expect_boolean(self._run_query(ask)):
            self._apply(vocabulary_update())

    def close(self) -> None:
        """Close the pooled connections (the server keeps everything)."""
        self._client.close()

    # --- reads -------------------------------------------------------------------------------

    def query(
        self,
        sparql: str,
        *,
        substitutions: Mapping[Variable, Term] | None = None,
        base_iri: str | None = None,
    ) -> QueryResult:
        """A query over the union of all graphs, ModelKG's prefixes predeclared (`mkg:`, ...).

        Values come in as `substitutions`, bound by a VALUES block written from the terms
        (`kg.store.sparql_text.bind_values`), never pasted from the caller."""
        tally = QUERY_TALLY.get()
        if tally is not None:
            tally[0] += 1
        bound_triples: dict[NamedNode, Triple] = {}
        if self.virtuoso and substitutions:  # a bound triple term goes as its IRI
            bound_triples = {
                triple_iri(t): t for t in substitutions.values() if isinstance(t, Triple)
            }
            substitutions = {name: to_virtuoso(term) for name, term in substitutions.items()}
        bound = bind_values(sparql, substitutions or {})
        sent = _Sent(sparql, bound, _prologue(base_iri))
        return self._run_query(bound.text, sent, known=bound_triples)

    def _run_query(
        self,
        text: str,
        sent: _Sent | None = None,
        *,
        triples: bool = True,
        known: Mapping[NamedNode, Triple] | None = None,
    ) -> QueryResult:
        """POST a query (ours when `sent` is None, sent without the prologue) URL-encoded
        (SPARQL 1.1 Protocol 2.1.2, which every server takes) and read its results as
        pyoxigraph's own types; on Virtuoso, unless not `triples`, with the IRIs that stand
        for triple terms (`TRIPLE_IRI`) turned back into them (those bound are `known`)."""
        body = sent.text if sent else text
        accept = _ACCEPT.get(_query_form(body) or "", _ACCEPT_ANY)
        union = self._endpoints.union == "parameter" and not self.virtuoso
        request = self._client.build_request(
            "POST",
            self._query_urls[union],
            data={"query": body},
            headers={"Accept": accept},
        )
        response = self._send(request, idempotent=True)
        self._check(response, sent=sent)
        media = response.headers.get("content-type", "").split(";")[0].strip().lower()
        content = response.content
        try:
            results = QueryResultsFormat.from_media_type(media) if media else None
            if results is not None and results != QueryResultsFormat.CSV:
                if self.virtuoso and results == QueryResultsFormat.JSON:
                    content = virtuoso_json(content)
                    if triples:
                        content = self._json_triple_terms(content, known or {})
                parsed = parse_query_results(content, results)
                if isinstance(parsed, QuerySolutions):
                    found = False
                    for _ in parsed:  # read it all once here: a broken answer fails now
                        found = True
                    if parsed.variables == [ASK_RETVAL]:  # Virtuoso's ASK: true is one row
                        self.virtuoso = True
                        return BOOLEANS[found]
                    parsed = parse_query_results(content, results)
                return parsed
            graph = RdfFormat.from_media_type(media) if media else None
            if graph is not None:
                memory = Store()  # QueryTriples has no constructor: a store hands it out
                if self.virtuoso:  # triple terms come back as the IRIs that stand for them
                    read = list(parse(content, graph, base_iri=self._endpoints.query))
                    memory.extend(self._with_triples(read, known or {}))
                else:
                    memory.load(content, graph, base_iri=self._endpoints.query)
                return memory.query("CONSTRUCT WHERE { ?s ?p ?o }")
        except (SyntaxError, ValueError, OSError) as exc:
            tail = " ".join(response.content[-300:].decode("utf-8", "replace").split())
            raise self._error(
                f"the server's answer is not valid {media} ({exc}); it ends: {tail[-200:]}",
                hint="a server that streams results writes its error into the answer when it "
                f"fails part-way: check the server's log; or the URL is no SPARQL store: "
                f"{_PATHS_HINT}",
            ) from exc
        raise self._error(
            f"the server answered {media or 'with no content type'}, not SPARQL results: "
            f"{_excerpt(response)}",
            hint=f"is this a SPARQL store? {_PATHS_HINT}",
        )

    def graph_quads(self, graph: Graph) -> list[Quad]:
        """Every quad of one graph (empty when there is no such graph): one Graph Store GET
        (on Virtuoso a query that keeps every digit of a double; it has no default graph)."""
        if self.virtuoso:
            return self._virtuoso_graph_quads(graph)
        request = self._client.build_request(
            "GET",
            self._endpoints.store,
            params=_graph_param(graph),
            headers={"Accept": "application/n-triples"},
        )
        response = self._send(request, idempotent=True)
        if response.status_code == 404:
            return []
        self._check(response)
        try:
            triples = parse(response.content, RdfFormat.N_TRIPLES, without_named_graphs=True)
            return [Quad(q.subject, q.predicate, q.object, graph) for q in triples]
        except (SyntaxError, ValueError) as exc:
            raise self._error(f"the server's graph is not valid N-Triples: {exc}") from exc

    def serialize_graph(self, graph: Graph, output: BinaryOutput, format: RdfFormat) -> None:
        """Write one graph to `output` as the server serializes it: one Graph Store GET whose
        body goes to `output` chunk by chunk (no Python object per triple; Oxigraph's Turtle
        carries no prefixes). A missing graph writes nothing; `output` may raise to stop it.
        Virtuoso's serializations round doubles: there the graph is read whole and written
        here, with ModelKG's prefixes."""
        if self.virtuoso:
            quads = self._virtuoso_graph_quads(graph)
            if quads:
                data = serialize([q.triple for q in quads], format=format, prefixes=PREFIXES)
                for start in range(0, len(data or b""), 1 << 16):
                    output.write((data or b"")[start : start + (1 << 16)])
            return
        request = self._client.build_request(
            "GET",
            self._endpoints.store,
            params=_graph_param(graph),
            headers={"Accept": format.media_type},
        )
        response = self._send(request, idempotent=True, stream=True)
        try:
            if response.status_code == 404:
                return
            self._check(response)
            media = response.headers.get("content-type", "").split(";")[0].strip().lower()
            if RdfFormat.from_media_type(media) != format:
                raise self._error(f"the server sent the graph as {media}, not {format.media_type}")
            chunks = response.iter_bytes()
            while True:
                try:
                    chunk = next(chunks, None)
                except httpx.HTTPError as exc:
                    raise self._error(f"reading the graph failed part-way: {exc}") from exc
                if chunk is None:
                    return
                output.write(chunk)  # what it raises is the caller's, as it is
        finally:
            response.close()

    def subject_quads(self, subject: NamedNode, graph: NamedNode) -> list[Quad]:
        """The quads of `graph` about `subject` (one query; an index look-up on the server)."""
        rows = expect_solutions(
            self._run_query(f"SELECT ?p ?o WHERE {{ GRAPH {graph} {{ {subject} ?p ?o }} }}")
        )
        return [Quad(subject, row["p"], row["o"], graph) for row in rows]

    def has_graph(self, graph: Graph) -> bool:
        """The graph exists, empty or not (the default graph always does): an ASK, not the
        Graph Store's HEAD, since Oxigraph answers a HEAD of a missing graph with a body
        that then garbles the next answer on the same connection."""
        if isinstance(graph, DefaultGraph):
            return True
        if self.virtuoso:  # there `GRAPH <g> {}` holds for any IRI, and a graph is its triples
            return expect_boolean(self._run_query(f"ASK {{ GRAPH {graph} {{ ?s ?p ?o }} }}"))
        return expect_boolean(self._run_query(f"ASK {{ GRAPH {graph} {{}} }}"))

    def quads(self, *, vocabulary: bool = True) -> Iterator[Quad]:
        """Every quad, streamed from one GET of the whole dataset as N-Quads (parsed as it
        arrives: millions of quads are never held at once); without the ontology and shapes
        graphs unless `vocabulary`. A server whose Graph Store cannot send the whole dataset
        is read graph by graph (Virtuoso's, which also rounds doubles)."""
        if self.virtuoso:
            yield from self._quads_by_graph(vocabulary)
            return
        request = self._client.build_request(
            "GET", self._endpoints.store, headers={"Accept": "application/n-quads"}
        )
        response = self._send(request, idempotent=True, stream=True)
        try:
            media = response.headers.get("content-type", "").split(";")[0].strip().lower()
            if response.status_code in (400, *_NOT_SPARQL) or (
                response.is_success and media != "application/n-quads"
            ):
                response.close()
                yield from self._quads_by_graph(vocabulary)
                return
            self._check(response)
            for quad in parse(io.BufferedReader(_ResponseReader(response)), RdfFormat.N_QUADS):
                if vocabulary or quad.graph_name not in VOCABULARY_GRAPHS:
                    yield quad
        except (httpx.HTTPError, SyntaxError, ValueError, OSError) as exc:
            if isinstance(exc, StoreError):
                raise
            raise self._error(f"reading the dataset failed part-way: {exc}") from exc
        finally:
            response.close()

    def _quads_by_graph(self, vocabulary: bool) -> Iterator[Quad]:
        yield from self.graph_quads(DefaultGraph())
        rows = expect_solutions(  # Virtuoso: `GRAPH ?g {}` finds none, DISTINCT is slow
            self._run_query("SELECT ?g WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g")
        )
        for row in rows:
            graph = row["g"]
            if not isinstance(graph, NamedNode) or graph in VIRTUOSO_GRAPHS:
                continue
            if vocabulary or graph not in VOCABULARY_GRAPHS:
                yield from self.graph_quads(graph)

    def _virtuoso_graph_quads(self, graph: Graph) -> list[Quad]:
        """A graph read from Virtuoso by a query that prints its doubles whole, written back
        as the shortest text for the same number ("54.03434872650919"); Virtuoso has no
        default graph: it reads empty."""
        if isinstance(graph, DefaultGraph):
            return []
        quads = []
        read = self._run_query(virtuoso_graph_read(graph), triples=False)
        for row in expect_solutions(read):
            subject, predicate, obj, digits = row["s"], row["p"], row["o"], row["digits"]
            assert subject is not None and predicate is not None and obj is not None
            if digits is not None and math.isfinite(number := float(digits.value)):
                obj = RdfLiteral(repr(number), datatype=XSD.double)
            quads.append(Quad(subject, predicate, obj, graph))
        return self._with_triples(quads)

    def _json_triple_terms(self, content: bytes, bound: Mapping[NamedNode, Triple]) -> bytes:
        """Virtuoso's JSON results with the IRIs that stand for triple terms (`TRIPLE_IRI`)
        written as the triple terms (those not `bound` looked up: `_reified`)."""
        iris = {NamedNode(iri.decode()) for iri in TRIPLE_JSON.findall(content)}
        if not iris:
            return content
        known = {**bound, **self._reified(iris - bound.keys())}

        def term(match: re.Match[bytes]) -> bytes:
            iri = NamedNode(match.group(1).decode())
            return json.dumps(json_term(known.get(iri, iri))).encode()

        return TRIPLE_JSON.sub(term, content)

    def _with_triples(
        self, quads: Iterable[Quad], bound: Mapping[NamedNode, Triple] | None = None
    ) -> list[Quad]:
        """Quads read from Virtuoso with their triple terms back: the reifications among them
        taken out, the triple IRIs they do not describe (nor `bound`) looked up (`_reified`)."""
        rest, triples = triples_in(quads)
        triples = {**(bound or {}), **triples}
        missing = {
            term
            for quad in rest
            for term in (quad.subject, quad.object)
            if is_triple_iri(term) and term not in triples
        }
        if missing:
            triples = {**triples, **self._reified(missing)}
        return [replaced(quad, triples) for quad in rest]

    def _reified(self, iris: set[NamedNode]) -> dict[NamedNode, Triple]:
        """The triple terms `iris` stand for on Virtuoso, read from their reifications (and
        those of the triple terms inside them); an IRI with none stays out."""
        found: list[Quad] = []
        pending: set[NamedNode] = set(iris)
        asked: set[NamedNode] = set()
        while pending:  # each round the triple terms inside those found
            asked |= pending
            values = " ".join(str(iri) for iri in pending)
            rows = expect_solutions(
                self._run_query(
                    f"SELECT ?t ?p ?o WHERE {{ VALUES ?t {{ {values} }} ?t ?p ?o "
                    f"FILTER(?p IN ({', '.join(map(str, REIFY))})) }}",
                    triples=False,
                )
            )
            for row in rows:
                found.append(Quad(row["t"], row["p"], row["o"]))
            pending = {q.object for q in found if is_triple_iri(q.object)} - asked
        return triples_in(found)[1]

    def source_digests(self, graphs: Sequence[NamedNode]) -> dict[str, str]:
        """graph IRI -> stored source digest, for the graphs that exist (a query per 500)."""
        found: dict[str, str] = {}
        for start in range(0, len(graphs), 500):
            values = " ".join(str(g) for g in graphs[start : start + 500])
            rows = expect_solutions(
                self._run_query(
                    f"SELECT ?g ?d WHERE {{ VALUES ?g {{ {values} }} "
                    f"GRAPH ?g {{ ?g {MKG.sourceDigest} ?d }} }}"
                )
            )
            found.update({row["g"].value: row["d"].value for row in rows})
        return found

    def count_models(self) -> int:
        """How many models the store describes."""
        for row in expect_solutions(self._run_query(COUNT_MODELS)):
            return int(row["n"].value)
        return 0

    # --- writes (each one update request, under the writer lock) -----------------------------

    def update(self, sparql: str, *, base_iri: str | None = None) -> None:
        """A SPARQL update as one request (one transaction on Oxigraph) under the writer lock;
        callers guard which graphs it may touch, holding `writer()` across check and write."""
        self._check_writable()
        if self.virtuoso and NAN_TEXT.search(sparql):
            raise self._error(
                "Virtuoso's quad index breaks for good on NaN doubles; nothing was written",
                hint="leave NaN out of the update (ModelKG's own writes mark it for Virtuoso)",
            )
        self._apply(sparql, _Sent(sparql, BoundQuery(sparql), _prologue(base_iri)))

    def write_models(self, models: Sequence[ModelGraph], *, replace: Sequence[NamedNode]) -> None:
        """Write the models' graphs, replacing the `replace` graphs, in one request: each
        model's graph is wholly old or wholly new, and a failed request wrote nothing (on a
        server that applies a request as one transaction: not Virtuoso).

        New models on an Oxigraph server go as the N-Quads they travel in to its Graph Store
        with `no_transaction`: its bulk loader, which writes sorted files and ingests them at
        once, at twice the speed of a transactional load, and applies a body of fewer than a
        million quads whole or not at all (a body cut short or broken on its last line loads
        nothing; tests/kg/store/test_remote.py). Anything else is one SPARQL update.
        """
        self._check_targets([name for m in models for name in m.graphs])
        if not models and not replace:
            return
        if self.oxigraph and not replace and sum(m.count for m in models) < BULK_QUADS:
            self._bulk_load(b"".join(m.nquads for m in models))
            return
        self._apply(write_models_update(models, replace))

    def _bulk_load(self, nquads: bytes) -> None:
        """POST N-Quads to Oxigraph's bulk loader (`write_models`), never retried."""
        request = self._client.build_request(
            "POST",
            self._endpoints.store,
            params={"no_transaction": ""},
            content=nquads,
            headers={"Content-Type": "application/n-quads"},
            timeout=httpx.Timeout(self._endpoints.timeout * 10, connect=CONNECT_TIMEOUT),
        )
        with self._writing():
            response = self._send(request, idempotent=False)
            self._check(response, write=True)

    def load(self, quads: Sequence[Quad]) -> None:
        """Add quads to their graphs in one update request."""
        self._check_targets({q.graph_name for q in quads})
        if quads:
            self._apply(insert_quads_update(quads))

    def put_graph(self, graph: Graph, triples: Sequence[Triple]) -> None:
        """Replace one graph's content (GSP PUT) in one update request: Oxigraph's own PUT
        clears and loads in two steps, so a failure there could leave the graph empty."""
        self._check_targets([graph])
        self._apply(edit_graph_update(graph, triples, drop=True, create=True))

    def post_graph(self, graph: Graph, triples: Sequence[Triple]) -> None:
        """Add to one graph (GSP POST) in one update request."""
        self._check_targets([graph])
        self._apply(edit_graph_update(graph, triples, drop=False, create=True))

    def drop_graph(self, graph: Graph) -> None:
        """Remove one graph, the default graph emptied (GSP DELETE), in one update request;
        a graph that is not there is no error, as in the embedded store."""
        self._check_targets([graph])
        self._apply(edit_graph_update(graph, (), drop=True, create=False))

    def optimize(self) -> None:
        """Nothing (`compacts` is False)."""

    def _apply(self, update: str, sent: _Sent | None = None) -> None:
        """POST one update (ours when `sent` is None) as one request, never retried; ours
        rewritten for Virtuoso first (`_for_virtuoso`)."""
        if sent is None and self.virtuoso:
            update = self._for_virtuoso(update)
            if not update:
                return
        body = (sent.text if sent else update).encode("utf-8")
        if len(body) > MAX_UPDATE_BYTES:
            raise StoreError(
                f"an update of {len(body):,} bytes is over the server's limit "
                f"({MAX_UPDATE_BYTES:,}); nothing was written",
                path=self.location,
                hint="write fewer models at a time",
            )
        request = self._client.build_request(
            "POST",
            self._endpoints.update,
            content=body,
            headers={"Content-Type": "application/sparql-update"},
            timeout=httpx.Timeout(self._endpoints.timeout * 10, connect=CONNECT_TIMEOUT),
        )
        with self._writing():
            response = self._send(request, idempotent=False)
            self._check(response, sent=sent, write=True)

    def _for_virtuoso(self, update: str) -> str:
        """One of ModelKG's updates (`kg.store.sparql_text`: DROP/CREATE SILENT operations and
        INSERT DATA of N-Triples lines, separated by `;` and a newline) as Virtuoso takes it:
        each graph's triples in blocks of `VIRTUOSO_BLOCK`; triples with blank nodes, which
        its INSERT DATA refuses, in INSERT templates of at most `VIRTUOSO_TEMPLATE` triples,
        a blank node's triples always in one template (a template makes its nodes afresh);
        the default graph, which Virtuoso does not have, emptied by doing nothing and never
        written into."""
        operations: list[str] = []
        for operation in update.split(";\n"):
            operation = operation.strip()
            if operation == "DROP SILENT DEFAULT":
                continue
            if not operation.startswith("INSERT DATA {"):
                if operation:
                    operations.append(operation)
                continue
            try:
                quads = list(parse(operation[len("INSERT DATA {") : -1], RdfFormat.TRIG))
            except SyntaxError:  # not ours after all: let Virtuoso say what it refuses
                operations.append(operation)
                continue
            if any(isinstance(q.graph_name, DefaultGraph) for q in quads):
                raise self._error(
                    "Virtuoso has no default graph to write into; nothing was written",
                    hint="write into a named graph",
                )
            quads = quads_to_virtuoso(quads)
            for term in (t for q in quads for t in q):
                if isinstance(term, NamedNode) and len(term.value) > VIRTUOSO_MAX_IRI:
                    raise self._error(
                        f"Virtuoso cuts IRIs at {VIRTUOSO_MAX_IRI} characters, and "
                        f"{term.value[:60]}... has {len(term.value)}; nothing was written",
                        hint="shorten the IRI",
                    )
            operations.extend(virtuoso_inserts(quads))
        return ";\n".join(operations)

    # --- HTTP --------------------------------------------------------------------------------

    def _send(
        self, request: httpx.Request, *, idempotent: bool, stream: bool = False
    ) -> httpx.Response:
        """Send `request`; a read is tried again (up to `ATTEMPTS`, backing off) when it could
        not connect or met a 502/503/504. Every failure is a `StoreError` naming the store."""

        def attempt() -> httpx.Response:
            response = self._client.send(request, stream=stream)
            server = response.headers.get("server", "")
            if server.startswith("Virtuoso/"):
                self.virtuoso = True
            elif server.startswith("Oxigraph/"):
                self.oxigraph = True
            if idempotent and response.status_code in _UNAVAILABLE:
                response.close()
                raise _UnavailableError(response)
            return response

        what = f"{request.method} {request.url.copy_with(query=None)}"
        retrying = Retrying(
            stop=stop_after_attempt(ATTEMPTS if idempotent else 1),
            wait=wait_exponential(multiplier=0.1, max=1.0),
            retry=retry_if_exception_type(
                (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError, _UnavailableError)
            ),
            reraise=True,
        )
        tried = f" ({ATTEMPTS} tries)" if idempotent else ""
        written = "" if idempotent else "; the update may or may not have been applied"
        try:
            return retrying(attempt)
        except _UnavailableError as exc:
            status = exc.response.status_code
            raise self._error(
                f"{what}: the server is unavailable ({status} {exc.response.reason_phrase}){tried}",
                hint="check the server, or the proxy in front of it",
            ) from exc
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            reason = (
                f"within {CONNECT_TIMEOUT} s"
                if isinstance(exc, httpx.ConnectTimeout)
                else f"({exc})"
            )
            raise self._error(
                f"{what}: cannot connect {reason}{tried}"
                + ("" if idempotent else "; nothing was written"),
                hint="is the SPARQL server running at this host and port?",
            ) from exc
        except httpx.TimeoutException as exc:
            waited = (request.extensions.get("timeout") or {}).get("read")
            raise self._error(
                f"{what}: no answer within {waited} s{written}",
                hint="the server is overloaded or the query is slow: check the server, or "
                "raise the timeout (timeout=SECONDS in the store URL)",
            ) from exc
        except httpx.HTTPError as exc:
            raise self._error(
                f"{what}: {type(exc).__name__}: {exc}{written}",
                hint="check the server and the network between",
            ) from exc
        except RuntimeError as exc:  # the client was closed
            raise self._error(f"{what}: {exc}", hint="open the store again") from exc

    def _check(
        self, response: httpx.Response, *, sent: _Sent | None = None, write: bool = False
    ) -> None:
        """A `QueryError` for a caller's bad SPARQL (400), a `StoreError` for any other
        failure, saying whether anything was written."""
        status = response.status_code
        if status < 300:
            return
        response.read()
        detail = _excerpt(response)
        what = f"{response.request.method} {response.request.url.copy_with(query=None)}"
        nothing = "; nothing was written" if write else ""
        if write and self.virtuoso and status >= 500:
            nothing = (  # it compiles a whole request first (a 400 wrote nothing), then runs
                "; the operations before the failing one stay applied (Virtuoso applies an "
                "update's operations one by one): write again what this write replaced"
            )
        if status == 400 and sent is not None:
            raise sent.error(detail, response.text)
        if status in _NOT_SPARQL:
            raise self._error(
                f"{what} answered {status} {response.reason_phrase}: not a SPARQL endpoint"
                f"{nothing}",
                hint=_PATHS_HINT,
            )
        if status in (401, 403):
            raise self._error(
                f"{what} was refused: {status} {response.reason_phrase}: {detail}{nothing}",
                hint="give credentials in the URL (sparql+http://USER:PASSWORD@HOST:PORT), or "
                "open the store read-only",
            )
        raise self._error(
            f"{what} failed: {status} {response.reason_phrase}: {detail}{nothing}",
            hint="check the server's log",
        )

    def _error(self, message: str, *, hint: str | None = None) -> StoreError:
        return StoreError(message, path=self.location, hint=hint)


def _prologue(base_iri: str | None) -> str:
    """Our prefixes (and the caller's base IRI, checked as an IRI) as one line."""
    if base_iri is None:
        return _PROLOGUE
    try:
        base = NamedNode(base_iri)
    except ValueError as exc:
        raise QueryError(f"invalid base IRI {base_iri!r}: {exc}") from exc
    return f"BASE {base} {_PROLOGUE}"


def _query_form(text: str) -> str | None:
    """SELECT, CONSTRUCT, DESCRIBE or ASK: the first such keyword outside comments, strings,
    IRIs and prefixed names (None when there is none).

    >>> _query_form('PREFIX ask: <urn:x#> # SELECT\\nconstruct WHERE { ?s ask:p "ASK" }')
    'CONSTRUCT'
    """
    for match in _FORM.finditer(text):
        if match.group("form"):
            return match.group("form").upper()
    return None


def _graph_param(graph: Graph) -> dict[str, str]:
    return {"default": ""} if isinstance(graph, DefaultGraph) else {"graph": graph.value}


def _excerpt(response: httpx.Response) -> str:
    """The start of a response's body, on one line: enough to recognise an HTML page or a
    server's message."""
    text = " ".join(response.content[:400].decode("utf-8", "replace").split())
    return (text[:200] + " ...") if len(text) > 200 else (text or "(empty)")
