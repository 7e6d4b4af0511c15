"""Cost-constrained per-group thresholds (workbench.fairness.thresholds) against a brute-force search."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from workbench.fairness.thresholds import GroupThresholds, cost_constrained_thresholds, frontier, group_curves

GRID = np.array([0.2, 0.35, 0.5, 0.65, 0.8])
C_FP, C_FN = 1.0, 3.0


def scored(seed: int, n: int = 400) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    g = rng.choice(["a", "b", "c"], n, p=[0.5, 0.3, 0.2])
    y = (rng.random(n) < np.where(g == "c", 0.25, 0.45)).astype(int)
    shift = np.where(g == "b", 0.1, 0.0)  # b's scores run high: a common threshold treats it differently
    score = np.clip(0.35 * y + 0.65 * rng.random(n) + shift, 0, 1)
    return y, score, g


def rates_by_hand(y: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    pos, neg = y == 1, y == 0
    return {"selection_rate": pred.mean(), "tpr": pred[pos].mean(), "fpr": pred[neg].mean()}


def brute_force(y, score, g, rates, limit):
    """Every combination of one grid threshold per group (plus flag-everyone and flag-no-one): the cheapest
    whose rates differ by at most limit."""
    names = sorted(set(g))
    options = [-np.inf, *GRID, np.inf]
    best = np.inf
    for combo in itertools.product(options, repeat=len(names)):
        t = np.select([g == n for n in names], combo)
        pred = (score >= t).astype(int)
        by_group = [rates_by_hand(y[g == n], pred[g == n]) for n in names]
        spread = max(max(r[k] for r in by_group) - min(r[k] for r in by_group) for k in rates)
        if spread <= limit + 1e-12:
            cost = 1000 * (C_FP * np.sum((pred == 1) & (y == 0)) + C_FN * np.sum((pred == 0) & (y == 1))) / len(y)
            best = min(best, cost)
    return best


@pytest.mark.parametrize("rates", [("fpr",), ("selection_rate",), ("tpr", "fpr")])
@pytest.mark.parametrize("limit", [0.0, 0.05, 0.15])
def test_per_group_thresholds_meet_the_limit_and_are_the_cost_minimal_ones(rates, limit) -> None:
    y, score, g = scored(0)
    got = cost_constrained_thresholds(y, score, g, rates, limit=limit, cost_fp=C_FP, cost_fn=C_FN, grid=GRID)
    pred = got.predict(score, g)
    by_group = [rates_by_hand(y[g == n], pred[g == n]) for n in sorted(set(g))]
    spread = max(max(r[k] for r in by_group) - min(r[k] for r in by_group) for k in rates)
    assert spread <= limit + 1e-12, "the limit holds on the rows the thresholds were chosen on"
    assert got.disparity == pytest.approx(spread)
    assert got.cost_per_1000 == pytest.approx(brute_force(y, score, g, rates, limit), abs=1e-9)
    assert got.cost_per_1000 == pytest.approx(1000 * (C_FP * np.sum((pred == 1) & (y == 0))
                                                      + C_FN * np.sum((pred == 0) & (y == 1))) / len(y))


def test_without_a_limit_each_group_gets_its_own_cheapest_threshold() -> None:
    y, score, g = scored(1)
    got = cost_constrained_thresholds(y, score, g, ("tpr", "fpr"), limit=np.inf, cost_fp=C_FP, cost_fn=C_FN, grid=GRID)
    for name in sorted(set(g)):
        m = g == name
        costs = [C_FP * np.sum((score[m] >= t) & (y[m] == 0)) + C_FN * np.sum((score[m] < t) & (y[m] == 1))
                 for t in [-np.inf, *GRID, np.inf]]
        assert got.thresholds[name] == [-np.inf, *GRID, np.inf][int(np.argmin(costs))]


def test_small_groups_keep_the_default_and_do_not_constrain() -> None:
    y, score, g = scored(2)
    small = np.where(np.arange(len(g)) < 8, "tiny", g)
    got = cost_constrained_thresholds(y, score, small, ("fpr",), limit=0.0, cost_fp=C_FP, cost_fn=C_FN, grid=GRID,
                                      min_rows=20, default=0.5)
    assert "tiny" not in got.thresholds and got.default == 0.5
    assert got.predict(np.array([0.49, 0.51]), np.array(["tiny", "tiny"])).tolist() == [0, 1]


def test_the_frontier_costs_less_as_the_limit_loosens() -> None:
    y, score, g = scored(3)
    front = frontier(y, score, g, ("tpr", "fpr"), [0.0, 0.02, 0.05, 0.1, 0.3, np.inf], cost_fp=C_FP, cost_fn=C_FN,
                     grid=GRID)
    assert np.all(np.diff(front["cost_per_1000"]) <= 1e-9)
    assert np.all(front["disparity"][:-1] <= front["limit"][:-1] + 1e-12)


def test_group_curves_count_what_each_threshold_flags() -> None:
    y, score, g = scored(4, n=60)
    curves = group_curves(y, score, g, GRID)
    for name, counts in curves.items():
        m = g == name
        for t, (tn, fp, fn, tp) in zip(GRID, counts):
            flag = score[m] >= t
            assert (tp, fp) == (np.sum(flag & (y[m] == 1)), np.sum(flag & (y[m] == 0)))
            assert tn + fp + fn + tp == m.sum()
    assert GroupThresholds({"a": 0.5}, 0.9, ("fpr",), 0.1, 0.0, 0.0).predict(
        np.array([0.6, 0.6]), np.array(["a", "b"])).tolist() == [1, 0]
