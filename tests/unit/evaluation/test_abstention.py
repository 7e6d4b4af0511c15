"""Selective prediction (workbench.evaluation.abstention): what reviewing the least confident cases costs and saves."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.evaluation import abstention


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    p = rng.random(3000)
    y = (rng.random(3000) < p).astype(int)  # calibrated probabilities
    return y, p, p >= 0.2


def test_uncertainty_is_the_expected_cost_of_the_decision_taken() -> None:
    u = abstention.uncertainty(np.array([0.1, 0.1, 0.9]), np.array([0, 1, 1]), 1.0, 4.0)
    np.testing.assert_allclose(u, [0.1 * 4, 0.9 * 1, 0.1 * 1])


def test_a_reviewed_row_costs_the_review_plus_the_missed_share_of_the_models_error() -> None:
    y, decision, abstain = np.array([1, 0, 1, 0]), np.array([0, 1, 1, 0]), np.array([True, True, False, False])
    np.testing.assert_allclose(abstention.row_costs_with_abstention(y, decision, abstain, 1.0, 4.0, 0.5, 0.25),
                               [0.5 + 0.25 * 4, 0.5 + 0.25 * 1, 0, 0])
    with pytest.raises(ValueError, match="reviewer_miss"):
        abstention.row_costs_with_abstention(y, decision, abstain, 1.0, 4.0, 0.5, 1.5)


def test_the_curve_prices_each_share_as_a_brute_force_count_does(data) -> None:
    y, p, d = data
    curve = abstention.coverage_curve(y, p, d, 1.0, 4.0, 0.3, reviewer_miss=0.2, shares=np.array([0.0, 0.1, 0.35]))
    u = np.where(d, 1 - p, 4 * p)
    model = np.where(d & (y == 0), 1.0, 0.0) + np.where(~d & (y == 1), 4.0, 0.0)
    for _, r in curve.iterrows():
        k = round(r["share"] * len(y))
        reviewed = np.argsort(-u, kind="stable")[:k]
        total = model.sum() - 0.8 * model[reviewed].sum() + 0.3 * k
        assert r["cost_per_1000"] == pytest.approx(1000 * total / len(y)) and r["reviewed"] == k
    assert curve.loc[0, "cutoff"] == np.inf and curve.loc[0, "coverage"] == 1.0


def test_reviewing_pays_only_where_the_saved_error_cost_beats_the_review(data) -> None:
    y, p, d = data
    free = abstention.coverage_curve(y, p, d, 1.0, 4.0, 0.0)
    best = abstention.best_share(free)
    assert best["cost_per_1000"] == 0 and free.loc[free["share"] < best["share"], "cost_per_1000"].min() > 0, \
        "free, perfect reviews: review down to the last model error, and no further"
    dear = abstention.coverage_curve(y, p, d, 1.0, 4.0, 5.0)
    assert abstention.best_share(dear)["share"] == 0.0, "a review dearer than any error never pays"
    useless = abstention.coverage_curve(y, p, d, 1.0, 4.0, 0.01, reviewer_miss=1.0)
    assert abstention.best_share(useless)["share"] == 0.0, "a reviewer no better than the model never pays"


def test_break_even_miss_is_where_reviewing_costs_what_it_saves(data) -> None:
    y, p, d = data
    abstain = abstention.uncertainty(p, d, 1.0, 4.0) >= 0.6
    miss = abstention.break_even_miss(y, d, abstain, 1.0, 4.0, 0.2)
    assert 0 < miss < 1
    with_review = abstention.row_costs_with_abstention(y, d, abstain, 1.0, 4.0, 0.2, miss)
    without = abstention.row_costs_with_abstention(y, d, np.zeros(len(y), bool), 1.0, 4.0, 0.2, 0.0)
    assert with_review.sum() == pytest.approx(without.sum())
    assert abstention.break_even_miss(y, d, np.zeros(len(y), bool), 1.0, 4.0, 0.2) is None
