"""The fairlearn wrapper (workbench.fairness.fairlearn_adapter) against fairlearn used directly on raw rows."""

from __future__ import annotations

import numpy as np
import pytest
from fairlearn.metrics import MetricFrame, false_positive_rate, selection_rate, true_positive_rate

from workbench.fairness.fairlearn_adapter import exponentiated_gradient, metric_frame, threshold_optimizer
from workbench.fairness.groups import disparity


def data(n: int = 4000, seed: int = 0):
    rng = np.random.default_rng(seed)
    g = rng.choice(["a", "b"], n, p=[0.7, 0.3])
    y = (rng.random(n) < np.where(g == "a", 0.5, 0.3)).astype(int)
    score = np.clip(0.3 * y + 0.6 * rng.random(n) + np.where(g == "b", 0.15, 0.0), 0, 1)
    return y, score, g


def test_metric_frame_on_weighted_cells_equals_metricframe_on_raw_rows() -> None:
    y, score, g = data()
    pred = (score > 0.5).astype(int)

    def weighted(f):
        return lambda yt, yp, weight, score_sum: f(np.repeat(yt, weight.astype(int)), np.repeat(yp, weight.astype(int)))

    metrics = {"sel": selection_rate, "tpr": true_positive_rate, "fpr": false_positive_rate}
    by_group, overall = metric_frame({k: weighted(f) for k, f in metrics.items()}, y, pred, score, g)
    raw = MetricFrame(metrics=metrics, y_true=y, y_pred=pred, sensitive_features=g)
    np.testing.assert_allclose(by_group.to_numpy(dtype=float), raw.by_group.to_numpy(dtype=float))
    np.testing.assert_allclose(overall.to_numpy(dtype=float), raw.overall.to_numpy(dtype=float))


@pytest.mark.parametrize("rates", [("fpr",), ("tpr", "fpr")])
def test_threshold_optimizer_equalises_the_rates_on_its_own_rows(rates) -> None:
    y, score, g = data()
    before = disparity(y, (score > 0.5).astype(int), g, rates, min_rows=1)
    predict = threshold_optimizer(y, score, g, rates, limit=0.0, seed=1)
    pred = predict(score, g)
    assert set(np.unique(pred)) <= {0, 1}
    assert disparity(y, pred, g, rates, min_rows=1) < 0.05 < before
    assert np.array_equal(pred, threshold_optimizer(y, score, g, rates, limit=0.0, seed=1)(score, g)), "seeded"


def test_exponentiated_gradient_reduces_a_planted_disparity() -> None:
    from sklearn.linear_model import LogisticRegression

    y, score, g = data(3000, 1)
    X = np.column_stack([score, (g == "b").astype(float)])
    plain = LogisticRegression().fit(X, y).predict(X)
    predict = exponentiated_gradient(LogisticRegression(), X, y, g, ("fpr",), limit=0.02, cost_fp=1.0, cost_fn=1.0,
                                     max_iter=30, seed=0)
    pred = predict(X)
    assert set(np.unique(pred)) <= {0, 1}
    assert disparity(y, pred, g, ("fpr",), min_rows=1) < disparity(y, plain, g, ("fpr",), min_rows=1) - 0.05
