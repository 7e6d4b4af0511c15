"""Sample size and duration (workbench.experiments.power) against closed forms and simulated A/B tests."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import binomtest, norm, ttest_ind

from workbench.experiments.power import (
    ab_duration_days,
    detectable_difference,
    detectable_proportion,
    mean_sample_size,
    proportion_sample_size,
)


def cohen_h_n(p1: float, p2: float, alpha: float = 0.05, power: float = 0.8) -> float:
    """Users per arm from the textbook formula n = 2 (z_{1-alpha/2} + z_power)^2 / h^2."""
    h = 2 * math.asin(math.sqrt(p2)) - 2 * math.asin(math.sqrt(p1))
    return 2 * (norm.ppf(1 - alpha / 2) + norm.ppf(power)) ** 2 / h**2


def test_a_click_rate_change_needs_the_textbook_number_of_users() -> None:
    n = proportion_sample_size(0.0038, 0.0042)
    assert n == pytest.approx(cohen_h_n(0.0038, 0.0042), abs=1.0)
    assert 380_000 < n < 400_000, "0.38% -> 0.42% needs about 390,000 users per arm"
    assert proportion_sample_size(0.0042, 0.0038) == n, "the direction of the change does not matter"


def test_the_computed_size_has_its_power_in_simulated_two_proportion_tests() -> None:
    p1, p2 = 0.10, 0.13
    n = proportion_sample_size(p1, p2)
    rng = np.random.default_rng(1)
    reps = 4000
    x1, x2 = rng.binomial(n, p1, reps), rng.binomial(n, p2, reps)
    pooled = (x1 + x2) / (2 * n)
    z = (x2 - x1) / n / np.sqrt(pooled * (1 - pooled) * 2 / n)
    rejected = int(np.sum(np.abs(z) >= norm.ppf(0.975)))
    assert binomtest(rejected, reps, 0.8).pvalue > 0.001, rejected / reps


def test_a_mean_difference_has_its_power_in_simulated_t_tests() -> None:
    n = mean_sample_size(0.5, 2.0)
    assert n == pytest.approx(2 * (norm.ppf(0.975) + norm.ppf(0.8)) ** 2 * 16, abs=1.0)
    rng = np.random.default_rng(2)
    reps = 2000
    a = rng.normal(0.0, 2.0, size=(reps, n))
    b = rng.normal(0.5, 2.0, size=(reps, n))
    rejected = int(np.sum(ttest_ind(a, b, axis=1).pvalue < 0.05))
    assert binomtest(rejected, reps, 0.8).pvalue > 0.001, rejected / reps


def test_detectable_effects_invert_the_sample_sizes() -> None:
    p = detectable_proportion(0.004, 100_000)
    assert p > 0.004
    assert proportion_sample_size(0.004, p) == pytest.approx(100_000, rel=1e-3)
    d = detectable_difference(3.0, 5_000)
    assert mean_sample_size(d, 3.0) == pytest.approx(5_000, rel=1e-3)


def test_duration_counts_whole_days_for_every_arm() -> None:
    assert ab_duration_days(1000, 500) == 4
    assert ab_duration_days(1000, 500, share=0.5) == 8
    assert ab_duration_days(10, 1_000_000) == 1
    with pytest.raises(ValueError, match="daily_traffic > 0"):
        ab_duration_days(10, 0)


def test_bad_inputs_are_refused_with_a_reason() -> None:
    with pytest.raises(ValueError, match="two different rates"):
        proportion_sample_size(0.1, 0.1)
    with pytest.raises(ValueError, match="alpha and power"):
        mean_sample_size(1.0, 1.0, power=1.0)
