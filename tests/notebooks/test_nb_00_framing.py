"""Notebook 00_framing: execute it and check what it recorded against independent recomputations.

Row sets are recomputed from the raw parquet (sort by time, or scikit-learn's stratified split);
every metric from the saved predictions with scikit-learn; the logistic and LightGBM baselines by
fitting scikit-learn and LightGBM directly; paired intervals by a bootstrap written here. None of
it goes through the workbench library, so a bug there cannot confirm itself.
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
from sklearn.metrics import accuracy_score, average_precision_score, confusion_matrix, roc_auc_score

from tests.helpers import REPO, case_with_permuted_test_labels, make_case, raw_case, run_with_predictions
from workbench.runner.notebooks import read_notebook, read_records
from workbench.runner.run import execute, plan_run

pytestmark = pytest.mark.notebook

CASES = ("census", "flights", "lending", "reviews")
LADDER = ["random", "majority", "rule", "logistic", "lightgbm"]
MODELS = ["logistic", "lightgbm"]
TEST_SIZE, VAL_SIZE, AUTO_CAP = 0.25, 0.25, 50_000


def run(case: str | Path, runs: Path, **params) -> tuple[dict, pd.DataFrame]:
    return run_with_predictions("00_framing", case, runs, **params)


@pytest.fixture(scope="module")
def framing(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[dict, pd.DataFrame]]:
    """Every bundled case with the notebook's defaults: (recorded results, saved predictions)."""
    runs = tmp_path_factory.mktemp("runs")
    return {case_id: run(case_id, runs) for case_id in CASES}


def split_rows(case_id: str, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """(fit, validation, test) row positions and the rows available to fit on, recomputed from the raw data."""
    spec, df, y = raw_case(case_id)
    n = len(df)
    if spec.get("time_column"):
        times = df[spec["time_column"]].to_numpy()
        test_mask = times >= np.sort(times)[n - math.ceil(TEST_SIZE * n)]
        rest, test = np.flatnonzero(~test_mask), np.flatnonzero(test_mask)
        rt = times[rest]
        val_mask = rt >= np.sort(rt)[len(rest) - math.ceil(VAL_SIZE * len(rest))]
        val, available = rest[val_mask], rest[~val_mask]
    else:
        from sklearn.model_selection import train_test_split

        rest, test = train_test_split(np.arange(n), test_size=math.ceil(TEST_SIZE * n), random_state=seed, stratify=y)
        rest, test = np.sort(rest), np.sort(test)
        a, v = train_test_split(np.arange(len(rest)), test_size=math.ceil(VAL_SIZE * len(rest)), random_state=seed,
                                stratify=y[rest])
        available, val = rest[np.sort(a)], rest[np.sort(v)]
    fit = available
    if len(available) > AUTO_CAP:
        fit = np.sort(np.random.default_rng(seed).choice(available, size=AUTO_CAP, replace=False))
    return fit, val, test, len(available)


def cost_per_1000(y: np.ndarray, pred: np.ndarray, c_fp: float, c_fn: float) -> float:
    tn, fp, fn, tp = confusion_matrix(y, pred, labels=[0, 1]).ravel()
    return 1000 * (fp * c_fp + fn * c_fn) / len(y)


def row_costs(y: np.ndarray, pred: np.ndarray, c_fp: float, c_fn: float) -> np.ndarray:
    return 1000.0 * (np.where((pred == 1) & (y == 0), c_fp, 0) + np.where((pred == 0) & (y == 1), c_fn, 0))


def bootstrap_mean(values: np.ndarray, n_boot: int = 4000, seed: int = 123) -> tuple[float, float]:
    """A 90% percentile bootstrap interval of a mean, resampling rows one resample at a time."""
    rng = np.random.default_rng(seed)
    means = [values[rng.integers(0, len(values), len(values))].mean() for _ in range(n_boot)]
    return tuple(np.quantile(means, [0.05, 0.95]))


def part(preds: pd.DataFrame, name: str, y: np.ndarray) -> tuple[pd.DataFrame, np.ndarray]:
    rows = preds[preds["part"] == name]
    return rows, y[rows["rows"].to_numpy()].astype(int)


@pytest.mark.parametrize("case_id", CASES)
def test_rows_counts_and_threshold_match_an_independent_split(framing, case_id: str) -> None:
    r, preds = framing[case_id]
    spec, df, y = raw_case(case_id)
    fit, val, test, available = split_rows(case_id)
    np.testing.assert_array_equal(preds.loc[preds["part"] == "validation", "rows"], val)
    np.testing.assert_array_equal(preds.loc[preds["part"] == "test", "rows"], test)
    assert (r["n_fit"], r["n_val"], r["n_test"]) == (len(fit), len(val), len(test))
    assert r["max_train_rows_used"] == min(available, AUTO_CAP)
    assert r["split_kind"] == ("time" if spec.get("time_column") else "random")
    assert r["n_rows"] == len(df) and r["positive_rate"] == pytest.approx(y.mean(), rel=1e-12)
    assert (r["val_positives"], r["test_positives"]) == (y[val].sum(), y[test].sum())
    c_fp, c_fn = spec["costs"]["false_positive"], spec["costs"]["false_negative"]
    assert (r["cost_fp"], r["cost_fn"]) == (c_fp, c_fn) and r["threshold"] == pytest.approx(c_fp / (c_fp + c_fn))


@pytest.mark.parametrize("case_id", CASES)
def test_every_recorded_metric_is_what_scikit_learn_computes_from_the_saved_predictions(framing, case_id: str) -> None:
    r, preds = framing[case_id]
    spec, _, y = raw_case(case_id)
    c_fp, c_fn = spec["costs"]["false_positive"], spec["costs"]["false_negative"]
    (val, y_val), (test, y_test) = part(preds, "validation", y), part(preds, "test", y)
    for name in LADDER:
        s, p = test[f"score_{name}"].to_numpy(), test[f"pred_{name}"].to_numpy()
        assert r[f"{name}_cost_per_1000"] == pytest.approx(cost_per_1000(y_test, p, c_fp, c_fn), rel=1e-12), name
        assert r[f"{name}_accuracy"] == pytest.approx(accuracy_score(y_test, p), rel=1e-12), name
        assert r[f"{name}_roc_auc"] == pytest.approx(roc_auc_score(y_test, s), abs=1e-9), name
        assert r[f"{name}_pr_auc"] == pytest.approx(average_precision_score(y_test, s), abs=1e-9), name
        assert r[f"{name}_val_cost_per_1000"] == pytest.approx(
            cost_per_1000(y_val, val[f"pred_{name}"].to_numpy(), c_fp, c_fn), rel=1e-12), name
    for model in MODELS:  # models decide at c_fp / (c_fp + c_fn)
        np.testing.assert_array_equal(test[f"pred_{model}"], test[f"score_{model}"] >= r["threshold"])


def independent_models(case_id: str, fit: np.ndarray, seed: int = 0, trees: int = 200) -> dict:
    """The logistic and LightGBM baselines built from scikit-learn and LightGBM directly."""
    from lightgbm import LGBMClassifier
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, OrdinalEncoder, StandardScaler

    spec, df, y = raw_case(case_id)
    kinds = {c: k for c, k in spec["features"].items() if c not in spec.get("leaky", [])}
    numeric = [c for c, k in kinds.items() if k == "numeric"]
    categorical = [c for c, k in kinds.items() if k == "categorical"]
    assert all(k in ("numeric", "categorical") for k in kinds.values()), "tabular cases only"
    as_text = FunctionTransformer(lambda X: X.astype("string").fillna("(missing)").astype(object))

    def columns(num, cat) -> ColumnTransformer:
        steps = [("n", num, numeric)] if numeric else []
        return ColumnTransformer(steps + ([("c", Pipeline([("s", as_text), ("e", cat)]), categorical)] if categorical
                                          else []), sparse_threshold=0.3)

    linear = Pipeline([("x", columns(Pipeline([("i", SimpleImputer(strategy="median")), ("s", StandardScaler())]),
                                     OneHotEncoder(handle_unknown="infrequent_if_exist", min_frequency=20))),
                       ("m", LogisticRegression(max_iter=2000, C=1.0))])
    trees_model = Pipeline([("x", columns("passthrough", OrdinalEncoder(handle_unknown="use_encoded_value",
                                                                        unknown_value=-1, min_frequency=20,
                                                                        dtype=float))),
                            ("m", LGBMClassifier(n_estimators=trees, learning_rate=0.05, num_leaves=31,
                                                 min_child_samples=20, subsample=0.8, subsample_freq=1,
                                                 colsample_bytree=0.8, random_state=seed, deterministic=True,
                                                 force_col_wise=True, verbose=-1, n_jobs=1))])
    X, yy = df.iloc[fit][list(kinds)], y[fit].astype(int)
    return {"logistic": linear.fit(X, yy), "lightgbm": trees_model.fit(X, yy)}


@pytest.mark.parametrize("case_id", ["lending", "flights"])
def test_logistic_and_lightgbm_refitted_independently_give_the_recorded_scores_and_costs(framing, case_id: str) -> None:
    r, preds = framing[case_id]
    spec, df, y = raw_case(case_id)
    c_fp, c_fn = spec["costs"]["false_positive"], spec["costs"]["false_negative"]
    fit, _, _, _ = split_rows(case_id)
    fitted = independent_models(case_id, fit)
    test, y_test = part(preds, "test", y)
    X_test = df.iloc[test["rows"].to_numpy()]
    for name, model in fitted.items():
        score = model.predict_proba(X_test[model.feature_names_in_])[:, 1]
        np.testing.assert_allclose(test[f"score_{name}"], score, rtol=0, atol=1e-6, err_msg=name)
        cost = cost_per_1000(y_test, (score >= c_fp / (c_fp + c_fn)).astype(int), c_fp, c_fn)
        assert r[f"{name}_cost_per_1000"] == pytest.approx(cost, rel=1e-12), name


@pytest.mark.parametrize("case_id", CASES)
def test_the_baseline_to_beat_and_the_rung_to_ship_are_chosen_on_validation_rows(framing, case_id: str) -> None:
    r, preds = framing[case_id]
    spec, _, y = raw_case(case_id)
    c_fp, c_fn = spec["costs"]["false_positive"], spec["costs"]["false_negative"]
    val, y_val = part(preds, "validation", y)
    val_cost = {n: cost_per_1000(y_val, val[f"pred_{n}"].to_numpy(), c_fp, c_fn) for n in LADDER}
    best = min(val_cost, key=val_cost.get)
    assert r["baseline_to_beat"] == best
    assert r["best_model"] == min(MODELS, key=val_cost.get)
    assert r["accuracy_pick"] == max(LADDER, key=lambda n: accuracy_score(y_val, val[f"pred_{n}"]))
    gaps = r["gaps_val"]
    assert set(gaps) == set(LADDER) - {best}
    for n, (value, lo, hi) in gaps.items():
        diff = row_costs(y_val, val[f"pred_{n}"].to_numpy(), c_fp, c_fn) - row_costs(
            y_val, val[f"pred_{best}"].to_numpy(), c_fp, c_fn)
        assert value == pytest.approx(diff.mean(), rel=1e-9, abs=1e-9)
        if case_id in ("lending", "reviews"):  # small enough for a bootstrap here
            ref_lo, ref_hi = bootstrap_mean(diff)
            tol = 0.1 * max(ref_hi - ref_lo, 1e-9)
            assert abs(lo - ref_lo) <= tol and abs(hi - ref_hi) <= tol, (n, lo, hi, ref_lo, ref_hi)
    # the simplest rung whose interval of cost minus the best's reaches 0 is shipped
    simplest = next(n for n in LADDER if n == best or gaps[n][1] <= 0)
    assert r["simplest_adequate"] == simplest
    if simplest != best:
        assert f"ship the simpler {simplest} first" in r["decision"]["choice"]
    assert r["primary_metric"] == ("accuracy" if c_fp == c_fn else "cost_per_1000")


@pytest.mark.parametrize("case_id", ["lending", "reviews"])
def test_the_rule_versus_model_interval_is_a_paired_bootstrap_of_test_rows(framing, case_id: str) -> None:
    r, preds = framing[case_id]
    spec, _, y = raw_case(case_id)
    c_fp, c_fn = spec["costs"]["false_positive"], spec["costs"]["false_negative"]
    for name, suffix in (("test", ""), ("validation", "_val")):
        rows, yy = part(preds, name, y)
        diff = (row_costs(yy, rows["pred_rule"].to_numpy(), c_fp, c_fn)
                - row_costs(yy, rows[f"pred_{r['best_model']}"].to_numpy(), c_fp, c_fn))
        ref_lo, ref_hi = bootstrap_mean(diff)
        key = f"rule_minus_model_cost{suffix}"
        assert r[key] == pytest.approx(diff.mean(), abs=1e-9)
        tol = 0.1 * (ref_hi - ref_lo)
        assert abs(r[f"{key}_lo"] - ref_lo) <= tol and abs(r[f"{key}_hi"] - ref_hi) <= tol


def test_decision_inputs_come_only_from_training_and_validation_rows(framing, tmp_path: Path) -> None:
    """flights with its test labels shuffled among the test rows: every choice stays, every test number moves."""
    base, _ = framing["flights"]
    shuffled, _ = run(case_with_permuted_test_labels("flights", tmp_path / "cases"), tmp_path / "runs")
    for key in ("baseline_to_beat", "simplest_adequate", "best_model", "accuracy_pick", "primary_metric",
                "secondary_metric", "rule", "gaps_val", "rule_minus_model_cost_val",
                *(f"{n}_val_cost_per_1000" for n in LADDER)):
        assert shuffled[key] == base[key], key
    assert shuffled["test_positives"] == base["test_positives"], "the same labels, shuffled"
    for n in ("rule", "logistic", "lightgbm"):
        assert shuffled[f"{n}_cost_per_1000"] != base[f"{n}_cost_per_1000"], n
        assert abs(shuffled[f"{n}_roc_auc"] - 0.5) < 0.02, "shuffled test labels carry no signal"


def test_the_decision_follows_the_evidence_and_differs_between_cases(framing) -> None:
    """census (equal costs, strong signal) ships LightGBM judged by accuracy; lending's models cannot be
    told apart from flagging nothing, so its simplest adequate rung is simpler than its best."""
    shipped = {}
    for case_id in CASES:
        r, _ = framing[case_id]
        best = r["baseline_to_beat"]
        simpler = LADDER[:LADDER.index(best)]
        beats_all = all(r["gaps_val"][n][1] > 0 for n in simpler)
        assert (r["simplest_adequate"] == best) == beats_all, case_id
        assert ("worth its upkeep" in r["decision"]["choice"]) == beats_all, case_id
        shipped[case_id] = (r["simplest_adequate"], r["primary_metric"])
    assert shipped["census"][1] == "accuracy" and shipped["lending"][1] == "cost_per_1000"
    assert shipped["census"][0] != shipped["lending"][0]


def test_the_accuracy_sentence_is_printed_from_the_numbers(framing) -> None:
    r, _ = framing["lending"]
    ev = " ".join(r["decision"]["evidence"])
    assert f"judged by accuracy on validation the choice would be {r['accuracy_pick']}" in ev
    assert f"{r['accuracy_pick_minus_best_cost']:,.0f} [" in ev


def test_the_rule_on_flights_reproduces_its_recorded_cost(framing) -> None:
    r, _ = framing["flights"]
    spec, df, y = raw_case("flights")
    rule = r["rule"]
    assert rule["kind"] == "numeric" and rule["feature"] in spec["features"]
    assert rule["feature"] not in spec["leaky"], "the leak stays out of the default feature set"
    _, _, test, _ = split_rows("flights")
    x = df.iloc[test][rule["feature"]].astype(float).to_numpy()
    flagged = x >= rule["threshold"] if rule["direction"] == ">=" else -x >= rule["threshold"]
    expected = cost_per_1000(y[test].astype(int), flagged.astype(int), spec["costs"]["false_positive"],
                             spec["costs"]["false_negative"])
    assert r["rule_cost_per_1000"] == pytest.approx(expected, rel=1e-9)


def test_framing_is_deterministic_for_a_seed(tmp_path: Path, framing) -> None:
    fresh = execute(plan_run("00_framing", {"case": "lending"}, runs_dir=tmp_path))  # executed again, not reused
    assert fresh.ok, fresh.error
    again = fresh.results
    assert again == framing["lending"][0]
    other, _ = run("lending", tmp_path, seed=5)
    assert other["random_roc_auc"] != again["random_roc_auc"], "the seed is used"


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


def test_a_case_at_the_declared_minimum_runs_with_the_defaults(tmp_path: Path, monkeypatch) -> None:
    nb = json.loads((REPO / "notebooks" / "00_framing.ipynb").read_text())["metadata"]["workbench"]
    folder = make_case(tmp_path / "cases" / "small", n=nb["min_rows"], notebooks=["00_framing"], time_column=None)
    df = pd.read_parquet(folder / "data.parquet")
    # keep exactly min_class_rows positives: the rarer class at its minimum
    pos = np.flatnonzero(df["label"] == "yes")
    df.loc[pos[nb["min_class_rows"]:], "label"] = "no"
    df.to_parquet(folder / "data.parquet", index=False)
    spec_text = (folder / "case.yaml").read_text().splitlines()
    (folder / "case.yaml").write_text("\n".join(line for line in spec_text if not line.startswith("sha256")) + "\n")
    r, _ = run(folder, tmp_path / "runs")
    assert r["n_rows"] == nb["min_rows"] and round(r["positive_rate"] * r["n_rows"]) == nb["min_class_rows"]
    assert r["decision"]["choice"]
