"""Bandit policies replayed on uniformly logged data (workbench.experiments.bandits)."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.experiments import bandits

RATES = np.array([0.02, 0.05])


def uniform_logs(n: int, seed: int) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    arm = rng.integers(0, 2, n)
    reward = (rng.random(n) < RATES[arm]).astype(float)
    return arm, reward, np.arange(n) // 200


def test_replay_counts_the_rows_where_the_policy_agrees_with_the_log() -> None:
    arm, reward, batch = uniform_logs(40_000, 0)
    res = bandits.replay(arm, reward, batch, "uniform", 2, seed=1)
    assert res.counted == pytest.approx(20_000, rel=0.02), "a coin agrees with a coin half the time"
    assert res.pulls.sum() == res.batch_pulls.sum() == res.counted
    counted_rewards = res.rewards.sum()
    assert counted_rewards <= reward.sum()


def test_a_fixed_policy_replayed_has_the_reward_rate_of_its_arm() -> None:
    arm, reward, batch = uniform_logs(60_000, 2)
    res = bandits.replay(arm, reward, batch, "ucb", 2, seed=0)
    assert res.pulls.sum() > 0
    always_one = reward[arm == 1].mean()
    assert always_one == pytest.approx(RATES[1], abs=0.005), "the replayed arm-1 rows are a fair sample of arm 1"


@pytest.mark.parametrize("policy", ["thompson", "epsilon_greedy"])
def test_adaptive_policies_move_traffic_to_the_better_arm_and_lose_fewer_rewards(policy: str) -> None:
    arm, reward, batch = uniform_logs(60_000, 3)
    split = bandits.replay(arm, reward, batch, "uniform", 2, seed=0)
    adaptive = bandits.replay(arm, reward, batch, policy, 2, seed=0)
    assert adaptive.pulls[1] / adaptive.counted > 0.8
    assert bandits.clicks_lost_per_1000(adaptive, RATES) < 0.5 * bandits.clicks_lost_per_1000(split, RATES)
    assert bandits.clicks_lost_per_1000(split, RATES) == pytest.approx(1000 * 0.5 * 0.03, rel=0.05)


def test_the_posterior_names_the_better_arm_once_the_data_is_clear() -> None:
    p = bandits.prob_best(np.array([5000, 5000]), np.array([100, 250]))
    assert p[1] > 0.99 and p.sum() == pytest.approx(1.0)


def test_bootstrap_intervals_hold_their_values_and_savings_are_paired() -> None:
    arm, reward, batch = uniform_logs(20_000, 4)
    loss, saving = bandits.bootstrap_replays(arm, reward, batch, 2, n_boot=30, seed=0)
    assert set(loss) == set(bandits.POLICIES) and set(saving) == set(bandits.POLICIES) - {"uniform"}
    for p, i in loss.items():
        assert i.lo <= i.value <= i.hi, p
    assert saving["thompson"].value == pytest.approx(loss["uniform"].value - loss["thompson"].value)


def test_rows_out_of_time_order_are_refused() -> None:
    with pytest.raises(ValueError, match="time order"):
        bandits.replay(np.array([0, 1]), np.array([0.0, 1.0]), np.array([1, 0]), "uniform", 2)
    with pytest.raises(ValueError, match="unknown policy"):
        bandits.choose("greedy", np.ones(2), np.ones(2), 3, np.random.default_rng(0))
