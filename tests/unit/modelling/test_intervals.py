"""Intervals (workbench.modelling.intervals) against statsmodels, scipy, brute force and simulated coverage."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

from workbench.modelling.intervals import (
    Interval,
    auc_difference,
    auc_interval,
    bootstrap_rows,
    distinguishable,
    mean_interval,
    paired_cost_difference,
    proportion_interval,
    repeats_interval,
    simplest_indistinct,
)


@pytest.mark.parametrize(("k", "n"), [(0, 200), (3, 50), (25, 50), (50, 50), (1, 1)])
def test_the_wilson_interval_equals_statsmodels(k: int, n: int) -> None:
    got = proportion_interval(k, n, level=0.95)
    lo, hi = proportion_confint(k, n, alpha=0.05, method="wilson")
    assert got.value == k / n and got.lo == pytest.approx(lo, abs=1e-12) and got.hi == pytest.approx(hi, abs=1e-12)
    assert f"{k} of {n}" in got.method


def test_the_repeats_interval_is_scipys_t_interval_and_a_single_repeat_has_none() -> None:
    v = np.array([0.71, 0.74, 0.69, 0.73, 0.70])
    lo, hi = stats.t.interval(0.9, len(v) - 1, loc=v.mean(), scale=stats.sem(v))
    got = repeats_interval(v, level=0.9)
    assert (got.lo, got.hi) == pytest.approx((lo, hi))
    assert np.isnan(repeats_interval(np.array([1.0])).lo)


def test_mean_interval_matches_a_brute_force_row_bootstrap() -> None:
    rng = np.random.default_rng(0)
    v = rng.choice([0.0, 5.0, 20.0], size=3000, p=[0.8, 0.15, 0.05])
    fast = mean_interval(v, n_boot=4000, level=0.9, seed=1)
    slow = bootstrap_rows(len(v), lambda idx: v[idx].mean(), n_boot=4000, level=0.9, seed=2)
    assert fast.value == slow.value == pytest.approx(v.mean())
    assert fast.lo == pytest.approx(slow.lo, rel=0.03) and fast.hi == pytest.approx(slow.hi, rel=0.03)


def test_a_90_percent_interval_covers_the_true_mean_about_90_percent_of_the_time() -> None:
    rng = np.random.default_rng(3)
    truth, hits, trials = 0.2, 0, 400
    for t in range(trials):
        sample = (rng.random(500) < truth).astype(float)
        hits += not mean_interval(sample, n_boot=500, level=0.9, seed=t).excludes(truth)
    covered = proportion_interval(hits, trials, level=0.99)
    assert covered.lo <= 0.9 <= covered.hi, f"coverage {hits / trials:.3f}"


def test_the_paired_cost_difference_is_exact_and_narrower_than_unpaired() -> None:
    rng = np.random.default_rng(4)
    y = rng.random(4000) < 0.1
    a = np.where(rng.random(4000) < 0.9, y, ~y)
    b = np.where(rng.random(4000) < 0.03, ~a, a)  # B disagrees with A on 3% of rows
    got = paired_cost_difference(y, a, b, 1.0, 10.0, n_boot=2000, seed=5)

    def cost(p: np.ndarray) -> float:
        return 1000 * (np.sum(p & ~y) * 1.0 + np.sum(~p & y) * 10.0) / len(y)

    assert got.value == pytest.approx(cost(a) - cost(b))
    def row_costs(p: np.ndarray) -> np.ndarray:
        return 1000 * (np.where(p & ~y, 1.0, 0) + np.where(~p & y, 10.0, 0))

    width_a, width_b = (np.ptp([(i := mean_interval(row_costs(p), seed=6)).lo, i.hi]) for p in (a, b))
    unpaired = np.hypot(width_a, width_b)  # the width of A - B from two independent intervals
    assert got.hi - got.lo < 0.6 * unpaired, "pairing cancels what both get right or wrong together"
    assert distinguishable(got) == got.excludes(0.0)


def test_intervals_read_and_refuse_nonsense() -> None:
    iv = Interval(1.0, 0.5, 2.0, 0.9, "x")
    assert iv.excludes(3.0) and not iv.excludes(1.5) and iv.text(".1f") == "1.0 [0.5, 2.0] (90%)"
    with pytest.raises(ValueError, match="level"):
        proportion_interval(1, 2, level=1.5)
    with pytest.raises(ValueError, match="0 <= k <= n"):
        proportion_interval(3, 2)
    with pytest.raises(ValueError, match="finite"):
        mean_interval(np.array([1.0, np.nan]))


def test_the_simplest_option_not_distinguishably_worse_than_the_best_wins() -> None:
    def gap(lo: float, hi: float) -> Interval:
        return Interval((lo + hi) / 2, lo, hi, 0.9, "test")

    order = ["none", "sigmoid", "isotonic"]
    assert simplest_indistinct(order, "isotonic", {"none": gap(0.1, 0.3), "sigmoid": gap(-0.01, 0.02)}) == "sigmoid"
    assert simplest_indistinct(order, "isotonic", {"none": gap(0.1, 0.3), "sigmoid": gap(0.01, 0.02)}) == "isotonic"
    assert simplest_indistinct(order, "sigmoid", {"none": gap(0.0, 0.3), "isotonic": gap(0.2, 0.3)}) == "none"
    assert simplest_indistinct(order, "none", {}) == "none"
    with pytest.raises(ValueError, match="not one of"):
        simplest_indistinct(order, "platt", {})


def test_rounded_text_shows_as_many_decimals_as_the_width_needs() -> None:
    assert Interval(12987.2, -754.4, 26570.1, 0.9, "x").rounded() == "12,987 [-754, 26,570] (90%)"
    assert Interval(0.0003, 0.00001, 0.00058, 0.9, "x").rounded() == "0.00030 [0.00001, 0.00058] (90%)"
    assert Interval(5.6, -3.8, 14.9, 0.9, "x").rounded() == "6 [-4, 15] (90%)"
    assert Interval(0.0, 0.0, 0.0, 0.9, "x").rounded() == "0 [0, 0] (90%)"


def _scores(n: int, seed: int, shift: float = 1.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.3).astype(int)
    return y, rng.normal(size=n) + shift * y, rng.integers(0, 25, n)


def test_auc_interval_equals_a_brute_force_cluster_bootstrap_with_scikit_learn() -> None:
    """Same seed, same resamples: whole groups drawn with replacement, AUC with scikit-learn's sample weights."""
    from sklearn.metrics import roc_auc_score

    y, a, groups = _scores(400, 1)
    b = a + np.random.default_rng(2).normal(size=400)  # a worse option on the same rows
    got = auc_interval(y, a, baseline=b, groups=groups, n_boot=200, level=0.8, seed=3)
    _, codes = np.unique(groups.astype(str), return_inverse=True)
    rng = np.random.default_rng(3)
    reps = []
    for _ in range(200):
        w = np.bincount(rng.integers(0, 25, 25), minlength=25)[codes]
        reps.append(roc_auc_score(y, a, sample_weight=w) - roc_auc_score(y, b, sample_weight=w))
    assert got.value == pytest.approx(roc_auc_score(y, a) - roc_auc_score(y, b), abs=1e-12)
    assert (got.lo, got.hi) == pytest.approx(tuple(np.quantile(reps, [0.1, 0.9])), abs=1e-12)
    assert "25 groups" in got.method and got.lo > 0, "the better option is distinguishably better"
    rows = auc_interval(y, a, n_boot=200, seed=3)
    assert rows.value == pytest.approx(roc_auc_score(y, a)) and "400 rows" in rows.method


def test_auc_difference_resamples_both_sets_and_covers_a_true_zero_about_as_often_as_its_level() -> None:
    hits = 0
    for seed in range(60):  # two sets from the same population: the true difference is zero
        y_a, s_a, _ = _scores(300, 100 + seed)
        y_b, s_b, _ = _scores(300, 200 + seed)
        iv = auc_difference(y_a, s_a, y_b, s_b, n_boot=150, level=0.8, seed=seed)
        hits += iv.lo <= 0 <= iv.hi
    assert 0.65 <= hits / 60 <= 0.95
    y_a, s_a, g_a = _scores(300, 1, shift=2.0)
    y_b, s_b, g_b = _scores(300, 2, shift=0.5)
    iv = auc_difference(y_a, s_a, y_b, s_b, groups_a=g_a, groups_b=g_b, n_boot=150)
    assert iv.lo > 0.1 and "50 pooled groups" in iv.method
