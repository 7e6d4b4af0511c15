"""The retraining backtest (workbench.retraining.backtest): plans, latest models, no look-ahead."""

from __future__ import annotations

import dataclasses
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.unit.retraining.days import FEATURES, days_frame, frame_case
from workbench.errors import WorkbenchError
from workbench.modelling import boosting
from workbench.retraining import backtest, timelines
from workbench.retraining.backtest import Backtester, Update, freshness_plan, plan


def remember_latest_day(tl: timelines.Timeline):
    """A fake model: it remembers the latest day it was trained on, and predicts that day."""
    col = tl.features.index("dayno")
    return (lambda X, y: X[:, col].max()), (lambda model, X: np.full(len(X), model))


@pytest.mark.parametrize("cadence", [1, 2, 7, 10, 30, 88, 0])
def test_cadence_k_trains_the_expected_number_of_models(cadence: int) -> None:
    n_days, first = 100, 12
    updates = plan(n_days, first_day=first, cadence=cadence, window_days=5)
    retrain_days = [d for d in range(first, n_days) if cadence and (d - first) % cadence == 0] or [first]
    assert [u.day for u in updates] == retrain_days
    assert len(updates) == backtest.n_updates(n_days, first, cadence)
    assert updates[-1].until == n_days and all(a.until == b.day for a, b in zip(updates, updates[1:]))


def test_windows_end_before_the_day_served_minus_the_label_delay() -> None:
    sliding = plan(50, first_day=10, cadence=7, window="sliding", window_days=6, gap_days=3)
    assert all(u.train_to == u.day - 2 and u.train_from == max(0, u.train_to - 6) for u in sliding)
    expanding = plan(50, first_day=10, cadence=7, window="expanding", gap_days=1)
    assert all(u.train_from == 0 and u.train_to == u.day for u in expanding)
    warm = plan(50, first_day=10, cadence=7, window_days=6, stateful=True)
    assert not warm[0].warm and warm[0].train_from == 4
    assert all(u.warm and u.train_from == prev.train_to and u.train_to == u.day for prev, u in zip(warm, warm[1:]))


@pytest.mark.parametrize("kwargs, message", [
    ({"gap_days": 0}, "gap_days >= 1"),
    ({"first_day": 2, "gap_days": 3}, "at least 3 day"),
    ({"first_day": 50}, "within the 50 days"),
    ({"window": "rolling"}, "window must be one of"),
    ({"cadence": -1}, "cadence >= 0"),
])
def test_plan_refuses_impossible_requests(kwargs: dict, message: str) -> None:
    args = {"first_day": 10, "cadence": 7, **kwargs}
    with pytest.raises(WorkbenchError, match=message):
        plan(50, **args)


@pytest.mark.parametrize("cadence, window, gap, lead", [(1, "sliding", 1, 0), (3, "expanding", 1, 0), (5, "sliding", 3, 0),
                                                        (0, "sliding", 1, 0), (1, "sliding", 1, 4), (2, "sliding", 2, 3)])
def test_each_day_is_scored_by_the_latest_model_trained_strictly_before_it(days_case, cadence, window, gap, lead) -> None:
    case, _ = days_case
    tl = timelines.encode(case)
    fit, predict = remember_latest_day(tl)
    updates = plan(tl.n_days, first_day=6, cadence=cadence, window=window, window_days=4, gap_days=gap, lead_days=lead)
    r = Backtester(tl, fit, predict).run(updates, gap_days=gap, lead_days=lead)
    served = r.served_by >= 0
    np.testing.assert_array_equal(served, tl.day >= 6)
    assert np.isnan(r.score[~served]).all()
    deployed = np.array([u.day for u in updates])
    np.testing.assert_array_equal(r.served_by[served], np.searchsorted(deployed, tl.day[served], side="right") - 1)
    assert np.all(r.score[served] <= tl.day[served] - lead - gap), "no model saw a label not arrived when it predicted"
    if cadence == 1:
        np.testing.assert_array_equal(r.score[served], tl.day[served] - lead - gap)  # and each used the latest day it could


def test_a_future_only_signal_cannot_be_used_before_it_appears(tmp_path: Path) -> None:
    n_days, per_day, appears = 30, 400, 20
    rng = np.random.default_rng(5)
    day = np.repeat(np.arange(n_days), per_day)
    label = rng.integers(0, 2, len(day))
    df = pd.DataFrame({
        "when": pd.Timestamp("2024-01-01") + pd.to_timedelta(day, unit="D") + pd.Timedelta(hours=12),
        "signal": np.where(day >= appears, label, rng.integers(0, 2, len(day))).astype(float),
        "noise": rng.normal(size=len(day)), "label": label.astype("int8"),
    })
    case = frame_case(tmp_path / "signal", df, {"signal": "numeric", "noise": "numeric"})
    tl = timelines.encode(case)
    fit = partial(boosting.train, n_estimators=20, learning_rate=0.3)
    r = Backtester(tl, fit, boosting.predict).run(plan(tl.n_days, first_day=5, cadence=1, window_days=5))
    right = ((r.score >= 0.5) == tl.y).astype(float)
    accuracy = np.bincount(tl.day, weights=right) / np.bincount(tl.day)
    assert accuracy[appears] < 0.6, "on the day the signal appears, no model has seen it"
    assert accuracy[5:appears].max() < 0.6
    assert accuracy[appears + 1] > 0.75, "once in the past (a fifth of the window), the latest model uses it"
    assert accuracy[appears + 3:].min() > 0.95


def test_changing_future_labels_leaves_every_earlier_prediction_unchanged(days_case) -> None:
    case, _ = days_case
    tl = timelines.encode(case, rows_per_day=15, seed=1)
    future = tl.day >= 26  # 26 is a retraining day of the plan below
    flipped = dataclasses.replace(tl, y=np.where(future, 1 - tl.y, tl.y).astype(tl.y.dtype))
    updates = plan(tl.n_days, first_day=8, cadence=2, window_days=6)
    fit = partial(boosting.train, n_estimators=10, min_child_samples=5)
    a = Backtester(tl, fit, boosting.predict).run(updates)
    b = Backtester(flipped, fit, boosting.predict).run(updates)
    upto = tl.day <= 26
    np.testing.assert_array_equal(a.score[upto], b.score[upto])
    assert not np.allclose(a.score[~upto], b.score[~upto]), "later models do learn from the changed labels"


def test_an_update_that_could_see_the_day_it_serves_is_refused(days_case) -> None:
    case, _ = days_case
    tl = timelines.encode(case)
    bt = Backtester(tl, *remember_latest_day(tl))
    with pytest.raises(WorkbenchError, match="only on labels that had arrived"):
        bt.run([Update(day=5, until=8, train_from=0, train_to=6)])
    with pytest.raises(WorkbenchError, match=r"days before 2: label delay 1 d, prediction lead 3 d"):
        bt.run([Update(day=5, until=8, train_from=0, train_to=3)], lead_days=3)
    bt.run([Update(day=5, until=8, train_from=0, train_to=2)], lead_days=3)  # the labels of days 0 and 1 had arrived
    with pytest.raises(WorkbenchError, match="serve days after"):
        bt.run([Update(5, 9, 0, 5), Update(8, 10, 0, 8)])
    with pytest.raises(WorkbenchError, match="no previous model"):
        bt.run([Update(5, 9, 0, 5, warm=True)])


def test_identical_windows_are_fitted_once_and_shared_between_plans(days_case) -> None:
    case, _ = days_case
    tl = timelines.encode(case)
    calls = []
    fit, predict = remember_latest_day(tl)
    counting = Backtester(tl, lambda X, y: calls.append(len(X)) or fit(X, y), predict)
    for cadence in (7, 1, 3, 0):
        counting.run(plan(tl.n_days, first_day=6, cadence=cadence, window_days=4))
    assert counting.fits == len(calls) == backtest.n_updates(tl.n_days, 6, 1), "every window is one of the daily plan's"
    one = Backtester(tl, fit, predict)
    one.run(plan(tl.n_days, first_day=6, cadence=7, window_days=4))
    assert one.fits == backtest.n_updates(tl.n_days, 6, 7)


def test_stateful_updates_read_only_the_new_days(days_case) -> None:
    case, _ = days_case
    tl = timelines.encode(case, rows_per_day=10, seed=2)
    fit, predict = remember_latest_day(tl)
    col = tl.features.index("dayno")
    seen = []

    def update(model, X, y):
        seen.append((X[:, col].min(), X[:, col].max(), len(X)))
        return X[:, col].max()

    bt = Backtester(tl, fit, predict, update=update)
    warm = bt.run(plan(tl.n_days, first_day=8, cadence=5, window_days=8, stateful=True))
    cold = bt.run(plan(tl.n_days, first_day=8, cadence=5, window_days=8))
    for (lo, hi, n), u in zip(seen, warm.updates[1:]):
        assert (lo, hi, n) == (u.train_from, u.train_to - 1, 10 * (u.train_to - u.train_from))
    assert warm.rows[0] == cold.rows[0] == 80 and np.all(warm.rows[1:] == 50) and np.all(cold.rows[1:] == 80)
    served = warm.served_by >= 0
    latest = np.array([u.train_to - 1 for u in warm.updates])[warm.served_by[served]]
    np.testing.assert_array_equal(warm.score[served], latest)  # each warm model has seen up to its update's data


def test_an_empty_training_window_is_a_clear_error(tmp_path: Path) -> None:
    df = days_frame(20)
    df = df[(df["dayno"] < 5) | (df["dayno"] >= 12)]
    case = frame_case(tmp_path / "gappy", df, FEATURES)
    tl = timelines.encode(case)
    with pytest.raises(WorkbenchError, match="no training rows between 2024-03-07"):
        Backtester(tl, *remember_latest_day(tl)).run(plan(tl.n_days, first_day=12, cadence=0, window_days=6))


def test_a_prediction_lead_moves_every_window_back_by_the_lead() -> None:
    now = plan(80, first_day=30, cadence=7, window_days=6, gap_days=2)
    ahead = plan(80, first_day=30, cadence=7, window_days=6, gap_days=2, lead_days=21)
    assert [u.day for u in ahead] == [u.day for u in now], "the same days are predicted"
    assert all(a.train_to == a.day - 21 - 2 + 1 == n.train_to - 21 for a, n in zip(ahead, now))
    assert all(a.train_to - a.train_from == 6 for a in ahead)
    with pytest.raises(WorkbenchError, match="at least 23 day"):
        plan(80, first_day=22, cadence=7, gap_days=2, lead_days=21)
    with pytest.raises(WorkbenchError, match="lead_days >= 0"):
        plan(80, first_day=30, cadence=7, lead_days=-1)
    fresh = freshness_plan(80, test_from=50, test_to=60, age=5, window_days=6, block_days=1, gap_days=2, lead_days=21)
    assert [u.day for u in fresh] == list(range(50, 60)) and fresh[-1].until == 60
    assert all(u.train_to == u.day - 21 - 2 + 1 - 5 for u in fresh)


def test_freshness_plans_serve_each_block_with_a_model_of_the_given_age() -> None:
    updates = freshness_plan(60, test_from=40, age=7, window_days=5, block_days=3, gap_days=2)
    assert [u.day for u in updates] == list(range(40, 60, 3)) and updates[-1].until == 60
    assert all(u.train_to == u.day - 1 - 7 and u.train_from == u.train_to - 5 and not u.warm for u in updates)
    daily = {(u.train_from, u.train_to) for u in plan(60, first_day=10, cadence=1, window_days=5)}
    fresh = {(u.train_from, u.train_to) for a in (0, 3, 20) for u in freshness_plan(
        60, test_from=40, age=a, window_days=5, block_days=1)}
    assert fresh <= daily, "at block_days=1 the freshness models are the daily plan's"
    with pytest.raises(WorkbenchError, match="starts before the data"):
        freshness_plan(60, test_from=40, age=38, window_days=5, block_days=1)
