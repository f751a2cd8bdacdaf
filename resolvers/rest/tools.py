"""A model as code over REST: its interface description and its LLM tool schemas.

`GET /models/{id}/interface` is `modelkg codegen describe`'s answer, `GET /models/{id}/tools`
`modelkg codegen tools`' (`codegen.interface`, `codegen.tools`). Hub ids hold a slash, so the
model routes take the rest of the path: this router is included before the plain model read,
which would take `/interface` for part of an id. A model the graph cannot turn into code (no
task code knows) is a 422 with `CodegenError`'s message and hint; an unknown format a 422
naming the formats there are.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from codegen.interface import ModelInterface, describe
from codegen.tools import TOOL_FORMATS, tool_format, tool_schemas
from kg.errors import CodegenError, UsageError
from kg.store.base import ModelStore
from resolvers.errors import HttpError
from resolvers.rest import schemas
from resolvers.rest.context import ERRORS, CountedRoute, StoreDep, find_model
from resolvers.threads import run_in_worker

__all__ = ["router"]

router = APIRouter(tags=["code"], route_class=CountedRoute)

_NOT_CODE = {
    "model": schemas.ErrorResponse,
    "description": "The model cannot become code (no task with a type mapping), or an "
    "unknown format.",
}


def _describe(store: ModelStore, model_id: str) -> ModelInterface:
    iri = find_model(store, model_id)  # a 404 with close names first
    try:
        return describe(store, iri)
    except CodegenError as exc:
        error = exc
    # raised outside the handler: query results belong to this worker thread
    raise HttpError(422, "not_code", error.message, field=error.field, hint=error.hint)


@router.get(
    "/models/{model_id:path}/interface",
    response_model=ModelInterface,
    summary="A model's interface description: the functions code calls it through",
    responses={404: ERRORS[404], 422: _NOT_CODE},
)
async def model_interface(model_id: str, store: StoreDep) -> ModelInterface:
    """One typed function per task of the model that code knows, its arguments bounded and
    defaulted by the model's facts, its result shaped by them (the embedding's dimension, the
    label names), with the card's words (`modelkg codegen describe`)."""
    return await run_in_worker(_describe, store, model_id)


@router.get(
    "/models/{model_id:path}/tools",
    summary="A model's LLM tool schemas: OpenAI, Anthropic, MCP or JSON Schema",
    responses={404: ERRORS[404], 422: _NOT_CODE},
)
async def model_tools(
    model_id: str,
    store: StoreDep,
    fmt: Annotated[
        str,
        Query(
            alias="format",
            description=f"One of {', '.join(TOOL_FORMATS)}.",
            json_schema_extra={"enum": list(TOOL_FORMATS)},
        ),
    ] = "openai",
) -> list[dict[str, Any]]:
    """One tool per function of the model, in the format's shape, from its interface
    description (`modelkg codegen tools`)."""
    try:
        known = tool_format(fmt)
    except UsageError as exc:
        raise HttpError(422, "bad_parameter", exc.message, field="format",
                        hint=f"expected {exc.expected}") from None  # fmt: skip
    interface = await run_in_worker(_describe, store, model_id)
    return tool_schemas([interface], known)
