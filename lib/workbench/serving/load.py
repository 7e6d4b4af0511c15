"""A load generator for the prediction service: requests at a fixed rate (open loop) or back to back
(closed loop), with each request's latency and the service's own timing of it.

Open loop: request i is due at a Poisson arrival time and its latency runs from when it was due, so
a client or server that falls behind shows up as latency instead of silently sending fewer requests
(no coordinated omission). The client is a minimal HTTP/1.1 client on asyncio streams with
keep-alive connections: it spends a fraction of the server's time per request, which matters when
both share a small machine. It runs its own event loop in a worker thread, so it also works inside
a notebook whose kernel already runs one.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["PARTS", "LoadResult", "break_rate", "closed_loop", "load_curve", "open_loop", "parse_server_timing"]

PARTS = ("parse", "lookup", "model", "serialise")  # the service's Server-Timing parts


def parse_server_timing(header: str) -> dict[str, float]:
    """A Server-Timing header ("model;dur=0.05, lookup;dur=0.01") as seconds per part."""
    out = {}
    for item in header.split(","):
        name, _, rest = item.strip().partition(";")
        for attr in rest.split(";"):
            key, _, value = attr.strip().partition("=")
            if key == "dur" and name:
                out[name.strip()] = float(value) / 1e3
    return out


@dataclass
class LoadResult:
    """What one load run measured, one entry per request."""

    rate: float | None  # the requested rate (requests a second); None for a closed loop
    seconds: float  # wall time from the first due request to the last response
    latency: np.ndarray  # seconds from when each request was due (open loop) or sent to its full response
    lag: np.ndarray  # seconds each request was sent after it was due
    status: np.ndarray  # HTTP status of each response
    server: dict[str, np.ndarray] = field(default_factory=dict)  # Server-Timing parts, seconds (NaN if absent)
    server_cpu: float | None = None  # CPU seconds the service process used during the run

    def summary(self) -> dict[str, float]:
        """Requests, achieved rate, share answered 200, latency percentiles (ms), the service's time per
        part (mean ms) and its CPU per request (ms)."""
        n = len(self.latency)
        ms = self.latency * 1e3
        out = {"requests": float(n), "achieved_rate": n / self.seconds if self.seconds > 0 else float("nan"),
               "ok_share": float(np.mean(self.status == 200)), "p50_ms": float(np.percentile(ms, 50)),
               "p90_ms": float(np.percentile(ms, 90)), "p99_ms": float(np.percentile(ms, 99)),
               "lag_p99_ms": float(np.percentile(self.lag * 1e3, 99))}
        for part in PARTS:
            values = self.server.get(part, np.array([np.nan]))
            out[f"{part}_ms"] = float(np.nanmean(values) * 1e3) if np.isfinite(values).any() else float("nan")
        out["server_cpu_ms"] = self.server_cpu / n * 1e3 if self.server_cpu is not None and n else float("nan")
        return out


def _request(host: str, path: str, body: bytes) -> bytes:
    return (f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body


async def _exchange(conn: tuple[asyncio.StreamReader, asyncio.StreamWriter], data: bytes) -> tuple[int, dict[str, float]]:
    reader, writer = conn
    writer.write(data)
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length, timing = 0, {}
    for line in lines[1:]:
        key, _, value = line.partition(":")
        key = key.strip().lower()
        if key == "content-length":
            length = int(value)
        elif key == "server-timing":
            timing = parse_server_timing(value)
    await reader.readexactly(length)
    return status, timing


class _Pool:
    """Up to `size` keep-alive connections to one server, opened on demand; a request that finds
    them all busy waits for one (as behind a proxy that keeps a bounded pool to its backend)."""

    def __init__(self, host: str, port: int, size: int = 32):
        self.host, self.port, self.size = host, port, size
        self.opened = 0
        self.idle: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
        self.all: list[asyncio.StreamWriter] = []

    async def call(self, data: bytes) -> tuple[int, dict[str, float]]:
        if self.idle.empty() and self.opened < self.size:
            self.opened += 1
            conn = await asyncio.open_connection(self.host, self.port)
            self.all.append(conn[1])
        else:
            conn = await self.idle.get()
        try:
            return await _exchange(conn, data)
        finally:
            self.idle.put_nowait(conn)

    def close(self) -> None:
        for writer in self.all:
            writer.close()


def _cpu(pid: int | None) -> float | None:
    if pid is None:
        return None
    import psutil

    t = psutil.Process(pid).cpu_times()
    return float(t.user + t.system)


def _timed(make: Callable[[], Coroutine[Any, Any, float]], pid: int | None) -> tuple[float, float | None]:
    """Run a load coroutine on a fresh event loop in a worker thread (the caller's loop may be running);
    return what it returns (its elapsed seconds) and the CPU seconds the service used meanwhile."""
    cpu0 = _cpu(pid)
    with ThreadPoolExecutor(1) as pool:
        elapsed = pool.submit(lambda: asyncio.run(make())).result()
    cpu1 = _cpu(pid)
    return elapsed, None if cpu0 is None or cpu1 is None else cpu1 - cpu0


async def _drive(pool: _Pool, tasks: list[Coroutine[Any, Any, None]], timeout: float) -> None:
    """Await every request task, then close the connections (also on a timeout)."""
    try:
        await asyncio.wait_for(asyncio.gather(*tasks), timeout)
    finally:
        pool.close()


def _collect(rate: float | None, seconds: float, latency: np.ndarray, lag: np.ndarray, status: np.ndarray,
             timings: list[dict[str, float]], cpu: float | None) -> LoadResult:
    server = {p: np.array([t.get(p, np.nan) for t in timings], dtype=float) for p in PARTS}
    return LoadResult(rate, seconds, latency, lag, status, server, cpu)


def open_loop(url: str, bodies: Sequence[bytes], rate: float, seconds: float, *, seed: int = 0,
              pid: int | None = None, path: str = "/predict", timeout: float = 30.0) -> LoadResult:
    """POST bodies (in turn) at `rate` requests a second, Poisson arrivals, for about `seconds`;
    `pid` is the service process whose CPU time is measured."""
    if rate <= 0 or seconds <= 0 or not bodies:
        raise ValueError("open_loop needs a positive rate and duration, and at least one body")
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", int(parts.port or 80)
    n = max(1, int(round(rate * seconds)))
    due = np.cumsum(np.random.default_rng(seed).exponential(1.0 / rate, n))
    requests = [_request(host, path, bodies[i % len(bodies)]) for i in range(n)]
    latency, lag, status = np.empty(n), np.empty(n), np.zeros(n, dtype=int)
    timings: list[dict[str, float]] = [{} for _ in range(n)]

    async def run() -> float:
        pool = _Pool(host, port)
        await pool.call(requests[0])  # open one connection before the clock starts
        start = time.perf_counter()

        async def one(i: int) -> None:
            wait = start + due[i] - time.perf_counter()
            if wait > 0:
                await asyncio.sleep(wait)
            lag[i] = time.perf_counter() - start - due[i]
            status[i], timings[i] = await pool.call(requests[i])
            latency[i] = time.perf_counter() - start - due[i]

        await _drive(pool, [one(i) for i in range(n)], timeout + float(due[-1]))
        return time.perf_counter() - start

    elapsed, cpu = _timed(run, pid)
    return _collect(rate, elapsed, latency, lag, status, timings, cpu)


def closed_loop(url: str, bodies: Sequence[bytes], n: int, *, concurrency: int = 8, pid: int | None = None,
                path: str = "/predict", timeout: float = 60.0) -> LoadResult:
    """POST n requests as fast as the service answers, `concurrency` at a time (how much one core serves)."""
    if n < 1 or concurrency < 1 or not bodies:
        raise ValueError("closed_loop needs n >= 1, concurrency >= 1 and at least one body")
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", int(parts.port or 80)
    requests = [_request(host, path, bodies[i % len(bodies)]) for i in range(n)]
    latency, status = np.empty(n), np.zeros(n, dtype=int)
    timings: list[dict[str, float]] = [{} for _ in range(n)]
    counter = iter(range(n))

    async def run() -> float:
        pool = _Pool(host, port)
        start = time.perf_counter()

        async def worker() -> None:
            for i in counter:
                t0 = time.perf_counter()
                status[i], timings[i] = await pool.call(requests[i])
                latency[i] = time.perf_counter() - t0

        await _drive(pool, [worker() for _ in range(concurrency)], timeout)
        return time.perf_counter() - start

    elapsed, cpu = _timed(run, pid)
    return _collect(None, elapsed, latency, np.zeros(n), status, timings, cpu)


def load_curve(url: str, bodies: Sequence[bytes], rates: Sequence[float], seconds: float, *, seed: int = 0,
               pid: int | None = None) -> pd.DataFrame:
    """One open-loop run per rate (lowest first): a row of `LoadResult.summary` per rate."""
    import pandas as pd

    rows = []
    for k, rate in enumerate(sorted(rates)):
        result = open_loop(url, bodies, rate, seconds, seed=seed + k, pid=pid)
        rows.append({"rate": float(rate), **result.summary()})
    return pd.DataFrame(rows)


def break_rate(rates: Sequence[float], p99_ms: Sequence[float], budget_ms: float) -> tuple[float | None, float | None]:
    """(the highest rate below the first that breaks the p99 budget, the first rate that breaks it);
    None where no tested rate qualifies."""
    met, broke = None, None
    for rate, p99 in sorted(zip(rates, p99_ms)):
        if p99 > budget_ms:
            broke = float(rate)
            break
        met = float(rate)
    return met, broke
