"""`/api/v1/search` and `/api/v1/embeddings`: plain-words search, and the embeddings behind it.

Search takes a text (or a vector) and the same filter as the model list, written as JSON: the
filter's lists take one value or several, ranges bound any numeric normalized parameter
(`"ranges": {"parameterCount": {"lte": 2e8}}`), and a field the filter does not have is a 400
naming it, never silently ignored. Hits come best first with their score and the text each
model was embedded from, so a client can see why it matched. The answers are GraphQL's
`searchModels`, through the same `resolvers.search_state`.

An unknown embedding model is a 400 (`bad_parameter`, field `model`) listing the models on
offer: the model is an argument of the request, not the resource asked for (as with
`derived_from` on the model list).
"""

from __future__ import annotations

import difflib
from typing import Annotated

from fastapi import APIRouter, Request
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool
from pydantic.alias_generators import to_camel

from kg.errors import InputError
from kg.models.filters import ModelFilter, Range, numeric_parameters
from kg.models.paging import excluded
from kg.search.embedder import BUNDLED_MODEL, MAX_BATCH, MAX_TEXT_CHARS
from kg.search.service import MAX_QUERY_CHARS, MAX_RESULTS, MAX_VECTOR_VALUE
from kg.store.base import ModelStore
from resolvers.errors import HttpError
from resolvers.rest.context import ERRORS, CountedRoute, find_model
from resolvers.rest.patterns import NOT_BLANK, PRINTABLE
from resolvers.rest.schemas import Excluded, ModelRef
from resolvers.search_state import SearchAnswer, SearchState
from resolvers.services import services
from resolvers.threads import run_in_worker

__all__ = [
    "EmbeddingModelsOut",
    "EmbeddingRequest",
    "EmbeddingsOut",
    "SearchFilter",
    "SearchHitOut",
    "SearchOut",
    "SearchRequest",
    "router",
]

router = APIRouter(tags=["search"], route_class=CountedRoute)


class _Out(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True)


class _In(BaseModel):
    """A request body: camelCase, and a field it does not have is an error."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, frozen=True, extra="forbid"
    )


def _one_or_many(value: object) -> object:
    return [value] if isinstance(value, str) else value


Name = Annotated[str, Field(min_length=1, max_length=200, pattern=PRINTABLE)]
Names = Annotated[list[Name] | None, BeforeValidator(_one_or_many)]
"""A filter list; one string is read as a list of one."""
Number = Annotated[float, Field(allow_inf_nan=False)]
VectorValue = Annotated[
    float, Field(ge=-MAX_VECTOR_VALUE, le=MAX_VECTOR_VALUE, allow_inf_nan=False)
]
"""A query vector's value: finite and bounded, so scores stay numbers."""


class NumberRange(_In):
    """Bounds on a number; give any of them."""

    gte: Number | None = None
    lte: Number | None = None
    gt: Number | None = None
    lt: Number | None = None


class SearchFilter(_In):
    """Which models may be hits: fields combine with AND, values of one field with OR."""

    task: Names = Field(None, description="Hub task ids; narrower tasks match too.")
    primary_task: Names = Field(
        None, description="Hub task ids the model's primary task (its would-be pipeline_tag) is."
    )
    modality: Names = Field(None, description="text, image, audio, video, tabular, document.")
    library: Names = Field(None, description="The card's library_name.")
    license: Names = Field(None, description="The card's license id.")
    model_type: Names = Field(None, description="The config's model_type.")
    language: Names = Field(None, description="A language code from the card.")
    name_contains: str | None = Field(None, description="Part of the model's name, any case.")
    derived_from: str | None = Field(
        None, description="Only models made from this one (hub id, name or IRI), transitively."
    )
    ranges: dict[str, NumberRange] = Field(
        default_factory=dict,
        description="Bounds per numeric normalized parameter: "
        + ", ".join(f"`{name}`" for name in sorted(numeric_parameters()))
        + ".",
        examples=[{"parameterCount": {"lte": 2e8}}],
    )


class SearchRequest(_In):
    """A text or a vector, a filter, how many hits and how close they must be."""

    query: str | None = Field(
        None,
        min_length=1,
        max_length=MAX_QUERY_CHARS,
        pattern=NOT_BLANK,
        description=f"What you look for, in words (at most {MAX_QUERY_CHARS} characters).",
        examples=["speech recognition"],
    )
    vector: list[VectorValue] | None = Field(
        None,
        min_length=1,
        max_length=8192,
        description="Search with this vector instead of a text (the index model's dimension; "
        "get one from /api/v1/embeddings).",
    )
    filter: SearchFilter | None = None
    first: int = Field(10, ge=1, le=MAX_RESULTS, description="How many hits, at most.")
    threshold: Number | None = Field(
        None, description="Keep hits scoring at least this (cosine: -1 to 1; 0.3 is fair)."
    )
    exact: StrictBool = Field(False, description="Scan every vector instead of the HNSW graph.")


class SearchHitOut(_Out):
    model: ModelRef
    score: float = Field(description="Similarity to the query: higher is closer.")
    matched_text: str = Field(description="The text the model was embedded from.")


class SearchOut(_Out):
    """Hits, best first, with the embedding model and metric that scored them."""

    items: list[SearchHitOut]
    model: str = Field(description="The embedding model of the index.")
    metric: str = Field(description="cosine, ip or l2 (l2 scores are minus the distance).")
    excluded: list[Excluded] = Field(
        default_factory=list,
        description="Per range in the filter, the models it left out because their value is "
        "not known (a size range never drops models of unknown size silently).",
    )


Text = Annotated[str, Field(min_length=1, max_length=MAX_TEXT_CHARS, pattern=NOT_BLANK)]
"""A text to embed: not empty, not only spaces."""


class EmbeddingRequest(_In):
    text: Text | Annotated[list[Text], Field(min_length=1, max_length=MAX_BATCH)] = Field(
        description=f"One text or a list of up to {MAX_BATCH}, each at most {MAX_TEXT_CHARS} "
        "characters.",
        examples=["a small multilingual sentence encoder"],
    )
    model: str = Field(
        BUNDLED_MODEL,
        min_length=1,
        pattern=PRINTABLE,
        description="The embedding model; see /embeddings/models.",
    )
    normalize: StrictBool = Field(True, description="Scale each vector to unit length.")


class EmbeddingsOut(_Out):
    embeddings: list[list[float]]
    model: str
    dimensions: int
    cached: list[bool] = Field(description="Per text: was it answered from the cache?")
    count: int


class EmbeddingModelOut(_Out):
    name: str
    dimensions: int | None = Field(description="Null when the model's card does not say.")
    loaded: bool = Field(description="Whether the model is in memory (else the next use loads).")


class EmbeddingModelsOut(_Out):
    models: list[EmbeddingModelOut]
    max_batch: int = Field(description="Most texts one request may embed.")
    max_text_chars: int = Field(description="Longest text accepted.")


def _state(request: Request) -> SearchState:
    return services(request).search


def _bad(exc: InputError) -> HttpError:
    return HttpError(400, "bad_parameter", exc.message, field=exc.field, hint=exc.hint)


def _to_filter(store: ModelStore, given: SearchFilter | None) -> ModelFilter | None:
    if given is None:
        return None
    for name in given.ranges:
        if name not in numeric_parameters():
            close = difflib.get_close_matches(name, sorted(numeric_parameters()), n=3)
            raise HttpError(
                400,
                "bad_parameter",
                f"no numeric parameter `{name}` to bound",
                field=f"filter.ranges.{name}",
                hint=f"did you mean {', '.join(close)}?" if close else "see the ranges at /docs",
            )
    derived_from = None
    if given.derived_from is not None:
        try:
            derived_from = find_model(store, given.derived_from)
        except HttpError as exc:  # an argument, not the resource asked for: 400, not 404
            raise HttpError(400, "bad_parameter", exc.message, field="filter.derivedFrom",
                            hint=exc.hint) from None  # fmt: skip
    return ModelFilter(
        tasks=tuple(given.task or ()),
        primary_tasks=tuple(given.primary_task or ()),
        modalities=tuple(given.modality or ()),
        libraries=tuple(given.library or ()),
        licenses=tuple(given.license or ()),
        model_types=tuple(given.model_type or ()),
        languages=tuple(given.language or ()),
        name_contains=given.name_contains,
        derived_from=derived_from,
        ranges={
            name: Range(gte=r.gte, lte=r.lte, gt=r.gt, lt=r.lt) for name, r in given.ranges.items()
        },
    )


def _search(state: SearchState, body: SearchRequest) -> tuple[SearchAnswer, list[Excluded]]:
    spec = _to_filter(state.store, body.filter)
    answer = state.search(
        body.query, vector=body.vector, spec=spec, limit=body.first,
        threshold=body.threshold, exact=body.exact,
    )  # fmt: skip
    if spec is None:
        return answer, []
    left_out = [
        Excluded(parameter=e.parameter, count=e.count, reason=e.reason)
        for e in excluded(state.store, spec)
    ]
    return answer, left_out


@router.post(
    "/search",
    response_model=SearchOut,
    summary="Find models by what they do, in plain words (or by a vector)",
    responses={400: ERRORS[400]},
)
async def search(request: Request, body: SearchRequest) -> SearchOut:
    """The models closest to `query` (or `vector`) that `filter` admits, best first.

    `{"query": "speech recognition", "filter": {"task": "automatic-speech-recognition",
    "ranges": {"parameterCount": {"lte": 2e8}}}, "first": 5}`. Give `query` or `vector`, not
    both. The first search after start-up loads the embedding model and brings the index in
    step with the store; later ones take milliseconds.
    """
    try:
        answer, left_out = await run_in_worker(_search, _state(request), body)
    except InputError as exc:
        raise _bad(exc) from None
    return SearchOut(
        items=[
            SearchHitOut(
                model=ModelRef(id=hit.name, iri=hit.iri), score=hit.score, matched_text=hit.text
            )
            for hit in answer.hits
        ],
        model=answer.model,
        metric=answer.metric,
        excluded=left_out,
    )


@router.post(
    "/embeddings",
    response_model=EmbeddingsOut,
    summary="Embed texts with an embedding model on this server",
    responses={400: ERRORS[400]},
)
async def embeddings(request: Request, body: EmbeddingRequest) -> EmbeddingsOut:
    """Vectors for one text or a batch, one row per text, from a cache when asked before.

    `{"text": ["speech recognition", "image classification"]}` with the bundled
    all-MiniLM-L6-v2 (384 dimensions). A vector from here, given to `/search` as `vector`,
    finds what the text finds. An unknown `model` is a 400 listing the models on offer.
    """
    texts = [body.text] if isinstance(body.text, str) else list(body.text)
    state = _state(request)
    try:
        embedded = await run_in_worker(state.embed, texts, body.model, normalize=body.normalize)
    except InputError as exc:
        raise _bad(exc) from None
    return EmbeddingsOut(
        embeddings=embedded.vectors.tolist(),
        model=embedded.model,
        dimensions=embedded.dimensions,
        cached=embedded.cached,
        count=len(texts),
    )


@router.get(
    "/embeddings/models",
    response_model=EmbeddingModelsOut,
    summary="The embedding models on this server",
)
async def embedding_models(request: Request) -> EmbeddingModelsOut:
    """The bundled all-MiniLM-L6-v2 and every registered sentence-transformers model whose
    weights are on this machine, with the request limits of `/embeddings`."""
    found = await run_in_worker(_state(request).models)
    return EmbeddingModelsOut(
        models=[
            EmbeddingModelOut(name=spec.name, dimensions=spec.dimensions, loaded=loaded)
            for spec, loaded in found
        ],
        max_batch=MAX_BATCH,
        max_text_chars=MAX_TEXT_CHARS,
    )
