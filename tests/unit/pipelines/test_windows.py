"""Window features (workbench.pipelines.windows): as-of joins against brute force, point in time vs naive."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.pipelines import stream, windows

T0 = np.datetime64("2024-03-04T00:00:00", "ns")  # a Monday
MIN = np.timedelta64(60_000_000_000, "ns")


def brute_force(event_time, event_key, value, query_time, query_key, window):
    """Sum and count of each query's group's events in [q - window, q), by a double loop."""
    sums, counts = [], []
    for q, k in zip(query_time, query_key):
        inside = [v for t, kk, v in zip(event_time, event_key, value)
                  if kk == k and q - window <= t < q and np.isfinite(v)]
        sums.append(sum(inside))
        counts.append(len(inside))
    return np.array(sums, dtype=float), np.array(counts)


@st.composite
def event_streams(draw, values=st.sampled_from([0.0, 1.0])):
    """Events and queries on a coarse minute grid (so that ties and window edges happen), with a few groups."""
    n, m = draw(st.integers(0, 40)), draw(st.integers(1, 25))
    minutes = st.integers(0, 60)
    et = T0 + MIN * np.array(draw(st.lists(minutes, min_size=n, max_size=n)), dtype=np.int64)
    ek = np.array(draw(st.lists(st.integers(0, 2), min_size=n, max_size=n)), dtype=np.int64)
    ev = np.array(draw(st.lists(values, min_size=n, max_size=n)), dtype=float)
    qt = T0 + MIN * np.array(draw(st.lists(minutes, min_size=m, max_size=m)), dtype=np.int64)
    qk = np.array(draw(st.lists(st.integers(0, 2), min_size=m, max_size=m)), dtype=np.int64)
    window = MIN * draw(st.integers(1, 30))
    return et, ek, ev, qt, qk, window


@settings(max_examples=100, deadline=None)
@given(event_streams())
def test_as_of_join_matches_brute_force(data) -> None:
    et, ek, ev, qt, qk, window = data
    agg = windows.window_sums(et, ek, ev, qt, qk, window)
    sums, counts = brute_force(et, ek, ev, qt, qk, window)
    assert np.array_equal(agg.count, counts)
    assert np.array_equal(agg.sum, sums)


@settings(max_examples=100, deadline=None)
@given(event_streams())
def test_batch_and_stream_agree_row_by_row_on_random_event_streams(data) -> None:
    et, ek, ev, qt, qk, window = data
    batch = windows.window_sums(et, ek, ev, qt, qk, window)
    online = stream.stream_window_sums(et, ek, ev, qt, qk, window)
    assert np.array_equal(batch.count, online.count)
    assert np.array_equal(batch.sum, online.sum)
    assert np.array_equal(np.isnan(batch.rate), np.isnan(online.rate))


@settings(max_examples=60, deadline=None)
@given(event_streams(values=st.floats(-100, 100, allow_nan=False)))
def test_batch_and_stream_agree_on_real_values_up_to_rounding(data) -> None:
    et, ek, ev, qt, qk, window = data
    batch = windows.window_sums(et, ek, ev, qt, qk, window)
    online = stream.stream_window_sums(et, ek, ev, qt, qk, window)
    assert np.array_equal(batch.count, online.count)
    assert np.allclose(batch.sum, online.sum, rtol=1e-9, atol=1e-9)


@settings(max_examples=25, deadline=None)
@given(event_streams())
def test_duckdb_asof_join_gives_the_same_windows_as_pandas(data) -> None:
    et, ek, ev, qt, qk, window = data
    a = windows.window_sums(et, ek, ev, qt, qk, window)
    b = windows.window_sums(et, ek, ev, qt, qk, window, engine="duckdb")
    assert np.array_equal(a.count, b.count) and np.array_equal(a.sum, b.sum)


def planted():
    """Daily rows of one group over 40 days at noon, all labels 0 (a positive event is planted by the test)."""
    times = pd.Series(pd.date_range("2024-01-01 12:00", periods=40, freq="D"))
    keys = np.zeros(40, dtype=np.int64)
    y = np.zeros(40)
    return times, keys, y


@pytest.mark.parametrize(("lead", "delay"), [(0, 0), (0, 1), (21, 1), (3, 2.5)])
def test_a_planted_future_event_is_never_visible_point_in_time_but_the_naive_join_sees_it(lead: float, delay: float) -> None:
    times, keys, y = planted()
    target = 30  # the row whose features we look at
    for offset_hours in (-24 * (lead + delay) + 1, 0, 5, 48):  # label available after the prediction time
        t = times.copy()
        extra_time = times[target] + pd.Timedelta(hours=offset_hours)
        t.loc[len(t)] = extra_time
        k, v = np.r_[keys, 0], np.r_[y, 1.0]
        pit = windows.point_in_time(t, k, v, window="7D", lead=pd.Timedelta(days=lead), delay=pd.Timedelta(days=delay))
        assert pit.sum[target] == 0, f"an event {offset_hours} h from the row leaked into its point-in-time window"
    same_day = times.copy()
    same_day.loc[len(same_day)] = times[target] + pd.Timedelta(hours=5)  # later the same day
    naive = windows.naive_calendar(same_day, np.r_[keys, 0], np.r_[y, 1.0], window="7D")
    assert naive.sum[target] == 1, "the naive calendar-day join sees the later event of the same day"


def test_an_event_is_visible_once_its_label_is_available_before_the_prediction_time() -> None:
    times = pd.Series(pd.to_datetime(["2024-01-01 08:00", "2024-01-23 09:00"]))
    keys, y = np.zeros(2, dtype=np.int64), np.array([1.0, 0.0])
    # row 1 is predicted 21 days ahead (2024-01-02 09:00); row 0's label arrived 1 day after it (2024-01-02 08:00)
    seen = windows.point_in_time(times, keys, y, window="7D", lead="21D", delay="1D")
    assert (seen.count[1], seen.sum[1]) == (1, 1.0)
    later = windows.point_in_time(times, keys, y, window="7D", lead="21D", delay="1D2h")  # arrives at 10:00
    assert later.count[1] == 0
    same = windows.point_in_time(times, keys, y, window="7D", lead="21D", delay="1D1h")  # arrives at 09:00 exactly
    assert same.count[1] == 1, "what arrives at the very moment of the prediction is known"
    naive = windows.naive_calendar(times, keys, y, window="7D")
    assert naive.count[0] == 1 and naive.sum[0] == 1.0, "naively a row always sees its own label"


def test_refresh_snaps_to_the_last_run_of_the_batch_job() -> None:
    t = pd.Series(pd.to_datetime(["2024-03-06 13:45", "2024-03-10 23:59", "2024-03-11 00:00"]))
    hourly = windows.refresh_times(t, pd.Timedelta(hours=1))
    daily = windows.refresh_times(t, "1D")
    weekly = windows.refresh_times(t, "7D")
    assert list(pd.to_datetime(hourly)) == list(pd.to_datetime(["2024-03-06 13:00", "2024-03-10 23:00", "2024-03-11 00:00"]))
    assert list(pd.to_datetime(daily)) == list(pd.to_datetime(["2024-03-06", "2024-03-10", "2024-03-11"]))
    assert list(pd.to_datetime(weekly)) == list(pd.to_datetime(["2024-03-04", "2024-03-04", "2024-03-11"])), "Mondays"
    with pytest.raises(ValueError, match="positive"):
        windows.refresh_times(t, "0h")


def test_a_batch_refresh_serves_the_value_of_its_last_run() -> None:
    rng = np.random.default_rng(1)
    times = pd.Series(pd.to_datetime("2024-01-01") + pd.to_timedelta(np.sort(rng.integers(0, 60 * 24 * 30, 400)), unit="min"))
    y = rng.integers(0, 2, 400).astype(float)
    keys = np.zeros(400, dtype=np.int64)
    daily = windows.point_in_time(times, keys, y, window="3D", lead="2D", delay="1D", refresh="1D")
    run = pd.Series(times - pd.Timedelta(days=2)).dt.floor("D")  # the batch job's last run before each prediction
    at_run = windows.window_sums(times + pd.Timedelta(days=1), keys, y, run, keys, "3D")
    assert np.array_equal(daily.count, at_run.count) and np.array_equal(daily.sum, at_run.sum)


def test_time_step_key_codes_and_rates() -> None:
    years = pd.Series(pd.to_datetime(["2015-01-01", "2016-01-01", "2017-01-01", "2018-01-01"]).repeat(3))
    assert windows.time_step(years) == pd.Timedelta(days=365)
    with pytest.raises(ValueError, match="two distinct"):
        windows.time_step(pd.Series(pd.to_datetime(["2020-01-01"] * 3)))
    frame = pd.DataFrame({"a": ["x", "y", "x", "y"], "b": [1, 1, 2, 1]})
    codes = windows.key_codes(frame, ["a", "b"])
    assert codes[1] == codes[3] and len(set(codes)) == 3
    assert (windows.key_codes(frame, []) == 0).all()
    agg = windows.Aggregate(np.array([1.0, 0.0]), np.array([4, 0]))
    assert agg.rate[0] == 0.25 and np.isnan(agg.rate[1])


def test_bad_arguments_are_refused_with_a_message() -> None:
    t = np.array([T0])
    with pytest.raises(ValueError, match="engine"):
        windows.window_sums(t, [0], [1.0], t, [0], "1h", engine="spark")
    with pytest.raises(ValueError, match="positive"):
        windows.window_sums(t, [0], [1.0], t, [0], "0h")
    with pytest.raises(ValueError, match="one entry per event"):
        windows.window_sums(t, [0, 1], [1.0], t, [0], "1h")


def test_with_neither_lead_nor_delay_a_row_never_sees_its_own_label_or_its_own_moment() -> None:
    times = pd.Series(pd.to_datetime(["2024-01-01 08:00", "2024-01-01 08:00", "2024-01-01 09:00"]))
    keys, y = np.zeros(3, dtype=np.int64), np.array([1.0, 1.0, 0.0])
    agg = windows.point_in_time(times, keys, y, window="1D", lead=0, delay=0)
    assert agg.count.tolist() == [0, 0, 2]
    read = windows.read_times(times, 0, 0)
    assert (read == times.to_numpy()).all()
    assert (windows.read_times(times, "1h", 0) == (times - pd.Timedelta("1h")).to_numpy() + np.timedelta64(1, "ns")).all()


def test_yearly_data_with_a_one_year_label_delay_sees_exactly_the_previous_year() -> None:
    years = pd.Series(pd.to_datetime(["2015-01-01", "2016-01-01", "2017-01-01", "2018-01-01"]).repeat(2))
    y = np.array([1, 1, 0, 0, 1, 0, 1, 1], dtype=float)
    agg = windows.point_in_time(years, np.zeros(8, dtype=np.int64), y, window="365D", lead=0, delay="365D")
    assert agg.count.tolist() == [0, 0, 2, 2, 2, 2, 2, 2]
    assert agg.rate[2:].tolist() == [1.0, 1.0, 0.0, 0.0, 0.5, 0.5], "each year sees the year before, leap years too"
