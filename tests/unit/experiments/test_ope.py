"""Off-policy estimators (workbench.experiments.ope) on synthetic logs with known propensities and a known true value."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.experiments import ope

K = 4
MEANS = np.array([0.02, 0.05, 0.10, 0.20])  # true reward rate of each action
LOGGING = np.array([0.55, 0.25, 0.15, 0.05])  # the logging policy favours the worst action
TARGET = np.array([0.05, 0.10, 0.25, 0.60])  # the target policy favours the best
TRUE_VALUE = float(TARGET @ MEANS)


def logs(n: int, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    a = rng.choice(K, size=n, p=LOGGING)
    r = (rng.random(n) < MEANS[a]).astype(float)
    return a, r, LOGGING[a], TARGET[a]


def test_ipw_snipw_and_dr_are_unbiased_for_the_known_value_dm_only_with_a_right_model() -> None:
    rng = np.random.default_rng(0)
    wrong = np.full(K, 0.08)  # a reward model that knows nothing
    out = {name: [] for name in ("IPW", "SNIPW", "DR", "DR_wrong", "DM_wrong")}
    for _ in range(400):
        a, r, p, pi = logs(2000, rng)
        w = ope.importance_weights(pi, p)
        right = ope.per_row_terms(r, w, MEANS[a], np.full(len(a), TRUE_VALUE))
        bad = ope.per_row_terms(r, w, wrong[a], np.full(len(a), float(TARGET @ wrong)))
        out["IPW"].append(right["IPW"].mean())
        out["SNIPW"].append(ope.snipw(r, w))
        out["DR"].append(right["DR"].mean())
        out["DR_wrong"].append(bad["DR"].mean())
        out["DM_wrong"].append(bad["DM"].mean())
    for name in ("IPW", "SNIPW", "DR", "DR_wrong"):
        values = np.array(out[name])
        se = values.std(ddof=1) / np.sqrt(len(values))
        assert abs(values.mean() - TRUE_VALUE) < 4 * se + 1e-3 * (name == "SNIPW"), (name, values.mean(), TRUE_VALUE)
    assert abs(np.mean(out["DM_wrong"]) - TRUE_VALUE) > 0.05, "the direct method is as biased as its model"
    assert np.std(out["DR"]) < np.std(out["IPW"]), "a right model makes DR steadier than IPW"


def test_the_intervals_cover_the_true_value_about_as_often_as_they_claim() -> None:
    rng = np.random.default_rng(1)
    covered = {name: 0 for name in ope.ESTIMATORS}
    trials = 120
    for _ in range(trials):
        a, r, p, pi = logs(3000, rng)
        w = ope.importance_weights(pi, p)
        q = np.full(K, 0.1)
        est = ope.estimate_all(r, w, q[a], np.full(len(a), float(TARGET @ q)), n_boot=300, seed=0)
        for name, i in est.items():
            covered[name] += i.lo <= TRUE_VALUE <= i.hi
    for name in ("IPW", "SNIPW", "DR"):
        assert 0.8 <= covered[name] / trials <= 0.97, (name, covered[name] / trials)


def test_estimates_are_means_of_their_row_terms() -> None:
    r = np.array([1.0, 0.0, 1.0, 0.0])
    w = np.array([2.0, 0.5, 1.0, 0.5])
    est = ope.estimate_all(r, w, np.full(4, 0.2), np.full(4, 0.3), n_boot=100)
    assert est["IPW"].value == pytest.approx(3.0 / 4)
    assert est["SNIPW"].value == pytest.approx(3.0 / 4.0)
    assert est["DM"].value == pytest.approx(0.3)
    assert est["DR"].value == pytest.approx(0.3 + np.mean(w * (r - 0.2)))
    assert list(ope.estimate_all(r, w, n_boot=100)) == ["IPW", "SNIPW"], "no reward model: no DM or DR"


def test_a_logged_action_with_no_probability_is_refused() -> None:
    with pytest.raises(ValueError, match="logging probabilities above 0"):
        ope.importance_weights(np.array([0.5]), np.array([0.0]))
