"""Progress bars and polite interruption for long commands (ingest, reason, search, migrate).

Every long command shows the same bar on stderr: what it does, done of total, the rate, the
time so far and the time left. `stop_requested` turns the first Ctrl-C (or a SIGTERM) into a
request the work asks between chunks, so it ends at a clean point and says how to resume; a
second Ctrl-C stops at once (each write is atomic, so even then nothing is torn).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from kg.cli.common import err_console

__all__ = ["RateColumn", "progress_bar", "stop_requested"]


class RateColumn(ProgressColumn):
    """Items per second over the last seconds (rich's own speed estimate).

    >>> from rich.progress import Progress
    >>> with Progress(RateColumn(unit="models"), disable=True) as progress:
    ...     task = progress.add_task("x", total=10)
    ...     str(RateColumn(unit="models").render(progress.tasks[0]))
    '? models/s'
    """

    def __init__(self, unit: str) -> None:
        super().__init__()
        self.unit = unit

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        shown = "?" if speed is None else f"{speed:,.1f}" if speed < 10 else f"{speed:,.0f}"
        return Text(f"{shown} {self.unit}/s", style="progress.data.speed")


def progress_bar(*, unit: str = "items", disable: bool = False) -> Progress:
    """The bar every long command shows on stderr (cleared when done)."""
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        RateColumn(unit),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        console=err_console,
        transient=True,
        disable=disable,
    )


@contextmanager
def stop_requested() -> Iterator[Callable[[], bool]]:
    """Within the block, SIGINT and SIGTERM ask the work to stop (the yielded function says
    whether they did) instead of killing it; a second SIGINT raises KeyboardInterrupt. Outside
    the main thread nothing is installed (signals only reach the main thread)."""
    asked = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield asked.is_set
        return

    def ask(signum: int, _: FrameType | None) -> None:
        if asked.is_set() and signum == signal.SIGINT:
            raise KeyboardInterrupt
        asked.set()
        err_console.print(
            "[yellow]stopping after the current chunk[/] (its models are written; "
            "Ctrl-C again to stop at once)"
        )

    before = {sig: signal.signal(sig, ask) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield asked.is_set
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)
