"""What labels buy: one classifier for every labelling strategy, hand-label learning curves, active learning.

Every strategy feeds the same model (logistic regression on the case's preprocessed features) and
is judged by the same number, ROC-AUC on held-out rows with their true labels, so that the only
thing that differs between strategies is where the labels came from.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from workbench.modelling.metrics import roc_auc

if TYPE_CHECKING:
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

__all__ = [
    "STRATEGIES", "active_learning", "classifier", "fit", "fit_score", "hand_label_curve", "labels_to_match", "query",
]

STRATEGIES = ("random", "uncertainty", "threshold")


def classifier(C: float = 1.0) -> LogisticRegression:
    """The shared classifier: L2 logistic regression (liblinear: single-threaded, fast on sparse text)."""
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=C, solver="liblinear", max_iter=1000)


def fit(X: Any, y: np.ndarray, *, soft: bool = False) -> Callable[[Any], np.ndarray]:
    """Train the shared classifier on (X, y); returns a function giving P(positive) for new rows.

    `soft`: y holds probabilities of the positive class; each row then counts as a positive with
    weight y and as a negative with weight 1 - y (a noise-aware loss). With a single class in the
    labels there is nothing to learn, and every row gets that class's share.
    """
    y = np.asarray(y, dtype=float)
    if soft:
        import scipy.sparse as sp

        X_fit = sp.vstack([X, X], format="csr") if sp.issparse(X) else np.vstack([X, X])
        y_fit, w = np.r_[np.ones(len(y)), np.zeros(len(y))], np.r_[y, 1 - y]
        keep = w > 0
        X_fit, y_fit, w = X_fit[keep], y_fit[keep], w[keep]
    else:
        X_fit, y_fit, w = X, y, None
    if len(np.unique(y_fit)) < 2:
        constant = float(y.mean()) if len(y) else 0.5
        return lambda X_new: np.full(X_new.shape[0], constant)
    model = classifier().fit(X_fit, y_fit.astype(int), sample_weight=w)
    return lambda X_new: model.predict_proba(X_new)[:, 1]


def fit_score(X: Any, y: np.ndarray, X_eval: Any, *, soft: bool = False) -> np.ndarray:
    """P(positive) for X_eval from the shared classifier trained on (X, y) (see `fit`)."""
    return fit(X, y, soft=soft)(X_eval)


def hand_label_curve(X: Any, label_sets: Sequence[np.ndarray], X_test: Any, y_test: np.ndarray,
                     sizes: Sequence[int], *, seed: int = 0) -> pd.DataFrame:
    """Test ROC-AUC after training on N randomly chosen labelled rows, for each N and each labelling.

    `label_sets` holds one labelling of all rows of X per repeat (the true labels, or a noisy
    copy); repeat r draws its rows from one random order (seed + r), so larger N extend smaller ones.
    Returns a frame with columns n_labels, repeat, quality. (Pass validation rows as the test rows
    to read the curve where a choice is made.)
    """
    import pandas as pd

    rows = []
    for r, labels in enumerate(label_sets):
        order = np.random.default_rng(seed + r).permutation(X.shape[0])
        for n in sizes:
            take = order[:n]
            rows.append({"n_labels": int(n), "repeat": r,
                         "quality": roc_auc(y_test, fit_score(X[take], labels[take], X_test))})
    return pd.DataFrame(rows)


def labels_to_match(sizes: Sequence[float], quality: Sequence[float], target: float) -> float | None:
    """The smallest number of labels at which a learning curve reaches `target` (log-linear interpolation).

    None when the curve never reaches it; sizes[0] when its first point already does.
    """
    x, qs = np.asarray(sizes, dtype=float), np.asarray(quality, dtype=float)
    for i, q in enumerate(qs):
        if q >= target:
            if i == 0:
                return float(x[0])
            lo, hi = math.log(x[i - 1]), math.log(x[i])
            frac = (target - qs[i - 1]) / (q - qs[i - 1])
            return float(math.exp(lo + frac * (hi - lo)))
    return None


def query(strategy: str, probs: np.ndarray, candidates: np.ndarray, k: int, rng: np.random.Generator,
          threshold: float = 0.5) -> np.ndarray:
    """Pick k of the candidate rows to label next.

    random: uniformly; uncertainty: the rows whose P(positive) is nearest 0.5 (least confident);
    threshold: nearest `threshold`, where the business decision flips. Ties are broken at random.
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"active learning strategy must be one of {', '.join(STRATEGIES)}, got {strategy!r}")
    k = min(k, len(candidates))
    if strategy == "random":
        return rng.choice(candidates, size=k, replace=False)
    centre = 0.5 if strategy == "uncertainty" else threshold
    distance = np.abs(probs[candidates] - centre)
    order = np.lexsort((rng.random(len(candidates)), distance))
    return candidates[order[:k]]


def active_learning(X: Any, labels: np.ndarray, X_test: Any, y_test: np.ndarray, *, strategy: str,
                    initial: int, budget: int, rounds: int, seed: int = 0, threshold: float = 0.5,
                    validation: tuple[Any, np.ndarray] | None = None, test_at_budget_only: bool = False) -> pd.DataFrame:
    """Label `initial` random rows, then `rounds` batches chosen by `strategy`, up to `budget` labels.

    The initial draw continues one row at a time until both classes are seen (those rows count
    against the budget). After each batch the classifier is refitted and scored on the test rows
    (with test_at_budget_only, only once the budget is spent: NaN before) and on `validation` =
    (X_val, y_val) when given. Returns a frame with columns n_labels, quality (and val_quality);
    the same seed gives every strategy the same start.
    """
    import pandas as pd

    n = X.shape[0]
    budget = min(budget, n)
    if not 0 < initial <= budget:
        raise ValueError(f"initial labels must be between 1 and the budget ({budget}), got {initial}")
    rng = np.random.default_rng(seed)
    order = rng.permutation(n)
    take = initial
    while take < budget and len(np.unique(labels[order[:take]])) < 2:
        take += 1
    chosen = np.zeros(n, dtype=bool)
    chosen[order[:take]] = True
    batch = max(1, math.ceil((budget - chosen.sum()) / max(rounds, 1)))
    if strategy not in STRATEGIES:
        raise ValueError(f"active learning strategy must be one of {', '.join(STRATEGIES)}, got {strategy!r}")
    pick_rng = np.random.default_rng([seed, STRATEGIES.index(strategy)])
    rows = []
    while True:
        idx = np.flatnonzero(chosen)
        model = fit(X[idx], labels[idx])
        room = budget - int(chosen.sum())
        row = {"n_labels": int(chosen.sum()),
               "quality": roc_auc(y_test, model(X_test)) if room <= 0 or not test_at_budget_only else float("nan")}
        if validation is not None:
            row["val_quality"] = roc_auc(validation[1], model(validation[0]))
        rows.append(row)
        if room <= 0:
            break
        probs = model(X) if strategy != "random" else np.zeros(n)
        chosen[query(strategy, probs, np.flatnonzero(~chosen), min(batch, room), pick_rng, threshold)] = True
    return pd.DataFrame(rows)
