"""Cost metrics and thresholds (workbench.modelling.metrics) against brute force and scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, average_precision_score, confusion_matrix, roc_auc_score

from workbench.modelling.metrics import (
    bayes_threshold,
    best_threshold,
    confusion,
    cost_curve,
    cost_per_1000,
    cost_ratio_sweep,
    evaluate,
    f1_threshold,
    ranking_scores,
    row_costs,
)


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


def test_evaluate_judges_probabilities_as_scikit_learn_does(data) -> None:
    from sklearn.metrics import brier_score_loss, f1_score, log_loss

    y, score = data
    p = 1 / (1 + np.exp(-score))
    p[:3] = [0.0, 1.0, 0.5]  # extremes are clipped, not infinite
    m = evaluate(y, p, p >= 0.5, 1.0, 1.0, probabilities=True)
    assert m["f1"] == pytest.approx(f1_score(y, p >= 0.5))
    assert m["log_loss"] == pytest.approx(log_loss(y, p), rel=1e-9)
    assert m["brier"] == pytest.approx(brier_score_loss(y, p), rel=1e-12)
    with pytest.raises(ValueError, match="probabilities"):
        evaluate(y, score, score >= 0, 1.0, 1.0, probabilities=True)


@pytest.mark.parametrize("positive_rate", [0.02, 0.2, 0.7])
def test_ranking_scores_equal_scikit_learns_even_with_ties(positive_rate: float) -> None:
    rng = np.random.default_rng(11)
    y = (rng.random(2000) < positive_rate).astype(int)
    score = np.round(rng.normal(y, 1.5), 1)  # many ties across classes
    roc, pr = ranking_scores(y, score)
    assert roc == pytest.approx(roc_auc_score(y, score), rel=1e-12)
    assert pr == pytest.approx(average_precision_score(y, score), rel=1e-12)
    with pytest.raises(ValueError, match="both classes"):
        ranking_scores(np.zeros(5), score[:5])


def test_best_threshold_beats_every_threshold_on_a_fine_grid(data) -> None:
    y, score = data
    t, cost = best_threshold(y, score, 1500, 9400)
    grid = np.linspace(score.min() - 1, score.max() + 1, 2001)
    assert all(cost <= cost_per_1000(y, score >= g, 1500, 9400) + 1e-9 for g in grid)
    assert cost_per_1000(y, score >= t, 1500, 9400) == pytest.approx(cost)


def test_f1_threshold_equals_a_brute_force_search_with_scikit_learn(data) -> None:
    from sklearn.metrics import f1_score

    y, score = data
    t, f1 = f1_threshold(y, score)
    brute = max(f1_score(y, score >= c, zero_division=0.0) for c in np.unique(score))
    assert f1 == pytest.approx(brute, rel=1e-12)
    assert f1_score(y, score >= t) == pytest.approx(f1, rel=1e-12)


def test_cost_curve_counts_errors_as_a_confusion_matrix_does(data) -> None:
    y, score = data
    thresholds = np.array([-np.inf, -1.0, 0.0, 0.3, 0.35, 1.0, np.inf])
    curve = cost_curve(y, score, 2.0, 7.0, thresholds)
    for row in curve.itertuples():
        tn, fp, fn, tp = confusion_matrix(y, score >= row.threshold, labels=[0, 1]).ravel()
        assert (row.fp, row.fn) == (fp, fn)
        assert row.cost_per_1000 == pytest.approx(1000 * (2.0 * fp + 7.0 * fn) / len(y))
        assert row.flag_rate == pytest.approx((tp + fp) / len(y))


def test_cost_ratio_sweep_repeats_best_threshold_for_each_ratio(data) -> None:
    y, score = data
    ratios = np.array([0.1, 1.0, 3.0, 6.27, 50.0])
    sweep = cost_ratio_sweep(y, score, ratios, cost_fp=2.0)
    for row in sweep.itertuples():
        t, cost = best_threshold(y, score, 2.0, 2.0 * row.ratio)
        assert (row.threshold, row.cost_per_1000) == (t, pytest.approx(cost))
        assert row.flag_nothing == pytest.approx(cost_per_1000(y, np.zeros_like(y), 2.0, 2.0 * row.ratio))
        assert row.flag_everything == pytest.approx(cost_per_1000(y, np.ones_like(y), 2.0, 2.0 * row.ratio))
    assert sweep["threshold"].is_monotonic_decreasing, "a dearer false negative never raises the threshold"


def test_row_costs_price_each_error_and_average_to_the_cost_per_1000(data) -> None:
    y, score = data
    pred = score >= 0.4
    costs = row_costs(y, pred, 2.0, 7.0)
    expected = [2.0 if p and not t else 7.0 if t and not p else 0.0 for t, p in zip(y, pred)]
    np.testing.assert_array_equal(costs, expected)
    assert 1000 * costs.mean() == pytest.approx(cost_per_1000(y, pred, 2.0, 7.0))


@pytest.mark.parametrize("positive_rate", [0.1, 0.5])
def test_roc_auc_by_weights_equals_scikit_learn_with_sample_weights_ties_included(positive_rate: float) -> None:
    from sklearn.metrics import roc_auc_score

    from workbench.modelling.metrics import roc_auc, roc_auc_by_weights

    rng = np.random.default_rng(4)
    y = (rng.random(500) < positive_rate).astype(int)
    score = np.round(rng.normal(size=500) + y, 1)  # rounded: many ties
    auc = roc_auc_by_weights(y, score)
    assert auc(np.ones(500)) == pytest.approx(roc_auc(y, score), abs=1e-12)
    for _ in range(5):
        w = np.bincount(rng.integers(0, 500, 500), minlength=500)  # a bootstrap resample's counts
        assert auc(w) == pytest.approx(roc_auc_score(y, score, sample_weight=w), abs=1e-12)
        assert auc(w) == pytest.approx(roc_auc_score(np.repeat(y, w), np.repeat(score, w)), abs=1e-12)
    assert np.isnan(auc(np.where(y == 1, 0.0, 1.0))), "no positive weight left: undefined"
