"""Run `kg` code in a worker thread so that what it leaves behind dies in that thread.

pyoxigraph's query results (`QuerySolutions`, `QueryTriples`) may only be dropped by the thread
that made them: dropped on another, they panic ("is unsendable, but is being dropped on another
thread") and are leaked, and a leaked result keeps its store open. When a `kg` call fails while
iterating results (a `NotFoundError` for a run id, raised in the middle of a look-up), its
traceback holds the frames that hold the results; the error travels to the event loop, whose
exception handler drops it there. Over the shared store that was the writer's live store: it
never closed again, and every later write answered 503 "was writing it".

`run_in_worker` is `run_in_threadpool` that, when the call fails, clears the locals of the
failed frames (and of the errors it was raised from) before the error leaves the thread.

>>> import asyncio
>>> def fails() -> None:
...     held = object()  # stands for a query result
...     raise KeyError("no such run")
>>> try:
...     asyncio.run(run_in_worker(fails))
... except KeyError as exc:
...     frames = traceback.walk_tb(exc.__traceback__)
...     print(all("held" not in frame.f_locals for frame, _ in frames))
True
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from fastapi.concurrency import run_in_threadpool

__all__ = ["run_in_worker"]

P = ParamSpec("P")
T = TypeVar("T")


def _clear(error: BaseException, seen: set[int]) -> None:
    """Clear the finished frames of `error`'s traceback, its causes' and its group's."""
    if id(error) in seen:
        return
    seen.add(id(error))
    traceback.clear_frames(error.__traceback__)
    for linked in (error.__cause__, error.__context__):
        if linked is not None:
            _clear(linked, seen)
    for member in getattr(error, "exceptions", ()):
        if isinstance(member, BaseException):
            _clear(member, seen)


def _clearing(func: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    try:
        return func(*args, **kwargs)
    except BaseException as exc:
        _clear(exc, set())
        raise


async def run_in_worker(func: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """`func(*args, **kwargs)` in a worker thread; on failure, its frames cleared there."""
    return await run_in_threadpool(_clearing, func, *args, **kwargs)  # type: ignore[arg-type]
