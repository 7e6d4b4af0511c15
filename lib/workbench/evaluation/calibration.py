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

    from workbench.modelling.intervals import Interval

__all__ = ["CALIBRATIONS", "ece_interval", "expected_calibration_error", "fit_calibrator", "reliability_bins"]

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


def ece_interval(y: np.ndarray, p: np.ndarray, p_other: np.ndarray | None = None, *, n_bins: int = 10,
                 n_boot: int = 1000, level: float = 0.9, seed: int = 0) -> Interval:
    """The ECE of p with a percentile bootstrap interval over rows; with p_other, the paired
    difference ECE(p) - ECE(p_other) on the same resampled rows.

    Per bin, count x |observed rate - mean prediction| is |sum of (y - p)|, so a resample's ECE is
    the sum over bins of |sum of (y - p)| divided by the number of rows.
    """
    from workbench.modelling.intervals import bootstrap_rows

    y = np.asarray(y, dtype=float)
    arms = [np.asarray(q, dtype=float) for q in ([p] if p_other is None else [p, p_other])]
    if any(len(q) != len(y) for q in arms):
        raise ValueError("y and the probabilities must have one entry per row")
    bins = [_bin_index(q, n_bins) for q in arms]
    gaps = [y - q for q in arms]

    def ece(rows: np.ndarray, k: int) -> float:
        return float(np.abs(np.bincount(bins[k][rows], weights=gaps[k][rows], minlength=n_bins)).sum() / len(rows))

    def statistic(rows: np.ndarray) -> float:
        return ece(rows, 0) - (ece(rows, 1) if len(arms) == 2 else 0.0)

    return bootstrap_rows(len(y), statistic, n_boot=n_boot, level=level, seed=seed)


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
