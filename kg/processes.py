"""Is a process alive: the same pid, started at the same time (a pid the system reused is
another process). The journal of unfinished work (`kg.store.journal`) and background tasks
(`kg.tasks`) record their owner this way, and take an owner that is gone for a crash.

>>> import os
>>> is_alive(process_token(os.getpid()))
True
>>> is_alive("999999999@0")
False
"""

from __future__ import annotations

import os

import psutil

__all__ = ["is_alive", "own_token", "process_token", "started_at"]


def started_at(pid: int) -> float | None:
    """When process `pid` started (seconds since the epoch), None when there is none."""
    try:
        return float(psutil.Process(pid).create_time())
    except (psutil.Error, OSError):
        return None


def process_token(pid: int) -> str:
    """`pid@start-time`: names one process for as long as the host runs."""
    started = started_at(pid)
    return f"{pid}@{started:.2f}" if started is not None else f"{pid}@gone"


def own_token() -> str:
    """This process's token (asked each time: a forked child is another process)."""
    return process_token(os.getpid())


def is_alive(token: str) -> bool:
    """The process `token` names still runs (on this host)."""
    pid, _, started = token.partition("@")
    return pid.isdigit() and started != "gone" and process_token(int(pid)) == token
