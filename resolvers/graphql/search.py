"""GraphQL `searchModels`: plain-words (or vector) search with the models filter.

The answers are REST's `POST /api/v1/search`, through the same `resolvers.search_state`: same
hits, same scores, and errors naming the argument (`first`, `threshold`, `filter.task`) with
`extensions.code` `bad_input`. `Query` in `resolvers.graphql.schema` inherits the field.
"""

# Strawberry reads annotations at schema build: no `from __future__ import annotations` here.

import strawberry
from strawberry.types import Info

from kg.errors import InputError
from resolvers.graphql.context import GraphQLContext
from resolvers.graphql.inputs import ModelFilterInput, to_filter
from resolvers.graphql.types import Model
from resolvers.threads import run_in_worker

__all__ = ["SearchHit", "SearchQuery"]


@strawberry.type(description="A model found by `searchModels`, with its score and why.")
class SearchHit:
    model: Model
    score: float = strawberry.field(
        description="Similarity to the query: higher is closer (cosine: -1 to 1)."
    )
    matched_text: str = strawberry.field(description="The text the model was embedded from.")


def _context(info: Info) -> GraphQLContext:
    context = info.context
    assert isinstance(context, GraphQLContext)
    return context


@strawberry.type
class SearchQuery:
    @strawberry.field(
        description="Models closest to a text (or a vector) that the filter admits, best first. "
        "Give `query` or `vector`; `threshold` keeps hits scoring at least that."
    )
    async def search_models(
        self,
        info: Info,
        query: str | None = None,
        vector: list[float] | None = None,
        filter: ModelFilterInput | None = None,
        first: int = 10,
        threshold: float | None = None,
        exact: bool = False,
    ) -> list[SearchHit]:
        context = _context(info)
        derived_from = getattr(filter, "derived_from", None)
        base_iri = None
        if derived_from is not None:
            base_iri = await context.by_name.load(str(derived_from))
            if base_iri is None:
                raise InputError(f"no model `{derived_from}` in the registry",
                                 field="filter.derivedFrom")  # fmt: skip
        spec = to_filter(filter, base_iri)
        state = context.services.search
        answer = await run_in_worker(
            state.search,
            query, vector=vector, spec=spec, limit=first, threshold=threshold, exact=exact,
        )  # fmt: skip
        return [
            SearchHit(
                model=Model(key=hit.iri, known_name=hit.name),
                score=hit.score,
                matched_text=hit.text,
            )
            for hit in answer.hits
        ]
