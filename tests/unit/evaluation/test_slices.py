"""Slice tables (workbench.evaluation.slices) against pandas recomputation and scipy's bootstrap."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from workbench import load_case
from workbench.evaluation.slices import ALL, bootstrap_confusion, slice_table, worst_group


@pytest.fixture
def scored(tiny_case):
    cs = load_case(tiny_case)
    data = cs.frame().copy()
    data.loc[0, "x"] = 0.0  # on a bin edge: belongs to [0, 10)
    data.loc[1, "x"] = -20.0  # outside the bins
    y = cs.labels(data)
    rng = np.random.default_rng(0)
    pred = ((data["x"] > 0.3) ^ (rng.random(len(data)) < 0.1)).to_numpy().astype(int)
    return cs, data, y, pred


def test_slice_table_counts_and_costs_match_a_pandas_recomputation(scored) -> None:
    cs, data, y, pred = scored
    table = slice_table(cs, data, y, pred, 1.0, 4.0, n_boot=200)
    frame = pd.DataFrame({"y": y, "pred": pred, "colour": data["colour"].to_numpy(),
                          "x_bin": pd.cut(data["x"], [-10.0, 0.0, 10.0], right=False).astype(str).to_numpy()})
    frame["x_bin"] = frame["x_bin"].replace("nan", "(outside bins)")
    low, high = (str(pd.Interval(a, b, closed="left")) for a, b in [(-10.0, 0.0), (0.0, 10.0)])
    frame["cost"] = 1.0 * ((frame.pred == 1) & (frame.y == 0)) + 4.0 * ((frame.pred == 0) & (frame.y == 1))
    assert table.iloc[0][["slice", "group", "rows"]].tolist() == [ALL, ALL, len(data)]
    assert table.iloc[0]["cost_per_1000"] == pytest.approx(1000 * frame.cost.mean())
    for column, key in [("colour", "colour"), ("x", "x_bin")]:
        got = table[table["slice"] == column].set_index("group")
        expected = frame.groupby(key).agg(rows=("y", "size"), positives=("y", "sum"), cost=("cost", "mean"))
        assert set(got.index) == set(expected.index)
        for g, row in expected.iterrows():
            assert got.loc[g, "rows"] == row["rows"] and got.loc[g, "positives"] == row["positives"]
            assert got.loc[g, "cost_per_1000"] == pytest.approx(1000 * row["cost"])
    x_groups = table[table["slice"] == "x"]["group"].tolist()
    assert x_groups == [low, high, "(outside bins)"], "bins in order, then the rows outside them"
    assert frame.loc[0, "x_bin"] == high, "x = 0 sits on an edge and belongs to the bin it opens"


def test_intervals_cover_the_estimate_and_match_scipys_percentile_bootstrap(scored) -> None:
    cs, data, y, pred = scored
    table = slice_table(cs, data, y, pred, 1.0, 4.0, n_boot=20_000, level=0.9, seed=1)
    row = table.iloc[0]
    assert row["cost_per_1000_lo"] <= row["cost_per_1000"] <= row["cost_per_1000_hi"]
    assert row["recall_lo"] <= row["recall"] <= row["recall_hi"]
    cost = 1000 * (1.0 * ((pred == 1) & (y == 0)) + 4.0 * ((pred == 0) & (y == 1)))
    ref = stats.bootstrap((cost,), np.mean, n_resamples=20_000, confidence_level=0.9, method="percentile",
                          random_state=2).confidence_interval
    width = ref.high - ref.low
    assert row["cost_per_1000_lo"] == pytest.approx(ref.low, abs=0.05 * width)
    assert row["cost_per_1000_hi"] == pytest.approx(ref.high, abs=0.05 * width)


def test_bootstrap_confusion_draws_as_many_rows_as_the_group_has(scored) -> None:
    _, _, y, pred = scored
    boot = bootstrap_confusion(y, pred, 500, seed=3)
    assert boot.shape == (500, 4) and np.all(boot.sum(axis=1) == len(y))
    assert np.all(boot[:, 2:].sum(axis=1) > 0), "positives appear in every resample of a group with many"
    assert not np.array_equal(boot, bootstrap_confusion(y, pred, 500, seed=4)), "the seed is used"


def test_metrics_a_group_cannot_define_are_nan_and_the_worst_group_is_the_costliest(scored) -> None:
    cs, data, y, pred = scored
    y = np.where(data["colour"] == "blue", 0, y)  # no positives in blue: recall undefined
    table = slice_table(cs, data, y, pred, 1.0, 4.0, n_boot=200)
    blue = table[(table["slice"] == "colour") & (table["group"] == "blue")].iloc[0]
    assert np.isnan(blue["recall"]) and np.isnan(blue["recall_lo"])
    worst = worst_group(table, min_rows=30)
    eligible = table[(table["slice"] != ALL) & (table["rows"] >= 30)]
    assert worst["cost_per_1000"] == eligible["cost_per_1000"].max()
    with pytest.raises(ValueError, match="at least"):
        worst_group(table, min_rows=10_000)


def test_bins_are_listed_in_ascending_order_not_alphabetically(tmp_path) -> None:
    from tests.helpers import make_case

    cs = load_case(make_case(tmp_path / "binned", slices=[{"column": "x", "bins": [-10, -1, 0.5, 10]}]))
    data = cs.frame()
    table = slice_table(cs, data, cs.labels(), np.zeros(len(data), dtype=int), 1.0, 1.0, n_boot=100)
    lows = [pd.Interval(*map(float, g.strip("[)").split(", ")), closed="left").left for g in table["group"][1:]]
    assert lows == sorted(lows) and len(lows) == 3
