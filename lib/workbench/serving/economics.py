"""Batch, online or hybrid prediction, as money: the cost per 1,000 requests of each option.

- **online**: a service scores each request. It is provisioned for the peak rate
  (`peak_factor` x the daily mean) at the rate one core serves within the p99 budget, and never
  below `min_cores` (a service is up all day whatever the traffic).
- **batch**: a job scores every entity every `valid_hours`, at the batch throughput measured; a
  request reads its precomputed prediction (a lookup, billed by the CPU it takes), and the
  prediction is on average half a period old, which costs `stale_per_1000` in errors.
- **hybrid**: the job precomputes only the k most requested entities (requests spread over the
  requested entities by a Zipf law with exponent `popularity`) and the service scores the rest.
  Only entities requested again and again can be known to be popular from past traffic, so k is
  at most the number expected to get two or more requests in a period (`popular_entities`).

Compute is priced at `cpu_hour_price` a core-hour; every cost is in the case's cost unit.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

    from workbench.cases import Serving

__all__ = ["OPTIONS", "Assumptions", "Measured", "choose", "compare", "costs", "coverage", "popular_entities"]

OPTIONS = ("online", "batch", "hybrid")  # simplest first: one service; a job and a store; both


@dataclass(frozen=True)
class Measured:
    """What serving costs on this machine, measured."""

    batch_seconds_per_row: float  # CPU seconds a batch job spends per entity scored
    online_seconds_per_request: float  # the service's CPU seconds per request (network stack, lookup, model)
    lookup_seconds_per_request: float  # the same without the model: reading a precomputed prediction
    rate_within_budget: float | None  # requests a second one core serves within the p99 budget (None: none)


@dataclass(frozen=True)
class Assumptions:
    """What the measurements cannot tell."""

    peak_factor: float = 3.0  # peak request rate over the daily mean
    min_cores: float = 1.0  # cores an online service keeps running whatever the traffic
    popularity: float = 1.0  # Zipf exponent of how requests spread over the requested entities


@functools.lru_cache(maxsize=8)
def _partial_sums(a: float) -> np.ndarray:
    """sum_{i=1..n} i^-a for n = 0 .. 100,000."""
    return np.r_[0.0, np.cumsum(np.arange(1, 100_001, dtype=float) ** -a)]


def _harmonic(n: float, a: float) -> float:
    """sum_{i=1..n} i^-a (n rounded down): exact up to 100,000 terms, the rest by the midpoint integral."""
    n = float(np.floor(n))
    head = int(min(n, 100_000))
    total = float(_partial_sums(float(a))[head])
    if n > head:
        lo, hi = head + 0.5, n + 0.5
        total += np.log(hi / lo) if a == 1 else (hi ** (1 - a) - lo ** (1 - a)) / (1 - a)
    return total


def coverage(k: float, m: float, popularity: float) -> float:
    """Share of requests that go to the k most requested of m requested entities (Zipf law)."""
    if k <= 0 or m <= 0:
        return 0.0
    return 1.0 if k >= m else _harmonic(k, popularity) / _harmonic(m, popularity)


def popular_entities(serving: Serving, popularity: float) -> int:
    """How many entities are expected to get at least two requests in a period (valid_hours): the
    most a hybrid can precompute, since only repeat traffic shows which entities are popular."""
    requested = serving.share_requested * serving.entities
    per_period = serving.requests_per_day * serving.valid_hours / 24
    if requested < 1:
        return 0
    if popularity == 0:  # every requested entity equally popular
        return int(requested) if per_period / requested >= 2 else 0
    # rank i expects per_period * i^-a / H(requested, a) requests
    top = (per_period / (2 * _harmonic(requested, popularity))) ** (1 / popularity)
    return int(min(np.floor(top), requested))


def costs(serving: Serving, measured: Measured, assumptions: Assumptions, *, precomputed: float,
          stale_per_1000: float = 0.0, service: bool | None = None) -> dict[str, float]:
    """Cost per 1,000 requests when a batch job precomputes `precomputed` entities (all of them:
    batch; none: online; the most requested k: hybrid) and a service scores the other requests.

    `service` says whether an online service runs (default: unless every entity is precomputed);
    a hybrid always keeps one, because nobody knows in advance every entity that will be requested.
    """
    s, m, a = serving, measured, assumptions
    R, P = s.requests_per_day, s.cpu_hour_price
    requested = s.share_requested * s.entities
    q = 1.0 if precomputed >= s.entities else coverage(precomputed, requested, a.popularity)
    online_requests = (1.0 - q) * R
    if service is None:
        service = precomputed < s.entities
    if not service:
        cores = 0.0
    elif m.rate_within_budget is None or m.rate_within_budget <= 0:
        cores = float("inf")  # no tested rate met the budget: the service cannot serve these requests
    else:
        cores = max(a.min_cores, a.peak_factor * online_requests / 86_400 / m.rate_within_budget)
    job = precomputed * (24.0 / s.valid_hours) * m.batch_seconds_per_row / 3600 * P
    lookups = q * R * m.lookup_seconds_per_request / 3600 * P
    running = cores * 24 * P
    per = 1000.0 / R
    serving_cost = (job + lookups + running) * per
    return {"precomputed": float(precomputed), "coverage": q, "cores": cores, "job_per_day": job,
            "lookups_per_day": lookups, "service_per_day": running, "serving_per_1000": serving_cost,
            "stale_per_1000": q * stale_per_1000, "total_per_1000": serving_cost + q * stale_per_1000}


def _best_hybrid(serving: Serving, measured: Measured, assumptions: Assumptions, stale: float) -> float:
    """The number of entities to precompute that costs least, from a grid between 1 and the popular
    ones (0 when no entity is requested repeatedly: the hybrid is then the online option)."""
    most = popular_entities(serving, assumptions.popularity)
    if most < 1:
        return 0.0
    grid = np.unique(np.round(np.geomspace(1, most, 61)))
    totals = [costs(serving, measured, assumptions, precomputed=k, stale_per_1000=stale, service=True)["total_per_1000"]
              for k in grid]
    return float(grid[int(np.argmin(totals))])


def compare(serving: Serving, measured: Measured, assumptions: Assumptions, *,
            stale_per_1000: tuple[float, float, float] = (0.0, 0.0, 0.0),
            low: Measured | None = None, high: Measured | None = None) -> pd.DataFrame:
    """One row per option: what it precomputes, its cost per 1,000 requests (serving compute, stale
    predictions, total) and an interval from `low` and `high` measurements (the cheapest and dearest
    ends of their noise) and the stale cost's (value, lo, hi). Hybrid's k is chosen at the values."""
    import pandas as pd

    value, s_lo, s_hi = stale_per_1000
    k_hybrid = _best_hybrid(serving, measured, assumptions, value)
    rows = []
    for option, k in [("online", 0.0), ("batch", float(serving.entities)), ("hybrid", k_hybrid)]:
        runs = option != "batch"
        mid = costs(serving, measured, assumptions, precomputed=k, stale_per_1000=value, service=runs)
        cheap = costs(serving, low or measured, assumptions, precomputed=k, stale_per_1000=s_lo, service=runs)
        dear = costs(serving, high or measured, assumptions, precomputed=k, stale_per_1000=s_hi, service=runs)
        rows.append({"option": option, **mid,
                     "total_lo": min(cheap["total_per_1000"], mid["total_per_1000"]),
                     "total_hi": max(dear["total_per_1000"], mid["total_per_1000"]),
                     "feasible": bool(np.isfinite(mid["total_per_1000"]))})
    return pd.DataFrame(rows).set_index("option")


def choose(table: pd.DataFrame) -> tuple[str, list[str]]:
    """The option to take, and the options it could not be told apart from: the cheapest feasible one,
    unless a simpler option's interval overlaps the cheapest's (then the simplest of those wins)."""
    feasible = table[table["feasible"]]
    if feasible.empty:
        raise ValueError("no option is feasible: no tested request rate met the latency budget")
    cheapest = feasible["total_per_1000"].idxmin()
    tied = [o for o in OPTIONS if o in feasible.index and
            feasible.loc[o, "total_lo"] <= feasible.loc[cheapest, "total_hi"] and
            feasible.loc[cheapest, "total_lo"] <= feasible.loc[o, "total_hi"]]
    return tied[0], [o for o in tied if o != tied[0]]
