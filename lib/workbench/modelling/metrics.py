"""Business-cost metrics and thresholds: what a decision costs, and the threshold that costs least."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "bayes_threshold",
    "best_threshold",
    "confusion",
    "cost_curve",
    "cost_from_counts",
    "cost_per_1000",
    "cost_ratio_sweep",
    "evaluate",
    "f1_threshold",
    "per_1000",
    "ranking_scores",
    "roc_auc",
    "roc_auc_by_weights",
    "row_costs",
]


def bayes_threshold(cost_fp: float, cost_fn: float) -> float:
    """The probability above which flagging costs less in expectation: c_fp / (c_fp + c_fn).

    It is the cost-optimal threshold for calibrated probabilities.
    """
    total = cost_fp + cost_fn
    if total <= 0 or cost_fp < 0 or cost_fn < 0:
        raise ValueError(f"costs must be >= 0 and not both 0, got cost_fp={cost_fp}, cost_fn={cost_fn}")
    return cost_fp / total


def confusion(y: np.ndarray, pred: np.ndarray) -> tuple[int, int, int, int]:
    """Counts (tn, fp, fn, tp) of 0/1 predictions against 0/1 labels."""
    y = np.asarray(y).astype(bool)
    pred = np.asarray(pred).astype(bool)
    tp = int(np.sum(y & pred))
    fp = int(np.sum(~y & pred))
    fn = int(np.sum(y & ~pred))
    return len(y) - tp - fp - fn, fp, fn, tp


def per_1000(total: Any, n: Any) -> Any:
    """A total over n decisions expressed per 1,000 decisions (the unit every cost is reported in);
    a float for scalars, an array for arrays."""
    out = 1000.0 * np.asarray(total, dtype=float) / np.asarray(n, dtype=float)
    return float(out) if out.ndim == 0 else out


def cost_from_counts(fp: Any, fn: Any, n: Any, cost_fp: Any, cost_fn: Any) -> Any:
    """The cost per 1,000 decisions of fp false positives and fn false negatives among n decisions
    (scalars or arrays of counts)."""
    return per_1000(np.asarray(fp) * cost_fp + np.asarray(fn) * cost_fn, n)


def row_costs(y: np.ndarray, pred: np.ndarray, cost_fp: float, cost_fn: float) -> np.ndarray:
    """What each row's 0/1 decision costs: cost_fp for a false positive, cost_fn for a false negative, else 0."""
    y = np.asarray(y).astype(bool)
    p = np.asarray(pred).astype(bool)
    return np.where(p & ~y, float(cost_fp), 0.0) + np.where(~p & y, float(cost_fn), 0.0)


def cost_per_1000(y: np.ndarray, pred: np.ndarray, cost_fp: float, cost_fn: float) -> float:
    """The cost of 1,000 decisions at the observed error rates."""
    _, fp, fn, _ = confusion(y, pred)
    return cost_from_counts(fp, fn, len(y), cost_fp, cost_fn)


def _candidates(y: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Every distinct threshold, highest first (+inf: flag nothing), with its (tp, fp) when flagging score >= t."""
    y = np.asarray(y).astype(bool)
    score = np.asarray(score, dtype=float)
    order = np.argsort(-score, kind="stable")
    s, yy = score[order], y[order]
    tp = np.cumsum(yy)
    fp = np.cumsum(~yy)
    last = np.r_[s[1:] != s[:-1], True]  # flag everything with score >= s[i]
    return np.r_[np.inf, s[last]], np.r_[0, tp[last]], np.r_[0, fp[last]], int(yy.sum())


def best_threshold(y: np.ndarray, score: np.ndarray, cost_fp: float, cost_fn: float) -> tuple[float, float]:
    """The threshold t minimising the cost of predicting positive when score >= t; returns (t, cost per 1000).

    Every distinct score is tried, and +inf (flag nothing); ties go to the higher threshold.
    """
    cand_t, tp, fp, pos = _candidates(y, score)
    cost = fp * cost_fp + (pos - tp) * cost_fn
    best = int(np.argmin(cost))
    return float(cand_t[best]), per_1000(cost[best], len(y))


def f1_threshold(y: np.ndarray, score: np.ndarray) -> tuple[float, float]:
    """The threshold t maximising F1 when predicting positive for score >= t; returns (t, F1).

    Every distinct score is tried; ties go to the higher threshold.
    """
    cand_t, tp, fp, pos = _candidates(y, score)
    denom = 2 * tp + fp + (pos - tp)
    f1 = np.divide(2.0 * tp, denom, out=np.zeros(len(tp)), where=denom > 0)
    best = int(np.argmax(f1))
    return float(cand_t[best]), float(f1[best])


def cost_curve(y: np.ndarray, score: np.ndarray, cost_fp: float, cost_fn: float,
               thresholds: np.ndarray | None = None) -> pd.DataFrame:
    """Cost per 1,000 decisions, and the share flagged, when flagging score >= t for each threshold t.

    The default thresholds are 201 points evenly spaced on [0, 1] (for probabilities).
    """
    import pandas as pd

    y = np.asarray(y).astype(bool)
    score = np.asarray(score, dtype=float)
    t = np.linspace(0.0, 1.0, 201) if thresholds is None else np.asarray(thresholds, dtype=float)
    pos, neg = np.sort(score[y]), np.sort(score[~y])
    tp = len(pos) - np.searchsorted(pos, t, side="left")
    fp = len(neg) - np.searchsorted(neg, t, side="left")
    fn = len(pos) - tp
    n = len(y)
    return pd.DataFrame({
        "threshold": t,
        "flag_rate": (tp + fp) / n,
        "fp": fp,
        "fn": fn,
        "cost_per_1000": cost_from_counts(fp, fn, n, cost_fp, cost_fn),
    })


def cost_ratio_sweep(y: np.ndarray, score: np.ndarray, ratios: np.ndarray, cost_fp: float = 1.0) -> pd.DataFrame:
    """For each cost ratio c_fn / c_fp: the cost-optimal threshold (as `best_threshold`), its cost,
    the share flagged, and the costs of the two trivial policies, flag nothing and flag everything.

    Costs are per 1,000 decisions with a false positive costing `cost_fp`.
    """
    import pandas as pd

    cand_t, tp, fp, pos = _candidates(y, score)
    n = len(np.asarray(y))
    ratios = np.asarray(ratios, dtype=float)
    best = np.array([np.argmin(fp * cost_fp + (pos - tp) * r * cost_fp) for r in ratios], dtype=int)
    return pd.DataFrame({
        "ratio": ratios,
        "threshold": cand_t[best],
        "cost_per_1000": cost_from_counts(fp[best], pos - tp[best], n, cost_fp, ratios * cost_fp),
        "flag_rate": (tp + fp)[best] / n,
        "flag_nothing": cost_from_counts(0, pos, n, cost_fp, ratios * cost_fp),
        "flag_everything": cost_from_counts(n - pos, 0, n, cost_fp, 0.0),
    })


def ranking_scores(y: np.ndarray, score: np.ndarray) -> tuple[float, float]:
    """ROC-AUC and PR-AUC (average precision) of scores, ties handled as scikit-learn does.

    ROC-AUC is the trapezoidal area under (false positive rate, true positive rate) over every
    distinct threshold; average precision sums precision times the gain in recall at each one.
    """
    _, tp, fp, pos = _candidates(y, score)
    neg = len(np.asarray(y)) - pos
    if pos == 0 or neg == 0:
        raise ValueError("ROC-AUC and PR-AUC need both classes in y, got only one")
    tpr, fpr = tp / pos, fp / neg
    roc_auc = float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))
    pr_auc = float(np.sum(np.diff(tp) / pos * tp[1:] / (tp[1:] + fp[1:])))
    return roc_auc, pr_auc


def roc_auc(y: np.ndarray, score: np.ndarray) -> float:
    """ROC-AUC of scores (scikit-learn's value, ties included); the workbench's one ROC-AUC."""
    return ranking_scores(y, score)[0]


def roc_auc_by_weights(y: np.ndarray, score: np.ndarray) -> Callable[[np.ndarray], float]:
    """ROC-AUC of scores as a function of row weights (e.g. bootstrap counts), sorting only once.

    The returned function takes one non-negative weight per row and costs O(n) a call; with unit
    weights it equals `roc_auc` (ties count one half, as scikit-learn counts them). NaN when the
    weights leave a class empty.
    """
    y = np.asarray(y).astype(bool)
    _, group = np.unique(np.asarray(score, dtype=float), return_inverse=True)  # tied scores share a group
    n_groups = int(group.max()) + 1 if len(group) else 0

    def auc(weights: np.ndarray) -> float:
        w = np.asarray(weights, dtype=float)
        pos = np.bincount(group, w * y, minlength=n_groups)
        neg = np.bincount(group, w * ~y, minlength=n_groups)
        total_pos, total_neg = pos.sum(), neg.sum()
        if total_pos <= 0 or total_neg <= 0:
            return float("nan")
        below = np.cumsum(neg) - neg  # negative weight strictly below each score
        return float(np.sum(pos * (below + 0.5 * neg)) / (total_pos * total_neg))

    return auc


def evaluate(y: np.ndarray, score: np.ndarray, pred: np.ndarray, cost_fp: float, cost_fn: float, *,
             probabilities: bool = False) -> dict[str, Any]:
    """Ranking metrics of scores and decision metrics of 0/1 predictions, with the business cost.

    With `probabilities`, the scores are also judged as probabilities (log-loss and Brier score).
    """
    tn, fp, fn, tp = confusion(y, pred)
    roc_auc, pr_auc = ranking_scores(y, score)
    out = {
        "roc_auc": roc_auc,
        "pr_auc": pr_auc,
        "accuracy": (tp + tn) / len(y),
        "precision": tp / (tp + fp) if tp + fp else 0.0,
        "recall": tp / (tp + fn) if tp + fn else 0.0,
        "f1": 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0,
        "flag_rate": (tp + fp) / len(y),
        "cost_per_1000": cost_from_counts(fp, fn, len(y), cost_fp, cost_fn),
    }
    if probabilities:
        yy = np.asarray(y).astype(bool)
        p = np.asarray(score, dtype=float)
        if p.size and (p.min() < 0 or p.max() > 1):
            raise ValueError("probabilities must lie in [0, 1]")
        eps = np.finfo(float).eps
        q = np.clip(np.where(yy, p, 1 - p), eps, 1.0)  # the probability given to what happened
        out["log_loss"] = float(-np.mean(np.log(q)))
        out["brier"] = float(np.mean((p - yy) ** 2))
    return out
