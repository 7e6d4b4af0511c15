"""Features of the recent past (workbench.serving.staleness), against a brute-force count."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.serving.staleness import RecentRates, batch_ages


def brute(known: np.ndarray, y: np.ndarray, groups: np.ndarray, at: np.ndarray, window: float) -> np.ndarray:
    out = np.full(len(at), np.nan)
    for i in range(len(at)):
        inside = (groups == groups[i]) & (known >= at[i] - window) & (known < at[i])
        if inside.any():
            out[i] = y[inside].mean()
    return out


def test_each_rows_rate_counts_its_groups_labels_known_in_the_window_before_it() -> None:
    rng = np.random.default_rng(0)
    n = 600
    known = rng.uniform(0, 50 * 3600, n).round()  # seconds; some ties
    known[:20] = known[20]  # a block of identical times
    y = rng.integers(0, 2, n)
    groups = rng.choice(["a", "b", "c"], n)
    at = known + rng.uniform(-5 * 3600, 5 * 3600, n)
    at[:5] = known[:5]  # a label known exactly at the moment is not yet known
    rates = RecentRates(known, y, {"g": groups, "all": np.zeros(n)})
    for hours in (1, 6):
        np.testing.assert_allclose(rates.rate("g", at, hours * 3600), brute(known, y, groups, at, hours * 3600))
        np.testing.assert_allclose(rates.rate("all", at, hours * 3600), brute(known, y, np.zeros(n), at, hours * 3600))
    rows = np.array([3, 10, 599])
    np.testing.assert_allclose(rates.rate("g", at[rows], 3600, rows), brute(known, y, groups, at, 3600)[rows])
    X, names = rates.features(at, [1, 6])
    assert names == ["recent_rate_g_1h", "recent_rate_g_6h", "recent_rate_all_1h", "recent_rate_all_6h"]
    assert X.shape == (n, 4) and X.dtype == np.float32


def test_moments_far_before_or_after_every_event_see_no_labels_or_all_of_them() -> None:
    known = np.array([100.0, 200.0, 300.0])
    rates = RecentRates(known, np.array([1, 0, 1]), {"all": np.zeros(3)})
    assert np.isnan(rates.rate("all", np.array([-1e9, 50.0, 100.0]), 1e12)).all()
    assert rates.rate("all", np.array([1e9, 1e9, 1e9]), 2e9) == pytest.approx([2 / 3] * 3)


def test_batch_ages_are_uniform_over_the_period() -> None:
    ages = batch_ages(20_000, 24, seed=1)
    assert ages.min() >= 0 and ages.max() < 24 * 3600
    assert ages.mean() == pytest.approx(12 * 3600, rel=0.02)
    np.testing.assert_array_equal(ages, batch_ages(20_000, 24, seed=1))
