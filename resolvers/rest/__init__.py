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

from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from kg import __version__
from resolvers.errors import error_response
from resolvers.rest import compat, ingest, lifecycle, models, search, tasks, tools
from resolvers.rest.context import CountedRoute
from resolvers.rest.docs import install_docs
from resolvers.rest.patterns import said
from resolvers.rest.schemas import ApiVersion

__all__ = ["allowed_methods", "install_docs", "install_error_handlers", "router"]

router = APIRouter(prefix="/api/v1", route_class=CountedRoute)
# compat first: its `/models/{id}/consumers` etc. must be tried before the plain model read
router.include_router(compat.router)
router.include_router(tools.router)  # `/models/{id}/interface` and `/tools`: before the read too
router.include_router(models.router)
router.include_router(ingest.router)
router.include_router(search.router)
router.include_router(lifecycle.router)
router.include_router(tasks.router)


@router.get("/version", response_model=ApiVersion, tags=["meta"], summary="The API's version")
async def version() -> ApiVersion:
    """The ModelKG version serving the API, and the REST API's own version (`v1`)."""
    return ApiVersion(version=__version__, api="v1")


_STATUS_CODES = {404: "not_found", 405: "method_not_allowed", 406: "not_acceptable"}


def _most_telling(errors: Sequence[Any]) -> Any:
    """The error to report: for a field that takes one of several types (`"text": "..."` or a
    list), pydantic reports each branch; a branch's type mismatch says less than the other
    branch's constraint (`text: []`: "at least 1 item", not "should be a valid string")."""
    for error in errors:
        if not str(error.get("type", "")).endswith("_type"):
            return error
    return errors[0] if errors else {"loc": (), "msg": "invalid request"}


def _where(location: Sequence[object]) -> str | None:
    """`body.text.constrained-str` -> `text`; `query.model_type.0` -> `model_type[0]`: the
    field as the client wrote it, without pydantic's union branch names."""
    parts = []
    for part in location[1:]:
        if isinstance(part, int):
            parts.append(f"[{part}]")
        elif "[" not in str(part) and str(part) not in _BRANCHES:
            parts.append(f".{part}")
    return "".join(parts).lstrip(".") or (str(location[0]) if location else None)


_BRANCHES = frozenset({"constrained-str", "str", "int", "float", "bool", "list", "dict"})
"""Names pydantic gives the branches of a union in an error's location."""


async def _invalid_request(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    first = _most_telling(exc.errors())
    location = list(first.get("loc", ()))
    field = "body" if first.get("type") == "json_invalid" else _where(location)
    where = location[0] if location else "request"
    return error_response(
        400,
        "bad_parameter",
        said(field, first),
        field=field,
        hint=f"check the {where} parameter against the API description at /docs",
    )


_METHODS = ("DELETE", "GET", "HEAD", "PATCH", "POST", "PUT")


def allowed_methods(request: Request) -> list[str]:
    """Every method some route of the app takes at the request's path (Starlette's 405 names
    only the first route that matched the path: `Allow: GET` for `/sparql`, which takes POST
    too), found by asking the routes whether they would take the request with each method;
    OPTIONS always."""
    methods = {"OPTIONS"}
    for method in _METHODS:
        scope = {**request.scope, "method": method}
        if any(route.matches(scope)[0] is Match.FULL for route in request.app.router.routes):
            methods.add(method)
    return sorted(methods)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 405:
        allow = ", ".join(allowed_methods(request))
        if request.method == "OPTIONS":  # what may I do here? (RFC 9110, 9.3.7)
            return Response(status_code=204, headers={"Allow": allow})
        response = error_response(
            405,
            "method_not_allowed",
            f"{request.url.path} does not take {request.method}",
            hint=f"this path takes {allow}",
        )
        response.headers["Allow"] = allow
        return response
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
