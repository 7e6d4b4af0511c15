"""Performance estimation without labels (workbench.monitoring.performance) against realised metrics."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import accuracy_score

from workbench.evaluation.calibration import fit_calibrator
from workbench.modelling import metrics
from workbench.monitoring import performance


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
@pytest.mark.parametrize("threshold, c_fp, c_fn", [(0.5, 1.0, 1.0), (0.2, 5.0, 20.0)])
def test_the_estimate_from_calibrated_probabilities_is_within_3_se_of_the_realised_metric(
        seed: int, threshold: float, c_fp: float, c_fn: float) -> None:
    """Tolerance: 3 standard errors, as reported by expected_metrics, on an unshifted window of 2,000 rows."""
    rng = np.random.default_rng(seed)
    p = rng.beta(0.7, 1.4, 2000)  # calibrated by construction: y ~ Bernoulli(p)
    y = (rng.random(2000) < p).astype(int)
    est = performance.expected_metrics(p, threshold, c_fp, c_fn)
    got = performance.realised_metrics(y, p, threshold, c_fp, c_fn)
    assert abs(est["cost_per_1000"] - got["cost_per_1000"]) <= 3 * est["cost_per_1000_se"]
    assert abs(est["accuracy"] - got["accuracy"]) <= 3 * est["accuracy_se"]
    assert got["accuracy"] == pytest.approx(accuracy_score(y, p >= threshold))
    assert got["cost_per_1000"] == pytest.approx(metrics.cost_per_1000(y, p >= threshold, c_fp, c_fn))


def test_expected_metrics_are_the_average_over_label_draws_and_their_se_is_the_spread() -> None:
    rng = np.random.default_rng(7)
    p = rng.random(400)
    est = performance.expected_metrics(p, 0.3, 2.0, 7.0)
    draws = [performance.realised_metrics((rng.random(400) < p).astype(int), p, 0.3, 2.0, 7.0) for _ in range(4000)]
    costs = np.array([d["cost_per_1000"] for d in draws])
    assert costs.mean() == pytest.approx(est["cost_per_1000"], abs=4 * est["cost_per_1000_se"] / np.sqrt(4000))
    assert costs.std() == pytest.approx(est["cost_per_1000_se"], rel=0.05)
    assert est["flag_rate"] == np.mean(p >= 0.3) and est["positive_rate"] == pytest.approx(p.mean())


def test_the_estimate_misses_a_concept_shift_that_labels_reveal() -> None:
    rng = np.random.default_rng(8)
    p = rng.beta(1.0, 1.0, 5000)
    y = (rng.random(5000) < 0.5).astype(int)  # P(y | x) moved (labels no longer depend on x); p did not
    est = performance.expected_metrics(p, 0.5, 1.0, 1.0)
    got = performance.realised_metrics(y, p, 0.5, 1.0, 1.0)
    assert got["cost_per_1000"] - est["cost_per_1000"] > 10 * est["cost_per_1000_se"]


def test_isotonic_calibration_repairs_monotone_miscalibration() -> None:
    rng = np.random.default_rng(9)
    p = rng.random(20_000)
    y = (rng.random(20_000) < p).astype(int)
    score = p**3  # same ranking, badly calibrated
    calibrate = fit_calibrator(score[:10_000], y[:10_000], "isotonic")
    fixed = calibrate(score[10_000:])
    assert np.all(np.diff(calibrate(np.linspace(0, 1, 50))) >= 0)
    for lo in (0.1, 0.4, 0.7):
        band = (fixed >= lo) & (fixed < lo + 0.1)
        assert abs(y[10_000:][band].mean() - fixed[band].mean()) < 0.03


def test_prior_adjusted_probabilities_are_the_true_posteriors_under_the_new_prior() -> None:
    """A known truth: x | y is normal with a mean set by y; the posterior at any prior follows Bayes' rule."""
    from scipy.stats import norm

    x = np.linspace(-3, 4, 50)
    like1, like0 = norm.pdf(x, 1.0, 1.0), norm.pdf(x, 0.0, 1.0)

    def posterior(prior: float) -> np.ndarray:
        return prior * like1 / (prior * like1 + (1 - prior) * like0)

    assert performance.prior_adjusted(posterior(0.3), 0.3, 0.6) == pytest.approx(posterior(0.6), rel=1e-12)
    assert performance.prior_adjusted(posterior(0.3), 0.3, 0.3) == pytest.approx(posterior(0.3), rel=1e-12)
    with pytest.raises(ValueError, match="priors must be rates"):
        performance.prior_adjusted(posterior(0.3), 1.0, 0.5)


def test_expected_metrics_can_keep_the_models_decisions_while_the_probabilities_move() -> None:
    p = np.array([0.1, 0.4, 0.6, 0.9])
    q = np.array([0.3, 0.7, 0.8, 0.95])  # a shift's probabilities; decisions stay those of p at 0.5
    got = performance.expected_metrics(q, 0.5, 1.0, 3.0, decided_on=p)
    flag = p >= 0.5
    assert got["cost_per_1000"] == pytest.approx(1000 * np.mean(np.where(flag, 1 - q, 3 * q)))
    assert got["flag_rate"] == 0.5 and performance.expected_metrics(q, 0.5, 1.0, 3.0)["flag_rate"] == 0.75
