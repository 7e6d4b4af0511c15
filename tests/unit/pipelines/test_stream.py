"""The streaming job (workbench.pipelines.stream): window state, eviction at the edge, time order."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from workbench.pipelines import stream

H = 3_600_000_000_000  # an hour in ns


def test_the_window_keeps_events_from_its_start_and_drops_older_ones() -> None:
    w = stream.SlidingWindows(10 * H)
    w.add("a", 0, 1.0)
    w.add("a", 5 * H, 0.0)
    w.add("b", 5 * H, 1.0)
    assert w.query("a", 5 * H) == (1.0, 1), "an event at the moment of the query is not counted yet"
    assert w.query("a", 10 * H) == (1.0, 2), "an event exactly one window old is still in"
    assert w.query("a", 10 * H + 1) == (0.0, 1), "and it leaves right after"
    assert w.query("b", 16 * H) == (0.0, 0)
    assert w.query("missing", 16 * H) == (0.0, 0)


def test_events_that_arrive_together_count_as_many() -> None:
    w = stream.SlidingWindows(H)
    w.add(("AA", "JFK"), 0, 3.0, count=5)
    assert w.query(("AA", "JFK"), 1) == (3.0, 5)


def test_a_stream_cannot_go_back_in_time_and_needs_a_positive_window() -> None:
    w = stream.SlidingWindows(H)
    w.query("a", 10)
    with pytest.raises(ValueError, match="time order"):
        w.query("a", 5)
    with pytest.raises(ValueError, match="positive"):
        stream.SlidingWindows(0)


def test_float_sums_reset_exactly_when_a_window_empties() -> None:
    w = stream.SlidingWindows(H)
    for i, v in enumerate([0.1, 0.2, 0.7]):
        w.add("a", i, v)
    assert w.query("a", 10 * H) == (0.0, 0)


def test_stream_window_sums_skips_missing_values_and_old_events() -> None:
    base = np.datetime64("2024-01-01T00:00", "ns")
    et = base + np.array([0, 1, 2, 50], dtype="timedelta64[h]").astype("timedelta64[ns]")
    value = np.array([1.0, np.nan, 1.0, 1.0])
    keys = np.zeros(4, dtype=np.int64)
    qt = base + np.array([3, 60], dtype="timedelta64[h]").astype("timedelta64[ns]")
    agg = stream.stream_window_sums(et, keys, value, qt, np.zeros(2, dtype=np.int64), pd.Timedelta(hours=24))
    assert agg.count.tolist() == [2, 1] and agg.sum.tolist() == [2.0, 1.0]


def test_events_must_arrive_in_time_order_within_a_group() -> None:
    w = stream.SlidingWindows(H)
    w.add("a", 10, 1.0)
    w.add("b", 5, 1.0)
    with pytest.raises(ValueError, match="time order"):
        w.add("a", 5, 1.0)
