"""Notebook tests: execute each notebook with parameters and check what it recorded.

Expected values are recomputed here from the raw parquet files with pandas and scikit-learn,
not through the workbench library, so a bug in the library cannot confirm itself.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import REPO, raw_case
from workbench.runner.notebooks import read_notebook, read_records
from workbench.runner.run import execute, plan_run

pytestmark = pytest.mark.notebook

FRAMING = {  # case -> parameters for a quick but meaningful run
    "census": {"max_train_rows": 20000, "lgbm_trees": 60, "seed": 1},
    "flights": {"max_train_rows": 20000, "lgbm_trees": 60, "seed": 2},
    "lending": {"seed": 1},
    "reviews": {"test_size": 0.3, "lgbm_trees": 100},
}
LADDER = ["random", "majority", "rule", "logistic", "lightgbm"]


@pytest.fixture(scope="module")
def framing(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    runs = tmp_path_factory.mktemp("runs")
    out = {}
    for case_id, params in FRAMING.items():
        result = execute(plan_run("00_framing", {"case": case_id, **params}, runs_dir=runs))
        assert result.ok, result.error
        out[case_id] = result.results
    return out


@pytest.mark.parametrize("case_id", list(FRAMING))
def test_framing_records_the_data_and_split_as_recomputed_independently(framing, case_id: str) -> None:
    r, params = framing[case_id], FRAMING[case_id]
    spec, df, y = raw_case(case_id)
    n = len(df)
    assert r["n_rows"] == n and r["positive_rate"] == pytest.approx(y.mean(), rel=1e-12)
    test_size = params.get("test_size", 0.25)
    n_test = math.ceil(test_size * n)
    if spec.get("time_column"):
        assert r["split_kind"] == "time"
        times = df[spec["time_column"]].to_numpy()
        test = times >= np.sort(times)[n - n_test]
        assert r["n_test"] == test.sum() and r["test_positives"] == y[test].sum()
    else:
        assert r["split_kind"] == "random" and r["n_test"] == n_test
        assert abs(r["test_positives"] - y.mean() * n_test) <= 1, "stratified"
    assert r["n_train"] == min(n - r["n_test"], params.get("max_train_rows", 60000))
    c_fp, c_fn = spec["costs"]["false_positive"], spec["costs"]["false_negative"]
    assert r["threshold"] == pytest.approx(c_fp / (c_fp + c_fn))
    # always predicting the training rows' majority class costs exactly the test rows of the other class
    if spec.get("time_column"):
        train = np.flatnonzero(~test)
        cap = params.get("max_train_rows", 60000)
        if cap and len(train) > cap:
            train = np.sort(np.random.default_rng(params.get("seed", 0)).choice(train, size=cap, replace=False))
        majority = int(y[train].mean() >= 0.5)
    else:
        assert abs(y.mean() - 0.5) > 0.05, "far from a tie: a stratified training sample has the same majority"
        majority = int(y.mean() >= 0.5)
    missed = r["n_test"] - r["test_positives"] if majority else r["test_positives"]
    assert r["majority_cost_per_1000"] == pytest.approx(1000 * missed * (c_fp if majority else c_fn) / r["n_test"])
    assert r["majority_accuracy"] == pytest.approx(1 - missed / r["n_test"])


@pytest.mark.parametrize("case_id", list(FRAMING))
def test_framing_models_beat_chance_and_the_decision_follows_the_numbers(framing, case_id: str) -> None:
    r = framing[case_id]
    assert abs(r["random_roc_auc"] - 0.5) < 0.06 and r["majority_roc_auc"] == 0.5
    for model in ("logistic", "lightgbm"):
        assert r[f"{model}_roc_auc"] > r["random_roc_auc"] + 0.05, model
    costs = {name: r[f"{name}_cost_per_1000"] for name in LADDER}
    assert r["baseline_to_beat"] == min(costs, key=costs.get)
    assert costs[r["baseline_to_beat"]] < costs["majority"]
    assert r["secondary_metric"] == ("pr_auc" if r["positive_rate"] < 0.2 else "roc_auc")
    d = r["decision"]
    assert r["baseline_to_beat"] in d["choice"] and d["evidence"] and d["would_change"]


def test_framing_rule_on_flights_reproduces_its_recorded_cost(framing) -> None:
    r = framing["flights"]
    spec, df, y = raw_case("flights")
    rule = r["rule"]
    assert rule["kind"] == "numeric" and rule["feature"] in spec["features"]
    assert rule["feature"] not in spec["leaky"], "the leak stays out of the default feature set"
    times = df[spec["time_column"]].to_numpy()
    test = times >= np.sort(times)[len(df) - r["n_test"]]
    x = df.loc[test, rule["feature"]].astype(float).to_numpy()
    flagged = x >= rule["threshold"] if rule["direction"] == ">=" else -x >= rule["threshold"]
    fp = np.sum(flagged & ~y[test])
    fn = np.sum(~flagged & y[test])
    expected = 1000 * (fp * spec["costs"]["false_positive"] + fn * spec["costs"]["false_negative"]) / test.sum()
    assert r["rule_cost_per_1000"] == pytest.approx(expected, rel=1e-9)


def test_framing_is_deterministic_for_a_seed(tmp_path: Path, framing) -> None:
    again = execute(plan_run("00_framing", {"case": "lending", **FRAMING["lending"]}, runs_dir=tmp_path))
    assert again.ok and again.results == framing["lending"]
    other = execute(plan_run("00_framing", {"case": "lending", "seed": 5}, runs_dir=tmp_path))
    assert other.results["random_roc_auc"] != framing["lending"]["random_roc_auc"], "the seed is used"


def test_framing_runs_under_plain_papermill(tmp_path: Path) -> None:
    out = tmp_path / "out.ipynb"
    proc = subprocess.run(
        [sys.executable, "-m", "papermill", str(REPO / "notebooks" / "00_framing.ipynb"), str(out),
         "-p", "case", "reviews", "-p", "lgbm_trees", "50", "--cwd", str(tmp_path)],
        capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    records = read_records(read_notebook(out))
    assert records["n_rows"] == 5000 and records["decision"]["choice"]
    assert json.dumps(records)  # JSON-clean
