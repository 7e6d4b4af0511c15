"""Notebook 04_retraining: execute it and check what it recorded.

Counts, rows read and costs are recomputed here from the raw parquet file with pandas, not
through the workbench library, so a bug in the replay engine cannot confirm itself.
"""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from tests.helpers import REPO, make_case
from workbench.runner.notebooks import read_notebook, read_records
from workbench.runner.run import execute, plan_run

pytestmark = pytest.mark.notebook

NOTEBOOK = "04_retraining"
HOURLY = {"warmup_days": 14, "window_days": 10, "cadences": [1, 7, 0], "compare_cadence": 7,
          "freshness_ages": [0, 7, 21], "rows_per_day": 0, "trees": 10}


def raw_flights() -> tuple[dict, pd.DataFrame]:
    folder = REPO / "casestudies" / "flights"
    spec = yaml.safe_load((folder / "case.yaml").read_text())
    return spec, pd.read_parquet(folder / spec["data"])


def defaults() -> dict:
    """The notebook's default parameters, read from its parameters cell with ast (not the library)."""
    import ast
    import json

    nb = json.loads((REPO / "notebooks" / f"{NOTEBOOK}.ipynb").read_text())
    cell = next(c for c in nb["cells"] if "parameters" in c["metadata"].get("tags", []))
    tree = ast.parse("".join(cell["source"]))
    return {node.targets[0].id: ast.literal_eval(node.value) for node in tree.body}


@pytest.fixture(scope="module")
def hourly(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """A run on a small synthetic case with a time column (hourly rows over 60 days)."""
    tmp = tmp_path_factory.mktemp("hourly")
    folder = make_case(tmp / "cases" / "hourly", n=24 * 60, notebooks=[NOTEBOOK])
    result = execute(plan_run(NOTEBOOK, {"case": str(folder), **HOURLY}, runs_dir=tmp / "runs"))
    assert result.ok, result.error
    return folder, result.results


@pytest.fixture(scope="module")
def flights(tmp_path_factory: pytest.TempPathFactory) -> dict:
    result = execute(plan_run(NOTEBOOK, {"case": "flights"}, runs_dir=tmp_path_factory.mktemp("runs")))
    assert result.ok, result.error
    return result.results


def test_fresher_models_are_at_least_as_good_on_the_same_test_period(flights) -> None:
    r = flights
    ages, cost, auc = r["freshness_ages"], r["freshness_cost_per_1000"], r["freshness_roc_auc"]
    assert ages == sorted(defaults()["freshness_ages"])
    assert cost[0] <= cost[-1] and auc[0] >= auc[-1], "the freshest model is at least as good as the oldest"
    assert cost[0] == min(cost[:-1]), "and at least as good as every other age"


def test_retraining_more_often_is_not_worse_than_never_retraining(flights) -> None:
    r = flights
    cost = dict(zip(r["cadences"], r["cadence_cost_per_1000"]))
    assert 0 in cost
    assert all(cost[k] <= cost[0] for k in cost if k), cost
    assert cost[min(k for k in cost if k)] <= cost[0]


def test_stateful_updates_read_fewer_rows_than_stateless_retraining(flights) -> None:
    assert flights["stateful_rows_per_update"] < flights["stateless_rows_per_update"]
    assert flights["stateful_final_trees"] > defaults()["trees"], "the warm model grows"


def test_counts_and_rows_read_match_the_raw_data(flights) -> None:
    r, p = flights, defaults()
    _, df = raw_flights()
    date = df["sched_dep"].dt.normalize()
    day = (date - date.min()).dt.days.to_numpy()
    n_days = int(day.max()) + 1
    per_day = np.bincount(day, minlength=n_days)
    sampled = np.minimum(per_day, p["rows_per_day"])
    warmup, window = p["warmup_days"], p["window_days"]
    assert (r["n_rows"], r["n_days"]) == (len(df), n_days)
    assert r["n_predicted"] == int(np.sum(day >= warmup))
    monthly = df.groupby(df["sched_dep"].dt.month)["delayed"].mean()
    assert r["monthly_positive_rate_min"] == pytest.approx(monthly.min())
    assert r["monthly_positive_rate_max"] == pytest.approx(monthly.max())
    test_from = max(p["freshness_ages"]) + window  # labels are usable one day later
    assert r["freshness_test_from"] == f"{date.min() + pd.Timedelta(days=test_from):%Y-%m-%d}"
    assert r["freshness_rows"] == int(np.sum(day >= test_from))
    for k, runs, rows in zip(r["cadences"], r["cadence_runs"], r["cadence_rows_trained"]):
        deploy = [warmup] if k == 0 else list(range(warmup, n_days, k))
        assert runs == len(deploy) == (1 if k == 0 else math.ceil((n_days - warmup) / k))
        assert rows == sum(sampled[max(0, d - window):d].sum() for d in deploy)
    weekly = list(range(warmup, n_days, p["compare_cadence"]))
    assert r["stateless_rows_per_update"] == pytest.approx(np.mean([sampled[d - window:d].sum() for d in weekly[1:]]))
    assert r["stateful_rows_per_update"] == pytest.approx(np.mean([sampled[a:b].sum() for a, b in zip(weekly, weekly[1:])]))
    assert r["models_fitted"] == n_days - warmup, "every window is fitted once: the daily plan's"


def test_costs_add_up_and_the_cheapest_cadence_is_chosen(flights) -> None:
    r, p = flights, defaults()
    spec, df = raw_flights()
    c_fp, c_fn = spec["costs"]["false_positive"], spec["costs"]["false_negative"]
    day = (df["sched_dep"].dt.normalize() - df["sched_dep"].min().normalize()).dt.days
    replayed_positives = int(df.loc[day >= p["warmup_days"], "delayed"].sum())
    flag_nothing = 1000 * c_fn * replayed_positives / r["n_predicted"]
    n = r["n_predicted"]
    for fp, fn, cost, runs, total in zip(r["cadence_fp"], r["cadence_fn"], r["cadence_cost_per_1000"],
                                         r["cadence_runs"], r["cadence_total_cost_per_1000"]):
        assert fn <= replayed_positives and fp <= n - replayed_positives
        assert cost == pytest.approx(1000 * (fp * c_fp + fn * c_fn) / n)
        assert cost < flag_nothing, "every cadence beats flagging nothing"
        assert total == pytest.approx(cost + p["train_cost"] * runs * 1000 / n)
    totals = dict(zip(r["cadences"], r["cadence_total_cost_per_1000"]))
    assert r["best_cadence"] == min(totals, key=totals.get)
    stateful_ok = r["stateful_cost_per_1000"] <= 1.01 * r["stateless_cost_per_1000"]
    assert r["chosen_style"] == ("stateful" if stateful_ok else "stateless")
    choice = r["decision"]["choice"]
    assert (f"every {r['best_cadence']} days" in choice) if r["best_cadence"] else ("never" in choice)
    assert r["decision"]["evidence"] and r["decision"]["would_change"]


def test_runs_on_another_time_stamped_case(hourly) -> None:
    _, r = hourly
    ages, warmup, window = HOURLY["freshness_ages"], HOURLY["warmup_days"], HOURLY["window_days"]
    assert (r["n_rows"], r["n_days"], r["n_predicted"]) == (24 * 60, 60, 24 * (60 - warmup))
    assert r["cadence_runs"] == [60 - warmup, math.ceil((60 - warmup) / 7), 1]
    test_from = max(ages) + window
    windows = set(range(warmup, 60)) | {b - a for b in range(test_from, 60) for a in ages}  # by their end day
    assert r["models_fitted"] == len(windows)
    assert r["stateless_rows_per_update"] == 24 * window and r["stateful_rows_per_update"] == 24 * 7


def test_is_deterministic_and_runs_under_plain_papermill(hourly, tmp_path: Path) -> None:
    folder, first = hourly
    out = tmp_path / "out.ipynb"
    proc = subprocess.run(
        [sys.executable, "-m", "papermill", str(REPO / "notebooks" / f"{NOTEBOOK}.ipynb"), str(out),
         "-y", yaml.safe_dump({"case": str(folder), **HOURLY}), "--cwd", str(tmp_path)],
        capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    again = read_records(read_notebook(out))

    def steady(records: dict) -> dict:  # everything but measured seconds
        return {k: v for k, v in records.items() if not k.endswith("_seconds_per_update")}

    assert steady(again) == steady(first), "same parameters and seed, same results"
    assert again["decision"]["choice"]
