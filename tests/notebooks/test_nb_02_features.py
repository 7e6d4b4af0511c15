"""Notebook 02_features: execute it with parameters and check what it recorded.

Rows, splits, one-feature scores, training twins and coverage are recomputed here from the raw
parquet files with numpy, pandas and scikit-learn, not through the workbench library. Permutation
importances are recomputed with scikit-learn's `permutation_importance`; the model they explain is
rebuilt with `workbench.boosting.pipeline` on independently recomputed rows (the model is not what
these tests check; the rows, the features and the importances are).
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
from sklearn.inspection import permutation_importance
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

from tests.helpers import REPO
from workbench.cases import load_case
from workbench.modelling import boosting
from workbench.runner.notebooks import read_notebook, read_records
from workbench.runner.params import declared_parameters
from workbench.runner.run import execute, plan_run

pytestmark = pytest.mark.notebook

NOTEBOOK = REPO / "notebooks" / "02_features.ipynb"
DEFAULTS = {name: p.default for name, p in declared_parameters(NOTEBOOK).items()}
RUNS = {  # name -> parameters: the defaults on flights, the leak offered as a candidate, and lending
    "flights": {"case": "flights"},
    "flights_leaky": {"case": "flights", "include_leaky": True},
    "lending": {"case": "lending", "seed": 1},
}


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    runs_dir = tmp_path_factory.mktemp("runs")
    out = {}
    for name, params in RUNS.items():
        result = execute(plan_run("02_features", params, runs_dir=runs_dir))
        assert result.ok, result.error
        out[name] = result.results
    return out


def raw(case_id: str) -> tuple[dict, pd.DataFrame, np.ndarray]:
    folder = REPO / "casestudies" / case_id
    spec = yaml.safe_load((folder / "case.yaml").read_text())
    df = pd.read_parquet(folder / spec["data"])
    return spec, df, (df[spec["target"]] == spec["positive_class"]).to_numpy().astype(int)


def time_split(times: np.ndarray, test_size: float) -> tuple[np.ndarray, np.ndarray]:
    """The latest ceil(test_size * n) rows (and every row sharing the cut-off time) are held out."""
    n_test = math.ceil(test_size * len(times))
    test = times >= np.sort(times)[len(times) - n_test]
    return np.flatnonzero(~test), np.flatnonzero(test)


def random_split(y: np.ndarray, test_size: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    train, test = train_test_split(np.arange(len(y)), test_size=math.ceil(test_size * len(y)),
                                   random_state=seed, stratify=y)
    return np.sort(train), np.sort(test)


def cap(rows: np.ndarray, max_rows: int, seed: int) -> np.ndarray:
    """The documented draw: max_rows of rows without replacement by numpy's default_rng(seed), in row order."""
    if not max_rows or len(rows) <= max_rows:
        return rows
    return np.sort(np.random.default_rng(seed).choice(rows, size=max_rows, replace=False))


def rows(case_id: str, kind: str, params: dict) -> dict[str, np.ndarray]:
    """Train (capped), test, and the fit / validation parts of train, as row positions of the raw data."""
    p = {**DEFAULTS, **params}
    spec, df, y = raw(case_id)
    if kind == "time":
        train, test = time_split(df[spec["time_column"]].to_numpy(), p["test_size"])
    else:
        train, test = random_split(y, p["test_size"], p["seed"])
    train = cap(train, p["max_train_rows"], p["seed"])
    if kind == "time":
        fit, valid = time_split(df[spec["time_column"]].to_numpy()[train], 0.2)
    else:
        fit, valid = random_split(y[train], 0.2, p["seed"])
    return {"train": train, "test": test, "fit": train[fit], "valid": train[valid]}


def twin_share(df: pd.DataFrame, train: np.ndarray, test: np.ndarray, columns: list[str]) -> float:
    seen = df.iloc[train][columns].drop_duplicates()
    merged = df.iloc[test][columns].merge(seen, how="left", on=columns, indicator=True)
    return float((merged["_merge"] == "both").mean())


def test_flights_rows_and_twins_are_recomputed_from_the_raw_data(results) -> None:
    r = results["flights"]
    spec, df, y = raw("flights")
    got = rows("flights", "time", RUNS["flights"])
    assert r["split_kind"] == "time" and r["n_rows"] == len(df)
    assert (r["n_fit"], r["n_valid"], r["n_test"]) == (len(got["fit"]), len(got["valid"]), len(got["test"]))
    honest = [c for c in spec["features"] if c not in spec["leaky"]]
    assert r["candidates"] == honest
    for kind in ("time", "random"):
        s = rows("flights", kind, RUNS["flights"])
        assert r["twin_share"][kind] == pytest.approx(twin_share(df, s["train"], s["test"], honest), abs=1e-12)
    assert r["twin_share"]["random"] > 10 * r["twin_share"]["time"], "a random split puts twins on both sides"


def test_flights_declared_leak_is_flagged_and_a_random_split_beats_a_time_split(results) -> None:
    r = results["flights_leaky"]
    spec, df, y = raw("flights")
    assert spec["leaky"] == ["dep_delay"] and "dep_delay" in r["candidates"]
    assert "dep_delay" in r["flagged_leaks"] and "dep_delay" in r["refused_leaks"]
    assert r["suspects"] == [], "a declared leak is refused, not merely suspected"
    assert r["random_split_auc"] > r["time_split_auc"]
    assert r["split_gap"] == pytest.approx(r["random_split_auc"] - r["time_split_auc"])
    # the time split of the leakage hunt is the notebook's own split: same rows, same features
    assert r["time_split_auc"] == pytest.approx(r["auc_with_declared_leaks"], rel=1e-12)
    # independently: dep_delay alone ranks validation rows almost as well as the recorded one-feature model
    valid = rows("flights", "time", RUNS["flights_leaky"])["valid"]
    raw_auc = roc_auc_score(y[valid], df["dep_delay"].to_numpy()[valid])
    alone = r["one_feature_auc"]
    assert raw_auc > 0.85 and alone["dep_delay"] == pytest.approx(raw_auc, abs=0.02)
    assert alone["dep_delay"] - max(v for k, v in alone.items() if k != "dep_delay") > 0.15
    assert "dep_delay" not in r["chosen_features"] and "dep_delay" in r["decision"]["choice"]


def test_flights_declared_leak_inflates_the_score_even_when_it_is_not_a_candidate(results) -> None:
    r = results["flights"]
    assert r["flagged_leaks"] == [] and r["refused_leaks"] == ["dep_delay"]
    assert r["auc_with_declared_leaks"] > r["auc_without_declared_leaks"] + 0.1
    assert r["declared_leak_gain_share"] > 0.5
    assert r["auc_without_declared_leaks"] == pytest.approx(r["time_split_auc"], rel=1e-12)


def test_flights_month_is_refused_because_test_months_lie_beyond_training(results) -> None:
    r = results["flights"]
    spec, df, y = raw("flights")
    s = rows("flights", "time", RUNS["flights"])
    month = df["month"].to_numpy()
    beyond = np.mean((month[s["test"]] > month[s["train"]].max()) | (month[s["test"]] < month[s["train"]].min()))
    assert r["unseen_share"]["month"] == pytest.approx(beyond, abs=1e-12) and beyond > DEFAULTS["max_unseen"]
    assert r["refused_coverage"] == ["month"] and "month" not in r["chosen_features"]
    assert r["auc_all"] > r["auc_no_coverage_refusals"], "dropping month helps on later months"


def test_flights_top_k_keeps_quality_within_the_tolerance_at_the_default_k(results) -> None:
    r = results["flights"]
    assert [r["selection"], r["top_k"], r["tolerance"]] == [DEFAULTS[k] for k in ("selection", "top_k", "tolerance")]
    assert r["auc_top_k"] >= r["auc_all"] - r["tolerance"]
    imp = {f: v for f, v in r["permutation_importance"].items() if f in r["admissible"]}
    ranked = sorted(r["admissible"], key=lambda f: -imp[f])  # stable: ties keep the case's order
    assert r["top_features"] == ranked[:DEFAULTS["top_k"]]
    assert r["chosen_features"] == r["top_features"]
    # the recorded scores are those of models fitted on the recomputed training rows, on the test rows
    case = load_case("flights")
    _, df, y = raw("flights")
    s = rows("flights", "time", RUNS["flights"])
    for key, columns in (("auc_top_k", r["top_features"]), ("auc_all", r["admissible"])):
        model = boosting.pipeline(case, columns=columns, seed=0, n_estimators=DEFAULTS["lgbm_trees"], n_jobs=1)
        model.fit(df.iloc[s["train"]], y[s["train"]])
        assert r[key] == pytest.approx(roc_auc_score(y[s["test"]], model.predict_proba(df.iloc[s["test"]])[:, 1]),
                                       rel=1e-9), key


def test_flights_permutation_importances_agree_with_scikit_learn(results) -> None:
    r = results["flights"]
    case = load_case("flights")
    _, df, y = raw("flights")
    s = rows("flights", "time", RUNS["flights"])
    columns = r["admissible"] + r["refused_coverage"]
    columns = [c for c in r["candidates"] if c in columns]  # the notebook's order
    model = boosting.pipeline(case, columns=columns, seed=0, n_estimators=DEFAULTS["lgbm_trees"], n_jobs=1)
    model.fit(df.iloc[s["fit"]][columns], y[s["fit"]])
    ref = permutation_importance(model, df.iloc[s["valid"]][columns], y[s["valid"]], scoring="roc_auc",
                                 n_repeats=10, random_state=0)
    ours = pd.DataFrame({"importance": r["permutation_importance"], "sd": r["permutation_sd"]}).loc[columns]
    sk = pd.DataFrame({"importance": ref.importances_mean, "sd": ref.importances_std}, index=columns)
    bound = 3 * np.sqrt(ours["sd"] ** 2 / 5 + sk["sd"] ** 2 / 10) + 0.003  # 5 shuffles vs 10
    assert (np.abs(ours["importance"] - sk["importance"]) <= bound).all(), pd.concat([ours, sk], axis=1)
    assert ours["importance"].idxmax() == sk["importance"].idxmax() == "sched_dep_hour"


def test_lending_has_no_time_split_and_its_one_feature_scores_are_recomputed(results) -> None:
    r = results["lending"]
    spec, df, y = raw("lending")
    s = rows("lending", "random", RUNS["lending"])
    assert r["split_kind"] == "random" and r["n_test"] == math.ceil(0.25 * len(df)) == len(s["test"])
    assert (r["n_fit"], r["n_valid"]) == (len(s["fit"]), len(s["valid"]))
    assert r["time_split_auc"] is None and r["split_gap"] is None and list(r["twin_share"]) == ["random"]
    fit, valid = df.iloc[s["fit"]], df.iloc[s["valid"]]
    prior = y[s["fit"]].mean()
    for col in ("sub_grade", "term", "verification_status"):  # categorical: smoothed level rates (10 rows of prior)
        stats = pd.DataFrame({"c": fit[col].astype(str), "y": y[s["fit"]]}).groupby("c")["y"].agg(["sum", "count"])
        rate = (stats["sum"] + 10 * prior) / (stats["count"] + 10)
        expected = roc_auc_score(y[s["valid"]], valid[col].astype(str).map(rate).fillna(prior))
        assert r["one_feature_auc"][col] == pytest.approx(expected, rel=1e-12), col
    train, test = df.iloc[s["train"]], df.iloc[s["test"]]
    for col in ("annual_inc", "revol_util"):
        outside = (test[col] < train[col].min()) | (test[col] > train[col].max())
        assert r["unseen_share"][col] == pytest.approx(outside.mean(), abs=1e-12)
    assert r["unseen_share"]["addr_state"] == pytest.approx((~test["addr_state"].isin(set(train["addr_state"]))).mean())


def test_lending_refuses_nothing_and_its_decision_follows_the_tolerance(results) -> None:
    r = results["lending"]
    spec, _, _ = raw("lending")
    assert r["flagged_leaks"] == r["refused_leaks"] == r["refused_coverage"] == r["suspects"] == []
    assert r["auc_with_declared_leaks"] is None and r["admissible"] == list(spec["features"])
    within = r["auc_top_k"] >= r["auc_all"] - r["tolerance"]
    assert r["chosen_features"] == (r["top_features"] if within else r["admissible"])
    d = r["decision"]
    assert d["choice"].startswith(f"Ship {len(r['chosen_features'])} features") and "refuse nothing" in d["choice"]
    assert any("time column" in w for w in d["would_change"])


def test_runs_under_plain_papermill_from_the_notebooks_folder_and_is_deterministic(tmp_path: Path, results) -> None:
    out = tmp_path / "out.ipynb"
    args = [arg for k, v in RUNS["lending"].items() for arg in ("-p", k, str(v))]
    proc = subprocess.run(
        [sys.executable, "-m", "papermill", str(NOTEBOOK), str(out), *args, "--cwd", str(REPO / "notebooks")],
        capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert read_records(read_notebook(out)) == results["lending"]
