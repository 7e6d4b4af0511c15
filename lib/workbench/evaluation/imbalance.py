"""Class imbalance: remedies applied when training, and test sets resampled to a chosen positive rate.

Remedies: `none`; `class_weight` (errors on the rare class weigh more, in inverse proportion to
its frequency); `undersample` (drop negatives at random until the classes are equal);
`oversample` (repeat positives at random until the classes are equal). Each changes the scores a
model outputs, so each must be compared at its own cost-optimal threshold.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from workbench.modelling import boosting
from workbench.modelling.preprocessing import preprocessor

if TYPE_CHECKING:
    import pandas as pd

    from workbench.cases import Case

__all__ = ["MODELS", "REMEDIES", "fit_remedies", "metrics_at_rates", "remedy_rows", "rows_at_rate"]

REMEDIES = ("none", "class_weight", "undersample", "oversample")
MODELS = ("logistic", "lightgbm")


def remedy_rows(y: np.ndarray, remedy: str, seed: int = 0) -> np.ndarray:
    """Training row positions for a remedy: all rows, or a rebalanced sample with as many positives as negatives."""
    if remedy not in REMEDIES:
        raise ValueError(f"imbalance remedy {remedy!r} is not one of {', '.join(REMEDIES)}")
    y = np.asarray(y).astype(bool)
    pos, neg = np.flatnonzero(y), np.flatnonzero(~y)
    if remedy in ("none", "class_weight") or not len(pos) or not len(neg):
        return np.arange(len(y))
    rng = np.random.default_rng(seed)
    small, large = (pos, neg) if len(pos) <= len(neg) else (neg, pos)
    if remedy == "undersample":
        return np.sort(np.r_[small, rng.choice(large, size=len(small), replace=False)])
    return np.sort(np.r_[large, small, rng.choice(small, size=len(large) - len(small), replace=True)])


def rows_at_rate(y: np.ndarray, rate: float, seed: int = 0, max_rows: int | None = None) -> np.ndarray:
    """Row positions of a sample, drawn without replacement, whose positive rate is `rate`.

    The sample is as large as the rarer side allows (every row of one class is kept), and at most
    max_rows rows. Positions are sorted.
    """
    if not 0 < rate < 1:
        raise ValueError(f"a positive rate must lie strictly between 0 and 1, got {rate}")
    y = np.asarray(y).astype(bool)
    pos, neg = np.flatnonzero(y), np.flatnonzero(~y)
    if not len(pos) or not len(neg):
        raise ValueError("resampling to a positive rate needs both positive and negative rows")
    n = min(len(pos) / rate, len(neg) / (1 - rate), max_rows or np.inf)
    n_pos = max(1, min(len(pos), round(n * rate)))
    n_neg = max(1, min(len(neg), round(n * (1 - rate))))
    rng = np.random.default_rng(seed)
    return np.sort(np.r_[rng.choice(pos, size=n_pos, replace=False), rng.choice(neg, size=n_neg, replace=False)])


def _classifier(model: str, balanced: bool, seed: int, lgbm_trees: int) -> Any:
    weight = "balanced" if balanced else None
    if model == "logistic":
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(C=1.0, class_weight=weight, solver="liblinear", random_state=seed)
    if model == "lightgbm":
        return boosting.classifier(seed=seed, n_estimators=lgbm_trees, class_weight=weight)
    raise ValueError(f"model {model!r} is not one of {', '.join(MODELS)}")


def fit_remedies(case: Case, train: pd.DataFrame, y: np.ndarray, *, model: str = "logistic",
                 remedies: tuple[str, ...] = REMEDIES, seed: int = 0, lgbm_trees: int = 100,
                 max_text_features: int = 5000, folds: int = 0) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Fit the model once per remedy on all of train; with folds >= 2, also score train out of fold.

    Returns (pipelines, out-of-fold scores): each pipeline is the shared feature preprocessor
    (fitted once on all of train; it never sees labels) followed by the remedy's model. The
    out-of-fold score of a row comes from a model fitted, with the same remedy, on the other
    folds (stratified, shuffled with `seed`); it is empty when folds < 2. Logistic regression uses
    the liblinear solver, which is fast on small or sparse data.
    """
    from sklearn.model_selection import StratifiedKFold
    from sklearn.pipeline import Pipeline

    if model not in MODELS:
        raise ValueError(f"model {model!r} is not one of {', '.join(MODELS)}")
    features = preprocessor(case, model="linear" if model == "logistic" else "tree",
                            max_text_features=max_text_features).fit(train)
    X = features.transform(train)
    y = np.asarray(y).astype(int)

    def fit(rows: np.ndarray, remedy: str) -> Any:
        rows = rows[remedy_rows(y[rows], remedy, seed)]
        return _classifier(model, remedy == "class_weight", seed, lgbm_trees).fit(X[rows], y[rows])

    everything = np.arange(len(y))
    pipelines = {r: Pipeline([("features", features), ("model", fit(everything, r))]) for r in remedies}
    oof: dict[str, np.ndarray] = {}
    if folds >= 2:
        cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
        for r in remedies:
            oof[r] = np.zeros(len(y))
            for inner, outer in cv.split(everything, y):
                oof[r][outer] = fit(inner, r).predict_proba(X[outer])[:, 1]
    return pipelines, oof


def metrics_at_rates(y: np.ndarray, scored: dict[str, tuple[np.ndarray, np.ndarray]], rates: list[float],
                     cost_fp: float, cost_fn: float, *, repeats: int = 20, seed: int = 0,
                     max_rows: int | None = 5000) -> pd.DataFrame:
    """Metrics of each named (scores, 0/1 decisions) on test sets resampled to each positive rate.

    For each rate, `repeats` samples are drawn (`rows_at_rate`) and the metrics of
    `metrics.evaluate` (scores judged as probabilities) are averaged; one row per (name, rate).
    """
    import pandas as pd

    from workbench.modelling.metrics import evaluate

    rows = []
    for rate in rates:
        for rep in range(repeats):
            idx = rows_at_rate(y, rate, seed + rep, max_rows)
            for name, (score, pred) in scored.items():
                m = evaluate(y[idx], score[idx], pred[idx], cost_fp, cost_fn, probabilities=True)
                rows.append({"model": name, "rate": rate, "rows": len(idx), **m})
    return pd.DataFrame(rows).groupby(["model", "rate"], sort=False).mean().reset_index()
