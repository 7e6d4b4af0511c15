"""Windowed aggregates of past events, joined to each row as of a time: point-in-time correct or naive.

A row's window feature (e.g. the delay rate of its carrier over the last 7 days) aggregates the
events of its group whose time lies in `[read - window, read)`, strictly before the moment it is
read. What makes it correct or leaky is which times are used:

- point in time (`point_in_time`): an event counts from the moment its value is *available* (event
  time + label delay), and a row is read at its *prediction time* (event time - lead; see
  `read_times` for what becomes available at that very moment);
- naive (`naive_calendar`): events count by calendar day, and a row sees its whole day (it is read
  at the end of its day), so it sees events that have not happened yet and its own label.

Both are the same as-of join with different times (`window_sums`): cumulative sums per group, read
at the window's end and start by `pandas.merge_asof` (or DuckDB's `ASOF JOIN`, `engine="duckdb"`).
A batch job that refreshes every `refresh` serves the value computed at the last refresh
(`refresh_times`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["ENGINES", "REFRESH_ORIGIN", "Aggregate", "key_codes", "naive_calendar", "point_in_time", "read_times",
           "refresh_times", "time_step", "window_sums"]

ENGINES = ("pandas", "duckdb")
REFRESH_ORIGIN = np.datetime64("1970-01-05T00:00:00", "ns")  # a Monday at midnight: weekly refreshes start on Mondays


@dataclass(frozen=True)
class Aggregate:
    """Per row: the sum and the number of the events in its window."""

    sum: np.ndarray
    count: np.ndarray

    @property
    def rate(self) -> np.ndarray:
        """The mean of the events in each row's window (NaN where the window is empty)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.count > 0, self.sum / np.maximum(self.count, 1), np.nan)


def _ns(times: Any) -> np.ndarray:
    """Times as datetime64[ns] (naive), from a Series, an Index or an array."""
    return np.asarray(times, dtype="datetime64[ns]")


def time_step(times: Any) -> pd.Timedelta:
    """The data's time step: the median gap between consecutive distinct times (a yearly survey: a year)."""
    import pandas as pd

    distinct = np.unique(_ns(times)[~np.isnat(_ns(times))])
    if len(distinct) < 2:
        raise ValueError("the time column needs at least two distinct times")
    return pd.Timedelta(int(np.median(np.diff(distinct).astype(np.int64))), unit="ns")


def key_codes(frame: pd.DataFrame, columns: Sequence[str]) -> np.ndarray:
    """An integer code of each row's group over `columns` (one group for all rows when columns is empty)."""
    if not columns:
        return np.zeros(len(frame), dtype=np.int64)
    codes = frame.groupby(list(columns), observed=True, sort=True, dropna=False).ngroup()
    return codes.to_numpy(dtype=np.int64)


def _cumulative(event_time: np.ndarray, event_key: np.ndarray, value: np.ndarray) -> pd.DataFrame:
    """Per group and distinct event time: running sum and count of the events up to that time."""
    import pandas as pd

    ok = np.isfinite(value) & ~np.isnat(event_time)
    key, t, v = event_key[ok], event_time[ok], value[ok]
    if not len(v):
        return pd.DataFrame({"key": key, "t": t, "cs": v, "cn": np.zeros(0, dtype=np.int64)})
    order = np.lexsort((t, key))  # by group, then time
    key, t, v = key[order], t[order], v[order]
    first = np.r_[True, key[1:] != key[:-1]]  # first event of each group
    last = np.r_[(key[1:] != key[:-1]) | (t[1:] != t[:-1]), True]  # last event of each (group, time)
    total = np.cumsum(v)
    before = np.repeat((total - v)[first], np.diff(np.r_[np.flatnonzero(first), len(v)]))  # sum before the group
    n = np.arange(1, len(v) + 1)
    n_before = np.repeat((n - 1)[first], np.diff(np.r_[np.flatnonzero(first), len(v)]))
    cum = pd.DataFrame({"key": key[last], "t": t[last], "cs": (total - before)[last], "cn": (n - n_before)[last]})
    return cum.sort_values("t", kind="stable").reset_index(drop=True)


def _asof_pandas(cum: pd.DataFrame, query_time: np.ndarray, query_key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The running sum and count of each query's group at its last event time strictly before the query time."""
    import pandas as pd

    n = len(query_time)
    left = pd.DataFrame({"key": query_key, "t": query_time, "row": np.arange(n)}).sort_values("t", kind="stable")
    m = pd.merge_asof(left, cum, on="t", by="key", direction="backward", allow_exact_matches=False)
    s, c = np.zeros(n), np.zeros(n, dtype=np.int64)
    rows = m["row"].to_numpy()
    s[rows] = m["cs"].fillna(0.0).to_numpy(dtype=float)
    c[rows] = m["cn"].fillna(0).to_numpy(dtype=np.int64)
    return s, c


def _asof_duckdb(cum: pd.DataFrame, query_time: np.ndarray, query_key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """As `_asof_pandas`, with DuckDB's ASOF LEFT JOIN."""
    import duckdb
    import pandas as pd

    n = len(query_time)
    left = pd.DataFrame({"k": query_key, "t": query_time, "qrow": np.arange(n)})
    right = cum.rename(columns={"key": "k"})
    con = duckdb.connect()
    try:
        con.register("q", left)
        con.register("e", right)
        m = con.execute("SELECT q.qrow, e.cs, e.cn FROM q ASOF LEFT JOIN e ON q.k = e.k AND q.t > e.t").df()
    finally:
        con.close()
    s, c = np.zeros(n), np.zeros(n, dtype=np.int64)
    rows = m["qrow"].to_numpy()
    s[rows] = m["cs"].fillna(0.0).to_numpy(dtype=float)
    c[rows] = m["cn"].fillna(0).to_numpy(dtype=np.int64)
    return s, c


def window_sums(event_time: Any, event_key: np.ndarray, value: np.ndarray, query_time: Any, query_key: np.ndarray,
                window: Any, *, engine: str = "pandas") -> Aggregate:
    """For each query: sum and count of its group's events with event_time in [query_time - window, query_time).

    Events with a missing value or time are left out. `window` is a timedelta (numpy, pandas or datetime).
    """
    import pandas as pd

    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    et, qt = _ns(event_time), _ns(query_time)
    w = pd.Timedelta(window).to_timedelta64()
    if w <= np.timedelta64(0, "ns"):
        raise ValueError(f"window must be positive, got {window}")
    value = np.asarray(value, dtype=float)
    event_key, query_key = np.asarray(event_key, dtype=np.int64), np.asarray(query_key, dtype=np.int64)
    if not len(et) == len(event_key) == len(value) or len(qt) != len(query_key):
        raise ValueError("event_time, event_key and value need one entry per event; query_time and query_key one per query")
    cum = _cumulative(et, event_key, value)
    asof = _asof_duckdb if engine == "duckdb" else _asof_pandas
    # each distinct (group, time) is joined once: calendar days and batch refreshes repeat a lot
    order = np.lexsort((qt, query_key))
    t_sorted, k_sorted = qt[order], query_key[order]
    new = np.r_[True, (t_sorted[1:] != t_sorted[:-1]) | (k_sorted[1:] != k_sorted[:-1])] if len(qt) else np.zeros(0, bool)
    inverse = np.empty(len(qt), dtype=np.int64)
    inverse[order] = np.cumsum(new) - 1
    ut, uk = t_sorted[new], k_sorted[new]
    end_s, end_c = asof(cum, ut, uk)
    start_s, start_c = asof(cum, ut - w, uk)
    return Aggregate((end_s - start_s)[inverse], (end_c - start_c)[inverse])


def refresh_times(times: Any, every: Any) -> np.ndarray:
    """The last refresh at or before each time, for a batch job run every `every` from Monday 1970-01-05 00:00.

    A run's values are served until the next run.
    """
    import pandas as pd

    t = _ns(times)
    step = int(pd.Timedelta(every).value)
    if step <= 0:
        raise ValueError(f"refresh interval must be positive, got {every}")
    since = (t - REFRESH_ORIGIN).astype(np.int64)
    return REFRESH_ORIGIN + (np.floor_divide(since, step) * step).astype("timedelta64[ns]")


def read_times(times: Any, lead: Any, delay: Any, refresh: Any = None) -> np.ndarray:
    """When each row's window is read: its prediction time (time - lead), snapped back to the last refresh.

    What becomes available at the very moment of a prediction counts (e.g. last year's survey,
    released the day this year's rows are scored), so the window is read one nanosecond later,
    except with neither lead nor delay: then a row's own label would become available at its own
    prediction time, and it must not count.
    """
    import pandas as pd

    lead, delay = pd.Timedelta(lead), pd.Timedelta(delay)
    asked = _ns(times) - lead.to_timedelta64()
    if refresh is not None:
        asked = refresh_times(asked, pd.Timedelta(refresh).to_timedelta64())
    return asked + np.timedelta64(int(lead + delay > pd.Timedelta(0)), "ns")


def point_in_time(times: Any, keys: np.ndarray, values: np.ndarray, *, window: Any, lead: Any, delay: Any,
                  refresh: Any = None, engine: str = "pandas") -> Aggregate:
    """Each row's window aggregate as served at its prediction time, from values already available then.

    An event's value is available at its time + `delay`; a row is predicted at its time - `lead`
    (snapped back to the last refresh when `refresh` is given); its window holds the events of its
    group available in the `window` up to then (`read_times`). A row never sees its own label.
    """
    import pandas as pd

    available = _ns(times) + pd.Timedelta(delay).to_timedelta64()
    return window_sums(available, keys, values, read_times(times, lead, delay, refresh), keys, pd.Timedelta(window),
                       engine=engine)


def naive_calendar(times: Any, keys: np.ndarray, values: np.ndarray, *, window: Any, engine: str = "pandas") -> Aggregate:
    """Each row's window aggregate by calendar day: its group's events on the `window` days up to its own day.

    The row's own day counts whole (it is read at the end of the day), so the row sees events later
    that day and its own value.
    """
    import pandas as pd

    day = _ns(times).astype("datetime64[D]").astype("datetime64[ns]")
    end_of_day = day + np.timedelta64(1, "D").astype("timedelta64[ns]")
    return window_sums(day, keys, values, end_of_day, keys, pd.Timedelta(window), engine=engine)
