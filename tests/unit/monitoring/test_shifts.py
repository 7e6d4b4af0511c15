"""Injected shifts (workbench.monitoring.shifts) change exactly the part of P(x, y) they claim to change."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from workbench.monitoring import shifts


def population(n: int = 40_000, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """x ~ N(0, 1), a category, and y ~ Bernoulli(sigmoid(2x)): P(y | x) is known."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    frame = pd.DataFrame({"x": x, "colour": rng.choice(["red", "blue", "green"], n, p=[0.5, 0.3, 0.2])})
    y = (rng.random(n) < 1 / (1 + np.exp(-2 * x))).astype(int)
    return frame, y


def pooled(windows: list[shifts.Window], frame: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    rows = np.concatenate([w.rows for w in windows])
    return frame.iloc[rows], np.concatenate([w.y for w in windows])


def test_draw_returns_distinct_sorted_positions_and_follows_weights() -> None:
    rng = np.random.default_rng(0)
    rows = shifts.draw(1000, 200, rng)
    assert len(np.unique(rows)) == 200 and np.all(np.diff(rows) > 0) and rows.max() < 1000
    weights = np.where(np.arange(1000) < 100, 20.0, 1.0)
    heavy = np.mean([np.mean(shifts.draw(1000, 50, rng, weights) < 100) for _ in range(200)])
    assert 0.6 < heavy < 0.75, "about 20 * 100 / (20 * 100 + 900) = 0.69 of the first draws"
    with pytest.raises(ValueError, match="pool"):
        shifts.draw(10, 11, rng)


def test_covariate_shift_moves_x_by_about_m_sds_and_keeps_p_y_given_x() -> None:
    frame, y = population()
    reference, ref_y = frame.iloc[:5000], y[:5000]
    stream = shifts.stream(frame, y, reference, ref_y, shift=shifts.Shift("covariate", 0.5, "x"),
                           n_windows=12, size=1000, onset=6, seed=1)
    assert [w.shifted for w in stream] == [False] * 6 + [True] * 6
    before, y_before = pooled(stream[:6], frame)
    after, y_after = pooled(stream[6:], frame)
    assert abs(before["x"].mean()) < 0.06 and 0.4 < after["x"].mean() < 0.55
    for lo, hi in [(-0.5, 0.0), (0.0, 0.5), (0.5, 1.0)]:  # same label rate at the same x
        a = y_before[(before["x"] >= lo) & (before["x"] < hi)].mean()
        b = y_after[(after["x"] >= lo) & (after["x"] < hi)].mean()
        assert abs(a - b) < 0.05
    assert all(np.array_equal(w.y, y[w.rows]) for w in stream), "labels untouched"


def test_label_shift_moves_the_positive_rate_and_keeps_p_x_given_y() -> None:
    frame, y = population(seed=1)
    reference, ref_y = frame.iloc[:5000], y[:5000]
    stream = shifts.stream(frame, y, reference, ref_y, shift=shifts.Shift("label", 0.5),
                           n_windows=10, size=1000, onset=5, seed=2)
    before, y_before = pooled(stream[:5], frame)
    after, y_after = pooled(stream[5:], frame)
    p = ref_y.mean()
    sd = np.sqrt(p * (1 - p))
    w1, w0 = np.exp(0.5 * (1 - p) / sd), np.exp(0.5 * (0 - p) / sd)
    expected = p * w1 / (p * w1 + (1 - p) * w0)
    assert abs(y_before.mean() - p) < 0.03 and abs(y_after.mean() - expected) < 0.03
    for label in (0, 1):
        assert abs(before["x"][y_before == label].mean() - after["x"][y_after == label].mean()) < 0.06


def test_concept_shift_flips_labels_only_where_the_column_is_high_and_leaves_x_alone() -> None:
    frame, y = population(seed=2)
    reference, ref_y = frame.iloc[:5000], y[:5000]
    m = 1.0
    stream = shifts.stream(frame, y, reference, ref_y, shift=shifts.Shift("concept", m, "x"),
                           n_windows=8, size=2000, onset=2, seed=3)
    flipped = np.concatenate([w.y != y[w.rows] for w in stream[2:]])
    high = np.concatenate([frame["x"].to_numpy()[w.rows] > reference["x"].mean() for w in stream[2:]])
    assert not flipped[~high].any()
    assert abs(flipped[high].mean() - (1 - np.exp(-m)) / 2) < 0.02
    assert all(np.array_equal(w.y, y[w.rows]) for w in stream[:2])
    assert abs(pooled(stream[2:], frame)[0]["x"].mean()) < 0.05, "P(x) unchanged"


def test_a_categorical_column_is_shifted_through_its_most_common_level() -> None:
    frame, y = population(seed=3)
    stream = shifts.stream(frame, y, frame.iloc[:5000], y[:5000], shift=shifts.Shift("covariate", 1.0, "colour"),
                           n_windows=4, size=2000, onset=2, seed=4)
    share = [np.mean(frame["colour"].to_numpy()[w.rows] == "red") for w in stream]
    assert max(share[:2]) < 0.53 and min(share[2:]) > 0.65


def test_shift_parameters_are_checked() -> None:
    with pytest.raises(ValueError, match="one of"):
        shifts.Shift("prior")
    with pytest.raises(ValueError, match=">= 0"):
        shifts.Shift("covariate", -1.0, "x")
    with pytest.raises(ValueError, match="column"):
        shifts.Shift("concept", 1.0)
    assert shifts.Shift("label", 1.0).column is None
