"""Cross-fitting (workbench.evaluation.crossfit): every row judged by a fit that did not see it."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.isotonic import IsotonicRegression
from sklearn.model_selection import StratifiedKFold

from workbench.evaluation.crossfit import crossfit_decisions, crossfit_probabilities, fold_ids


def data(n: int = 600, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    s = rng.random(n)
    return (rng.random(n) < s ** 2).astype(int), s


def test_folds_are_scikit_learns_stratified_folds() -> None:
    y, _ = data()
    got = fold_ids(y, 3, seed=4)
    for k, (_, rows) in enumerate(StratifiedKFold(3, shuffle=True, random_state=4).split(np.zeros(len(y)), y)):
        assert set(np.flatnonzero(got == k)) == set(rows)
    with pytest.raises(ValueError, match="at least 2 folds"):
        fold_ids(y, 1)


def brute_threshold(y: np.ndarray, s: np.ndarray, c_fp: float, c_fn: float) -> float:
    candidates = np.r_[np.inf, np.unique(s)[::-1]]
    cost = [c_fp * np.sum((s >= t) & (y == 0)) + c_fn * np.sum((s < t) & (y == 1)) for t in candidates]
    return float(candidates[int(np.argmin(cost))])


def test_each_fold_is_flagged_at_the_cheapest_threshold_of_the_other_fold() -> None:
    y, s = data()
    got = crossfit_decisions(y, s, 1.0, 3.0, seed=1)
    fold = fold_ids(y, 2, seed=1)
    for k in (0, 1):
        t = brute_threshold(y[fold != k], s[fold != k], 1.0, 3.0)
        np.testing.assert_array_equal(got[fold == k], (s[fold == k] >= t).astype("int8"))


def test_cross_fitted_isotonic_is_not_graded_on_the_rows_it_memorised() -> None:
    # scores that carry no information: in-sample isotonic regression still "finds" structure
    rng = np.random.default_rng(2)
    s, y = rng.random(400), (rng.random(400) < 0.3).astype(int)
    in_sample = IsotonicRegression(out_of_bounds="clip").fit(s, y).predict(s)
    crossed = crossfit_probabilities(y, s, "isotonic", seed=0)
    brier_in, brier_cross = np.mean((in_sample - y) ** 2), np.mean((crossed - y) ** 2)
    assert brier_in < y.var() < brier_cross, "in-sample beats the constant rate; out of fold it cannot"
    fold = fold_ids(y, 2, seed=0)
    other = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(s[fold == 1], y[fold == 1])
    np.testing.assert_allclose(crossed[fold == 0], other.predict(s[fold == 0]))
    np.testing.assert_array_equal(crossfit_probabilities(y, s, "none"), s)
