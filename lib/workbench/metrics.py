"""Metrics: what a decision costs, the threshold that costs least, and a fast ROC-AUC."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["bayes_threshold", "best_threshold", "confusion", "cost_per_1000", "evaluate", "roc_auc"]


def bayes_threshold(cost_fp: float, cost_fn: float) -> float:
    """The probability above which flagging costs less in expectation: c_fp / (c_fp + c_fn).

    It is the cost-optimal threshold for calibrated probabilities.
    """
    total = cost_fp + cost_fn
    if total <= 0:
        raise ValueError("at least one of cost_fp and cost_fn must be positive")
    return cost_fp / total


def confusion(y: np.ndarray, pred: np.ndarray) -> tuple[int, int, int, int]:
    """Counts (tn, fp, fn, tp) of 0/1 predictions against 0/1 labels."""
    y = np.asarray(y).astype(bool)
    pred = np.asarray(pred).astype(bool)
    tp = int(np.sum(y & pred))
    fp = int(np.sum(~y & pred))
    fn = int(np.sum(y & ~pred))
    return len(y) - tp - fp - fn, fp, fn, tp


def cost_per_1000(y: np.ndarray, pred: np.ndarray, cost_fp: float, cost_fn: float) -> float:
    """The cost of 1,000 decisions at the observed error rates."""
    _, fp, fn, _ = confusion(y, pred)
    return 1000.0 * (fp * cost_fp + fn * cost_fn) / len(y)


def best_threshold(y: np.ndarray, score: np.ndarray, cost_fp: float, cost_fn: float) -> tuple[float, float]:
    """The threshold t minimising the cost of predicting positive when score >= t; returns (t, cost per 1000).

    Every distinct score is tried, and +inf (flag nothing); ties go to the higher threshold.
    """
    y = np.asarray(y).astype(bool)
    score = np.asarray(score, dtype=float)
    order = np.argsort(-score, kind="stable")
    s, yy = score[order], y[order]
    tp = np.cumsum(yy)
    fp = np.cumsum(~yy)
    last = np.r_[s[1:] != s[:-1], True]  # flag everything with score >= s[i]
    cand_t = np.r_[np.inf, s[last]]
    cand_fp = np.r_[0, fp[last]]
    cand_fn = yy.sum() - np.r_[0, tp[last]]
    cost = cand_fp * cost_fp + cand_fn * cost_fn
    best = int(np.argmin(cost))
    return float(cand_t[best]), float(1000.0 * cost[best] / len(y))


def roc_auc(y: np.ndarray, score: np.ndarray) -> float:
    """ROC-AUC from ranks (Mann-Whitney, ties averaged): scikit-learn's value without its input checks.

    Cheap enough to call hundreds of times (permutation importance); y must hold both classes.
    """
    import pandas as pd

    y = np.asarray(y).astype(bool)
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if not n_pos or not n_neg:
        raise ValueError("roc_auc needs both classes in y")
    ranks = pd.Series(np.asarray(score, dtype=float)).rank().to_numpy()
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def evaluate(y: np.ndarray, score: np.ndarray, pred: np.ndarray, cost_fp: float, cost_fn: float) -> dict[str, Any]:
    """Ranking metrics of scores and decision metrics of 0/1 predictions, with the business cost."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    tn, fp, fn, tp = confusion(y, pred)
    return {
        "roc_auc": float(roc_auc_score(y, score)),
        "pr_auc": float(average_precision_score(y, score)),
        "accuracy": (tp + tn) / len(y),
        "precision": tp / (tp + fp) if tp + fp else 0.0,
        "recall": tp / (tp + fn) if tp + fn else 0.0,
        "flag_rate": (tp + fp) / len(y),
        "cost_per_1000": 1000.0 * (fp * cost_fp + fn * cost_fn) / len(y),
    }
