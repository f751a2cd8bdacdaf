"""How `modelkg serve` logs: one line per request (`modelkg.access`) and what goes wrong.

Configured in every serving process: the command's own, and each of `--workers N`'s, which
uvicorn starts fresh (spawned, not forked), so they inherit no logging set-up from the command.

The HTTP client under a remote store (httpx) logs each request it sends at INFO: a model
lookup over `sparql+http://` sends nine, so the log held nine lines of the store's traffic for
each line of the clients'. Those are the server's own requests: they show as WARNING and above
(a failure), and as counts and latencies in `/metrics`.

>>> import logging
>>> configure_logging()
>>> logging.getLogger("httpx").isEnabledFor(logging.INFO)
False
"""

from __future__ import annotations

import logging

__all__ = ["configure_logging"]

FORMAT = "%(asctime)s %(name)s %(message)s"
QUIET = ("httpx", "httpcore")
"""Loggers of the libraries the server itself calls, kept to warnings and errors."""


def configure_logging() -> None:
    """INFO lines on stderr as `time logger message`, the store's HTTP client kept quiet."""
    logging.basicConfig(level=logging.INFO, format=FORMAT)
    for name in QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)
