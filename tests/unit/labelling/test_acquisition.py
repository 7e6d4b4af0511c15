"""The shared classifier, learning curves over hand labels, and active learning."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from workbench.labelling import acquisition


def linear_problem(n: int, seed: int, positive_rate: float = 0.5, dims: int = 2):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, dims))
    score = X @ np.r_[1.5, -1.0, np.zeros(dims - 2)]
    cut = np.quantile(score, 1 - positive_rate)
    y = (score + rng.normal(scale=0.3, size=n) > cut).astype("int8")
    return X, y


def test_fit_score_is_plain_logistic_regression() -> None:
    X, y = linear_problem(300, 0)
    ref = LogisticRegression(solver="liblinear").fit(X[:200], y[:200]).predict_proba(X[200:])[:, 1]
    np.testing.assert_allclose(acquisition.fit_score(X[:200], y[:200], X[200:]), ref, rtol=1e-6)


def test_soft_labels_of_zero_and_one_train_the_same_model_as_hard_labels() -> None:
    X, y = linear_problem(300, 1)
    for data in (X, sp.csr_matrix(X)):
        hard = acquisition.fit_score(data[:200], y[:200], data[200:])
        soft = acquisition.fit_score(data[:200], y[:200].astype(float), data[200:], soft=True)
        np.testing.assert_allclose(soft, hard, atol=1e-4)


def test_soft_labels_of_one_half_carry_no_signal() -> None:
    X, _ = linear_problem(200, 2)
    np.testing.assert_allclose(acquisition.fit_score(X, np.full(200, 0.5), X, soft=True), 0.5, atol=1e-6)


def test_a_single_class_gives_a_constant_score() -> None:
    X, _ = linear_problem(50, 3)
    assert np.array_equal(acquisition.fit_score(X, np.zeros(50), X), np.zeros(50))
    assert np.array_equal(acquisition.fit_score(X, np.ones(50), X, soft=True), np.ones(50))


def test_labels_to_match_interpolates_on_a_log_scale() -> None:
    assert acquisition.labels_to_match([10, 100, 1000], [0.6, 0.8, 0.9], 0.7) == pytest.approx(math.sqrt(10 * 100))
    assert acquisition.labels_to_match([10, 100], [0.6, 0.8], 0.8) == pytest.approx(100)
    assert acquisition.labels_to_match([10, 100], [0.6, 0.8], 0.5) == 10
    assert acquisition.labels_to_match([10, 100], [0.6, 0.8], 0.81) is None


def test_hand_label_curve_scores_each_size_and_labelling_against_a_direct_fit() -> None:
    X, y = linear_problem(600, 4)
    X_test, y_test = linear_problem(400, 5)
    noisy = np.where(np.random.default_rng(6).random(600) < 0.3, 1 - y, y)
    curve = acquisition.hand_label_curve(X, [y, noisy], X_test, y_test, [20, 100, 600], seed=7)
    assert len(curve) == 6 and set(curve["repeat"]) == {0, 1}
    full = curve[curve["n_labels"] == 600].set_index("repeat")["quality"]
    for r, labels in enumerate([y, noisy]):
        ref = LogisticRegression(solver="liblinear").fit(X, labels).predict_proba(X_test)[:, 1]
        assert full[r] == pytest.approx(roc_auc_score(y_test, ref))
    clean = curve[curve["repeat"] == 0].set_index("n_labels")["quality"]
    assert clean[600] > 0.9 and clean[600] >= clean[20]


def test_query_picks_the_rows_nearest_the_centre_among_candidates() -> None:
    rng = np.random.default_rng(8)
    probs = rng.random(100)
    candidates = np.arange(0, 100, 2)
    picked = acquisition.query("uncertainty", probs, candidates, 5, rng)
    expected = candidates[np.argsort(np.abs(probs[candidates] - 0.5))[:5]]
    assert set(picked) == set(expected)
    picked = acquisition.query("threshold", probs, candidates, 5, rng, threshold=0.2)
    assert set(picked) == set(candidates[np.argsort(np.abs(probs[candidates] - 0.2))[:5]])
    rand = acquisition.query("random", probs, candidates, 10, rng)
    assert len(set(rand)) == 10 and set(rand) <= set(candidates)
    with pytest.raises(ValueError, match="strategy"):
        acquisition.query("oracle", probs, candidates, 1, rng)


def test_active_learning_spends_exactly_the_budget_from_a_shared_start() -> None:
    X, y = linear_problem(500, 9, positive_rate=0.05)
    X_test, y_test = linear_problem(300, 10, positive_rate=0.05)
    runs = {s: acquisition.active_learning(X, y, X_test, y_test, strategy=s, initial=10, budget=100, rounds=6, seed=3)
            for s in ("random", "uncertainty")}
    for run in runs.values():
        n = run["n_labels"].tolist()
        assert n[-1] == 100 and n == sorted(n) and len(n) == 7
    assert runs["random"]["n_labels"][0] == runs["uncertainty"]["n_labels"][0] >= 10
    assert runs["random"]["quality"][0] == runs["uncertainty"]["quality"][0], "both start from the same rows"
    # with 5% positives, the first draw keeps going until it has seen both classes
    assert runs["random"]["quality"][0] != 0.5
    with pytest.raises(ValueError, match="initial labels"):
        acquisition.active_learning(X, y, X_test, y_test, strategy="random", initial=200, budget=100, rounds=2)


def test_active_learning_scores_validation_rows_each_round_and_test_rows_at_the_budget_only() -> None:
    X, y = linear_problem(400, 1)
    X_val, y_val = linear_problem(200, 2)
    X_test, y_test = linear_problem(200, 3)
    every = acquisition.active_learning(X, y, X_test, y_test, strategy="uncertainty", initial=10, budget=60, rounds=5,
                                        seed=4, validation=(X_val, y_val))
    last = acquisition.active_learning(X, y, X_test, y_test, strategy="uncertainty", initial=10, budget=60, rounds=5,
                                       seed=4, validation=(X_val, y_val), test_at_budget_only=True)
    assert every["val_quality"].tolist() == last["val_quality"].tolist(), "the same rows are queried either way"
    assert last["quality"].iloc[:-1].isna().all() and last["quality"].iloc[-1] == every["quality"].iloc[-1]
    swapped = acquisition.active_learning(X, y, X_val, y_val, strategy="uncertainty", initial=10, budget=60, rounds=5,
                                          seed=4)
    assert swapped["quality"].tolist() == every["val_quality"].tolist(), "val_quality is the ROC-AUC on the validation rows"


def test_uncertainty_sampling_beats_random_sampling_on_a_rare_class_with_a_clear_boundary() -> None:
    gains = []
    for seed in range(5):
        X, y = linear_problem(3000, seed, positive_rate=0.05, dims=10)
        X_test, y_test = linear_problem(2000, 100 + seed, positive_rate=0.05, dims=10)
        final = {s: acquisition.active_learning(X, y, X_test, y_test, strategy=s, initial=10, budget=60, rounds=10,
                                             seed=seed)["quality"].iloc[-1] for s in ("random", "uncertainty")}
        gains.append(final["uncertainty"] - final["random"])
    assert np.mean(gains) > 0.02 and min(gains) > 0
