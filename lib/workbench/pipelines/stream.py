"""Windowed aggregates computed as a streaming job would: one pass over events in time order.

`SlidingWindows` keeps, per group, the events still inside the window (a deque) with their running
sum and count: an arriving event is appended, a query evicts what has slid out and reads the
totals. `stream_window_sums` drives it over arrays of events and queries merged in time order, a
query before an event at the same time (what arrives at the moment of a question is not yet
known), so it answers exactly what `windows.window_sums` answers with an as-of join; the two are
independent code paths and the tests check they agree.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import numpy as np

from workbench.pipelines.windows import Aggregate

__all__ = ["SlidingWindows", "stream_window_sums"]


class SlidingWindows:
    """Per group: the events in the last `window` nanoseconds, with their running sum and count."""

    def __init__(self, window_ns: int) -> None:
        if window_ns <= 0:
            raise ValueError(f"window must be positive, got {window_ns} ns")
        self.window = int(window_ns)
        self._events: dict[Any, deque[tuple[int, float, int]]] = {}
        self._sum: dict[Any, float] = {}
        self._count: dict[Any, int] = {}
        self._clock = np.iinfo(np.int64).min  # the latest query time: a stream never goes back

    def add(self, key: Any, time_ns: int, value: float, count: int = 1) -> None:
        """An event (or `count` events at one time whose values sum to `value`) becomes available."""
        q = self._events.get(key)
        if q is None:
            q = self._events[key] = deque()
            self._sum[key], self._count[key] = 0.0, 0
        elif q and time_ns < q[-1][0]:
            raise ValueError("events must arrive in time order within a group")
        q.append((time_ns, value, count))
        self._sum[key] += value
        self._count[key] += count

    def query(self, key: Any, time_ns: int) -> tuple[float, int]:
        """Sum and count of the group's events with time in [time_ns - window, time_ns) (those added so far)."""
        if time_ns < self._clock:
            raise ValueError("queries must come in time order: a stream cannot go back in time")
        self._clock = time_ns
        q = self._events.get(key)
        if q is None:
            return 0.0, 0
        start = time_ns - self.window
        while q and q[0][0] < start:
            _, v, c = q.popleft()
            self._sum[key] -= v
            self._count[key] -= c
        if not q:  # reset exactly: no rounding residue from adding and removing floats
            self._sum[key], self._count[key] = 0.0, 0
        total, n = self._sum[key], self._count[key]
        for t, v, c in reversed(q):  # events added for this very moment are not known yet
            if t < time_ns:
                break
            total, n = total - v, n - c
        return total, n


def stream_window_sums(event_time: Any, event_key: np.ndarray, value: np.ndarray, query_time: Any,
                       query_key: np.ndarray, window: Any) -> Aggregate:
    """For each query: sum and count of its group's events with event_time in [query_time - window, query_time).

    One pass over events and queries merged in time order (queries first at equal times). Events
    with a missing value or time are left out; events too old for every query are skipped.
    """
    import pandas as pd

    et = np.asarray(event_time, dtype="datetime64[ns]").astype(np.int64)
    qt = np.asarray(query_time, dtype="datetime64[ns]").astype(np.int64)
    w = int(pd.Timedelta(window).value)
    value = np.asarray(value, dtype=float)
    ok = np.isfinite(value) & (et != np.iinfo(np.int64).min)
    if len(qt):
        ok &= et >= qt.min() - w
    ev = np.flatnonzero(ok)
    # one merged stream: (time, 0 = query before 1 = event, position)
    times = np.concatenate([et[ev], qt])
    kinds = np.concatenate([np.ones(len(ev), np.int8), np.zeros(len(qt), np.int8)])
    where = np.concatenate([ev, np.arange(len(qt))])
    order = np.lexsort((kinds, times))
    state = SlidingWindows(w)
    sums, counts = np.zeros(len(qt)), np.zeros(len(qt), dtype=np.int64)
    ek, ev_values, qk = np.asarray(event_key).tolist(), value.tolist(), np.asarray(query_key).tolist()
    for t, kind, i in zip(times[order].tolist(), kinds[order].tolist(), where[order].tolist()):
        if kind == 1:
            state.add(ek[i], t, ev_values[i])
        else:
            sums[i], counts[i] = state.query(qk[i], t)
    return Aggregate(sums, counts)
