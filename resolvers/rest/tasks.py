"""Background tasks in REST, under `/api/v1/tasks`: start a long operation and get its id at
once (202, with `Location`), then read its status, progress and result, list tasks, cancel one.

Starting and cancelling need the bearer token, as every write does; reads are open. The
arguments of each operation are checked here, before anything is recorded (a refused start
leaves no trace): pydantic models per operation, and for an ingest, paths only under the
operator's `--ingest-root` (`resolvers.ingest.check_roots`; the server never fetches a URL).
The GraphQL fields (`resolvers.graphql.tasks`) call the same checks and answer the same shape.

>>> start_arguments("reason", {"full": False}, None)
{'full': False}
>>> start_arguments("reason", {"fast": True}, None)
Traceback (most recent call last):
...
resolvers.errors.HttpError: `arguments.fast`: Extra inputs are not permitted
"""

from __future__ import annotations

import io
import logging
import time
import zipfile
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, Response
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from kg.errors import CodegenError
from kg.tasks import (
    OPERATIONS,
    Operation,
    OperationContext,
    Reporter,
    TaskBook,
    TaskRecord,
    TaskRunner,
    is_task_id,
    operations,
)
from kg.tasks.vocabulary import TaskStatus
from resolvers.errors import HttpError
from resolvers.ingest import check_roots
from resolvers.rest.context import CountedRoute, ServicesDep
from resolvers.rest.schemas import ErrorResponse, PageInfo, _Shape
from resolvers.services import Services, services
from resolvers.settings import TARGET_NAME, ServerSettings
from resolvers.threads import run_in_worker
from resolvers.update import check_writes

__all__ = [
    "ARGUMENTS",
    "NO_STORE",
    "SERVER_OPERATIONS",
    "TaskOut",
    "TaskPage",
    "router",
    "runner_of",
    "start_arguments",
    "start_runner",
    "task_out",
]

router = APIRouter(tags=["tasks"], route_class=CountedRoute)
log = logging.getLogger("modelkg.tasks")

NO_STORE = "no-store"
"""Reads of tasks are never cached (`resolvers.response_cache` keys on the store's generation,
and progress moves in the live state beside the store, without a store write)."""
Token = Annotated[str | None, Header(alias="Authorization", description="`Bearer <token>`")]


# -- what a client sends ----------------------------------------------------------------------
def _plain_text(text: str) -> str:
    """Text a file system and the store take: UTF-8, without NUL."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("holds a character that is not valid Unicode (a lone surrogate)") from None
    if "\x00" in text:
        raise ValueError("holds a NUL character")
    return text


Text = Annotated[str, Field(min_length=1, max_length=4096), AfterValidator(_plain_text)]


class _Arguments(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class IngestArguments(_Arguments):
    paths: list[Text] = Field(
        min_length=1,
        max_length=10_000,
        description="Folders (or files) on the server, under its --ingest-root.",
    )
    strict: bool = Field(False, description="All or nothing: any rejection writes nothing.")


class ReasonArguments(_Arguments):
    full: bool = Field(True, description="Re-derive every model, not only the stale ones.")


class IndexRebuildArguments(_Arguments):
    pass


class CodegenArguments(_Arguments):
    models: list[Text] = Field(
        min_length=1, max_length=10_000, description="Hub ids, names or IRIs of the models."
    )
    name: str | None = Field(
        None, pattern=r"^[a-z_][a-z0-9_]{0,99}$", description="The package's import name."
    )


class MigrateArguments(_Arguments):
    target: str = Field(
        pattern=f"^{TARGET_NAME.pattern}$",
        description="The name of a store the operator offered (`--migrate-to NAME=STORE`).",
    )
    replace: bool = Field(False, description="Empty the target first if it holds data.")


ARGUMENTS: Mapping[str, type[_Arguments]] = {
    "ingest": IngestArguments,
    "reason": ReasonArguments,
    "index-rebuild": IndexRebuildArguments,
    "migrate": MigrateArguments,
    "codegen": CodegenArguments,
}
"""The arguments each operation of `ontology/background_tasks.ttl` takes (a test keeps the
keys equal to the ontology's operations)."""


class TaskIn(_Shape):
    operation: str = Field(
        min_length=1,
        max_length=100,
        description="ingest, reason, index-rebuild, migrate or codegen.",
    )
    arguments: dict[str, Any] = Field(
        default_factory=dict, description="The operation's arguments (see the examples)."
    )


_EXAMPLES = {
    "ingest": {
        "value": {
            "operation": "ingest",
            "arguments": {"paths": ["/srv/models/openai-community__gpt2"]},
        }
    },
    "reason": {"value": {"operation": "reason", "arguments": {"full": True}}},
    "index-rebuild": {"value": {"operation": "index-rebuild", "arguments": {}}},
    "migrate": {"value": {"operation": "migrate", "arguments": {"target": "backup"}}},
    "codegen": {
        "value": {
            "operation": "codegen",
            "arguments": {
                "models": ["openai-community/gpt2", "sentence-transformers/all-MiniLM-L6-v2"]
            },
        }
    },
}


def start_arguments(
    operation: str, arguments: Mapping[str, Any], settings: ServerSettings | None
) -> dict[str, Any]:
    """The checked arguments of a task to start (ingest paths resolved under the allowed
    roots); 400 naming the bad field, 403 for a path outside the roots."""
    model = ARGUMENTS.get(operation)
    if model is None or operation not in operations():
        raise HttpError(
            400,
            "unknown_operation",
            f"no operation `{operation}`",
            field="operation",
            hint="start one of: " + ", ".join(sorted(ARGUMENTS)),
        )
    try:
        checked = model.model_validate(dict(arguments)).model_dump()
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(["arguments", *(str(part) for part in first["loc"])])
        raise HttpError(
            400,
            "bad_parameter",
            f"`{field}`: {first['msg']}",
            field=field,
            hint=f"see the `{operation}` example at /docs",
        ) from None
    if operation == "ingest" and settings is not None:
        try:
            checked["paths"] = check_roots(checked["paths"], settings)
        except HttpError as exc:
            exc.field = "arguments.paths"
            raise
    if operation == "migrate" and settings is not None:
        offered = settings.migration_stores
        if checked["target"] not in offered:
            raise HttpError(
                400,
                "unknown_target",
                f"this server offers no migration target `{checked['target']}`",
                field="arguments.target",
                hint="name one of: " + ", ".join(sorted(offered))
                if offered
                else "the operator names targets with modelkg serve --migrate-to NAME=STORE",
            )
    return checked


# -- what the API answers ---------------------------------------------------------------------
class ProgressOut(_Shape):
    done: int
    total: int | None = Field(description="Null while the operation does not know it yet.")
    message: str


class ErrorOut(_Shape):
    message: str
    kind: str = Field(description="The error's class, or `cancelled` / `interrupted`.")
    hint: str | None


class RunnerOut(_Shape):
    host: str
    pid: int


class TaskOut(_Shape):
    id: str
    operation: str
    arguments: dict[str, Any]
    status: TaskStatus
    progress: ProgressOut
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    result: dict[str, Any] | None = Field(description="What a succeeded task did.")
    error: ErrorOut | None = Field(description="Why it failed, was cancelled or interrupted.")
    cancel_requested: bool
    runner: RunnerOut = Field(description="The server process that runs (or ran) the task.")


class TaskPage(_Shape):
    total_count: int
    tasks: list[TaskOut]
    page_info: PageInfo


def _moment(seconds: float | None) -> datetime | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC)


def task_out(record: TaskRecord) -> TaskOut:
    """The task as the API shows it."""
    return TaskOut(
        id=record.id,
        operation=record.operation,
        arguments=record.arguments,
        status=record.status,
        progress=ProgressOut(
            done=record.progress.done,
            total=record.progress.total,
            message=record.progress.message,
        ),
        created_at=datetime.fromtimestamp(record.created, UTC),
        started_at=_moment(record.started),
        finished_at=_moment(record.finished),
        result=record.result,
        error=ErrorOut(message=record.error.message, kind=record.error.kind, hint=record.error.hint)
        if record.error
        else None,
        cancel_requested=record.cancel_requested,
        runner=RunnerOut(host=record.owner.host, pid=record.owner.pid),
    )


def runner_of(request: Request) -> TaskRunner:
    """The app's task runner (started in its lifespan)."""
    runner: TaskRunner = request.app.state.tasks
    return runner


def page_of(
    records: list[TaskRecord], first: int, after: str | None
) -> tuple[list[TaskRecord], bool]:
    """The `first` tasks after the one whose id is `after`; and whether more follow."""
    start = 0
    if after is not None:
        ids = [record.id for record in records]
        if after not in ids:
            raise HttpError(
                400,
                "bad_parameter",
                f"`after`: no task `{after}` in this list",
                field="after",
                hint="pass the endCursor of the page before",
            )
        start = ids.index(after) + 1
    return records[start : start + first], start + first < len(records)


# -- the endpoints ----------------------------------------------------------------------------
_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorResponse, "description": "A bad parameter, named in `error.field`."},
    401: {"model": ErrorResponse, "description": "No bearer token."},
    403: {
        "model": ErrorResponse,
        "description": "Writes off, a wrong token, or a path outside the allowed roots.",
    },
}
_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorResponse, "description": "No task with this id."}
}


@router.post(
    "/tasks",
    status_code=202,
    response_model=TaskOut,
    summary="Start a background task (bearer token)",
    responses=_ERRORS,
    openapi_extra={"requestBody": {"content": {"application/json": {"examples": _EXAMPLES}}}},
)
async def start_task(
    body: TaskIn,
    request: Request,
    response: Response,
    shared: ServicesDep,
    authorization: Token = None,
) -> TaskOut:
    """Start a long operation and answer at once (202) with the task, its id, and
    `Location: /api/v1/tasks/{id}` to poll. Operations: `ingest` (`paths` on the server, under
    its `--ingest-root`; `strict`), `reason` (`full`), `index-rebuild`, `migrate` (`target`:
    a store the operator named with `--migrate-to`; `replace`), `codegen` (`models`, `name`:
    one UDF package, then `GET /api/v1/tasks/{id}/package`). The task runs on in the
    server whether or not the client stays."""
    runner = runner_of(request)
    check_writes(shared.settings, authorization)
    arguments = start_arguments(body.operation, body.arguments, shared.settings)
    record = await run_in_worker(runner.submit, body.operation, arguments)
    response.headers["Location"] = f"/api/v1/tasks/{record.id}"
    return task_out(record)


@router.get(
    "/tasks",
    response_model=TaskPage,
    summary="List background tasks, newest first",
    responses={400: _ERRORS[400]},
)
async def list_tasks(
    request: Request,
    response: Response,
    status: Annotated[TaskStatus | None, Query(description="Only tasks in this status.")] = None,
    operation: Annotated[
        str | None, Query(max_length=100, description="Only tasks of this operation.")
    ] = None,
    first: Annotated[int, Query(ge=1, le=500, description="Tasks per page.")] = 50,
    after: Annotated[
        str | None, Query(max_length=64, description="The endCursor of the page before.")
    ] = None,
) -> TaskPage:
    """Tasks of every status (queued, running, succeeded, failed, cancelled, interrupted),
    newest first, as recorded in the store and the live state beside it."""
    runner = runner_of(request)
    response.headers["Cache-Control"] = NO_STORE
    records = await run_in_worker(runner.book.tasks, status=status, operation=operation)
    page, more = page_of(records, first, after)
    return TaskPage(
        total_count=len(records),
        tasks=[task_out(record) for record in page],
        page_info=PageInfo(has_next_page=more, end_cursor=page[-1].id if page else None),
    )


def _known_id(task_id: str) -> str:
    if not is_task_id(task_id):
        raise HttpError(
            404,
            "not_found",
            f"no task `{task_id[:64]}`",
            field="id",
            hint="a task id is 32 hex digits; list the tasks at /api/v1/tasks",
        )
    return task_id


@router.get(
    "/tasks/{task_id}",
    response_model=TaskOut,
    responses=_NOT_FOUND,
    summary="A background task: status, progress, result or error",
)
async def get_task(task_id: str, request: Request, response: Response) -> TaskOut:
    """The task as it stands now; poll it until `status` is succeeded, failed, cancelled or
    interrupted (a task cut off by a server restart says `interrupted`, and how to start it
    again)."""
    runner = runner_of(request)
    response.headers["Cache-Control"] = NO_STORE
    record = await run_in_worker(runner.book.get, _known_id(task_id))
    return task_out(record)


_CANCEL_RESPONSES: dict[int | str, dict[str, Any]] = {
    **_ERRORS,
    **_NOT_FOUND,
    409: {"model": ErrorResponse, "description": "The task has already ended."},
}


@router.post(
    "/tasks/{task_id}/cancel",
    status_code=202,
    response_model=TaskOut,
    responses=_CANCEL_RESPONSES,
    summary="Cancel a background task (bearer token)",
)
@router.delete(
    "/tasks/{task_id}",
    status_code=202,
    response_model=TaskOut,
    responses=_CANCEL_RESPONSES,
    summary="Cancel a background task (bearer token)",
)
async def cancel_task(task_id: str, request: Request, authorization: Token = None) -> TaskOut:
    """Cancel the task: a queued one ends `cancelled` at once; a running one is asked to stop
    and ends `cancelled` within about a second (poll it). An ingest stops between chunks of
    sources: the models read before are written whole, the rest are not; starting the same
    ingest again goes on where it stopped. 409 when the task has already ended.
    `DELETE /api/v1/tasks/{id}` does the same."""
    runner = runner_of(request)
    check_writes(services(request).settings, authorization)
    record = await run_in_worker(runner.book.cancel, _known_id(task_id))
    return task_out(record)


PACKAGE = "package"
"""The folder, in a codegen task's workspace, that holds the generated package."""


def codegen_operation(
    context: OperationContext, arguments: Mapping[str, Any], reporter: Reporter
) -> dict[str, Any]:
    """One UDF package for many models (`codegen.udf.write_package`), written in the task's
    workspace beside the store; the models that cannot become code are listed with the reason
    (it fails only when none can)."""
    from codegen.interface import describe_each
    from codegen.udf import write_package

    models = list(arguments["models"])
    reporter.total(len(models))
    reporter.say("describing the models")
    described = describe_each(context.store, models)
    interfaces = [found for found in described if not isinstance(found, CodegenError)]
    skipped = [{"model": model, "reason": str(found)}
               for model, found in zip(models, described, strict=True)
               if isinstance(found, CodegenError)]  # fmt: skip
    if not interfaces:
        raise CodegenError("none of the models can become code: " + skipped[0]["reason"])
    reporter.advance(len(skipped))
    reporter.say("writing the package")
    package = write_package(
        interfaces,
        reporter.workspace() / PACKAGE,
        name=arguments.get("name"),
        force=True,
        progress=lambda _: reporter.advance(),
    )
    return {
        "package": package.name,
        "modules": list(package.modules),
        "exports": list(package.exports),
        "models": [found.iri for found in interfaces],
        "skipped": skipped,
        "download": f"/api/v1/tasks/{reporter.task_id}/package",
    }


SERVER_OPERATIONS: Mapping[str, Operation] = {**OPERATIONS, "codegen": codegen_operation}
"""Every operation of `ontology/background_tasks.ttl` the server runs, by code."""


@router.get(
    "/tasks/{task_id}/package",
    summary="The package a codegen task generated, as a zip",
    response_class=Response,
    responses={
        **_NOT_FOUND,
        200: {"content": {"application/zip": {}}, "description": "The package folder, zipped."},
    },
)
async def task_package(task_id: str, request: Request) -> Response:
    """The package a succeeded `codegen` task wrote, zipped (`pip install` it unzipped). 404
    when the task is not a codegen task, or has not succeeded."""
    runner = runner_of(request)
    record = await run_in_worker(runner.book.get, _known_id(task_id))
    folder = runner.book.live.folder / f"{record.id}.files" / PACKAGE
    if record.operation != "codegen" or record.status != "succeeded" or not folder.is_dir():
        raise HttpError(404, "not_found", f"task `{record.id}` has no package ({record.status})",
                        field="id", hint="a succeeded codegen task has one")  # fmt: skip
    data = await run_in_worker(_zipped, folder, str(record.result and record.result["package"]))
    return Response(data, media_type="application/zip", headers={
        "Content-Disposition": f'attachment; filename="{record.id}.zip"',
        "Cache-Control": NO_STORE})  # fmt: skip


def _zipped(folder: Path, name: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, Path(name) / path.relative_to(folder))
    return buffer.getvalue()


def start_runner(shared: Services) -> TaskRunner:
    """The app's task runner, started (its lifespan calls this): the tasks a stopped server
    left queued or running are marked interrupted first, and the tasks that ended longer ago
    than `--task-retention-days` are forgotten; an ingest keeps the server's search
    index in step as the ingest endpoint does."""
    book = TaskBook(shared.store)
    swept = book.sweep()
    if swept:
        log.warning("%d background task(s) cut off by a stop of the server: marked interrupted",
                    len(swept))  # fmt: skip
    days = shared.settings.task_retention_days
    if days > 0:
        forgotten = book.forget_ended(time.time() - days * 86_400)
        if forgotten:
            log.info("forgot %d background task(s) that ended over %g days ago "
                     "(--task-retention-days)", len(forgotten), days)  # fmt: skip
    context = OperationContext(
        shared.store,
        sync_index=shared.search.after_ingest,
        stores=shared.settings.migration_stores,
        ingest_roots=shared.settings.ingest_roots,
    )
    runner = TaskRunner(book, SERVER_OPERATIONS, context)
    runner.start()
    return runner
