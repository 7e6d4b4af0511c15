"""Train/serving skew (workbench.pipelines.skew): the serving path matches the training pipeline on clean
data, and every injected bug is found row by row."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.pipelines import skew, windows

KEYS = {"rate_all": [], "rate_colour": ["colour"]}


def frame(n: int = 600, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Rows every 47 minutes: a numeric x (some missing), a colour whose frequency order is not
    alphabetical, a size, and calendar columns derived from the time."""
    rng = np.random.default_rng(seed)
    when = pd.Series(pd.Timestamp("2024-01-01 06:00") + pd.to_timedelta(np.arange(n) * 47, unit="min"))
    x = rng.normal(10, 3, n)
    x[rng.random(n) < 0.05] = np.nan
    df = pd.DataFrame({
        "when": when, "x": x, "hour": when.dt.hour.astype("int8"),
        "weekday": pd.Categorical(when.dt.day_name().str[:3], categories=["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]),
        "colour": rng.choice(["blue", "green", "red"], n, p=[0.2, 0.3, 0.5]),
        "size": rng.choice(["S", "M", "L"], n),
    })
    return df, (rng.random(n) < 0.3).astype(int)


def setup(df: pd.DataFrame, y: np.ndarray, *, lead="1D", delay="6h", window="2D"):
    spec = skew.fit_spec(df.iloc[: len(df) // 2], "when", ["x", "hour"], ["weekday", "colour", "size"], KEYS,
                         window=window, lead=lead, delay=delay)
    values = {n: windows.point_in_time(df["when"], windows.key_codes(df, k), y, window=window, lead=lead,
                                       delay=delay).rate for n, k in KEYS.items()}
    return spec, skew.batch_features(df, spec, values)


def test_the_spec_finds_calendar_columns_and_keeps_the_training_order() -> None:
    df, y = frame()
    spec, _ = setup(df, y)
    assert spec.derived == {"hour": "hour", "weekday": "day_name"}
    assert spec.categorical["weekday"][:2] == ["Mon", "Tue"], "a categorical dtype keeps its declared order"
    assert spec.categorical["colour"] == ["blue", "green", "red"]
    assert spec.frequency_order["colour"] == ["red", "green", "blue"]
    assert spec.columns == ["x", "hour", "weekday", "colour", "size", "rate_all", "rate_colour"]
    assert spec.kinds["colour"] == "categorical" and spec.kinds["rate_all"] == "numeric"
    assert skew.time_derived(df, "when", ["x", "colour"]) == {}


def test_the_clean_serving_path_reproduces_the_training_features_row_by_row() -> None:
    df, y = frame()
    spec, expected = setup(df, y)
    served = skew.OnlineService(spec, df, y).serve_all(df)
    assert not skew.mismatched_rows(expected, served, spec.kinds).any()
    assert np.isnan(expected["rate_all"].iloc[0]), "early rows have an empty window: a missing value to fill"
    report = skew.compare_rows(expected, served, spec.kinds)
    assert (report["mismatched"] == 0).all() and report["first_row"].isna().all()


@pytest.mark.parametrize("bug", list(skew.BUGS))
def test_each_injected_bug_is_found_by_the_row_wise_comparer(bug: str) -> None:
    df, y = frame()
    spec, expected = setup(df, y)
    served = skew.OnlineService(spec, df, y, bug, stale="1D").serve_all(df)
    bad = skew.mismatched_rows(expected, served, spec.kinds)
    assert bad.any(), f"{bug} went unnoticed"
    changed = set(skew.compare_rows(expected, served, spec.kinds).query("mismatched > 0").index)
    touched = {"float32": {"rate_all", "rate_colour"}, "unit": {"x"}, "stale_cache": {"rate_all", "rate_colour"},
               "fill": {"rate_all", "rate_colour"}, "category_codes": {"colour", "size"},
               "timezone": {"hour"}}[bug]
    assert touched <= changed, f"{bug} changed {changed}"


def test_a_small_enough_change_passes_a_looser_tolerance() -> None:
    df, y = frame()
    spec, expected = setup(df, y)
    served = skew.OnlineService(spec, df, y, "float32").serve_all(df)
    assert skew.mismatched_rows(expected, served, spec.kinds, skew.Tolerance(rtol=1e-9)).any()
    assert not skew.mismatched_rows(expected, served, spec.kinds, skew.Tolerance(rtol=1e-6)).any()


def test_tolerance_is_per_kind_and_missing_equals_missing() -> None:
    tol = skew.Tolerance(rtol=0.1)
    a, b = np.array([1.0, np.nan, 2.0, np.nan]), np.array([1.05, np.nan, 3.0, 1.0])
    assert tol.equal(a, b, "numeric").tolist() == [True, True, False, False]
    assert tol.equal(a, b, "categorical").tolist() == [False, True, False, False], "codes must match exactly"


def test_labels_arrive_in_groups_and_services_can_share_them() -> None:
    df, y = frame()
    spec, expected = setup(df, y)
    arrivals = skew.label_arrivals(spec, df, y)
    times, keys, sums, sizes = arrivals["rate_colour"]
    assert sum(sizes) == len(df) and sum(sums) == y.sum()
    assert set(keys) == {("blue",), ("green",), ("red",)} and arrivals["rate_all"][1][0] == ()
    assert np.all(np.diff(times) >= 0)
    requests = df.iloc[300:400]
    served = skew.OnlineService(spec, df, y, arrivals=arrivals).serve_all(requests)
    assert not skew.mismatched_rows(expected.iloc[300:400], served, spec.kinds).any(), "serving can start mid-stream"


def test_unknown_bugs_and_mismatched_logs_are_refused() -> None:
    df, y = frame(50)
    spec, expected = setup(df, y)
    with pytest.raises(ValueError, match="unknown bug"):
        skew.OnlineService(spec, df, y, "gremlins")
    with pytest.raises(ValueError, match="same rows"):
        skew.mismatched_rows(expected, expected.iloc[:10], spec.kinds)


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 10_000), st.sampled_from(["0h", "3h", "1D"]), st.sampled_from(["0h", "2h"]))
def test_clean_serving_matches_training_on_random_data(seed: int, lead: str, delay: str) -> None:
    df, y = frame(200, seed)
    spec, expected = setup(df, y, lead=lead, delay=delay, window="10h")
    served = skew.OnlineService(spec, df, y).serve_all(df)
    assert not skew.mismatched_rows(expected, served, spec.kinds).any()
