"""Notebook 03_metrics: execute it with parameters and check what it recorded.

Counts, rates and costs are recomputed here from the raw parquet files with pandas; the models,
thresholds, calibrators, cross-fitted choices, ECE, Brier scores and paired intervals from the
saved scores with scikit-learn and a bootstrap and brute-force threshold search written here, not
through the workbench library.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import average_precision_score, brier_score_loss, confusion_matrix, roc_auc_score

from tests.helpers import REPO, case_with_permuted_test_labels, make_case, raw_case, run_with_predictions
from workbench.runner.notebooks import read_notebook, read_records

pytestmark = pytest.mark.notebook

CASES = ("lending", "flights", "reviews", "census")
SMALL = ("lending", "reviews")  # small enough for brute-force searches and bootstraps written in Python
RATES = [0.01, 0.02, 0.05, 0.1, 0.2, 0.5]
REMEDIES = ["none", "class_weight", "undersample", "oversample"]
CALIBRATIONS = ["none", "sigmoid", "isotonic"]


def run(case: str | Path, runs: Path, **params) -> tuple[dict, pd.DataFrame]:
    return run_with_predictions("03_metrics", case, runs, **params)


@pytest.fixture(scope="module")
def runs03(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[dict, pd.DataFrame]]:
    """Each supported case with the notebook's defaults: (recorded results, saved scores)."""
    runs = tmp_path_factory.mktemp("runs")
    return {case_id: run(case_id, runs) for case_id in CASES}


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


# --- independent reference implementations ---------------------------------------------------

def costs(case_id: str) -> tuple[float, float]:
    spec, _, _ = raw_case(case_id)
    return spec["costs"]["false_positive"], spec["costs"]["false_negative"]


def cost_per_1000(y: np.ndarray, pred: np.ndarray, c_fp: float, c_fn: float) -> float:
    _, fp, fn, _ = confusion_matrix(y, pred, labels=[0, 1]).ravel()
    return 1000 * (fp * c_fp + fn * c_fn) / len(y)


def row_costs(y: np.ndarray, pred: np.ndarray, c_fp: float, c_fn: float) -> np.ndarray:
    return 1000.0 * (np.where(pred & (y == 0), c_fp, 0) + np.where(~pred & (y == 1), c_fn, 0))


def brute_threshold(y: np.ndarray, s: np.ndarray, objective) -> float:
    """The candidate threshold (every distinct score, and +inf) with the lowest objective(pred); ties to the higher one."""
    candidates = np.r_[np.inf, np.unique(s)[::-1]]
    values = [objective(s >= t) for t in candidates]
    return float(candidates[int(np.argmin(values))])


def cost_threshold(y, s, c_fp, c_fn) -> float:
    pos, neg = y == 1, y == 0
    return brute_threshold(y, s, lambda p: c_fp * np.sum(p & neg) + c_fn * np.sum(~p & pos))


def f1_threshold(y, s) -> float:
    pos = y == 1
    return brute_threshold(y, s, lambda p: -2 * np.sum(p & pos) / max(1, np.sum(p) + np.sum(pos)))


def folds(y: np.ndarray, k: int, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    from sklearn.model_selection import StratifiedKFold

    return list(StratifiedKFold(n_splits=k, shuffle=True, random_state=seed).split(np.zeros(len(y)), y))


def calibrator(score: np.ndarray, y: np.ndarray, method: str):
    from sklearn.isotonic import IsotonicRegression
    from sklearn.linear_model import LogisticRegression

    if method == "none":
        return lambda s: np.asarray(s, dtype=float)
    if method == "isotonic":
        return IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(score, y).predict

    def logit(s):
        s = np.clip(s, 1e-6, 1 - 1e-6)
        return np.log(s / (1 - s))[:, None]

    platt = LogisticRegression(C=1e6, max_iter=1000).fit(logit(score), y)
    return lambda s: platt.predict_proba(logit(s))[:, 1]


def ece(y: np.ndarray, p: np.ndarray) -> float:
    b = np.minimum((p * 10).astype(int), 9)
    return sum(abs(np.sum(y[b == k] - p[b == k])) for k in range(10)) / len(y)


def bootstrap(n: int, statistic, n_boot: int = 2000, seed: int = 123) -> tuple[float, float]:
    rng = np.random.default_rng(seed)
    values = [statistic(rng.integers(0, n, n)) for _ in range(n_boot)]
    return tuple(np.quantile(values, [0.05, 0.95]))


def assert_interval(recorded: list | tuple, value: float, ref: tuple[float, float]) -> None:
    v, lo, hi = recorded
    assert v == pytest.approx(value, rel=1e-9, abs=1e-12)
    tol = 0.15 * max(ref[1] - ref[0], 1e-12)
    assert abs(lo - ref[0]) <= tol and abs(hi - ref[1]) <= tol, (recorded, ref)


def simplest_wins(gaps: dict, order: list[str], best: str, per_row: dict[str, np.ndarray]) -> str:
    """Check each recorded gap (option minus best, per row, with its interval) and return the simplest
    option in `order` whose interval reaches 0 or below."""
    for option, recorded in gaps.items():
        diff = per_row[option] - per_row[best]
        assert_interval(recorded, diff.mean(), bootstrap(len(diff), lambda i, d=diff: d[i].mean()))
    return next(x for x in order if x == best or gaps[x][1] <= 0)


def parts(case_id: str, preds: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray, pd.DataFrame, np.ndarray]:
    _, _, y = raw_case(case_id)
    val, test = preds[preds["part"] == "validation"], preds[preds["part"] == "test"]
    return val, y[val["rows"].to_numpy()].astype(int), test, y[test["rows"].to_numpy()].astype(int)


# --- tests ------------------------------------------------------------------------------------

@pytest.mark.parametrize("case_id", CASES)
def test_split_counts_and_costs_match_an_independent_recomputation(runs03, case_id: str) -> None:
    r, preds = runs03[case_id]
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
        np.testing.assert_array_equal(preds.loc[preds["part"] == "test", "rows"], np.flatnonzero(test))
    else:
        assert r["n_test"] == n_test and abs(r["test_positives"] - y.mean() * n_test) <= 1, "stratified"
        assert r["n_fit"] == r["n_val"] == min(20000, n - n_test), "validated out of fold on every training row"
    c_fp, c_fn = spec["costs"]["false_positive"], spec["costs"]["false_negative"]
    assert (r["cost_fp"], r["cost_fn"]) == (c_fp, c_fn)
    assert r["threshold_bayes"] == pytest.approx(c_fp / (c_fp + c_fn))
    assert r["test_rate"] == pytest.approx(r["test_positives"] / r["n_test"])
    assert r["flag_nothing_cost"] == pytest.approx(1000 * r["test_positives"] * c_fn / r["n_test"])


def test_the_saved_scores_are_reproduced_by_logistic_regressions_fitted_here(runs03) -> None:
    """lending: one preprocessor fitted on the training rows, liblinear per remedy, 5-fold out-of-fold scores."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

    r, preds = runs03["lending"]
    spec, df, y = raw_case("lending")
    val, _, test, _ = parts("lending", preds)
    numeric = [c for c, k in spec["features"].items() if k == "numeric"]
    categorical = [c for c, k in spec["features"].items() if k == "categorical"]
    as_text = FunctionTransformer(lambda X: X.astype("string").fillna("(missing)").astype(object))
    features = ColumnTransformer([
        ("n", Pipeline([("i", SimpleImputer(strategy="median")), ("s", StandardScaler())]), numeric),
        ("c", Pipeline([("s", as_text), ("e", OneHotEncoder(handle_unknown="infrequent_if_exist", min_frequency=20))]),
         categorical)], sparse_threshold=0.3)
    train = df.iloc[val["rows"].to_numpy()]  # validated out of fold: the training rows are the validation rows
    X, yy = features.fit_transform(train), y[val["rows"].to_numpy()].astype(int)
    X_test = features.transform(df.iloc[test["rows"].to_numpy()])
    for remedy, weight in (("none", None), ("class_weight", "balanced")):
        def model(weight=weight):
            return LogisticRegression(C=1.0, class_weight=weight, solver="liblinear", random_state=0)

        np.testing.assert_allclose(test[f"score_{remedy}"], model().fit(X, yy).predict_proba(X_test)[:, 1], atol=1e-9)
        oof = np.zeros(len(yy))
        for inner, outer in folds(yy, 5):
            oof[outer] = model().fit(X[inner], yy[inner]).predict_proba(X[outer])[:, 1]
        np.testing.assert_allclose(val[f"score_{remedy}"], oof, atol=1e-9)


@pytest.mark.parametrize("case_id", SMALL)
def test_the_remedy_is_chosen_on_cross_fitted_validation_costs(runs03, case_id: str) -> None:
    r, preds = runs03[case_id]
    c_fp, c_fn = costs(case_id)
    val, y_val, test, y_test = parts(case_id, preds)
    halves = folds(y_val, 2)
    decisions = {}
    for remedy in REMEDIES:
        s = val[f"score_{remedy}"].to_numpy()
        d = np.zeros(len(s), dtype=bool)
        for other, this in halves:
            d[this] = s[this] >= cost_threshold(y_val[other], s[other], c_fp, c_fn)
        decisions[remedy] = d
        assert r["remedy_val_costs"][remedy] == pytest.approx(cost_per_1000(y_val, d, c_fp, c_fn), rel=1e-12)
        t = cost_threshold(y_val, s, c_fp, c_fn)  # the remedy's own threshold, on all validation rows
        assert r["remedy_thresholds"][remedy] == pytest.approx(t)
        s_test = test[f"score_{remedy}"].to_numpy()
        assert r["remedy_costs"][remedy] == pytest.approx(cost_per_1000(y_test, s_test >= t, c_fp, c_fn), rel=1e-12)
        assert r["remedy_costs_at_05"][remedy] == pytest.approx(cost_per_1000(y_test, s_test >= 0.5, c_fp, c_fn))
    cheapest = min(REMEDIES, key=r["remedy_val_costs"].get)
    assert r["remedy_val_cheapest"] == cheapest
    per_row = {x: row_costs(y_val, d, c_fp, c_fn) for x, d in decisions.items()}
    assert r["remedy_chosen"] == r["remedy"] == simplest_wins(r["remedy_val_gaps"], REMEDIES, cheapest, per_row)


@pytest.mark.parametrize("case_id", SMALL)
def test_the_calibration_is_chosen_on_cross_fitted_validation_brier_scores(runs03, case_id: str) -> None:
    r, preds = runs03[case_id]
    val, y_val, _, _ = parts(case_id, preds)
    s = val[f"score_{r['remedy']}"].to_numpy()
    sq = {}
    for method in CALIBRATIONS:
        p = np.zeros(len(s))
        for other, this in folds(y_val, 2):
            p[this] = calibrator(s[other], y_val[other], method)(s[this])
        sq[method] = (p - y_val) ** 2
        assert r["calibration_val_brier"][method] == pytest.approx(brier_score_loss(y_val, p), rel=1e-9)
    best = min(CALIBRATIONS, key=lambda m: sq[m].mean())
    assert r["calibration_val_best"] == best
    assert r["calibration_chosen"] == r["calibration"] == simplest_wins(r["calibration_val_gaps"], CALIBRATIONS, best, sq)


@pytest.mark.parametrize("case_id", SMALL)
def test_the_deployed_threshold_and_its_test_metrics_match_scikit_learn(runs03, case_id: str) -> None:
    r, preds = runs03[case_id]
    c_fp, c_fn = costs(case_id)
    val, y_val, test, y_test = parts(case_id, preds)
    s_val, s_test = val[f"score_{r['remedy']}"].to_numpy(), test[f"score_{r['remedy']}"].to_numpy()
    f = calibrator(s_val, y_val, r["calibration"])
    p_val, p_test = f(s_val), f(s_test)
    t_cost, t_f1 = cost_threshold(y_val, p_val, c_fp, c_fn), f1_threshold(y_val, p_val)
    assert r["threshold"] == pytest.approx(t_cost) and r["threshold_f1"] == pytest.approx(t_f1)
    for name, t in [("cost_at_threshold", t_cost), ("cost_at_05", 0.5), ("cost_at_f1", t_f1),
                    ("cost_at_bayes", r["threshold_bayes"])]:
        assert r[name] == pytest.approx(cost_per_1000(y_test, p_test >= t, c_fp, c_fn), rel=1e-12), name
    assert r["test_roc_auc"] == pytest.approx(roc_auc_score(y_test, p_test), abs=1e-9)
    assert r["test_pr_auc"] == pytest.approx(average_precision_score(y_test, p_test), abs=1e-9)
    assert r["mean_predicted"] == pytest.approx(p_test.mean(), rel=1e-9)
    assert r["ece_calibrated"] == pytest.approx(ece(y_test, p_test), abs=1e-9)
    assert r["ece_raw"] == pytest.approx(ece(y_test, s_test), abs=1e-9)
    assert r["brier_calibrated"] == pytest.approx(brier_score_loss(y_test, p_test), rel=1e-9)
    assert r["brier_raw"] == pytest.approx(brier_score_loss(y_test, s_test), rel=1e-9)
    for name, t in [("cost_05_minus_optimal", 0.5), ("cost_f1_minus_optimal", t_f1)]:
        diff = row_costs(y_test, p_test >= t, c_fp, c_fn) - row_costs(y_test, p_test >= t_cost, c_fp, c_fn)
        assert_interval([r[name], r[f"{name}_lo"], r[f"{name}_hi"]], diff.mean(),
                        bootstrap(len(diff), lambda i, d=diff: d[i].mean()))
    # the calibration comparison on test rows: ECE of the compared method minus ECE without calibration
    rival = calibrator(s_val, y_val, r["calibration_rival"])(s_test)
    ref = bootstrap(len(y_test), lambda i: ece(y_test[i], rival[i]) - ece(y_test[i], s_test[i]), n_boot=500)
    assert_interval([r["ece_change"], r["ece_change_lo"], r["ece_change_hi"]],
                    ece(y_test, rival) - ece(y_test, s_test), ref)


def test_the_worst_slice_and_the_overall_interval_are_recomputed_from_the_decisions(runs03) -> None:
    r, preds = runs03["lending"]
    spec, df, _ = raw_case("lending")
    c_fp, c_fn = costs("lending")
    val, y_val, test, y_test = parts("lending", preds)
    s_val, s_test = val[f"score_{r['remedy']}"].to_numpy(), test[f"score_{r['remedy']}"].to_numpy()
    flagged = calibrator(s_val, y_val, r["calibration"])(s_test) >= r["threshold"]
    rows = df.iloc[test["rows"].to_numpy()]
    best = (None, -np.inf)
    for s in spec["slices"]:
        col = rows[s["column"]]
        groups = pd.cut(col, s["bins"], right=False).astype(str) if "bins" in s else col.astype(str)
        for g in groups.unique():
            m = (groups == g).to_numpy()
            if m.sum() >= 30:
                cost = cost_per_1000(y_test[m], flagged[m], c_fp, c_fn)
                if cost > best[1]:
                    best = (s["column"], cost)
    assert r["worst_slice"].split(" = ")[0] == best[0] and r["worst_slice_cost"] == pytest.approx(best[1])
    per_row = row_costs(y_test, flagged, c_fp, c_fn)
    assert_interval([r["overall_cost"], r["overall_cost_lo"], r["overall_cost_hi"]], per_row.mean(),
                    bootstrap(len(per_row), lambda i: per_row[i].mean()))


def test_isotonic_probabilities_put_the_tuned_threshold_at_the_break_even_level(runs03) -> None:
    # Isotonic calibration makes each block's probability its observed positive rate, so the
    # cheapest threshold on validation scores is the lowest level at or above c_fp / (c_fp + c_fn).
    isotonic = [r for r, _ in runs03.values() if r["calibration"] == "isotonic"]
    assert isotonic, "some bundled case chooses isotonic calibration on validation rows"
    for r in isotonic:
        assert r["threshold_bayes"] <= r["threshold"] < r["threshold_bayes"] + 0.1


def test_a_dearer_false_negative_lowers_the_threshold(runs03, dearer_misses) -> None:
    base, dear = runs03["lending"][0], dearer_misses
    assert dear["cost_fn"] == 2 * base["cost_fn"] and dear["n_val"] == base["n_val"]
    assert dear["threshold_bayes"] < base["threshold_bayes"]
    assert dear["threshold"] < base["threshold"]
    assert f"{dear['threshold']:.3f}" in dear["decision"]["choice"]


@pytest.mark.parametrize("case_id", CASES)
def test_pr_auc_falls_with_the_positive_rate_while_roc_auc_holds(runs03, case_id: str) -> None:
    r, _ = runs03[case_id]
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
    base, rare = runs03["lending"][0], dearer_misses
    assert rare["test_rate"] == pytest.approx(0.02, abs=0.001) and base["test_rate"] > 0.04
    assert rare["test_pr_auc"] < 0.7 * base["test_pr_auc"]
    assert abs(rare["test_roc_auc"] - base["test_roc_auc"]) < 0.08


DECISION_PARTS = ("threshold", "threshold_f1", "remedy", "remedy_chosen", "remedy_val_costs", "remedy_val_gaps",
                  "remedy_thresholds", "calibration", "calibration_val_brier", "calibration_val_gaps", "primary_metric",
                  "ranking_metric", "monitoring_metrics", "val_mean_gap", "ratio_worth_running")


def test_decision_inputs_come_only_from_training_and_validation_rows(runs03, tmp_path: Path) -> None:
    """flights with its test labels shuffled among the test rows: every choice stays, every test number moves."""
    base, _ = runs03["flights"]
    shuffled, _ = run(case_with_permuted_test_labels("flights", tmp_path / "cases"), tmp_path / "runs")
    for key in DECISION_PARTS:
        assert shuffled[key] == base[key], key
    assert shuffled["test_positives"] == base["test_positives"], "the same labels, shuffled"
    assert shuffled["cost_at_threshold"] != base["cost_at_threshold"]
    assert shuffled["remedy_costs"] != base["remedy_costs"] and shuffled["ece_calibrated"] != base["ece_calibrated"]
    assert abs(shuffled["test_roc_auc"] - 0.5) < 0.02, "shuffled test labels carry no signal"


def test_each_part_of_the_decision_follows_this_runs_evidence(runs03) -> None:
    for case_id in CASES:
        r, _ = runs03[case_id]
        c_fp, c_fn = costs(case_id)
        assert r["primary_metric"] == ("accuracy" if c_fp == c_fn else "cost_per_1000"), case_id
        assert r["ranking_metric"] == ("pr_auc" if r["val_rate"] < 0.2 else "roc_auc"), case_id
        tracks = r["val_mean_gap_lo"] <= 0 <= r["val_mean_gap_hi"]
        matters = r["calibration_val_best"] != "none" and r["calibration_val_gaps"]["none"][1] > 0
        expected = ([r["ranking_metric"]] + (["positive_rate"] if r["ranking_metric"] == "pr_auc" else [])
                    + (["mean_predicted"] if tracks else []) + (["ece"] if matters else []))
        assert r["monitoring_metrics"] == expected, case_id
        assert f"monitor {', '.join(expected)}" in r["decision"]["choice"], case_id
        assert f"remedy: {r['remedy']}, chosen on validation" in r["decision"]["choice"], case_id
    census, lending = runs03["census"][0], runs03["lending"][0]
    assert (census["primary_metric"], census["ranking_metric"]) == ("accuracy", "roc_auc")
    assert (lending["primary_metric"], lending["ranking_metric"]) == ("cost_per_1000", "pr_auc")
    assert "positive_rate" in lending["monitoring_metrics"] and "positive_rate" not in census["monitoring_metrics"]


def test_fixed_remedy_and_calibration_are_stated_as_parameters(tmp_path: Path) -> None:
    r, _ = run("lending", tmp_path, imbalance_remedy="class_weight", calibration="none")
    assert (r["remedy"], r["calibration"]) == ("class_weight", "none")
    choice = r["decision"]["choice"]
    assert "set by the imbalance_remedy parameter" in choice and "set by the calibration parameter" in choice
    assert f"the validation rows would have chosen the {r['remedy_chosen']} remedy" in choice
    # uncalibrated class-weighted scores put the break-even rule far off: it costs more than the tuned threshold
    assert r["cost_bayes_minus_optimal_lo"] > 0


def test_the_notebook_is_committed_clean() -> None:
    nb = json.loads((REPO / "notebooks" / "03_metrics.ipynb").read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert sum("parameters" in c["metadata"].get("tags", []) for c in code) == 1
    for c in code:
        checked = "nbval-check-output" in c["metadata"].get("tags", [])
        assert (c["execution_count"] == 1) if checked else (c["execution_count"] is None and not c["outputs"])


def test_a_case_at_the_declared_minimum_runs_with_the_defaults(tmp_path: Path) -> None:
    meta = json.loads((REPO / "notebooks" / "03_metrics.ipynb").read_text())["metadata"]["workbench"]
    folder = make_case(tmp_path / "cases" / "small", n=meta["min_rows"], notebooks=["03_metrics"])
    df = pd.read_parquet(folder / "data.parquet")
    pos = np.random.default_rng(1).permutation(np.flatnonzero(df["label"] == "yes"))
    df.loc[pos[meta["min_class_rows"]:], "label"] = "no"  # the rarer class at its minimum, spread over time
    df.to_parquet(folder / "data.parquet", index=False)
    text = (folder / "case.yaml").read_text().splitlines()
    (folder / "case.yaml").write_text("\n".join(line for line in text if not line.startswith("sha256")) + "\n")
    r, _ = run(folder, tmp_path / "runs")
    assert r["n_test"] + r["n_val"] + r["n_fit"] == meta["min_rows"] and r["decision"]["choice"]
