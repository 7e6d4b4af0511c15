"""Performance without labels: a classifier's expected metrics from its calibrated probabilities.

Confidence-based performance estimation: if p is a calibrated probability that a row is positive,
deciding positive (p >= threshold) is a false positive with probability 1 - p and deciding negative
is a false negative with probability p. Summed over a window, these give the expected confusion
matrix, hence expected accuracy and business cost, before any label arrives. The estimate stays
right under covariate shift (P(x) moves, P(y | x) stays) and goes wrong when P(y | x) moves:
under concept shift, and under label shift too (P(y) moves with P(x | y) fixed, so by Bayes' rule
P(y | x) moves with it). `prior_adjusted` gives the probabilities pure label shift to a known
positive rate implies, which separates the two once labels arrive.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from workbench.modelling.metrics import confusion, cost_from_counts, per_1000

__all__ = ["expected_metrics", "prior_adjusted", "realised_metrics"]


def expected_metrics(p: np.ndarray, threshold: float, cost_fp: float, cost_fn: float, *,
                     decided_on: np.ndarray | None = None) -> dict[str, Any]:
    """Expected accuracy, cost per 1,000 decisions and positive rate if `p` is calibrated, with their SEs.

    The standard errors (`*_se`) are how far the realised value is expected to scatter around the
    estimate in a window of this size when the probabilities are calibrated. The decisions are
    `decided_on >= threshold` when given (e.g. the model's own scores, while `p` are probabilities
    adjusted for a shift), else `p >= threshold`.
    """
    p = np.asarray(p, dtype=float)
    flag = (p if decided_on is None else np.asarray(decided_on, dtype=float)) >= threshold
    n = len(p)
    wrong = np.where(flag, 1 - p, p)  # probability that each decision is an error
    cost = np.where(flag, cost_fp, cost_fn)
    var = p * (1 - p)
    return {
        "accuracy": float(1 - wrong.mean()),
        "accuracy_se": float(np.sqrt(var.sum()) / n),
        "cost_per_1000": per_1000(np.sum(wrong * cost), n),
        "cost_per_1000_se": per_1000(np.sqrt(np.sum(var * cost**2)), n),
        "positive_rate": float(p.mean()),
        "flag_rate": float(flag.mean()),
    }


def realised_metrics(y: np.ndarray, p: np.ndarray, threshold: float, cost_fp: float,
                     cost_fn: float) -> dict[str, float]:
    """The same metrics once the labels `y` (0/1) are known."""
    tn, fp, fn, tp = confusion(y, np.asarray(p) >= threshold)
    n = len(y)
    return {"accuracy": (tp + tn) / n, "cost_per_1000": cost_from_counts(fp, fn, n, cost_fp, cost_fn),
            "positive_rate": float(np.mean(y)), "flag_rate": (tp + fp) / n}


def prior_adjusted(p: np.ndarray, prior: float, new_prior: float) -> np.ndarray:
    """Calibrated probabilities `p` (learned where the positive rate was `prior`) as they would be if
    only the positive rate moved to `new_prior` (pure label shift: P(x | y) unchanged).

    Bayes' rule: the odds of each row are multiplied by the ratio of the new to the old prior odds.
    """
    if not (0 < prior < 1 and 0 <= new_prior <= 1):
        raise ValueError(f"priors must be rates, the old one strictly between 0 and 1; got {prior}, {new_prior}")
    p = np.asarray(p, dtype=float)
    up, down = new_prior / prior, (1 - new_prior) / (1 - prior)
    return p * up / (p * up + (1 - p) * down)
