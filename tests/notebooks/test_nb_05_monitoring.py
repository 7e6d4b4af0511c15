"""Notebook 05_monitoring: execute it on its cases and check what it recorded.

Data-derived values (time units, periods, windows, rows per unit, label delay in windows) are
recomputed here from the raw parquet files with pandas; the label-shift attribution is recomputed
from the predictions the notebook saves; intervals are recomputed with statsmodels and scipy; the
choice of detector and window is recomputed from the recorded table; the rest is checked against
what the injected shifts guarantee.
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
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

from tests.helpers import REPO, shared_run, write_case
from tests.helpers import raw_case as shared_raw_case
from workbench.runner.notebooks import read_notebook, read_records
from workbench.runner.params import declared_parameters
from workbench.runner.run import RunResult, execute, plan_run

pytestmark = pytest.mark.notebook

NOTEBOOK = REPO / "notebooks" / "05_monitoring.ipynb"
DEFAULTS = {name: p.default for name, p in declared_parameters(NOTEBOOK).items()}
RUNS = {"census": {}, "flights": {"seed": 1}}  # census at the notebook's defaults
SIZES = (2000, 1000, 500, 250, 200, 100, 50)  # what window="auto" chooses from, largest first


def raw_case(case_id: str) -> tuple[dict, pd.DataFrame]:
    return shared_raw_case(case_id)[:2]


def altered_census(folder: Path) -> Path:
    """census with every row after the reference period (2016-2018) altered: labels shuffled among
    them and everyone five years older. Nothing the decision is made on (the 2015 rows) changes."""
    spec, df = raw_case("census")
    later = df["survey_year"].dt.year > 2015
    df.loc[later, "employed"] = np.random.default_rng(5).permutation(df.loc[later, "employed"].to_numpy())
    df.loc[later, "AGEP"] = df.loc[later, "AGEP"] + 5
    return write_case(folder, spec, df)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, RunResult]:
    altered = altered_census(tmp_path_factory.mktemp("cases") / "census_altered")
    out = {}
    for name, params in {**{c: {"case": c, **p} for c, p in RUNS.items()}, "census_altered": {"case": str(altered)}}.items():
        result = shared_run("05_monitoring", params)
        assert result.ok, result.error
        out[name] = result
    return out


def expected_layout(case_id: str) -> dict:
    """Time unit, reference period, auto window, windows and label delay, recomputed with pandas."""
    spec, df = raw_case(case_id)
    times = df[spec["time_column"]]
    distinct = times.drop_duplicates().sort_values()
    step = distinct.diff().median() / pd.Timedelta(days=1)
    cut = times.sort_values().iloc[int(DEFAULTS["reference_share"] * len(df))]
    in_period = times < cut
    if not in_period.any():
        in_period = times == times.min()
    n = int(in_period.sum())
    pool = n - min(10000, int(0.3 * n)) - min(25000, int(0.35 * n))
    later = (~in_period).sum()
    window = next(s for s in SIZES if 4 * s <= pool and 10 * s <= later)
    if step <= 1:
        per_day = len(df) / ((distinct.iloc[-1] - distinct.iloc[0] + distinct.diff().median()) / pd.Timedelta(days=1))
        return {"unit": "day", "per_unit": per_day, "n_reference": n, "window": window,
                "n_windows": later // window, "windows_per_unit": per_day * 30.44 / window,
                "delay_windows": math.ceil(spec["label_delay_days"] * per_day / window)}
    per_period = len(df) / len(distinct)
    counts = times[~in_period].value_counts()
    return {"unit": "year", "per_unit": per_period, "n_reference": n, "window": window,
            "n_windows": int(sum(c // window for c in counts)), "windows_per_unit": per_period / window,
            "delay_windows": math.ceil(spec["label_delay_days"] / 365.25) * int(per_period // window)}


@pytest.mark.parametrize("case_id", list(RUNS))
def test_time_units_periods_windows_and_label_delay_match_the_raw_data(runs, case_id: str) -> None:
    r = runs[case_id].results
    want = expected_layout(case_id)
    _, df = raw_case(case_id)
    assert r["n_rows"] == len(df) and r["time_unit"] == want["unit"]
    assert r["budget_unit"] == ("month" if want["unit"] == "day" else "year")
    assert r["rows_per_unit"] == pytest.approx(want["per_unit"], rel=1e-9)
    assert (r["n_reference_period"], r["window"], r["n_windows"]) == (want["n_reference"], want["window"], want["n_windows"])
    assert r["windows_per_unit"] == pytest.approx(want["windows_per_unit"], rel=1e-9)
    assert r["delay_windows"] == want["delay_windows"]


def test_census_counts_in_survey_years_not_days(runs) -> None:
    r = runs["census"].results
    _, df = raw_case("census")
    assert r["n_reference_period"] == (df["survey_year"].dt.year == 2015).sum()
    assert r["shift_column"] == "AGEP", "the only numeric feature"
    assert r["best_delay_days"] is None and r["best_delay_rows"] is not None, "no days where the data has none"
    text = " ".join([r["decision"]["choice"], *r["decision"]["evidence"]])
    assert "days each" not in text and "per month" not in text and "a month" not in text
    assert "a year" in r["decision"]["choice"] and "per year" in text


def test_flights_shift_column_is_the_numeric_feature_most_correlated_with_the_label(runs) -> None:
    spec, df = raw_case("flights")
    early = df[df["sched_dep"] < df["sched_dep"].sort_values().iloc[int(0.25 * len(df))]]
    numeric = [c for c, k in spec["features"].items() if k == "numeric" and c not in spec["leaky"]]
    corr = early[numeric].corrwith(early[spec["target"]]).abs()
    assert corr.max() > 2 * corr.drop(corr.idxmax()).max(), "a clear winner, so a subsample cannot change it"
    r = runs["flights"].results
    assert r["shift_column"] == corr.idxmax()
    assert r["best_delay_days"] == pytest.approx(r["best_delay_rows"] / r["rows_per_unit"])


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
def test_the_monitored_signals_are_the_first_to_catch_some_shift(runs, case_id: str) -> None:
    r = runs[case_id].results
    first = {}
    for kind, row in r["signals_by_shift"].items():
        caught = {s: int(v.split()[0]) for s, v in row.items() if v != "no alert"}
        first[kind] = sorted(s for s, v in caught.items() if v == min(caught.values())) if caught else []
    assert r["first_signals"] == first
    assert r["signals"] == [s for s in ("features", "prediction", "estimated cost", "realised cost")
                            if any(s in f for f in first.values())]
    assert ("realised cost" in r["decision"]["choice"]) == ("realised cost" in r["signals"])


def test_two_cases_whose_evidence_differs_monitor_different_signals(runs) -> None:
    """census: only the realised cost catches the injected concept shift, so it is monitored; flights:
    nothing catches it (the flipped labels barely move the cost there), so the decision leaves it out
    and says what would be needed."""
    census, flights = runs["census"].results, runs["flights"].results
    assert census["first_signals"]["concept"] == ["realised cost"] and "realised cost" in census["signals"]
    assert flights["first_signals"]["concept"] == [] and "realised cost" not in flights["signals"]
    assert "realised cost" not in flights["decision"]["choice"]
    assert any("no signal caught the injected concept shift" in w for w in flights["decision"]["would_change"])


@pytest.mark.parametrize("case_id", list(RUNS))
def test_the_label_free_estimate_is_within_tolerance_on_unshifted_data(runs, case_id: str) -> None:
    """Tolerance: 3 standard errors of the pool's realised cost, plus 2% for the estimated calibration."""
    r = runs[case_id].results
    tolerance = 3 * r["pool_cost_se"] + 0.02 * r["pool_cost_realised"]
    assert abs(r["pool_cost_estimated"] - r["pool_cost_realised"]) <= tolerance
    assert r["unshifted_within_2se"] >= 0.8, "about 95% of unshifted windows expected within 2 SE"
    k = round(r["unshifted_within_2se"] * 30)
    lo, hi = proportion_confint(k, 30, alpha=1 - DEFAULTS["level"], method="wilson")
    assert (r["unshifted_within_2se_lo"], r["unshifted_within_2se_hi"]) == pytest.approx((lo, hi), rel=1e-9)


@pytest.mark.parametrize("case_id", list(RUNS))
def test_the_estimate_gap_is_split_into_label_shift_and_the_rest_from_the_saved_predictions(runs, case_id: str) -> None:
    """Recomputed with pandas from the saved predictions: the cost label shift alone implies uses the
    same decisions (p >= threshold) with each row's odds scaled by the ratio of prior odds."""
    result = runs[case_id]
    r, spec = result.results, raw_case(case_id)[0]
    pred = pd.read_parquet(result.run.folder / "real_window_predictions.parquet")
    c_fp, c_fn = spec["costs"]["false_positive"], spec["costs"]["false_negative"]
    t, prior = r["cost_threshold"], r["reference_positive_rate"]
    labelled = pred[pred["window"] < r["n_windows"] - r["delay_windows"]]
    rows = []
    for _, w in labelled.groupby("window"):
        p, y, flag = w["p"].to_numpy(), w["y"].to_numpy(), w["p"].to_numpy() >= t
        new = y.mean()
        with np.errstate(divide="ignore", invalid="ignore"):
            odds = p / (1 - p) * (new / (1 - new)) / (prior / (1 - prior))
            q = np.where(p >= 1, 1.0, np.where(p <= 0, 0.0, odds / (1 + odds)))
        realised = 1000 * np.mean(np.where(flag & (y == 0), c_fp, 0) + np.where(~flag & (y == 1), c_fn, 0))
        rows.append({"est": 1000 * np.mean(np.where(flag, (1 - p) * c_fp, p * c_fn)),
                     "label": 1000 * np.mean(np.where(flag, (1 - q) * c_fp, q * c_fn)), "real": realised})
    got = pd.DataFrame(rows)
    for name, diff in (("estimate_gap", got["real"] - got["est"]), ("estimate_gap_label_shift", got["label"] - got["est"]),
                       ("estimate_gap_rest", got["real"] - got["label"])):
        half = stats.t.ppf((1 + DEFAULTS["level"]) / 2, len(diff) - 1) * diff.std(ddof=1) / np.sqrt(len(diff))
        assert r[name] == pytest.approx(diff.mean(), rel=1e-6, abs=1e-6), name
        assert (r[f"{name}_lo"], r[f"{name}_hi"]) == pytest.approx((diff.mean() - half, diff.mean() + half), rel=1e-6, abs=1e-6)
    assert any("label shift explains" in e for e in r["decision"]["evidence"])


@pytest.mark.parametrize("case_id", list(RUNS))
def test_injected_label_shift_moves_the_estimate_as_bayes_rule_says(runs, case_id: str) -> None:
    r = runs[case_id].results
    gap, label_alone, rest = r["injected_estimate_gap"], r["injected_label_shift_gap"], r["injected_gap_rest"]
    assert abs(gap["label"]) > 3 * abs(gap["covariate"]), "label shift makes the label-free estimate wrong"
    assert abs(gap["label"] - label_alone["label"]) <= 0.15 * abs(gap["label"]), "and Bayes' rule explains it"
    for kind in gap:
        assert rest[kind]["rest"] == pytest.approx(gap[kind] - label_alone[kind], abs=1e-9)


def test_census_concept_shift_is_what_the_positive_rate_does_not_explain(runs) -> None:
    """On census the injected concept shift leaves the positive rate where it was: its whole gap is left
    unexplained, distinguishably, while the label shift's remainder is small."""
    r = runs["census"].results
    rest, gap = r["injected_gap_rest"], r["injected_estimate_gap"]
    assert rest["concept"]["rest_lo"] > 0 and rest["concept"]["rest"] > 0.8 * gap["concept"]
    assert abs(rest["label"]["rest"]) < 0.25 * rest["concept"]["rest"]


@pytest.mark.parametrize("case_id", list(RUNS))
def test_p_value_false_alarms_grow_with_the_window_and_the_correction_reduces_them(runs, case_id: str) -> None:
    rates = pd.DataFrame(runs[case_id].results["fire_rates"])
    tiny = rates[(rates["source"] == "tiny shift (0.05)") & (rates["detector"] == "ks_chi2 (no correction)")]
    tiny = tiny.sort_values("size")["fire_rate"].to_numpy()
    assert tiny[-1] > tiny[0] + 0.3, "a shift too small to matter: p-value tests fire more as windows grow"
    none = rates[rates["source"] == "no shift"].groupby("detector")[["fired", "windows"]].sum()
    assert none.loc["ks_chi2", "fired"] < none.loc["ks_chi2 (no correction)", "fired"] / 2
    large = rates[(rates["source"] == "no shift") & (rates["size"] >= 1000) & rates["detector"].isin(["psi", "wasserstein"])]
    assert (large["fire_rate"] <= 0.05).all(), "effect sizes hold still on unshifted windows of 1,000+ rows"


@pytest.mark.parametrize("case_id", list(RUNS))
def test_false_alerts_are_counted_with_wilson_intervals_and_the_choice_follows_the_table(runs, case_id: str) -> None:
    r, level = runs[case_id].results, DEFAULTS["level"]
    assert DEFAULTS["persistence"] == 2, "the count below assumes two firing windows in a row"
    table = pd.DataFrame(r["tradeoff"])
    rates = pd.DataFrame(r["fire_rates"])
    none = rates[rates["source"] == "no shift"].set_index(["detector", "size"])
    for _, row in table.iterrows():
        n = none.loc[(row["detector"], row["window"])]
        fired = r["replay_fired"][f"{row['detector']} @ {row['window']}"]
        assert row["replayed"] == n["windows"] == len(fired) == 150 and fired.count("1") == n["fired"]
        up = sum(i >= 1 and fired[i - 1:i + 1] == "11" for i in range(len(fired)))  # persistence 2: two in a row
        assert row["false_alerts"] == up, "false alerts are counted on the replayed windows, not modelled"
        lo, hi = proportion_confint(row["false_alerts"], row["replayed"], alpha=1 - level, method="wilson")
        per = r["windows_per_unit"] * r["window"] / row["window"]  # windows of this size in one budget unit
        assert (row["false_per_unit_lo"], row["false_per_unit_hi"]) == pytest.approx((lo * per, hi * per), rel=1e-9, abs=1e-12)
    table["within"] = table["false_per_unit_hi"] <= DEFAULTS["alert_budget"]
    ok = table[(table["detected"] == 1) & table["within"]]
    assert len(ok), "some detector and window meet the budget"
    reach = ok.loc[ok["delay_rows"].idxmin(), "delay_rows_hi"]
    tied = ok[ok["delay_rows_lo"] <= reach].copy()
    tied["o"] = tied["detector"].map({"ks_chi2": 0, "psi": 1, "wasserstein": 2})
    best = tied.sort_values(["false_alerts", "fire_rate", "window", "o"], ascending=[True, True, False, True]).iloc[0]
    assert (r["best_detector"], r["best_window"], r["options_tied_with_best"]) == (best["detector"], best["window"], len(tied))
    choice, evidence = r["decision"]["choice"], " ".join(r["decision"]["evidence"])
    assert r["best_detector"] in choice and f"{r['best_window']:,} rows" in choice
    assert f"{int(best['false_alerts'])} false alerts in 150 unshifted windows" in evidence, "a count, not a modelled rate"


def test_the_choice_uses_no_rows_after_the_reference_period(runs) -> None:
    """census with its 2016-2018 rows altered (labels shuffled, everyone five years older): the real
    windows look different, the choice does not change."""
    r, altered = runs["census"].results, runs["census_altered"].results
    for key in ("best_detector", "best_window", "best_delay_rows", "best_false_alerts_per_unit", "signals",
                "first_signals", "tradeoff", "shift_column"):
        assert altered[key] == r[key], key
    assert altered["decision"]["choice"] == r["decision"]["choice"]
    assert altered["real_feature_fire_rate"] > r["real_feature_fire_rate"], "the real windows did change"


@pytest.mark.parametrize("case_id", list(RUNS))
def test_evidently_and_the_fast_path_agree_column_by_column(runs, case_id: str) -> None:
    r = runs[case_id].results
    spec, _ = raw_case(case_id)
    monitored = [c for c, k in spec["features"].items() if k in ("numeric", "categorical") and c not in spec["leaky"]]
    assert set(r["evidently_agreement"]) == {"first shifted window", "last real window"}
    for name, a in r["evidently_agreement"].items():
        assert a["compared"] == len(monitored), name
        assert a["agreeing"] == a["compared"] and a["evidently_drifted"] == a["fast_drifted"], name
    html = runs[case_id].run.folder / "evidently_drift_report.html"
    assert html.is_file() and "Value Drift for column" in html.read_text(errors="ignore")


def test_flights_windows_of_a_few_days_always_drift_on_the_weekday(runs) -> None:
    r = runs["flights"].results
    _, df = raw_case("flights")
    later = df[df["sched_dep"] >= df["sched_dep"].sort_values().iloc[int(0.25 * len(df))]].sort_values("sched_dep", kind="stable")
    w = r["window"]
    days = later["day_of_week"].to_numpy()[: r["n_windows"] * w].reshape(r["n_windows"], w)
    assert max(len(set(d)) for d in days) < 7, "no window holds a whole week"
    assert r["real_feature_fire_rate"] == 1.0
    assert any("day_of_week" in c for c in r["decision"]["would_change"]), "calendar features are named"


@pytest.mark.parametrize("rows", ["minimum", 44_000])
def test_default_windows_fit_any_case_above_the_minimum(tmp_path: Path, rows) -> None:
    """A user's 44,000-row table once stopped on 'windows too large'; window='auto' sizes from the case."""
    from workbench.cases.synthetic import make_case
    from workbench.runner.applicability import applicability

    app = applicability(read_notebook(NOTEBOOK), NOTEBOOK, strict=True)
    n = app.min_rows if rows == "minimum" else rows
    folder = make_case(tmp_path / "cases" / f"rows{n}", n=n, seed=2, notebooks=["05_monitoring"], label_delay_days=7)
    y = pd.read_parquet(folder / "data.parquet")["label"]
    assert min((y == "yes").sum(), (y == "no").sum()) >= app.min_class_rows
    result = execute(plan_run("05_monitoring", {"case": str(folder)}, runs_dir=tmp_path / "runs"))
    assert result.ok, result.error
    r = result.results
    assert r["n_windows"] >= 10 and r["time_unit"] == "day" and r["decision"]["choice"].startswith("Monitor")


def test_monitoring_runs_under_plain_papermill(tmp_path: Path) -> None:
    out = tmp_path / "out.ipynb"
    env = dict(os.environ, WORKBENCH_RUNS=str(tmp_path / "runs"))
    proc = subprocess.run(
        [sys.executable, "-m", "papermill", str(NOTEBOOK), str(out),
         "-p", "window", "1000", "-p", "detector", "psi", "--cwd", str(tmp_path)],
        capture_output=True, text=True, timeout=600, env=env,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    records = read_records(read_notebook(out))
    _, df = raw_case("census")
    per_year = df.loc[df["survey_year"].dt.year > 2015, "survey_year"].value_counts()
    assert records["n_windows"] == sum(n // 1000 for n in per_year) and records["decision"]["choice"]
    assert (tmp_path / "runs" / "interactive" / "evidently_drift_report.html").is_file()
