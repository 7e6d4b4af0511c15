"""Calibration: reliability bins, expected calibration error, and calibrators fitted on held-out scores.

A model is calibrated when, among cases given probability p, a share p is positive. Only then is
the cost-optimal threshold c_fp / (c_fp + c_fn), and only then does the mean prediction track the
positive rate (a label-free signal for monitoring).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["CALIBRATIONS", "expected_calibration_error", "fit_calibrator", "reliability_bins"]

CALIBRATIONS = ("none", "sigmoid", "isotonic")
_EPS = 1e-6


def _bin_index(p: np.ndarray, n_bins: int) -> np.ndarray:
    """Each probability's bin among n_bins equal-width bins on [0, 1], closed on the left ([0.1, 0.2)); 1.0 is in the last."""
    if n_bins < 1:
        raise ValueError(f"n_bins must be at least 1, got {n_bins}")
    if p.size and (p.min() < 0 or p.max() > 1):
        raise ValueError(f"probabilities must lie in [0, 1], got values in [{p.min():.3g}, {p.max():.3g}]")
    return np.minimum(np.floor(p * n_bins).astype(int), n_bins - 1)


def reliability_bins(y: np.ndarray, p: np.ndarray, n_bins: int = 10) -> pd.DataFrame:
    """Per non-empty probability bin [lo, hi): the number of cases, the mean predicted probability
    and the observed positive rate."""
    import pandas as pd

    y = np.asarray(y, dtype=float)
    p = np.asarray(p, dtype=float)
    idx = _bin_index(p, n_bins)
    count = np.bincount(idx, minlength=n_bins)
    sum_p = np.bincount(idx, weights=p, minlength=n_bins)
    sum_y = np.bincount(idx, weights=y, minlength=n_bins)
    keep = count > 0
    edges = np.arange(n_bins + 1) / n_bins
    return pd.DataFrame({
        "lo": edges[:-1][keep],
        "hi": edges[1:][keep],
        "count": count[keep],
        "mean_predicted": sum_p[keep] / count[keep],
        "observed_rate": sum_y[keep] / count[keep],
    })


def expected_calibration_error(y: np.ndarray, p: np.ndarray, n_bins: int = 10) -> float:
    """The gap |observed rate - mean prediction| averaged over equal-width bins, weighted by their share of cases."""
    bins = reliability_bins(y, p, n_bins)
    n = bins["count"].sum()
    return float(np.sum(bins["count"] / n * np.abs(bins["observed_rate"] - bins["mean_predicted"])))


def fit_calibrator(score: np.ndarray, y: np.ndarray, method: str) -> Callable[[np.ndarray], np.ndarray]:
    """A map from a model's scores (probabilities in [0, 1]) to calibrated ones, fitted on held-out (score, label) pairs.

    `sigmoid` (Platt scaling) fits a logistic regression on the log-odds of the score, so it can
    only stretch and shift them; `isotonic` fits any increasing step function (more flexible, needs
    more data); `none` returns the scores unchanged.
    """
    y = np.asarray(y).astype(int)
    score = np.asarray(score, dtype=float)
    if method == "none":
        return lambda s: np.asarray(s, dtype=float)
    if method == "sigmoid":
        from sklearn.linear_model import LogisticRegression

        def logit(s: np.ndarray) -> np.ndarray:
            s = np.clip(np.asarray(s, dtype=float), _EPS, 1 - _EPS)
            return np.log(s / (1 - s))[:, None]

        model = LogisticRegression(C=1e6, max_iter=1000).fit(logit(score), y)
        return lambda s: model.predict_proba(logit(s))[:, 1]
    if method == "isotonic":
        from sklearn.isotonic import IsotonicRegression

        iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(score, y)
        return lambda s: iso.predict(np.asarray(s, dtype=float))
    raise ValueError(f"calibration method {method!r} is not one of {', '.join(CALIBRATIONS)}")
