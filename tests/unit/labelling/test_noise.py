"""Noise injection flips the promised share of labels; confident learning finds flips, and follows its definition."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from workbench.labelling import noise


def test_uniform_noise_flips_about_rate_of_the_labels_and_reports_exactly_which() -> None:
    y = (np.random.default_rng(0).random(20_000) < 0.3).astype("int8")
    for rate in (0.05, 0.2, 0.4):
        noisy, flipped = noise.inject(y, rate, "uniform", seed=1)
        assert np.array_equal(flipped, noisy != y)
        assert abs(flipped.mean() - rate) < 4 * np.sqrt(rate * (1 - rate) / len(y))
        # both classes flip at the same rate
        assert abs(flipped[y == 1].mean() - flipped[y == 0].mean()) < 0.03
    assert not noise.inject(y, 0.0, "uniform")[1].any()


def test_class_conditional_noise_only_misses_positives() -> None:
    y = (np.random.default_rng(2).random(20_000) < 0.2).astype("int8")
    noisy, flipped = noise.inject(y, 0.3, "class_conditional", seed=3)
    assert not flipped[y == 0].any() and (noisy[flipped] == 0).all()
    positives = int((y == 1).sum())
    assert abs(flipped[y == 1].mean() - 0.3) < 4 * np.sqrt(0.3 * 0.7 / positives)


def test_injection_is_reproducible_and_checks_its_arguments() -> None:
    y = np.array([0, 1] * 50)
    assert np.array_equal(noise.inject(y, 0.3, seed=9)[0], noise.inject(y, 0.3, seed=9)[0])
    with pytest.raises(ValueError, match="noise kind"):
        noise.inject(y, 0.1, "adversarial")
    with pytest.raises(ValueError, match="between 0 and 1"):
        noise.inject(y, 1.5)


def test_detection_counts_precision_and_recall_by_hand() -> None:
    found = np.array([1, 1, 1, 0, 0, 0, 0, 0], bool)
    flipped = np.array([1, 0, 0, 1, 0, 0, 0, 0], bool)
    d = noise.detection(found, flipped)
    assert d == {"n_found": 3, "n_flipped": 2, "precision": 1 / 3, "recall": 1 / 2,
                 "random_precision": 2 / 8, "random_recall": 3 / 8}
    none = noise.detection(np.zeros(4, bool), np.zeros(4, bool))
    assert none["precision"] is None and none["recall"] is None


def _noisy_problem(n: int = 3000, rate: float = 0.2, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 5))
    y = (X @ np.array([2.0, -1.5, 1.0, 0.0, 0.0]) + rng.normal(scale=0.5, size=n) > 0).astype("int8")
    noisy, flipped = noise.inject(y, rate, "uniform", seed=seed + 1)
    return X, y, noisy, flipped


def test_confident_learning_finds_flipped_labels_far_better_than_chance() -> None:
    X, _, noisy, flipped = _noisy_problem()
    probs = noise.cross_validated_probs(LogisticRegression(), X, noisy, seed=0)
    assert probs.shape == (len(X), 2) and np.allclose(probs.sum(axis=1), 1)
    found = noise.find_issues(noisy, probs)
    d = noise.detection(found, flipped)
    assert d["precision"] > 3 * d["random_precision"]
    assert d["recall"] > 0.6
    assert np.array_equal(found, noise.find_issues(noisy, probs[:, 1])), "P(y = 1) alone is enough"


def confident_joint_off_diagonal(labels: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """Northcutt et al.'s confident learning, written out row by row.

    Threshold t_k: the mean P(k) over rows labelled k. A row is confidently of class k when
    P(k) >= t_k; with several such classes, the most probable. A row is an issue when its confident
    class differs from its given label and the given label is not the model's top prediction.
    """
    K = probs.shape[1]
    t = np.array([probs[labels == k, k].mean() for k in range(K)])
    issues = np.zeros(len(labels), bool)
    for i, (s, p) in enumerate(zip(labels, probs)):
        confident = [k for k in range(K) if p[k] >= t[k] - 1e-6]
        if not confident:
            continue
        guess = confident[0] if len(confident) == 1 else int(np.argmax(p))
        issues[i] = guess != s and int(np.argmax(p)) != s
    return issues


def test_the_confident_learning_filter_is_the_off_diagonal_of_the_confident_joint() -> None:
    X, _, noisy, _ = _noisy_problem(n=1500, rate=0.15, seed=4)
    probs = noise.cross_validated_probs(LogisticRegression(), X, noisy, seed=4)
    got = noise.find_issues(noisy, probs, method="confident_learning")
    assert got.any()
    assert np.array_equal(got, confident_joint_off_diagonal(noisy.astype(int), probs))


def test_a_single_class_has_no_issues_to_find() -> None:
    assert not noise.find_issues(np.zeros(10, int), np.full(10, 0.3)).any()
