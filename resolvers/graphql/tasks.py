"""Background tasks in GraphQL: `task(id:)` and `tasks(...)` (a connection, newest first) as
queries, `startTask(operation:, arguments:)` and `cancelTask(id:)` as mutations (bearer token).

The same tasks, checks and answers as REST's `/api/v1/tasks` (`resolvers.rest.tasks`): a task
started here is polled there and the other way round. Named `BackgroundTask`, because `Task`
is a model's HuggingFace task in this schema.
"""

# Strawberry reads annotations at schema build: no `from __future__ import annotations` here.

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, cast

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from kg.tasks import TaskRecord, TaskRunner, is_task_id, statuses
from resolvers.errors import HttpError
from resolvers.graphql.context import GraphQLContext
from resolvers.rest.tasks import NO_STORE, page_of, start_arguments
from resolvers.threads import run_in_worker

if TYPE_CHECKING:
    from resolvers.graphql.schema import PageInfo

__all__ = ["BackgroundTask", "TaskMutation", "TaskQuery"]


@strawberry.type(description="How far a task got.")
class TaskProgress:
    done: int
    total: int | None = strawberry.field(description="Null while the operation does not know.")
    message: str


@strawberry.type(description="Why a task failed, was cancelled or was interrupted.")
class TaskError:
    message: str
    kind: str = strawberry.field(description="The error's class, or cancelled / interrupted.")
    hint: str | None


@strawberry.type(description="The server process that runs (or ran) a task.")
class TaskRunnerProcess:
    host: str
    pid: int


def _moment(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    return datetime.fromtimestamp(seconds, UTC).isoformat().replace("+00:00", "Z")


@strawberry.type(
    description="A long operation started over HTTP (ingest, reason, index-rebuild, migrate, "
    "codegen), followed by its id."
)
class BackgroundTask:
    id: strawberry.ID
    operation: str
    arguments: JSON
    status: str = strawberry.field(
        description="queued, running, succeeded, failed, cancelled or interrupted."
    )
    progress: TaskProgress
    created_at: str = strawberry.field(description="ISO 8601, UTC.")
    started_at: str | None
    finished_at: str | None
    result: JSON | None = strawberry.field(description="What a succeeded task did.")
    error: TaskError | None
    cancel_requested: bool
    runner: TaskRunnerProcess

    @classmethod
    def of(cls, record: TaskRecord) -> "BackgroundTask":
        error = record.error
        return cls(
            id=strawberry.ID(record.id),
            operation=record.operation,
            arguments=cast(JSON, record.arguments),
            status=record.status,
            progress=TaskProgress(
                done=record.progress.done,
                total=record.progress.total,
                message=record.progress.message,
            ),
            created_at=_moment(record.created) or "",
            started_at=_moment(record.started),
            finished_at=_moment(record.finished),
            result=cast(JSON, record.result),
            error=TaskError(message=error.message, kind=error.kind, hint=error.hint)
            if error
            else None,
            cancel_requested=record.cancel_requested,
            runner=TaskRunnerProcess(host=record.owner.host, pid=record.owner.pid),
        )


@strawberry.type
class BackgroundTaskEdge:
    cursor: str
    node: BackgroundTask


@strawberry.type(description="A page of background tasks, newest first (Relay connection).")
class BackgroundTaskConnection:
    total_count: int
    edges: list[BackgroundTaskEdge]
    page_info: Annotated["PageInfo", strawberry.lazy("resolvers.graphql.schema")]


def _context(info: Info) -> GraphQLContext:
    context = info.context
    assert isinstance(context, GraphQLContext)
    return context


def _runner(info: Info) -> TaskRunner:
    context = _context(info)
    request = context.request
    assert request is not None
    if context.response is not None:  # never from the response cache: progress moves
        context.response.headers["Cache-Control"] = NO_STORE
    runner: TaskRunner = request.app.state.tasks
    return runner


def _writer(info: Info) -> GraphQLContext:
    return _context(info).writable()


@strawberry.type
class TaskQuery:
    @strawberry.field(description="A background task by id; null when there is none.")
    async def task(self, info: Info, id: strawberry.ID) -> BackgroundTask | None:
        if not is_task_id(str(id)):
            return None
        record = await run_in_worker(_runner(info).book.find, str(id))
        return None if record is None else BackgroundTask.of(record)

    @strawberry.field(
        description="Background tasks, newest first, optionally by status or operation."
    )
    async def tasks(
        self,
        info: Info,
        status: str | None = None,
        operation: str | None = None,
        first: int = 50,
        after: str | None = None,
    ) -> BackgroundTaskConnection:
        from resolvers.graphql.schema import PageInfo

        if status is not None and status not in statuses():
            raise HttpError(
                400,
                "bad_parameter",
                f"no status `{status}`",
                field="status",
                hint="one of " + ", ".join(statuses()),
            )
        if not 1 <= first <= 500:
            raise HttpError(400, "bad_parameter", "`first` must be 1 to 500", field="first")
        records = await run_in_worker(
            _runner(info).book.tasks,
            status=status,  # type: ignore[arg-type]  # checked against the ontology above
            operation=operation,
        )
        page, more = page_of(records, first, after)
        return BackgroundTaskConnection(
            total_count=len(records),
            edges=[BackgroundTaskEdge(cursor=r.id, node=BackgroundTask.of(r)) for r in page],
            page_info=PageInfo(
                has_next_page=more,
                has_previous_page=after is not None,
                start_cursor=page[0].id if page else None,
                end_cursor=page[-1].id if page else None,
            ),
        )


@strawberry.type
class TaskMutation:
    @strawberry.mutation(
        description="Start a background task (bearer token needed) and return it at once: "
        'ingest ({"paths": [...]} under the server\'s --ingest-root), reason ({"full": true}), '
        'index-rebuild, migrate ({"target": a store named by the server\'s --migrate-to}), or '
        'codegen ({"models": [...]}: one UDF package, zipped at '
        "/api/v1/tasks/{id}/package). Poll `task(id:)` for its progress and result."
    )
    async def start_task(
        self, info: Info, operation: str, arguments: JSON | None = None
    ) -> BackgroundTask:
        context = _writer(info)
        given: dict[str, Any] = arguments if isinstance(arguments, dict) else {}
        if arguments is not None and not isinstance(arguments, dict):
            raise HttpError(
                400, "bad_parameter", "`arguments` must be an object", field="arguments"
            )
        checked = start_arguments(operation, given, context.settings)
        record = await run_in_worker(_runner(info).submit, operation, checked)
        return BackgroundTask.of(record)

    @strawberry.mutation(
        description="Cancel a background task (bearer token needed): a queued one ends at "
        "once, a running one within about a second. An error when it has already ended."
    )
    async def cancel_task(self, info: Info, id: strawberry.ID) -> BackgroundTask:
        _writer(info)
        if not is_task_id(str(id)):
            raise HttpError(404, "not_found", f"no task `{str(id)[:64]}`", field="id")
        record = await run_in_worker(_runner(info).book.cancel, str(id))
        return BackgroundTask.of(record)
