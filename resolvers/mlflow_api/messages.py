"""MLflow's wire format: requests read into MLflow's own protobuf messages, answers written from
them, and every refusal in MLflow's error body `{"error_code": ..., "message": ...}`.

MLflow's client sends a GET's fields as query parameters (a repeated field as the parameter
repeated) and every other method's as a JSON body; it reads an error's `error_code` from the
body, so that is what a refusal must carry, whatever refused it: the lifecycle core (a
`LifecycleError`, whose `error_code` is MLflow's name), one of MLflow's own validators (an
`MlflowException`), the token check or a malformed body. Parsing with MLflow's messages and
`json_format` keeps the shapes MLflow's, field for field, instead of copied by hand.

>>> from mlflow.protos.service_pb2 import LogMetric
>>> message = parse({"run_id": "abc", "key": "acc", "value": "NaN", "timestamp": 1}, LogMetric())
>>> message.key, message.value != message.value
('acc', True)
>>> parse({"value": float("-inf")}, LogMetric()).value
-inf
>>> parse({"value": "high"}, LogMetric())
Traceback (most recent call last):
...
mlflow.exceptions.MlflowException: Invalid value for the request's fields: ...
>>> error_status("INVALID_STATE"), error_status("RESOURCE_DOES_NOT_EXIST")
(400, 404)
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Coroutine
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Header, Request
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from google.protobuf import descriptor  # type: ignore[import-untyped]
from google.protobuf.json_format import ParseDict, ParseError  # type: ignore[import-untyped]
from mlflow.exceptions import ERROR_CODE_TO_HTTP_STATUS, HTTP_STATUS_TO_ERROR_CODE, MlflowException
from mlflow.protos.databricks_pb2 import BAD_REQUEST, INVALID_PARAMETER_VALUE

from kg.errors import LifecycleError, ModelKGError
from resolvers.errors import HttpError, from_modelkg_error
from resolvers.mlflow_api.proto_json import is_map, json_bytes, message_json
from resolvers.services import services
from resolvers.update import check_writes

__all__ = [
    "WRITE",
    "MlflowRoute",
    "answer",
    "answer_json",
    "error_response",
    "error_status",
    "page_size",
    "parse",
    "read",
    "require",
]

M = TypeVar("M")


def parse(body: object, message: M) -> M:
    """`body` (decoded JSON) into `message`, MLflow's way: unknown fields ignored, NaN and
    Infinity accepted as JSON literals or strings; a wrong type is INVALID_PARAMETER_VALUE."""
    if not isinstance(body, dict):
        raise MlflowException(
            f"The request body must be a JSON object, got {type(body).__name__}",
            error_code=BAD_REQUEST,
        )
    fields = _plain_fields(body, message.DESCRIPTOR)  # type: ignore[attr-defined]
    if fields is not None:  # the common case, read in one pass (`_plain_fields`)
        try:
            read = type(message)(**fields)
        except (TypeError, ValueError):  # out of an integer's range, a lone surrogate, ...
            pass  # json_format words the refusal
        else:
            message.MergeFrom(read)  # type: ignore[attr-defined]
            return message
    try:
        ParseDict(_spelled(body), message, ignore_unknown_fields=True)
    except (ParseError, TypeError, ValueError) as exc:
        raise MlflowException(
            f"Invalid value for the request's fields: {exc}", error_code=INVALID_PARAMETER_VALUE
        ) from None
    _check_enums(body, message.DESCRIPTOR)  # type: ignore[attr-defined]
    return message


_FIELD = descriptor.FieldDescriptor
_INTEGERS = (
    _FIELD.CPPTYPE_INT32,
    _FIELD.CPPTYPE_INT64,
    _FIELD.CPPTYPE_UINT32,
    _FIELD.CPPTYPE_UINT64,
)
_FLOATS = (_FIELD.CPPTYPE_DOUBLE, _FIELD.CPPTYPE_FLOAT)
_SPECIAL_FLOATS = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


class _NotPlainError(Exception):
    """A body `_plain_fields` leaves to `json_format` (which also words any error)."""


def _plain_fields(body: dict[str, Any], kind: Any) -> dict[str, Any] | None:
    """The constructor arguments of `kind` for a body whose every field is spelled plainly
    (strings as strings, integers as integers, numbers or NaN and the infinities, known enum
    names, nested objects and lists of them), else None. A 1,000-metric `log_batch` read this
    way takes ~2 ms instead of ~30 through `json_format`; anything else (a number written as
    a string, a map, a null, a wrong type) goes through `json_format` and `_check_enums` as
    before, so what is accepted and every refusal stay theirs.
    tests/resolvers/test_mlflow_api.py compares both readings."""
    try:
        return _plain(body, kind)
    except _NotPlainError:
        return None


def _plain(body: dict[str, Any], kind: Any) -> dict[str, Any]:
    found: dict[str, Any] = {}
    by_name = kind.fields_by_name
    for name, value in body.items():
        field = by_name.get(name)
        if field is None:
            raise _NotPlainError  # a camelCase name, or one to ignore: json_format decides
        if field.is_repeated:
            if not isinstance(value, list) or is_map(field):
                raise _NotPlainError
            found[name] = [_plain_value(field, item) for item in value]
        else:
            found[name] = _plain_value(field, value)
    return found


def _plain_value(field: Any, value: object) -> object:
    kind = field.cpp_type
    not_bool = not isinstance(value, bool)  # a bool is an int to Python, never to JSON
    if field.type == _FIELD.TYPE_STRING and isinstance(value, str):
        return value
    if kind in _FLOATS and not_bool and isinstance(value, int | float):
        return float(value)
    if kind in _FLOATS and isinstance(value, str) and value in _SPECIAL_FLOATS:
        return _SPECIAL_FLOATS[value]
    if kind in _INTEGERS and not_bool and isinstance(value, int):
        return value
    if kind == _FIELD.CPPTYPE_BOOL and isinstance(value, bool):
        return value
    if kind == _FIELD.CPPTYPE_ENUM and isinstance(value, str):
        named = field.enum_type.values_by_name.get(value)
        if named is not None:
            return named.number
    if kind == _FIELD.CPPTYPE_MESSAGE and isinstance(value, dict):
        return _plain(value, field.message_type)
    raise _NotPlainError


def _check_enums(body: dict[str, Any], kind: Any, where: str = "") -> None:
    """Refuse a value an enum field does not have (`"status": "EXPLODED"`): with unknown
    fields ignored, `json_format` drops it silently, and the request would do something other
    than what was asked (a run left RUNNING)."""
    for field in kind.fields:
        value = body.get(field.name, body.get(field.json_name))
        if value is None:
            continue
        path = f"{where}{field.name}"
        values = value if isinstance(value, list) else [value]
        if field.enum_type is not None:
            names = field.enum_type.values_by_name
            numbers = field.enum_type.values_by_number
            for item in values:
                if item not in names and item not in numbers:
                    raise MlflowException(
                        f"Invalid value {item!r} for parameter '{path}': expected one of "
                        + ", ".join(names),
                        error_code=INVALID_PARAMETER_VALUE,
                    )
        elif field.message_type is not None and not is_map(field):
            for index, item in enumerate(values):
                if isinstance(item, dict):
                    inner = f"{path}[{index}]." if isinstance(value, list) else f"{path}."
                    _check_enums(item, field.message_type, inner)


def _spelled(value: object) -> object:
    """`value` with NaN and the infinities as protobuf's JSON spells them ("NaN", "Infinity",
    "-Infinity"): `json_format` takes only the strings, MLflow's clients send either."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {key: _spelled(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_spelled(item) for item in value]
    return value


def _query(request: Request, message: Any) -> dict[str, object]:
    """A GET's query parameters as the JSON MLflow's client meant: repeated fields as lists,
    `True`/`False` (Python's spelling, which `requests` sends) as booleans."""
    body: dict[str, object] = {}
    for field in message.DESCRIPTOR.fields:
        if field.name not in request.query_params:
            continue
        if field.is_repeated:
            body[field.name] = request.query_params.getlist(field.name)
            continue
        value: object = request.query_params[field.name]
        if field.type == descriptor.FieldDescriptor.TYPE_BOOL:
            if str(value).lower() not in ("true", "false"):
                raise MlflowException(
                    f"Invalid boolean value: {value}, must be 'true' or 'false'.",
                    error_code=INVALID_PARAMETER_VALUE,
                )
            value = str(value).lower() == "true"
        body[field.name] = value
    return body


async def read(request: Request, message: M) -> M:
    """The request's fields in `message`: from the query string of a GET, else from the JSON
    body (an empty body is an empty message, as on MLflow's server)."""
    if request.method == "GET":
        return parse(_query(request, message), message)
    raw = await request.body()
    if not raw.strip():
        return message
    try:
        body = json.loads(raw)  # Python's json reads NaN and Infinity, as MLflow's client sends
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MlflowException(
            f"The request body is not JSON: {exc}", error_code=BAD_REQUEST
        ) from None
    return parse(body, message)


def require(message: Any, *names: str, within: str = "") -> None:
    """Refuse a message missing a required field (an empty string counts as missing), with
    MLflow's server's words; `within` names where the message sits (`metrics[3].`)."""
    for name in names:
        value = getattr(message, name)
        present = value != "" if isinstance(value, str) else message.HasField(name)
        if not present:
            raise MlflowException(
                f"Missing value for required parameter '{within}{name}'. See the API docs for "
                "more information about request parameters.",
                error_code=INVALID_PARAMETER_VALUE,
            )


def page_size(message: Any, *, default: int, limit: int) -> int:
    """A search's `max_results`: MLflow's default when the client sends none, else 1 to
    `limit` (0 would answer empty pages that each point back at the same offset)."""
    if not message.HasField("max_results"):
        return default
    size = int(message.max_results)
    if not 1 <= size <= limit:
        raise MlflowException(
            f"Invalid value {size} for parameter 'max_results' supplied. It must be at most "
            f"{limit}, and at least 1",
            error_code=INVALID_PARAMETER_VALUE,
        )
    return size


def answer_json(found: dict[str, Any]) -> Response:
    """An answer put together from parts already written as JSON (`entities.run_json`)."""
    return Response(json_bytes(found), media_type="application/json")


def answer(message: Any) -> Response:
    """`message` as MLflow's server writes it (snake_case names, int64 as JSON numbers; the
    same JSON as MLflow's `message_to_json`, written faster: `proto_json`)."""
    return Response(message_json(message), media_type="application/json")


def error_status(error_code: str) -> int:
    """The HTTP status for an MLflow error code. MLflow answers INVALID_STATE (a run that has
    ended, a version that may not be promoted) with 500, which its client retries for
    minutes as if the server had failed; a refused request is the caller's to fix, so it is
    400 here (the client raises the same `MlflowException`: it reads the code from the body)."""
    status = ERROR_CODE_TO_HTTP_STATUS.get(error_code, 500)
    return 400 if error_code == "INVALID_STATE" else status


def error_response(error_code: str, message: str, *, status: int | None = None) -> JSONResponse:
    """MLflow's error body."""
    return JSONResponse(
        {"error_code": error_code, "message": message},
        status_code=error_status(error_code) if status is None else status,
    )


def _lifecycle(exc: LifecycleError) -> JSONResponse:
    extra = "; ".join(
        p for p in (f"expected {exc.expected}" if exc.expected else "", exc.hint) if p
    )
    return error_response(exc.error_code, exc.message + (f" ({extra})" if extra else ""))


def _http(exc: HttpError) -> JSONResponse:
    code = HTTP_STATUS_TO_ERROR_CODE.get(exc.status, "INTERNAL_ERROR")
    if exc.status == 404:
        code = "RESOURCE_DOES_NOT_EXIST"
    message = exc.message + (f" ({exc.hint})" if exc.hint else "")
    return error_response(code, message, status=exc.status)


class MlflowRoute(APIRoute):
    """A route whose every refusal is MLflow's error body (the app's own handlers would answer
    ModelKG's shape, which MLflow's client cannot read)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def answered(request: Request) -> Response:
            try:
                return await handler(request)
            except LifecycleError as exc:
                return _lifecycle(exc)
            except MlflowException as exc:
                return error_response(exc.error_code, exc.message)
            except HttpError as exc:
                return _http(exc)
            except ModelKGError as exc:
                return _http(from_modelkg_error(exc))

        return answered


def _writer(request: Request, authorization: Annotated[str | None, Header()] = None) -> None:
    """Writes need the operator's bearer token, as every write of the app does; checked before
    the body is read, so a refused request costs nothing and writes nothing."""
    check_writes(services(request).settings, authorization)


WRITE = [Depends(_writer)]
"""The dependencies of a route that changes data."""
