"""The REST API at `/api/v1`: models, compatibility, ingest, version; OpenAPI at `/docs`.

A thin layer over `kg`, like the GraphQL API beside it, and answering with the same data
under the same (camelCase) names. Every error, FastAPI's own included, comes out in the one
shape `{"error": {"code", "message", "field", "hint"}}`: `install_error_handlers` turns a
request that fails validation (`?first=abc`) into a 400 `bad_parameter` naming the parameter,
and a missing route into a 404 `not_found`.

>>> from fastapi.testclient import TestClient
>>> app = FastAPI()
>>> install_error_handlers(app)
>>> @app.get("/page")
... def page(first: int) -> int:
...     return first
>>> TestClient(app).get("/page?first=abc").json()["error"]["field"]
'first'
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from kg import __version__
from resolvers.errors import error_response
from resolvers.rest import compat, ingest, lifecycle, models, search, tools
from resolvers.rest.context import CountedRoute
from resolvers.rest.docs import install_docs
from resolvers.rest.schemas import ApiVersion

__all__ = ["install_docs", "install_error_handlers", "router"]

router = APIRouter(prefix="/api/v1", route_class=CountedRoute)
# compat first: its `/models/{id}/consumers` etc. must be tried before the plain model read
router.include_router(compat.router)
router.include_router(tools.router)  # `/models/{id}/interface` and `/tools`: before the read too
router.include_router(models.router)
router.include_router(ingest.router)
router.include_router(search.router)
router.include_router(lifecycle.router)


@router.get("/version", response_model=ApiVersion, tags=["meta"], summary="The API's version")
async def version() -> ApiVersion:
    """The ModelKG version serving the API, and the REST API's own version (`v1`)."""
    return ApiVersion(version=__version__, api="v1")


_STATUS_CODES = {404: "not_found", 405: "method_not_allowed", 406: "not_acceptable"}


async def _invalid_request(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
    location = [str(part) for part in first.get("loc", ())]
    field = ".".join(location[1:]) or (location[0] if location else None)
    where = location[0] if location else "request"
    return error_response(
        400,
        "bad_parameter",
        f"`{field}`: {first.get('msg', 'invalid')}" if field else str(first.get("msg")),
        field=field,
        hint=f"check the {where} parameter against the API description at /docs",
    )


async def _http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _STATUS_CODES.get(exc.status_code, "http_error")
    response = error_response(exc.status_code, code, str(exc.detail), hint="see /docs")
    for name, value in (exc.headers or {}).items():
        response.headers[name] = value
    return response


def install_error_handlers(app: FastAPI) -> None:
    """Answer FastAPI's validation errors (400) and routing errors (404, 405) in the JSON
    error shape, so no endpoint answers `{"detail": ...}`."""
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(StarletteHTTPException, _http_error)
