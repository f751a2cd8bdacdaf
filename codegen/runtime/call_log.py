"""Log each call of a generated function as a PROV-O activity in a ModelKG registry.

This module is copied as it is into every package `modelkg codegen udf` writes, so it uses the
standard library only. Logging is off by default. `MODELKG_CALL_LOG=http://HOST:PORT` (a
`modelkg serve`, its write token in `MODELKG_TOKEN`) switches it on for every function, or
`enable(url, token=...)` from code. A call only queues its record: a background thread sends
them in batches as one SPARQL update each, so a call waits for nothing, and a registry that is
down, slow or refuses the token costs one warning, never the call or its result.

Each call becomes, in the registry's call-log graph:

    <urn:uuid:...> a prov:Activity, mkg:ModelCall ;
        prov:used <the model> ; prov:wasAssociatedWith <the package> ;
        mkg:callFunction "embed" ; mkg:callArguments "text: str of 42 characters" ;
        prov:startedAtTime "..."^^xsd:dateTime ; prov:endedAtTime "..."^^xsd:dateTime ;
        mkg:durationSeconds 0.0123 ; mkg:callStatus "ok" .

>>> summarize({"text": "hello", "max_new_tokens": 20, "texts": ["a", "b"]})
'text: str of 5 characters; max_new_tokens: int 20; texts: list of 2'
"""

from __future__ import annotations

import atexit
import functools
import json
import os
import queue
import threading
import time
import urllib.error
import urllib.request
import uuid
import warnings
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import ParamSpec, TypeVar

__all__ = ["CallLog", "enable", "logged", "summarize"]

ENV_URL = "MODELKG_CALL_LOG"
ENV_TOKEN = "MODELKG_TOKEN"
BATCH = 200
"""Calls sent in one update at most."""
QUEUE = 10_000
"""Calls waiting to be sent at most; beyond, new ones are dropped (and counted)."""
TIMEOUT = 5.0

_MKG = "https://w3id.org/modelkg/ontology#"
_PROV = "http://www.w3.org/ns/prov#"
_XSD = "http://www.w3.org/2001/XMLSchema#"

P = ParamSpec("P")
R = TypeVar("R")


class CallLog:
    """Records calls and sends them to one registry from a background thread."""

    def __init__(self, url: str, *, token: str | None, package: str, graph: str) -> None:
        self.endpoint = url.rstrip("/") + "/sparql"
        self.token = token
        self.package = package
        self.graph = graph
        self.dropped = 0
        """records lost: the queue was full, or the registry did not take them"""
        self._pending: queue.Queue[str] = queue.Queue(QUEUE)
        self._warned = False
        self._idle = threading.Event()
        self._idle.set()
        self._thread = threading.Thread(target=self._send_forever, daemon=True, name="call-log")
        self._thread.start()
        atexit.register(self.flush)

    def record(
        self,
        *,
        model: str,
        function: str,
        arguments: str,
        started: float,
        seconds: float,
        error: BaseException | None,
    ) -> None:
        """Queue one call (`started` is a `time.time()`); never raises, never waits."""
        try:
            self._idle.clear()
            self._pending.put_nowait(
                self._triples(model, function, arguments, started, seconds, error)
            )
        except queue.Full:
            self.dropped += 1
        except Exception:  # a log must not break the call
            self.dropped += 1

    def flush(self, timeout: float = TIMEOUT) -> bool:
        """Wait until every queued call was sent (or given up); True when nothing is left."""
        deadline = time.monotonic() + timeout
        while not (self._pending.empty() and self._idle.is_set()):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True

    def _triples(
        self,
        model: str,
        function: str,
        arguments: str,
        started: float,
        seconds: float,
        error: BaseException | None,
    ) -> str:
        call = f"<urn:uuid:{uuid.uuid4()}>"
        lines = [
            f"{call} a <{_PROV}Activity>, <{_MKG}ModelCall> ;",
            f"  <{_PROV}used> <{model}> ;",
            f"  <{_PROV}wasAssociatedWith> <urn:modelkg:package:{self.package}> ;",
            f"  <{_MKG}callFunction> {_string(function)} ;",
            f"  <{_MKG}callArguments> {_string(arguments)} ;",
            f"  <{_PROV}startedAtTime> {_time(started)} ;",
            f"  <{_PROV}endedAtTime> {_time(started + seconds)} ;",
            f'  <{_MKG}durationSeconds> "{seconds!r}"^^<{_XSD}double> ;',
            f"  <{_MKG}callStatus> {_string('ok' if error is None else 'error')}",
        ]
        if error is not None:
            lines[-1] += " ;"
            lines.append(f"  <{_MKG}callError> {_string(f'{type(error).__name__}: {error}')}")
        return "\n".join(lines) + " ."

    def _send_forever(self) -> None:
        while True:
            batch = [self._pending.get()]
            while len(batch) < BATCH:
                try:
                    batch.append(self._pending.get_nowait())
                except queue.Empty:
                    break
            try:
                self._send(batch)
            except Exception as exc:  # the registry is down, slow, or refused us
                self.dropped += len(batch)
                if not self._warned:
                    self._warned = True
                    warnings.warn(
                        f"call log: {self.endpoint} did not take {len(batch)} call(s): {exc}; "
                        f"calls go on unlogged (check {ENV_URL} and {ENV_TOKEN})",
                        RuntimeWarning,
                        stacklevel=1,
                    )
            finally:
                if self._pending.empty():
                    self._idle.set()

    def _send(self, batch: list[str]) -> None:
        kind = f"<{self.graph}> <{_MKG}graphKind> <{_MKG}CallLogGraph> ."
        body = f"INSERT DATA {{ GRAPH <{self.graph}> {{\n{kind}\n" + "\n".join(batch) + "\n} }"
        request = urllib.request.Request(
            self.endpoint,
            data=body.encode("utf-8"),
            headers={"Content-Type": "application/sparql-update"}
            | ({"Authorization": f"Bearer {self.token}"} if self.token else {}),
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            response.read()


_active: dict[str, CallLog | None] = {}
"""package -> its log (None: off), once `enable` or the first call decided"""
_lock = threading.Lock()


def enable(
    url: str | None, *, token: str | None = None, package: str, graph: str
) -> CallLog | None:
    """Log this package's calls to the registry at `url` from now on (None: stop logging)."""
    with _lock:
        _active[package] = CallLog(url, token=token, package=package, graph=graph) if url else None
        return _active[package]


def _current(package: str, graph: str) -> CallLog | None:
    if package in _active:
        return _active[package]
    url = os.environ.get(ENV_URL)  # read once, at the first call
    return enable(url, token=os.environ.get(ENV_TOKEN), package=package, graph=graph)


def logged(model: str, *, package: str, graph: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Wrap a generated function so each call is logged when logging is on (module docstring);
    when it is off, a call costs one dictionary look-up more."""

    def wrap(function: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(function)
        def call(*args: P.args, **kwargs: P.kwargs) -> R:
            log = _current(package, graph)
            if log is None:
                return function(*args, **kwargs)
            started, clock = time.time(), time.perf_counter()
            error: BaseException | None = None
            try:
                return function(*args, **kwargs)
            except BaseException as exc:
                error = exc
                raise
            finally:
                seconds = time.perf_counter() - clock
                try:
                    named = dict(zip(function.__code__.co_varnames, args, strict=False))
                    summary = summarize({**named, **kwargs})
                except Exception:
                    summary = ""
                log.record(
                    model=model,
                    function=function.__name__,
                    arguments=summary,
                    started=started,
                    seconds=seconds,
                    error=error,
                )

        return call

    return wrap


def summarize(arguments: Mapping[str, object]) -> str:
    """What was passed, as a person auditing calls wants it: types and sizes, never values
    (a text's length, an image's size, an array's shape); small numbers as they are."""
    parts = []
    for name, value in arguments.items():
        if isinstance(value, str):
            described = f"str of {len(value)} characters"
        elif isinstance(value, bool | int | float):
            described = f"{type(value).__name__} {value!r}"
        elif isinstance(value, list | tuple):
            described = f"{type(value).__name__} of {len(value)}"
        elif hasattr(value, "shape"):
            described = f"{type(value).__name__} of shape {tuple(value.shape)}"
        elif hasattr(value, "size") and isinstance(value.size, tuple):
            described = f"{type(value).__name__} of size {value.size}"
        else:
            described = type(value).__name__
        parts.append(f"{name}: {described}")
    return "; ".join(parts)


def _string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)  # JSON's escapes are SPARQL's


def _time(epoch: float) -> str:
    stamp = datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z")
    return f'"{stamp}"^^<{_XSD}dateTime>'
