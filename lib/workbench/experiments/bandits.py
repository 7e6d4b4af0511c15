"""Bandits vs a fixed split, replayed on logged data with Li et al.'s unbiased replay method.

Replay (Li, Chu, Langford and Wang, WSDM 2011): walk through logs whose arm was chosen uniformly
at random; a row counts only when the policy under test would have chosen the logged arm, and only
then does the policy see the reward. The counted rows are distributed as if the policy had run
live. Here the policy updates once per batch of rows (production bandits update every few minutes
or hours, not after every impression), which the replay honours: choices within a batch use the
state at its start.

Policies on Bernoulli rewards: `uniform` (a fixed equal split: the A/B test), `epsilon_greedy`,
`ucb` (UCB1) and `thompson` (Beta(1, 1) priors). No bandit library is used: each policy is a few
lines over per-arm counts, and the replay loop needs batch updates that bandit libraries model
differently.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from workbench.modelling.intervals import Interval, bootstrap_rows

__all__ = ["POLICIES", "ReplayResult", "bootstrap_replays", "choose", "clicks_lost_per_1000", "prob_best", "replay"]

POLICIES = ("uniform", "epsilon_greedy", "ucb", "thompson")


@dataclass(frozen=True)
class ReplayResult:
    """What a replayed policy did: rows counted, per-arm pulls and rewards, and the counted rows per batch."""

    policy: str
    pulls: np.ndarray
    rewards: np.ndarray
    batch_pulls: np.ndarray  # batches x arms: counted rows of each arm in each batch

    @property
    def counted(self) -> int:
        return int(self.pulls.sum())

    @property
    def reward_rate(self) -> float:
        return float(self.rewards.sum() / self.pulls.sum()) if self.pulls.sum() else float("nan")


def choose(policy: str, pulls: np.ndarray, rewards: np.ndarray, size: int, rng: np.random.Generator, *,
           epsilon: float = 0.1) -> np.ndarray:
    """The arm the policy picks for each of `size` rows, given per-arm pulls and rewards so far."""
    k = len(pulls)
    untried = np.flatnonzero(pulls == 0)
    if policy == "uniform":
        return rng.integers(0, k, size)
    if policy == "thompson":
        draws = rng.beta(1 + rewards, 1 + pulls - rewards, size=(size, k))
        return draws.argmax(axis=1)
    if policy not in POLICIES:
        raise ValueError(f"unknown policy {policy!r} (expected one of {', '.join(POLICIES)})")
    if len(untried):  # greedy and UCB try every arm once first
        return rng.choice(untried, size)
    mean = rewards / pulls
    if policy == "epsilon_greedy":
        best = rng.choice(np.flatnonzero(mean == mean.max()), size)
        explore = rng.random(size) < epsilon
        return np.where(explore, rng.integers(0, k, size), best)
    bonus = np.sqrt(2 * np.log(pulls.sum()) / pulls)
    score = mean + bonus
    return rng.choice(np.flatnonzero(score == score.max()), size)


def replay(logged_arm: np.ndarray, reward: np.ndarray, batch: np.ndarray, policy: str, n_arms: int, *,
           seed: int = 0, epsilon: float = 0.1) -> ReplayResult:
    """Replay a policy on uniformly logged rows (in time order); `batch` numbers the update batches, non-decreasing."""
    arm = np.asarray(logged_arm, dtype=np.int64)
    r = np.asarray(reward, dtype=float)
    b = np.asarray(batch)
    if not len(arm) == len(r) == len(b):
        raise ValueError("logged_arm, reward and batch need one entry per row")
    if len(b) and np.any(np.diff(b) < 0):
        raise ValueError("rows must be in time order (batch numbers non-decreasing)")
    rng = np.random.default_rng(seed)
    pulls = np.zeros(n_arms)
    rewards = np.zeros(n_arms)
    starts = np.flatnonzero(np.r_[True, b[1:] != b[:-1]]) if len(b) else np.array([], dtype=int)
    ends = np.r_[starts[1:], len(b)]
    per_batch = np.zeros((len(starts), n_arms))
    for j, (lo, hi) in enumerate(zip(starts, ends)):
        picked = choose(policy, pulls, rewards, hi - lo, rng, epsilon=epsilon)
        hit = picked == arm[lo:hi]
        counted = np.bincount(arm[lo:hi][hit], minlength=n_arms)
        per_batch[j] = counted
        pulls += counted
        rewards += np.bincount(arm[lo:hi][hit], weights=r[lo:hi][hit], minlength=n_arms)
    return ReplayResult(policy, pulls, rewards, per_batch)


def prob_best(pulls: np.ndarray, rewards: np.ndarray, *, draws: int = 4000, seed: int = 0) -> np.ndarray:
    """Posterior probability that each arm has the highest reward rate (Beta(1, 1) priors, by sampling)."""
    rng = np.random.default_rng(seed)
    p = np.asarray(pulls, dtype=float)
    s = np.asarray(rewards, dtype=float)
    sample = rng.beta(1 + s, 1 + p - s, size=(draws, len(p)))
    return np.bincount(sample.argmax(axis=1), minlength=len(p)) / draws


def clicks_lost_per_1000(result: ReplayResult, rates: np.ndarray) -> float:
    """Rewards lost per 1,000 counted rows by not always playing the best arm, at the arms' reward rates `rates`."""
    rates = np.asarray(rates, dtype=float)
    if not result.counted:
        return float("nan")
    return float(1000 * np.sum(result.pulls * (rates.max() - rates)) / result.counted)


def bootstrap_replays(logged_arm: np.ndarray, reward: np.ndarray, batch: np.ndarray, n_arms: int,
                      policies: Sequence[str] = POLICIES, *, n_boot: int = 100, level: float = 0.9,
                      seed: int = 0, epsilon: float = 0.1) -> tuple[dict[str, Interval], dict[str, Interval]]:
    """Each policy's rewards lost per 1,000 counted rows, and what it saves against `uniform`, with bootstrap intervals.

    Rows are resampled (and kept in time order); every policy is replayed on the same resample and
    judged at that resample's own per-arm reward rates, so the savings are paired comparisons.
    """
    arm = np.asarray(logged_arm, dtype=np.int64)
    r = np.asarray(reward, dtype=float)
    b = np.asarray(batch)
    n = len(arm)
    cache: dict[bytes, dict[str, float]] = {}

    def lost(rows: np.ndarray) -> dict[str, float]:
        key = hashlib.blake2b(np.asarray(rows).tobytes(), digest_size=16).digest()
        if key not in cache:
            order = np.repeat(np.arange(n), np.bincount(rows, minlength=n))  # the resample, in time order
            a, rr = arm[order], r[order]
            pulls = np.bincount(a, minlength=n_arms)
            rates = np.divide(np.bincount(a, weights=rr, minlength=n_arms), pulls, out=np.zeros(n_arms), where=pulls > 0)
            cache[key] = {p: clicks_lost_per_1000(replay(a, rr, b[order], p, n_arms, seed=seed, epsilon=epsilon), rates)
                          for p in dict.fromkeys(["uniform", *policies])}
        return cache[key]

    def loss_of(p: str) -> Callable[[np.ndarray], float]:
        return lambda rows: lost(rows)[p]

    def saving_of(p: str) -> Callable[[np.ndarray], float]:
        return lambda rows: lost(rows)["uniform"] - lost(rows)[p]

    loss = {p: bootstrap_rows(n, loss_of(p), n_boot=n_boot, level=level, seed=seed) for p in policies}
    saving = {p: bootstrap_rows(n, saving_of(p), n_boot=n_boot, level=level, seed=seed) for p in policies if p != "uniform"}
    return loss, saving
