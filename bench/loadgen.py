"""Closed-loop HTTP load generators for bench/serve.py, each run in its own process.

Two of them, so the benchmark can measure which one keeps up on this machine:
  wrk     the C tool (Debian package `wrk`), one thread, driven by a Lua script generated from
          the plan: it cycles the requests, counts non-2xx answers and GraphQL `errors`, and
          prints one JSON line from `done()`
  python  this module run as a script: asyncio + httpx, one connection per client
Both run `clients` connections, each sending its next request when the last is answered, for
`duration` seconds, and report the same JSON: requests completed, errors (transport failures,
timeouts, non-2xx, GraphQL `errors`), seconds, and p50/p95/p99 latency in milliseconds.

Run (python):  .venv/bin/python bench/loadgen.py PLAN.json --clients 10 --duration 10
  PLAN.json:   {"base": "http://127.0.0.1:8000", "graphql": false,
                "requests": [{"method": "POST", "path": "/sparql", "headers": {}, "body": "..."}]}
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import httpx

Generator = Literal["wrk", "python"]


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body: str | None = None


@dataclass(frozen=True)
class Workload:
    """The requests one cell cycles through; `graphql`: a 200 with `errors` is an error too."""

    endpoint: str
    requests: tuple[Request, ...]
    graphql: bool = False


@dataclass(frozen=True)
class Result:
    requests: int
    errors: int
    seconds: float
    p50: float
    p95: float
    p99: float
    cpu: float = 0.0  # the load generator's own CPU seconds

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def percentile(ordered: list[float], share: float) -> float:
    """Nearest-rank percentile of an already sorted list (0.0 when it is empty)."""
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


# --- wrk -----------------------------------------------------------------------------------

WRK_SCRIPT = """
local graphql = %(graphql)s
local plan = {
%(plan)s
}
local requests = {}
local index = 0
bad = 0
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  for i, r in ipairs(plan) do
    requests[i] = wrk.format(r[1], r[2], r[3], r[4])
  end
end

function request()
  index = index %% #requests + 1
  return requests[index]
end

function response(status, headers, body)
  if status < 200 or status > 299 or (graphql and body:find('"errors"', 1, true)) then
    bad = bad + 1
  end
end

function done(summary, latency, completed)
  local failed = 0
  for _, thread in ipairs(threads) do
    failed = failed + thread:get("bad")
  end
  local e = summary.errors
  io.write(string.format(
    '{"requests": %%d, "seconds": %%f, "errors": %%d, "p50": %%f, "p95": %%f, "p99": %%f}\\n',
    summary.requests, summary.duration / 1e6, failed + e.connect + e.read + e.write + e.timeout,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000))
end
"""


def lua_string(text: str) -> str:
    """A Lua string literal for any text: printable ASCII as is, every other byte as \\ddd.

    >>> lua_string('a "b"\\n')
    '"a \\\\034b\\\\034\\\\010"'
    """
    out = []
    for byte in text.encode("utf-8"):
        char = chr(byte)
        out.append(char if 32 <= byte < 127 and char not in '"\\' else f"\\{byte:03d}")
    return '"' + "".join(out) + '"'


def wrk_script(workload: Workload) -> str:
    rows = []
    for r in workload.requests:
        headers = ", ".join(f"[{lua_string(k)}] = {lua_string(v)}" for k, v in r.headers.items())
        body = lua_string(r.body) if r.body is not None else "nil"
        rows.append(f"  {{{lua_string(r.method)}, {lua_string(r.path)}, {{{headers}}}, {body}}},")
    return WRK_SCRIPT % {
        "graphql": "true" if workload.graphql else "false",
        "plan": "\n".join(rows),
    }


def ensure_wrk() -> bool:
    """Whether wrk is on PATH, after `apt-get install -y wrk` when missing and we are root."""
    if shutil.which("wrk"):
        return True
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("wrk missing: apt-get install -y wrk", file=sys.stderr)
        subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], capture_output=True)
    return shutil.which("wrk") is not None


# --- running a cell ------------------------------------------------------------------------


def run_load(
    generator: Generator,
    base: str,
    workload: Workload,
    clients: int,
    duration: float,
    timeout: float,
    work: Path,
) -> Result:
    """One closed-loop cell in a second process: `clients` connections for `duration` s."""
    if generator == "wrk":
        script = work / "load.lua"
        script.write_text(wrk_script(workload), encoding="utf-8")
        command = ["wrk", "-t", "1", "-c", str(clients), "-d", f"{max(1, round(duration))}s"]
        command += ["--timeout", f"{max(1, round(timeout))}s", "-s", str(script), base]
    else:
        plan = work / "load.json"
        requests = [asdict(r) for r in workload.requests]
        plan.write_text(
            json.dumps({"base": base, "graphql": workload.graphql, "requests": requests}),
            encoding="utf-8",
        )
        command = [sys.executable, __file__, str(plan), "--clients", str(clients)]
        command += ["--duration", str(duration), "--timeout", str(timeout)]
    summary, cpu = _run_child(command)
    return Result(
        requests=int(summary["requests"]),
        errors=int(summary["errors"]),
        seconds=summary["seconds"],
        p50=summary["p50"],
        p95=summary["p95"],
        p99=summary["p99"],
        cpu=cpu,
    )


def _run_child(command: list[str]) -> tuple[dict[str, float], float]:
    """Run a generator: its last stdout line parsed as JSON, and the CPU seconds it used."""
    with tempfile.TemporaryFile() as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        output.seek(0)
        lines = output.read().decode().strip().splitlines()
    if process.returncode != 0 or not lines:
        sys.exit(f"load generator failed ({process.returncode}): {' '.join(command)}")
    return json.loads(lines[-1]), usage.ru_utime + usage.ru_stime


# --- the Python generator ------------------------------------------------------------------


async def python_load(
    plan: dict[str, Any], clients: int, duration: float, timeout: float
) -> dict[str, Any]:
    """The Python generator: one httpx client (one kept-alive connection) per simulated client.

    One shared pool for all clients is slower in httpx at 100 connections; one SSL context
    for all of them saves ~45 ms of start-up per client (plain HTTP never uses it).
    """
    requests = plan["requests"]
    graphql = bool(plan.get("graphql"))
    latencies: list[float] = []
    errors = 0
    failures: list[str] = []  # the first few, to say what went wrong
    context = ssl.create_default_context()
    deadline = time.perf_counter() + duration

    async def client_loop(offset: int) -> None:
        nonlocal errors
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        async with httpx.AsyncClient(
            base_url=plan["base"], limits=limits, timeout=timeout, verify=context
        ) as c:
            index = offset
            while time.perf_counter() < deadline:
                spec = requests[index % len(requests)]
                index += 1
                start = time.perf_counter()
                try:
                    answer = await c.request(
                        spec["method"], spec["path"], headers=spec["headers"], content=spec["body"]
                    )
                except httpx.HTTPError as exc:
                    errors += 1
                    if len(failures) < 5:
                        failures.append(f"{spec['method']} {spec['path']}: {exc!r}")
                    continue
                latencies.append(time.perf_counter() - start)
                if not 200 <= answer.status_code < 300 or (
                    graphql and b'"errors"' in answer.content
                ):
                    errors += 1
                    if len(failures) < 5:
                        failures.append(
                            f"{spec['method']} {spec['path']}: {answer.status_code} "
                            f"{answer.text[:300]}"
                        )

    started = time.perf_counter()
    await asyncio.gather(*(client_loop(i * 7) for i in range(clients)))
    seconds = time.perf_counter() - started
    latencies.sort()
    return {
        "requests": len(latencies),
        "errors": errors,
        "seconds": seconds,
        "p50": percentile(latencies, 0.50) * 1000,
        "p95": percentile(latencies, 0.95) * 1000,
        "p99": percentile(latencies, 0.99) * 1000,
        "failures": failures,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("plan", type=Path)
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--timeout", type=float, default=60.0)
    args = parser.parse_args()
    plan = json.loads(args.plan.read_text(encoding="utf-8"))
    print(json.dumps(asyncio.run(python_load(plan, args.clients, args.duration, args.timeout))))


if __name__ == "__main__":
    main()
