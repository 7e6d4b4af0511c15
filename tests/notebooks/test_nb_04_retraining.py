"""Notebook 04_retraining: execute it and check what it recorded.

Counts, windows, costs, choices and intervals are recomputed here from the raw parquet files and
the per-day costs the notebook saves (`daily_costs.parquet`) with pandas and numpy, not through the
workbench library, so a bug in the replay engine cannot confirm itself. A synthetic case whose label
is a known square wave in time lets every prediction be derived by hand: a model can only repeat the
label of the last day whose label had arrived when the prediction was made.
"""

from __future__ import annotations

import ast
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from tests.helpers import REPO, at_declared_minimum, make_case
from workbench.errors import ParameterError
from workbench.fileio import sha256_file
from workbench.runner.notebooks import read_notebook, read_records
from workbench.runner.run import execute, plan_run

pytestmark = pytest.mark.notebook

NOTEBOOK = "04_retraining"
DAYS, PER_DAY, BLOCK, LEAD, DELAY = 120, 48, 10, 5, 1  # the square-wave case
BLOCKS = {"window_days": 20, "freshness_ages": [0, 7, 14], "cadences": [1, 7, 30, 0]}
COSTLY = 100_000.0  # a training run 1,000 times the case's price


def defaults() -> dict:
    """The notebook's default parameters, read from its parameters cell with ast (not the library)."""
    nb = json.loads((REPO / "notebooks" / f"{NOTEBOOK}.ipynb").read_text())
    cell = next(c for c in nb["cells"] if "parameters" in c["metadata"].get("tags", []))
    return {node.targets[0].id: ast.literal_eval(node.value) for node in ast.parse("".join(cell["source"])).body}


def write_case(folder: Path, df: pd.DataFrame, spec: dict) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    df.to_parquet(folder / "data.parquet", index=False)
    spec = {**spec, "id": folder.name, "data": "data.parquet", "sha256": sha256_file(folder / "data.parquet"),
            "notebooks": [NOTEBOOK]}
    (folder / "case.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    return folder


def square_wave(day: np.ndarray) -> np.ndarray:
    return (np.asarray(day) // BLOCK) % 2


def blocks_case(folder: Path) -> Path:
    """PER_DAY rows a day over DAYS days; the label is 1 in every other block of BLOCK days; the only feature is the day."""
    day = np.repeat(np.arange(DAYS), PER_DAY)
    when = (pd.Timestamp("2024-01-01") + pd.to_timedelta(day, unit="D")
            + pd.to_timedelta(np.tile(np.arange(PER_DAY) * (86_400 // PER_DAY), DAYS), unit="s"))
    df = pd.DataFrame({"when": when, "dayno": day.astype(float),
                       "label": np.where(square_wave(day) == 1, "yes", "no")})
    return write_case(folder, df, {
        "title": "Square wave", "question": "Is it yes?", "task": "binary", "target": "label", "positive_class": "yes",
        "time_column": "when", "features": {"dayno": "numeric"}, "identifiers": [], "sensitive": [],
        "text_column": None, "leaky": [], "costs": {"unit": "USD", "false_positive": 1, "false_negative": 4, "retrain": 2},
        "label_delay_days": DELAY, "prediction_lead_days": LEAD, "slices": []})


def raw_flights() -> tuple[dict, pd.DataFrame]:
    folder = REPO / "casestudies" / "flights"
    spec = yaml.safe_load((folder / "case.yaml").read_text())
    return spec, pd.read_parquet(folder / spec["data"])


def run(params: dict, runs_dir: Path) -> tuple[dict, pd.DataFrame]:
    result = execute(plan_run(NOTEBOOK, params, runs_dir=runs_dir))
    assert result.ok, result.error
    return result.results, pd.read_parquet(result.run.folder / "daily_costs.parquet")


@pytest.fixture(scope="module")
def blocks(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict, pd.DataFrame]:
    tmp = tmp_path_factory.mktemp("blocks")
    folder = blocks_case(tmp / "cases" / "blocks")
    return (folder, *run({"case": str(folder), **BLOCKS}, tmp / "runs"))


@pytest.fixture(scope="module")
def flights(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, pd.DataFrame]:
    return run({"case": "flights"}, tmp_path_factory.mktemp("runs"))


@pytest.fixture(scope="module")
def costly(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, pd.DataFrame]:
    return run({"case": "flights", "train_cost": COSTLY}, tmp_path_factory.mktemp("runs"))


@pytest.fixture(scope="module")
def permuted(tmp_path_factory: pytest.TempPathFactory, flights) -> dict:
    """Flights with the labels of the held-out days shuffled among themselves."""
    r, _ = flights
    spec, df = raw_flights()
    held = (df["sched_dep"] >= pd.Timestamp(r["held_out_from"])).to_numpy()
    df = df.copy()
    df.loc[held, "delayed"] = np.random.default_rng(1).permutation(df.loc[held, "delayed"].to_numpy())
    tmp = tmp_path_factory.mktemp("permuted")
    folder = write_case(tmp / "cases" / "flights_permuted", df, spec)
    return run({"case": str(folder)}, tmp / "runs")[0]


def day_costs(saved: pd.DataFrame, experiment: str, **where) -> pd.DataFrame:
    mask = saved["experiment"] == experiment
    for col, value in where.items():
        mask &= saved[col] == value
    return saved[mask].set_index("date")


def test_every_prediction_uses_only_labels_that_had_arrived_when_it_was_made(blocks) -> None:
    _, r, saved = blocks
    gap, window = DELAY, BLOCKS["window_days"]
    first = window + LEAD + gap - 1  # warm-up = the window; the first model trained on it
    assert r["first_predicted_day"] == f"{pd.Timestamp('2024-01-01') + pd.Timedelta(days=first):%Y-%m-%d}"
    assert (r["prediction_lead_days"], r["compare_lead_days"], r["label_gap_days"]) == (LEAD, 0, DELAY)

    def expected_cost(day: int, last_trained: int) -> float:
        # a model of the day number can only repeat the label of the last day it trained on
        pred, truth = square_wave(last_trained), square_wave(day)
        return PER_DAY * (1.0 if pred > truth else 4.0 if pred < truth else 0.0)

    for at in (LEAD, 0):
        for k in BLOCKS["cadences"]:
            deploy = [first] if k == 0 else list(range(first, DAYS, k))
            got = day_costs(saved, "cadence", lead_days=at, cadence_days=k)["cost"]
            assert len(got) == DAYS - first
            for day in range(first, DAYS):
                last = max(d for d in deploy if d <= day) - at - gap
                assert got.iloc[day - first] == expected_cost(day, last), (at, k, day)
    fresh_from = (pd.Timestamp(r["freshness_test_from"]) - pd.Timestamp("2024-01-01")).days
    held_out = (pd.Timestamp(r["held_out_from"]) - pd.Timestamp("2024-01-01")).days
    for at in (LEAD, 0):
        for age in BLOCKS["freshness_ages"]:
            got = day_costs(saved, "freshness", lead_days=at, age_days=age)["cost"]
            assert len(got) == held_out - fresh_from
            for day in range(fresh_from, held_out):
                week = fresh_from + 7 * ((day - fresh_from) // 7)
                assert got.iloc[day - fresh_from] == expected_cost(day, week - at - gap - age), (at, age, day)


def test_the_days_choose_and_the_held_out_days_judge_as_laid_out(flights) -> None:
    r, saved = flights
    spec, df = raw_flights()
    p = defaults()
    date = df["sched_dep"].dt.normalize()
    day = (date - date.min()).dt.days.to_numpy()
    n_days = int(day.max()) + 1
    lead, gap, window = spec["prediction_lead_days"], max(1, math.ceil(spec["label_delay_days"])), p["window_days"]
    first = window + lead + gap - 1
    held_out = n_days - round((n_days - first) / 4)
    assert (r["n_rows"], r["n_days"], r["prediction_lead_days"]) == (len(df), n_days, lead)
    assert r["first_predicted_day"] == f"{date.min() + pd.Timedelta(days=first):%Y-%m-%d}"
    assert r["held_out_from"] == f"{date.min() + pd.Timedelta(days=held_out):%Y-%m-%d}"
    per_day = np.bincount(day, minlength=n_days)
    scored = np.minimum(per_day, 300)  # auto: at most 300 scored rows a day on flights (about 900 a day)
    assert r["scored_per_day"] == 300 and r["rows_per_day_sampled"] == math.ceil(3000 / window)
    assert r["n_choose_scored"] == scored[first:held_out].sum()
    assert r["n_held_out_scored"] == scored[held_out:].sum()
    sampled = np.minimum(per_day, r["rows_per_day_sampled"])
    windows = set()
    for k, runs, choose_runs, rows in zip(r["cadences"], r["cadence_runs"], r["choose_runs"], r["cadence_rows_trained"]):
        deploy = [first] if k == 0 else list(range(first, n_days, k))
        assert runs == len(deploy) and choose_runs == sum(d < held_out for d in deploy)
        ends = [d - lead - gap + 1 for d in deploy]  # the last day trained on is the day predicted - lead - delay
        assert rows == sum(sampled[max(0, e - window):e].sum() for e in ends)
        windows |= {(max(0, e - window), e) for at in (lead, 0) for e in (d - at - gap + 1 for d in deploy)}
    fresh_from = (pd.Timestamp(r["freshness_test_from"]) - date.min()).days
    assert r["freshness_rows"] == scored[fresh_from:held_out].sum()
    for at in (lead, 0):
        for age in r["freshness_ages"]:
            windows |= {(b - at - gap + 1 - age - window, b - at - gap + 1 - age) for b in range(fresh_from, held_out, 7)}
    assert r["models_fitted"] == len(windows), "each distinct window is fitted once"


def test_totals_add_up_and_the_choice_is_the_fewest_runs_not_distinguishable_from_the_lowest(flights) -> None:
    r, saved = flights
    spec, df = raw_flights()
    first, held_out = pd.Timestamp(r["first_predicted_day"]), pd.Timestamp(r["held_out_from"])
    predictions = int(((df["sched_dep"] >= first) & (df["sched_dep"] < held_out)).sum())  # every row, scored or not
    assert r["train_cost"] == spec["costs"]["retrain"]
    totals = {}
    for j, k in enumerate(r["cadences"]):
        days = day_costs(saved, "cadence", lead_days=r["prediction_lead_days"], cadence_days=k)
        choose = days[days.index < held_out]
        errors = 1000 * choose["cost"].sum() / choose["rows"].sum()
        assert choose["cost"].sum() == pytest.approx((choose["fp"] * spec["costs"]["false_positive"]
                                                      + choose["fn"] * spec["costs"]["false_negative"]).sum())
        assert r["choose_errors_per_1000"][j] == pytest.approx(errors)
        totals[k] = errors + spec["costs"]["retrain"] * r["choose_runs"][j] * 1000 / predictions
        assert r["choose_total_per_1000"][j] == pytest.approx(totals[k])
    best = min(totals, key=totals.get)
    assert r["best_total_cadence"] == best
    close = [k for j, k in enumerate(r["cadences"]) if r["choose_vs_best_lo"][j] <= 0]
    assert best in close
    runs = dict(zip(r["cadences"], r["choose_runs"]))
    assert r["chosen_cadence"] == min(close, key=lambda k: (runs[k], r["cadences"].index(k)))
    j = r["cadences"].index(r["chosen_cadence"])
    assert r["chosen_vs_best"] == pytest.approx(totals[r["chosen_cadence"]] - totals[best])
    assert (r["chosen_vs_best_lo"], r["chosen_vs_best_hi"]) == (r["choose_vs_best_lo"][j], r["choose_vs_best_hi"][j])
    choice = r["decision"]["choice"]
    assert (f"every {r['chosen_cadence']} days" in choice) if r["chosen_cadence"] else ("never" in choice)
    assert f"{r['prediction_lead_days']} d ahead" in choice


def test_intervals_are_a_paired_bootstrap_over_days(flights) -> None:
    r, saved = flights
    held_out = pd.Timestamp(r["held_out_from"])
    lead = r["prediction_lead_days"]

    def per_day(k: int, held: bool) -> pd.DataFrame:
        days = day_costs(saved, "cadence", lead_days=lead, cadence_days=k)
        return days[(days.index >= held_out) == held]

    def bootstrap(a: pd.DataFrame, b: pd.DataFrame, fixed: float, seed: int) -> tuple[float, float]:
        rng = np.random.default_rng(seed)
        diff, rows = (a["cost"] - b["cost"]).to_numpy(), a["rows"].to_numpy()
        reps = [1000 * diff[i].sum() / rows[i].sum() + fixed for i in rng.integers(0, len(rows), (4000, len(rows)))]
        return tuple(np.quantile(reps, [0.05, 0.95]))

    ks = r["cadences"]
    chosen, best = r["chosen_cadence"], r["best_total_cadence"]
    train = {k: t - e for k, t, e in zip(ks, r["choose_total_per_1000"], r["choose_errors_per_1000"])}
    lo, hi = bootstrap(per_day(chosen, False), per_day(best, False), train[chosen] - train[best], seed=11)
    if chosen != best:
        width = hi - lo
        assert abs(r["chosen_vs_best_lo"] - lo) < 0.1 * width and abs(r["chosen_vs_best_hi"] - hi) < 0.1 * width
    fewest = r["fewest_runs_cadence"]
    held_train = {k: t - 1000 * per_day(k, True)["cost"].sum() / per_day(k, True)["rows"].sum()
                  for k, t in zip(ks, r["held_out_total_per_1000"])}
    lo, hi = bootstrap(per_day(fewest, True), per_day(chosen, True), held_train[fewest] - held_train[chosen], seed=12)
    width = hi - lo
    assert abs(r["held_out_saving_vs_fewest_runs_lo"] - lo) < 0.1 * width
    assert abs(r["held_out_saving_vs_fewest_runs_hi"] - hi) < 0.1 * width
    freshest = day_costs(saved, "freshness", lead_days=lead, age_days=0)
    for age, value in zip([a for a in r["freshness_ages"] if a], r["freshness_vs_freshest"]):
        older = day_costs(saved, "freshness", lead_days=lead, age_days=age)
        assert value == pytest.approx(1000 * (older["cost"] - freshest["cost"]).sum() / freshest["rows"].sum())
    at_departure = day_costs(saved, "freshness", lead_days=0, age_days=0)
    assert r["lead_price"] == pytest.approx(1000 * (freshest["cost"] - at_departure["cost"]).sum() / freshest["rows"].sum())


def test_the_held_out_days_play_no_part_in_the_choice(flights, permuted) -> None:
    r, _ = flights
    judged = {"held_out_total_per_1000", "held_out_saving_vs_fewest_runs", "held_out_saving_vs_fewest_runs_lo",
              "held_out_saving_vs_fewest_runs_hi", "monthly_positive_rate_min", "monthly_positive_rate_max",
              "stateless_seconds_per_update", "stateful_seconds_per_update", "decision"}
    assert set(r) == set(permuted)
    for key in set(r) - judged:
        assert permuted[key] == r[key], key
    assert permuted["decision"]["choice"] == r["decision"]["choice"]
    assert permuted["held_out_total_per_1000"] != r["held_out_total_per_1000"], "the held-out days did change"


def test_a_costlier_training_run_moves_the_choice_to_fewer_runs(flights, costly) -> None:
    r, c = flights[0], costly[0]
    assert c["train_cost"] == COSTLY and c["choose_errors_per_1000"] == r["choose_errors_per_1000"]
    runs = dict(zip(r["cadences"], r["choose_runs"]))
    assert runs[c["chosen_cadence"]] < runs[r["chosen_cadence"]], (r["chosen_cadence"], c["chosen_cadence"])
    assert "case.yaml costs.retrain" in " ".join(r["decision"]["evidence"])
    assert "parameter train_cost" in " ".join(c["decision"]["evidence"])


def test_stateful_updates_read_the_new_days_only_and_the_style_follows_its_interval(flights) -> None:
    r, _ = flights
    p = defaults()
    assert r["stateful_rows_per_update"] == p["compare_cadence"] * r["rows_per_day_sampled"]
    assert r["stateless_rows_per_update"] == p["window_days"] * r["rows_per_day_sampled"]
    assert r["stateful_final_trees"] == p["trees"] + p["update_trees"] * (r["cadence_runs"][r["cadences"].index(7)] - 1)
    assert r["stateful_minus_stateless"] == pytest.approx(r["stateful_cost_per_1000"] - r["stateless_cost_per_1000"])
    assert r["chosen_style"] == ("stateful" if r["stateful_minus_stateless_hi"] < 0 else "stateless")


def test_a_case_without_day_level_time_or_a_training_price_is_refused_with_a_reason(tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match="does not support 04_retraining"):
        plan_run(NOTEBOOK, {"case": "census"}, runs_dir=tmp_path)  # survey years, refused before a kernel starts
    rng = np.random.default_rng(0)
    n = 4000
    yearly = pd.DataFrame({"when": pd.to_datetime([f"{y}-01-01" for y in rng.integers(2015, 2019, n)]),
                           "x": rng.normal(size=n), "label": rng.integers(0, 2, n)})
    spec = {"title": "Yearly", "question": "?", "task": "binary", "target": "label", "positive_class": 1,
            "time_column": "when", "features": {"x": "numeric"}, "identifiers": [], "sensitive": [],
            "text_column": None, "leaky": [], "costs": {"unit": "USD", "false_positive": 1, "false_negative": 1,
                                                         "retrain": 1}, "label_delay_days": 365, "slices": []}
    folder = write_case(tmp_path / "yearly", yearly, spec)
    with pytest.raises(ParameterError, match=r"needs at least 60 distinct days .* case 'yearly' has 4 "):
        plan_run(NOTEBOOK, {"case": str(folder)}, runs_dir=tmp_path / "runs")  # the notebook's min_days
    out = tmp_path / "yearly.ipynb"  # plain papermill skips the runner's check: the notebook refuses on its own
    proc = subprocess.run([sys.executable, "-m", "papermill", str(REPO / "notebooks" / f"{NOTEBOOK}.ipynb"), str(out),
                           "-p", "case", str(folder), "--cwd", str(tmp_path)], capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode != 0
    assert "has rows on only 4 of the 1,097 days" in proc.stderr and "day-level" in proc.stderr
    unpriced = make_case(tmp_path / "unpriced", n=24 * 90, notebooks=[NOTEBOOK])
    with pytest.raises(ParameterError, match=r"'train_cost': None needs the case to declare `costs.retrain`"):
        plan_run(NOTEBOOK, {"case": str(unpriced)}, runs_dir=tmp_path / "runs")
    result = execute(plan_run(NOTEBOOK, {"case": str(unpriced), "train_cost": 2.5}, runs_dir=tmp_path / "runs"))
    assert result.ok, result.error  # a price given as a parameter is enough


def test_runs_with_defaults_on_a_case_at_the_declared_minimum(tmp_path: Path) -> None:
    x, positive = at_declared_minimum(NOTEBOOK, seed=5)
    df = pd.DataFrame({"when": pd.date_range("2024-01-01", periods=len(x), freq="h"), "x": x,  # hourly: n / 24 days
                       "label": positive.astype(int)})
    spec = {"title": "Minimum", "question": "?", "task": "binary", "target": "label", "positive_class": 1,
            "time_column": "when", "features": {"x": "numeric"}, "identifiers": [], "sensitive": [],
            "text_column": None, "leaky": [], "costs": {"unit": "USD", "false_positive": 1, "false_negative": 5,
                                                         "retrain": 1}, "label_delay_days": None, "slices": []}
    r, _ = run({"case": str(write_case(tmp_path / "minimum", df, spec))}, tmp_path / "runs")
    assert r["chosen_cadence"] in r["cadences"] and r["decision"]["choice"]
    assert r["prediction_lead_days"] == 0 and "compare_total_per_1000" not in r, "no lead: nothing to compare"


def test_is_deterministic_and_runs_under_plain_papermill(blocks, tmp_path: Path) -> None:
    folder, first, _ = blocks
    out = tmp_path / "out.ipynb"
    proc = subprocess.run(
        [sys.executable, "-m", "papermill", str(REPO / "notebooks" / f"{NOTEBOOK}.ipynb"), str(out),
         "-y", yaml.safe_dump({"case": str(folder), **BLOCKS}), "--cwd", str(tmp_path)],
        capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    again = read_records(read_notebook(out))

    def steady(records: dict) -> dict:  # everything but measured seconds
        return {k: v for k, v in records.items() if not k.endswith("_seconds_per_update")}

    assert steady(again) == steady(first), "same parameters and seed, same results"
