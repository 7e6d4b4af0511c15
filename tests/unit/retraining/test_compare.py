"""Comparing replays (workbench.retraining.compare): per-day costs and a paired bootstrap over days."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from workbench.errors import WorkbenchError
from workbench.retraining import compare


def frame(costs: list[float], rows: list[int], start: str = "2024-01-01") -> pd.DataFrame:
    return pd.DataFrame({"date": pd.date_range(start, periods=len(costs)), "rows": rows, "cost": costs})


def test_day_costs_line_up_the_options_by_day_and_restrict_to_days() -> None:
    daily = {"a": frame([1, 2, 3], [10, 20, 30]), "b": frame([4, 5, 6], [10, 20, 30])}
    C, rows = compare.day_costs(daily)
    np.testing.assert_array_equal(C, [[1, 4], [2, 5], [3, 6]])
    np.testing.assert_array_equal(rows, [10, 20, 30])
    C, rows = compare.day_costs(daily, pd.date_range("2024-01-02", "2024-01-09"))
    np.testing.assert_array_equal(C, [[2, 5], [3, 6]])
    assert compare.per_1000_days(C[:, 0], rows) == pytest.approx(1000 * 5 / 50)
    with pytest.raises(WorkbenchError, match="scored other rows"):
        compare.day_costs({"a": frame([1, 2], [10, 20]), "b": frame([1, 2], [10, 21])})


def test_day_difference_matches_a_brute_force_paired_bootstrap_over_days() -> None:
    rng = np.random.default_rng(3)
    rows = rng.integers(50, 150, 40)
    a, b = rng.gamma(2, 10, 40), rng.gamma(2, 9, 40)
    got = compare.day_difference(a, b, rows, fixed=2.5, n_boot=500, level=0.8, seed=7)
    assert got.value == pytest.approx(1000 * (a - b).sum() / rows.sum() + 2.5)
    draw = np.random.default_rng(7)
    value = 1000 * (a - b).sum() / rows.sum()  # bootstrap_rows evaluates the full sample first, then draws
    reps = []
    for _ in range(500):
        idx = draw.integers(0, 40, 40)
        reps.append(1000 * (a[idx] - b[idx]).sum() / rows[idx].sum() + 2.5)
    lo, hi = np.quantile(reps, [0.1, 0.9])
    assert (got.lo, got.hi) == pytest.approx((lo, hi))
    assert value + 2.5 == pytest.approx(got.value) and got.lo < got.value < got.hi and got.level == 0.8


def test_a_difference_that_holds_on_every_day_is_distinguishable_and_noise_is_not() -> None:
    rng = np.random.default_rng(0)
    rows = np.full(60, 100)
    base = rng.gamma(2, 50, 60)
    assert compare.day_difference(base + 5, base, rows).lo > 0, "5 more every day: always worse"
    noisy = compare.day_difference(base + rng.normal(0, 30, 60), base, rows)
    assert noisy.lo < 0 < noisy.hi, "zero-mean noise: not distinguishable"
    with pytest.raises(WorkbenchError, match="one cost"):
        compare.day_difference(base, base[:-1], rows)
