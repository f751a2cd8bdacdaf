"""A client of a ModelKG server's background tasks (`/api/v1/tasks`), for `modelkg tasks` and
for scripts: start a task, read it, list, cancel, and follow one until it ends.

The server's JSON errors become ModelKG errors here, once, with the server's message, field
and hint, so the CLI prints them as it prints its own. Only the URL the user gives is
contacted (the server never fetches one).

>>> TaskClient("http://127.0.0.1:1").url("tasks/abc")
'http://127.0.0.1:1/api/v1/tasks/abc'
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from typing import Any, Self

import httpx

from kg.errors import InputError, ModelKGError, NotFoundError, UsageError
from kg.tasks.vocabulary import statuses

__all__ = ["TERMINAL", "TaskClient", "TaskServerError"]

TERMINAL = frozenset(code for code, status in statuses().items() if status.terminal)
"""The statuses a task ends in (`ontology/background_tasks.ttl`)."""


class TaskServerError(ModelKGError):
    """The server could not be reached, or answered with a server error."""


class TaskClient:
    """The task endpoints of the server at `server` (its base URL)."""

    def __init__(self, server: str, token: str | None = None, *, timeout: float = 30.0) -> None:
        self.server = server.rstrip("/")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.Client(headers=headers, timeout=timeout)

    def url(self, path: str) -> str:
        return f"{self.server}/api/v1/{path}"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, method: str, path: str, **options: Any) -> dict[str, Any]:
        try:
            response = self._http.request(method, self.url(path), **options)
        except httpx.HTTPError as exc:
            raise TaskServerError(
                f"cannot reach {self.server}: {exc}",
                hint="is `modelkg serve` running there? pass its address with --server",
            ) from exc
        try:
            body: dict[str, Any] = response.json()
        except ValueError:
            body = {}
        if response.status_code < 400:
            return body
        error = body.get("error") or {}
        message = str(error.get("message") or f"HTTP {response.status_code}")
        where = {"field": error.get("field"), "hint": error.get("hint")}
        if response.status_code == 404:
            raise NotFoundError(message, **where)
        if error.get("code") in ("token_required", "bad_token"):
            raise UsageError(message, **where)  # the command's --token
        if response.status_code < 500:
            raise InputError(message, **where)
        raise TaskServerError(f"the server failed: {message}", hint=where["hint"])

    def start(self, operation: str, arguments: Mapping[str, Any]) -> dict[str, Any]:
        """Start a task; the task as the server recorded it (queued)."""
        body = {"operation": operation, "arguments": dict(arguments)}
        return self._call("POST", "tasks", json=body)

    def get(self, task_id: str) -> dict[str, Any]:
        return self._call("GET", f"tasks/{task_id}")

    def list(
        self, *, status: str | None = None, operation: str | None = None, first: int = 50
    ) -> dict[str, Any]:
        params = {k: v for k, v in {"status": status, "operation": operation}.items() if v}
        return self._call("GET", "tasks", params={**params, "first": first})

    def cancel(self, task_id: str) -> dict[str, Any]:
        return self._call("POST", f"tasks/{task_id}/cancel")

    def follow(self, task_id: str, *, every: float = 0.5) -> Iterator[dict[str, Any]]:
        """The task, read every `every` seconds, until (and including) the read where it has
        ended."""
        while True:
            task = self.get(task_id)
            yield task
            if task["status"] in TERMINAL:
                return
            time.sleep(every)
