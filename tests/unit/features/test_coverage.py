"""Coverage of later values (workbench.features.coverage) against brute force."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from workbench.features.coverage import coverage, value_groups
from workbench.monitoring.stattests import psi


def test_value_groups_bin_numbers_by_training_quantiles_and_keep_missing_apart() -> None:
    train = pd.Series(np.arange(100, dtype=float))
    test = pd.Series([-5.0, 0.0, 49.0, 49.5, 99.0, 500.0, np.nan])  # edges 24.75, 49.5, 74.25
    g_train, g_test = value_groups(train, test, "numeric", n_bins=4)
    assert sorted(set(g_train)) == ["0", "1", "2", "3"] and (pd.Series(g_train).value_counts() == 25).all()
    assert list(g_test) == ["0", "0", "1", "2", "3", "3", "-1"]  # bins [lo, hi); outside: the end bins
    g_train, g_test = value_groups(pd.Series(["a", None]), pd.Series([None, "b"]), "categorical")
    assert g_train[1] == g_test[0] and g_test[1] == "b"


def test_coverage_counts_unseen_levels_out_of_range_values_and_missing_rates() -> None:
    train = pd.DataFrame({"month": [1, 2, 3, 4] * 25, "colour": ["red", "blue", None, "red"] * 25})
    test = pd.DataFrame({"month": [3, 4, 5, 6, 7] * 4, "colour": ["red", "green", None, "blue", "pink"] * 4})
    got = coverage(train, test, {"month": "numeric", "colour": "categorical"}).set_index("feature")
    assert got.loc["month", "unseen"] == pytest.approx(0.6)  # 5, 6, 7 lie above the training range
    assert got.loc["colour", "unseen"] == pytest.approx(0.4)  # green and pink; missing is not unseen
    assert got.loc["colour", ["train_missing", "test_missing"]].tolist() == pytest.approx([0.25, 0.2])
    assert got.loc["month", "train_missing"] == 0.0
    assert got.loc["month", "psi"] == pytest.approx(psi(train["month"].to_numpy(), test["month"].to_numpy()))
    assert got.loc["colour", "psi"] == pytest.approx(
        psi(train["colour"].dropna().to_numpy(), test["colour"].dropna().to_numpy(), "categorical"))
    assert got.loc["month", "psi"] > 1 and got.loc["colour", "psi"] > 0.25
    same = coverage(train, train, {"month": "numeric", "colour": "categorical"})
    assert (same["unseen"] == 0).all() and (same["psi"] == 0).all()
