"""A latency harness: warm up, time many calls one by one, and summarise with percentiles; and the
throughput of a prediction function at several batch sizes.

Every timing is wall-clock time of one call (`time.perf_counter`), so on a shared machine it
includes whatever else ran: report medians with their spread, never one run.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["PERCENTILES", "summarise", "throughput", "time_calls"]

PERCENTILES = (50, 90, 99)


def time_calls(fn: Callable[[Any], Any], inputs: Sequence[Any], *, calls: int, warmup: int = 20,
               clock: Callable[[], float] = time.perf_counter) -> np.ndarray:
    """Seconds taken by each of `calls` calls fn(inputs[i % len(inputs)]), after `warmup` untimed calls."""
    if calls < 1 or not len(inputs):
        raise ValueError("time_calls needs at least one call and one input")
    for i in range(warmup):
        fn(inputs[i % len(inputs)])
    out = np.empty(calls)
    for i in range(calls):
        x = inputs[i % len(inputs)]
        start = clock()
        fn(x)
        out[i] = clock() - start
    return out


def summarise(seconds: np.ndarray) -> dict[str, float]:
    """Count, mean and percentiles (numpy's linear interpolation) of durations, in microseconds."""
    s = np.asarray(seconds, dtype=float) * 1e6
    if s.size == 0:
        raise ValueError("no durations to summarise")
    out = {"calls": float(s.size), "mean_us": float(s.mean())}
    for q, v in zip(PERCENTILES, np.percentile(s, PERCENTILES)):
        out[f"p{q}_us"] = float(v)
    out["max_us"] = float(s.max())
    return out


def throughput(fn: Callable[[np.ndarray], Any], X: np.ndarray, batch_sizes: Sequence[int], *, repeats: int = 5,
               min_seconds: float = 0.02, clock: Callable[[], float] = time.perf_counter) -> pd.DataFrame:
    """Rows per second of fn on batches of each size (rows of X, repeated when X is shorter):
    each repeat calls fn until min_seconds have passed; the median repeat and the range are kept."""
    import pandas as pd

    X = np.asarray(X)
    rows = []
    for b in batch_sizes:
        batch = X[np.arange(int(b)) % len(X)]
        fn(batch)  # warm-up
        rates = []
        for _ in range(repeats):
            n, start = 0, clock()
            while True:
                fn(batch)
                n += 1
                elapsed = clock() - start
                if elapsed >= min_seconds:
                    break
            rates.append(n * len(batch) / elapsed)
        r = np.array(rates)
        rows.append({"batch_size": int(b), "rows_per_second": float(np.median(r)), "rows_per_second_lo": float(r.min()),
                     "rows_per_second_hi": float(r.max()), "us_per_row": 1e6 / float(np.median(r))})
    return pd.DataFrame(rows)
