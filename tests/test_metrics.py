"""Cost metrics and thresholds (workbench.metrics) against brute force and scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, average_precision_score, confusion_matrix, roc_auc_score

from workbench.metrics import bayes_threshold, best_threshold, confusion, cost_per_1000, evaluate, roc_auc


@pytest.fixture(params=[0, 1, 2])
def data(request):
    rng = np.random.default_rng(request.param)
    y = (rng.random(500) < 0.2).astype(int)
    score = np.round(rng.normal(y * 0.8, 1.0), 1)  # rounded: many ties
    return y, score


def test_confusion_matches_scikit_learn(data) -> None:
    y, score = data
    pred = (score > 0.3).astype(int)
    assert confusion(y, pred) == tuple(int(v) for v in confusion_matrix(y, pred).ravel())


@pytest.mark.parametrize("c_fp,c_fn", [(1, 1), (1, 5), (5, 1), (0, 3)])
def test_best_threshold_equals_a_brute_force_search(data, c_fp: float, c_fn: float) -> None:
    y, score = data
    t, cost = best_threshold(y, score, c_fp, c_fn)
    candidates = [np.inf, *np.unique(score)]
    brute = min(cost_per_1000(y, score >= c, c_fp, c_fn) for c in candidates)
    assert cost == pytest.approx(brute, rel=1e-12)
    assert cost_per_1000(y, score >= t, c_fp, c_fn) == pytest.approx(cost, rel=1e-12)


def test_bayes_threshold_is_cfp_over_the_sum() -> None:
    assert bayes_threshold(1, 4) == 0.2
    with pytest.raises(ValueError):
        bayes_threshold(0, 0)


def test_bayes_threshold_is_optimal_for_calibrated_probabilities() -> None:
    rng = np.random.default_rng(7)
    p = rng.random(200_000)
    y = (rng.random(p.size) < p).astype(int)  # calibrated by construction
    t, _ = best_threshold(y, p, 1.0, 3.0)
    assert t == pytest.approx(bayes_threshold(1.0, 3.0), abs=0.02)


def test_evaluate_agrees_with_scikit_learn(data) -> None:
    y, score = data
    pred = (score >= 0.5).astype(int)
    m = evaluate(y, score, pred, 2.0, 7.0)
    assert m["roc_auc"] == pytest.approx(roc_auc_score(y, score))
    assert m["pr_auc"] == pytest.approx(average_precision_score(y, score))
    assert m["accuracy"] == pytest.approx(accuracy_score(y, pred))
    tn, fp, fn, tp = confusion_matrix(y, pred).ravel()
    assert m["cost_per_1000"] == pytest.approx(1000 * (2.0 * fp + 7.0 * fn) / len(y))


def test_roc_auc_from_ranks_matches_scikit_learn_ties_included(data) -> None:
    y, score = data
    assert roc_auc(y, score) == pytest.approx(roc_auc_score(y, score), rel=1e-12)
    with pytest.raises(ValueError, match="both classes"):
        roc_auc(np.zeros(5), np.arange(5))
