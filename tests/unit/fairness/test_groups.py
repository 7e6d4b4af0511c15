"""Group tables and disparities (workbench.fairness.groups) against hand computation and fairlearn's own metrics."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import equalized_odds_difference, false_positive_rate, selection_rate, true_positive_rate

from workbench.fairness.groups import (
    ALL,
    SMALL,
    chance_disparity,
    criterion_rates,
    disparity,
    disparity_interval,
    group_table,
    impossibility,
    pool_small,
)

# a small frame worked by hand: group a has 6 rows, b has 4, c has 2
Y = np.array([1, 1, 0, 0, 0, 1, 1, 0, 0, 1, 1, 0])
PRED = np.array([1, 0, 1, 0, 0, 1, 1, 1, 0, 0, 1, 1])
SCORE = np.array([0.9, 0.4, 0.6, 0.2, 0.1, 0.8, 0.7, 0.6, 0.3, 0.4, 0.9, 0.5])
G = np.array(list("aaaaaabbbbcc"))


def test_group_metrics_equal_a_hand_computation_on_a_small_frame() -> None:
    table = group_table(Y, PRED, SCORE, G, 2.0, 5.0, min_rows=3, n_boot=200).set_index("group")
    # a: tp 2 (rows 0, 5), fn 1 (row 1), fp 1 (row 2), tn 2; b: tp 1, fn 1, fp 1, tn 1; c: tp 1, fp 1
    hand = {
        "a": dict(rows=6, positives=3, base_rate=3 / 6, selection_rate=3 / 6, tpr=2 / 3, fpr=1 / 3, precision=2 / 3,
                  calibration_gap=(0.9 + 0.4 + 0.6 + 0.2 + 0.1 + 0.8) / 6 - 3 / 6, cost_per_1000=1000 * (2 + 5) / 6),
        "b": dict(rows=4, positives=2, base_rate=2 / 4, selection_rate=2 / 4, tpr=1 / 2, fpr=1 / 2, precision=1 / 2,
                  calibration_gap=(0.7 + 0.6 + 0.3 + 0.4) / 4 - 2 / 4, cost_per_1000=1000 * (2 + 5) / 4),
        "c": dict(rows=2, positives=1, base_rate=1 / 2, selection_rate=1.0, tpr=1.0, fpr=1.0, precision=1 / 2,
                  calibration_gap=(0.9 + 0.5) / 2 - 1 / 2, cost_per_1000=1000 * 2 / 2),
    }
    for group, expected in hand.items():
        for metric, value in expected.items():
            assert table.loc[group, metric] == pytest.approx(value, abs=1e-12), (group, metric)
    assert table.loc[ALL, "rows"] == 12 and table.loc[ALL, "cost_per_1000"] == pytest.approx(1000 * (3 * 2 + 2 * 5) / 12)
    assert table["small"].to_dict() == {ALL: False, "a": False, "b": False, "c": True}, "c has fewer than 3 rows"


def test_group_rates_match_fairlearns_metric_functions_on_raw_rows() -> None:
    rng = np.random.default_rng(1)
    n = 3000
    g = rng.choice(["x", "y", "z"], n, p=[0.6, 0.3, 0.1])
    y = (rng.random(n) < np.where(g == "x", 0.3, 0.5)).astype(int)
    score = np.clip(0.3 * y + rng.random(n) * 0.7, 0, 1)
    pred = (score > 0.5).astype(int)
    table = group_table(y, pred, score, g, 1.0, 1.0, n_boot=300).set_index("group")
    for name in ("x", "y", "z"):
        m = g == name
        assert table.loc[name, "selection_rate"] == pytest.approx(selection_rate(y[m], pred[m]))
        assert table.loc[name, "tpr"] == pytest.approx(true_positive_rate(y[m], pred[m]))
        assert table.loc[name, "fpr"] == pytest.approx(false_positive_rate(y[m], pred[m]))
        for metric in ("selection_rate", "tpr", "fpr", "precision", "cost_per_1000", "calibration_gap", "base_rate"):
            assert table.loc[name, f"{metric}_lo"] <= table.loc[name, metric] <= table.loc[name, f"{metric}_hi"]
    # a 90% interval of a rate is about 2 x 1.645 standard errors wide
    m = g == "x"
    se = np.sqrt(table.loc["x", "fpr"] * (1 - table.loc["x", "fpr"]) / np.sum(m & (y == 0)))
    assert table.loc["x", "fpr_hi"] - table.loc["x", "fpr_lo"] == pytest.approx(2 * 1.645 * se, rel=0.2)
    eod = equalized_odds_difference(y, pred, sensitive_features=g)
    assert disparity(y, pred, g, ("tpr", "fpr"), min_rows=1) == pytest.approx(eod)


def test_disparity_is_the_spread_over_groups_large_enough() -> None:
    # selection rates a 3/6, b 2/4, c 1.0: c is left out when it is too small
    assert disparity(Y, PRED, G, ("selection_rate",), min_rows=1) == pytest.approx(0.5)
    assert disparity(Y, PRED, G, ("selection_rate",), min_rows=3) == pytest.approx(0.0)
    # equalized odds: TPR spread |2/3 - 1/2|, FPR spread |1/3 - 1/2|: the larger
    assert disparity(Y, PRED, G, ("tpr", "fpr"), min_rows=3) == pytest.approx(1 / 6)
    assert np.isnan(disparity(Y, PRED, G, ("tpr",), min_rows=5)), "one group is not a comparison"


def test_criteria_name_the_rates_they_equalise() -> None:
    assert criterion_rates("demographic_parity") == ("selection_rate",)
    assert criterion_rates("equalized_odds") == ("tpr", "fpr")
    assert criterion_rates("equal_opportunity", favourable_is_positive=True) == ("tpr",)
    assert criterion_rates("equal_opportunity", favourable_is_positive=False) == ("fpr",)
    with pytest.raises(ValueError, match="not one of"):
        criterion_rates("fair")


def test_small_groups_are_pooled_by_their_count_in_a_reference() -> None:
    assert pool_small(G, 3).tolist() == list("aaaaaabbbb") + [SMALL, SMALL]
    other = np.array(["a", "c", "d"])
    assert pool_small(other, 3, reference=G).tolist() == ["a", SMALL, SMALL], "counted in the reference, not here"


def planted(n: int, gap: float, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    g = rng.choice(["p", "q", "r"], n)
    y = (rng.random(n) < 0.4).astype(int)
    p_flag = np.where(y == 1, 0.8, 0.2) + np.where(g == "r", gap, 0.0)  # r is flagged more often, at every truth
    return y, (rng.random(n) < p_flag).astype(int), g


def test_chance_level_separates_a_planted_disparity_from_noise() -> None:
    fair_above = sum(disparity(*planted(1500, 0.0, s), ("fpr",), min_rows=1)
                     > chance_disparity(*planted(1500, 0.0, s), ("fpr",), min_rows=1, seed=s) for s in range(20))
    assert fair_above <= 5, "without a real difference the disparity rarely exceeds its 90% chance level"
    y, pred, g = planted(1500, 0.15, 0)
    assert disparity(y, pred, g, ("fpr",), min_rows=1) > chance_disparity(y, pred, g, ("fpr",), min_rows=1)


def test_disparity_interval_covers_the_value_and_narrows_with_rows() -> None:
    small, large = (disparity_interval(*planted(n, 0.1, 3), ("tpr", "fpr"), min_rows=1, n_boot=400) for n in (600, 12000))
    for d in (small, large):
        assert d.lo <= d.value <= d.hi
    assert large.hi - large.lo < 0.5 * (small.hi - small.lo)
    assert large.lo < 0.1 < large.hi, "the planted FPR gap of 0.1 is inside the interval"
    bare = disparity_interval(*planted(600, 0.0, 4), ("fpr",), min_rows=1)
    assert bare.lo <= bare.value <= bare.hi, "even at the boundary (no real gap) the interval holds the value"


def test_the_impossibility_identity_holds_in_every_group() -> None:
    y, pred, g = planted(5000, 0.1, 5)
    score = np.where(pred == 1, 0.7, 0.3)
    table = group_table(y, pred, score, g, 1.0, 1.0, n_boot=100)
    conflict = impossibility(table)
    np.testing.assert_allclose(conflict["fpr_from_identity"], conflict["fpr"], rtol=1e-12)
    overall = table.iloc[0]
    odds = conflict["base_rate"] / (1 - conflict["base_rate"])
    expected = odds * (1 - overall["precision"]) / overall["precision"] * overall["tpr"]
    np.testing.assert_allclose(conflict["fpr_if_equal_ppv_and_tpr"], expected)
    assert list(conflict["group"]) == ["p", "q", "r"] and isinstance(conflict, pd.DataFrame)
