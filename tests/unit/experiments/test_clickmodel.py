"""The position-based click model (workbench.experiments.clickmodel) recovers known click probabilities."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.experiments.clickmodel import PositionBasedModel, cross_fitted, fit_pbm

ATTRACT = np.array([0.05, 0.1, 0.2, 0.4, 0.6])
EXAM = np.array([0.9, 0.5, 0.25])


def impressions(n: int, seed: int) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    a = rng.integers(0, len(ATTRACT), n)
    k = rng.integers(0, len(EXAM), n)
    c = (rng.random(n) < ATTRACT[a] * EXAM[k]).astype(int)
    return a, k, c


def test_em_recovers_every_item_slot_click_probability_from_uniform_logs() -> None:
    a, k, c = impressions(200_000, 0)
    model = fit_pbm(a, k, c, len(ATTRACT), len(EXAM), prior_rows=0, iterations=300)
    np.testing.assert_allclose(model.table(), np.outer(ATTRACT, EXAM), atol=0.01)
    ratio = model.examination / model.examination[0]
    np.testing.assert_allclose(ratio, EXAM / EXAM[0], atol=0.03)


def test_the_prior_pulls_an_unclicked_item_towards_the_average() -> None:
    a = np.array([0, 0, 0, 1, 1, 1] * 20)
    k = np.zeros(len(a), dtype=int)
    c = np.where(a == 1, np.tile([1, 0, 0], 40), 0)
    shrunk = fit_pbm(a, k, c, 2, 1, prior_rows=50)
    raw = fit_pbm(a, k, c, 2, 1, prior_rows=0)
    assert raw.click_prob(np.array([0]), np.array([0]))[0] < 1e-6
    assert shrunk.click_prob(np.array([0]), np.array([0]))[0] > 0.05


def test_expected_clicks_sum_attractiveness_times_examination_slot_by_slot() -> None:
    model = PositionBasedModel(ATTRACT, EXAM)
    assert model.expected_clicks(np.array([4, 3, 2])) == pytest.approx(0.6 * 0.9 + 0.4 * 0.5 + 0.2 * 0.25)


def test_cross_fitted_predictions_come_from_the_other_folds_and_average_over_the_target() -> None:
    a, k, c = impressions(20_000, 1)
    target = np.full((len(ATTRACT), len(EXAM)), 1 / len(ATTRACT))
    q_logged, q_target = cross_fitted(a, k, c, len(ATTRACT), len(EXAM), target, folds=2, seed=0)
    fold = np.random.default_rng(0).permutation(len(a)) % 2
    other = fit_pbm(a[fold == 1], k[fold == 1], c[fold == 1], len(ATTRACT), len(EXAM))
    held = np.flatnonzero(fold == 0)
    np.testing.assert_allclose(q_logged[held], other.click_prob(a[held], k[held]))
    np.testing.assert_allclose(q_target[held], other.table().mean(axis=0)[k[held]])
