"""HTTP part of bench/search.py: `modelkg serve` as a subprocess, one client, then 100 clients.

The server runs with `--preload-embeddings`, so the encoder is loaded and the index read (and
found fresh: no sync) before it listens. One client asks each query in turn over a kept-alive
connection, twice: the first pass embeds every query (uncached), the second finds them in the
server's LRU cache. Then the closed-loop load generator of bench/loadgen.py (wrk, or asyncio +
httpx) runs C clients for a few seconds over two workloads: the same queries cycled (cached after
the first pass) and a new query every request (`"<query> #<k>"`: every one embedded).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil  # type: ignore[import-untyped]
from loadgen import Generator, Request, Result, Workload, run_load

ROOT = Path(__file__).resolve().parents[1]
SEARCH = "/api/v1/search"


@dataclass(frozen=True)
class Sequential:
    """One client, one query after another: latencies in ms and failed requests."""

    latencies: list[float]
    errors: int


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Server:
    """`modelkg serve` over `store` on a free port, stopped with SIGINT on exit."""

    def __init__(self, store: Path, log: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self._log = log.open("wb")
        command = [str(Path(sys.executable).with_name("modelkg")), "serve", "--store", str(store)]
        command += ["--port", str(self.port), "--preload-embeddings", "--query-timeout", "60"]
        self.process = subprocess.Popen(
            command,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "HF_HUB_OFFLINE": "1"},
            cwd=ROOT,
        )

    def __enter__(self) -> Server:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"modelkg serve exited ({self.process.returncode}); see log")
            try:
                if httpx.get(self.base + "/api/v1/version", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise RuntimeError("modelkg serve did not answer within 600 s")

    def rss_mb(self) -> float:
        return float(psutil.Process(self.process.pid).memory_info().rss) / 2**20

    def __exit__(self, *_: object) -> None:
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._log.close()


def endpoint_status(base: str) -> int:
    """The status of one search: 200 when the endpoint is there."""
    answer = httpx.post(base + SEARCH, json={"query": "warm-up", "first": 10}, timeout=600)
    return answer.status_code


def sequential(base: str, queries: list[str], limit: int = 10) -> Sequential:
    """Each query once, one after another; an answer not 200 or short of `limit` is an error."""
    latencies, errors = [], 0
    with httpx.Client(base_url=base, timeout=60) as client:
        for query in queries:
            start = time.perf_counter()
            try:
                answer = client.post(SEARCH, json={"query": query, "first": limit})
            except httpx.HTTPError:
                errors += 1
                continue
            latencies.append((time.perf_counter() - start) * 1000)
            if answer.status_code != 200 or len(answer.json()["items"]) != limit:
                errors += 1
    return Sequential(latencies, errors)


def _workload(queries: list[str]) -> Workload:
    headers = {"Content-Type": "application/json"}
    return Workload(
        "search",
        tuple(
            Request("POST", SEARCH, headers, json.dumps({"query": q, "first": 10})) for q in queries
        ),
    )


def concurrent(
    generator: Generator, base: str, queries: list[str], *, clients: int, duration: float,
    fresh: int, work: Path,
) -> tuple[Result, Result]:  # fmt: skip
    """C clients over the queries cycled, then over `fresh` new queries (each embedded)."""
    cycled = run_load(generator, base, _workload(queries), clients, duration, 60.0, work)
    new = [f"{queries[k % len(queries)]} #{k}" for k in range(fresh)]
    unique = run_load(generator, base, _workload(new), clients, duration, 60.0, work)
    return cycled, unique


def bench(
    store: Path, queries: list[str], generator: Generator, *, clients: int, duration: float,
    fresh: int, work: Path,
) -> dict[str, Any]:  # fmt: skip
    """Serve `store`; one client (uncached, then cached), then `clients` (cycled, new queries)."""
    with Server(store, work / f"serve-{store.name}.log") as server:
        status = endpoint_status(server.base)
        if status != 200:
            return {"missing": status}
        first, again = sequential(server.base, queries), sequential(server.base, queries)
        cycled, unique = concurrent(
            generator, server.base, queries, clients=clients, duration=duration, fresh=fresh,
            work=work,
        )  # fmt: skip
        return {"first": first, "again": again, "cycled": cycled, "unique": unique,
                "rss": server.rss_mb()}  # fmt: skip
