"""Notebook 07_pipelines: execute it and check what it recorded.

Window counts are recounted here from the raw parquet with numpy's searchsorted (not the as-of
joins of the library), and every ROC-AUC and cost from the scores the notebook saved, with
scikit-learn and the raw labels. A synthetic case with a known truth shows the decision following
the evidence, and a run with shuffled test labels shows that no choice looks at them.
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
from sklearn.metrics import roc_auc_score

from tests.helpers import REPO, raw_case, shared_run
from workbench.fileio import sha256_file
from workbench.runner.notebooks import read_notebook, read_records

pytestmark = pytest.mark.notebook

NOTEBOOK = "07_pipelines"
BUGS = ["float32", "unit", "stale_cache", "fill", "category_codes", "timezone"]
QUICK = {"max_train_rows": 5000, "trees": 20, "serve_rows": 400, "format_rows": 2000, "format_repeats": 1,
         "n_boot": 50, "auc_rows": 2000}
TIMED = ("format_read_median_s", "format_one_period_min_s", "best_format")  # measured seconds: not reproducible


def defaults() -> dict:
    """The notebook's default parameters, read from its parameters cell with ast (not the library)."""
    import ast
    import json

    nb = json.loads((REPO / "notebooks" / f"{NOTEBOOK}.ipynb").read_text())
    cell = next(c for c in nb["cells"] if "parameters" in c["metadata"].get("tags", []))
    return {n.targets[0].id: ast.literal_eval(n.value) for n in ast.parse("".join(cell["source"])).body}


def run(tmp: Path, case: str, **params) -> tuple[dict, Path]:
    result = shared_run(NOTEBOOK, {"case": case, **params})
    assert result.ok, result.error
    return result.results, result.run.folder


def regimes_case(folder: Path, *, lead_days: float, seed: int = 0) -> Path:
    """Rows every 30 minutes over 120 days in four groups; each group's positive rate switches between
    10% and 70% about every 5 days. Only a group's recent rate predicts: fresh labels are worth a lot,
    labels a month old nothing."""
    rng = np.random.default_rng(seed)
    when = pd.date_range("2024-01-01", periods=120 * 48, freq="30min")
    group = rng.choice(list("abcd"), len(when))
    day = (when - when[0]).days.to_numpy()
    high = {g: np.cumsum(rng.random(120) < 0.2) % 2 == 1 for g in "abcd"}
    p = np.where([high[g][d] for g, d in zip(group, day)], 0.7, 0.1)
    df = pd.DataFrame({"when": when, "group": group, "noise": rng.normal(size=len(when)),
                       "label": np.where(rng.random(len(when)) < p, "yes", "no")})
    folder.mkdir(parents=True, exist_ok=True)
    df.to_parquet(folder / "data.parquet", index=False)
    spec = {"id": folder.name, "title": "Regimes", "question": "Is it yes?", "data": "data.parquet",
            "sha256": sha256_file(folder / "data.parquet"), "task": "binary", "target": "label",
            "positive_class": "yes", "time_column": "when", "features": {"group": "categorical", "noise": "numeric"},
            "identifiers": [], "sensitive": [], "text_column": None, "leaky": [],
            "costs": {"unit": "USD", "false_positive": 1, "false_negative": 2},
            "label_delay_days": 0.02, "prediction_lead_days": lead_days, "slices": [], "notebooks": [NOTEBOOK]}
    (folder / "case.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    return folder


@pytest.fixture(scope="module")
def flights(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path]:
    return run(tmp_path_factory.mktemp("runs"), "flights")


@pytest.fixture(scope="module")
def regimes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[dict, Path]]:
    """Runs on the known-truth case, predicted at the row's time and a month ahead: (results, case folder)."""
    tmp = tmp_path_factory.mktemp("regimes")
    out = {}
    for name, lead in (("fresh", 0), ("stale", 30)):
        folder = regimes_case(tmp / name, lead_days=lead)
        out[name] = (run(tmp / "runs", str(folder), window_days=2)[0], folder)
    return out


def split_sizes(times: np.ndarray, test_share: float, valid_share: float) -> tuple[int, int, int]:
    """Training, validation and test rows: the latest share of rows by time, ties on the later side."""
    n = len(times)
    test = times >= np.sort(times)[n - math.ceil(test_share * n)]
    rest = np.sort(times[~test])
    valid = rest >= rest[len(rest) - math.ceil(valid_share / (1 - test_share) * len(rest))]
    return int(len(rest) - valid.sum()), int(valid.sum()), int(test.sum())


def counts(available: np.ndarray, asked: np.ndarray, groups: np.ndarray, window: np.timedelta64) -> np.ndarray:
    """Per row: the events of its group available in (asked - window, asked], by sorted search per group."""
    out = np.zeros(len(asked), dtype=np.int64)
    for g in np.unique(groups):
        sel = groups == g
        a = np.sort(available[sel])
        out[sel] = np.searchsorted(a, asked[sel], "right") - np.searchsorted(a, asked[sel] - window, "right")
    return out


def groups_of(df: pd.DataFrame, columns: list[str]) -> np.ndarray:
    if not columns:
        return np.zeros(len(df), dtype=np.int64)
    return pd.factorize(pd.MultiIndex.from_frame(df[columns].astype(str)))[0]


def saved(flights: tuple[dict, Path], file: str) -> tuple[dict, pd.DataFrame, np.ndarray, tuple[float, float, float]]:
    """The run's records, one of the score tables it saved, the raw labels of its rows, and (threshold, c_fp, c_fn)."""
    r, folder = flights
    spec, _, y = raw_case("flights")
    c_fp, c_fn = spec["costs"]["false_positive"], spec["costs"]["false_negative"]
    scores = pd.read_parquet(folder / file)
    assert (scores["label"].to_numpy() == y[scores["row"]]).all(), "the saved labels are the raw data's"
    return r, scores, y[scores["row"]], (c_fp / (c_fp + c_fn), c_fp, c_fn)


def row_costs(y: np.ndarray, p: np.ndarray, t: float, c_fp: float, c_fn: float) -> np.ndarray:
    flag = p >= t
    return np.where(flag & ~y, c_fp, 0.0) + np.where(~flag & y, c_fn, 0.0)


def test_splits_and_window_counts_match_an_independent_recount(flights) -> None:
    r, _ = flights
    spec, df, y = raw_case("flights")
    p = defaults()
    times = df[spec["time_column"]].to_numpy()
    sizes = split_sizes(times, p["test_share"], p["valid_share"])
    assert (r["n_rows"], r["n_train"], r["n_valid"], r["n_test"]) == (len(df), *sizes)
    assert r["lead_days"] == spec["prediction_lead_days"] and r["delay_days"] == spec["label_delay_days"]
    assert r["window_days"] == 7
    day = np.timedelta64(1, "D")
    lead, delay, window = r["lead_days"] * day, r["delay_days"] * day, 7 * day
    calendar = times.astype("datetime64[D]").astype("datetime64[ns]")
    for name, columns in r["features"].items():
        g = groups_of(df, columns)
        pit = counts(times + delay, times - lead, g, window)  # available by the prediction time (lead > 0)
        naive = counts(calendar, calendar, g, window)  # the 7 calendar days up to and including the row's own
        assert r["pit_mean_events"][name] == pytest.approx(pit.mean(), rel=1e-12), name
        assert r["naive_mean_events"][name] == pytest.approx(naive.mean(), rel=1e-12), name
        assert r["pit_empty_share"][name] == pytest.approx((pit == 0).mean(), rel=1e-12), name
        assert (naive >= 1).all() and naive.mean() > pit.mean(), "the naive window holds the row and its day"
    assert r["stream_agrees"] and r["stream_rows"] == min(2000, r["n_valid"])


def test_saved_scores_reproduce_the_recorded_aucs_costs_and_overstatement(flights) -> None:
    r, test, yt, (t, c_fp, c_fn) = saved(flights, "test_scores.parquet")
    assert r["threshold"] == pytest.approx(t) and len(test) == r["n_test"]
    for option, slug in (("base", "base"), ("naive, offline", "naive_offline"), ("naive, served", "naive_served"),
                         ("point in time", "point_in_time")):
        assert r[f"{slug}_test_roc_auc"] == pytest.approx(roc_auc_score(yt, test[option]), abs=1e-9), option
        cost = 1000 * row_costs(yt, test[option].to_numpy(), t, c_fp, c_fn).mean()
        assert r[f"{slug}_test_cost"] == pytest.approx(cost, rel=1e-9), option
        assert r[f"{slug}_test_cost_lo"] < cost < r[f"{slug}_test_cost_hi"]
    assert r["naive_offline_test_roc_auc"] > r["naive_served_test_roc_auc"] + 0.03, "the naive join overstates"
    assert r["cost_understatement"] == pytest.approx(r["naive_served_test_cost"] - r["naive_offline_test_cost"], rel=1e-9)
    assert 0 < r["cost_understatement_lo"] < r["cost_understatement"] < r["cost_understatement_hi"]
    n_auc = min(10_000, r["n_test"])
    sub = np.sort(np.random.default_rng(defaults()["seed"]).choice(r["n_test"], n_auc, replace=False))
    offline, served = test["naive, offline"].to_numpy()[sub], test["naive, served"].to_numpy()[sub]
    over = roc_auc_score(yt[sub], offline) - roc_auc_score(yt[sub], served)
    assert r["auc_overstatement"] == pytest.approx(over, abs=1e-9)
    assert r["auc_overstatement_lo"] < over < r["auc_overstatement_hi"]


def test_the_choices_follow_the_validation_evidence(flights) -> None:
    r, valid, yv, (t, c_fp, c_fn) = saved(flights, "valid_scores.parquet")
    diff = 1000 * (row_costs(yv, valid["point in time"].to_numpy(), t, c_fp, c_fn)
                   - row_costs(yv, valid["base"].to_numpy(), t, c_fp, c_fn))
    assert r["pit_vs_base_valid_cost"] == pytest.approx(diff.mean(), rel=1e-9)
    half = 1.645 * diff.std(ddof=1) / math.sqrt(len(diff))  # a normal-theory 90% interval as a cross-check
    assert r["pit_vs_base_valid_cost_lo"] == pytest.approx(diff.mean() - half, abs=0.25 * half)
    assert r["pit_vs_base_valid_cost_hi"] == pytest.approx(diff.mean() + half, abs=0.25 * half)
    assert r["ship_window_features"] == (r["pit_vs_base_valid_cost_hi"] < 0)
    assert r["freshness_applies"] and r["cadences"][0] == "every event (stream)"
    assert r["cadence_hours"] == [0.0, *sorted(defaults()["refresh_hours"])]
    stream = valid["point in time"].to_numpy()
    for name, cost in zip(r["cadences"], r["cadence_valid_cost"]):
        p = stream if name == r["cadences"][0] else valid[f"cadence {name}"].to_numpy()
        assert cost == pytest.approx(1000 * row_costs(yv, p, t, c_fp, c_fn).mean(), rel=1e-9), name
    ok = [h for h, lo in zip(r["cadence_hours"], r["cadence_valid_vs_stream_lo"]) if lo <= 0]
    assert r["chosen_cadence"] == r["cadences"][r["cadence_hours"].index(max(ok))]
    hours = r["cadence_hours"][r["cadences"].index(r["chosen_cadence"])]
    choice = r["decision"]["choice"]
    assert (f"refreshed {r['chosen_cadence']}" in choice) if hours else ("as a stream" in choice)
    assert ("ship the window features" in choice) == r["ship_window_features"]
    groups = 1 + sum(len(np.unique(groups_of(raw_case("flights")[1], k))) for k in list(r["features"].values())[1:])
    assert r["cadence_updates_per_day"][1:] == pytest.approx([24 / h * groups for h in r["cadence_hours"][1:]])


def test_every_bug_that_changes_a_feature_is_caught_row_wise_and_its_cost_adds_up(flights) -> None:
    r, scores, ys, (t, c_fp, c_fn) = saved(flights, "skew_scores.parquet")
    valid = pd.read_parquet(flights[1] / "valid_scores.parquet")["row"].to_numpy()
    assert len(scores) == r["skew_requests"] and set(scores["row"]) <= set(valid), "served requests are validation rows"
    expected = scores["expected"].to_numpy()
    skew = r["skew"]
    assert set(skew) == {"none (clean)", *BUGS}
    clean = skew["none (clean)"]
    assert clean["rowwise_at"] is None and clean["distribution_at"] is None and clean["rows_changed"] == 0
    assert np.array_equal(scores["none (clean)"], expected), "the clean serving path scores exactly as training"
    for bug in BUGS:
        s = skew[bug]
        assert (s["rowwise_at"] is not None) == (s["changed"] != "-") == (s["rows_changed"] > 0), bug
        if s["distribution_at"] is not None:
            assert s["rowwise_at"] is not None and s["rowwise_at"] <= s["distribution_at"], bug
            assert s["distribution_at"] % r["skew_window"] == 0
        served = scores[bug].to_numpy()
        extra = row_costs(ys, served, t, c_fp, c_fn) - row_costs(ys, expected, t, c_fp, c_fn)
        assert s["flipped_per_1000"] == pytest.approx(1000 * np.mean((served >= t) != (expected >= t)), abs=1e-9)
        assert s["extra_cost_per_1000"] == pytest.approx(1000 * extra.mean(), abs=1e-9)
        for col, at in (("cost_until_rowwise", s["rowwise_at"]), ("cost_until_distribution", s["distribution_at"])):
            assert s[col] == pytest.approx(extra[: (at or len(extra) + 1) - 1].sum(), abs=1e-9), (bug, col)
    for bug in ("unit", "category_codes", "timezone", "stale_cache", "float32"):  # always exercised on flights
        assert skew[bug]["rowwise_at"] == 1, bug


def test_formats_are_written_to_the_run_folder_and_the_choice_is_the_fastest_period_read(flights) -> None:
    r, folder = flights
    _, df, _ = raw_case("flights")
    n = r["format_rows"]
    assert n == min(30_000, len(df))
    sample = df.sample(n, random_state=defaults()["seed"])
    want = sample["sched_dep"].dt.strftime("%Y-%m").value_counts().sort_index()
    parts = folder / "formats" / "data_by_period"
    got = pd.Series({p.name.split("=")[1]: pd.read_parquet(p).shape[0] for p in sorted(parts.iterdir())})
    assert got.to_dict() == want.to_dict()
    assert r["format_bytes"]["parquet"] == (folder / "formats" / "data.parquet").stat().st_size
    assert r["format_bytes"]["parquet"] < r["format_bytes"]["csv"] < r["format_bytes"]["jsonl"]
    assert not (folder / "formats" / "data.csv").exists(), "the text copies are removed once measured"
    fastest = r["format_one_period_min_s"]
    assert r["best_format"] == min(fastest, key=fastest.get)


def test_the_decision_follows_a_known_truth(regimes) -> None:
    fresh, _ = regimes["fresh"]
    stale, _ = regimes["stale"]
    assert fresh["lead_days"] == 0 and stale["lead_days"] == 30
    assert fresh["ship_window_features"] and not stale["ship_window_features"], "recent rates predict only when fresh"
    assert fresh["pit_vs_base_valid_cost_hi"] < 0 <= stale["pit_vs_base_valid_cost_hi"]
    assert "ship the window features" in fresh["decision"]["choice"]
    assert "do not ship window features" in stale["decision"]["choice"]
    hours = dict(zip(fresh["cadences"], fresh["cadence_hours"]))
    weekly = fresh["cadence_valid_vs_stream_lo"][fresh["cadences"].index("every 168 h")]
    assert weekly > 0, "a week-old rate misses regimes that last days"
    assert hours[fresh["chosen_cadence"]] < 168
    assert fresh["cadences"] == ["every event (stream)", "every 1 h", "every 24 h", "every 168 h"]


def test_census_runs_the_parts_that_apply_and_refuses_freshness(tmp_path: Path) -> None:
    r, _ = run(tmp_path, "census", **QUICK)
    assert r["window_days"] == 365 and r["lead_days"] == 0 and r["delay_days"] == 365
    assert not r["freshness_applies"] and r["chosen_cadence"] is None
    assert "once per time step of the data (365 days)" in r["decision"]["choice"]
    assert r["stream_agrees"] and r["skew"]["none (clean)"]["rowwise_at"] is None
    _, df, _ = raw_case("census")
    assert r["pit_empty_share"]["rate_all"] == pytest.approx((df["survey_year"].dt.year == 2015).mean()), \
        "the first survey year has no earlier labels"


def test_no_choice_looks_at_test_labels(tmp_path: Path) -> None:
    plain, _ = run(tmp_path, "flights", **QUICK)
    shuffled, _ = run(tmp_path, "flights", permute_test_labels=True, **QUICK)
    assert shuffled["decision"]["choice"] == plain["decision"]["choice"]
    for key in ("features", "skew", "pit_vs_base_valid_cost", "pit_vs_base_valid_cost_lo", "pit_vs_base_valid_cost_hi",
                "cadence_valid_cost", "cadence_valid_vs_stream_lo", "cadence_valid_vs_stream_hi", "chosen_cadence",
                "ship_window_features", "base_valid_roc_auc", "point_in_time_valid_roc_auc"):
        assert shuffled[key] == plain[key], key
    assert abs(shuffled["naive_served_test_roc_auc"] - 0.5) < 0.02, "the shuffled test labels were used for reporting"
    assert plain["naive_served_test_roc_auc"] > 0.55


def test_is_deterministic_and_runs_under_plain_papermill(regimes, tmp_path: Path) -> None:
    first, case_folder = regimes["fresh"]
    out = tmp_path / "out.ipynb"
    proc = subprocess.run(
        [sys.executable, "-m", "papermill", str(REPO / "notebooks" / f"{NOTEBOOK}.ipynb"), str(out),
         "-y", yaml.safe_dump({"case": str(case_folder), "window_days": 2}), "--cwd", str(tmp_path)],
        capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    again = read_records(read_notebook(out))

    def steady(records: dict) -> dict:  # everything but measured seconds
        decision = dict(records["decision"], evidence=[e for e in records["decision"]["evidence"] if " ms" not in e])
        return {**{k: v for k, v in records.items() if k not in TIMED}, "decision": decision}

    assert steady(again) == steady(first), "same parameters and seed, same results"
