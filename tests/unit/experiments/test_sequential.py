"""Stopping rules (workbench.experiments.sequential): boundaries and error rates against simulation and exact values."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import binomtest, multivariate_normal
from statsmodels.stats.proportion import proportions_ztest

from workbench.experiments import sequential as sq
from workbench.modelling.intervals import proportion_interval


def brownian_z(reps: int, fractions: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    steps = rng.normal(size=(reps, len(fractions))) * np.sqrt(np.diff(np.r_[0, fractions]))
    return np.cumsum(steps, axis=1) / np.sqrt(fractions)


@pytest.mark.parametrize("spending", sq.SPENDING)
def test_boundaries_spend_alpha_look_by_look_in_simulated_paths(spending: str) -> None:
    t = np.arange(1, 6) / 5
    bounds = sq.spending_boundaries(t, 0.05, spending)
    z = brownian_z(200_000, t, np.random.default_rng(0))
    first = sq.first_crossing(np.abs(z) >= bounds)
    simulated = [np.mean((first >= 0) & (first <= k)) for k in range(len(t))]
    np.testing.assert_allclose(simulated, sq.spent_alpha(t, 0.05, spending), atol=0.0015)


def test_two_looks_match_the_exact_bivariate_normal() -> None:
    t = np.array([0.5, 1.0])
    c1, c2 = sq.spending_boundaries(t, 0.05)
    r = np.sqrt(0.5)
    mvn = multivariate_normal(mean=[0, 0], cov=[[1, r], [r, 1]])
    inside = mvn.cdf([c1, c2]) - mvn.cdf([-c1, c2]) - mvn.cdf([c1, -c2]) + mvn.cdf([-c1, -c2])
    assert 1 - inside == pytest.approx(0.05, abs=2e-4)
    assert c1 == pytest.approx(1.959964 / np.sqrt(0.5), abs=1e-4), "the first look spends alpha(0.5) alone"


def test_obrien_fleming_boundaries_start_high_and_pocock_stays_flat() -> None:
    t = np.arange(1, 11) / 10
    obf, pocock = sq.spending_boundaries(t, 0.05), sq.spending_boundaries(t, 0.05, "pocock")
    assert np.all(np.diff(obf) < 0) and obf[0] > 5 and 1.96 < obf[-1] < 2.2
    assert pocock.max() - pocock.min() < 0.25


def test_the_pooled_z_equals_statsmodels() -> None:
    z = sq.two_proportion_z(np.array([30]), np.array([1000]), np.array([45]), np.array([1100]))
    stat, _ = proportions_ztest([45, 30], [1100, 1000])
    assert z[0] == pytest.approx(stat)
    assert sq.two_proportion_z(np.array([0]), np.array([10]), np.array([0]), np.array([10]))[0] == 0.0


def test_a_single_look_msprt_p_value_is_the_reciprocal_mixture_likelihood_ratio() -> None:
    z, var, tau2 = 2.5, 0.01, 0.04
    r = tau2 / var
    expected = min(1.0, np.sqrt(1 + r) * np.exp(-0.5 * z**2 * r / (1 + r)))
    assert sq.msprt_p_values(np.array([z]), np.array([var]), tau2)[0] == pytest.approx(expected)
    p = sq.msprt_p_values(np.array([[0.5, 3.0, 1.0, 0.0]]), np.full((1, 4), var), tau2)
    assert np.all(np.diff(p) <= 0) and p.max() <= 1, "always-valid p-values never rise"


def test_in_simulated_a_a_tests_only_peeking_breaks_alpha() -> None:
    rng = np.random.default_rng(3)
    t = np.arange(1, 21) / 20
    reps = 4000
    counts = sq.simulate_counts(0.05, 0.05, 20_000, t, reps, rng)
    stops = sq.stopping_looks(*counts, alpha=0.05, boundaries=sq.spending_boundaries(t, 0.05), tau2=0.005**2)
    rate = {rule: int((s >= 0).sum()) for rule, s in stops.items()}
    assert rate["peeking"] / reps > 0.15, "20 looks at p < 0.05 stop far more often than 5%"
    for rule in ("fixed", "group_sequential"):
        assert binomtest(rate[rule], reps, 0.05).pvalue > 0.001, (rule, rate[rule] / reps)
    assert proportion_interval(rate["msprt"], reps, level=0.999).lo <= 0.05, "the mSPRT holds alpha"


def test_a_real_effect_is_found_sooner_by_the_sequential_designs_than_by_the_fixed_test() -> None:
    rng = np.random.default_rng(4)
    t = np.arange(1, 11) / 10
    counts = sq.simulate_counts(0.05, 0.06, 20_000, t, 2000, rng)
    stops = sq.stopping_looks(*counts, alpha=0.05, boundaries=sq.spending_boundaries(t, 0.05))
    used = {rule: np.where(s >= 0, t[np.maximum(s, 0)], 1.0).mean() for rule, s in stops.items()}
    assert used["group_sequential"] < 0.8 * used["fixed"]


def test_an_a_a_replay_splits_the_real_stream_and_keeps_its_totals() -> None:
    rng = np.random.default_rng(5)
    y = (rng.random(10_000) < 0.02).astype(int)
    x_a, n_a, x_b, n_b = sq.aa_replay_counts(y, 10, 500, rng)
    edges = np.linspace(0, len(y), 11).astype(int)[1:]
    np.testing.assert_array_equal(x_a + x_b, np.broadcast_to(np.cumsum(y)[edges - 1], x_a.shape))
    np.testing.assert_array_equal(n_a + n_b, np.broadcast_to(edges, n_a.shape))
    assert abs(n_b[:, -1].mean() - 5000) < 20 and abs(x_b[:, -1].mean() - y.sum() / 2) < 2
