"""Timelines (workbench.retraining.timelines): one encoding of a case in time order, and per-day costs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import log_loss, roc_auc_score

from tests.unit.retraining.days import FEATURES, days_frame, frame_case
from workbench.errors import WorkbenchError
from workbench.retraining import timelines


def test_encode_orders_rows_by_time_and_keeps_each_row_with_its_label_and_day(days_case) -> None:
    case, df = days_case
    tl = timelines.encode(case)
    ordered = df.sort_values("when", kind="stable")
    assert tl.n_days == 40 and tl.first_date == pd.Timestamp("2024-03-01")
    np.testing.assert_array_equal(tl.day, ordered["dayno"].to_numpy())
    np.testing.assert_array_equal(tl.y, ordered["label"].to_numpy())
    np.testing.assert_array_equal(tl.X[:, tl.features.index("noise")], ordered["noise"].to_numpy(np.float32))
    for lo, hi in [(0, 1), (3, 7), (0, 40)]:
        rows = tl.rows(lo, hi)
        assert set(tl.day[rows]) == set(range(lo, hi)) and rows.stop - rows.start == 20 * (hi - lo)
    assert tl.date(7) == pd.Timestamp("2024-03-08")


def test_encode_leaves_leaky_features_out_and_codes_categories_consistently(days_case) -> None:
    case, df = days_case
    tl = timelines.encode(case)
    assert tl.features == ("dayno", "noise", "colour") and tl.categorical == (2,)
    assert "secret" in timelines.encode(case, include_leaky=True).features
    ordered = df.sort_values("when", kind="stable")["colour"].to_numpy()
    codes = tl.X[:, 2]
    assert np.isnan(codes[pd.isna(ordered)]).all()
    present = ~pd.isna(ordered)
    pairs = set(zip(ordered[present], codes[present]))
    assert len(pairs) == 3 and len({c for _, c in pairs}) == 3, "one code per level"


def test_encode_samples_at_most_rows_per_day_for_training_and_seeds_the_draw(days_case) -> None:
    case, _ = days_case
    tl = timelines.encode(case, rows_per_day=7, seed=3)
    assert np.all(np.bincount(tl.day[tl.sample], minlength=40) == 7)
    assert np.all(np.diff(tl.sample) > 0)
    assert set(tl.day[tl.train_rows(5, 9)]) == {5, 6, 7, 8} and len(tl.train_rows(5, 9)) == 28
    assert np.array_equal(tl.sample, timelines.encode(case, rows_per_day=7, seed=3).sample)
    assert not np.array_equal(tl.sample, timelines.encode(case, rows_per_day=7, seed=4).sample)
    assert len(timelines.encode(case, rows_per_day=0).sample) == len(tl.y)
    assert len(timelines.encode(case, rows_per_day=50).sample) == len(tl.y)


def test_encode_start_and_end_are_inclusive_dates(days_case) -> None:
    case, _ = days_case
    tl = timelines.encode(case, start="2024-03-05", end="2024-03-10")
    assert tl.n_days == 6 and len(tl.y) == 6 * 20 and tl.first_date == pd.Timestamp("2024-03-05")
    np.testing.assert_array_equal(tl.X[:, 0], tl.day + 4)  # dayno counts from the data's first day
    with pytest.raises(WorkbenchError, match="no rows"):
        timelines.encode(case, start="2025-01-01")


def test_encode_needs_a_time_column(tmp_path: Path) -> None:
    case = frame_case(tmp_path / "timeless", days_frame(3), FEATURES, time_column=None)
    with pytest.raises(WorkbenchError, match="no time_column"):
        timelines.encode(case)


def test_daily_costs_match_a_brute_force_count_per_day(days_case) -> None:
    case, _ = days_case
    tl = timelines.encode(case)
    rng = np.random.default_rng(0)
    score = rng.random(len(tl.y))
    score[tl.day < 3] = np.nan
    got = timelines.daily_costs(tl, score, 0.3, 2.0, 7.0)
    assert list(got["date"]) == [tl.date(d) for d in range(3, 40)]
    for d in (3, 17, 39):
        rows = tl.day == d
        y, p = tl.y[rows], score[rows]
        fp, fn = int(np.sum((p >= 0.3) & (y == 0))), int(np.sum((p < 0.3) & (y == 1)))
        line = got.set_index("date").loc[tl.date(d)]
        assert (line["rows"], line["positives"], line["fp"], line["fn"]) == (rows.sum(), y.sum(), fp, fn)
        assert line["cost"] == pytest.approx(2 * fp + 7 * fn)
        assert line["log_loss_sum"] == pytest.approx(log_loss(y, p, normalize=False, labels=[0, 1]))


def test_summary_agrees_with_scikit_learn(days_case) -> None:
    case, _ = days_case
    tl = timelines.encode(case)
    rng = np.random.default_rng(1)
    score = np.clip(0.5 * tl.y + 0.6 * rng.random(len(tl.y)), 0.01, 0.99)
    score[:40] = np.nan
    s = timelines.summary(tl, score, 0.5, 1.0, 4.0)
    ok = np.isfinite(score)
    y, p = tl.y[ok], score[ok]
    fp, fn = np.sum((p >= 0.5) & (y == 0)), np.sum((p < 0.5) & (y == 1))
    assert (s["rows"], s["fp"], s["fn"]) == (ok.sum(), fp, fn)
    assert s["cost_per_1000"] == pytest.approx(1000 * (fp + 4 * fn) / ok.sum())
    assert s["roc_auc"] == pytest.approx(roc_auc_score(y, p))
    assert s["log_loss"] == pytest.approx(log_loss(y, p))

