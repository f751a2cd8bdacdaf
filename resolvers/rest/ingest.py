"""`POST /api/v1/ingest`: add or update models, behind the operator's bearer token.

Two bodies, the two ways `resolvers.ingest` offers: JSON `{"paths": [...]}` naming folders on
the server (only under the operator's `--ingest-root`), or `multipart/form-data` with the
files of one model (`files`, each named by its path inside the model folder: `config.json`,
`1_Pooling/config.json`) and its `hub_id`. The token is checked before the body is read, so
a refused request costs nothing and writes nothing. The answer is the ingest report: 200 when
every model went in, 422 (same body) when some were rejected; an upload (one model) that is
rejected is a 422 in the error shape, with the reason.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Request, Response
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from resolvers.errors import HttpError
from resolvers.ingest import IngestReport, ingest_paths, ingest_uploads
from resolvers.rest import schemas
from resolvers.rest.context import CountedRoute, ServicesDep
from resolvers.rest.serialize import ingest_report
from resolvers.threads import run_in_worker
from resolvers.update import check_writes

__all__ = ["router"]

router = APIRouter(tags=["ingest"], route_class=CountedRoute)

_ERROR = {"model": schemas.ErrorResponse}
_BODY: dict[str, Any] = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["paths"],
                "properties": {"paths": {"type": "array", "minItems": 1,
                                         "items": {"type": "string", "minLength": 1}}},
                "additionalProperties": False,
            },
            "example": {"paths": ["/srv/models/openai-community__gpt2"]},
        },
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["files"],
                "properties": {
                    "files": {"type": "array", "items": {"type": "string", "format": "binary"},
                              "description": "Each file named by its path in the model folder."},
                    "hub_id": {"type": "string", "description": "The model's hub id."},
                },
            },
        },
    },
}  # fmt: skip


async def _from_json(request: Request) -> list[str]:
    try:
        body = schemas.IngestRequest.model_validate_json(await request.body())
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "paths"
        raise HttpError(400, "bad_parameter", f"`{field}`: {first['msg']}", field=field,
                        hint='send {"paths": ["/a/model/folder", ...]}') from None  # fmt: skip
    return body.paths


async def _from_form(request: Request) -> tuple[list[tuple[str, bytes]], str | None]:
    form = await request.form()
    files = [part for part in form.getlist("files") if isinstance(part, UploadFile)]
    if not files:
        raise HttpError(400, "missing_input", "no `files` in the form", field="files",
                        hint="send each file of the model as a `files` part")  # fmt: skip
    uploads = [(part.filename or "config.json", await part.read()) for part in files]
    hub_id = form.get("hub_id")
    return uploads, hub_id if isinstance(hub_id, str) and hub_id else None


@router.post(
    "/ingest",
    response_model=schemas.IngestReportOut,
    summary="Ingest models from server folders or uploaded files (bearer token)",
    openapi_extra={"requestBody": _BODY},
    responses={
        400: _ERROR,
        401: {**_ERROR, "description": "No bearer token."},
        403: {**_ERROR, "description": "Writes off, a wrong token, or a path outside the roots."},
        415: {**_ERROR, "description": "A body other than JSON or multipart/form-data."},
        422: {
            "description": "Some models were rejected: the report (paths), or the error "
            "(an upload: its one model was rejected).",
            "content": {
                "application/json": {
                    "schema": {
                        "anyOf": [
                            {"$ref": "#/components/schemas/IngestReportOut"},
                            {"$ref": "#/components/schemas/ErrorResponse"},
                        ]
                    }
                }
            },
        },
    },
)
async def ingest(
    request: Request,
    response: Response,
    shared: ServicesDep,
    authorization: Annotated[str | None, Header(description="`Bearer <token>`")] = None,
) -> schemas.IngestReportOut:
    """Ingest models and re-derive what follows from them, as `modelkg ingest` does.

    JSON `{"paths": [...]}` names folders on the server under the operator's allowed roots;
    `multipart/form-data` uploads one model's files (`files`, named like `config.json`) with
    its `hub_id`. Needs `Authorization: Bearer <token>`. The report lists what was ingested,
    updated, unchanged and rejected (with reasons); 422 when anything was rejected.
    """
    check_writes(shared.settings, authorization)
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    report: IngestReport
    if kind == "application/json":
        paths = await _from_json(request)
        report = await run_in_worker(ingest_paths, shared, paths)
    elif kind == "multipart/form-data":
        uploads, hub_id = await _from_form(request)
        report = await run_in_worker(ingest_uploads, shared, uploads, hub_id)
        if report.rejected:  # one model, refused: an error, not a report
            reason = report.rejected[0][1]
            raise HttpError(422, "rejected_model", reason, field="files",
                            hint="upload the files of one model folder: its config.json, "
                            "README.md (model card), tokenizer files...")  # fmt: skip
    else:
        raise HttpError(415, "unsupported_media_type", f"cannot ingest a `{kind or 'bodiless'}` "
                        "request", hint="send application/json or multipart/form-data")  # fmt: skip
    if report.rejected:
        response.status_code = 422
    return ingest_report(report)
