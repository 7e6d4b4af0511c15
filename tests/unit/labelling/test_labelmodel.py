"""The generative label model: recovers known LF accuracies from votes alone, and its posterior is Bayes' rule."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from workbench.labelling.labelmodel import LabelModel
from workbench.labelling.lfs import ABSTAIN, majority_vote


def simulate_bipolar(n: int, prior: float, accuracy: list[float], coverage: list[float], seed: int):
    """LFs that vote on a random share `coverage` of rows and are right with probability `accuracy`."""
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < prior).astype(int)
    cols = []
    for a, c in zip(accuracy, coverage):
        right = rng.random(n) < a
        vote = np.where(right, y, 1 - y)
        cols.append(np.where(rng.random(n) < c, vote, ABSTAIN))
    return np.column_stack(cols).astype("int8"), y


def simulate_unipolar(n: int, prior: float, lfs: list[tuple[int, float, float]], seed: int):
    """LFs (vote, P(fire | y = vote), P(fire | y != vote)) that only ever vote for one class."""
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < prior).astype(int)
    cols = []
    for vote, hit, false_alarm in lfs:
        p_fire = np.where(y == vote, hit, false_alarm)
        cols.append(np.where(rng.random(n) < p_fire, vote, ABSTAIN))
    return np.column_stack(cols).astype("int8"), y


def test_recovers_known_accuracies_and_class_balance_from_votes_alone() -> None:
    accuracy = [0.9, 0.8, 0.7, 0.65, 0.85, 0.75]
    coverage = [0.5, 0.7, 0.9, 0.6, 0.3, 0.8]
    L, y = simulate_bipolar(20_000, 0.35, accuracy, coverage, seed=1)
    lm = LabelModel().fit(L)
    assert lm.converged_
    assert lm.prior_ == pytest.approx(0.35, abs=0.02)
    np.testing.assert_allclose(lm.accuracies(), accuracy, atol=0.03)
    np.testing.assert_allclose(lm.coverages(), coverage, atol=0.02)


def test_recovers_accuracies_of_lfs_that_vote_for_one_class_only() -> None:
    prior = 0.3
    spec = [(1, 0.5, 0.05), (1, 0.3, 0.1), (1, 0.4, 0.02), (0, 0.6, 0.1), (0, 0.4, 0.2), (0, 0.5, 0.05)]
    L, y = simulate_unipolar(30_000, prior, spec, seed=2)
    true_acc = []
    for vote, hit, fa in spec:
        p_vote = prior if vote == 1 else 1 - prior
        true_acc.append(p_vote * hit / (p_vote * hit + (1 - p_vote) * fa))
    lm = LabelModel(class_balance=prior).fit(L)
    np.testing.assert_allclose(lm.accuracies(), true_acc, atol=0.04)


def test_posterior_is_bayes_rule_with_the_fitted_parameters() -> None:
    L, _ = simulate_bipolar(3000, 0.4, [0.8, 0.7, 0.6], [0.6, 0.5, 0.7], seed=3)
    lm = LabelModel().fit(L)
    patterns = np.array(list(itertools.product([ABSTAIN, 0, 1], repeat=3)), dtype="int8")
    got = lm.predict_proba(patterns)
    for votes, p in zip(patterns, got):
        joint = {c: (lm.prior_ if c == 1 else 1 - lm.prior_) for c in (0, 1)}
        for j, v in enumerate(votes):
            k = {ABSTAIN: 0, 0: 1, 1: 2}[int(v)]
            for c in (0, 1):
                joint[c] *= lm.theta_[j, c, k]
        assert p == pytest.approx(joint[1] / (joint[0] + joint[1]), rel=1e-9)
    assert set(lm.predict(patterns).tolist()) <= {0, 1}


def test_weighs_one_accurate_lf_above_two_poor_ones_where_majority_vote_cannot() -> None:
    L, y = simulate_bipolar(20_000, 0.5, [0.95, 0.6, 0.6], [1.0, 1.0, 1.0], seed=4)
    mv, _ = majority_vote(L)
    mv_acc = (mv == y).mean()
    lm_acc = (LabelModel().fit(L).predict(L) == y).mean()
    assert mv_acc == pytest.approx(0.95 * 0.84 + 0.05 * 0.36, abs=0.01)  # two or three of three right
    assert lm_acc > 0.93 and lm_acc > mv_acc + 0.1


def test_a_given_class_balance_is_held_fixed() -> None:
    L, _ = simulate_bipolar(5000, 0.5, [0.8, 0.8], [0.5, 0.5], seed=5)
    assert LabelModel(class_balance=0.2).fit(L).prior_ == 0.2


def test_rejects_bad_votes_and_bad_class_balance() -> None:
    with pytest.raises(ValueError, match="votes must be"):
        LabelModel().fit(np.array([[0, 2], [1, -1]]))
    with pytest.raises(ValueError, match="2-D"):
        LabelModel().fit(np.array([0, 1, -1]))
    with pytest.raises(ValueError, match="class_balance"):
        LabelModel(class_balance=1.0)
