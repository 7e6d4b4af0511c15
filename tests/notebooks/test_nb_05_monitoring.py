"""Notebook 05_monitoring: execute it on its cases and check what it recorded.

Data-derived values (periods, windows, rows a day, label delay in windows) are recomputed here from
the raw parquet files with pandas; model-derived values are checked against stated tolerances and
against what the injected shift guarantees.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.helpers import REPO
from tests.helpers import raw_case as shared_raw_case
from workbench.runner.notebooks import read_notebook, read_records
from workbench.runner.run import RunResult, execute, plan_run

pytestmark = pytest.mark.notebook

RUNS = {"census": {}, "flights": {"window": 1000, "seed": 1}}  # census at the notebook's defaults
DEFAULTS = {"window": 2000, "reference_share": 0.25, "shift_onset": 10, "alert_budget": 1.0, "label_delay": -1}


def raw_case(case_id: str) -> tuple[dict, pd.DataFrame]:
    return shared_raw_case(case_id)[:2]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, RunResult]:
    folder = tmp_path_factory.mktemp("runs")
    out = {}
    for case_id, params in RUNS.items():
        result = execute(plan_run("05_monitoring", {"case": case_id, **params}, runs_dir=folder))
        assert result.ok, result.error
        out[case_id] = result
    return out


@pytest.mark.parametrize("case_id", list(RUNS))
def test_periods_windows_and_label_delay_match_the_raw_data(runs, case_id: str) -> None:
    r, params = runs[case_id].results, {**DEFAULTS, **RUNS[case_id]}
    spec, df = raw_case(case_id)
    times = df[spec["time_column"]]
    cut = times.sort_values().iloc[int(params["reference_share"] * len(df))]
    in_period = times < cut
    if not in_period.any():
        in_period = times == times.min()
    distinct = times.drop_duplicates().sort_values()
    span_days = (distinct.iloc[-1] - distinct.iloc[0] + distinct.diff().median()) / pd.Timedelta(days=1)
    per_day = len(df) / span_days
    assert r["n_rows"] == len(df) and r["n_reference_period"] == in_period.sum()
    assert r["n_windows"] == (~in_period).sum() // params["window"]
    assert r["rows_per_day"] == pytest.approx(per_day, rel=1e-9)
    assert r["delay_windows"] == math.ceil(spec["label_delay_days"] * per_day / params["window"])


def test_census_reference_period_is_the_first_survey_year_and_the_shift_acts_on_age(runs) -> None:
    r = runs["census"].results
    _, df = raw_case("census")
    assert r["n_reference_period"] == (df["survey_year"].dt.year == 2015).sum()
    assert r["shift_column"] == "AGEP", "the only numeric feature"


def test_flights_shift_column_is_the_numeric_feature_most_correlated_with_the_label(runs) -> None:
    spec, df = raw_case("flights")
    early = df[df["sched_dep"] < df["sched_dep"].sort_values().iloc[int(0.25 * len(df))]]
    numeric = [c for c, k in spec["features"].items() if k == "numeric" and c not in spec["leaky"]]
    corr = early[numeric].corrwith(early[spec["target"]]).abs()
    assert corr.max() > 2 * corr.drop(corr.idxmax()).max(), "a clear winner, so a subsample cannot change it"
    assert runs["flights"].results["shift_column"] == corr.idxmax()


@pytest.mark.parametrize("case_id", list(RUNS))
def test_the_injected_shift_alerts_after_its_onset_and_not_before(runs, case_id: str) -> None:
    r, onset = runs[case_id].results, DEFAULTS["shift_onset"]
    assert r["injected_false_alerts"] == 0
    assert onset <= r["injected_first_alert"] <= onset + 3
    signals = r["signals_by_shift"]
    assert signals["covariate"]["features"] != "no alert" and signals["covariate"]["prediction"] != "no alert"
    assert signals["concept"]["features"] == "no alert" and signals["concept"]["prediction"] == "no alert", \
        "a concept shift leaves the inputs and the predictions as they were"


@pytest.mark.parametrize("case_id", list(RUNS))
def test_the_label_free_estimate_is_within_tolerance_on_unshifted_data(runs, case_id: str) -> None:
    """Tolerance: 3 standard errors of the pool's realised cost, plus 2% for the estimated calibration."""
    r = runs[case_id].results
    tolerance = 3 * r["pool_cost_se"] + 0.02 * r["pool_cost_realised"]
    assert abs(r["pool_cost_estimated"] - r["pool_cost_realised"]) <= tolerance
    assert r["unshifted_within_2se"] >= 0.8, "about 95% of unshifted windows expected within 2 SE"


@pytest.mark.parametrize("case_id", list(RUNS))
def test_p_value_false_alarms_grow_with_the_window_and_the_correction_reduces_them(runs, case_id: str) -> None:
    rates = pd.DataFrame(runs[case_id].results["fire_rates"])
    tiny = rates[(rates["source"] == "tiny shift (0.05)") & (rates["detector"] == "ks_chi2 (no correction)")]
    tiny = tiny.sort_values("size")["fire_rate"].to_numpy()
    assert tiny[-1] > tiny[0] + 0.3, "a shift too small to matter: p-value tests fire more as windows grow"
    none = rates[rates["source"] == "no shift"].groupby("detector")["fire_rate"].mean()
    assert none["ks_chi2"] <= none["ks_chi2 (no correction)"]
    large = rates[(rates["source"] == "no shift") & (rates["size"] >= 1000) & rates["detector"].isin(["psi", "wasserstein"])]
    assert (large["fire_rate"] <= 0.1).all(), "effect sizes hold still on unshifted windows of 1,000+ rows"


@pytest.mark.parametrize("case_id", list(RUNS))
def test_the_decision_follows_the_delay_and_false_alarm_table(runs, case_id: str) -> None:
    r, params = runs[case_id].results, {**DEFAULTS, **RUNS[case_id]}
    table = pd.DataFrame(r["tradeoff"])
    assert np.allclose(table["delay_days"] >= table["window"] / r["rows_per_day"] - 1e-9, True)
    ok = table[(table["detected"] == 1) & (table["false_alerts_per_month"] <= params["alert_budget"])]
    assert len(ok), "some detector and window meet the budget"
    best = ok.sort_values(["delay_days", "false_alerts_per_month"]).iloc[0]
    assert (r["best_detector"], r["best_window"]) == (best["detector"], best["window"])
    choice = r["decision"]["choice"]
    assert r["best_detector"] in choice and f"{r['best_window']:,} rows" in choice
    assert r["evidently_agrees"] is True and r["decision"]["evidence"] and r["decision"]["would_change"]


def test_evidentlys_report_is_saved_in_the_run_folder(runs) -> None:
    for result in runs.values():
        html = result.run.folder / "evidently_drift_report.html"
        assert html.is_file() and "Value Drift for column" in html.read_text(errors="ignore")


def test_flights_windows_of_a_day_or_two_always_drift_on_the_weekday(runs) -> None:
    r = runs["flights"].results
    spec, df = raw_case("flights")
    later = df[df["sched_dep"] >= df["sched_dep"].sort_values().iloc[int(0.25 * len(df))]]
    days = later["day_of_week"].to_numpy()[: r["n_windows"] * 1000].reshape(r["n_windows"], 1000)
    assert max(len(set(w)) for w in days) < 7, "no window holds a whole week"
    assert r["real_feature_fire_rate"] == 1.0


def test_monitoring_runs_under_plain_papermill(tmp_path: Path) -> None:
    out = tmp_path / "out.ipynb"
    env = dict(os.environ, WORKBENCH_RUNS=str(tmp_path / "runs"))
    proc = subprocess.run(
        [sys.executable, "-m", "papermill", str(REPO / "notebooks" / "05_monitoring.ipynb"), str(out),
         "-p", "window", "1000", "-p", "detector", "psi", "--cwd", str(tmp_path)],
        capture_output=True, text=True, timeout=600, env=env,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    records = read_records(read_notebook(out))
    assert records["n_windows"] == 208_892 // 1000 and records["decision"]["choice"]
    assert (tmp_path / "runs" / "interactive" / "evidently_drift_report.html").is_file()
