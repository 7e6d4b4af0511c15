"""The one place the workbench talks to fairlearn (0.15 API), so that an upgrade touches one module.

Things to know about fairlearn that the functions below take care of:

- `MetricFrame` calls each metric once per group with that group's rows, converting every column
  row by row (`np.stack`), which costs about a second per 20,000 rows and metric; its own bootstrap
  repeats that per resample (minutes). The metrics here depend only on a group's confusion counts
  and score sums, so `metric_frame` hands it one row per (group, label, decision) cell weighted by
  its count: the same values, at any data size, in milliseconds. Intervals come from the
  workbench's bootstrap of confusion counts (`workbench.fairness.groups`), not from MetricFrame's.
- `ThresholdOptimizer` optimises accuracy-type objectives only (not a business cost), randomises
  between two thresholds per group, and relaxes a constraint (`tol`) for single-rate constraints
  but not for equalized odds.
- Reductions (`ExponentiatedGradient`) bound each group's rate to within `difference_bound` of the
  overall rate (so two groups may differ by twice that); their `ErrorRate` objective takes costs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["CONSTRAINTS", "MOMENTS", "exponentiated_gradient", "metric_frame", "threshold_optimizer"]

# the workbench's rate names (what a criterion equalises) -> fairlearn's ThresholdOptimizer constraint
CONSTRAINTS = {
    ("selection_rate",): "demographic_parity",
    ("tpr",): "true_positive_rate_parity",
    ("fpr",): "false_positive_rate_parity",
    ("tpr", "fpr"): "equalized_odds",
}
# ... and fairlearn's reductions moment (class name in fairlearn.reductions)
MOMENTS = {
    ("selection_rate",): "DemographicParity",
    ("tpr",): "TruePositiveRateParity",
    ("fpr",): "FalsePositiveRateParity",
    ("tpr", "fpr"): "EqualizedOdds",
}


def _key(rates: tuple[str, ...]) -> tuple[str, ...]:
    key = tuple(sorted(rates, key=["selection_rate", "tpr", "fpr"].index))
    if key not in CONSTRAINTS:
        raise ValueError(f"no fairlearn constraint equalises {rates}; expected one of {list(CONSTRAINTS)}")
    return key


def metric_frame(metrics: Mapping[str, Callable[..., float]], y: np.ndarray, pred: np.ndarray,
                 score: np.ndarray, groups: np.ndarray) -> tuple[pd.DataFrame, pd.Series]:
    """fairlearn's MetricFrame of count-based metrics: (values by group, overall values).

    Each metric is called as f(y_true, y_pred, weight=..., score_sum=...) on the group's cells: one
    row per (label, decision) cell, `weight` its number of rows and `score_sum` the sum of their
    scores; so a metric must be a function of those (rates, costs, mean score minus rate).
    """
    import pandas as pd
    from fairlearn.metrics import MetricFrame

    frame = pd.DataFrame({"g": np.asarray(groups).astype(str), "y": np.asarray(y).astype(int),
                          "p": np.asarray(pred).astype(int), "s": np.asarray(score, dtype=float)})
    cells = frame.groupby(["g", "y", "p"], observed=True)["s"].agg(["size", "sum"]).reset_index()
    params = {name: {"weight": cells["size"].to_numpy(dtype=float), "score_sum": cells["sum"].to_numpy()}
              for name in metrics}
    mf = MetricFrame(metrics=dict(metrics), y_true=cells["y"].to_numpy(), y_pred=cells["p"].to_numpy(),
                     sensitive_features=pd.Series(cells["g"].to_numpy(), name="group"), sample_params=params)
    return mf.by_group, mf.overall


def _scores_model() -> Any:
    """A fitted scikit-learn 'model' whose probability is the first column of X: lets fairlearn post-process saved scores."""
    from sklearn.base import BaseEstimator, ClassifierMixin

    class Scores(ClassifierMixin, BaseEstimator):
        def fit(self, X: Any, y: Any) -> Scores:
            return self

        def __sklearn_is_fitted__(self) -> bool:
            return True

        def predict_proba(self, X: Any) -> np.ndarray:
            s = np.asarray(X, dtype=float)[:, 0]
            return np.column_stack([1 - s, s])

        def predict(self, X: Any) -> np.ndarray:
            return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)

    model = Scores()
    model.classes_ = np.array([0, 1])
    return model


def threshold_optimizer(y: np.ndarray, score: np.ndarray, groups: np.ndarray, rates: tuple[str, ...], *,
                        limit: float | None = None, objective: str = "accuracy_score",
                        seed: int = 0) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """fairlearn's ThresholdOptimizer fitted on (score, label, group) rows; returns predict(score, groups) -> 0/1.

    `limit` relaxes a single-rate constraint to that spread between groups (fairlearn's `tol`);
    equalized odds is always enforced exactly, as fairlearn does not relax it. Predictions are
    randomised between two thresholds per group, reproducibly for a seed.
    """
    from fairlearn.postprocessing import ThresholdOptimizer

    constraint = CONSTRAINTS[_key(rates)]
    tol = None if constraint == "equalized_odds" or limit is None or not np.isfinite(limit) else float(limit)
    opt = ThresholdOptimizer(estimator=_scores_model(), constraints=constraint, objective=objective, prefit=True,
                             predict_method="predict_proba", tol=tol)
    opt.fit(np.asarray(score, dtype=float)[:, None], np.asarray(y).astype(int),
            sensitive_features=np.asarray(groups).astype(str))

    def predict(s: np.ndarray, g: np.ndarray) -> np.ndarray:
        out = opt.predict(np.asarray(s, dtype=float)[:, None], sensitive_features=np.asarray(g).astype(str),
                          random_state=seed)
        return np.asarray(out).astype(int)

    return predict


def exponentiated_gradient(estimator: Any, X: Any, y: np.ndarray, groups: np.ndarray, rates: tuple[str, ...], *,
                           limit: float, cost_fp: float, cost_fn: float, max_iter: int = 50,
                           seed: int = 0) -> Callable[[Any], np.ndarray]:
    """fairlearn's ExponentiatedGradient reduction trained on (X, y) with the case's costs; returns predict(X) -> 0/1.

    The constraint keeps each group's rate within limit / 2 of the overall rate, so that any two
    groups differ by at most `limit`; the objective is the cost-weighted error rate. `estimator`
    must accept `sample_weight` in `fit`. Predictions are randomised over the reduction's
    classifiers, reproducibly for a seed.
    """
    from fairlearn import reductions

    moment = getattr(reductions, MOMENTS[_key(rates)])(difference_bound=max(float(limit), 1e-6) / 2)
    total = cost_fp + cost_fn
    objective = reductions.ErrorRate(costs={"fp": cost_fp / total, "fn": cost_fn / total})
    eg = reductions.ExponentiatedGradient(estimator, constraints=moment, objective=objective,
                                          max_iter=max_iter)
    eg.fit(X, np.asarray(y).astype(int), sensitive_features=np.asarray(groups).astype(str))

    def predict(X_new: Any) -> np.ndarray:
        return np.asarray(eg.predict(X_new, random_state=seed)).astype(int)

    return predict
