"""`modelkg mcp`: the registry served to LLM agents over MCP (the Model Context Protocol), on
stdio, with the official SDK's `MCPServer`.

An agent gets the questions a platform engineer asks, as tools with typed arguments and
structured answers: `search_models` (plain words, the registry's semantic search), `model` (a
model's record, the shape of REST's `GET /api/v1/models/{id}`), the compatibility lookups
(`consumers`, `replacements`, `same_tokenizer`, `same_embedding_space`, `fits`, `chain`), each
answer with its reasons, `explain` (every inferred fact with its rule and premises) and
`sparql` (read-only, capped). The tools translate between MCP and `kg`; the answers are the
ones `modelkg compat`, `search`, `explain` and `query` give.

Safe as the HTTP server is safe:
- the store is opened read-only, afresh for each call: a long-running agent session sees what
  `modelkg ingest` wrote since (a RocksDB read-only handle never does), and beside a running
  `modelkg serve` it reads the server's published checkpoint (`kg.store.shared`). Only the
  derived vector index beside the store is written, as `modelkg search` writes it;
- client SPARQL goes through the project's guard: bounded before parsing, parsed into algebra,
  updates and SERVICE refused, then run in a process killed at a timeout, its answer capped
  (`resolvers.mcp_sparql`);
- every `kg` error becomes an MCP tool error carrying its message and hint (what, where, how to
  fix), once, in `_as_tool_error`; the server keeps answering.

>>> registry = Registry("/nonexistent/store")
>>> registry.fits("16 GB")
Traceback (most recent call last):
...
mcp.server.mcpserver.exceptions.ToolError: field `memory`: a space between number and unit ...
"""

from __future__ import annotations

import functools
import inspect
import logging
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ParamSpec, TypeVar

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations
from pydantic import Field

from kg.compat import lookups
from kg.compat.index import CompatIndex
from kg.compat.memory import format_bytes, parse_memory
from kg.errors import ModelKGError
from kg.store import ModelStore, open_store, store_location
from kg.store.shared import SharedStore
from resolvers.mcp_answers import (
    ChainAnswer,
    CompatAnswers,
    Explanations,
    SearchAnswer,
    SparqlAnswer,
)
from resolvers.mcp_sparql import MAX_ROWS, QUERY_SECONDS, answer
from resolvers.rest.schemas import ModelDetail

if TYPE_CHECKING:
    from kg.search.embedder import EmbeddingService

__all__ = ["TOOL_NAMES", "Registry", "build_server", "run_stdio", "store_stamp"]

log = logging.getLogger("modelkg.mcp")


_P = ParamSpec("_P")
_R = TypeVar("_R")

ModelName = Annotated[
    str,
    Field(
        description="A model: its hub id (org/name, e.g. sentence-transformers/all-MiniLM-L6-v2), "
        "its name in the registry, or its IRI."
    ),
]
Limit = Annotated[int, Field(ge=1, le=200, description="At most this many answers.")]


def _as_tool_error(function: Callable[_P, _R]) -> Callable[_P, _R]:
    """`kg` errors as MCP tool errors: the agent reads what was wrong and how to fix it
    (`str(error)` carries path, field, expected and hint), and the server keeps serving.
    Anything else is a crash the SDK reports without its text and logs with its traceback."""

    @functools.wraps(function)
    def translated(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            return function(*args, **kwargs)
        except ModelKGError as exc:
            message = str(exc)
        # raised outside the handler, with no context: the caught error's traceback holds
        # query results, which pyoxigraph refuses to drop on another thread than their own
        raise ToolError(message)

    return translated


def _answers(answers: list[lookups.Answer], notes: list[str] | None = None) -> CompatAnswers:
    """Answers as `modelkg compat --format json` writes them: each with its case, score, the
    components the score is the sum of, and its reasons."""
    return {"answers": answers, "notes": notes or []}


class Registry:
    """The tools, over the store at `location` (see the module docstring).

    What is costly to make is kept between calls and rebuilt when the store moves: the
    compatibility index (keyed on `store_stamp`) and the embedding model (loaded once)."""

    def __init__(self, location: str, *, query_timeout: float = QUERY_SECONDS) -> None:
        self.location = location
        self.query_timeout = query_timeout
        self._cache_lock = threading.Lock()
        """guards what is kept between calls (the compatibility index, the embedding service)"""
        self._search_lock = threading.Lock()
        """one sync of the vector index at a time (a first one embeds every model)"""
        self._compat: tuple[object, CompatIndex] | None = None
        self._embeddings: EmbeddingService | None = None

    # -- what the tools share -----------------------------------------------------------------
    @contextmanager
    def store(self) -> Iterator[ModelStore]:
        """The store, opened read-only for one call (`kg.store.open_store`)."""
        with open_store(self.location, read_only=True) as store:
            yield store

    def compat_index(self, store: ModelStore) -> CompatIndex:
        """The compatibility index, built again only when the store was written since."""
        stamp = store_stamp(store)
        with self._cache_lock:
            if stamp is not None and self._compat is not None and self._compat[0] == stamp:
                return self._compat[1]
        index = CompatIndex.build(store)
        with self._cache_lock:
            self._compat = (stamp, index)
        return index

    def embeddings(self, store: ModelStore) -> EmbeddingService:
        """The embedding service: the encoder loads at the first search, then stays."""
        from kg.search.embedder import EmbeddingService, available_models

        with self._cache_lock:
            if self._embeddings is None:
                self._embeddings = EmbeddingService(available_models(store))
            return self._embeddings

    # -- the tools ------------------------------------------------------------------------------
    @_as_tool_error
    def search_models(
        self,
        query: Annotated[
            str,
            Field(
                description='What you are looking for, in plain words: "small multilingual '
                'sentence embeddings", "speech recognition for English".'
            ),
        ],
        limit: Annotated[int, Field(ge=1, le=100, description="At most this many hits.")] = 10,
        task: Annotated[
            str | None,
            Field(
                description="Only models performing this Hub task (text-generation, "
                "feature-extraction, automatic-speech-recognition, ...)."
            ),
        ] = None,
        threshold: Annotated[
            float | None,
            Field(
                ge=-1,
                le=1,
                description="Lowest cosine similarity kept: 0.3 keeps fair "
                "matches, 0.5 close ones.",
            ),
        ] = None,
    ) -> SearchAnswer:
        """Find models by describing them in plain words (semantic search over each model's
        name, tasks, size, languages and card summary), best first. Each hit has its score
        (cosine similarity) and the text that was embedded for it, so you can see why it
        matched. Use `model` on a hit for its full record."""
        from kg.models.filters import ModelFilter
        from kg.search.documents import documents
        from kg.search.service import SearchService

        with self.store() as store:
            service = SearchService(store, self.embeddings(store))
            with self._search_lock:
                if service.stale():
                    summary = service.sync()
                    log.info("search index synced: %d model(s) embedded", summary.embedded)
            spec = ModelFilter(tasks=(task,)) if task else None
            hits = service.search(query, spec=spec, limit=limit, threshold=threshold)
            # the index is read-only here: texts a writer never kept in the graph are made again
            missing = [hit.iri for hit in hits if not hit.text]
            texts = {doc.iri: doc.text for doc in documents(store, missing)} if missing else {}
        return {
            "hits": [
                {
                    "model": hit.name,
                    "iri": hit.iri,
                    "score": hit.score,
                    "matched_text": hit.text or texts.get(hit.iri, ""),
                }
                for hit in hits
            ],
            "model": service.model,
            "warnings": service.warnings,
        }

    @_as_tool_error
    def model(self, id: ModelName) -> ModelDetail:
        """One model's record: card fields (license, library, languages, description),
        every normalized parameter (hiddenSize, parameterCount, ... in camelCase), tasks and
        its primary task with why, inputs and outputs with their kinds and shapes, parts, and
        lineage (base models and models derived from it). The same as the REST API's
        GET /api/v1/models/{id}."""
        from kg.models import records
        from kg.reason.explain import resolve_model
        from resolvers.rest import serialize

        with self.store() as store:
            iri = records.find_models(store, [id]).get(id) or resolve_model(store, id).value
            ids = [iri]
            record = records.load_records(store, ids).get(iri) or records.ModelRecord(iri, id)
            return serialize.detail(
                record,
                records.load_tasks(store, ids).get(iri, []),
                records.load_io(store, ids).get(iri, ([], [])),
                records.load_parts(store, ids).get(iri, []),
                (
                    records.load_lineage(store, ids, derived=False).get(iri, []),
                    records.load_lineage(store, ids, derived=True).get(iri, []),
                ),
                records.load_primary_tasks(store, ids).get(iri),
            )

    @_as_tool_error
    def consumers(self, model: ModelName, limit: Limit = 20) -> CompatAnswers:
        """Models that can take MODEL's output as their input: the data kinds agree (text a
        model generates is text) and so do shapes (an embedding of dimension d feeds only
        what takes dimension d). Use it to build pipelines: ASR -> LLM, encoder -> classifier."""
        with self.store() as store:
            index = self.compat_index(store)
        return _answers(lookups.consumers(index, model, limit))

    @_as_tool_error
    def replacements(self, model: ModelName, limit: Limit = 20) -> CompatAnswers:
        """Drop-in replacements for MODEL: same tasks, same input and output types and
        shapes, same label set for classifiers, same tokenizer where token ids cross the
        boundary. Ranked by size, lineage, family and tokenizer (each component's points
        given); adapters come last, as "needs base X"."""
        with self.store() as store:
            index = self.compat_index(store)
        return _answers(lookups.replacements(index, model, limit))

    @_as_tool_error
    def same_tokenizer(self, model: ModelName, limit: Limit = 50) -> CompatAnswers:
        """Models whose token ids mean what MODEL's mean (same tokenizer class and
        vocabulary, or lineage to the same base): token ids from one can be fed to the
        other."""
        with self.store() as store:
            index = self.compat_index(store)
        return _answers(lookups.same_tokenizer(index, model, limit))

    @_as_tool_error
    def same_embedding_space(self, model: ModelName, limit: Limit = 50) -> CompatAnswers:
        """Other models whose vectors are comparable with MODEL's: fine-tunes, adapters and
        quantizations of the same base with the same dimension and pooling. Equal dimension
        alone is not enough; `notes` names models of the same dimension that are NOT in the
        same space, so do not mix their vectors in one index."""
        with self.store() as store:
            index = self.compat_index(store)
        answers = lookups.same_embedding_space(index, model, limit)
        others = lookups.unrelated_same_dimension(index, model)
        notes = (
            [
                "not the same space despite the same dimension (no lineage link): "
                + ", ".join(others)
            ]
            if others
            else []
        )
        return _answers(answers, notes)

    @_as_tool_error
    def fits(
        self,
        memory: Annotated[
            str,
            Field(
                description="The memory budget, number and unit together: 16GB (10^9 bytes), "
                "16GiB (2^30 bytes, what a '16 GB' GPU holds), 512MB."
            ),
        ],
        task: Annotated[
            str | None, Field(description="Only models performing this Hub task.")
        ] = None,
        dtype: Annotated[
            str, Field(description="Weight precision: fp32, fp16, bf16, int8, int4, fp8.")
        ] = "bf16",
        seq_len: Annotated[
            int, Field(ge=1, le=10_000_000, description="Tokens held in the KV cache.")
        ] = 4096,
        batch: Annotated[int, Field(ge=1, le=100_000, description="Sequences at once.")] = 1,
        limit: Limit = 50,
    ) -> CompatAnswers:
        """Models whose weights (in `dtype`) plus KV cache (for `seq_len` tokens times `batch`)
        fit in a memory budget, largest first, each with the arithmetic. `notes` says which
        models were left out because their size is unknown."""
        budget = parse_memory(memory)
        with self.store() as store:
            index = self.compat_index(store)
        answers, unsized = lookups.fits(
            index, budget, dtype=dtype, seq_len=seq_len, batch=batch, task=task, limit=limit
        )
        notes = [f"budget: {format_bytes(budget)}"]
        if unsized:
            notes.append(
                f"{len(unsized)} model(s) left out, their size unknown: " + ", ".join(unsized)
            )
        return _answers(answers, notes)

    @_as_tool_error
    def chain(
        self,
        models: Annotated[
            list[str],
            Field(
                min_length=2,
                max_length=20,
                description="Two or more models in pipeline order, e.g. an ASR model then an LLM.",
            ),
        ],
    ) -> ChainAnswer:
        """Check a pipeline A -> B -> C: does each model's output feed the next one's input?
        Each step says ok or where and why it breaks."""
        with self.store() as store:
            index = self.compat_index(store)
        steps = lookups.chain(index, models)
        return {"ok": all(s.ok for s in steps), "steps": steps}

    @_as_tool_error
    def explain(self, model: ModelName) -> Explanations:
        """Why the registry believes what it inferred about MODEL: its primary task and why
        it was chosen, then every inferred fact with the rule that produced it and the
        premises it used, each premise with the file and key its value was read from
        (config.json: n_embd). Facts and premises are N-Triples."""
        from kg.reason.explain import explain, primary_task

        with self.store() as store:
            explanations = explain(store, model)
            primary = primary_task(store, model)
        return {
            "primary_task": None
            if primary is None
            else {"task": primary.task.id, "reason": primary.reason, "rule": primary.rule},
            "facts": [
                {
                    "fact": str(item.fact),
                    "rule": item.rule,
                    "premises": [
                        {
                            "triple": str(p.triple),
                            "source_file": p.source_file,
                            "source_key": p.source_key,
                        }
                        for p in item.premises
                    ],
                }
                for item in explanations
            ],
        }

    @_as_tool_error
    def sparql(
        self,
        query: Annotated[
            str,
            Field(
                description="A SPARQL 1.1 query (SELECT, ASK, CONSTRUCT or DESCRIBE). The "
                "prefixes mkg:, schema:, hf:, prov:, rdf:, rdfs:, xsd:, owl: are predeclared; "
                "the default graph is the union of all graphs."
            ),
        ],
        max_rows: Annotated[
            int, Field(ge=1, le=MAX_ROWS, description="At most this many rows (or triples).")
        ] = 100,
    ) -> SparqlAnswer:
        """Run a read-only SPARQL query over the registry, e.g.
        SELECT ?m ?h WHERE { ?m a mkg:Model ; mkg:hiddenSize ?h } ORDER BY DESC(?h) LIMIT 5.
        Models are mkg:Model with schema:name; normalized parameters are mkg:<camelCase>
        (mkg:hiddenSize, mkg:parameterCount). Answers are JSON rows (IRIs as strings, numbers
        as numbers), `truncated` when capped. Updates, SERVICE and LOAD are refused."""
        with self.store() as store:
            return answer(store, query, max_rows, timeout=self.query_timeout)


def store_stamp(store: ModelStore) -> object | None:
    """Something that changes whenever the store is written, by any process; None when there
    is no cheap way to tell (a remote store: its index is built again on each call).

    A shared store publishes its generation; an embedded store's folder changes on every
    write (RocksDB appends to its log and adds or replaces table files).

    >>> import tempfile
    >>> from kg.store import open_store
    >>> folder = tempfile.mkdtemp() + "/kg"
    >>> with open_store(folder) as store:
    ...     before = store_stamp(store)
    ...     store.update("INSERT DATA { GRAPH <urn:g> { <urn:a> <urn:b> 1 } }")
    ...     before != store_stamp(store)
    True
    """
    if isinstance(store, SharedStore):
        return ("generation", store.generation)
    folder = Path(store.location)
    if not folder.is_dir():
        return None
    try:
        return tuple(
            sorted(
                (entry.name, entry.stat().st_size, entry.stat().st_mtime_ns)
                for entry in os.scandir(folder)
            )
        )
    except OSError:  # a file went away as it was listed: a write is under way
        return None


_READ_ONLY = ToolAnnotations(read_only_hint=True, destructive_hint=False, open_world_hint=False)
TOOL_NAMES = (
    "search_models",
    "model",
    "consumers",
    "replacements",
    "same_tokenizer",
    "same_embedding_space",
    "fits",
    "chain",
    "explain",
    "sparql",
)
"""The tools, in the order an agent is shown them."""


def _prose(docstring: str) -> str:
    """A docstring as an agent reads it: paragraphs, each on one line, no source indent.

    >>> print(_prose('''One model's record:
    ...     its card.
    ...
    ...     Lineage too.'''))
    One model's record: its card.
    <BLANKLINE>
    Lineage too.
    """
    paragraphs = inspect.cleandoc(docstring).split("\n\n")
    return "\n\n".join(" ".join(paragraph.split()) for paragraph in paragraphs)


def build_server(
    location: str | None = None, *, query_timeout: float = QUERY_SECONDS
) -> MCPServer[Any]:
    """The MCP server over the store at `location` (`--store`, else `$MODELKG_STORE`, else
    `./.modelkg`), its tools registered, not yet running; a `sparql` query still running after
    `query_timeout` seconds is killed.

    >>> import asyncio
    >>> tools = asyncio.run(build_server("/nonexistent/store").list_tools())
    >>> [tool.name for tool in tools][:3]
    ['search_models', 'model', 'consumers']
    """
    from importlib.metadata import version

    registry = Registry(store_location(location), query_timeout=query_timeout)
    server: MCPServer[Any] = MCPServer(
        "modelkg",
        title="ModelKG",
        version=version("modelkg"),
        instructions="ModelKG is a registry of machine-learning models (a knowledge graph of "
        "their configs, cards, tasks, inputs and outputs, sizes and lineage). Find models "
        "with search_models, read one with model, ask what can feed, replace or share "
        "vectors or tokens with a model, what fits a memory budget, why a fact was inferred "
        "(explain), or query the graph with read-only SPARQL.",
        log_level="WARNING",
    )
    for name in TOOL_NAMES:
        tool = getattr(registry, name)
        description = _prose(tool.__doc__ or "")
        server.add_tool(tool, name=name, description=description, annotations=_READ_ONLY)
    return server


def run_stdio(location: str | None = None, *, query_timeout: float = QUERY_SECONDS) -> None:
    """Serve the registry on stdin/stdout until the client closes the pipe."""
    build_server(location, query_timeout=query_timeout).run("stdio")
