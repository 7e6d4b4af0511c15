"""Notebook 03_metrics: execute it with parameters and check what it recorded.

Counts, rates and costs are recomputed here from the raw parquet files with pandas, not through the
workbench library; the rest are properties the recorded numbers must have whatever the data.
"""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest

from tests.helpers import (
    REPO,
    raw_case,  # the raw parquet and case.yaml, read without the library
)
from workbench.runner.notebooks import read_notebook, read_records
from workbench.runner.run import execute, plan_run

pytestmark = pytest.mark.notebook

CASES = ("lending", "flights", "reviews")
RATES = [0.01, 0.02, 0.05, 0.1, 0.2, 0.5]


@pytest.fixture(scope="module")
def runs03(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    """Each supported case with the notebook's defaults, under `workbench run`'s machinery."""
    runs = tmp_path_factory.mktemp("runs")
    out = {}
    for case_id in CASES:
        result = execute(plan_run("03_metrics", {"case": case_id}, runs_dir=runs))
        assert result.ok, result.error
        out[case_id] = result.results
    return out


@pytest.fixture(scope="module")
def dearer_misses(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """lending under plain papermill, with a false negative costing twice as much and the test set
    resampled to 2% positives. The threshold is chosen on validation scores, which the test
    resampling does not touch, so this one run serves both two-run comparisons below."""
    out = tmp_path_factory.mktemp("papermill") / "out.ipynb"
    proc = subprocess.run(
        [sys.executable, "-m", "papermill", str(REPO / "notebooks" / "03_metrics.ipynb"), str(out),
         "-p", "case", "lending", "-p", "cost_fn", "18800.0", "-p", "test_positive_rate", "0.02",
         "--cwd", str(out.parent)],
        capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return read_records(read_notebook(out))


@pytest.mark.parametrize("case_id", CASES)
def test_split_counts_and_costs_match_an_independent_recomputation(runs03, case_id: str) -> None:
    r = runs03[case_id]
    spec, df, y = raw_case(case_id)
    n = len(df)
    n_test = math.ceil(0.25 * n)
    if spec.get("time_column"):
        times = df[spec["time_column"]].to_numpy()
        test = times >= np.sort(times)[n - n_test]
        assert r["n_test"] == test.sum() and r["test_positives"] == y[test].sum()
        rest = np.sort(times[~test])
        n_val = np.sum(rest >= rest[len(rest) - math.ceil(0.3 * len(rest))])
        assert r["n_val"] == n_val, "the latest 30% of the training rows validate"
        assert r["n_fit"] == min(20000, len(rest) - n_val)
    else:
        assert r["n_test"] == n_test and abs(r["test_positives"] - y.mean() * n_test) <= 1, "stratified"
        assert r["n_fit"] == r["n_val"] == min(20000, n - n_test), "validated out of fold on every training row"
    c_fp, c_fn = spec["costs"]["false_positive"], spec["costs"]["false_negative"]
    assert (r["cost_fp"], r["cost_fn"]) == (c_fp, c_fn)
    assert r["threshold_bayes"] == pytest.approx(c_fp / (c_fp + c_fn))
    assert r["test_rate"] == pytest.approx(r["test_positives"] / r["n_test"])
    assert r["flag_nothing_cost"] == pytest.approx(1000 * r["test_positives"] * c_fn / r["n_test"])


def test_on_lending_the_cost_optimal_threshold_is_not_half_and_costs_less_than_half(runs03) -> None:
    r = runs03["lending"]
    assert abs(r["threshold"] - 0.5) > 0.1
    assert r["cost_at_threshold"] < r["cost_at_05"]
    assert r["decision"]["choice"].count(f"{r['threshold']:.3f}") == 1


@pytest.mark.parametrize("case_id", CASES)
def test_isotonic_probabilities_put_the_tuned_threshold_at_the_break_even_level(runs03, case_id: str) -> None:
    # Isotonic calibration makes each block's probability its observed positive rate, so the
    # cheapest threshold on validation scores is the lowest level at or above c_fp / (c_fp + c_fn).
    r = runs03[case_id]
    assert r["threshold_bayes"] <= r["threshold"] < r["threshold_bayes"] + 0.1


def test_a_dearer_false_negative_lowers_the_threshold(runs03, dearer_misses) -> None:
    base, dear = runs03["lending"], dearer_misses
    assert dear["cost_fn"] == 2 * base["cost_fn"] and dear["n_val"] == base["n_val"]
    assert dear["threshold_bayes"] < base["threshold_bayes"]
    assert dear["threshold"] < base["threshold"]
    assert dear["decision"]["choice"] and dear["decision"]["would_change"]


@pytest.mark.parametrize("case_id", CASES)
def test_pr_auc_falls_with_the_positive_rate_while_roc_auc_holds(runs03, case_id: str) -> None:
    r = runs03[case_id]
    assert r["rates"] == RATES
    pr, roc = np.array(r["pr_auc_by_rate"]), np.array(r["roc_auc_by_rate"])
    assert np.all(np.diff(pr) > 0), "PR-AUC rises with the positive rate"
    assert np.all(pr > np.array(RATES)), "and beats random scores at every rate"
    assert pr[0] < pr[-1] / 3
    assert r["roc_auc_spread"] == pytest.approx(roc.max() - roc.min())
    assert roc.max() - roc.min() < 0.04, "ROC-AUC does not depend on the positive rate"
    # the majority baseline is right exactly as often as the sample is negative
    np.testing.assert_allclose(r["majority_accuracy_by_rate"], 1 - np.array(RATES), atol=0.005)


def test_a_test_set_with_fewer_positives_lowers_pr_auc_not_roc_auc(runs03, dearer_misses) -> None:
    base, rare = runs03["lending"], dearer_misses
    assert rare["test_rate"] == pytest.approx(0.02, abs=0.001) and base["test_rate"] > 0.04
    assert rare["test_pr_auc"] < 0.7 * base["test_pr_auc"]
    assert abs(rare["test_roc_auc"] - base["test_roc_auc"]) < 0.08


@pytest.mark.parametrize("case_id", CASES)
def test_slices_calibration_and_decision_are_consistent(runs03, case_id: str) -> None:
    r = runs03[case_id]
    spec, _, _ = raw_case(case_id)
    column, _, group = r["worst_slice"].partition(" = ")
    assert column in [s["column"] for s in spec["slices"]] and group
    cost, lo, hi = r["worst_slice_cost"]
    assert lo <= cost <= hi
    assert cost >= r["cost_at_threshold"], "some slice's groups all count, and one is at least the average"
    assert r["overall_cost_interval"][0] <= r["cost_at_threshold"] <= r["overall_cost_interval"][1]
    assert r["ece_calibrated"] < r["ece_raw"] + 0.01
    assert r["ranking_metric"] == ("pr_auc" if r["test_rate"] < 0.2 else "roc_auc")
    assert r["best_remedy"] == min(r["remedy_costs"], key=r["remedy_costs"].get)
    low, high = r["ratio_worth_running"]
    assert low is None or low <= high
    d = r["decision"]
    assert "cost per 1,000" in d["choice"] and len(d["evidence"]) >= 4 and d["would_change"]


def test_the_notebook_is_committed_clean() -> None:
    import json

    nb = json.loads((REPO / "notebooks" / "03_metrics.ipynb").read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert sum("parameters" in c["metadata"].get("tags", []) for c in code) == 1
    for c in code:
        checked = "nbval-check-output" in c["metadata"].get("tags", [])
        assert (c["execution_count"] == 1) if checked else (c["execution_count"] is None and not c["outputs"])
