"""Calibration (workbench.evaluation.calibration): ECE worked by hand, bins against scikit-learn, calibrators that calibrate."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.calibration import calibration_curve

from workbench.evaluation.calibration import ece_interval, expected_calibration_error, fit_calibrator, reliability_bins


def test_ece_of_a_case_worked_by_hand() -> None:
    # 100 cases at p = 0.25 with 25 positives (gap 0) and 100 at p = 0.85 with 50 (gap 0.35): ECE = 0.175
    p = np.r_[np.full(100, 0.25), np.full(100, 0.85)]
    y = np.r_[np.ones(25), np.zeros(75), np.ones(50), np.zeros(50)]
    assert expected_calibration_error(y, p) == pytest.approx(0.175, abs=1e-12)
    # a constant prediction equal to the positive rate is calibrated
    assert expected_calibration_error(y, np.full(200, y.mean())) == pytest.approx(0.0, abs=1e-12)


def test_ece_is_near_zero_for_probabilities_calibrated_by_construction() -> None:
    rng = np.random.default_rng(3)
    p = rng.beta(1, 6, size=200_000)
    y = (rng.random(p.size) < p).astype(int)
    assert expected_calibration_error(y, p) < 0.005
    assert expected_calibration_error(y, np.sqrt(p)) > 0.1  # over-confident in positives


def test_reliability_bins_match_scikit_learns_calibration_curve() -> None:
    rng = np.random.default_rng(5)
    p = rng.beta(2, 5, size=5000)
    y = (rng.random(p.size) < p ** 1.3).astype(int)
    bins = reliability_bins(y, p, n_bins=10)
    observed, predicted = calibration_curve(y, p, n_bins=10, strategy="uniform")
    np.testing.assert_allclose(bins["observed_rate"], observed, rtol=1e-12)
    np.testing.assert_allclose(bins["mean_predicted"], predicted, rtol=1e-12)
    assert bins["count"].sum() == p.size


def test_reliability_bins_are_closed_on_the_left_and_one_is_in_the_last_bin() -> None:
    bins = reliability_bins(np.array([0, 1, 1, 0]), np.array([0.0, 0.2, 1.0, 0.19999]), n_bins=5)
    assert bins[["lo", "hi", "count"]].values.tolist() == [[0.0, 0.2, 2], [0.2, 0.4, 1], [0.8, 1.0, 1]]
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        reliability_bins(np.array([0, 1]), np.array([0.5, 1.2]))


def _distorted(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Scores that are too confident: true log-odds are half the score's log-odds, plus 0.4."""
    rng = np.random.default_rng(seed)
    true_logit = rng.normal(-1.5, 1.2, size=n)
    score = 1 / (1 + np.exp(-(2 * (true_logit - 0.4))))
    p = 1 / (1 + np.exp(-true_logit))
    return score, p, (rng.random(n) < p).astype(int)


def test_sigmoid_calibration_recovers_a_distortion_of_the_log_odds() -> None:
    score, _, y = _distorted(100_000, 0)
    f = fit_calibrator(score, y, "sigmoid")
    fresh, p_true, _ = _distorted(2000, 1)
    assert np.max(np.abs(f(fresh) - p_true)) < 0.02


def test_isotonic_calibration_is_increasing_and_calibrates_fresh_data() -> None:
    score, _, y = _distorted(20_000, 2)
    f = fit_calibrator(score, y, "isotonic")
    fresh, _, y_fresh = _distorted(20_000, 3)
    grid = np.linspace(0, 1, 501)
    assert np.all(np.diff(f(grid)) >= 0)
    assert expected_calibration_error(y_fresh, f(fresh)) < 0.3 * expected_calibration_error(y_fresh, fresh)


def test_no_calibration_is_the_identity_and_unknown_methods_are_refused() -> None:
    s = np.array([0.1, 0.7])
    assert np.array_equal(fit_calibrator(s, np.array([0, 1]), "none")(s), s)
    with pytest.raises(ValueError, match="isotonic"):
        fit_calibrator(s, np.array([0, 1]), "beta")


def test_the_ece_interval_is_a_row_bootstrap_of_the_ece_and_of_a_paired_difference() -> None:
    rng = np.random.default_rng(8)
    p = rng.beta(1, 4, size=1500)
    y = (rng.random(p.size) < p).astype(int)
    q = np.sqrt(p)  # over-confident
    one = ece_interval(y, q, n_boot=400, seed=2)
    assert one.value == pytest.approx(expected_calibration_error(y, q), abs=1e-12)
    pair = ece_interval(y, q, p, n_boot=400, seed=2)
    assert pair.value == pytest.approx(expected_calibration_error(y, q) - expected_calibration_error(y, p), abs=1e-12)
    # the same resamples through the slow, independent route (reliability bins per resample)
    r = np.random.default_rng(2)
    ref = []
    for _ in range(400):
        i = r.integers(0, y.size, y.size)
        ref.append(expected_calibration_error(y[i], q[i]) - expected_calibration_error(y[i], p[i]))
    lo, hi = np.quantile(ref, [0.05, 0.95])
    assert pair.lo == pytest.approx(lo, abs=1e-12) and pair.hi == pytest.approx(hi, abs=1e-12)
    assert pair.lo > 0, "the over-confident probabilities are distinguishably worse calibrated"
    with pytest.raises(ValueError, match="one entry per row"):
        ece_interval(y, q[:-1])
