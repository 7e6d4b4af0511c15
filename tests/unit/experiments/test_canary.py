"""Shadow and canary replays (workbench.experiments.canary): the guardrail's errors and what a bad candidate costs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binomtest

from workbench.experiments import canary


def traffic(days: int, per_day: int, seed: int) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    made = np.repeat(np.arange(days), per_day)
    y = rng.random(len(made)) < 0.2
    flag_good = np.where(rng.random(len(made)) < 0.8, y, ~y)  # right 80% of the time
    flag_bad = np.where(rng.random(len(made)) < 0.6, y, ~y)  # right 60% of the time
    cost = {name: np.where(f & ~y, 1.0, 0.0) + np.where(~f & y, 4.0, 0.0)
            for name, f in [("good", flag_good), ("bad", flag_bad)]}
    return made, cost["good"], cost["bad"]


def test_a_clearly_worse_candidate_is_stopped_but_never_before_its_labels_arrive() -> None:
    made, good, bad = traffic(60, 400, 0)
    run = canary.canary_replay(made, made + 10, good, bad, share=0.1, reps=500, tau=0.1, seed=0)
    assert run.stopped.mean() > 0.95
    assert run.stop_day[run.stopped].min() >= 10, "nothing is known before the label lag"
    assert np.all(run.extra_cost > 0)


def test_a_candidate_no_worse_than_control_is_stopped_at_most_alpha_of_the_time() -> None:
    made, good, _ = traffic(60, 400, 1)
    shuffled = np.random.default_rng(2).permutation(good)  # the same cost distribution: no real difference
    run = canary.canary_replay(made, made + 3, good, shuffled, share=0.1, reps=2000, alpha=0.05, tau=0.1, seed=1)
    stops = int(run.stopped.sum())
    assert stops / 2000 <= 0.05 or binomtest(stops, 2000, 0.05, alternative="greater").pvalue > 0.001


def test_a_canary_whose_labels_arrive_after_its_last_decision_pays_its_whole_share_of_the_difference() -> None:
    made, good, bad = traffic(20, 100, 3)
    run = canary.canary_replay(made, made + 100, good, bad, share=0.2, reps=3000, tau=0.1, seed=2)
    assert run.days == 120 and np.all(run.stop_day[run.stopped] >= 100), "no stop before the first label"
    assert run.extra_cost.mean() == pytest.approx(0.2 * np.sum(bad - good), rel=0.05)
    assert run.exposed.mean() == pytest.approx(0.2 * len(made), rel=0.02)


def test_disagreement_by_day_is_the_daily_share_of_differing_decisions() -> None:
    day = np.array([0, 0, 1, 1, 1])
    out = canary.disagreement_by_day(day, np.array([1, 0, 1, 1, 0]), np.array([1, 1, 0, 1, 0]))
    expected = pd.DataFrame({"day": [0, 1], "rows": [2, 3], "disagreement": [0.5, 1 / 3]})
    pd.testing.assert_frame_equal(out, expected, check_dtype=False)


def test_inconsistent_days_are_refused() -> None:
    with pytest.raises(ValueError, match="known on or after"):
        canary.canary_replay(np.array([3]), np.array([2]), np.array([0.0]), np.array([1.0]), tau=1.0)
