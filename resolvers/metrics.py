"""`/metrics`: Prometheus metrics through the maintained client (`prometheus_client`).

What is measured:
- `modelkg_http_requests_total{method,route,status}` and
  `modelkg_http_request_duration_seconds{method,route}`: every HTTP request, by the route's
  template (`/api/v1/models/{model_id}`), never the raw path, so the label set stays bounded
  whatever clients send (a path no route matches is `unmatched`);
- `modelkg_response_cache_total{result}`: answers of the response cache, `hit` or `miss`, read
  from the `X-Cache` header it sets (`resolvers.response_cache`), so that module is not touched;
- `modelkg_store_models`, `modelkg_store_quads`, `modelkg_store_bytes`: the store's size,
  worked out at scrape time; the quads (a count over the store) only when the store's write
  generation moved since the last scrape, the bytes only for the embedded store (its files);
- `modelkg_tasks{status}`: background tasks by the status the store records (`kg.tasks`).

Under `modelkg serve --workers N` every worker process counts its own requests, and a scrape
reaches one of them. The numbers are summed over the workers with prometheus_client's
multiprocess mode: each worker writes its counters to files in `PROMETHEUS_MULTIPROC_DIR`, and
`/metrics` reads them all (`MultiProcessCollector`). The mode must be chosen before
prometheus_client is imported, so this module sets the directory for a worker when the
operator has not: one per server, in the temp folder, named after the parent process (its pid
and start time, so a later process given the same pid starts from zero); each worker deletes
the directories of servers that are gone when it starts. An operator who sets
`PROMETHEUS_MULTIPROC_DIR` picks the directory (and empties it before each start, as
prometheus_client's documentation asks). A single process keeps its metrics in memory, in a
registry per app, so two apps in one process (the tests) count apart.

`/metrics` needs no token, as `/health` does not: it tells counts, latencies and sizes, never a
query, a model's data or a client's address, and reads are open on this server; Prometheus
scrapers are usually configured without credentials. An operator who wants it private puts it
behind the same proxy rules as the rest of the read API.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

WORKER_SETTINGS = "MODELKG_SERVE_SETTINGS"
"""Set in the workers of `modelkg serve --workers N` (`resolvers.app.SETTINGS_VARIABLE`, not
imported: resolvers.app imports this module)."""


def _started(pid: int) -> str | None:
    """When process `pid` started (clock ticks since boot, /proc/PID/stat field 22), None
    when it is gone: with the pid, it names one process, never a later one given its pid."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None
    return fields[19] if len(fields) > 19 else "0"


def _worker_directory() -> Path:
    """The multiprocess directory of this server (named after the parent process, which the
    workers share), after deleting those of servers that are gone."""
    root = Path(tempfile.gettempdir())
    for old in root.glob("modelkg-metrics-*"):
        pid, _, started = old.name.removeprefix("modelkg-metrics-").partition("-")
        if pid.isdigit() and _started(int(pid)) != started:
            shutil.rmtree(old, ignore_errors=True)
    parent = os.getppid()
    folder = root / f"modelkg-metrics-{parent}-{_started(parent) or '0'}"
    folder.mkdir(exist_ok=True)
    return folder


if WORKER_SETTINGS in os.environ and "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
    # a worker of `modelkg serve --workers N`: every worker shares its parent's directory
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(_worker_directory())

from fastapi import FastAPI, Request  # noqa: E402 - after choosing the mode (module docstring)
from fastapi.responses import Response  # noqa: E402
from prometheus_client import (  # noqa: E402
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric  # noqa: E402
from prometheus_client.multiprocess import MultiProcessCollector  # noqa: E402
from prometheus_client.registry import Collector  # noqa: E402
from starlette.routing import Mount  # noqa: E402
from starlette.types import ASGIApp, Message, Receive, Scope, Send  # noqa: E402

from kg.store.base import ModelStore  # noqa: E402

__all__ = ["HttpMetrics", "install_metrics"]

UNMATCHED = "unmatched"
_Template = tuple[re.Pattern[str], "set[str] | None", str]


def _multiprocess() -> bool:
    return "PROMETHEUS_MULTIPROC_DIR" in os.environ


class _Meters:
    """The HTTP metrics of one app, registered once (in the app's registry, or in
    multiprocess mode in the files of `PROMETHEUS_MULTIPROC_DIR`)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "modelkg_http_requests",
            "HTTP requests answered, by route template and status.",
            ("method", "route", "status"),
            registry=registry,
        )
        self.latency = Histogram(
            "modelkg_http_request_duration_seconds",
            "Seconds from a request's arrival to the end of its answer, by route template.",
            ("method", "route"),
            registry=registry,
        )
        self.cache = Counter(
            "modelkg_response_cache",
            "Answers of the response cache: hit (served from it) or miss (computed, then kept).",
            ("result",),
            registry=registry,
        )


class HttpMetrics:
    """ASGI middleware: counts each HTTP request by route template and status, times it, and
    counts the response cache's hits and misses (module docstring)."""

    def __init__(self, app: ASGIApp, meters: _Meters, routes: FastAPI) -> None:
        self.app = app
        self.routes = routes
        self.meters = meters
        self._paths: dict[int, str] | None = None
        self._table: list[_Template] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        seen: dict[str, Any] = {"status": 500, "cache": None}

        async def counted(message: Message) -> None:
            if message["type"] == "http.response.start":
                seen["status"] = message["status"]
                for name, value in message.get("headers", ()):
                    if name.lower() == b"x-cache":
                        seen["cache"] = value.decode("latin-1").lower()
            await send(message)

        try:
            await self.app(scope, receive, counted)
        finally:
            route = self.template(scope)
            method = str(scope.get("method", ""))
            self.meters.requests.labels(method, route, str(seen["status"])).inc()
            self.meters.latency.labels(method, route).observe(time.perf_counter() - start)
            if seen["cache"] in ("hit", "miss"):
                self.meters.cache.labels(seen["cache"]).inc()

    def template(self, scope: Scope) -> str:
        """The path template of the route that answered (or would answer: a cache hit is
        answered before routing), else `unmatched`."""
        paths, table = self._templates()
        route = scope.get("route")
        if route is not None and (found := paths.get(id(route))) is not None:
            return found
        path, method = str(scope.get("path", "")), str(scope.get("method", ""))
        partial = None
        for regex, methods, template in table:
            if regex.match(path):
                if methods is None or method in methods:
                    return template
                partial = partial or template  # a 405: the route is still the one asked
        return partial or UNMATCHED

    def _templates(self) -> tuple[dict[int, str], list[_Template]]:
        """Route object -> its full path template, and every route's (regex, methods,
        template) in the order the app tries them. FastAPI keeps an included router's routes
        with their own paths and applies the router's prefix when matching, so the full
        templates are read from its effective routes, once."""
        if self._paths is None:
            paths: dict[int, str] = {}
            table: list[_Template] = []
            for candidate in self.routes.router.routes:
                contexts = getattr(candidate, "effective_route_contexts", None)
                for context in contexts() if callable(contexts) else (candidate,):
                    template = getattr(context, "path", None)
                    regex = getattr(context, "path_regex", None)
                    if not isinstance(template, str) or regex is None:
                        continue
                    original = getattr(context, "original_route", context)
                    paths[id(original)] = template
                    methods = getattr(context, "methods", None)
                    if isinstance(candidate, Mount):  # everything under its prefix
                        regex = re.compile("^" + re.escape(template) + "(/.*)?$")
                        methods = None
                    table.append((regex, methods, template))
            self._paths, self._table = paths, table
        return self._paths, self._table


class StoreCollector(Collector):
    """The store's size and its background tasks, read at scrape time (module docstring)."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self._quads: tuple[int, int] | None = None
        """(generation, quads) of the last count"""

    def collect(self) -> Iterator[Metric]:
        services = getattr(self.app.state, "services", None)
        if services is None:  # not started yet
            return
        store: ModelStore = services.store
        models = GaugeMetricFamily("modelkg_store_models", "Models the store describes.")
        models.add_metric([], store.count_models())
        yield models
        quads = GaugeMetricFamily(
            "modelkg_store_quads", "Quads in the store's data graphs (outside the vocabulary)."
        )
        quads.add_metric([], self._count_quads(store))
        yield quads
        if "://" not in store.location:
            size = GaugeMetricFamily("modelkg_store_bytes", "Bytes of the store's files on disk.")
            size.add_metric([], _bytes_under(Path(store.location)))
            yield size
        tasks = GaugeMetricFamily(
            "modelkg_tasks", "Background tasks by the status the store records.", labels=["status"]
        )
        for status, count in _tasks_by_status(store):
            tasks.add_metric([status], count)
        yield tasks

    def _count_quads(self, store: ModelStore) -> int:
        from kg.store.migrate import count_data_quads

        generation = store.generation
        if self._quads is None or self._quads[0] != generation:
            self._quads = (generation, count_data_quads(store))
        return self._quads[1]


def _bytes_under(folder: Path) -> int:
    total = 0
    for path in folder.rglob("*"):
        try:
            total += path.stat().st_size if path.is_file() else 0
        except OSError:  # a file compaction removed meanwhile
            continue
    return total


def _tasks_by_status(store: ModelStore) -> Iterable[tuple[str, int]]:
    """Tasks per status as `kg.tasks` records them (`mkg:taskStatus`), every status the
    ontology knows included (at 0), so a rate over any of them is defined from the start.
    The statuses are data: their `mkg:code` in `ontology/background_tasks.ttl`."""
    counts: dict[str, int] = {}
    for row in store.select(
        "SELECT ?code WHERE { ?s a mkg:BackgroundTaskStatus ; mkg:code ?code }"
    ):
        if (code := row["code"]) is not None:
            counts[code.value] = 0
    for row in store.select(
        "SELECT ?code (COUNT(?t) AS ?n) WHERE { ?t a mkg:BackgroundTask ; mkg:taskStatus ?s . "
        "?s mkg:code ?code } GROUP BY ?code"
    ):
        code, count = row["code"], row["n"]
        if code is not None and count is not None:
            counts[code.value] = int(count.value)
    return sorted(counts.items())


def install_metrics(app: FastAPI) -> None:
    """Count `app`'s requests and answer `/metrics` (module docstring). Call it last, after
    the other middleware, so the timing covers them."""
    registry = CollectorRegistry(auto_describe=True)
    # in multiprocess mode the values live in files; the registry only keeps the names apart
    app.add_middleware(HttpMetrics, meters=_Meters(registry), routes=app)
    store_registry = CollectorRegistry(auto_describe=True)
    store_registry.register(StoreCollector(app))

    @app.get("/metrics", include_in_schema=False)
    def metrics(_: Request) -> Response:
        """Prometheus' text format: the HTTP counters (summed over the worker processes in
        multiprocess mode) and the store's size."""
        if _multiprocess():
            summed = CollectorRegistry()
            MultiProcessCollector(summed)  # type: ignore[no-untyped-call]
            body = generate_latest(summed)
        else:
            body = generate_latest(registry)
        return Response(body + generate_latest(store_registry), media_type=CONTENT_TYPE_LATEST)
